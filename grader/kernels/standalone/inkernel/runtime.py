"""Inside the trusted test kernel (T): test cells run here, and the student's names are stand-ins.

The grader runs every test cell of a submission in T, a kernel in a sandbox of its own that never runs the
student's code, and every other cell in the student's kernel S. Before each test cell, T asks S for the
names the cell reads that T does not own (not builtins, not bound by an earlier test cell, not the
source notebook's imports): a student function becomes a `StandIn` that runs the function in S; a value
(tensor, array, number...) arrives as a copy. So every verdict (an assertion, a comparison, a reference
computation) is computed by T's interpreter; S only supplies data.

T's state belongs to T: nothing a test cell binds, imports or creates travels to S except as an argument of a
call or an explicit `_referencias` override of that call, and what comes back is written only into that
call's arguments. What a test relies on keeps working:
- in-place changes to tensor and array arguments, views and shared memory (grader/kernels/standalone/inkernel/wire.py);
- autograd through a student result: a `torch.autograd.Function` whose backward asks S for the gradients;
- `_referencias(J_func=...)`: a test's function bound to a student's name through `globals()` (the explicit
  override) goes with every call into S while it is bound (shipped as code), and the student's code sees it
  in its globals;
- `inspect.getsource(student_function)` and `student_function.__globals__` (a structure check following the
  helpers): read from the submitted notebook's text (grader/kernels/standalone/inkernel/source.py), never asked of S;
- functions marked `@_medida_externa` (a test's peak-memory measure): on the CPU, T asks the grader, outside
  both sandboxes, for the peak resident memory of S's process during the call; on a GPU they run in S.

Started by the grader with `start(...)`; nothing here runs student code.
"""

from __future__ import annotations
import __future__

import ast
import base64
import builtins
import contextlib
import dis
import functools
import hmac
import json
import linecache
import marshal
import os
import re
import secrets
import socket
import symtable
import sys
import textwrap
import time
import types
import warnings
import zlib
from collections.abc import Mapping, MutableMapping

from . import fastpath, wire
from . import source as notebook_source

MEASURE = "__corretor_medida_externa__"
FAILED = "__corretor_falhou__"
MEASURE_MARK = "_medida_externa"  # a test's memory measure
# a test cell that reads code or measures memory: it checks the text (its calls go to the replay)
_PROPERTY_TEST = re.compile(r"getsource|__globals__|@" + MEASURE_MARK)
_INTERNAL = {MEASURE, FAILED, "globals"}  # what T's runtime puts in the test namespace
_BUILTIN_ERRORS = {
    cls.__name__: cls
    for cls in (
        Exception,
        ArithmeticError,
        AssertionError,
        AttributeError,
        BufferError,
        EOFError,
        FloatingPointError,
        ImportError,
        IndexError,
        KeyError,
        LookupError,
        MemoryError,
        ModuleNotFoundError,
        NameError,
        NotImplementedError,
        OSError,
        OverflowError,
        RecursionError,
        RuntimeError,
        StopIteration,
        TypeError,
        UnboundLocalError,
        ValueError,
        ZeroDivisionError,
        FileNotFoundError,
        PermissionError,
        SystemExit,
        KeyboardInterrupt,
    )
}

_runtime: Runtime | None = None


class ErroNoKernelDoAluno(Exception):
    """The student's kernel could not answer (it hung, died or broke the protocol)."""


class ErroDoAluno(Exception):
    """An exception raised by the student's code whose class is not a builtin one (carries its name)."""


def start(
    path: str,
    cells: list[tuple[str, str]],
    call_timeout_s: float,
    state_path: str,
    imports: str,
    frame_bytes: int,
    names: dict[str, tuple[tuple[str, ...], tuple[str, ...]] | None] | None = None,
    meter: str | None = None,
    replay: tuple[str, str] | None = None,
) -> None:
    """Listen on `path` for the student's kernel; `cells`: the notebook's code cells in order, (kind, text), kind
    "test", "given" (the instructor's text: locked, or a lesson cell as released) or "student"; `imports`: the source notebook's import statements (T's own modules under the notebook's names);
    `names`: test cell text -> (the names it reads, the names it binds), worked out by the grader once; `meter`: the
    grader's socket that reads S's peak memory from outside (grader/kernels/meter.py); `replay`: (socket, secret)
    where the submission's replay connects (the process that runs the notebook's defs as written)."""
    global _runtime
    _runtime = Runtime(
        path, cells, call_timeout_s, state_path, wire.Caps(frame_bytes=frame_bytes), meter, replay
    )
    _runtime.install(imports, names or {})


def start_packed(packed: str) -> None:
    """`start`, its arguments as grader/kernels/execute.py sends them: a JSON object, compressed, in base64. The
    notebook's text spelled out in the setup cell made it 300 KB of Python, which IPython tokenizes and compiles
    twice before it runs: 50-60 ms of this kernel's CPU for every submission, against under 5 ms this way."""
    start(**json.loads(zlib.decompress(base64.b64decode(packed))))


def learn(texts: list[str]) -> int:
    """The test cells, parsed by T's kernel server before it forks (inkernel/fastpath.py)."""
    return fastpath.learn(texts, post=(_measured,))


def _measured(lines: list[str]) -> list[str]:
    """A test's text with `@_medida_externa` made the meter (T's input transformer, `Runtime._rewrite`)."""
    return [
        line.replace(f"@{MEASURE_MARK}", f"@{MEASURE}", 1)
        if line.lstrip().startswith(f"@{MEASURE_MARK}")
        else line
        for line in lines
    ]


def accept(timeout_s: float) -> None:
    _runtime.accept(timeout_s)


