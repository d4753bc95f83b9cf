"""Run untrusted student kernels under bubblewrap, with resource limits.

What the sandbox gives a kernel (see DESIGN.md, "Security model"):
- a read-only view of the system (/usr, a short list of /etc files, parts of /sys) and of the Python
  environment the grader runs in (sys.prefix, sys.base_prefix and the real paths behind them);
- its working directory, read-write, as its cwd and HOME (for grading, a private size-capped tmpfs: see
  `private_workdir`); a private, size-capped /tmp and /dev/shm;
- nothing else: no course `source/`, gradebook, other submissions, /root, /home, repository;
- no network (own network namespace), no view of other processes (own pid namespace, killed with
  its parent), limits on CPU time, memory, processes/threads and file size (grader/kernels/standalone/kernel_limits.py).

The kernel talks to the grader over unix sockets (jupyter transport "ipc"), since TCP loopback of the
host is unreachable from a private network namespace; the sockets and the connection file live in a
short private directory bound into the sandbox at the same path.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from grader.config import default

# Unprivileged identity of the kernel when the grader runs as root ("nobody" on Debian).
SANDBOX_UID = 65534
SANDBOX_GID = 65534

# Where the limits launcher appears inside the sandbox (one file bound read-only; the rest of the
# `grader` package, which lives next to source/, stays invisible).
STANDALONE = Path(__file__).with_name("standalone")  # stdlib-only programs (grader/kernels/standalone)
_LAUNCHER_HOST = STANDALONE / "kernel_limits.py"
_LAUNCHER_INSIDE = "/run/grader-sandbox/kernel_limits.py"
_PIDNS_HOST = STANDALONE / "pidns.py"  # outside the sandbox: bwrap's launcher (see its top)
ZYGOTE_HOST = STANDALONE / "zygote.py"  # warm kernels (grader/kernels/warm.py), stdlib-only too
ZYGOTE_INSIDE = "/run/grader-sandbox/zygote.py"
# The code both kernels of a submission run besides the notebook (grader/inkernel): importable as `inkernel`
# from this folder, inside the sandbox and out.
INKERNEL_HOST = STANDALONE / "inkernel"
INKERNEL_PARENT_INSIDE = "/run/grader-sandbox"
_MPLCONFIGDIR = "/tmp/matplotlib"  # inside the private /tmp

# /etc entries programs need (dynamic linker, users, time zone, fonts, alternatives symlinks); the rest
# of /etc (shadow, ssh keys, credentials of the host) stays out.
_ETC_ENTRIES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "nsswitch.conf",
    "passwd",
    "group",
    "hosts",
    "mime.types",
    "fonts",
    "alternatives",
    "os-release",
)
# Same subset of /sys that Flatpak exposes: CPU topology for torch/OpenMP, PCI info for CUDA.
_SYS_ENTRIES = ("devices", "bus", "class", "dev")
# Top-level system directories that are often symlinks into /usr (merged /usr).
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass(frozen=True)
class Limits:
    # the course's limits (grader_config.py) default to grader/config.py's SETTINGS; tmp_mb is the sandbox's own
    cpu_time_s: int = default("CPU_TIME_S")  # CPU seconds, all threads of a process together
    memory_mb: int = default("MEMORY_MB")  # address space (data segment with a GPU: CUDA maps huge ranges)
    # all of one submission's processes together, read from outside (grader/kernels/guard.py)
    submission_memory_mb: int = default("SUBMISSION_MEMORY_MB")
    # processes + threads (torch and ipykernel need a few dozen)
    max_processes: int = default("MAX_PROCESSES")
    max_file_mb: int = default("MAX_FILE_MB")  # largest file the kernel may write
    tmp_mb: int = 1024  # size cap of the private /tmp and /dev/shm (tmpfs: host RAM, not counted above)


# --------------------------------------------------------------------------------------------------
# Availability


def _probe() -> str | None:
    """Start a real sandbox running `python -c pass`; None when it works, else its stderr."""
    with tempfile.TemporaryDirectory(prefix="gk-probe-") as tmp:
        workdir = Path(tmp)
        with workdir_access(workdir):
            argv = wrap_command([sys.executable, "-c", "pass"], workdir, Limits(cpu_time_s=30))
            try:
                result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired) as e:
                return str(e)
    if result.returncode == 0:
        return None
    return (result.stderr.strip().splitlines() or [f"código de saída {result.returncode}"])[-1]


@functools.lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None when bubblewrap can start a sandbox here; otherwise one line (for the instructor, in
    Portuguese) saying what is wrong and what to do."""
    if not sys.platform.startswith("linux"):
        return "o sandbox (bubblewrap) só existe no Linux; use --no-sandbox para corrigir sem isolamento"
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) não está instalado: apt-get install bubblewrap, ou use --no-sandbox"
    problem = _probe()
    if problem:
        return (
            f"bubblewrap não conseguiu criar o sandbox ({problem}); verifique se namespaces de usuário "
            "estão habilitados (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone) "
            "ou use --no-sandbox"
        )
    return None


