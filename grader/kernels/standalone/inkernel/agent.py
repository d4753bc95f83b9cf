"""Inside the student's kernel (S): runs the student's functions when the trusted test kernel (T) asks.

Started by the grader before the notebook's first cell (`start(path)`): a thread connects to T's channel
and answers one request at a time, each with the id of the request it answers:

    get      the current values of some of the student's names (functions: just "a function")
    call     call a student function with T's arguments; the result, what changed in the arguments
    run      call a function T sends (on a GPU, the test's memory measure: GPU memory is only readable here)
    backward gradients of a call's result with respect to its arguments, for T's autograd
    release  forget the autograd graphs kept for backward

The same agent also serves T from a second process, the *replay* (`replay_main`): forked for the submission from
the same warm Python as the student's kernel, it runs nothing of the student's but the definitions T sends it,
the plain `def`s of the notebook's text (`define`, into a namespace of its own that `reset` empties), so a test
that reads a function's code or measures its memory checks that very text (runtime.py's text mode).

Everything here runs in the student's process and can be changed by the student's code: that is fine, since
T takes only data from it (grader/kernels/standalone/inkernel/wire.py). What it can forge is its own answers, which are what
is being graded, and what `run` measures on a GPU, which the README's security section lists. T never asks it
for the source of a function (grader/kernels/standalone/inkernel/source.py reads the submitted notebook instead), and the
memory of a call on the CPU is read from outside this process.
"""

from __future__ import annotations
import __future__

import builtins
import contextlib
import inspect
import io
import socket
import threading
import warnings

from . import fastpath, wire

CAPS = wire.Caps()
_MISSING = object()
MAX_TEXT = 64 * 1024  # characters of stdout/stderr kept per call


def start(path: str, frame_bytes: int = CAPS.frame_bytes) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    agent = Agent(sock, wire.Caps(frame_bytes=frame_bytes))
    threading.Thread(target=agent.serve, name="corretor-agente", daemon=True).start()
    from IPython import get_ipython

    fastpath.install(get_ipython().input_transformer_manager)
    fastpath.install_once_per_cell(get_ipython())


def learn(texts: list[str]) -> int:
    """The notebook's given cells, parsed by S's kernel server before it forks (inkernel/fastpath.py)."""
    return fastpath.learn(texts)


def _namespace() -> dict:
    from IPython import get_ipython

    return get_ipython().user_ns


