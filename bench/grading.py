"""Benchmark de correção: `grader grade` contra o `nbgrader autograde` de fábrica, na mesma turma.

    .venv/bin/python bench/grading.py --n 24
    .venv/bin/python bench/grading.py --n 96 --skip-nbgrader

Monta, numa pasta temporária, uma cópia do curso e uma turma de N submissões de programacao_diferenciavel
(certas, em branco e parcialmente erradas, tiradas de examples/submissions/) no layout do nbgrader; corrige com
as duas ferramentas, alternando a ordem a cada rodada; mede o limite (o tempo das células num Python que já
importou torch, dividido pelo paralelismo real da máquina) e, numa rodada à parte de cada ferramenta (medir
a memória ocupa parte de um núcleo), o pico de memória de cada árvore de processos; depois, o tempo de corrigir
a turma de novo com K submissões mudadas (--regrade). Não faz parte da suíte de testes: leva minutos e ocupa
todos os núcleos.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from grader.config import load_settings  # noqa: E402
from grader.course.init import config_text  # noqa: E402
from grader.intake.assignment import Assignment  # noqa: E402
from grader.intake.normalize import normalize  # noqa: E402

ASSIGNMENT = "programacao_diferenciavel"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
EXAMPLES = REPO / "examples" / "submissions" / ASSIGNMENT
# Example students stock nbgrader can take (gabriel: broken JSON, helena: tampering, igor: no notebook).
TEMPLATES = {
    "ana": "certo",
    "bruno": "em branco",
    "carla": "parcial",
    "davi": "parcial",
    "elisa": "certo, Colab",
    "fabio": "certo",
}
BIN = Path(sys.executable).parent
MIB = 1024 * 1024
TOOL_ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # nbgrader runs `alembic`
# Plain tracebacks, as in the grader's kernels: formatting an error is not the notebook's compute.
KERNEL_SETUP = "import torch, numpy, matplotlib.pyplot\ntorch.set_num_threads({threads})\n%xmode Plain"
# Each cell's time, measured inside the kernel around the cell's run (IPython's run_cell events, which
# silent executions do not fire): appended to builtins._bench_times, which `%reset -f` leaves alone.
KERNEL_HOOKS = """def _bench_hooks():
    import builtins, time
    box = {}
    builtins._bench_times = []
    ip = get_ipython()
    ip.events.register("pre_run_cell", lambda info: box.__setitem__("t", time.perf_counter()))
    ip.events.register("post_run_cell", lambda result: builtins._bench_times.append(
        time.perf_counter() - box.get("t", time.perf_counter())))
_bench_hooks(); del _bench_hooks"""


def course_config(**values) -> str:
    """The real grader_config.py with some values replaced (as tests/helpers.py's course_config)."""
    return config_text((REPO / "grader_config.py").read_text(), values)


def make_course(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in ("source", "release"):
        shutil.copytree(REPO / name, folder / name)
    (folder / "grader_config.py").write_text(course_config(ASSIGNMENTS=[ASSIGNMENT], CELL_TIMEOUT_S=120))
    config = (REPO / "nbgrader_config.py").read_text()
    (folder / "nbgrader_config.py").write_text(
        config + "get_config().ExecutePreprocessor.timeout = 120  # noqa\n"
    )
    return folder


def template_file(name: str) -> Path:
    return next((EXAMPLES / name / ASSIGNMENT).glob("*.ipynb"))  # elisa and fabio have renamed files


def write_class(submitted: Path, n: int) -> dict[str, str]:
    """N submissions in nbgrader's layout, cycling through the templates; student id -> template."""
    names = list(TEMPLATES)
    students = {f"{names[i % len(names)]}_{i:03d}": names[i % len(names)] for i in range(n)}
    for student, template in students.items():
        target = submitted / student / ASSIGNMENT / NOTEBOOK
        target.parent.mkdir(parents=True)
        shutil.copyfile(template_file(template), target)
    return students


def usable_cores() -> tuple[int, str]:
    """Cores this process may really use: CPU affinity, capped by a cgroup CPU quota; and how it was found."""
    cores, how = len(os.sched_getaffinity(0)), f"os.sched_getaffinity: {len(os.sched_getaffinity(0))}"
    quota = None
    try:
        q, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        quota = None if q == "max" else int(q) / int(period)
    except (OSError, ValueError):
        try:
            q = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
            quota = None if q < 0 else q / int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            pass
    if quota is None:
        return cores, how + ", sem cota de CPU no cgroup"
    return min(cores, max(1, math.floor(quota))), how + f", cota do cgroup {quota:g} CPUs"


def measure_compute(settings, templates: list[str], threads: int, workdir: Path) -> dict[str, float]:
    """Seconds the cells of each template's normalized notebook take in one kernel that already imported
    torch, numpy and matplotlib (no sandbox): the work no grader can avoid."""
    from jupyter_client.manager import start_new_kernel

    assignment = Assignment.load(settings, ASSIGNMENT)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
    }
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(workdir), env=env, stderr=subprocess.DEVNULL)
    setup = KERNEL_SETUP.format(threads=threads)

    def run(code: str, **kwargs) -> dict:
        return kc.execute_interactive(code, timeout=300, output_hook=lambda msg: None, **kwargs)

    compute = {}
    try:
        run(setup)
        run(KERNEL_HOOKS)
        for n, template in enumerate([templates[0], *templates]):  # the first, untimed: lazy imports, caches
            student = nbformat.read(template_file(template), as_version=4)
            nb = normalize(student, assignment.sources[ASSIGNMENT], assignment.releases[ASSIGNMENT]).notebook
            run("%reset -f")
            run(setup)
            run("_bench_times.clear()", silent=True)
            cells = [cell.source for cell in nb.cells if cell.cell_type == "code"]
            for code in cells:
                run(code)
            reply = run("", silent=True, user_expressions={"t": "repr(_bench_times)"})
            times = json.loads(reply["content"]["user_expressions"]["t"]["data"]["text/plain"].strip("'"))
            if len(times) != len(cells):
                sys.exit(f"erro: {len(times)} tempos medidos para {len(cells)} células de {template}")
            if n > 0:
                compute[template] = sum(times)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return compute