# --------------------------------------------------------------------------------------------------
# Commands


def limits_command(
    argv: Sequence[str], limits: Limits, *, gpu: bool = False, launcher: str | None = None
) -> list[str]:
    """The rlimit launcher alone, in front of `argv`: for --no-sandbox runs (limits still apply, except
    RLIMIT_NPROC when the grader is root, which the kernel never enforces for root). On the host (no
    `launcher` inside a sandbox), `argv` dies with this process, as a sandbox does."""
    parent = [] if launcher else ["--parent", str(os.getpid())]
    return [
        sys.executable,
        "-I",  # the launcher needs only the stdlib: ignore PYTHON* variables and the cwd
        "-S",  # skip site-packages: faster start
        launcher or str(_LAUNCHER_HOST),
        "--cpu",
        str(limits.cpu_time_s),
        "--mem",
        str(limits.memory_mb),
        "--mem-kind",
        "data" if gpu else "as",
        "--nproc",
        str(limits.max_processes),
        "--fsize",
        str(limits.max_file_mb),
        *parent,
        "--",
        *argv,
    ]


def _python_paths() -> list[Path]:
    """Directories the interpreter needs: prefixes (a venv's, its base), their real paths, and every
    hop of the sys.executable symlink chain (a venv's bin/python points into the base install)."""
    paths: set[Path] = set()
    for prefix in {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}:
        paths.add(Path(prefix))
        paths.add(Path(os.path.realpath(prefix)))
    hop = Path(sys.executable)
    for _ in range(40):  # symlink chain, bounded against loops
        paths.add(hop.parent)
        paths.add(Path(os.path.realpath(hop.parent)))
        if not hop.is_symlink():
            break
        target = Path(os.readlink(hop))
        hop = target if target.is_absolute() else hop.parent / target
    # keep only directories not already covered by /usr or by another entry
    kept: list[Path] = []
    for path in sorted(paths, key=lambda p: len(p.parts)):
        if path.is_relative_to("/usr") or any(path.is_relative_to(k) for k in kept):
            continue
        if path.is_dir():
            kept.append(path)
    return kept


