"""Warm kernels (grader/kernels/warm.py, grader/kernels/standalone/zygote.py): kernels forked one after another from the same sandboxed
server start with torch imported and see nothing of the submissions before them; a kernel that breaks its
server costs only its own submission. Real kernels, real sandbox."""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import replace

import nbformat
import pytest

from grader.kernels import guard, warm
from grader.kernels.execute import ExecutionSettings, execute_async
from grader.kernels.sandbox import Limits, unavailable_reason
from grader.kernels.warm import warm_key
from grader.model import Status

pytestmark = pytest.mark.slow  # real kernels, forked from a real (sandboxed) server
LIMITS = Limits(cpu_time_s=120, memory_mb=4096, max_processes=64, max_file_mb=16, tmp_mb=64)

# The first submission leaves traces everywhere it can write or reach; the second looks for them.
POLLUTE = [
    "import os, subprocess, sys, torch\nprint('torch' in sys.modules)",
    "open('deixado.txt', 'w').write('x'); os.makedirs('trancado/dentro'); os.chmod('trancado', 0)\n"
    "for private in PRIVATE:  # the sandbox's own /tmp and /dev/shm (without it, the host's: left alone)\n"
    "    open(f'{private}/deixado', 'w').write('x')",
    "if PRIVATE:  # strays (without the sandbox nothing kills what left the kernel's session: left alone)\n"
    "    subprocess.Popen(['setsid', 'sleep', '1000']); os.system('(sleep 999 &)')",
    "torch.add = lambda *a, **k: 'adulterado'; os.environ['DEIXADO'] = '1'",
]
LOOK = [
    "import os, sys\nprint(sorted(n for n in ('torch', 'numpy', 'matplotlib.pyplot') if n in sys.modules))",
    "print(sorted(os.listdir('.')), [d for d in PRIVATE if os.path.exists(f'{d}/deixado')])",
    "import torch; print(torch.add(torch.ones(1), 1).tolist(), os.environ.get('DEIXADO'))",
    "print([p for p in os.listdir('/proc') if p.isdigit() and open(f'/proc/{p}/cmdline').read().startswith('sleep')])",
]


def _alive(pid: int, wait_s: float = 3) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return False
        except FileNotFoundError:
            return False
        time.sleep(0.05)
    return True


def notebook(sources: list[str]):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.fixture(params=[pytest.param("sandbox", marks=pytest.mark.sandbox), "no-sandbox"])
def settings(request, sandbox_available):
    if request.param == "sandbox" and not sandbox_available:
        pytest.skip(f"sandbox indisponível: {unavailable_reason()}")
    return ExecutionSettings(
        limits=LIMITS, use_sandbox=request.param == "sandbox", cell_timeout_s=60, submission_timeout_s=120
    )


def test_forked_kernels_share_nothing(settings):
    async def scenario():
        pair = warm.Pair(warm_key(settings))
        try:
            private = f"PRIVATE = {['/tmp', '/dev/shm'] if settings.use_sandbox else []}"
            first = await execute_async(notebook([private, *POLLUTE]), settings, pair)
            second = await execute_async(notebook([private, *LOOK]), settings, pair)
            spare = pair.student.spare[1].pid  # the next kernel, already forked: stop() must take it along
        finally:
            pair.stop()
        return pair, first, second, spare

    pair, first, second, spare = asyncio.run(scenario())
    server = pair.student
    if not settings.use_sandbox:  # a pid of this machine (sandboxed, it dies with the sandbox's namespace)
        assert not _alive(spare)
    assert first.status == Status.GRADED, [c.outputs for c in first.notebook.cells]
    assert stdout(first.notebook.cells[1]) == "True\n"
    cells = second.notebook.cells[1:]
    assert second.status == Status.GRADED, [c.outputs for c in cells]
    assert stdout(cells[0]) == "['matplotlib.pyplot', 'numpy', 'torch']\n"  # forked warm
    assert stdout(cells[1]) == "[] []\n"
    assert stdout(cells[2]) == "[2.0] None\n"
    if settings.use_sandbox:  # without a pid namespace strays that left the session survive (documented)
        assert server.isolated
        assert stdout(cells[3]) == "[]\n"
    assert not server.root.exists() and not pair.tests.root.exists() and not pair.channel.exists()


