"""What a Moodle zip or a folder of submissions holds, as the grader agrees to read it: each file with its size as
declared (the zip's header, the folder's file size), opened only when it is read and never read past a limit; and
the entries it refuses to read at all, with the reason.

Refused (never opened): a path that climbs out of the zip (`..`) or is absolute, a link or any file that is not a
plain file, an encrypted entry, an archive inside the submission (a zip is not opened inside another), a name that
is not UTF-8, and a path the zip holds twice. A zip's header can lie about a file's size: reading stops at the limit
whatever the header says (and Python's zipfile never inflates past the declared size, whose CRC then fails).
Nothing here is ever extracted or written.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from grader.timestamps import zip_entry_time

CHUNK = 1 << 20  # read and inflate a MiB at a time, counting
ARCHIVES = re.compile(r"\.(zip|rar|7z|tar|tgz|gz|bz2|xz|zst)$", re.IGNORECASE)
WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
ZIP_UTF8_NAME = 0x800  # general purpose flag bit 11: the name is UTF-8
ZIP_ENCRYPTED = 0x1
ZIP_UNIX = 3  # ZipInfo.create_system of a zip made on Unix: external_attr's high half is st_mode


class Unreadable(Exception):
    """A submitted file the grader will not read (over a limit, or damaged); the message says why, in Portuguese,
    in one line the student may read too."""


@dataclass(frozen=True)
class Entry:
    """One file of the submissions: `rel` its path inside the zip or folder, `size` as declared (the zip's
    header, the file's size on disk), `refusal` why it is not read at all ("": it may be)."""

    rel: PurePosixPath
    size: int
    mtime: float
    open: Callable[[], BinaryIO]
    refusal: str = ""


@dataclass(frozen=True)
class Refusal:
    """An entry refused before its student is known (its path is not safe to read as one): shown as given."""

    path: str
    reason: str


def size_text(size: int) -> str:
    """'3 GB', '51,2 MB', '812 KB', '90 bytes' (powers of 1024, Brazilian decimal comma)."""
    for unit, power in (("GB", 3), ("MB", 2), ("KB", 1)):
        if size >= 1024**power:
            value = size / 1024**power
            text = f"{value:.1f}".removesuffix(".0") if value < 100 else f"{value:.0f}"
            return f"{text.replace('.', ',')} {unit}"
    return f"{size} bytes"


def printable(text: str) -> str:
    """A name as a terminal and a page may show it: control characters escaped (a name may carry any)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def too_big(size: int, limit: int, what: str) -> str:
    return (
        f"o arquivo tem {size_text(size)}, acima do limite de {size_text(limit)} por {what}: limpe as saídas "
        "das células (Editar → Limpar todas as saídas) e envie de novo"
    )


def read_capped(stream: BinaryIO, limit: int, declared: int) -> bytes:
    """All of `stream`, or Unreadable as soon as more than `limit` bytes came out (a header can lie)."""
    chunks, total = [], 0
    while chunk := stream.read(min(CHUNK, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise Unreadable(
                f"o arquivo passa do limite de {size_text(limit)} por notebook ao ser lido (o tamanho declarado "
                f"era {size_text(declared)}): limpe as saídas das células e envie de novo"
            )
    return b"".join(chunks)


def read_entry(entry: Entry, limit: int) -> bytes:
    """The bytes of `entry`, at most `limit` of them, or Unreadable."""
    if entry.size > limit:
        raise Unreadable(too_big(entry.size, limit, "notebook"))
    try:
        with entry.open() as stream:
            return read_capped(stream, limit, entry.size)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise Unreadable(
            f"o arquivo não pôde ser lido, está danificado ({type(exc).__name__}: {str(exc)[:80]}): "
            "envie de novo"
        ) from None


# -- a zip ------------------------------------------------------------------------------------------------------


def is_absolute(name: str) -> bool:
    return name.startswith(("/", "\\")) or bool(WINDOWS_DRIVE.match(name))


def unsafe_path(name: str) -> str:
    """Why a path must not be read as one inside the submissions ("": it may)."""
    name = name.replace("\\", "/")
    if is_absolute(name):
        return "caminho absoluto: aponta para fora da pasta das submissões"
    if ".." in name.split("/"):
        return "o caminho sobe para fora da pasta das submissões (..)"
    return ""


def _zip_name(info: zipfile.ZipInfo) -> tuple[str, bool]:
    """The entry's name and whether it is UTF-8. Zips made without the UTF-8 flag hold the bytes the tool had:
    UTF-8 (read as such) or a legacy code page (cp437, cp850...: not guessed, shown with its bytes escaped)."""
    if info.flag_bits & ZIP_UTF8_NAME:
        return info.filename, True
    raw = info.filename.encode("cp437")  # zipfile decoded the bytes as cp437, one character per byte
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), False


def _zip_refusal(info: zipfile.ZipInfo, name: str) -> str:
    # the file type in st_mode's bits, where a Unix zip tool wrote one (zipfile writes permissions only)
    kind = stat.S_IFMT(info.external_attr >> 16) if info.create_system == ZIP_UNIX else 0
    if kind == stat.S_IFLNK:
        return "é um link simbólico: links não são seguidos"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "não é um arquivo comum (dispositivo, fifo ou socket)"
    if info.flag_bits & ZIP_ENCRYPTED:
        return "está protegido por senha: peça ao aluno o arquivo sem senha"
    if ARCHIVES.search(name):
        return archive_refusal(name)
    return ""


def archive_refusal(name: str) -> str:
    return (
        f"é um arquivo compactado ({ARCHIVES.search(name).group(0).lower()}): o corretor não abre arquivos "
        "compactados dentro da submissão; peça ao aluno o .ipynb"
    )


def zip_entries(archive: zipfile.ZipFile, ignored: re.Pattern) -> tuple[list[Entry], list[Refusal]]:
    """The zip's files (not its folders, nor what `ignored` matches), each refused or readable; the entries
    refused before any student can be told (unsafe paths, names not in UTF-8)."""
    named = []
    refused: list[Refusal] = []
    for info in archive.infolist():
        name, utf8 = _zip_name(info)
        shown = printable(name)
        reason = unsafe_path(name)
        if reason:
            refused.append(Refusal(shown, reason))
        elif not info.is_dir() and not ignored.search(name):
            if not utf8:
                refused.append(
                    Refusal(
                        shown,
                        "o nome não está em UTF-8 (zip recompactado num sistema antigo?): use o zip como o "
                        "Moodle o gera, sem recompactar",
                    )
                )
            else:
                named.append((str(PurePosixPath(name.replace("\\", "/"))), info))
    counts = Counter(name for name, _ in named)
    entries = []
    for name, info in named:
        reason = _zip_refusal(info, name)
        if counts[name] > 1:
            reason = (
                f"o zip tem {counts[name]} entradas com este caminho: nenhuma foi lida (não dá para saber "
                "qual vale); baixe o zip de novo do Moodle"
            )
        entries.append(
            Entry(
                PurePosixPath(name),
                info.file_size,
                zip_entry_time(info).timestamp(),
                lambda info=info: archive.open(info),
                reason,
            )
        )
    return entries, refused


# -- a folder ---------------------------------------------------------------------------------------------------


def is_utf8(name: str) -> bool:
    """Whether a name from the file system was UTF-8 (Python keeps the bytes it cannot decode as surrogates)."""
    return name == os.fsencode(name).decode("utf-8", "backslashreplace")


def _open_plain(path: Path) -> BinaryIO:
    """A plain file, never through a link (one swapped in after the listing) nor blocking on a fifo."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path.name} não é um arquivo comum")
    return os.fdopen(fd, "rb")