class _Mounts:
    """Builds bwrap mount arguments; creates missing parent directories with mode 0755 first, because
    bwrap would make them 0700 (root-owned), which the unprivileged kernel could not traverse."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self._host_views: list[Path] = []  # destinations that show host content (parents exist)
        self._created: set[Path] = {Path("/")}

    def _parents(self, dest: Path) -> None:
        for parent in reversed(dest.parents):
            if parent in self._created or any(parent.is_relative_to(v) for v in self._host_views):
                continue
            self.args += ["--perms", "0755", "--dir", str(parent)]
            self._created.add(parent)

    def bind(self, option: str, src: Path | str, dest: Path | str | None = None) -> None:
        dest = Path(dest if dest is not None else src)
        self._parents(dest)
        self.args += [option, str(src), str(dest)]
        self._host_views.append(dest)
        self._created.add(dest)

    def tmpfs(self, dest: str, size_mb: int) -> None:
        self._parents(Path(dest))
        self.args += ["--perms", "1777", "--size", str(size_mb * 1024 * 1024), "--tmpfs", dest]
        self._created.add(Path(dest))

    def dir(self, dest: str, mode: str) -> None:
        self._parents(Path(dest))
        self.args += ["--perms", mode, "--dir", dest]
        self._created.add(Path(dest))

    def special(self, option: str, dest: str) -> None:
        """--proc, --dev: a fresh filesystem at `dest`."""
        self._parents(Path(dest))
        self.args += [option, dest]
        self._created.add(Path(dest))

    def raw(self, *args: str) -> None:
        self.args += args


@functools.lru_cache(maxsize=1)
def matplotlib_cache_dir() -> Path | None:
    """A matplotlib cache (font list) built once per machine, outside any sandbox. A fresh sandbox has
    an empty MPLCONFIGDIR and would rescan every font on `import matplotlib.pyplot` (about a second);
    its font list is bound read-only into the sandbox instead (the font paths are the same inside)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "grader-sandbox" / "matplotlib"
    if not list(cache.glob("fontlist-v*.json")):
        try:
            cache.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "MPLCONFIGDIR": str(cache)}
            subprocess.run(
                [sys.executable, "-c", "import matplotlib.font_manager"],
                env=env,
                capture_output=True,
                timeout=300,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    return cache if list(cache.glob("fontlist-v*.json")) else None


def _gpu_devices() -> list[Path]:
    """/dev/nvidia0.., nvidiactl, nvidia-uvm, nvidia-caps/...: what CUDA opens."""
    return sorted(Path("/dev").glob("nvidia*"))


def kernel_env(workdir: Path, threads: int, gpu: str | None) -> dict[str, str]:
    """A kernel's environment: this one's locale and PATH, its working directory as HOME, `threads` for
    torch/OpenMP, and `gpu` (None: no GPU) as the only visible one."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT") or key.startswith("LC_")
    }
    env.update(
        HOME=str(workdir),
        MPLCONFIGDIR=str(workdir / ".matplotlib"),
        PYTHONDONTWRITEBYTECODE="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        OMP_NUM_THREADS=str(max(1, threads)),
        MKL_NUM_THREADS=str(max(1, threads)),
        CUDA_VISIBLE_DEVICES=gpu if gpu is not None else "",
    )
    return env


def wrap_command(
    argv: Sequence[str],
    workdir: Path,
    limits: Limits,
    *,
    gpu: bool = False,
    readonly_paths: Sequence[Path] = (),
    writable_paths: Sequence[Path] = (),
    extra_env: Mapping[str, str] | None = None,
    private_workdir: bool = False,
) -> list[str]:
    """The argv that runs `argv` inside the sandbox, with `workdir` as its only writable directory
    (cwd and HOME). `readonly_paths` are shown read-only at the same path (e.g. a data set; inside
    `workdir` too), `writable_paths` read-write (the kernel's socket directory); neither may contain
    `workdir`. When the grader is root, `workdir` must be writable by SANDBOX_UID: see
    `workdir_access`. `private_workdir`: `workdir` is a fresh tmpfs capped at `limits.tmp_mb` instead of
    the host directory (nothing written there reaches the host's disk, so nothing can fill it)."""
    workdir = Path(os.path.realpath(workdir))
    for path in [*readonly_paths, *writable_paths]:
        if workdir.is_relative_to(os.path.realpath(path)):
            # it would show everything next to the working copy (e.g. the whole course directory)
            raise ValueError(f"{path} contains the working directory {workdir}")
    as_root = os.geteuid() == 0
    mounts = _Mounts()

    # System, read-only.
    mounts.bind("--ro-bind", "/usr")
    for name in _ROOT_LINKS:
        path = Path("/", name)
        if path.is_symlink():
            mounts.raw("--symlink", os.readlink(path), str(path))
        elif path.is_dir():
            mounts.bind("--ro-bind", path)
    for name in _ETC_ENTRIES:
        if os.path.exists(f"/etc/{name}"):
            mounts.bind("--ro-bind", f"/etc/{name}")
    for name in _SYS_ENTRIES:
        if os.path.isdir(f"/sys/{name}"):
            mounts.bind("--ro-bind", f"/sys/{name}")
    mounts.special("--proc", "/proc")
    mounts.special("--dev", "/dev")
    mounts.tmpfs("/tmp", limits.tmp_mb)
    mounts.tmpfs("/dev/shm", limits.tmp_mb)  # torch DataLoader workers share tensors there
    if gpu:
        for device in _gpu_devices():
            mounts.bind("--dev-bind", device)

    # The Python environment and the limits launcher, read-only.
    for path in _python_paths():
        mounts.bind("--ro-bind", path)
    mounts.bind("--ro-bind", _LAUNCHER_HOST, _LAUNCHER_INSIDE)
    mounts.bind("--ro-bind", ZYGOTE_HOST, ZYGOTE_INSIDE)
    mounts.bind("--ro-bind", INKERNEL_HOST, f"{INKERNEL_PARENT_INSIDE}/inkernel")
    mounts.dir(_MPLCONFIGDIR, "1777")  # writable by the kernel (uid may differ from bwrap's)
    mpl_cache = matplotlib_cache_dir()
    if mpl_cache is not None:
        for fontlist in mpl_cache.glob("fontlist-v*.json"):
            mounts.bind("--ro-bind", fontlist, f"{_MPLCONFIGDIR}/{fontlist.name}")

    # Writable: the working copy, and the socket directory.
    for path in writable_paths:
        mounts.bind("--bind", os.path.realpath(path))
    if private_workdir:
        mounts.tmpfs(str(workdir), limits.tmp_mb)
    else:
        mounts.bind("--bind", workdir)
    for path in readonly_paths:  # after workdir: a data set inside it stays read-only
        mounts.bind("--ro-bind", os.path.realpath(path))
    # the sandbox's own root (a tmpfs holding the mount points) read-only too: only the mounts above
    # that say so are writable (not recursive, so workdir, /tmp, /dev/shm stay writable)
    mounts.raw("--remount-ro", "/")

    if as_root:
        # RLIMIT_NPROC is never enforced for host root, even behind a user namespace mapped to it:
        # no user namespace here; the launcher drops to SANDBOX_UID, so it keeps just these two caps.
        namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
        namespaces += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
        namespaces += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        # unprivileged bwrap: a user namespace (mapped to the grader's uid) is how it gets to mount,
        # and each sandbox then counts its own processes; forbid nested ones
        namespaces = ["--unshare-all", "--unshare-user", "--disable-userns"]

    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "USER": "student",  # getpass.getuser() (torch caches) reads it before the passwd database
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "TMPDIR": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",  # keep __pycache__ out of the working copy
        "PYTHONNOUSERSITE": "1",
        "MPLCONFIGDIR": _MPLCONFIGDIR,  # must be writable; keeps caches out of the working copy
        "IPYTHONDIR": "/tmp/ipython",
        "XDG_CACHE_HOME": "/tmp/cache",
        "JUPYTER_PLATFORM_DIRS": "1",
        # the kernel's parent inside is bwrap's init (pid 1): tells ipykernel not to poll for the death
        # of its parent (bwrap kills it) and not to print its "Ctrl-C will not work" banner
        "JPY_PARENT_PID": "1",
    }
    env.update(extra_env or {})
    env_args: list[str] = ["--clearenv"]  # nothing of the grader's environment (tokens, paths) leaks in
    for key, value in env.items():
        env_args += ["--setenv", key, value]

    identity = ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)] if as_root else []
    identity += ["--chdir", str(workdir)]
    inner = limits_command(argv, limits, gpu=gpu, launcher=_LAUNCHER_INSIDE)
    inner[inner.index("--") : inner.index("--")] = identity
    return [
        # bwrap as the init of a PID namespace of its own: killed at any moment, even before its sandbox is
        # set up, it takes every process of the sandbox along (grader/kernels/standalone/pidns.py says why --die-with-parent
        # alone does not); and it dies with this process
        sys.executable,
        "-I",
        "-S",
        str(_PIDNS_HOST),
        "--parent",
        str(os.getpid()),
        "--",
        shutil.which("bwrap") or "bwrap",
        *namespaces,
        "--die-with-parent",  # grader (or bwrap) killed: everything inside is SIGKILLed
        "--new-session",  # no access to the grader's terminal (TIOCSTI)
        "--hostname",
        "sandbox",
        *mounts.args,
        "--chdir",
        "/",  # the launcher enters workdir itself, once it runs as the sandbox uid
        *env_args,
        "--",
        *inner,
    ]