class _Peer:
    """A process T asks to run student code: the student's kernel (S: a break is recorded in `state_path`, and
    the submission stops) or the submission's replay (a break fails the tests that need it)."""

    def __init__(self, label: str, state_path: str | None = None):
        self.label, self.state_path = label, state_path
        self.conn: socket.socket | None = None
        self.broken = ""
        self.graphs = False  # it keeps autograd graphs for this cell

    def break_off(self, reason: str) -> None:
        if self.broken:
            return
        self.broken = reason
        if self.state_path is not None:
            with open(self.state_path, "w", encoding="utf-8") as f:
                json.dump({"motivo": reason}, f)
        if self.conn is not None:
            self.conn.close()


def _listen(path: str, backlog: int = 1) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o666)  # the student's kernel may run as another uid (a root grader's sandbox)
    listener.listen(backlog)
    return listener


class StandIn:
    """A student function, as a test sees it: calling it runs it in the student's kernel (in the replay, for a
    test that reads code or measures memory); its source and its globals are read from the submitted notebook's
    text."""

    def __init__(self, runtime: Runtime, name: str):
        self._runtime, self.__name__, self.__qualname__ = runtime, name, name
        self.__module__ = "__main__"  # as a function defined in a notebook cell

    def __call__(self, *args, **kwargs):
        return self._runtime.call({"op": "call", "target": self.__name__}, args, kwargs, self.__name__)

    @property
    def __wrapped__(self):
        """For inspect.getsource (which unwraps): a never-run function compiled from the last plain `def` of
        this name in the notebook before the test; OSError (through inspect) when there is none."""
        return self._runtime.source_shell(self.__name__)

    @property
    def __globals__(self):
        """The student's names as the notebook's text binds them before the test (for a check that follows
        the helpers a function calls)."""
        return _StudentNames(self._runtime)

    def __repr__(self):
        return f"<função {self.__name__} do aluno>"


class _NotADef:
    """A student's name the notebook binds some other way than a plain `def`: its source cannot be read."""

    def __init__(self, name: str, why: str):
        self.__name__, self.__qualname__, self._why = name, name, why
        self.__module__ = "__main__"

    def _explain(self) -> str:
        return (
            f"{self.__name__} {self._why}: defina-a com def, sem decoradores, numa célula do notebook "
            "(a correção lê o código dessa definição)"
        )

    @property
    def __wrapped__(self):
        raise OSError(self._explain())

    def __repr__(self):
        return f"<{self.__name__} do aluno>"


class _CallableNotADef(_NotADef):
    def __call__(self, *args, **kwargs):
        raise AssertionError(f"{self.__name__} não pode ser chamada pelo teste ({self._why})")


class _Imported:
    """A name the student's notebook imports: where it comes from, nothing more (T never imports it)."""

    def __init__(self, name: str, module: str):
        self.__name__ = self.__qualname__ = name
        self.__module__ = module

    @property
    def __wrapped__(self):
        raise OSError(f"{self.__name__} vem de {self.__module__}, não de uma célula do notebook")

    def __repr__(self):
        return f"<{self.__name__} de {self.__module__}>"


class _CallableImported(_Imported):
    def __call__(self, *args, **kwargs):
        raise AssertionError(f"{self.__name__} não pode ser chamada pelo teste")


