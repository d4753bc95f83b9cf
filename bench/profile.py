"""Para onde vai a CPU de uma correção: `grader grade` numa turma do benchmark, com a CPU somada por papel.

    .venv/bin/python bench/profile.py --n 24
    .venv/bin/python bench/profile.py --n 24 --compute
    .venv/bin/python bench/profile.py --n 24 --memory

Monta a mesma turma de bench/grading.py, corrige uma vez e imprime, em núcleo-segundos e por submissão: os
kernels do aluno com os replays, os kernels de testes, os servidores quentes (importações e serviço), o
processo principal (por thread), o resto da árvore (bwrap) e os núcleos ociosos durante a correção; com
--compute, também o cômputo dos notebooks (o mesmo do limite de bench/grading.py) e a sobrecarga que sobra.
Rode com a máquina ociosa: o ócio é lido do sistema inteiro (/proc/stat).

Com --memory, a memória no pico: a amostra em que a soma do PSS da árvore foi a maior (a medida de
bench/grading.py, lida aqui a cada 0,2 s), dividida pelos mesmos papéis, com a parte privada (USS) de cada um;
a parte compartilhada de um servidor é, em grande parte, a das suas importações, que os kernels que ele cria
dividem. Ler o PSS custa CPU a este script (percorre as páginas de cada processo): não some com a conta de CPU.

Como a conta é feita: a árvore de processos é lida a cada 0,2 s (psutil). Um kernel ou replay termina antes
do servidor que o criou e é esperado por ele, e o Linux soma a CPU de um filho esperado à do pai (os campos
"children" do servidor); por isso os kernels e replays entram pelo servidor, lido até a última amostra antes
de ele sair.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading import (  # noqa: E402 (bench/grading.py, beside this script)
    ASSIGNMENT,
    BIN,
    MIB,
    TEMPLATES,
    make_course,
    measure_compute,
    smaps_rollup,
    usable_cores,
    write_class,
)

SAMPLE_S = 0.2


def machine_idle() -> float:
    """Seconds of idle (and I/O wait) summed over all CPUs since boot, from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return (int(fields[3]) + int(fields[4])) / os.sysconf("SC_CLK_TCK")


def is_zygote(process: psutil.Process) -> bool:
    """A warm kernel server or what it forked: Python whose script is zygote.py (the launchers above it, bwrap,
    pidns.py and kernel_limits.py, name it further on in their command lines)."""
    command = process.cmdline()
    script = next((arg for arg in command[1:] if not arg.startswith("-")), "")
    return bool(command) and "bwrap" not in Path(command[0]).name and script.endswith("zygote.py")


def role(process: psutil.Process, main_pid: int) -> str:
    """main, server-S, server-T (a warm kernel server, the first zygote of its line), forked-S, forked-T (a
    kernel or a replay, by the server that forked it) or other."""
    if process.pid == main_pid:
        return "main"
    if not is_zygote(process):
        return "other"
    side = "T" if "inkernel.runtime" in " ".join(process.cmdline()) else "S"
    parent = process.parent()
    if parent is not None and is_zygote(parent):
        return "forked-" + side  # CPU: counted through its server once reaped
    return "server-" + side


def memory(pid: int) -> tuple[float, float]:
    """(PSS, USS) of one process in MiB; (0, 0) when it vanished."""
    fields = smaps_rollup(pid)
    private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return fields.get("Pss", 0) / MIB, private / MIB


class TreeSampler(threading.Thread):
    """The last CPU times seen of every process under `main_pid`, with its role; the main process's threads."""

    def __init__(self, main_pid: int, with_memory: bool = False):
        super().__init__(daemon=True)
        self.main_pid, self.with_memory = main_pid, with_memory
        self.last: dict[int, tuple[str, psutil._common.pcputimes]] = {}
        self.threads: dict[int, float] = {}
        # the sample with the largest PSS of the tree: its time and, by role, (processes, PSS, USS)
        self.peak: tuple[float, dict[str, list[float]]] = (0.0, {})
        self.done = threading.Event()

    def run(self) -> None:
        try:
            main = psutil.Process(self.main_pid)
        except psutil.Error:
            return
        names: dict[int, str] = {}
        started = time.monotonic()
        while not self.done.is_set():
            try:
                tree = [main, *main.children(recursive=True)]
            except psutil.Error:
                break
            sample: dict[str, list[float]] = {}
            for process in tree:
                try:
                    if process.pid not in names:
                        names[process.pid] = role(process, self.main_pid)
                    self.last[process.pid] = (names[process.pid], process.cpu_times())
                    pss, uss = memory(process.pid) if self.with_memory else (0.0, 0.0)
                    counts = sample.setdefault(names[process.pid], [0, 0.0, 0.0])
                    counts[0], counts[1], counts[2] = counts[0] + 1, counts[1] + pss, counts[2] + uss
                    if process.pid == self.main_pid:
                        for thread in process.threads():
                            self.threads[thread.id] = thread.user_time + thread.system_time
                except psutil.Error:
                    continue
            if sum(pss for _, pss, _ in sample.values()) > sum(pss for _, pss, _ in self.peak[1].values()):
                self.peak = (time.monotonic() - started, sample)
            time.sleep(SAMPLE_S)


