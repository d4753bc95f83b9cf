"""What crosses between the student's kernel (S) and the trusted test kernel (T): framed messages of plain data.

A frame is `!IQ` (payload length, request id) and the payload; the payload is a JSON header (`!I` length,
then JSON) followed by raw buffers whose lengths the header lists. Every receiver caps the frame's size
before reading it, and every reply carries the id of the request it answers, so a late or unsolicited frame
is recognised and dropped, never taken for the next answer.

Values are JSON nodes. From S to T only data: None, bool, int, float, complex, str, bytes; lists, tuples,
dicts, sets of these; numpy arrays and scalars and torch tensors of a dtype from a fixed list (their memory
as raw bytes, decoded with numpy.ndarray/torch.frombuffer); torch.Size, torch.dtype, torch.device. Nothing
S sends is unpickled, evaluated, imported or looked up by name on T's side; anything else arrives as a
`refused` node naming its type. From T to S (trusted data to an untrusted receiver) also: references to
S's own names, modules by name, and T's functions as marshalled code with their globals and closures.

Arrays and tensors travel with their memory: every buffer (a numpy array's base, a tensor's storage) that
values share is sent once as a region, and each value is a view into it (offset, shape, strides), so views,
`torch.from_numpy` and aliasing survive the crossing. A reply may point into the request's regions: that is
how a result that shares memory with an argument is recognised, and how in-place changes come back.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import marshal
import socket
import struct
import time
import types
from dataclasses import dataclass

FRAME = struct.Struct("!IQ")  # payload length, request id
HEADER_LEN = struct.Struct("!I")

TORCH_DTYPES = (
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
)
NUMPY_DTYPES = (
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
)


class WireError(Exception):
    """A frame or a value that breaks the protocol or its caps."""


class Refused(WireError):
    """A value of a type that may not cross."""

    def __init__(self, type_name: str):
        super().__init__(type_name)
        self.type_name = type_name


class Closed(WireError):
    """The other side closed the connection."""


@dataclass(frozen=True)
class Caps:
    frame_bytes: int = 64 * 1024 * 1024
    header_bytes: int = 8 * 1024 * 1024
    depth: int = 32
    items: int = 200_000
    text: int = 1_000_000  # characters of one str, bytes of one bytes
    ndim: int = 32


# -- frames ----------------------------------------------------------------------------------------------------
#
# Frames are sent from the memory they describe and received into one buffer, with no copy on either side: a
# tensor argument of 36 MiB costs the receiving process 36 MiB, and the memory measured from outside it knows how
# much that is (runtime.py's `_Meter`). Each buffer of a payload starts at a multiple of ALIGN bytes, so the
# values decoded in place are aligned for their dtype.

ALIGN = 64


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def _nbytes(part) -> int:
    return part.nbytes if isinstance(part, memoryview) else len(part)


def send_frame(sock: socket.socket, request_id: int, payload) -> None:
    """Send `payload` (bytes, or the parts `pack` returns) as one frame, without joining the parts."""
    parts = [payload] if isinstance(payload, (bytes, bytearray, memoryview)) else list(payload)
    parts = [memoryview(p).cast("B") for p in parts if _nbytes(p)]
    parts.insert(0, memoryview(FRAME.pack(sum(p.nbytes for p in parts), request_id)))
    while parts:
        sent = sock.sendmsg(parts[:512])
        while parts and sent >= parts[0].nbytes:
            sent -= parts.pop(0).nbytes
        if sent:
            parts[0] = parts[0][sent:]


def _read_into(sock: socket.socket, view: memoryview, deadline: float | None) -> None:
    got, n = 0, view.nbytes
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
        count = sock.recv_into(view[got:], min(n - got, 1 << 22))
        if not count:
            raise Closed("conexão encerrada")
        got += count


def recv_frame(sock: socket.socket, max_bytes: int, deadline: float | None = None) -> tuple[int, bytearray]:
    """The next frame: (request id, payload). TimeoutError past `deadline`; WireError over `max_bytes`."""
    head = bytearray(FRAME.size)
    _read_into(sock, memoryview(head), deadline)
    length, request_id = FRAME.unpack(head)
    if length > max_bytes:
        raise WireError(f"mensagem de {length} bytes, acima do limite de {max_bytes}")
    payload = bytearray(length)
    _read_into(sock, memoryview(payload), deadline)
    return request_id, payload


def pack(header: dict, buffers: list) -> list:
    """The payload's parts: the header's length, the JSON header, then each buffer at an aligned offset."""
    lengths = [_nbytes(b) for b in buffers]
    head = json.dumps({**header, "buffers": lengths}, separators=(",", ":")).encode()
    parts, position = [HEADER_LEN.pack(len(head)), head], HEADER_LEN.size + len(head)
    for buffer, n in zip(buffers, lengths, strict=True):
        pad = _aligned(position) - position if n else 0
        if pad:
            parts.append(bytes(pad))
        parts.append(buffer)
        position += pad + n
    return parts


def unpack(payload, caps: Caps) -> tuple[dict, list[memoryview]]:
    view = memoryview(b"".join(payload) if isinstance(payload, list) else payload).cast("B")
    if view.readonly:  # values are decoded in place, and tensors over read-only memory warn
        view = memoryview(bytearray(view))
    if len(view) < HEADER_LEN.size:
        raise WireError("mensagem curta demais")
    (head_len,) = HEADER_LEN.unpack(view[: HEADER_LEN.size])
    if head_len > caps.header_bytes or HEADER_LEN.size + head_len > len(view):
        raise WireError("cabeçalho inválido")
    try:
        header = json.loads(bytes(view[HEADER_LEN.size : HEADER_LEN.size + head_len]))
    except (ValueError, RecursionError) as exc:
        raise WireError(f"cabeçalho não é JSON válido ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise WireError("cabeçalho não é um objeto")
    lengths = header.get("buffers")
    if not isinstance(lengths, list) or not all(type(n) is int and n >= 0 for n in lengths):
        raise WireError("lista de buffers inválida")
    position, buffers = HEADER_LEN.size + head_len, []
    for n in lengths:
        position = _aligned(position) if n else position
        if position + n > len(view):
            raise WireError("os buffers não batem com o tamanho da mensagem")
        buffers.append(view[position : position + n])
        position += n
    if position != len(view):
        raise WireError("os buffers não batem com o tamanho da mensagem")
    return header, buffers


# -- libraries, imported once and only if installed -------------------------------------------------------------

_libs: dict[str, types.ModuleType | None] = {}


def _lib(name: str):
    if name not in _libs:
        try:
            _libs[name] = __import__(name)
        except ImportError:
            _libs[name] = None
    return _libs[name]


def _torch_dtype(name):
    torch = _lib("torch")
    if torch is None or name not in TORCH_DTYPES:
        raise WireError(f"dtype de tensor não aceito: {str(name)[:40]}")
    return getattr(torch, name)  # a name from the fixed list above, never one chosen by the sender


def _numpy_dtype(name):
    np = _lib("numpy")
    if np is None or name not in NUMPY_DTYPES:
        raise WireError(f"dtype de array não aceito: {str(name)[:40]}")
    return np.dtype(name)


def _torch_dtype_name(dtype) -> str:
    name = str(dtype).removeprefix("torch.")
    if name not in TORCH_DTYPES:
        raise Refused(f"tensor {name}")
    return name


# -- encoding ---------------------------------------------------------------------------------------------------


@dataclass
class Region:
    """Memory that values share, on the sender: where it is and how to read it."""

    id: int
    device: str
    start: int  # address (a storage's data pointer on a GPU)
    nbytes: int
    storage: object = None  # GPU regions: the torch storage
    owners: list = None  # the sender's objects whose memory this is (kept alive by views into it)


class Encoder:
    """Turns values into JSON nodes and buffers. `known`: regions the receiver already holds (a reply's view of
    the request's regions); `first_region`: the id of the first new region; `trusted_sender`: T's encoder,
    which may also send references to S's names, modules and functions (`ship`)."""

    def __init__(
        self, caps: Caps, *, known: list[Region] = (), first_region: int = 0, first_memo: int = 0, ship=None
    ):
        self.caps = caps
        self.buffers: list[bytes] = []
        self.objects: dict[int, object] = {}  # memo index -> object, kept alive so that ids stay unique
        self._memo: dict[int, int] = {}
        self._next_memo = first_memo
        self._arrays: list[tuple[dict, object, str]] = []
        self._known = list(known)
        self._next_region = first_region
        self.regions: list[Region] = []
        self._ship = ship  # T only: object -> node or None (references, modules, functions)
        self._items = 0

    def buffer(self, data: bytes) -> int:
        self.buffers.append(data)
        return len(self.buffers) - 1

    def encode(self, obj, depth: int = 0):
        self._items += 1
        if self._items > self.caps.items:
            raise WireError(f"mais de {self.caps.items} itens")
        if depth > self.caps.depth:
            raise WireError(f"aninhamento acima de {self.caps.depth} níveis")
        kind = type(obj)
        if obj is None or kind is bool or kind is str or kind is int:
            if kind is str and len(obj) > self.caps.text:
                raise WireError(f"texto de {len(obj)} caracteres, acima do limite")
            return obj
        if kind is float:
            return (
                obj
                if obj == obj and obj not in (float("inf"), float("-inf"))
                else {"t": "float", "v": repr(obj)}
            )
        if kind is complex:
            return {"t": "complex", "v": [repr(obj.real), repr(obj.imag)]}
        if kind is bytes:
            if len(obj) > self.caps.text:
                raise WireError(f"bytes de tamanho {len(obj)}, acima do limite")
            return {"t": "bytes", "b": self.buffer(obj)}
        index = self._memo.get(id(obj))
        if index is not None:
            return {"t": "memo", "i": index}
        if self._ship is not None:
            node = self._ship(obj, self, depth)
            if node is not None:
                return node
        return self._encode_other(obj, kind, depth)

    def remember(self, obj) -> int:
        index = self._next_memo
        self._next_memo += 1
        self._memo[id(obj)] = index
        self.objects[index] = obj
        return index

    def alias(self, obj, index: int) -> None:
        """`obj` is the receiver's object `index` (a reply's reference to the request's own arguments)."""
        self._memo[id(obj)] = index
        self.objects[index] = obj

    def encode_or_refuse(self, obj) -> dict:
        """{"kind": "value", "value": node}, or {"kind": "refused", "type": ...} when something in `obj` may
        not cross or the message would outgrow its cap (then nothing of it is kept)."""
        saved = (
            len(self.buffers),
            len(self._arrays),
            dict(self._memo),
            dict(self.objects),
            self._next_memo,
            self._items,
        )
        try:
            node = self.encode(obj)
            if self.pending_bytes() > self.caps.frame_bytes:
                raise WireError(f"acima do limite de {self.caps.frame_bytes >> 20} MB da correção")
            return {"kind": "value", "value": node}
        except (Refused, WireError) as exc:
            del self.buffers[saved[0] :], self._arrays[saved[1] :]
            self._memo, self.objects, self._next_memo, self._items = saved[2], saved[3], saved[4], saved[5]
            if isinstance(exc, Refused):
                return {"kind": "refused", "type": exc.type_name[:200]}
            return {"kind": "refused", "type": "?", "why": str(exc)[:200]}  # too big, too deep

    def pending_bytes(self) -> int:
        """An upper bound of the bytes the arrays encoded so far will take."""
        total = sum(len(b) for b in self.buffers)
        for _, value, kind in self._arrays:
            total += value.untyped_storage().nbytes() if kind == "tensor" else value.nbytes
        return total

    def view(self, t) -> dict:
        """A tensor's current view of memory, as a fresh node (an argument whose storage was swapped)."""
        return self._tensor(t, 0, remember=False)

    def _encode_other(self, obj, kind, depth):
        np, torch = _libs.get("numpy") or _lib("numpy"), _libs.get("torch") or _lib("torch")
        if kind in (list, tuple, set, frozenset):
            node = {"t": kind.__name__, "m": self.remember(obj), "v": []}
            node["v"] = [self.encode(item, depth + 1) for item in obj]
            return node
        if kind is dict:
            node = {"t": "dict", "m": self.remember(obj)}
            node["k"] = [self.encode(key, depth + 1) for key in obj]
            node["v"] = [self.encode(value, depth + 1) for value in obj.values()]
            return node
        if torch is not None:
            if kind is torch.Tensor or kind is torch.nn.Parameter:
                return self._tensor(obj, depth)
            if kind is torch.Size:
                return {"t": "size", "v": [int(n) for n in obj]}
            if kind is torch.dtype:
                return {"t": "torch_dtype", "v": _torch_dtype_name(obj)}
            if kind is torch.device:
                return {"t": "device", "v": str(obj)}
        if np is not None:
            if kind is np.ndarray:
                return self._ndarray(obj)
            if isinstance(obj, np.generic) and type(obj).__module__ == "numpy":
                name = obj.dtype.name
                if name not in NUMPY_DTYPES:
                    raise Refused(f"numpy.{name}")
                return {"t": "np_scalar", "dtype": name, "b": self.buffer(obj.tobytes())}
            if isinstance(obj, np.dtype):
                if obj.name not in NUMPY_DTYPES:
                    raise Refused(f"numpy.dtype {obj.name}")
                return {"t": "np_dtype", "v": obj.name}
        raise Refused(
            f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__
        )

    def _tensor(self, t, depth, remember: bool = True):
        torch = _libs["torch"]
        if t.layout != torch.strided or t.is_quantized or t.is_nested:
            raise Refused("tensor esparso ou quantizado")
        node = {
            "t": "tensor",
            "dtype": _torch_dtype_name(t.dtype),
            "shape": list(t.shape),
            "strides": list(t.stride()),
            "device": str(t.device),
            "requires_grad": bool(t.requires_grad),
        }
        if remember:
            node["m"] = self.remember(t)
        if type(t) is torch.nn.Parameter:
            node["param"] = True
        if remember and t.is_leaf and t.grad is not None:  # (.grad of a non-leaf warns on stderr)
            node["grad"] = self.encode(t.grad, depth + 1)
        if t.device.type != "meta" and t.numel() > 0:
            self._arrays.append((node, t, "tensor"))
        return node

    def _ndarray(self, a):
        if not a.dtype.isnative or a.dtype.name not in NUMPY_DTYPES:
            raise Refused(f"numpy.ndarray de dtype {a.dtype}")
        node = {
            "t": "ndarray",
            "m": self.remember(a),
            "dtype": a.dtype.name,
            "shape": list(a.shape),
            "strides": list(a.strides),
        }
        if a.size > 0:
            self._arrays.append((node, a, "ndarray"))
        return node

    def finish(self) -> dict:
        """Lay the arrays' memory out in regions (each value a view into one); the header's "regions"."""
        spans = []  # (device, start, end, storage or None, node, address of the value's first element, value)
        for node, value, kind in self._arrays:
            if kind == "tensor":
                storage = value.untyped_storage()
                on_cpu = value.device.type == "cpu"
                spans.append(
                    (
                        str(value.device),
                        storage.data_ptr(),
                        storage.data_ptr() + storage.nbytes(),
                        None if on_cpu else storage,
                        node,
                        value.data_ptr(),
                        value,
                    )
                )
            else:
                root = value
                while isinstance(root.base, type(value)):
                    root = root.base
                start, end = _byte_bounds(root)
                spans.append(("cpu", start, end, None, node, value.__array_interface__["data"][0], value))
        pending = []
        for span in spans:
            device, start, end, _, node, address, _ = span
            known = next(
                (
                    r
                    for r in self._known
                    if r.device == device and r.start <= start and end <= r.start + r.nbytes
                ),
                None,
            )
            if known is not None:  # memory the receiver already holds (the request's)
                node["r"], node["o"] = known.id, address - known.start
            else:
                pending.append(span)
        pending.sort(key=lambda span: (span[0], span[1]))
        for device, start, end, storage, node, address, value in pending:
            last = self.regions[-1] if self.regions else None
            if last is not None and last.device == device and start < last.start + last.nbytes:
                last.nbytes = max(last.nbytes, end - last.start)  # overlapping memory: one region
                last.owners.append(value)
            else:
                self.regions.append(Region(self._next_region, device, start, end - start, storage, [value]))
                self._next_region += 1
            node["r"], node["o"] = self.regions[-1].id, address - self.regions[-1].start
        total, described = 0, []
        for region in self.regions:
            total += region.nbytes
            if total > self.caps.frame_bytes:
                raise WireError(f"dados de {total} bytes, acima do limite de {self.caps.frame_bytes}")
            described.append(
                {"id": region.id, "device": region.device, "b": self.buffer(read_region(region))}
            )
        return {"regions": described}


def _byte_bounds(array) -> tuple[int, int]:
    try:
        from numpy.lib.array_utils import byte_bounds
    except ImportError:  # numpy 1
        from numpy import byte_bounds
    return byte_bounds(array)


def read_region(region: Region):
    """The region's bytes to send: on the CPU a view of its memory (no copy), which keeps its owners alive."""
    if region.storage is None:
        if region.nbytes == 0:
            return b""
        raw = (ctypes.c_char * region.nbytes).from_address(region.start)
        raw._owners = region.owners
        return memoryview(raw).cast("B")
    torch = _libs["torch"]
    return (
        torch.empty(0, dtype=torch.uint8, device=region.device).set_(region.storage).cpu().numpy().tobytes()
    )


# -- decoding ---------------------------------------------------------------------------------------------------


class Placeholder:
    """A value that could not cross (S's object of a type T refuses): using it fails the test, saying why."""

    type_name = "?"

    def _refuse(self, *args, **kwargs):
        raise AssertionError(f"o valor é um objeto do tipo {self.type_name}, que a correção não aceita")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)  # hasattr(), inspect and friends: an ordinary missing attribute
        self._refuse()

    __call__ = __getitem__ = __iter__ = __len__ = __bool__ = __float__ = __int__ = _refuse
    __add__ = __sub__ = __mul__ = __truediv__ = __matmul__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse

    def __repr__(self):
        return f"<{self.type_name} (recusado pela correção)>"