class Runtime:
    def __init__(
        self,
        path: str,
        cells: list[tuple[str, str]],
        call_timeout_s: float,
        state_path: str,
        caps: wire.Caps,
        meter: str | None = None,
        replay: tuple[str, str] | None = None,
    ):
        self.caps, self.call_timeout_s = caps, call_timeout_s
        self.cells = [(str(kind), str(text)) for kind, text in cells]
        self.position = 0  # index in `cells` of the test cell running (the student's cells before it count)
        self._next_test = 0
        self._synced: int | None = None  # the position of the last sync
        self._failure: BaseException | None = None  # why the fetch before the running cell failed
        self._binds: tuple[str, ...] = ()  # what the running test cell binds
        self._parsed: dict[int, notebook_source.Cell] = {}  # the notebook's cells, each read once
        self._bindings: tuple[int, dict, str] | None = None  # position, bindings, why no source is readable
        self.meter_path, self._meter = meter, None
        # a memory measure's: called with their size once a call's arguments are in the replay
        self.staging = None
        self.listener = _listen(path)
        self.path = path
        self.student = _Peer("o kernel do aluno", state_path)
        # text mode: a test that reads code or measures memory calls the replay, which runs the notebook's
        # plain defs as written (agent.py's replay_main), instead of S
        self.replay = _Peer("o processo que roda o código do notebook")
        self.replay_path, self.replay_secret = replay or (None, "")
        self.replay_listener = _listen(self.replay_path, backlog=8) if self.replay_path else None
        self.peer = self.student  # who the request being made goes to
        self.text_mode = False
        self._replayed: tuple[int, set[str]] | None = None  # (position, names the replay has) of this cell
        self.standins: dict[str, StandIn] = {}
        self.fetched: dict[str, object] = {}  # name -> the value T received for it (not T's own)
        # name -> what a test bound to a student's name through globals() (`_referencias`): the only bindings
        # of T's that go to S, and only while that name is still bound to it in T (DELETED: deleted so)
        self.explicit: dict[str, object] = {}
        from IPython import get_ipython

        self.ipython = get_ipython()
        self.ns = self.ipython.user_ns

    # -- setting up ------------------------------------------------------------------------------------------

    def install(self, imports: str, names: dict) -> None:
        # the source notebook's own imports (instructor's text), made when a test first reads one of their
        # names (importing matplotlib for every submission's test kernel would cost 0.3 s)
        self.imports: dict[str, str] = {}
        for statement in imports.splitlines():
            try:
                node = ast.parse(statement).body[0]
            except (SyntaxError, IndexError):
                continue
            for alias in node.names:
                self.imports[alias.asname or alias.name.split(".")[0]] = statement
        self.ns[MEASURE] = self.measure
        # globals() in a test (`_referencias`, a test following the student's helpers by name) sees the
        # student's names too, fetched when first asked for
        self.ns["globals"] = lambda: _GlobalsView(self)
        self.ns[FAILED] = self._raise_failure

        def before_cell(info) -> None:
            """Before a test cell: fetch what it reads from S (the grader worked the names out); a test that
            reads code or measures memory calls the replay (text mode)."""
            self.text_mode = self._locate_test(info.raw_cell) and bool(_PROPERTY_TEST.search(info.raw_cell))
            self._failure = None
            free, self._binds = names.get(info.raw_cell) or ((), ())
            wanted = [n for n in free if n not in _INTERNAL]
            if wanted:
                try:
                    self.sync(tuple(wanted))
                except BaseException as exc:  # noqa: BLE001 (the cell fails with it, as if it had raised it)
                    self._failure = exc

        self.ipython.events.register("pre_run_cell", before_cell)
        self.ipython.events.register("post_run_cell", self._after_cell)
        self.ipython.input_transformers_post.append(self._rewrite)
        fastpath.install(self.ipython.input_transformer_manager)
        fastpath.install_once_per_cell(self.ipython)

    def _rewrite(self, lines: list[str]) -> list[str]:
        """The cell's text as T runs it: `@_medida_externa` is the meter; a cell whose fetch failed raises."""
        if self._failure is not None:
            return [f"{FAILED}()\n"]
        return _measured(lines)

    def _raise_failure(self):
        failure, self._failure = self._failure, None
        raise failure

    def _locate_test(self, text: str) -> bool:
        """The notebook position of the test cell about to run: the next test cell with this text (False: not a
        test cell, the grader's own code)."""
        for index in range(self._next_test, len(self.cells)):
            if self.cells[index] == ("test", text):
                self.position, self._next_test = index, index + 1
                return True
        return False

    def accept(self, timeout_s: float) -> None:
        self.listener.settimeout(timeout_s)
        self.student.conn, _ = self.listener.accept()
        self.listener.close()  # one connection, the agent's: nothing else may reach this kernel
        os.unlink(self.path)

    def _after_cell(self, result) -> None:
        for name in self._binds:  # bound by the test cell: T's from now on, whatever value it holds
            self.fetched.pop(name, None)
        self._binds = ()
        for peer in (self.student, self.replay):
            if peer.graphs and not peer.broken:
                peer.graphs = False
                try:
                    with self._talking_to(peer):
                        self.request({"op": "release"}, [])
                except ErroNoKernelDoAluno:
                    pass

    # -- the channels ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _talking_to(self, peer: _Peer):
        previous, self.peer = self.peer, peer
        try:
            yield
        finally:
            self.peer = previous

    def _break(self, reason: str) -> None:
        self.peer.break_off(reason)

    def request(self, header: dict, buffers: list) -> tuple[dict, list]:
        peer = self.peer
        if peer.broken:
            raise ErroNoKernelDoAluno(f"{peer.label} não responde mais ({peer.broken})")
        if peer.conn is None:
            raise ErroNoKernelDoAluno(f"{peer.label} não se conectou ao corretor")
        # a random id: a frame S wrote before being asked cannot pass for the answer
        request_id = secrets.randbits(63)
        try:
            parts = wire.pack(header, buffers)
            wire.send_frame(peer.conn, request_id, parts)
            deadline = time.monotonic() + self.call_timeout_s
            dropped = 0
            while True:
                got, payload = wire.recv_frame(peer.conn, self.caps.frame_bytes, deadline)
                if got == request_id:
                    break
                dropped += len(payload) + wire.FRAME.size  # late or unsolicited: dropped
                if dropped > 4 * self.caps.frame_bytes:
                    raise wire.WireError("o canal foi inundado")
            return wire.unpack(payload, self.caps)
        except TimeoutError:
            self._break(f"não respondeu em {self.call_timeout_s:g} s")
        except KeyboardInterrupt:
            self._break("a célula foi interrompida enquanto esperava a resposta")
            raise
        except (wire.Closed, OSError):
            self._break("morreu")
        except wire.WireError as exc:
            self._break(f"resposta inválida: {exc}")
        raise ErroNoKernelDoAluno(f"{peer.label} {peer.broken}")

    def _decoder(self, header, buffers, **kwargs) -> wire.Decoder:
        return wire.Decoder(header, buffers, self.caps, **kwargs)

    # -- names -----------------------------------------------------------------------------------------------

    def _owned(self, name: str) -> bool:
        if name not in self.ns:
            return False
        value = self.ns[name]
        if isinstance(value, (StandIn, wire.Placeholder)):
            return False
        return self.fetched.get(name, _NOTHING) is not value

    def sync(self, names: tuple[str, ...]) -> None:
        """Before a test cell: S's current value of each name the cell reads that T does not own."""
        with self._talking_to(self.student):
            self._sync(names)

    def _sync(self, names: tuple[str, ...]) -> None:
        wanted = [n for n in names if n not in builtins.__dict__ and not self._owned(n)]
        for name in [n for n in wanted if n in self.imports and n not in self.ns]:
            try:
                exec(self.imports[name], self.ns)
                wanted.remove(name)
            except Exception:  # noqa: BLE001 (a module missing here: the tests that use it will say so)
                pass
        if self._student_idle():  # a function S had is still a function: no need to ask again
            wanted = [n for n in wanted if not isinstance(self.ns.get(n), StandIn)]
        self._synced = self.position
        if not wanted or self.student.conn is None:
            return
        header, buffers = self.request({"op": "get", "names": wanted}, [])
        decoder = self._decoder(header, buffers, refused="placeholder", leaves=True)
        values = header.get("values")
        if not isinstance(values, list) or len(values) != len(wanted):
            self._break("resposta inválida")
            raise ErroNoKernelDoAluno("o kernel do aluno respondeu fora do protocolo")
        for name, entry in zip(wanted, values, strict=True):
            kind = entry.get("kind") if isinstance(entry, dict) else None
            if kind == "function":
                value = self.standins.setdefault(name, StandIn(self, name))
            elif kind == "value":
                value = self._decode(decoder, entry.get("value"))
            elif kind == "refused":
                value = wire.placeholder(str(entry.get("why") or entry.get("type", "?")))
            else:  # gone in S: gone here too, as in one kernel
                if name in self.fetched and self.ns.get(name) is self.fetched.pop(name):
                    del self.ns[name]
                self.standins.pop(name, None)
                continue
            self.ns[name] = value
            self.fetched[name] = value

    def _student_idle(self) -> bool:
        """No cell ran in S since the last sync (only test cells since then): S's names are what they were,
        but for what calls changed (values, which are fetched again; a function rebound by a call is looked up
        by name when called)."""
        previous = self._synced
        return previous is not None and all(k == "test" for k, _ in self.cells[previous : self.position + 1])

    def _decode(self, decoder: wire.Decoder, node):
        try:
            return decoder.decode(node)
        except wire.Refused:
            raise
        except (wire.WireError, RecursionError) as exc:
            self._break(f"resposta inválida: {exc}")
            raise ErroNoKernelDoAluno(f"o kernel do aluno respondeu fora do protocolo ({exc})") from None

    # -- calls -----------------------------------------------------------------------------------------------

    def _ship(self, obj, encoder: wire.Encoder, depth: int):
        """T-only nodes: S's own names, modules, T's functions as code. None: plain data."""
        if isinstance(obj, StandIn):
            if self.peer is self.replay:  # (a test's function that calls it, run there: the GPU's memory)
                self._define(obj.__name__)
            return {"t": "ref", "name": obj.__name__}
        if isinstance(obj, types.ModuleType):
            return {"t": "module", "name": obj.__name__}
        if isinstance(obj, _Meter):
            obj = obj.function
        if isinstance(obj, types.FunctionType):
            return self._ship_function(obj, encoder, depth)
        return _importable(obj)

    def _ship_function(self, function, encoder: wire.Encoder, depth: int) -> dict:
        node = {
            "t": "function",
            "m": encoder.remember(function),
            "name": function.__name__,
            "code": encoder.buffer(marshal.dumps(function.__code__)),
        }
        keys, values = [], []
        for name in sorted(_global_names(function.__code__)):
            if name in function.__globals__ and name not in _INTERNAL:  # (S has its own globals())
                keys.append(name)
                values.append(encoder.encode(function.__globals__[name], depth + 1))
        node["globals"] = [keys, values]
        if function.__closure__ is not None:
            node["closure"] = [encoder.encode(_cell_value(cell), depth + 1) for cell in function.__closure__]
        if function.__defaults__ is not None:
            node["defaults"] = [encoder.encode(value, depth + 1) for value in function.__defaults__]
        if function.__kwdefaults__ is not None:
            node["kwdefaults"] = encoder.encode(function.__kwdefaults__, depth + 1)
        return node

    def _overrides(self) -> tuple[dict, list[str]]:
        """What the test bound to student names through globals() (`_referencias`) and still holds there, and
        what it deleted so: S sees the same during the call. Nothing else of T's goes."""
        found, deleted = {}, []
        for name, value in self.explicit.items():
            current = self.ns.get(name, _NOTHING)
            if value is _DELETED and current is _NOTHING:
                deleted.append(name)
            elif current is value and value is not _DELETED:
                found[name] = value
        return found, deleted

    def measure(self, function):
        """`@_medida_externa`: the test's memory measure, taken from outside S (see _Meter)."""
        return functools.wraps(function)(_Meter(self, function))

    def call(self, target: dict, args: tuple, kwargs: dict, label: str):
        """Call a student function (or run a test's function) in S, or, in text mode, in the replay."""
        peer = self._replay_ready() if self.text_mode else self.student
        with self._talking_to(peer):
            if peer is self.replay and target["op"] == "call":
                self._define(target["target"])
            return self._call(target, args, kwargs, label)

    def _call(self, target: dict, args: tuple, kwargs: dict, label: str):
        encoder = wire.Encoder(self.caps, ship=self._ship)
        try:
            header = {
                **target,
                "args": encoder.encode(list(args)),
                "kwargs": encoder.encode(dict(kwargs)),
                "ctx": _context(),
            }
            arguments = set(encoder.objects)  # what may be written back: the call's own arguments
            if target["op"] == "run":
                header["function"] = encoder.encode(target["function"])
            overrides, deleted = self._overrides()
            if overrides:
                header["overrides"] = encoder.encode(overrides)
            if deleted:
                header["deleted"] = deleted
            header.update(encoder.finish())
        except wire.Refused as exc:
            raise TypeError(
                f"a correção não consegue enviar um objeto do tipo {exc.type_name} "
                f"ao kernel do aluno (argumento de {label})"
            ) from None
        except wire.WireError as exc:
            raise ValueError(f"argumentos grandes demais para {label}: {exc}") from None
        stage, self.staging = self.staging, None
        if stage is None:
            reply, buffers = self.request(header, encoder.buffers)
        else:  # a measured call: the arguments first, then the measure starts, then the call runs
            reply, buffers = self.request({**header, "stage": True}, encoder.buffers)
            if "error" not in reply:
                stage(sum(memoryview(b).nbytes for b in encoder.buffers))
                reply, buffers = self.request({"op": "go"}, [])
        if reply.get("out"):
            sys.stdout.write(str(reply["out"]))
        if reply.get("err"):
            sys.stderr.write(str(reply["err"]))
        if "error" in reply:
            error = reply["error"]
            shipped = any(isinstance(o, types.FunctionType) for o in encoder.objects.values())
            if shipped and isinstance(error, dict):  # the test's own functions were there to be read
                error = {
                    "type": error.get("type") if error.get("module") == "builtins" else "ErroDoAluno",
                    "module": "builtins" if error.get("module") == "builtins" else "",
                    "message": "mensagem omitida: a chamada usava funções do próprio teste",
                }
            raise _student_error(error, label)
        if "refused" in reply:
            if reply.get("why"):
                raise AssertionError(
                    f"{label} devolveu um valor que a correção não aceita: {str(reply['why'])[:200]}"
                )
            raise AssertionError(
                f"{label} devolveu um objeto do tipo {str(reply['refused'])[:200]}, que a correção não aceita"
            )
        regions = {region.id: wire.own_region(region) for region in encoder.regions}
        decoder = self._decoder(reply, buffers, regions=regions)
        decoder.objects.update(encoder.objects)
        try:
            result = self._decode(decoder, reply.get("result"))
        except wire.Refused as exc:
            raise AssertionError(
                f"{label} devolveu um objeto do tipo {exc.type_name}, que a correção não aceita"
            ) from None
        argument_ids = {id(encoder.objects[memo]) for memo in arguments}
        writable = {
            region.id
            for region in encoder.regions
            if any(id(owner) in argument_ids for owner in region.owners)
        }
        self._mirror(reply, decoder, regions, encoder, arguments, writable)
        if isinstance(reply.get("grad"), dict):
            result = self._differentiable(reply["grad"], decoder, encoder, result)
        return result

    def _mirror(
        self,
        reply: dict,
        decoder: wire.Decoder,
        regions: dict,
        encoder: wire.Encoder,
        arguments: set[int],
        writable: set[int],
    ) -> None:
        """What the student's function changed in its arguments, done to T's arguments, and to nothing else
        of T's (`arguments`: memo indices of the call's arguments; `writable`: their memory's regions)."""
        for entry in reply.get("changed", []):
            try:
                region_id, index = entry
                region, data = regions[region_id], decoder.buffers[index]
            except (TypeError, ValueError, KeyError, IndexError):
                self._break("resposta inválida")
                raise ErroNoKernelDoAluno("o kernel do aluno respondeu fora do protocolo") from None
            if len(data) != len(region.memory) if region.device == "cpu" else False:
                self._break("resposta inválida")
                raise ErroNoKernelDoAluno("o kernel do aluno respondeu fora do protocolo")
            if region_id in writable:
                region.overwrite(data)
        torch = wire._libs.get("torch")
        for state in reply.get("args", []):
            memo = state.get("m") if isinstance(state, dict) else None
            target = encoder.objects.get(memo) if memo in arguments else None
            if torch is None or not isinstance(target, torch.Tensor):
                continue
            with torch.no_grad():
                if "view" in state:
                    target.set_(self._decode(decoder, state["view"]))
                if "requires_grad" in state and target.is_leaf:
                    target.requires_grad_(bool(state["requires_grad"]))
            if isinstance(state.get("grad"), dict):
                grad = state["grad"]
                target.grad = self._decode(decoder, grad["value"]) if grad.get("kind") == "value" else None
        for entry in reply.get("containers", []):
            memo = entry.get("m") if isinstance(entry, dict) else None
            target = encoder.objects.get(memo) if memo in arguments else None
            if type(target) not in (list, dict, set) or entry.get("kind") != "value":
                continue
            contents = self._decode(decoder, entry["value"])
            if type(contents) is not type(target):
                continue
            if type(target) is list:
                target[:] = contents
            else:
                target.clear()
                target.update(contents)

    def _differentiable(self, graph: dict, decoder: wire.Decoder, encoder: wire.Encoder, result):
        """Results that require grad: their backward asks S for the gradients of T's arguments."""
        torch = wire._libs["torch"]
        inputs = [encoder.objects.get(memo) for memo in graph.get("inputs", [])]
        outputs = [t for _, t in decoder.grad_tensors]  # in S's order: both walk the result as it was encoded
        if len(outputs) != graph.get("outputs") or not all(isinstance(t, torch.Tensor) for t in inputs):
            return result
        self.peer.graphs = True
        if not inputs:  # nothing of T's to differentiate: leaves, as S's were
            swapped = {id(t): t.detach().requires_grad_(True) for t in outputs}
        else:
            new = _gradient_function().apply((self, self.peer), graph["handle"], outputs, *inputs)
            swapped = {id(old): fresh for old, fresh in zip(outputs, new, strict=True)}
        return _replace(result, swapped)

    def backward(self, peer: _Peer, handle, grads) -> tuple:
        """The gradients of a result computed by `peer` (S or the replay), asked of it."""
        encoder = wire.Encoder(self.caps, ship=self._ship)
        header = {"op": "backward", "handle": handle, "grads": encoder.encode(list(grads)), "ctx": _context()}
        header.update(encoder.finish())
        with self._talking_to(peer):
            reply, buffers = self.request(header, encoder.buffers)
            if "error" in reply:
                raise _student_error(reply["error"], "backward")
            entry = reply.get("result")
            if not isinstance(entry, dict) or entry.get("kind") != "value":
                raise AssertionError("os gradientes calculados pelo código do aluno não puderam ser lidos")
            return tuple(self._decode(self._decoder(reply, buffers), entry["value"]))

    # -- source ----------------------------------------------------------------------------------------------

    def meter_request(self, what: str) -> tuple[int, int]:
        """Ask the grader's memory meter (grader/kernels/meter.py) to reset or read S's peak memory: (resident or
        peak bytes, bytes touched so far)."""
        if self.meter_path is None:
            raise RuntimeError("a medida de memória externa não está disponível nesta correção")
        try:
            if self._meter is None:
                self._meter = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._meter.settimeout(30)
                self._meter.connect(self.meter_path)
                self._meter_file = self._meter.makefile("rwb")
            self._meter_file.write(what.encode() + b"\n")
            self._meter_file.flush()
            answer = self._meter_file.readline().decode().split()
        except OSError as exc:
            raise RuntimeError(f"a medida de memória externa falhou: {exc}") from None
        if len(answer) != 3 or answer[0] != "ok":
            raise RuntimeError(
                f"a medida de memória externa falhou: {' '.join(answer[1:]) or 'sem resposta'}"
            )
        return int(answer[1]), int(answer[2])

    def student_bindings(self) -> dict:
        """How the notebook's text binds each name in the cells before the running test
        (grader/kernels/standalone/inkernel/source.py)."""
        if self._bindings is None or self._bindings[0] != self.position:
            cells = []
            for index, (kind, text) in enumerate(self.cells[: self.position]):
                if kind != "test":
                    if index not in self._parsed:
                        self._parsed[index] = notebook_source.read_cell(index, text)
                    cells.append(self._parsed[index])
            self._bindings = (self.position, notebook_source.bindings(cells))
        return self._bindings[1]

    def _futures(self) -> frozenset[str]:
        """The `__future__` features of the cells before the test (IPython compiles the later cells with them)."""
        return frozenset().union(*(c.futures for c in self._parsed.values() if c.index < self.position))

    def _def_text(self, binding) -> str:
        lines = notebook_source.python_lines(self._parsed[binding.cell].text)
        return textwrap.dedent("".join(lines[binding.first : binding.last + 1]))

    def source_shell(self, name: str):
        """A never-run function compiled from the last plain `def` of `name` in the notebook before the test;
        OSError when the notebook binds the name some other way (so inspect.getsource fails, saying why)."""
        binding = self.student_bindings().get(name)
        if binding is None:
            raise OSError(f"{name} não é definida em nenhuma célula do notebook antes deste teste")
        if binding.kind != "def":
            raise OSError(_NotADef(name, binding.why or "não é um def")._explain())
        text = self._parsed[binding.cell].text  # (what the lines of `binding` refer to)
        count = binding.last - binding.first + 1
        return _compile_shell(binding.cell, text, binding.first, count, self._futures())

    # -- the replay (text mode) ------------------------------------------------------------------------------

    def _replay_ready(self) -> _Peer:
        """The replay, connected and, for a new test cell, emptied (each cell gets the text before it)."""
        if self.replay.conn is None and not self.replay.broken:
            self._accept_replay()
        if self._replayed is None or self._replayed[0] != self.position:
            with self._talking_to(self.replay):
                self.request({"op": "reset"}, [])
            self._replayed = (self.position, set())
        return self.replay

    def _accept_replay(self) -> None:
        """The first connection on the replay's socket that says the secret; any other is closed (the student's
        kernel sees the socket's folder, and could connect first)."""
        if self.replay_listener is None:
            self.replay.break_off("não existe nesta correção")
            raise ErroNoKernelDoAluno(f"{self.replay.label} não existe nesta correção")
        deadline = time.monotonic() + self.call_timeout_s
        while self.replay.conn is None:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                self.replay_listener.settimeout(left)
                conn, _ = self.replay_listener.accept()
            except (TimeoutError, OSError):
                self.replay.break_off("não se conectou")
                raise ErroNoKernelDoAluno(f"{self.replay.label} não se conectou ao corretor") from None
            try:
                _, said = wire.recv_frame(conn, 256, time.monotonic() + min(5.0, max(left, 0.1)))
            except (TimeoutError, wire.WireError, OSError):
                conn.close()
                continue
            if hmac.compare_digest(bytes(said), self.replay_secret.encode()):
                self.replay.conn = conn
            else:
                conn.close()
        self.replay_listener.close()
        os.unlink(self.replay_path)

    def _define(self, name: str) -> None:
        """Give the replay what `name` needs, as the notebook's text has it before the test: the plain defs it
        reaches (itself, its helpers), the imports and library aliases they read, and the values of the data
        they read (copies from S: data only). A name the text binds otherwise that it calls is not defined,
        and the call fails saying why."""
        have = self._replayed[1]
        bindings, steps, values, seen = self.student_bindings(), [], [], set()

        def reach(current: str) -> None:
            if current in have or current in seen:
                return
            seen.add(current)
            binding = bindings.get(current)
            if binding is None:
                return  # a builtin, or a name the notebook never binds
            if binding.kind == "def":
                text = self._def_text(binding)
                filename = f"<célula do aluno {binding.cell}>"
            elif binding.kind in ("import", "alias"):
                text, filename = binding.statement, "<importação do notebook>"
            else:
                values.append(current)  # data (or what cannot be defined from text: S says which)
                return
            for read in sorted(notebook_source.reads(text)):
                reach(read)
            steps.append(("code", current, (filename, text)))

        reach(name)
        encoder = wire.Encoder(self.caps, ship=self._ship)
        if values:
            with self._talking_to(self.student):
                header, buffers = self.request({"op": "get", "names": values}, [])
                decoder = self._decoder(header, buffers, refused="placeholder", leaves=True)
                found = header.get("values")
                if not isinstance(found, list) or len(found) != len(values):
                    self._break("resposta inválida")
                    raise ErroNoKernelDoAluno("o kernel do aluno respondeu fora do protocolo")
                decoded = []
                for value_name, entry in zip(values, found, strict=True):
                    kind = entry.get("kind") if isinstance(entry, dict) else None
                    if kind == "value":
                        decoded.append((value_name, self._decode(decoder, entry.get("value"))))
                    elif kind in ("function", "refused"):
                        pass  # not defined in the replay: a call of it fails there, with NameError
            steps = [("value", n, encoder.encode(v)) for n, v in decoded] + steps
        header = {"op": "define", "steps": steps, "futures": sorted(self._futures())}
        header.update(encoder.finish())
        reply, _ = self.request(header, encoder.buffers)
        if "error" in reply:
            raise _student_error(reply["error"], f"definição de {name}")
        have |= seen