def replay_main(path: str, secret: str, frame_bytes: int = CAPS.frame_bytes) -> None:
    """The replay process's life: connect to T, say the secret T was given for it (the student's kernel, in
    the same sandbox, could connect too, but cannot know it), then answer T until it hangs up."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    wire.send_frame(sock, 0, secret.encode())
    agent = Agent(sock, wire.Caps(frame_bytes=frame_bytes), namespace={})
    agent.reset()
    agent.serve()


class _Capped(io.StringIO):
    def write(self, text):
        room = MAX_TEXT - self.tell()
        return super().write(text[: max(room, 0)]) if room > 0 else len(text)


class Agent:
    def __init__(self, sock: socket.socket, caps: wire.Caps, namespace: dict | None = None):
        self.sock, self.caps = sock, caps
        self.graphs: dict[int, tuple[list, list]] = {}  # handle -> (outputs, inputs) kept for backward
        self.ns = _namespace() if namespace is None else namespace
        self.staged = None  # a call received and decoded, run by the next `go` (a memory measure's call)

    def reset(self) -> None:
        """The replay's namespace, empty: as a notebook's before its first cell."""
        self.ns.clear()
        self.ns.update({"__name__": "__main__", "__builtins__": builtins})
        self.graphs.clear()
        self.staged = None

    def _trusted_decoder(self, header: dict, buffers) -> wire.Decoder:
        """What T sends needs no caps: T is the trusted side."""
        caps = wire.Caps(frame_bytes=1 << 40, header_bytes=1 << 40, items=1 << 30, text=1 << 40)
        return wire.Decoder(header, buffers, caps, trusted=True, resolve=self.resolve, leaves=True)

    def define(self, header: dict, buffers) -> list:
        """The replay's definitions: the notebook's imports, its plain defs (source text, T's reading of the
        submitted notebook) and the values of the data they read, in the order T gives them."""
        decoder = self._trusted_decoder(header, buffers)
        flags = 0
        for feature in header.get("futures", []):  # as IPython compiled the notebook's cells
            flags |= getattr(getattr(__future__, feature, None), "compiler_flag", 0)
        for kind, name, what in header["steps"]:
            if kind == "value":
                self.ns[name] = decoder.decode(what)
            else:  # "code": an import, an alias of a library's name, or a def, with the notebook cell's name
                filename, text = what
                exec(
                    compile(text, filename, "exec", flags, dont_inherit=True), self.ns
                )  # T's reading of the text
        return wire.pack({}, [])

    def serve(self) -> None:
        while True:
            try:
                request_id, payload = wire.recv_frame(self.sock, 1 << 40)  # T's requests: trusted
            except (wire.WireError, OSError):
                return
            try:
                reply = self.handle(payload)
            except BaseException as exc:  # noqa: BLE001 (the agent's own failure: T reports it, the test fails)
                reply = wire.pack({"error": _describe(exc)}, [])
            try:
                wire.send_frame(self.sock, request_id, reply)
            except OSError:
                return
            # nothing of a request outlives it but a staged call's arguments (runtime.py's _Meter measures
            # from outside this process between `stage` and `go`)
            del payload, reply

    def resolve(self, name):
        value = self.ns.get(name, _MISSING)
        if value is _MISSING:
            raise NameError(f"name '{name}' is not defined")
        return value

    def handle(self, payload: bytearray) -> list:
        header, buffers = wire.unpack(payload, wire.Caps(frame_bytes=1 << 40, header_bytes=1 << 40))
        op = header["op"]
        if op == "get":
            return self.get(header["names"])
        if op in ("call", "run"):
            if header.get("stage"):  # a measured call: its arguments arrive before the measure starts
                self.staged = self.prepare(header, buffers)
                return wire.pack({"staged": True}, [])
            return self.prepare(header, buffers)()
        if op == "go":
            run, self.staged = self.staged, None
            if run is None:
                raise ValueError("nenhuma chamada preparada")
            return run()
        if op == "backward":
            return self.backward(header, buffers)
        if op == "release":
            self.graphs.clear()
            return wire.pack({}, [])
        if op == "define":
            return self.define(header, buffers)
        if op == "reset":
            self.reset()
            return wire.pack({}, [])
        raise ValueError(f"operação desconhecida: {op}")

    def get(self, names: list[str]) -> list:
        encoder = wire.Encoder(self.caps)
        values = []
        for name in names:
            value = self.ns.get(name, _MISSING)
            if value is _MISSING or inspect.ismodule(value):
                values.append({"kind": "absent"})
            elif callable(value) and not _is_data(value):
                values.append({"kind": "function"})
            else:
                values.append(encoder.encode_or_refuse(value))
        return wire.pack({"values": values, **encoder.finish()}, encoder.buffers)

    def prepare(self, header: dict, buffers):
        """The call T asks for, its arguments decoded: a function that runs it and returns the reply."""
        decoder = self._trusted_decoder(header, buffers)
        if header["op"] == "call":
            function = self.resolve(header["target"])
        else:
            function = decoder.decode(header["function"])
        args = decoder.decode(header["args"])
        kwargs = decoder.decode(header["kwargs"])
        overrides = decoder.decode(header["overrides"]) if header.get("overrides") else {}
        tensors = _tensors(decoder.objects)
        before = {memo: _state(t) for memo, t in tensors.items()}
        digests = {region.id: region.digest() for region in decoder.regions.values()}
        containers = {
            memo: _shallow(obj) for memo, obj in decoder.objects.items() if type(obj) in _CONTAINERS
        }
        deleted = [name for name in header.get("deleted", []) if isinstance(name, str)]

        def run() -> list:
            out, err = _Capped(), _Capped()
            saved = {name: self.ns.get(name, _MISSING) for name in [*overrides, *deleted]}
            # the test's reference functions, where the student's code looks them up
            self.ns.update(overrides)
            for name in deleted:  # names the test deleted: gone for the student's code too, during the call
                self.ns.pop(name, None)
            try:
                with (
                    _context(header.get("ctx") or {}),
                    contextlib.redirect_stdout(out),
                    contextlib.redirect_stderr(err),
                ):
                    result = function(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 (the student's error, SystemExit included: the test fails)
                return wire.pack({"error": _describe(exc), "out": out.getvalue(), "err": err.getvalue()}, [])
            finally:
                for name, value in saved.items():
                    if value is _MISSING:
                        self.ns.pop(name, None)
                    else:
                        self.ns[name] = value
            return self._reply(
                decoder, tensors, before, digests, containers, result, out.getvalue(), err.getvalue()
            )

        return run

    def _reply(self, decoder, tensors, before, digests, containers, result, out, err) -> list:
        known = [region.described() for region in decoder.regions.values()]
        encoder = wire.Encoder(
            self.caps,
            known=known,
            first_region=max((r.id for r in known), default=-1) + 1,
            first_memo=max(decoder.objects, default=-1) + 1,
        )
        for memo, obj in decoder.objects.items():
            encoder.alias(obj, memo)  # the request's own objects come back as references to them
        entry = encoder.encode_or_refuse(result)
        if entry["kind"] == "refused":
            return wire.pack(
                {"refused": entry["type"], "why": entry.get("why", ""), "out": out, "err": err}, []
            )
        header = {"result": entry["value"], "out": out, "err": err}
        states = []
        for memo, tensor in tensors.items():
            now = _state(tensor)
            if now == before[memo]:
                continue
            state = {"m": memo}
            if now[:5] != before[memo][:5]:
                state["view"] = encoder.view(tensor)  # C.set_(...), C.data = ...: another storage
            if now[5] != before[memo][5]:
                state["requires_grad"] = now[5]
            if now[6] != before[memo][6]:
                state["grad"] = encoder.encode_or_refuse(tensor.grad)
            states.append(state)
        if states:
            header["args"] = states
        # lists, dicts and sets T sent (a test's spy counting calls) that the call changed: their new contents
        changed_containers = [
            {"m": memo, **encoder.encode_or_refuse(type(obj)(obj))}
            for memo, obj in decoder.objects.items()
            if memo in containers and _shallow(obj) != containers[memo]
        ]
        if changed_containers:
            header["containers"] = changed_containers
        graph = self._graph(decoder, result)
        if graph:
            header["grad"] = graph
        header.update(encoder.finish())
        changed = []
        for region in decoder.regions.values():
            if region.digest() != digests[region.id]:
                changed.append([region.id, len(encoder.buffers)])
                encoder.buffers.append(region.current())
        if changed:
            header["changed"] = changed
        return wire.pack(header, encoder.buffers)

    def _graph(self, decoder, result) -> dict | None:
        """Keep the autograd graph of a result that requires grad, for T's backward through it."""
        torch = wire._libs.get("torch")
        if torch is None:
            return None
        outputs = [t for t in _walk(result) if isinstance(t, torch.Tensor) and t.requires_grad]
        if not outputs:
            return None
        inputs = [t for _, t in decoder.grad_tensors]
        handle = len(self.graphs) + 1
        while handle in self.graphs:
            handle += 1
        self.graphs[handle] = (outputs, inputs)
        return {
            "handle": handle,
            "outputs": len(outputs),
            "inputs": [memo for memo, _ in decoder.grad_tensors],
        }

    def backward(self, header: dict, buffers) -> list:
        torch = wire._libs["torch"]
        outputs, inputs = self.graphs[header["handle"]]
        decoder = wire.Decoder(
            header,
            buffers,
            wire.Caps(frame_bytes=1 << 40, header_bytes=1 << 40),
            trusted=True,
            resolve=self.resolve,
        )
        grads = decoder.decode(header["grads"])
        pairs = [
            (o, g) for o, g in zip(outputs, grads, strict=True) if g is not None and o.grad_fn is not None
        ]
        found = [None] * len(inputs)
        if pairs and inputs:
            with _context(header.get("ctx") or {}):
                found = list(
                    torch.autograd.grad(
                        [o for o, _ in pairs],
                        inputs,
                        [g for _, g in pairs],
                        retain_graph=True,
                        allow_unused=True,
                    )
                )
        encoder = wire.Encoder(self.caps)
        entry = encoder.encode_or_refuse(found)
        return wire.pack({"result": entry, **encoder.finish()}, encoder.buffers)


