"""The relay between the grader and a student's kernel (grader/kernels/standalone/relay.py), driven by a fake kernel
of real ZeroMQ sockets: what it forwards, what it drops, and what stops it, with the reason it gives."""

from __future__ import annotations

import contextlib
import json
import time

import pytest
import zmq

from grader.kernels import relaying, sandbox

DELIMITER = b"<IDS|MSG>"


def _message(msg_type: str, buffers: tuple = ()) -> list:
    header = json.dumps({"msg_type": msg_type, "msg_id": "m"}).encode()
    return [DELIMITER, b"", header, b"{}", b"{}", b"{}", *buffers]


class FakeKernel:
    """The five sockets a kernel binds, on ipc."""

    def __init__(self):
        self.context = zmq.Context()
        self.folder = sandbox.short_temp_dir("gk-")
        self.sockets = {}
        for channel in relaying.relay_script.CHANNELS:
            kind = {"iopub": zmq.PUB, "hb": zmq.REP}.get(channel, zmq.ROUTER)
            sock = self.context.socket(kind)
            sock.linger = 0
            sock.bind(f"ipc://{self.folder}/k-{relaying.relay_script.CHANNELS.index(channel) + 1}")
            self.sockets[channel] = sock
        self.info = {
            "transport": "ipc",
            "ip": f"{self.folder}/k",
            **{
                f"{c}_port": relaying.relay_script.CHANNELS.index(c) + 1
                for c in relaying.relay_script.CHANNELS
            },
        }

    def close(self):
        for sock in self.sockets.values():
            sock.close(0)
        self.context.term()


@pytest.fixture
def kernel():
    fake = FakeKernel()
    yield fake
    fake.close()


@pytest.fixture
def client():
    context = zmq.Context()
    yield context
    context.destroy(0)


def _connect(context, relay, channel: str, kind: int) -> zmq.Socket:
    sock = context.socket(kind)
    sock.linger = 0
    if kind == zmq.SUB:
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(f"ipc://{relay.ip}-{relay.ports[channel + '_port']}")
    return sock


def _subscribed(kernel: FakeKernel, sub: zmq.Socket) -> None:
    """Send IOPub messages until one comes through both subscriptions (ours to the relay, the relay's to us)."""
    for _ in range(100):
        kernel.sockets["iopub"].send_multipart(_message("status"))
        if sub.poll(50):
            sub.recv_multipart()
            while sub.poll(50):
                sub.recv_multipart()
            return
    raise AssertionError("IOPub never came through the relay")


@contextlib.contextmanager
def _relay(info: dict, limits: dict | None = None):
    relay = relaying.Relay(info, limits)
    try:
        yield relay
    finally:
        relay.stop()


def _request(kernel: FakeKernel, client, relay, msg_type: str) -> tuple[zmq.Socket, list[bytes]]:
    """A request from the grader's side, as the kernel receives it: the grader's socket, and the identities the
    kernel answers to."""
    shell = _connect(client, relay, "shell", zmq.DEALER)
    shell.send_multipart(_message(msg_type))
    assert kernel.sockets["shell"].poll(5000)
    frames = kernel.sockets["shell"].recv_multipart()
    at = frames.index(DELIMITER)
    assert frames[at:] == _message(msg_type)  # as sent
    return shell, frames[:at]


def _stopped(relay, wait_s: float = 20) -> str:
    deadline = time.monotonic() + wait_s
    while relay.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert relay.proc.poll() is not None, "the relay is still running"
    return relay.stopped()


def test_the_relay_forwards_requests_replies_and_output(kernel, client):
    with _relay(kernel.info) as relay:
        shell, identities = _request(kernel, client, relay, "execute_request")
        kernel.sockets["shell"].send_multipart([*identities, *_message("execute_reply")])  # to whoever asked
        assert shell.poll(5000) and shell.recv_multipart() == _message("execute_reply")
        hb = _connect(client, relay, "hb", zmq.REQ)
        hb.send(b"ping")
        assert kernel.sockets["hb"].poll(5000)
        kernel.sockets["hb"].send(kernel.sockets["hb"].recv())
        assert hb.poll(5000) and hb.recv() == b"ping"
        iopub = _connect(client, relay, "iopub", zmq.SUB)
        _subscribed(kernel, iopub)
        kernel.sockets["iopub"].send_multipart(_message("stream"))
        assert iopub.poll(5000) and iopub.recv_multipart() == _message("stream")
        assert relay.stopped() == "" and relay.proc.poll() is None