# --------------------------------------------------------------------------------------------------
# Ownership of the working copy (grader running as root)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    # lchown and no symlink following: student code may have left links to host files
    os.lchown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


@contextmanager
def workdir_access(*dirs: Path) -> Iterator[None]:
    """When the grader is root, hand `dirs` to SANDBOX_UID for the duration (the kernel runs as that
    uid and must write there), then give every file back to each directory's previous owner. Does
    nothing for a non-root grader (the kernel then runs as the grader's own uid). Call the exit only
    once nothing in the sandbox runs any more."""
    if os.geteuid() != 0:
        yield
        return
    owners = [(Path(d), os.lstat(d)) for d in dirs]
    for path, _ in owners:
        _chown_tree(path, SANDBOX_UID, SANDBOX_GID)
    try:
        yield
    finally:
        for path, st in owners:
            if path.exists():
                _chown_tree(path, st.st_uid, st.st_gid)


# --------------------------------------------------------------------------------------------------
# Jupyter


def inkernel_parent(sandboxed: bool) -> str:
    """The folder to put on a kernel's sys.path to `import inkernel`."""
    return INKERNEL_PARENT_INSIDE if sandboxed else str(INKERNEL_HOST.parent)


def connection_file_for_kernel(path: str) -> None:
    """A connection file is written 0600 by the grader; a sandboxed kernel of a root grader runs as
    SANDBOX_UID and must read it."""
    if os.geteuid() == 0:
        os.chown(path, SANDBOX_UID, SANDBOX_GID)