def account(sampler: TreeSampler) -> dict[str, float]:
    """Core-seconds by role."""
    totals = dict.fromkeys(["kernels-S", "kernels-T", "server-S", "server-T", "main", "other"], 0.0)
    for name, times in sampler.last.values():
        own = times.user + times.system
        reaped = times.children_user + times.children_system
        if name in ("server-S", "server-T"):
            totals[name] += own
            totals["kernels-" + name[-1]] += reaped
        elif name in totals:
            totals[name] += own  # (a bwrap's reaped children are its server, counted above)
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24, help="submissões na turma (padrão 24)")
    parser.add_argument("--workers", type=int, default=None, help="repassado a `grader grade`")
    parser.add_argument("--no-sandbox", action="store_true", help="repassado a `grader grade`")
    parser.add_argument(
        "--compute", action="store_true", help="mede também o cômputo dos notebooks (cerca de 1 minuto)"
    )
    parser.add_argument(
        "--memory", action="store_true", help="lê também a memória (PSS) por papel, no pico da correção"
    )
    args = parser.parse_args()
    cores, _ = usable_cores()
    parallelism = min(cores, args.workers or cores)
    with tempfile.TemporaryDirectory(prefix="grader-profile-") as scratch:
        course = make_course(Path(scratch) / "course")
        submitted = Path(scratch) / "submitted"
        students = write_class(submitted, args.n)
        cmd = [str(BIN / "grader"), "--course-dir", str(course), "grade", ASSIGNMENT]
        cmd += ["--submissions", str(submitted), "--report-dir", str(course / "reports"), "--no-progress"]
        cmd += (["--workers", str(args.workers)] if args.workers else []) + (
            ["--no-sandbox"] if args.no_sandbox else []
        )
        log = Path(scratch) / "grade.log"
        idle_before, started = machine_idle(), time.monotonic()
        with log.open("w") as out:
            process = subprocess.Popen(cmd, cwd=course, stdout=out, stderr=subprocess.STDOUT)
            sampler = TreeSampler(process.pid, with_memory=args.memory)
            sampler.start()
            code = process.wait()
        wall, idle = time.monotonic() - started, machine_idle() - idle_before
        sampler.done.set()
        sampler.join()
        if code:
            sys.exit(f"erro: grader grade saiu com {code}:\n{log.read_text()[-2000:]}")
        summary = log_line(log)
        compute = None
        if args.compute:
            from grader.config import load_settings

            work = Path(scratch) / "compute"
            work.mkdir()
            per_template = measure_compute(load_settings(course), list(TEMPLATES), 1, work)
            compute = sum(per_template[template] for template in students.values())
    totals = account(sampler)
    n = args.n
    print(
        f"grader grade, {n} submissões, {cores} núcleo(s): {wall:.1f} s de parede, {wall * cores:.1f} núcleo-s"
    )
    print(f"  paralelismo (mín. entre workers e núcleos): {parallelism}")
    print(summary)
    rows = [
        ("kernels do aluno e replays", totals["kernels-S"]),
        ("kernels de testes", totals["kernels-T"]),
        ("servidores do aluno (importações, fork)", totals["server-S"]),
        ("servidores de testes (importações, fork)", totals["server-T"]),
        ("processo principal", totals["main"]),
        ("bwrap e outros", totals["other"]),
        ("ocioso (a máquina toda)", idle),
    ]
    print(f"  {'papel':<42} {'núcleo-s':>9} {'por submissão':>14}")
    for label, seconds in rows:
        print(f"  {label:<42} {seconds:9.1f} {seconds / n:12.2f} s")
    threads = sorted(sampler.threads.values(), reverse=True)
    print("    threads do principal (núcleo-s): " + ", ".join(f"{t:.1f}" for t in threads if t >= 0.05))
    counted = sum(seconds for _, seconds in rows)
    print(f"  {'soma':<42} {counted:9.1f}   (parede × núcleos: {wall * cores:.1f})")
    if compute is not None:
        kernels = totals["kernels-S"] + totals["kernels-T"]
        print(
            f"  cômputo dos notebooks num kernel só: {compute:.1f} núcleo-s ({compute / n:.2f} s por submissão)"
        )
        print(
            f"  kernels além do cômputo: {kernels - compute:.1f} núcleo-s ({(kernels - compute) / n:.2f} s por submissão)"
        )
        overhead = (wall * parallelism - compute) / n
        print(f"  sobrecarga por submissão, (parede × paralelismo − cômputo) / N: {overhead:.2f} s")
    if args.memory:
        print_peak(sampler, parallelism)
    return 0


def print_peak(sampler: TreeSampler, parallelism: int) -> None:
    at, sample = sampler.peak
    total = sum(pss for _, pss, _ in sample.values())
    print(
        f"memória no pico ({at:.1f} s após o início): PSS {total:.0f} MiB, "
        f"{total / parallelism:.0f} MiB por worker (÷ paralelismo {parallelism})"
    )
    labels = {
        "forked-S": "kernels do aluno e replays",
        "forked-T": "kernels de testes",
        "server-S": "servidores do aluno",
        "server-T": "servidores de testes",
        "main": "processo principal",
        "other": "bwrap e outros",
    }
    print(f"  {'papel':<42} {'processos':>9} {'PSS MiB':>8} {'USS MiB':>8}")
    for name, label in labels.items():
        count, pss, uss = sample.get(name, [0, 0.0, 0.0])
        print(f"  {label:<42} {count:9d} {pss:8.0f} {uss:8.0f}")


def log_line(log: Path) -> str:
    lines = [line for line in log.read_text().splitlines() if "submissões" in line]
    return "  " + (lines[-1] if lines else "(o grader não imprimiu o resumo)")


if __name__ == "__main__":
    sys.exit(main())