def test_output_too_large_comes_as_a_signed_notice_and_what_follows_still_comes(kernel, client):
    from jupyter_client.session import Session

    session = Session(key=b"chave")
    with _relay({**kernel.info, "key": b"chave"}, {"message_bytes": 1024 * 1024}) as relay:
        iopub = _connect(client, relay, "iopub", zmq.SUB)
        _subscribed(kernel, iopub)
        big = session.msg("display_data", {"data": {"text/plain": "x" * (2 * 1024 * 1024)}, "metadata": {}})
        session.send(kernel.sockets["iopub"], big)
        kernel.sockets["iopub"].send_multipart(_message("stream"))
        assert iopub.poll(5000)
        _, frames = session.feed_identities(iopub.recv_multipart())
        notice = session.deserialize(frames)  # checks the signature
        assert notice["msg_type"] == "stream" and notice["parent_header"] == {}
        assert notice["content"]["text"] == (
            "\n[saída truncada: uma mensagem de 2 MiB, acima do limite de 1 MiB, não foi recebida]\n"
        )
        assert iopub.poll(5000) and iopub.recv_multipart() == _message("stream")
        assert not iopub.poll(200)
        assert relay.stopped() == "" and relay.proc.poll() is None


def test_a_reply_of_too_many_frames_stops_it(kernel, client):
    with _relay(kernel.info) as relay:
        shell, identities = _request(kernel, client, relay, "kernel_info_request")
        kernel.sockets["shell"].send_multipart([*identities, *_message("kernel_info_reply", (b"x",) * 100)])
        reason = _stopped(relay)
        assert "de 0 KiB em 107 partes (o limite é 2 MiB em 64 partes)" in reason, reason  # (+ who asked)
        assert not shell.poll(200)


def test_a_flood_of_messages_stops_it(kernel, client):
    with _relay(kernel.info, {"total_messages": 500}) as relay:
        iopub = _connect(client, relay, "iopub", zmq.SUB)
        _subscribed(kernel, iopub)
        for _ in range(2000):
            kernel.sockets["iopub"].send_multipart(_message("display_data"))
            if relay.proc.poll() is not None:
                break
            time.sleep(0.0005)
        assert "mais de 500 mensagens" in _stopped(relay)


def test_a_message_larger_than_its_memory_stops_it(kernel, client):
    """The message that would cost the grader gigabytes: one 8 MiB buffer sent 200 times (1.6 GB received,
    while the sender holds 8 MiB). The relay's allocation fails within its address space, and it says so."""
    with _relay(kernel.info) as relay:
        iopub = _connect(client, relay, "iopub", zmq.SUB)
        _subscribed(kernel, iopub)
        buffer = memoryview(bytearray(8 * 1024 * 1024))
        kernel.sockets["iopub"].send_multipart(_message("display_data", (buffer,) * 200), copy=False)
        reason = _stopped(relay)
        assert "mensagem que o corretor não conseguiu receber" in reason, reason
        assert not iopub.poll(200)


def test_the_kernels_exit_is_not_a_reason(kernel, client):
    with _relay(kernel.info) as relay:
        iopub = _connect(client, relay, "iopub", zmq.SUB)
        _subscribed(kernel, iopub)
        shell = _connect(client, relay, "shell", zmq.DEALER)
        shell.send_multipart(_message("kernel_info_request"))
        assert kernel.sockets["shell"].poll(5000)
        time.sleep(0.3)  # every connection up
        kernel.close()
        assert _stopped(relay) == ""


def test_a_kernel_that_stops_reading_stops_it_instead_of_blocking_it(kernel, client):
    """The relay never waits on the kernel: with the kernel's shell queue full (it reads nothing), the next
    request stops it, with the reason, rather than leaving it blocked with every other channel."""
    kernel.sockets["shell"].close(0)
    stuck = kernel.context.socket(zmq.ROUTER)
    stuck.rcvhwm = 1
    stuck.bind(f"ipc://{kernel.folder}/k-1")  # the shell again, never read
    kernel.sockets["shell"] = stuck
    with _relay(kernel.info) as relay:
        shell = _connect(client, relay, "shell", zmq.DEALER)
        shell.sndhwm = 0
        for _ in range(400):
            shell.send_multipart(_message("execute_request", (b"x" * 100_000,)))
            if relay.proc.poll() is not None:
                break
        assert _stopped(relay) == "o kernel do aluno deixou de receber as mensagens do corretor"