def ipykernel_spec() -> KernelSpec:
    """Always this interpreter's ipykernel, whatever kernelspecs are installed. Interrupts go as messages:
    a SIGINT to the process group would reach bwrap, not the kernel (new session)."""
    return KernelSpec(
        argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="Python 3 (sandbox)",
        language="python",
        interrupt_mode="message",
    )


def short_temp_dir(prefix: str) -> Path:
    """A fresh private directory with a short path: unix socket paths are limited to 107 bytes and
    working directories (autograded/<student>/<assignment>/) easily exceed that."""
    base = tempfile.gettempdir()
    if len(base) > 40:
        base = "/tmp"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


class _SandboxedMixin:
    """Makes a jupyter_client kernel manager start this interpreter's ipykernel through
    `wrap_command` (or `limits_command` without sandbox), talking over unix sockets ("ipc")."""

    def __init__(
        self,
        workdir: Path,
        limits: Limits,
        *,
        sandbox: bool = True,
        gpu: bool = False,
        env: Mapping[str, str] | None = None,
        readonly_paths: Sequence[Path] = (),
        writable_paths: Sequence[Path] = (),
        private_workdir: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(transport="ipc", kernel_name="python3", **kwargs)  # type: ignore[call-arg]
        self.workdir = Path(os.path.realpath(workdir))
        self.limits = limits
        self.sandbox = sandbox
        self.gpu = gpu
        self.extra_env = dict(env or {})
        self.readonly_paths = tuple(readonly_paths)
        self.writable_paths = tuple(writable_paths)
        self.private_workdir = private_workdir
        self.socket_dir = short_temp_dir("gk-")
        self.connection_file = str(self.socket_dir / "k.json")  # sockets: <dir>/k-ipc-<n>
        # a manager dropped without shutdown_kernel() still removes its sockets (at GC or exit)
        weakref.finalize(self, shutil.rmtree, str(self.socket_dir), True)
        self._access: Any = None  # workdir_access() context while the kernel may run

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:  # type: ignore[has-type]
            self._kernel_spec = ipykernel_spec()
        return self._kernel_spec

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)  # type: ignore[misc]
        if self.sandbox:
            connection_file_for_kernel(self.connection_file)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = super().format_kernel_cmd(extra_arguments)  # type: ignore[misc]
        if not self.sandbox:
            return limits_command(argv, self.limits, gpu=self.gpu)
        return wrap_command(
            argv,
            self.workdir,
            self.limits,
            gpu=self.gpu,
            readonly_paths=self.readonly_paths,
            writable_paths=[self.socket_dir, *self.writable_paths],
            extra_env=self.extra_env,
            private_workdir=self.private_workdir,
        )

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.sandbox and self._access is None:
            # the kernel creates its sockets in socket_dir and writes in workdir as SANDBOX_UID
            self._access = workdir_access(self.workdir, self.socket_dir)
            self._access.__enter__()
        kw.setdefault("cwd", str(self.workdir))
        # not the grader's stderr (a log file, maybe): the kernel could open it again through /proc and read it
        kw.setdefault("stderr", subprocess.DEVNULL)
        if not self.sandbox:
            env = dict(os.environ if kw.get("env") is None else kw["env"])
            env["HOME"] = str(self.workdir)
            env["IPYTHONDIR"] = str(self.socket_dir / "ipython")  # keep the working copy clean
            mpl_cache = matplotlib_cache_dir()
            if mpl_cache is not None:
                env["MPLCONFIGDIR"] = str(mpl_cache)
            env.update(self.extra_env)
            kw["env"] = env
        return await super()._async_pre_start_kernel(**kw)  # type: ignore[misc]

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)  # type: ignore[misc]
        if restart:
            return
        if self._access is not None:
            access, self._access = self._access, None
            access.__exit__(None, None, None)  # files written by the kernel go back to the owner
        shutil.rmtree(self.socket_dir, ignore_errors=True)