def smaps_rollup(pid: int) -> dict[str, int]:
    """The fields of /proc/PID/smaps_rollup (Rss, Pss, Private_Dirty...) in bytes; {} when it vanished."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return {}
    return values


def read_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes; (0, 0) when it vanished."""
    values = smaps_rollup(pid)
    return values.get("Rss", 0), values.get("Pss", 0)


def descendants() -> set[int]:
    pids = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                pids.add(proc.pid)
        except psutil.Error:  # vanished meanwhile
            pass
    return pids


def timed_run(cmd: list[str], cwd: Path, log: Path, memory: bool = False) -> dict:
    """Run `cmd`: wall time, exit status and, with `memory`, the peaks of its whole process tree's memory,
    sampled every 0.2 s (this process is a child subreaper, so kernels that daemonize still count). Sampling
    reads smaps_rollup of every process, ~5 ms each: with a dozen processes that is a fifth of a core, taken
    from the tool measured, so the timed runs do not sample and the memory has a run of its own."""
    before = descendants()
    peak = {"rss": 0, "pss": 0}
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=TOOL_ENV, stdout=out, stderr=subprocess.STDOUT)

        def sample() -> None:
            while memory and proc.poll() is None:
                try:
                    pids = descendants() - before
                except psutil.Error:
                    pids = set()
                rss, pss = map(sum, zip(*(read_memory(pid) for pid in pids), strict=True)) if pids else (0, 0)
                peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rc = proc.wait()
        wall = time.perf_counter() - started
        sampler.join()
    while True:  # reap orphans that ended under us
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    left = descendants() - before
    if left:
        print(
            f"  aviso: {len(left)} processo(s) de `{' '.join(cmd[:2])}` ainda vivos depois do fim: {sorted(left)}"
        )
    if rc:
        tail = "\n    ".join(log.read_text(errors="replace").splitlines()[-15:])
        print(f"  aviso: `{' '.join(cmd[:2])}` terminou com status {rc}; final de {log}:\n    {tail}")
    return {"wall_s": wall, "peak_rss_mib": peak["rss"] / MIB, "peak_pss_mib": peak["pss"] / MIB, "rc": rc}


def reset(course: Path, *names: str) -> None:
    for name in names:
        path = course / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def run_grader(
    course: Path, submitted: Path, args, log: Path, fresh: bool = True, memory: bool = False
) -> dict:
    """`grader grade` on `submitted`; `fresh`: with no result of before (else it reuses what did not change)."""
    if fresh:
        reset(course, "autograded", "gradebook.db", "reports")
    cmd = [
        str(BIN / "grader"),
        "--course-dir",
        str(course),
        "grade",
        ASSIGNMENT,
        "--submissions",
        str(submitted),
        "--report-dir",
        str(course / "reports"),
        "--no-progress",
    ]
    cmd += (["--workers", str(args.workers)] if args.workers else []) + (
        ["--no-sandbox"] if args.no_sandbox else []
    )
    result = timed_run(cmd, course, log, memory)
    scores = course / "reports" / ASSIGNMENT / "scores.json"
    students = json.loads(scores.read_text())["students"] if scores.is_file() else []
    result["graded"] = sum(s["status"] == "graded" for s in students)
    return result