def run_on_new_server(nb, settings):
    pair = warm.Pair(warm_key(settings))
    try:
        return asyncio.run(execute_async(nb, settings, pair))
    finally:
        pair.stop()


@pytest.mark.sandbox
def test_kernel_cannot_ptrace_or_read_its_server(sandbox_available):
    if not sandbox_available:
        pytest.skip(f"sandbox indisponível: {unavailable_reason()}")
    settings = ExecutionSettings(limits=LIMITS, cell_timeout_s=60, submission_timeout_s=120)
    code = [
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.ptrace(16, os.getppid(), 0, 0), ctypes.get_errno())",  # PTRACE_ATTACH: -1 EPERM
        "try:\n    open(f'/proc/{os.getppid()}/mem', 'rb').read(1)\nexcept OSError as e:\n    print(e.errno)",
    ]
    executed = run_on_new_server(notebook(code), settings)
    assert [stdout(c) for c in executed.notebook.cells] == ["-1 1\n", "13\n"]


@pytest.mark.sandbox
def test_a_kernel_that_kills_its_server_costs_only_its_submission(sandbox_available):
    from grader.grading.job import Job
    from grader.grading.workers import WorkerSlots, execute_all

    if not sandbox_available:  # without it the orphaned kernel lives on and finishes its submission
        pytest.skip(f"sandbox indisponível: {unavailable_reason()}")
    settings = ExecutionSettings(limits=LIMITS, use_sandbox=True, cell_timeout_s=60, submission_timeout_s=120)
    killer = notebook(
        ["import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", "import time; time.sleep(2)"]
    )
    fine = notebook(["print(6 * 7)"])
    jobs = [
        Job(student=None, notebook_name=f"nb{i}", notebook=nb) for i, nb in enumerate([fine, killer, fine])
    ]
    slots = WorkerSlots(settings, [], 1)  # one slot: the three run one after another on it
    try:
        asyncio.run(execute_all(jobs, slots, False, lambda job: None))
    finally:
        slots.close()
    assert jobs[1].executed.status != Status.GRADED
    for job in (jobs[0], jobs[2]):
        assert job.executed.status == Status.GRADED, job.executed.message
        assert stdout(job.executed.notebook.cells[0]) == "42\n"


@pytest.mark.sandbox
def test_a_kernel_that_stops_its_server_costs_only_its_submission(sandbox_available):
    """SIGSTOP to its server (the server runs as the same user): a call that waits sees the server stopped and
    gives it up at once, where it waited the call's time limit (30 s); stopping and resuming it over and over
    kept every call just inside that limit, for minutes. Meanwhile the other slot's students are graded (the
    calls go from threads, never the event loop every slot shares), and each submission that did it ends as
    its own dead kernel."""
    from grader.grading.job import Job
    from grader.grading.workers import WorkerSlots, execute_all

    if not sandbox_available:
        pytest.skip(f"sandbox indisponível: {unavailable_reason()}")
    settings = ExecutionSettings(
        limits=LIMITS, use_sandbox=True, cell_timeout_s=90, submission_timeout_s=120, preload=("numpy",)
    )
    stopper = notebook(["import os, signal, time\nos.kill(os.getppid(), signal.SIGSTOP)\ntime.sleep(60)"])
    dance = (
        "import os, signal, time\nos.setsid()\nwhile True:\n"
        "    os.kill({server}, signal.SIGSTOP); time.sleep(3); os.kill({server}, signal.SIGCONT); time.sleep(0.05)"
    )
    dancer = notebook(
        [
            "import os, subprocess, sys, time\n"
            f"subprocess.Popen([sys.executable, '-c', {dance!r}.format(server=os.getppid())])\n"
            "time.sleep(60)"
        ]
    )
    fine = notebook(["print(6 * 7)"])
    jobs = [
        Job(student=None, notebook_name=f"nb{i}", notebook=nb)
        for i, nb in enumerate([stopper, dancer, *[fine] * 4])
    ]
    slots = WorkerSlots(settings, [], 3)
    try:
        asyncio.run(execute_all(jobs, slots, False, lambda job: None))
    finally:
        slots.close()
    for job in jobs[:2]:
        assert job.executed.status != Status.GRADED
        assert "kernel morreu" in job.executed.message, job.executed.message
        assert job.executed.seconds < 15, job.executed.seconds  # not 30 s per call
    for job in jobs[2:]:
        assert job.executed.status == Status.GRADED, job.executed.message
        assert stdout(job.executed.notebook.cells[0]) == "42\n"