class _StudentNames(Mapping):
    """The student's names as the notebook's text binds them before the running test (StandIn.__globals__):
    a plain def is a stand-in (its source is that def), other bindings say what they are; never asks S."""

    def __init__(self, runtime: Runtime):
        self._runtime, self._bindings = runtime, runtime.student_bindings()

    def __getitem__(self, name):
        binding = self._bindings[name]
        if binding.kind == "def":
            return self._runtime.standins.get(name) or StandIn(self._runtime, name)
        if binding.kind in ("import", "alias"):  # (`somar = np.sum`: numpy's)
            # named as in its module (`from numpy import vectorize as _v`: numpy.vectorize, as in one kernel)
            return (_CallableImported if binding.callable else _Imported)(
                binding.attribute or name, binding.module
            )
        return (_CallableNotADef if binding.callable else _NotADef)(name, binding.why)

    def __iter__(self):
        return iter(self._bindings)

    def __len__(self):
        return len(self._bindings)


class _GlobalsView(MutableMapping):
    """T's namespace as a test's globals() sees it: a name T lacks is asked of S first. Binding a student
    function's name through it (`_referencias`) is the explicit override that goes with calls into S."""

    def __init__(self, runtime: Runtime):
        self._runtime, self._ns = runtime, runtime.ns

    def __getitem__(self, key):
        if key not in self._ns and isinstance(key, str) and key.isidentifier():
            self._runtime.sync((key,))
        return self._ns[key]

    def __contains__(self, key):
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __setitem__(self, key, value):
        self._ns[key] = value
        standin = self._runtime.standins.get(key)
        if standin is not None:
            if value is standin:
                self._runtime.explicit.pop(key, None)
            else:
                self._runtime.explicit[key] = value

    def __delitem__(self, key):
        del self._ns[key]
        if key in self._runtime.standins:
            self._runtime.explicit[key] = _DELETED

    def __iter__(self):
        return iter(self._ns)

    def __len__(self):
        return len(self._ns)


