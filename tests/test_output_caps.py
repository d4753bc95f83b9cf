"""What the grader keeps of the messages a student's kernel sends (grader/kernels/execute.py, `_Client`): only
what fits the output cap, whatever the message; messages fed straight in, no kernel."""

from __future__ import annotations

import json

import nbformat

from grader.kernels.execute import NOTEBOOK_OUTPUT_CAPS, _Client

CAP = 64 * 1024
NESTED = json.loads("[" + "[[]]," * 1000 + "[]]")  # lists of lists: forty times their JSON once parsed


def _client(cells: int = 3) -> tuple[_Client, nbformat.NotebookNode]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass") for _ in range(cells)])
    for cell in nb.cells:
        cell.metadata["execution"] = {}
    client = _Client(nb, km=None, record_timing=False, max_output_bytes=CAP)
    client.reset_execution_trackers()  # (what nbclient does before running a notebook, and before each cell:)
    client.clear_before_next_output = False
    return client, nb


def _message(msg_type: str, content: dict) -> dict:
    return {
        "msg_type": msg_type,
        "header": {"msg_type": msg_type, "msg_id": "x"},
        "parent_header": {},
        "metadata": {},
        "content": content,
    }


def test_an_execution_count_is_kept_only_as_a_number_from_the_messages_that_carry_one():
    client, nb = _client()
    cell = nb.cells[0]
    client.process_message(_message("execute_input", {"code": "", "execution_count": NESTED}), cell, 0)
    client.process_message(_message("clear_output", {"wait": True, "execution_count": 7}), cell, 0)
    assert cell.execution_count is None  # nbclient wrote both, outside every cap
    client.process_message(_message("execute_input", {"code": "", "execution_count": 3}), cell, 0)
    assert cell.execution_count == 3


def test_an_output_keeps_its_data_as_text_and_its_metadata_only_when_small():
    client, nb = _client()
    cell = nb.cells[0]
    content = {
        "data": {"text/plain": "x", "application/json": {"lista": NESTED}, "text/html": ["<b>", "y</b>"]},
        "metadata": {"grande": NESTED},
        "execution_count": 1,
    }
    client.process_message(_message("execute_result", content), cell, 0)
    (output,) = cell.outputs
    assert output.data == {"text/plain": "x", "text/html": "<b>y</b>"} and output.metadata == {}


def test_display_updates_with_large_metadata_are_charged_and_cut():
    client, nb = _client()
    for index in range(2):
        client.process_message(
            _message(
                "display_data",
                {"data": {"text/plain": "x"}, "metadata": {}, "transient": {"display_id": "d"}},
            ),
            nb.cells[index],
            index,
        )
    update = {"data": {"text/plain": "y" * (CAP // 2)}, "metadata": {}, "transient": {"display_id": "d"}}
    for _ in range(3):  # each rewrites both cells' outputs
        client.process_message(_message("update_display_data", update), nb.cells[0], 0)
    texts = [o.data["text/plain"] for c in nb.cells[:2] for o in c.outputs]
    assert texts and all(t.startswith("[saída truncada") for t in texts), [t[:30] for t in texts]


def test_error_messages_are_cut_and_charged_and_the_first_is_always_kept():
    client, nb = _client()
    cell = nb.cells[0]
    error = {"ename": "E" * 100_000 + "\U0001f600", "evalue": "v" * 10_000, "traceback": ["t" * 10_000] * 50}
    for _ in range(40):
        client.process_message(_message("error", error), cell, 0)
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors and all(len(o.ename) == 200 and len(o.evalue) == 4000 for o in errors)
    assert len(errors) < 40 and len(json.dumps([dict(o) for o in errors])) < 2 * CAP
    client, nb = _client()
    client.process_message(_message("stream", {"name": "stdout", "text": "x" * (2 * CAP)}), nb.cells[0], 0)
    client.process_message(_message("error", error), nb.cells[0], 0)
    assert [o.output_type for o in nb.cells[0].outputs] == ["stream", "stream", "error"]  # cut, notice, error


def test_a_cleared_cell_gets_its_first_error_again():
    """What the cell holds decides, not what it held: an error cleared away no longer counts as the cell's first.
    A clear that waits for the next output happens only if that output is kept."""
    error = {"ename": "E", "evalue": "v" * 4000, "traceback": []}
    client, nb = _client()
    outs = nb.cells[0].outputs
    for _ in range(40):
        client.process_message(_message("error", error), nb.cells[0], 0)
    assert 1 < len(outs) < 40  # kept up to the cap, then dropped
    client.process_message(_message("clear_output", {"wait": False}), nb.cells[0], 0)
    client.process_message(_message("error", error), nb.cells[0], 0)
    assert [o.output_type for o in outs] == ["error"]
    client.process_message(_message("clear_output", {"wait": True}), nb.cells[0], 0)
    client.process_message(
        _message("error", error), nb.cells[0], 0
    )  # over the cap, and not the first: dropped
    assert [o.output_type for o in outs] == ["error"]
    client, nb = _client()
    client.process_message(_message("error", error), nb.cells[0], 0)
    client.process_message(_message("clear_output", {"wait": True}), nb.cells[0], 0)
    client.process_message(_message("error", error), nb.cells[0], 0)  # under the cap: kept, after the clear
    assert [o.output_type for o in nb.cells[0].outputs] == ["error"]


def test_a_stream_whose_text_is_not_text_is_kept_as_text():
    client, nb = _client()
    client.process_message(_message("stream", {"name": "stdout", "text": [[1], [2]]}), nb.cells[0], 0)
    assert nb.cells[0].outputs[0].text == "[[1], [2]]"
    nbformat.validate(nb)


def test_widget_state_is_not_kept():
    client, nb = _client()
    client.process_message(
        _message("comm_open", {"comm_id": "c", "target_name": "w", "data": {"state": {"s": NESTED}}}),
        nb.cells[0],
        0,
    )
    assert client.widget_state == {} and nb.cells[0].outputs == []


def test_the_notebook_as_a_whole_keeps_a_bounded_number_of_caps():
    cells = NOTEBOOK_OUTPUT_CAPS + 8
    client, nb = _client(cells)
    for index in range(cells):
        client.process_message(
            _message("stream", {"name": "stdout", "text": "x" * (CAP - 1000)}), nb.cells[index], index
        )
    kept = sum(len(o.get("text", "")) for c in nb.cells for o in c.outputs)
    assert kept <= (NOTEBOOK_OUTPUT_CAPS + 1) * CAP
    assert "saída truncada" in nb.cells[-1].outputs[-1].text
