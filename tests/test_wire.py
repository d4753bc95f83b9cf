"""The wire between the student's kernel and the trusted test kernel (grader/kernels/standalone/inkernel/wire.py), without kernels:
every allowed type round-trips, every other type is refused, the caps hold, and a malformed frame or node is a
WireError, never a crash nor anything run, imported or looked up on the receiving side."""

from __future__ import annotations

import json
import math
import socket
import struct
import threading
import time

import numpy as np
import pytest
import torch

from grader.kernels.standalone.inkernel import wire

CAPS = wire.Caps()


def send_and_receive(value, *, caps=CAPS, trusted=False, resolve=None):
    """Encode `value` as S would, pack, unpack and decode it as T would."""
    encoder = wire.Encoder(caps)
    node = encoder.encode(value)
    payload = wire.pack({"value": node, **encoder.finish()}, encoder.buffers)
    header, buffers = wire.unpack(payload, caps)
    return wire.Decoder(header, buffers, caps, trusted=trusted, resolve=resolve).decode(header["value"])


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**200,
        3.5,
        -0.0,
        "texto com acentuação",
        "",
        b"\x00\xffbytes",
        [1, [2, [3]]],
        (1, "a", None),
        {"a": 1, 2: [3], (1, 2): "tupla"},
        {1, 2, 3},
        frozenset({"x"}),
        complex(1, -2),
        [],
        (),
        {},
    ],
)
def test_plain_values_round_trip(value):
    got = send_and_receive(value)
    assert got == value and type(got) is type(value)


def test_non_finite_floats_round_trip():
    got = send_and_receive([math.inf, -math.inf, math.nan])
    assert got[0] == math.inf and got[1] == -math.inf and math.isnan(got[2])


@pytest.mark.parametrize("dtype", wire.NUMPY_DTYPES)
def test_arrays_of_every_allowed_dtype(dtype):
    array = (np.arange(12) % 2 if dtype == "bool" else np.arange(12)).astype(dtype).reshape(3, 4)
    got = send_and_receive(array)
    assert type(got) is np.ndarray and got.dtype == array.dtype and np.array_equal(got, array)
    scalar = send_and_receive(array[1, 1])
    assert type(scalar) is type(array[1, 1]) and scalar == array[1, 1]


@pytest.mark.parametrize("dtype", wire.TORCH_DTYPES)
def test_tensors_of_every_allowed_dtype(dtype):
    dtype = getattr(torch, dtype)
    tensor = (torch.arange(12) % 2).to(dtype).reshape(3, 4)
    got = send_and_receive(tensor)
    assert type(got) is torch.Tensor and got.dtype == dtype and torch.equal(got, tensor)


def test_views_aliasing_and_identity_survive():
    base = torch.arange(20.0)
    array = np.arange(6.0)
    sent = [base, base[5:15].view(2, 5), base[::3], base, torch.from_numpy(array), array, array[2:]]
    got = send_and_receive(sent)
    assert got[0] is got[3]  # the same object twice
    assert got[1].data_ptr() == got[0].data_ptr() + 5 * 4  # a view of the same memory
    got[0][6] = 100.0
    assert got[1][0, 1] == 100.0 and got[2][2] == 100.0
    got[5][3] = 42.0  # the array, the tensor made from it and its slice share memory
    assert got[4][3] == 42.0 and got[6][1] == 42.0 and got[4].data_ptr() == got[5].ctypes.data


def test_tensor_details_round_trip():
    leaf = torch.ones(3, requires_grad=True)
    leaf.grad = torch.full((3,), 2.0)
    parameter = torch.nn.Parameter(torch.zeros(2))
    meta = torch.empty(4, 5, device="meta")
    got = send_and_receive(
        [
            leaf,
            parameter,
            meta,
            torch.Size([2, 3]),
            torch.float64,
            torch.device("cpu"),
            np.dtype("int32"),
            torch.empty(0, 3),
        ]
    )
    assert got[0].grad.tolist() == [2.0, 2.0, 2.0]
    assert type(got[1]) is torch.nn.Parameter and got[1].requires_grad
    assert got[2].device.type == "meta" and tuple(got[2].shape) == (4, 5)
    assert got[3] == torch.Size([2, 3]) and got[4] is torch.float64 and got[5] == torch.device("cpu")
    assert got[6] == np.dtype("int32") and tuple(got[7].shape) == (0, 3)


class Crafted:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize(
    "value, name",
    [
        (Crafted(), "Crafted"),
        (np.array([1, None], dtype=object), "numpy.ndarray"),
        (lambda x: x, "function"),
        (socket, "module"),
        (range(3), "range"),
        (torch.ones(2).to_sparse(), "tensor"),
        (np.array([1.0]).astype(">f8"), "numpy.ndarray"),
        ([1, Crafted()], "Crafted"),
    ],
)
def test_other_types_are_refused(value, name):
    encoder = wire.Encoder(CAPS)
    with pytest.raises(wire.Refused) as refused:
        encoder.encode(value)
    assert name in refused.value.type_name
    entry = wire.Encoder(CAPS).encode_or_refuse({"fora": value})
    assert entry["kind"] == "refused"


def test_caps_hold():
    small = wire.Caps(frame_bytes=1000, depth=4, items=50, text=10)
    with pytest.raises(wire.WireError):
        wire.Encoder(small).encode([[[[[[1]]]]]])
    with pytest.raises(wire.WireError):
        wire.Encoder(small).encode(list(range(100)))
    with pytest.raises(wire.WireError):
        wire.Encoder(small).encode("x" * 11)
    encoder = wire.Encoder(small)
    encoder.encode(torch.zeros(1000))
    with pytest.raises(wire.WireError):
        encoder.finish()
    entry = wire.Encoder(small).encode_or_refuse(torch.zeros(1000))
    assert entry["kind"] == "refused" and "acima do limite" in entry["why"]
    # the receiving side caps what it decodes as well
    deep = {"t": "list", "v": [1]}
    for _ in range(40):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(wire.WireError):
        wire.Decoder({}, [], CAPS).decode(deep)


