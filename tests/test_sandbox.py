"""The sandbox, tested with real code: a sandboxed ipykernel (and sandboxed `python -c` for the pure
limit tests) tries what student code must not do, and what it must still be able to do.

Skipped as a whole where bubblewrap cannot start (not Linux, not installed, no user namespaces).
Small limits keep it fast; the slowest part is importing torch in the end-to-end notebook.
"""

from __future__ import annotations

import ast
import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager
from jupyter_core.utils import run_sync

from grader.kernels import sandbox
from grader.kernels.sandbox import (
    Limits,
    limits_command,
    make_kernel_manager,
    unavailable_reason,
    workdir_access,
    wrap_command,
)

pytestmark = pytest.mark.sandbox
_REASON = unavailable_reason()
if _REASON is not None:
    pytest.skip(f"sandbox indisponível: {_REASON}", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]


class BlockingSandboxedKernelManager(sandbox._SandboxedMixin, KernelManager):
    """The grader's sandboxed manager, blocking: `km.start_kernel()`, `km.client()` is a BlockingKernelClient."""

    pre_start_kernel = run_sync(sandbox._SandboxedMixin._async_pre_start_kernel)
    cleanup_resources = run_sync(sandbox._SandboxedMixin._async_cleanup_resources)


KERNEL_LIMITS = Limits(cpu_time_s=120, memory_mb=1024, max_processes=64, max_file_mb=16, tmp_mb=64)
SECRET = "resposta secreta do professor"


# --------------------------------------------------------------------------------------------------
# Helpers


def processes_with(marker: str, executable: str | None = None) -> list[int]:
    """Pids whose command line contains `marker` (and starts with `executable`, when given)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if executable is not None and cmdline[0].decode(errors="replace") != executable:
            continue
        if any(marker.encode() in part for part in cmdline):
            found.append(int(entry))
    return found


def wait_until_gone(marker: str, timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def sandboxed_python(
    code: str, workdir: Path, limits: Limits, timeout: float = 30, **kwargs
) -> subprocess.CompletedProcess:
    argv = wrap_command([sys.executable, "-c", code], workdir, limits, **kwargs)
    with workdir_access(workdir):
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def killed_by(returncode: int, *signals: int) -> bool:
    # bwrap reports a child killed by a signal as 128 + signal; subprocess as -signal
    return any(returncode in (128 + s, -s) for s in signals)


class Kernel:
    """A sandboxed kernel driven synchronously: run(code) -> (stdout, error name or None)."""

    def __init__(self, km: BlockingSandboxedKernelManager) -> None:
        self.km = km
        km.start_kernel()
        self.kc = km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 60) -> tuple[str, str | None]:
        out: list[str] = []
        errors: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "execute_result":
                out.append(msg["content"]["data"]["text/plain"] + "\n")
            elif msg["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

        self.kc.execute_interactive(textwrap.dedent(code), output_hook=hook, timeout=timeout)
        return "".join(out), (errors[0] if errors else None)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


# --------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course directory as the grader sees it; the student's working copy is deep inside it."""
    root = tmp_path_factory.mktemp("curso")
    (root / "source" / "ps1").mkdir(parents=True)
    (root / "source" / "ps1" / "ps1.ipynb").write_text(SECRET)
    (root / "gradebook.db").write_text(SECRET)
    (root / "autograded" / "outro_aluno" / "ps1").mkdir(parents=True)
    (root / "autograded" / "outro_aluno" / "ps1" / "ps1.ipynb").write_text(SECRET)
    (root / "dados").mkdir()
    (root / "dados" / "pontos.csv").write_text("x,y\n1,2\n")
    workdir = root / "autograded" / "aluno" / "ps1"
    workdir.mkdir(parents=True)
    (workdir / "ps1.ipynb").write_text("{}")
    return root