def _is_data(value) -> bool:
    """A value that happens to be callable (none of the wire's types is, but a tensor subclass may be)."""
    torch = wire._libs.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


_CONTAINERS = (list, dict, set)


def _shallow(container) -> list:
    if type(container) is dict:
        return [(key, id(value)) for key, value in container.items()]
    return sorted(map(id, container)) if type(container) is set else [id(item) for item in container]


def _tensors(objects: dict) -> dict:
    torch = wire._libs.get("torch")
    if torch is None:
        return {}
    return {memo: obj for memo, obj in objects.items() if isinstance(obj, torch.Tensor)}


def _state(t) -> tuple:
    """What T mirrors of a tensor argument: its view of memory, requires_grad and .grad."""
    if t.device.type == "meta":
        return (None, tuple(t.shape), tuple(t.stride()), t.dtype, None, t.requires_grad, None)
    grad = t.grad if t.is_leaf else None  # (.grad of a non-leaf warns on stderr)
    return (
        t.untyped_storage().data_ptr(),
        tuple(t.shape),
        tuple(t.stride()),
        t.dtype,
        t.storage_offset(),
        t.requires_grad,
        id(grad) if grad is not None else None,
    )


def _walk(value, depth: int = 0):
    if depth > 32:
        return
    yield value
    if type(value) in (list, tuple, set, frozenset):
        for item in value:
            yield from _walk(item, depth + 1)
    elif type(value) is dict:
        for item in value.values():
            yield from _walk(item, depth + 1)