def frame(header: dict, buffers=(), raw_json: bytes | None = None) -> bytes:
    head = (
        raw_json
        if raw_json is not None
        else json.dumps({**header, "buffers": [len(b) for b in buffers]}).encode()
    )
    return struct.pack("!I", len(head)) + head + b"".join(buffers)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x00\x00",
        struct.pack("!I", 10**9) + b"{}",
        frame({}, raw_json=b"{nao json"),
        frame({}, raw_json=b"[1, 2]"),
        frame({}, raw_json=b'{"buffers": [5]}'),
        frame({}, raw_json=b'{"buffers": "x"}'),
        frame({}, raw_json=b'{"buffers": [-1]}') + b"x",
        frame({}, raw_json=b"[" * 100_000),
    ],
)
def test_malformed_frames_are_errors(payload):
    with pytest.raises(wire.WireError):
        wire.unpack(payload, CAPS)


@pytest.mark.parametrize(
    "node",
    [
        {"t": "module", "name": "os"},  # only T may send these
        {"t": "ref", "name": "dobro"},
        {"t": "global", "module": "os", "name": "system"},
        {"t": "function", "code": 0, "globals": [[], []]},
        {"t": "tensor", "dtype": "object", "shape": [1], "strides": [1], "device": "cpu", "r": 0, "o": 0},
        {"t": "tensor", "dtype": "float32", "shape": [1000], "strides": [1], "device": "cpu", "r": 0, "o": 0},
        {"t": "tensor", "dtype": "float32", "shape": [2], "strides": [-1], "device": "cpu", "r": 0, "o": 4},
        {"t": "tensor", "dtype": "float32", "shape": [1], "strides": [1], "device": "cpu", "r": 7, "o": 0},
        {
            "t": "tensor",
            "dtype": "float32",
            "shape": [1],
            "strides": [1],
            "device": "/etc/passwd",
            "r": 0,
            "o": 0,
        },
        {"t": "ndarray", "dtype": "fromfile", "shape": [1], "strides": [8], "r": 0, "o": 0},
        {"t": "ndarray", "dtype": "float64", "shape": [100], "strides": [8], "r": 0, "o": 0},
        {"t": "np_scalar", "dtype": "float64", "b": 5},
        {"t": "torch_dtype", "v": "__class__"},
        {"t": "device", "v": "cuda:0; rm -rf /"},
        {"t": "memo", "i": 99},
        {"t": "float", "v": "1e400"},
        {"t": "list", "v": "nao lista"},
        {"t": "dict", "k": [1], "v": []},
        {"t": "set", "v": [{"t": "list", "v": []}]},
        {"t": "desconhecido"},
        ["nao", "e", "no"],
        {"sem": "tipo"},
    ],
)
def test_malformed_nodes_are_errors(node):
    header = {"regions": [{"id": 0, "device": "cpu", "b": 0}]}
    decoder = wire.Decoder(header, [memoryview(b"\x00" * 8)], CAPS)
    with pytest.raises(wire.WireError):
        decoder.decode(node)


def test_booleans_are_normalised_on_the_trusted_side():
    header = {"regions": [{"id": 0, "device": "cpu", "b": 0}]}
    node = {"t": "tensor", "dtype": "bool", "shape": [2], "strides": [1], "device": "cpu", "r": 0, "o": 0}
    got = wire.Decoder(header, [memoryview(b"\x02\x00")], CAPS).decode(node)
    assert got.tolist() == [True, False] and got.view(torch.uint8).tolist() == [1, 0]


def test_placeholder_says_what_was_refused():
    value = wire.placeholder("modulo.Estranho")
    assert type(value).__name__ == "Estranho" and not hasattr(value, "__wrapped__")
    with pytest.raises(AssertionError, match="Estranho, que a correção não aceita"):
        value + 1


def test_frames_carry_ids_and_respect_deadlines_and_caps():
    a, b = socket.socketpair()
    try:
        wire.send_frame(a, 7, b"primeiro")
        wire.send_frame(a, 8, b"segundo")
        assert wire.recv_frame(b, 100) == (7, b"primeiro")
        assert wire.recv_frame(b, 100) == (8, b"segundo")
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            wire.recv_frame(b, 100, time.monotonic() + 0.2)
        assert time.monotonic() - started < 2
        wire.send_frame(a, 9, b"x" * 200)  # over the cap: refused before its payload is read
        with pytest.raises(wire.WireError, match="acima do limite"):
            wire.recv_frame(b, 100)
    finally:
        a.close()
        b.close()
    a, b = socket.socketpair()
    a.sendall(wire.FRAME.pack(10, 1) + b"curto")  # then the sender dies mid-frame
    a.close()
    with pytest.raises(wire.Closed):
        wire.recv_frame(b, 100)
    b.close()


def test_a_frame_written_slowly_still_arrives_whole():
    a, b = socket.socketpair()
    data = wire.FRAME.pack(5, 3) + b"lento"

    def trickle():
        for byte in data:
            a.send(bytes([byte]))
            time.sleep(0.001)

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        assert wire.recv_frame(b, 100, time.monotonic() + 5) == (3, b"lento")
    finally:
        thread.join()
        a.close()
        b.close()