def test_cold_kernels_and_what_is_preloaded(sandbox_available):
    cold = ExecutionSettings(limits=LIMITS, use_sandbox=sandbox_available, warm=False, cell_timeout_s=60)
    look = notebook(["import sys\nprint('torch' in sys.modules, 'wave' in sys.modules)"])
    executed = asyncio.run(execute_async(look, cold))
    assert stdout(executed.notebook.cells[0]) == "False False\n"
    warm_wave = replace(cold, warm=True, preload=("wave", "nao_existe.modulo"))  # a bad name is skipped
    executed = run_on_new_server(notebook([look.cells[0].source]), warm_wave)
    assert stdout(executed.notebook.cells[0]) == "False True\n"


def test_forked_kernels_show_figures_as_images():
    """A warm server imports the inline backend before any IPython exists: the forked kernel must still turn
    figures into PNG outputs (the formgrader shows them), not "<Figure size ...>"."""
    settings = ExecutionSettings(
        warm=True, preload=("matplotlib.pyplot", "matplotlib_inline.backend_inline"), use_sandbox=False
    )
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()")]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executed = run_on_new_server(nb, settings)
    assert executed.status == Status.GRADED
    assert any("image/png" in out.get("data", {}) for out in executed.notebook.cells[0].outputs)


@pytest.mark.parametrize("kind", ["warm", "cold"])
def test_assignment_files_in_both_kernels(kind, sandbox_available):
    """The assignment's files reach the student's kernel and the test kernel alike; what the student's code
    writes over its copy stays in its kernel, the shared folder is read-only, and the next submission of a warm
    slot sees the files it was given, not the previous ones."""
    settings = ExecutionSettings(
        limits=LIMITS,
        use_sandbox=sandbox_available,
        warm=kind == "warm",
        cell_timeout_s=60,
        submission_timeout_s=120,
        preload=(),
    )
    nb = notebook(
        [
            "print(open('dados/x.txt').read(), open('fig.png', 'rb').read())\n"
            "open('dados/x.txt', 'w').write('mudado')",
            "print(open('dados/x.txt').read())",
        ]
    )
    nb.cells[1].metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": "t",
        "points": 1,
        "schema_version": 3,
    }
    files = {"dados/x.txt": b"original", "fig.png": b"\x89PNG"}
    pair = warm.Pair(warm_key(settings)) if kind == "warm" else None
    try:
        first = asyncio.run(execute_async(copy.deepcopy(nb), settings, pair, files=files))
        assert first.status == Status.GRADED, first.message
        assert stdout(first.notebook.cells[0]) == "original b'\\x89PNG'\n"
        assert stdout(first.notebook.cells[1]) == "original\n"  # the test kernel's copy, untouched
        again = asyncio.run(execute_async(copy.deepcopy(nb), settings, pair, files={"dados/x.txt": b"outro"}))
        assert "FileNotFoundError" in str(again.notebook.cells[0].outputs)  # fig.png is gone
        assert stdout(again.notebook.cells[1]) == "outro\n"
        if pair is not None and sandbox_available:
            student = notebook([f"open({str(pair.files / 'fig.png')!r}, 'w')"])
            denied = asyncio.run(execute_async(student, settings, pair, files=files))
            assert "Read-only file system" in str(denied.notebook.cells[0].outputs)
    finally:
        if pair is not None:
            pair.stop()