class _Meter:
    """A test's `@_medida_externa` memory measure, called with `chamada` (a call of a student function).

    A memory test runs in text mode: the call measured is the replay's, which runs the notebook's def as
    written and nothing else of the student's. On the CPU: the grader, outside the sandboxes, resets the
    replay's peak resident memory (Linux's clear_refs) once the replay holds the call's arguments (the call
    is sent, decoded there, then run on a second request: receiving them is not the call's memory; what the
    replay touched while receiving, beyond their size, still counts), T runs the call, and the grader reads
    the peak (VmHWM) and the memory the replay touched for the first time meanwhile (its page faults); the
    result is the larger of the peak's growth and the memory touched. The process cannot change what is read
    (it may not write /proc nor use huge pages: confine.py), only what it allocates; freeing memory it held
    before the call lowers the peak but not the memory touched. On a GPU the memory is the
    device's, readable only inside the process: the function runs in the replay (as code)."""

    def __init__(self, runtime: Runtime, function):
        self.runtime, self.function = runtime, function

    def __call__(self, chamada, *args, **kwargs):
        torch = sys.modules.get("torch")
        label = self.function.__name__
        if torch is not None and torch.cuda.is_available():
            return self.runtime.call(
                {"op": "run", "function": self.function}, (chamada, *args), kwargs, label
            )
        which = " replay" if self.runtime.text_mode else ""  # (a memory test is one: always the replay)
        start, receiving = self.runtime.meter_request("reset" + which), 0

        def window(arguments: int) -> None:
            """The first call's arguments are in the replay: from here, the memory is the call's own."""
            nonlocal start, receiving
            # what the replay touched while it received them, beyond their bytes (code left there by an
            # earlier call could run the call right then, before this window)
            receiving = self.runtime.meter_request("read" + which)[1] - start[1] - arguments
            start = self.runtime.meter_request("reset" + which)

        self.runtime.staging = window
        try:
            chamada()
        finally:
            self.runtime.staging = None
        (base, faults), (peak, faults_after) = start, self.runtime.meter_request("read" + which)
        # the peak over what the replay held, and what it touched for the first time (which freeing memory
        # it held before cannot hide)
        return max(0, peak - base, faults_after - faults, receiving)