def _describe(exc: BaseException) -> dict:
    kind = type(exc)
    return {"type": kind.__name__[:200], "module": str(kind.__module__)[:200], "message": str(exc)[:2000]}


@contextlib.contextmanager
def _context(ctx: dict):
    """T's settings while a test calls: grad mode, default dtype, warning filters, numpy's error handling."""
    with contextlib.ExitStack() as stack:
        torch = wire._libs.get("torch")
        if torch is not None and "grad" in ctx:
            stack.enter_context(torch.set_grad_enabled(bool(ctx["grad"])))
            if ctx.get("dtype") in ("float32", "float64", "float16", "bfloat16"):
                previous = torch.get_default_dtype()
                torch.set_default_dtype(getattr(torch, ctx["dtype"]))
                stack.callback(torch.set_default_dtype, previous)
        if "warnings" in ctx:
            stack.enter_context(warnings.catch_warnings())
            warnings.resetwarnings()
            for action, message, category, module, lineno in reversed(ctx["warnings"]):
                kind = getattr(builtins, category, None)
                if not (isinstance(kind, type) and issubclass(kind, Warning)):
                    kind = Warning
                try:
                    warnings.filterwarnings(action, message, kind, module, lineno)
                except (ValueError, TypeError, AssertionError):
                    pass
        np = wire._libs.get("numpy")
        if np is not None and "np_err" in ctx:
            stack.enter_context(np.errstate(**ctx["np_err"]))
        yield