def test_servers_parse_the_cells_they_were_taught_before_forking(settings):
    """Pair.teach: the test kernels' server learns the test cells, the student's the given cells (never a test:
    the student's kernel holds what its server held); each kernel forked after it runs those cells from the
    server's trees (grader/kernels/standalone/inkernel/fastpath.py), and the notebook's result is the same."""
    from grader.kernels.execute import lessons

    given = "x = 1\ny = x + 1\n"
    probe = "import inkernel.fastpath as f\nprint(len(f._TREES), sorted(f._PLAIN))\n"
    test = "import inkernel.fastpath as f\nassert y == 2\nprint(len(f._TREES), 'teste ok')\n"
    meta = {"locked": True, "solution": False, "schema_version": 3}
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                given, metadata={"nbgrader": {**meta, "grade": False, "grade_id": "g"}}
            ),
            nbformat.v4.new_code_cell(probe),
            nbformat.v4.new_code_cell(
                test, metadata={"nbgrader": {**meta, "grade": True, "points": 1, "grade_id": "t"}}
            ),
        ]
    )
    assert lessons([nb, copy.deepcopy(nb)]) == ((test,), (given,))

    async def scenario():
        pair = warm.Pair(warm_key(settings))
        try:
            pair.teach(*lessons([nb]))
            first = await execute_async(copy.deepcopy(nb), settings, pair)
            second = await execute_async(copy.deepcopy(nb), settings, pair)  # a kernel forked after a reset
        finally:
            pair.stop()
        return pair, first, second

    pair, first, second = asyncio.run(scenario())
    assert (pair.tests.learned, pair.student.learned) == (1, 1)
    for result in (first, second):
        cells = result.notebook.cells
        assert result.status == Status.GRADED, [c.outputs for c in cells]
        assert stdout(cells[1]) == f"0 {[given]}\n"  # the given cell's tree was taken; no test text in S
        assert stdout(cells[2]) == "0 teste ok\n"  # and the test's, in T


# add_key, request_key and mq_open, by architecture (grader/kernels/standalone/inkernel/confine.py)
_KEYRING_CALLS = {"x86_64": (248, 249, 240), "aarch64": (217, 218, 180)}


def test_keyrings_and_message_queues_carry_nothing_to_the_next_submission(settings):
    """The reset between submissions kills processes and empties files and System V IPC; the user's keyring
    and the IPC namespace's POSIX queues outlive it: the kernel may not use them at all (-1, EPERM)."""
    import platform

    numbers = _KEYRING_CALLS.get(platform.machine())
    if numbers is None:
        pytest.skip(f"números das chamadas de sistema desconhecidos em {platform.machine()}")
    add_key, request_key, mq_open = numbers
    libc = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\n"
        "def chama(*args):\n    ctypes.set_errno(0)\n    print(libc.syscall(*args), ctypes.get_errno())\n"
    )
    leave = [
        libc + f"recado = b'def linhas_positivas(X): ...'\nchama({add_key}, b'user', b'recado', recado, "
        "len(recado), -4)",  # into the user keyring (KEY_SPEC_USER_KEYRING)
        f"chama({mq_open}, b'/recado', 0o102, 0o600, None)",  # O_CREAT | O_RDWR
    ]
    find = [
        libc + f"chama({request_key}, b'user', b'recado', None, 0)",
        f"chama({mq_open}, b'/recado', 0o2, 0, None)",
    ]

    async def scenario():
        pair = warm.Pair(warm_key(settings))
        try:
            first = await execute_async(notebook(leave), settings, pair)
            second = await execute_async(notebook(find), settings, pair)
        finally:
            pair.stop()
        return first, second

    first, second = asyncio.run(scenario())
    for executed in (first, second):
        assert executed.status == Status.GRADED, [c.outputs for c in executed.notebook.cells]
        assert [stdout(c) for c in executed.notebook.cells] == ["-1 1\n", "-1 1\n"]