def run_nbgrader(course: Path, log: Path, memory: bool = False) -> dict:
    reset(course, "autograded", "gradebook.db")
    # fills its gradebook; not timed
    setup = subprocess.run(
        [str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
        cwd=course,
        env=TOOL_ENV,
        capture_output=True,
        text=True,
    )
    if setup.returncode:
        sys.exit(f"erro: nbgrader generate_assignment falhou:\n{setup.stderr[-2000:]}")
    result = timed_run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT], course, log, memory)
    result["graded"] = len(list((course / "autograded").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}")))
    return result


def line(label: str, value: str) -> None:
    print(f"  {label:<36} {value}")


def check(ok: bool | None, text: str) -> None:
    print(f"  [{'ok' if ok else 'FALHA' if ok is not None else 'info'}] {text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24, help="submissões na turma (padrão 24)")
    parser.add_argument("--rounds", type=int, default=1, help="rodadas, alternando a ordem das ferramentas")
    parser.add_argument(
        "--workers", type=int, default=None, help="repassado a `grader grade` (padrão: o dele)"
    )
    parser.add_argument("--no-sandbox", action="store_true", help="repassado a `grader grade`")
    parser.add_argument("--skip-nbgrader", action="store_true", help="não roda o `nbgrader autograde`")
    parser.add_argument(
        "--regrade",
        type=int,
        default=3,
        help="depois das rodadas, muda K submissões e corrige a turma de novo (padrão 3; 0: não mede)",
    )
    parser.add_argument("--json", type=Path, default=None, help="grava os números neste arquivo")
    parser.add_argument("--keep", action="store_true", help="não apaga a pasta temporária")
    args = parser.parse_args()
    if args.n < 1 or args.rounds < 1:
        parser.error("--n e --rounds precisam ser pelo menos 1")
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER

    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        grader_course, nb_course = make_course(tmp / "grader"), make_course(tmp / "nbgrader")
        submitted = nb_course / "submitted"  # both tools read these very files
        students = write_class(submitted, args.n)
        settings = load_settings(grader_course)
        workers = args.workers or settings.workers or os.cpu_count() or 1  # as grader/grading/pipeline.py
        threads = max(1, (os.cpu_count() or 1) // workers)
        cores, how = usable_cores()
        parallelism = min(workers, cores)

        print(f"Benchmark de correção — {ASSIGNMENT} (pasta temporária {tmp})")
        used = sorted(set(students.values()), key=list(TEMPLATES).index)
        compute = measure_compute(settings, used, threads, tmp)
        total_compute = sum(compute[t] for t in students.values())
        limit = total_compute / parallelism

        runs: dict[str, list[dict]] = {"grader": [], "nbgrader": []}
        for r in range(args.rounds):
            order = ["grader", "nbgrader"] if r % 2 == 0 else ["nbgrader", "grader"]
            for tool in order:
                if tool == "nbgrader" and args.skip_nbgrader:
                    continue
                log = tmp / f"{tool}-{r + 1}.log"
                result = (
                    run_grader(grader_course, submitted, args, log)
                    if tool == "grader"
                    else run_nbgrader(nb_course, log)
                )
                if result["graded"] != args.n:
                    print(
                        f"  aviso: {tool} corrigiu {result['graded']} de {args.n} submissões na rodada {r + 1}"
                    )
                runs[tool].append(result)

        # memory: one more run of each tool, sampled (grader last, so its course keeps the whole class graded)
        peaks = {}
        for tool in ("nbgrader", "grader"):
            if tool == "nbgrader" and args.skip_nbgrader:
                continue
            log = tmp / f"{tool}-memoria.log"
            peaks[tool] = (
                run_grader(grader_course, submitted, args, log, memory=True)
                if tool == "grader"
                else run_nbgrader(nb_course, log, memory=True)
            )

        regrade = {}
        if args.regrade:
            # the class graded again after K submissions changed (a comment added to an answer), against
            # grading those K alone in a course of their own; the last round left the whole class graded
            changed = sorted(students)[: args.regrade]
            alone = tmp / "sozinhos"
            for student in changed:
                path = submitted / student / ASSIGNMENT / NOTEBOOK
                nb = nbformat.read(path, as_version=4)
                answer = next(
                    c for c in nb.cells if c.cell_type == "code" and "resposta_" in json.dumps(c.metadata)
                )
                answer.source += "\n# revisado"
                nbformat.write(nb, path)
                shutil.copytree(submitted / student, alone / student)
            regrade["again_s"] = run_grader(grader_course, submitted, args, tmp / "regrade.log", fresh=False)[
                "wall_s"
            ]
            regrade["alone_s"] = run_grader(grader_course, alone, args, tmp / "regrade-sozinhos.log")[
                "wall_s"
            ]
            reused = [x for x in (tmp / "regrade.log").read_text().splitlines() if "reaproveitadas" in x]
            regrade["line"] = reused[0].strip() if reused else ""

        def median(tool: str) -> float | None:
            return statistics.median(x["wall_s"] for x in runs[tool]) if runs[tool] else None

        def peak(tool: str, key: str) -> float:
            return peaks[tool][key]

        grader_s, nbgrader_s = median("grader"), median("nbgrader")
        overhead = (grader_s * parallelism - total_compute) / args.n
        mix = ", ".join(f"{t} ×{list(students.values()).count(t)} ({TEMPLATES[t]})" for t in used)
        line("submissões (N)", f"{args.n}: {mix}")
        line("workers / threads por kernel", f"{workers} / {threads}")
        line("sandbox", "desligado (--no-sandbox)" if args.no_sandbox else "ligado")
        line("paralelismo", f"{parallelism} = min(workers {workers}, núcleos utilizáveis {cores}: {how})")
        for r in range(args.rounds):
            text = f"grader {runs['grader'][r]['wall_s']:7.1f} s"
            if runs["nbgrader"]:
                text += f"   nbgrader {runs['nbgrader'][r]['wall_s']:7.1f} s"
            line(f"rodada {r + 1}", text)
        line("grader grade (mediana)", f"{grader_s:7.1f} s")
        if nbgrader_s is not None:
            line("nbgrader autograde (mediana)", f"{nbgrader_s:7.1f} s")
            line("aceleração (nbgrader / grader)", f"{nbgrader_s / grader_s:7.2f}x")
        line("cômputo por notebook", ", ".join(f"{t} {compute[t]:.2f} s" for t in used))
        line("Σ cômputo das N submissões", f"{total_compute:7.1f} s")
        line("limite (Σ cômputo / paralelismo)", f"{limit:7.1f} s")
        line("grader / limite", f"{grader_s / limit:7.2f}x")
        line("sobrecarga por submissão", f"{overhead:7.2f} s  (= (grader × paralelismo − Σ cômputo) / N)")
        for tool in ("grader", "nbgrader"):
            if tool in peaks:
                line(
                    f"memória {tool} (pico, rodada à parte)",
                    f"RSS {peak(tool, 'peak_rss_mib'):7.0f} MiB   PSS {peak(tool, 'peak_pss_mib'):7.0f} MiB",
                )
        pss_per_worker = peak("grader", "peak_pss_mib") / workers
        line("memória grader: pico PSS / worker", f"{pss_per_worker:7.0f} MiB")

        if regrade:
            line(
                f"turma de novo, {args.regrade} mudaram", f"{regrade['again_s']:7.1f} s  ({regrade['line']})"
            )
            line(f"só as {args.regrade}, numa turma nova", f"{regrade['alone_s']:7.1f} s")

        print("Metas")
        if nbgrader_s is None:
            check(None, "grader ≥ 3x mais rápido que o nbgrader: não medido (--skip-nbgrader)")
        else:
            check(
                nbgrader_s / grader_s >= 3,
                f"grader ≥ 3x mais rápido que o nbgrader: {nbgrader_s / grader_s:.2f}x",
            )
        check(overhead <= 1.0, f"sobrecarga ≤ 1.0 s por submissão: {overhead:.2f} s")
        check(grader_s / limit <= 1.5, f"grader / limite ≤ 1.5: {grader_s / limit:.2f}x")
        check(pss_per_worker <= 900, f"memória: pico PSS / worker ≤ 900 MiB: {pss_per_worker:.0f} MiB")
        if regrade:
            check(
                regrade["again_s"] <= regrade["alone_s"] + 5,
                f"recorrigir a turma com {args.regrade} mudanças ≤ corrigir só elas + 5 s: "
                f"{regrade['again_s']:.1f} s ≤ {regrade['alone_s']:.1f} + 5 s",
            )

        if args.json:
            figures = {
                "n": args.n,
                "workers": workers,
                "threads": threads,
                "sandbox": not args.no_sandbox,
                "usable_cores": cores,
                "parallelism": parallelism,
                "compute_s": compute,
                "total_compute_s": total_compute,
                "limit_s": limit,
                "runs": runs,
                "memory_runs": peaks,
                "grader_median_s": grader_s,
                "nbgrader_median_s": nbgrader_s,
                "speedup": nbgrader_s / grader_s if nbgrader_s else None,
                "grader_over_limit": grader_s / limit,
                "overhead_per_submission_s": overhead,
                "grader_peak_pss_per_worker_mib": pss_per_worker,
                "regrade": regrade,
            }
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        if args.keep:
            print(f"pasta temporária mantida: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