def placeholder(type_name: str):
    # the class carries S's type name as its name (a string shown in messages, never looked up)
    return type(
        type_name.rsplit(".", 1)[-1][:80] or "Objeto", (Placeholder,), {"type_name": type_name[:200]}
    )()


class DecodedRegion:
    """A region on the receiving side: `memory` is a writable memoryview into the received payload (values are
    decoded in place), a numpy uint8 array over memory the receiver already owns (T's view of its own
    arguments) or a torch uint8 tensor on a GPU."""

    def __init__(self, region_id: int, device: str, memory):
        self.id, self.device, self.memory = region_id, device, memory
        self._u8 = None

    def u8(self):
        """A torch uint8 tensor over the whole region (on its device)."""
        if self._u8 is None:
            torch = _libs["torch"]
            memory = self.memory
            if isinstance(memory, torch.Tensor):
                self._u8 = memory
            elif len(memory) == 0:
                self._u8 = torch.empty(0, dtype=torch.uint8)
            elif isinstance(memory, (bytearray, memoryview)):
                self._u8 = torch.frombuffer(memory, dtype=torch.uint8)
            else:
                self._u8 = torch.from_numpy(memory)
            if self.device != "cpu" and self._u8.device.type == "cpu":
                self._u8 = self._u8.to(self.device)
        return self._u8

    def described(self) -> Region:
        """This region as the receiver's encoder sees it (where a reply's values may point into it)."""
        if self.device != "cpu":
            u8 = self.u8()
            return Region(
                self.id,
                self.device,
                u8.untyped_storage().data_ptr(),
                u8.untyped_storage().nbytes(),
                u8.untyped_storage(),
            )
        if len(self.memory) == 0:
            return Region(self.id, "cpu", 0, 0)
        if isinstance(self.memory, (bytearray, memoryview)):
            start = ctypes.addressof((ctypes.c_char * len(self.memory)).from_buffer(self.memory))
        else:
            start = self.memory.ctypes.data
        return Region(self.id, "cpu", start, len(self.memory))

    def current(self):
        """The region's bytes now, to send back: on the CPU a view of them (no copy)."""
        if self.device == "cpu":
            return memoryview(self.memory).cast("B")
        return self.u8().cpu().numpy().tobytes()

    def digest(self) -> bytes:
        """A digest of the region's bytes (to tell whether the receiver changed them, without a copy). SHA-1: what
        is asked of it is to tell an honest change (nothing here is a secret, and S may lie anyway), and where
        the CPU computes it in hardware it is twice as fast as BLAKE2 (35 against 74 ms for 64 MiB here)."""
        return hashlib.sha1(self.current(), usedforsecurity=False).digest()

    def overwrite(self, data) -> None:
        """Write `data` (same length) over the region, in place: every view of it sees the change."""
        if self.device == "cpu":
            memoryview(self.memory).cast("B")[:] = data
        else:
            torch = _libs["torch"]
            self.u8().copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8).to(self.device))