def test_a_submission_over_its_memory_is_stopped_and_the_next_one_runs(settings):
    """Children that each stay under the kernel's own limits, together over SUBMISSION_MEMORY_MB: the guard
    (grader/kernels/guard.py) stops them and the kernel, the submission ends with that limit, and the slot
    serves the next one. Forks that share the kernel's pages count them once, and pass. Sandboxed, the children
    are orphans (their shell exits at once): the sandbox's init takes them, and they still count."""
    from grader.kernels.execute import MEMORY_LIMIT

    settings = replace(settings, limits=replace(settings.limits, submission_memory_mb=1024))
    hog = notebook(
        [
            f"ORFAOS = {settings.use_sandbox}  # (without the sandbox an orphan leaves for the machine's init)\n"
            "import os, shlex, subprocess, sys, time\nimport numpy as np\n"
            "bloco = np.ones(300 * 2**20 // 8)  # 300 MiB, shared by the forks below\nfilhos = []\n"
            "for _ in range(6):\n    pid = os.fork()\n    if pid == 0:\n        time.sleep(2)\n        os._exit(0)\n"
            "    filhos.append(pid)\nfor pid in filhos:\n    os.waitpid(pid, 0)\nprint('garfos ok')\n"
            "print(open('/proc/self/oom_score_adj').read().strip())  # the first the OOM killer takes",
            "codigo = 'import time\\nb = bytes(1) * (500 * 2**20)\\ntime.sleep(120)'\n"
            "if ORFAOS:\n"
            "    for _ in range(3):\n"
            "        os.system(f'{sys.executable} -c {shlex.quote(codigo)} &')\n"
            "else:\n"
            "    procs = [subprocess.Popen([sys.executable, '-c', codigo]) for _ in range(3)]\n"
            "    print(*[p.pid for p in procs], flush=True)\n"
            "time.sleep(120)",
            "print('não devia chegar aqui')",
        ]
    )

    async def scenario():
        pair = warm.Pair(warm_key(settings))
        try:
            started = time.monotonic()
            stopped = await execute_async(hog, settings, pair)
            seconds = time.monotonic() - started
            after = await execute_async(notebook(["print(6 * 7)"]), settings, pair)
        finally:
            pair.stop()
        return stopped, seconds, after

    stopped, seconds, after = asyncio.run(scenario())
    cells = stopped.notebook.cells
    assert stdout(cells[0]) == "garfos ok\n1000\n", cells[0].outputs
    assert stopped.status == Status.ERROR and stopped.limits_hit == [MEMORY_LIMIT], stopped
    assert "passou do limite de memória" in stopped.message and stopped.message.endswith(
        "o limite é 1024 MiB"
    )
    assert seconds < 60  # stopped, not left to sleep
    assert "não devia chegar aqui" not in stdout(cells[2])
    if not settings.use_sandbox:  # pids of this machine (sandboxed, the namespace's)
        children = [int(pid) for pid in stdout(cells[1]).split()]
        assert len(children) == 3 and not any(_alive(pid) for pid in children)
    assert after.status == Status.GRADED and stdout(after.notebook.cells[0]) == "42\n"