class SandboxedKernelManager(_SandboxedMixin, AsyncKernelManager):
    """Async (what nbclient uses by default)."""

    # jupyter_client binds these public names to its own _async_* functions: point them at ours
    pre_start_kernel = _SandboxedMixin._async_pre_start_kernel
    cleanup_resources = _SandboxedMixin._async_cleanup_resources


def make_kernel_manager(
    workdir: Path,
    limits: Limits = Limits(),
    *,
    sandbox: bool = True,
    gpu: bool = False,
    env: Mapping[str, str] | None = None,
    readonly_paths: Sequence[Path] = (),
    writable_paths: Sequence[Path] = (),
    private_workdir: bool = False,
    manager: type[SandboxedKernelManager] = SandboxedKernelManager,
) -> SandboxedKernelManager:
    """A kernel manager for nbclient: `NotebookClient(nb, km=make_kernel_manager(workdir))`.

    `env` is added to the kernel's environment (e.g. CUDA_VISIBLE_DEVICES, OMP_NUM_THREADS).
    nbclient does not shut down a kernel whose manager it was given: call `km.shutdown_kernel(now=True)`
    (in a `finally`) when the notebook is done; that also removes the sockets and, for a root grader,
    gives the files of `workdir` back to their owner. The sandbox dies with the thread that started
    it (bubblewrap --die-with-parent uses PR_SET_PDEATHSIG): start kernels from a long-lived thread.
    """
    if sandbox:
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
    return manager(
        workdir,
        limits,
        sandbox=sandbox,
        gpu=gpu,
        env=env,
        readonly_paths=readonly_paths,
        writable_paths=writable_paths,
        private_workdir=private_workdir,
    )