def _link_refusal(path: Path, root: Path) -> str:
    try:
        target = Path(os.path.normpath(path.parent / os.readlink(path)))
    except OSError:
        target = None
    if target is not None and not target.is_relative_to(root):
        return (
            f"é um link simbólico para fora da pasta das submissões ({printable(str(target))}): não é seguido"
        )
    return "é um link simbólico: links não são seguidos"


def folder_entries(root: Path, ignored: re.Pattern) -> tuple[list[Entry], list[Refusal]]:
    """The folder's plain files (not what `ignored` matches), without following any link; the entries refused
    before any student can be told (names not in UTF-8)."""
    root = root.resolve()
    entries: list[Entry] = []
    refused: list[Refusal] = []
    for folder, dirs, files in os.walk(root):  # os.walk never descends into a linked folder
        here = Path(folder)
        dirs.sort()
        for name in sorted(dirs + files):
            path = here / name
            rel = path.relative_to(root).as_posix()
            if ignored.search(rel):
                if name in dirs:
                    dirs.remove(name)
                continue
            try:
                info = path.lstat()
            except OSError:  # gone meanwhile
                continue
            if not is_utf8(rel):
                shown = os.fsencode(rel).decode("utf-8", "backslashreplace")
                refused.append(
                    Refusal(printable(shown), "o nome não está em UTF-8: renomeie o arquivo ou a pasta")
                )
                if name in dirs:
                    dirs.remove(name)
                continue
            if stat.S_ISDIR(info.st_mode):
                continue
            reason = ""
            if stat.S_ISLNK(info.st_mode):
                reason = _link_refusal(path, root)
            elif not stat.S_ISREG(info.st_mode):
                reason = "não é um arquivo comum (dispositivo, fifo ou socket)"
            elif ARCHIVES.search(name):
                reason = archive_refusal(name)
            entries.append(
                Entry(
                    PurePosixPath(rel),
                    info.st_size,
                    info.st_mtime,
                    lambda path=path: _open_plain(path),
                    reason,
                )
            )
    return entries, refused