def test_the_servers_stderr_carries_nothing_to_the_next_submission(settings):
    """Every kernel inherits its server's stderr: what one writes there, the next kernel of the slot cannot read
    back (it was a file that each kernel could reopen or pread)."""
    scan = (
        "import os\nachado = b''\n"
        "for nome in os.listdir('/proc/self/fd'):\n"
        "    try:  # (an fd of the listing itself, or of another thread, may be closed by now)\n"
        "        alvo = os.readlink(f'/proc/self/fd/{nome}')\n"
        "    except OSError:\n"
        "        continue\n"
        "    if not (alvo.startswith('pipe:') or alvo.endswith('(deleted)')):\n"
        "        continue\n"
        "    try:\n"
        "        achado += os.pread(int(nome), 1 << 20, 0)\n"
        "    except OSError:\n"
        "        pass\n"
        "    try:\n"
        "        fd = os.open(f'/proc/self/fd/{nome}', os.O_RDONLY | os.O_NONBLOCK)\n"
        "        achado += os.read(fd, 1 << 20)\n"
        "        os.close(fd)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    # into every pipe and deleted file it holds: one of them is the server's stderr (ipykernel keeps a copy)
    leave = [
        scan.replace(
            "achado += os.pread(int(nome), 1 << 20, 0)", "os.write(int(nome), b'SEGREDO-DO-PRIMEIRO')"
        )
        + "print('escreveu')"
    ]
    find = ["import time\ntime.sleep(0.5)\n" + scan + "print(b'SEGREDO-DO-PRIMEIRO' in achado)"]

    async def scenario():
        pair = warm.Pair(warm_key(settings))
        try:
            first = await execute_async(notebook(leave), settings, pair)
            second = await execute_async(notebook(find), settings, pair)
            last_words = pair.student.startup_error()
        finally:
            pair.stop()
        return first, second, last_words

    first, second, last_words = asyncio.run(scenario())
    printed = [
        "".join(o.get("text", "") for o in cells[0].outputs if o.get("name") == "stdout")
        for cells in (first.notebook.cells, second.notebook.cells)
    ]
    outputs = [first.notebook.cells[0].outputs, second.notebook.cells[0].outputs]
    assert printed[0].endswith("escreveu\n") and printed[1] == "False\n", outputs  # (its own pipes echo it)
    assert "SEGREDO" not in last_words  # nor does it reach the next student's error messages


def _in_one_slot(settings, *notebooks) -> list:
    """The notebooks graded one after the other in one slot (one pair of warm servers)."""

    async def scenario():
        pair = warm.Pair(warm_key(settings))
        try:
            return [await execute_async(nb, settings, pair) for nb in notebooks]
        finally:
            pair.stop()

    return asyncio.run(scenario())


def test_files_in_the_sandbox_count_toward_the_submissions_memory(settings):
    """Empty files cost the machine memory (tmpfs charges each one, whatever its size) that no process shows: a
    kernel that makes 400 000 of them in its /tmp, under every size cap, is stopped like one that allocates.
    Without the sandbox /tmp is this machine's, not the submission's, and nothing is counted."""
    if not settings.use_sandbox:
        pytest.skip("sem o sandbox, /tmp é da máquina")
    settings = replace(settings, limits=replace(settings.limits, submission_memory_mb=512))
    filler = notebook(
        [
            "import os\nfor i in range(400_000):\n    os.close(os.open(f'/tmp/{i}', os.O_CREAT | os.O_WRONLY))\n"
            "print('feito')\nimport time\ntime.sleep(30)",
            "print('não devia chegar aqui')",
        ]
    )

    stopped, after = _in_one_slot(
        settings, filler, notebook(["import os\nprint(sum(name.isdigit() for name in os.listdir('/tmp')))"])
    )
    assert stopped.status == Status.ERROR and stopped.limits_hit == [guard.MEMORY_FLAG], stopped
    assert "em arquivos (/tmp, /dev/shm e a pasta de trabalho)" in stopped.message, stopped.message
    assert "não devia chegar aqui" not in stdout(stopped.notebook.cells[1])
    assert (
        after.status == Status.GRADED and stdout(after.notebook.cells[0]) == "0\n"
    )  # the reset emptied /tmp


def test_sockets_in_the_sandbox_count_toward_the_submissions_memory(settings):
    """A socket's buffers are the machine's memory, in no process's: each socket of the sandbox counts for the
    most it may hold (twice the machine's default buffer: seccomp refuses a larger one). 450 socket pairs, filled
    or not (the kernel may open 1024 files), may hold 370 MB, over a limit of 400 MB with the kernel's own."""
    if not settings.use_sandbox:
        pytest.skip("sem o sandbox, a rede é a da máquina")
    settings = replace(settings, limits=replace(settings.limits, submission_memory_mb=400))
    holder = notebook(
        [
            "import socket, time\npares = [socket.socketpair() for _ in range(450)]\nprint('feito')\ntime.sleep(30)",
            "print('não devia chegar aqui')",
        ]
    )
    honest = notebook(
        [
            "import resource\nprint(sum(1 for _ in open('/proc/self/net/unix')) - 1, "
            "resource.getrlimit(resource.RLIMIT_NOFILE))"
        ]
    )

    before, stopped = _in_one_slot(settings, honest, holder)
    sockets, files = stdout(before.notebook.cells[0]).split(" ", 1)
    assert before.status == Status.GRADED and int(sockets) < 100, (
        sockets
    )  # what an honest kernel's sandbox has
    assert files == "(1024, 1024)\n"
    assert stopped.status == Status.ERROR and stopped.limits_hit == [guard.MEMORY_FLAG], stopped
    assert "e sockets do sandbox" in stopped.message, stopped.message
    assert "não devia chegar aqui" not in stdout(stopped.notebook.cells[1])