@functools.lru_cache(maxsize=1)
def _gradient_function():
    """The autograd.Function of a result computed in S (built on first use: torch may be absent)."""
    import torch
    from torch.autograd.function import once_differentiable

    class RemoteGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, source, handle, outputs, *inputs):
            (ctx.runtime, ctx.peer), ctx.handle, ctx.inputs = source, handle, len(inputs)
            return tuple(t.detach().clone() for t in outputs)

        @staticmethod
        @once_differentiable
        def backward(ctx, *grads):
            found = ctx.runtime.backward(ctx.peer, ctx.handle, grads)
            if len(found) != ctx.inputs:
                raise AssertionError("o kernel do aluno devolveu gradientes de menos ou de mais")
            return (None, None, None, *found)

    return RemoteGradient


# -- helpers ---------------------------------------------------------------------------------------------------

_NOTHING = object()
_DELETED = object()


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell (a name not yet bound in the enclosing function)
        return None


def _global_names(code) -> set[str]:
    """The globals `code` (and the functions, lambdas and comprehensions it defines) reads or writes."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in _GLOBAL_OPS}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


_GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL", "STORE_NAME", "DELETE_NAME"}


def _importable(obj) -> dict | None:
    """A class or builtin function T has under another name (`from math import sqrt`): S imports the same."""
    if not isinstance(obj, (type, types.BuiltinFunctionType)):
        return None
    module = getattr(obj, "__module__", None)
    # torch's functions say they are `_VariableFunctionsClass.exp` of module torch: torch.exp, by their name
    for name in (getattr(obj, "__qualname__", ""), getattr(obj, "__name__", "")):
        if not module or not name or "<" in name:
            continue
        found = sys.modules.get(module)
        for part in name.split("."):
            found = getattr(found, part, None)
        if found is obj:
            return {"t": "global", "module": module, "name": name}
    return None


def _replace(value, swapped: dict, depth: int = 0):
    if id(value) in swapped:
        return swapped[id(value)]
    if depth > 32:
        return value
    if type(value) is list:
        value[:] = [_replace(v, swapped, depth + 1) for v in value]
        return value
    if type(value) is tuple:
        return tuple(_replace(v, swapped, depth + 1) for v in value)
    if type(value) is dict:
        for key in value:
            value[key] = _replace(value[key], swapped, depth + 1)
    return value


def _context() -> dict:
    """T's settings that change what a student function computes or prints: they travel with each call."""
    ctx = {
        "warnings": [
            [
                action,
                getattr(message, "pattern", message) or "",
                category.__name__,
                getattr(module, "pattern", module) or "",
                lineno,
            ]
            for action, message, category, module, lineno in warnings.filters
        ]
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        ctx["grad"] = torch.is_grad_enabled()
        ctx["dtype"] = str(torch.get_default_dtype()).removeprefix("torch.")
    np = sys.modules.get("numpy")
    if np is not None:
        ctx["np_err"] = np.geterr()
    return ctx


def _student_error(error, label: str) -> BaseException:
    """The student's exception, in T: a builtin class by name from a fixed table, else one that carries
    the name; the message says where it came from."""
    if not isinstance(error, dict):
        return ErroNoKernelDoAluno("o kernel do aluno respondeu fora do protocolo")
    name = str(error.get("type", "Exception"))[:200]
    message = str(error.get("message", ""))[:2000] or "sem mensagem"
    cls = _BUILTIN_ERRORS.get(name) if error.get("module") == "builtins" else None
    if cls in (SystemExit, KeyboardInterrupt):
        cls = None  # never stop T itself
    if cls is None:
        cls = type(name if name.isidentifier() else "ErroDoAluno", (ErroDoAluno,), {})
    return cls(f"{message} (em {label})")


def _ident(function):
    return function


def _compile_shell(index: int, text: str, first: int, count: int, futures: frozenset[str] = frozenset()):
    """Compile the definition at lines first.. of cell `index` with nothing that runs at definition time
    (decorators, defaults, annotations), registering the cell's text for inspect/linecache."""
    lines = notebook_source.python_lines(text)
    block = textwrap.dedent("".join(lines[first : first + count]))
    try:
        tree = ast.parse(block)
    except (SyntaxError, ValueError, RecursionError):
        raise AttributeError("definição ilegível") from None
    statement = tree.body[0] if tree.body else None
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        _strip(statement)
        module = ast.Module(body=[statement], type_ignores=[])
        result = statement.name
    else:
        lam = (
            next((node for node in ast.walk(statement) if isinstance(node, ast.Lambda)), None)
            if statement is not None
            else None
        )
        if lam is None:
            raise AttributeError("definição ilegível")
        _strip(lam)
        result = "__shell__"
        module = ast.Module(
            body=[
                ast.copy_location(ast.Assign(targets=[ast.Name(result, ast.Store())], value=lam), statement)
            ],
            type_ignores=[],
        )
    ast.increment_lineno(module, first)
    ast.fix_missing_locations(module)
    filename = f"<célula do aluno {index}>"
    linecache.cache[filename] = (
        len(text),
        None,
        [line if line.endswith("\n") else line + "\n" for line in lines],
        filename,
    )
    namespace = {"__ident__": _ident}
    flags = 0
    for feature in futures:  # as IPython compiled the cell: with the __future__ imports of the cells before
        flags |= getattr(getattr(__future__, feature, None), "compiler_flag", 0)
    exec(compile(module, filename, "exec", flags, dont_inherit=True), namespace)  # runs nothing of its body
    return namespace[result]


def _strip(function) -> None:
    args = function.args
    args.defaults = [
        d if isinstance(d, ast.Constant) else ast.copy_location(ast.Constant(None), d) for d in args.defaults
    ]
    args.kw_defaults = [
        d if d is None or isinstance(d, ast.Constant) else ast.copy_location(ast.Constant(None), d)
        for d in args.kw_defaults
    ]
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            arg.annotation = None
    if not isinstance(function, ast.Lambda):
        function.returns = None
        function.decorator_list = [
            ast.copy_location(ast.Name("__ident__", ast.Load()), d) for d in function.decorator_list
        ]


def free_names(tree: ast.Module) -> list[str]:
    """Names a cell reads from its globals before (or without) binding them itself."""
    try:
        table = symtable.symtable(ast.unparse(tree), "<célula>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return []
    referenced = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        referenced |= {
            s.get_name()
            for s in child.get_symbols()
            if s.is_referenced() and s.is_global() and not s.is_declared_global()
        }
        referenced |= {
            s.get_name() for s in child.get_symbols() if s.is_declared_global() and s.is_referenced()
        }
        stack.extend(child.get_children())
    first_load, first_store = {}, {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in referenced:
            where = (node.lineno, node.col_offset)
            book = first_load if isinstance(node.ctx, ast.Load) else first_store
            book[node.id] = min(book.get(node.id, where), where)
    for statement in tree.body:
        for node in ast.walk(statement):
            bound = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound = [node.name]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound = [(alias.asname or alias.name).split(".")[0] for alias in node.names]
            for name in bound:
                if name in referenced:
                    where = (node.lineno, node.col_offset)
                    first_store[name] = min(first_store.get(name, where), where)
    return sorted(
        name
        for name in referenced
        if name not in first_store or first_load.get(name, (1 << 30, 0)) < first_store[name]
    )