@pytest.fixture(scope="module")
def kernel(course: Path) -> Iterator[Kernel]:
    os.environ["GRADER_TEST_TOKEN"] = "nao-deve-vazar"  # must not reach the kernel
    km = BlockingSandboxedKernelManager(
        course / "autograded" / "aluno" / "ps1", KERNEL_LIMITS, readonly_paths=[course / "dados"]
    )
    k = Kernel(km)
    yield k
    k.close()
    del os.environ["GRADER_TEST_TOKEN"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "trabalho"
    path.mkdir()
    return path


# --------------------------------------------------------------------------------------------------
# What a kernel must not see or touch


@pytest.mark.slow
def test_cannot_read_course_or_host_files(kernel: Kernel, course: Path) -> None:
    marker = f"processo-do-host-{uuid.uuid4().hex}"
    host_process = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep(60)  # {marker}"])
    out, error = kernel.run(
        f"""
        import os
        found = []
        for path in [{str(course / "source" / "ps1" / "ps1.ipynb")!r}, {str(course / "gradebook.db")!r},
                     {str(course / "autograded" / "outro_aluno" / "ps1" / "ps1.ipynb")!r},
                     "/etc/shadow", "/root/.bashrc", {str(REPO / "grader_config.py")!r}]:
            try:
                open(path).read()
                found.append(path)
            except OSError:
                pass
        print("legiveis:", found)
        print("curso:", sorted(os.listdir({str(course)!r})))
        print("autograded:", sorted(os.listdir({str(course / "autograded")!r})))
        print("root:", sorted(os.listdir("/root")))
        print("home:", os.path.exists("/home"))
        print("repo:", sorted(os.listdir({str(REPO)!r})) if os.path.isdir({str(REPO)!r}) else [])
        print("token:", "GRADER_TEST_TOKEN" in os.environ)
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        cmdlines = [open(f"/proc/{{p}}/cmdline", "rb").read() for p in pids]
        print("host visivel:", any({marker.encode()!r} in c for c in cmdlines), "processos:", len(pids))
        """
    )
    host_process.kill()
    host_process.wait()
    assert error is None, error
    lines = dict(line.split(":", 1) for line in out.strip().splitlines())
    assert lines["legiveis"].strip() == "[]"
    # only the way down to the working copy, and the read-only data set
    assert lines["curso"].strip() == "['autograded', 'dados']"
    assert lines["autograded"].strip() == "['aluno']"
    assert set(ast.literal_eval(lines["root"].strip())) <= {".pyenv"}  # only the way to the interpreter
    assert lines["home"].strip() == "False"
    assert "source" not in lines["repo"] and "grader" not in lines["repo"]
    assert lines["token"].strip() == "False"
    assert lines["host visivel"].split()[0] == "False"
    assert int(lines["host visivel"].split()[-1]) < 10  # bwrap's init, the kernel, few others


@pytest.mark.slow
def test_cannot_write_outside_workdir(kernel: Kernel, course: Path) -> None:
    name = f"intruso-{uuid.uuid4().hex}"
    targets = [
        course / name,
        course / "source" / name,
        course / "dados" / name,
        Path(sys.prefix) / name,
        Path("/usr") / name,
        Path("/") / name,
        Path("/etc") / name,
        REPO / name,
    ]
    out, error = kernel.run(
        f"""
        written = []
        for path in {[str(t) for t in targets]!r}:
            try:
                with open(path, "w") as f:
                    f.write("x")
                written.append(path)
            except OSError:
                pass
        print(written)
        """
    )
    assert error is None, error
    assert out.strip() == "[]"
    assert not any(t.exists() for t in targets)


@pytest.mark.slow
def test_can_write_workdir_tmp_and_read_data(kernel: Kernel, course: Path) -> None:
    name = f"saida-{uuid.uuid4().hex}.txt"
    out, error = kernel.run(
        f"""
        import os
        open({name!r}, "w").write("ok")
        open("/tmp/{name}", "w").write("ok")
        open("/dev/shm/{name}", "w").write("ok")
        print(os.getcwd() == os.environ["HOME"], open({str(course / "dados" / "pontos.csv")!r}).read().split()[0])
        """
    )
    assert error is None, error
    assert out.split() == ["True", "x,y"]
    assert (course / "autograded" / "aluno" / "ps1" / name).read_text() == "ok"
    assert not Path("/tmp", name).exists()  # the kernel's /tmp is its own


@pytest.mark.slow
def test_no_network(kernel: Kernel) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    socket.create_connection(("127.0.0.1", port), timeout=2).close()  # reachable from the host
    listener.accept()[0].close()
    out, error = kernel.run(
        f"""
        import socket
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=2)
            print("conectou")
        except OSError as e:
            print("falhou", type(e).__name__)
        try:
            socket.getaddrinfo("pypi.org", 443)
            print("dns")
        except OSError:
            print("sem dns")
        """
    )
    assert error is None, error
    assert out.split()[0] == "falhou" and "sem dns" in out
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing arrived from the sandbox
    listener.close()


# --------------------------------------------------------------------------------------------------
# Limits


@pytest.mark.slow
def test_memory_bomb_in_kernel_raises_and_kernel_survives(kernel: Kernel) -> None:
    out, error = kernel.run("x = bytearray(4 * 1024**3)")
    assert error is not None and error.startswith("MemoryError")
    out, error = kernel.run(
        """
        blocos = []
        try:
            while True:
                blocos.append(bytearray(64 * 1024**2))
        finally:
            n = len(blocos)
            del blocos
        """
    )
    assert error is not None and error.startswith("MemoryError")
    out, error = kernel.run("print(n * 64, 1 + 1)")
    assert error is None
    allocated_mb, two = map(int, out.split())
    assert allocated_mb < KERNEL_LIMITS.memory_mb and two == 2


@pytest.mark.slow
def test_file_size_limit_in_kernel(kernel: Kernel, course: Path) -> None:
    out, error = kernel.run(
        """
        import errno
        try:
            with open("grande.bin", "wb") as f:
                for _ in range(1024):  # 1 GB
                    f.write(bytes(1024**2))
            print("escreveu tudo")
        except OSError as e:
            print(e.errno == errno.EFBIG)
        """
    )
    assert error is None, error
    assert out.strip() == "True"
    big = course / "autograded" / "aluno" / "ps1" / "grande.bin"
    assert big.stat().st_size == KERNEL_LIMITS.max_file_mb * 1024**2
    big.unlink()


@pytest.mark.slow
def test_interrupt_reaches_the_kernel(kernel: Kernel) -> None:
    # interrupts are messages (a SIGINT would hit bwrap, outside the kernel's session)
    started = time.monotonic()
    msg_id = kernel.kc.execute("import time; time.sleep(30)")
    time.sleep(1.0)
    kernel.km.interrupt_kernel()
    while (reply := kernel.kc.get_shell_msg(timeout=15))["parent_header"].get("msg_id") != msg_id:
        pass
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - started < 15
    # an expression's value, not print(): right after an interrupt ipykernel sometimes drops the next
    # cell's stdout (seen without the sandbox too)
    assert kernel.run("40 + 2") == ("42\n", None)


@pytest.mark.slow
def test_cpu_time_limit_kills_busy_loop(workdir: Path) -> None:
    started = time.monotonic()
    result = sandboxed_python("while True: pass", workdir, Limits(cpu_time_s=1), timeout=30)
    assert killed_by(result.returncode, signal.SIGXCPU, signal.SIGKILL), result
    assert time.monotonic() - started < 20


def test_memory_bomb_python(workdir: Path) -> None:
    code = "b = []\nwhile True: b.append(bytearray(16 * 1024**2))"
    result = sandboxed_python(code, workdir, Limits(memory_mb=256))
    assert result.returncode != 0
    assert "MemoryError" in result.stderr or killed_by(result.returncode, signal.SIGKILL), result


@pytest.mark.slow
def test_fork_bomb_is_bounded_and_leaves_nothing(workdir: Path) -> None:
    marker = f"bomba-{uuid.uuid4().hex}"
    code = f"# {marker}\nimport os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n"
    limits = Limits(cpu_time_s=10, max_processes=16)
    argv = wrap_command([sys.executable, "-c", code], workdir, limits)
    most = 0
    with workdir_access(workdir):
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                most = max(most, len(processes_with(marker, sys.executable)))
                time.sleep(0.05)
        finally:
            process.kill()  # bwrap dies: --die-with-parent and the end of the pid namespace kill the rest
            process.wait()
        left = wait_until_gone(marker)
    assert 1 < most <= limits.max_processes
    assert left == []


def test_limits_apply_without_sandbox(workdir: Path) -> None:
    import resource

    limits = Limits(cpu_time_s=7, memory_mb=700, max_processes=70, max_file_mb=17)
    code = (
        "import resource as r; print(*[r.getrlimit(k)[0] for k in "
        "(r.RLIMIT_CPU, r.RLIMIT_AS, r.RLIMIT_NPROC, r.RLIMIT_FSIZE, r.RLIMIT_CORE)])"
    )
    result = subprocess.run(
        limits_command([sys.executable, "-c", code], limits), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert list(map(int, result.stdout.split())) == [7, 700 * 1024**2, 70, 17 * 1024**2, 0]
    assert resource.getrlimit(resource.RLIMIT_CPU)[0] != 7  # the grader itself is untouched


# --------------------------------------------------------------------------------------------------
# End to end, processes, GPU flag, availability


@pytest.mark.slow
def test_notebook_with_torch_and_matplotlib_then_nothing_left(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    workdir = tmp_path / "aluno"
    workdir.mkdir()
    marker = f"dorminhoco-{uuid.uuid4().hex}"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import torch\nimport matplotlib.pyplot as plt\ntorch.set_num_threads(4)"),
        nbformat.v4.new_code_cell("x = torch.randn(256, 256)\nprint(float((x @ x.T).trace()) > 0)"),
        nbformat.v4.new_code_cell("plt.plot([1, 2, 3]); plt.savefig('grafico.png'); plt.show()"),
        # a process that tries to outlive the kernel: double fork, new session
        nbformat.v4.new_code_cell(
            "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
            f"'import os, time\\nif os.fork() == 0:\\n    os.setsid(); time.sleep(600)  # {marker}'])"
        ),
    ]
    km = make_kernel_manager(workdir, Limits(cpu_time_s=300, memory_mb=4096, max_processes=128))

    async def run() -> tuple[nbformat.NotebookNode, list[int]]:
        client = NotebookClient(nb, km=km, timeout=120, resources={"metadata": {"path": str(workdir)}})
        try:
            executed = await client.async_execute()
            await asyncio.sleep(0.5)
            return executed, processes_with(marker)
        finally:
            await km.shutdown_kernel(now=True)  # nbclient leaves a kernel it was given running

    executed, sleepers = asyncio.run(run())
    assert sleepers  # it was running before the shutdown
    assert executed.cells[1].outputs[0]["text"].strip() == "True"
    assert any("image/png" in o.get("data", {}) for o in executed.cells[2].outputs)
    assert (workdir / "grafico.png").stat().st_uid == os.getuid()  # ownership given back
    assert wait_until_gone(marker) == []
    assert not km.socket_dir.exists()


def test_gpu_flag_binds_only_nvidia_devices(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    fake = [Path("/dev/nvidia0"), Path("/dev/nvidiactl"), Path("/dev/nvidia-uvm")]
    monkeypatch.setattr(sandbox, "_gpu_devices", lambda: fake)
    with_gpu = wrap_command(["true"], workdir, Limits(), gpu=True)
    without = wrap_command(["true"], workdir, Limits(), gpu=False)
    dev_binds = [with_gpu[i + 1] for i, a in enumerate(with_gpu) if a == "--dev-bind"]
    assert dev_binds == [str(p) for p in fake]
    assert "--dev-bind" not in without and not any("nvidia" in a for a in without)
    # CUDA reserves far more address space than it uses: with a GPU the memory limit is RLIMIT_DATA
    assert with_gpu[with_gpu.index("--mem-kind") + 1] == "data"
    assert without[without.index("--mem-kind") + 1] == "as"
    assert set(with_gpu) - set(without) <= {"--dev-bind", "data", *map(str, fake)}


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/nvidia0").exists(), reason="sem GPU NVIDIA nesta máquina")
def test_gpu_visible_only_with_flag(workdir: Path) -> None:
    code = "import torch; print(torch.cuda.is_available() and float(torch.ones(3, device='cuda').sum()))"
    limits = Limits(memory_mb=8192)
    with_gpu = sandboxed_python(code, workdir, limits, timeout=120, gpu=True)
    without = sandboxed_python(code, workdir, limits, timeout=120, gpu=False)
    assert with_gpu.stdout.strip() == "3.0", with_gpu.stderr
    assert without.stdout.strip() == "False", without.stderr


def test_unavailable_reason_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    reason = unavailable_reason.__wrapped__()
    assert reason is not None and "apt-get install bubblewrap" in reason and "--no-sandbox" in reason


def test_workdir_access_gives_files_back(workdir: Path) -> None:
    result = sandboxed_python("open('novo.txt', 'w').write('x')", workdir, Limits())
    assert result.returncode == 0, result.stderr
    assert (workdir / "novo.txt").stat().st_uid == os.getuid()
    assert workdir.stat().st_uid == os.getuid()


def test_socket_paths_stay_short(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    km = BlockingSandboxedKernelManager(deep, Limits())
    try:
        assert len(deep.as_posix()) > 107  # too long to hold a unix socket
        assert len(f"{km.ip}-65535") < 100  # where ipykernel creates them: <ip>-<port>
    finally:
        km.cleanup_resources()
    assert not km.socket_dir.exists()


def test_readonly_path_may_not_contain_workdir(course: Path) -> None:
    workdir = course / "autograded" / "aluno" / "ps1"
    with pytest.raises(ValueError):
        wrap_command(["true"], workdir, Limits(), readonly_paths=[course])  # would expose source/