def own_region(region: Region) -> DecodedRegion:
    """The sender's own view of a region it sent (T, decoding a reply that points into its arguments)."""
    if region.storage is not None:
        torch = _libs["torch"]
        memory = torch.empty(0, dtype=torch.uint8, device=region.device).set_(region.storage)
        return DecodedRegion(region.id, region.device, memory)
    raw = (ctypes.c_uint8 * region.nbytes).from_address(region.start)
    raw._owners = region.owners  # the arrays and storages whose memory this is stay alive with every view
    return DecodedRegion(region.id, region.device, _lib("numpy").frombuffer(raw, dtype="uint8"))


class Decoder:
    """Turns nodes back into values. `regions`: regions by id (the header's new ones are added);
    `trusted`: the sender is T (S's decoder), which may send references, modules and functions;
    `resolve(name)`: S's lookup of its own names; `refused`: "raise" or "placeholder"."""

    def __init__(
        self,
        header: dict,
        buffers: list[memoryview],
        caps: Caps,
        *,
        regions=None,
        trusted: bool = False,
        resolve=None,
        refused: str = "raise",
        leaves: bool = False,
    ):
        self.header, self.buffers, self.caps = header, buffers, caps
        self.leaves = leaves  # tensors sent with requires_grad become leaves that require grad
        self.trusted, self.resolve, self.refused = trusted, resolve, refused
        self.objects: dict[int, object] = {}
        self.grad_tensors: list[tuple[int, object]] = []  # (memo, tensor) of tensors sent with requires_grad
        self.regions: dict[int, DecodedRegion] = dict(regions or {})
        self._items = 0
        for entry in header.get("regions", []):
            if not (
                isinstance(entry, dict)
                and type(entry.get("id")) is int
                and isinstance(entry.get("device"), str)
            ):
                raise WireError("região inválida")
            data = self._buffer(entry.get("b"))
            if not (entry["device"] == "cpu" or entry["device"].startswith("cuda")):
                raise WireError("dispositivo inválido")
            if entry["id"] in self.regions:
                raise WireError("região repetida")
            if data.readonly:  # values are decoded in place (a received payload is writable already)
                data = memoryview(bytearray(data))
            self.regions[entry["id"]] = DecodedRegion(entry["id"], entry["device"], data)

    def _buffer(self, index) -> memoryview:
        if type(index) is not int or not 0 <= index < len(self.buffers):
            raise WireError("buffer inválido")
        return self.buffers[index]

    def decode(self, node, depth: int = 0):
        self._items += 1
        if self._items > self.caps.items or depth > self.caps.depth:
            raise WireError("estrutura grande ou profunda demais")
        if node is None or type(node) in (bool, int, float):
            return node
        if type(node) is str:
            if len(node) > self.caps.text:
                raise WireError("texto longo demais")
            return node
        if type(node) is not dict or not isinstance(node.get("t"), str):
            raise WireError("nó inválido")
        kind = node["t"]
        decoder = _DECODERS.get(kind)
        if decoder is None or (kind in _TRUSTED_ONLY and not self.trusted):
            raise WireError(f"tipo de nó inválido: {kind[:40]}")
        return decoder(self, node, depth)

    def _register(self, node, obj):
        index = node.get("m")
        if index is not None:
            if type(index) is not int or index in self.objects:
                raise WireError("memo inválido")
            self.objects[index] = obj
        return obj

    def _seq(self, node, depth):
        items = node.get("v")
        if not isinstance(items, list):
            raise WireError("sequência inválida")
        if node["t"] == "list":
            out = self._register(node, [])
            out.extend(self.decode(item, depth + 1) for item in items)
            return out
        values = [self.decode(item, depth + 1) for item in items]
        try:
            return self._register(
                node, {"tuple": tuple, "set": set, "frozenset": frozenset}[node["t"]](values)
            )
        except TypeError:
            raise WireError("elemento não hashable num conjunto") from None

    def _dict(self, node, depth):
        keys, values = node.get("k"), node.get("v")
        if not isinstance(keys, list) or not isinstance(values, list) or len(keys) != len(values):
            raise WireError("dicionário inválido")
        out = self._register(node, {})
        for key, value in zip(keys, values, strict=True):
            key = self.decode(key, depth + 1)
            try:
                out[key] = self.decode(value, depth + 1)
            except TypeError:
                raise WireError("chave não hashable") from None
        return out

    def _memo(self, node, depth):
        index = node.get("i")
        if type(index) is not int or index not in self.objects:
            raise WireError("referência a objeto desconhecido")
        return self.objects[index]

    def _shape(self, node):
        shape, strides = node.get("shape"), node.get("strides")
        if not (
            isinstance(shape, list)
            and isinstance(strides, list)
            and len(shape) == len(strides)
            and len(shape) <= self.caps.ndim
            and all(type(n) is int and n >= 0 for n in shape)
            and all(type(s) is int for s in strides)
        ):
            raise WireError("formato inválido")
        return shape, strides

    def _region(self, node):
        region = self.regions.get(node.get("r"))
        offset = node.get("o")
        if region is None or type(offset) is not int or offset < 0:
            raise WireError("região desconhecida")
        return region, offset

    def _tensor(self, node, depth):
        torch = _lib("torch")
        if torch is None:
            raise WireError("torch não está instalado")
        dtype = _torch_dtype(node.get("dtype"))
        shape, strides = self._shape(node)
        device = node.get("device")
        if not isinstance(device, str) or not (device in ("cpu", "meta") or device.startswith("cuda")):
            raise WireError("dispositivo inválido")
        numel = 1
        for n in shape:
            numel *= n
        if device == "meta" or numel == 0:
            t = torch.empty_strided(shape, [max(s, 0) for s in strides], dtype=dtype, device=device)
        else:
            region, offset = self._region(node)
            if region.device != device:
                raise WireError("tensor fora do dispositivo da sua região")
            itemsize = dtype.itemsize
            u8 = region.u8()
            last = (
                offset
                + itemsize
                + sum((n - 1) * s * itemsize for n, s in zip(shape, strides, strict=True) if n > 0)
            )
            if any(s < 0 for s in strides) or offset % itemsize or last > u8.numel():
                raise WireError("tensor fora da sua região")
            whole = u8[: u8.numel() // itemsize * itemsize].view(dtype)
            t = whole.as_strided(shape, strides, whole.storage_offset() + offset // itemsize)
            if dtype == torch.bool and not self.trusted:
                t = t.view(torch.uint8).ne(0)  # only 0 and 1 are booleans: a copy, never a crafted byte
        if node.get("requires_grad") is True:
            if self.leaves:
                t = t.detach().requires_grad_(True)
            self.grad_tensors.append((node.get("m"), t))
        if node.get("param") is True:
            t = torch.nn.Parameter(t, requires_grad=node.get("requires_grad") is True)
        self._register(node, t)
        if "grad" in node:
            grad = self.decode(node["grad"], depth + 1)
            try:
                t.grad = grad
            except (RuntimeError, TypeError):
                raise WireError("gradiente incompatível com o tensor") from None
        return t

    def _ndarray(self, node, depth):
        np = _lib("numpy")
        if np is None:
            raise WireError("numpy não está instalado")
        dtype = _numpy_dtype(node.get("dtype"))
        shape, strides = self._shape(node)
        if 0 in shape:
            return self._register(node, np.empty(shape, dtype=dtype))
        region, offset = self._region(node)
        if region.device != "cpu":
            raise WireError("array fora da CPU")
        try:
            a = np.ndarray(shape, dtype=dtype, buffer=region.memory, offset=offset, strides=strides)
        except (ValueError, TypeError) as exc:
            raise WireError(f"array fora da sua região ({exc})") from None
        if dtype == np.bool_ and not self.trusted:
            a = a.view(np.uint8) != 0  # only 0 and 1 are booleans: a copy, never a crafted byte
        return self._register(node, a)

    def _np_scalar(self, node, depth):
        np = _lib("numpy")
        dtype = _numpy_dtype(node.get("dtype"))
        data = self._buffer(node.get("b"))
        if len(data) != dtype.itemsize:
            raise WireError("escalar numpy inválido")
        return np.frombuffer(bytes(data), dtype=dtype)[0]

    def _float(self, node, depth):
        text = node.get("v")
        if text not in ("nan", "inf", "-inf"):
            raise WireError("float inválido")
        return float(text)

    def _complex(self, node, depth):
        parts = node.get("v")
        try:
            return complex(float(parts[0]), float(parts[1]))
        except (TypeError, ValueError, IndexError):
            raise WireError("complexo inválido") from None

    def _bytes(self, node, depth):
        data = self._buffer(node.get("b"))
        if len(data) > self.caps.text:
            raise WireError("bytes longos demais")
        return bytes(data)

    def _size(self, node, depth):
        torch = _lib("torch")
        values = node.get("v")
        if (
            torch is None
            or not isinstance(values, list)
            or not all(type(n) is int and n >= 0 for n in values)
        ):
            raise WireError("torch.Size inválido")
        return torch.Size(values)

    def _dtype(self, node, depth):
        return _torch_dtype(node.get("v"))

    def _np_dtype(self, node, depth):
        return _numpy_dtype(node.get("v"))

    def _device(self, node, depth):
        torch = _lib("torch")
        text = node.get("v")
        if torch is None or not isinstance(text, str) or len(text) > 20:
            raise WireError("dispositivo inválido")
        kind, _, index = text.partition(":")
        if kind not in ("cpu", "cuda", "meta", "mps") or (index and not index.isdigit()):
            raise WireError("dispositivo inválido")
        return torch.device(text)

    def _refused(self, node, depth):
        name = node.get("type")
        name = name[:200] if isinstance(name, str) else "?"
        if self.refused == "raise":
            raise Refused(name)
        return placeholder(name)

    # T -> S only ---------------------------------------------------------------------------------------------

    def _ref(self, node, depth):
        return self.resolve(node.get("name"))

    def _module(self, node, depth):
        import importlib

        return importlib.import_module(node["name"])

    def _global(self, node, depth):
        import importlib

        found = importlib.import_module(node["module"])
        for part in node["name"].split("."):
            found = getattr(found, part)
        return found

    def _function(self, node, depth):
        code = marshal.loads(bytes(self._buffer(node["code"])))
        import builtins

        namespace = {"__builtins__": builtins, "__name__": "__corretor__"}
        cells = node.get("closure")
        closure = None
        if cells is not None:
            closure = tuple(types.CellType() for _ in cells)
        function = types.FunctionType(code, namespace, node.get("name"), None, closure)
        self._register(node, function)
        keys, values = node["globals"]
        for key, value in zip(keys, values, strict=True):
            namespace[key] = self.decode(value, depth + 1)
        if cells is not None:
            for cell, value in zip(closure, cells, strict=True):
                cell.cell_contents = self.decode(value, depth + 1)
        if node.get("defaults") is not None:
            function.__defaults__ = tuple(self.decode(v, depth + 1) for v in node["defaults"])
        if node.get("kwdefaults") is not None:
            function.__kwdefaults__ = self.decode(node["kwdefaults"], depth + 1)
        return function


_DECODERS = {
    "list": Decoder._seq,
    "tuple": Decoder._seq,
    "set": Decoder._seq,
    "frozenset": Decoder._seq,
    "dict": Decoder._dict,
    "memo": Decoder._memo,
    "tensor": Decoder._tensor,
    "ndarray": Decoder._ndarray,
    "np_scalar": Decoder._np_scalar,
    "float": Decoder._float,
    "complex": Decoder._complex,
    "bytes": Decoder._bytes,
    "size": Decoder._size,
    "torch_dtype": Decoder._dtype,
    "np_dtype": Decoder._np_dtype,
    "device": Decoder._device,
    "refused": Decoder._refused,
    "ref": Decoder._ref,
    "module": Decoder._module,
    "function": Decoder._function,
    "global": Decoder._global,
}
_TRUSTED_ONLY = {"ref", "module", "function", "global"}
