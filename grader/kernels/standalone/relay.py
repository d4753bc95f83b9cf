"""Relay between the grader and a student's kernel: what the kernel sends crosses here, bounded, or not at all.

    python -I -S relay.py PYZMQ_PARENT_FOLDER   (one JSON line on stdin: the kernel's connection and where to
                                                bind; see `main`)

The student's kernel owns its ZeroMQ sockets, so it can send anything on them: a message of gigabytes, a message
of a million frames of one shared buffer (ZeroMQ's receiving side allocates every frame before the program
sees the message), or a flood of small ones. Received by the grader's own sockets, that memory and that CPU
would be the whole class's. Here they are one small process's: it binds a socket of its own for each of the
kernel's five (the grader connects to these), forwards the grader's messages to the kernel as they are, and
the kernel's back only while they stay within `MESSAGE_BYTES` and `MESSAGE_FRAMES` each, `TOTAL_MESSAGES` and
`TOTAL_BYTES` in all. Output (IOPub) over `MESSAGE_BYTES` is replaced by a notice, signed with the kernel's key
(it would be cut in the graded notebook anyway); anything else over a bound stops the relay, which says why in
one line on stdout and exits: the grader then stops the submission with that reason (grader/kernels/guard.py).
So does a connection that ZeroMQ drops alone (a message too large for the relay's address space, capped at
`ADDRESS_SPACE_MB` first thing), and a kernel that no longer takes the grader's messages: the relay never
waits on the kernel.

Standard library and pyzmq only: it runs as its own process, by path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import resource
import sys
import time

if __name__ == "__main__" and len(sys.argv) > 1:  # run without `site` (-S, ~20 ms less): pyzmq's folder given
    sys.path.insert(0, sys.argv[1])
import zmq  # noqa: E402
from zmq.utils.monitor import recv_monitor_message  # noqa: E402

# one message from the kernel, all frames together (the grader passes its own: grader/kernels/relaying.py)
MESSAGE_BYTES = 2 * 1024 * 1024
MESSAGE_FRAMES = 64  # a Jupyter message has 6 frames plus its buffers (ipywidgets' are a handful)
TOTAL_MESSAGES = 50_000  # from the kernel, for the whole submission (an honest notebook sends a few hundred)
# from the kernel, for the whole submission, dropped output included (an honest notebook sends about 1 MB): also
# the most the grader can hold of one submission's messages that nobody reads (a channel the kernel writes to
# unasked, a reply queued while the grader waits on the test kernel)
TOTAL_BYTES = 128 * 1024 * 1024
DEFAULT_LIMITS = {
    "message_bytes": MESSAGE_BYTES,
    "message_frames": MESSAGE_FRAMES,
    "total_messages": TOTAL_MESSAGES,
    "total_bytes": TOTAL_BYTES,
}
ADDRESS_SPACE_MB = 1024  # the relay's own RLIMIT_AS
LOST_S = 0.5  # one connection lost this long, the others kept: not the kernel's exit
CHANNELS = ("shell", "control", "stdin", "hb", "iopub")
DELIMITER = b"<IDS|MSG>"
PARENT_BYTES = 64 * 1024  # a request's header is a few hundred bytes
_MIB = 1024 * 1024


def _address(info: dict, port: int) -> str:
    if info["transport"] == "ipc":
        return f"ipc://{info['ip']}-{port}"
    return f"tcp://{info['ip']}:{port}"


def _size(n: int) -> str:
    return f"{n // _MIB} MiB" if n >= _MIB else f"{n // 1024} KiB"


class Stopped(Exception):
    """The kernel sent more than the relay forwards; the message is the reason, in Portuguese."""


class Relay:
    def __init__(self, kernel: dict, bind: dict, limits: dict | None = None):
        limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.message_bytes, self.message_frames = limits["message_bytes"], limits["message_frames"]
        self.total_messages, self.total_bytes = limits["total_messages"], limits["total_bytes"]
        self.key = str(kernel.get("key") or "").encode()  # to sign the notices it puts in place of output
        self.context = zmq.Context(io_threads=1)
        self.kernel_side: dict[str, zmq.Socket] = {}
        self.grader_side: dict[str, zmq.Socket] = {}
        self.ports: dict[str, int] = {}
        self.monitors: dict[zmq.Socket, str] = {}
        self.connected: set[str] = set()
        self.lost: dict[str, float] = {}  # channel -> when the kernel's end of it went away
        for channel in CHANNELS:
            if channel == "iopub":
                inner, outer = self.context.socket(zmq.SUB), self.context.socket(zmq.PUB)
                inner.setsockopt(zmq.SUBSCRIBE, b"")
            else:  # the grader's DEALER (REQ for hb) to our ROUTER, our DEALER to the kernel's ROUTER (REP)
                inner, outer = self.context.socket(zmq.DEALER), self.context.socket(zmq.ROUTER)
            for sock in (inner, outer):
                sock.linger = 0
                # few messages queued on each side: what waits in ZeroMQ's queues is memory too
                sock.rcvhwm = sock.sndhwm = 64
            self.monitors[inner.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)] = channel
            inner.connect(_address(kernel, kernel[f"{channel}_port"]))
            self.ports[f"{channel}_port"] = self._bind(outer, bind, channel)
            self.kernel_side[channel], self.grader_side[channel] = inner, outer
        self.messages = self.bytes = 0

    @staticmethod
    def _bind(sock: zmq.Socket, bind: dict, channel: str) -> int:
        if bind["transport"] == "ipc":
            port = CHANNELS.index(channel) + 1
            sock.bind(f"ipc://{bind['ip']}-{port}")
            return port
        return sock.bind_to_random_port(f"tcp://{bind['ip']}")

    def _from_kernel(self, channel: str) -> None:
        frames = self.kernel_side[channel].recv_multipart(copy=False)
        size = sum(len(frame) for frame in frames)
        self.messages += 1
        self.bytes += size
        if len(frames) > self.message_frames or (size > self.message_bytes and channel != "iopub"):
            raise Stopped(
                f"o kernel do aluno mandou uma mensagem de {_size(size)} em {len(frames)} partes "
                f"(o limite é {_size(self.message_bytes)} em {self.message_frames} partes)"
            )
        if self.messages > self.total_messages:
            raise Stopped(
                f"o kernel do aluno mandou mais de {self.total_messages:,} mensagens (saída ou exibições num laço "
                "sem fim?)".replace(",", ".")
            )
        if self.bytes > self.total_bytes:
            raise Stopped(f"o kernel do aluno mandou mais de {self.total_bytes // _MIB} MiB de mensagens")
        if channel == "iopub":
            frames = self._output(frames, size)
            if frames is None:
                return  # not a Jupyter message: nothing the grader could use
        self.grader_side[channel].send_multipart(frames, copy=False)

    def _output(self, frames: list, size: int) -> list | None:
        """An IOPub message as it goes on: itself; a notice in its place when it is too large to keep (what
        would be cut in the graded notebook anyway), signed as the kernel signs; None when it is no message."""
        at = next((i for i, frame in enumerate(frames) if frame.bytes == DELIMITER), None)
        try:
            header = json.loads(frames[at + 2].bytes)
            header["msg_type"]  # noqa: B018 (a header without it is no message)
        except (ValueError, IndexError, KeyError, TypeError):  # (TypeError: no delimiter, or not a dict)
            return None
        if size <= self.message_bytes:
            return frames
        header["msg_type"] = "stream"
        text = (
            f"\n[saída truncada: uma mensagem de {_size(size)}, acima do limite de {_size(self.message_bytes)}, "
            "não foi recebida]\n"
        )
        parent = frames[at + 3].bytes
        if (
            len(parent) > PARENT_BYTES
        ):  # a parent of megabytes, which the grader would parse: the notice goes unowned
            parent = b"{}"
        parts = [
            json.dumps(header).encode(),
            parent,
            b"{}",
            json.dumps({"name": "stdout", "text": text}).encode(),
        ]
        signature = hmac.new(self.key, digestmod=hashlib.sha256)
        for part in parts:
            signature.update(part)
        return [*frames[: at + 1], signature.hexdigest().encode() if self.key else b"", *parts]

    def _from_grader(self, channel: str) -> None:
        frames = self.grader_side[channel].recv_multipart(copy=False)
        if channel == "iopub":  # (the grader's SUB sends only its subscription, which our SUB already made)
            return
        try:  # never waiting: a kernel that stops reading its sockets must not stop the relay
            self.kernel_side[channel].send_multipart(frames, copy=False, flags=zmq.NOBLOCK)
        except zmq.Again:
            raise Stopped("o kernel do aluno deixou de receber as mensagens do corretor") from None

    def _connection(self, monitor: zmq.Socket) -> None:
        event = recv_monitor_message(monitor)["event"]
        channel = self.monitors[monitor]
        if event == zmq.EVENT_CONNECTED:
            self.connected.add(channel)
        elif channel in self.connected:  # ZeroMQ drops a connection whose message it could not take
            self.lost.setdefault(channel, time.monotonic())

    def _check_lost(self) -> str | None:
        """None while every connection holds; "" once the kernel is gone (its exit closes all five at once);
        the reason once one connection alone stayed lost for `LOST_S`."""
        if not self.lost:
            return None
        if set(self.lost) >= self.connected:
            return ""
        if time.monotonic() - min(self.lost.values()) < LOST_S:
            return None
        return (
            "o kernel do aluno mandou uma mensagem que o corretor não conseguiu receber (grande demais: o "
            f"limite é {_size(self.message_bytes)}), e a ligação com ele caiu"
        )

    def run(self) -> str:
        poller = zmq.Poller()
        sides = {}
        for monitor in self.monitors:
            poller.register(monitor, zmq.POLLIN)
            sides[monitor] = (self._connection, monitor)
        for channel in CHANNELS:
            poller.register(self.kernel_side[channel], zmq.POLLIN)
            sides[self.kernel_side[channel]] = (self._from_kernel, channel)
            if channel != "iopub":
                poller.register(self.grader_side[channel], zmq.POLLIN)
                sides[self.grader_side[channel]] = (self._from_grader, channel)
        stdin = sys.stdin.fileno()
        poller.register(stdin, zmq.POLLIN)  # closed by the grader: stop (ZeroMQ gives back the number)
        try:
            while True:
                for sock, _ in poller.poll(100 if self.lost else None):
                    if sock == stdin:
                        return ""
                    handle, channel = sides[sock]
                    handle(channel)
                verdict = self._check_lost()
                if verdict is not None:
                    return verdict
        except Stopped as exc:
            return str(exc)


def main() -> None:
    """stdin: one JSON line, {"kernel": connection info (transport, ip, the five ports, key), "bind":
    {"transport", "ip"} (for ipc, the path prefix of our sockets), "limits": (optional) some of
    `DEFAULT_LIMITS`}. stdout: {"ports": {...}} once bound, and, if the kernel sent more than we forward,
    {"stopped": reason} before exiting."""
    limit = ADDRESS_SPACE_MB * _MIB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    request = json.loads(sys.stdin.readline())
    relay = Relay(request["kernel"], request["bind"], request.get("limits"))
    print(json.dumps({"ports": relay.ports}), flush=True)
    reason = relay.run()
    if reason:
        print(json.dumps({"stopped": reason}), flush=True)
    os._exit(3 if reason else 0)  # (no teardown: ZeroMQ's may wait on what the kernel still sends)


if __name__ == "__main__":
    main()
