"""The `grader` command line. Errors the instructor can fix end in one line, exit status 2."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from grader.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Release and grade the course's notebooks.")
    parser.add_argument("--course-dir", type=Path, default=None,
                        help="course folder holding grader_config.py (default: this folder or a parent)")
    sub = parser.add_subparsers(dest="command", required=True)

    release = sub.add_parser("release", help="regenerate release/ from source/ and check the quality gate")
    release.add_argument("assignments", nargs="*", help="assignments (default: all in grader_config.py)")
    release.add_argument("--no-grade-check", action="store_true",
                         help="skip running the notebooks (source full marks, blank release zero)")
    release.add_argument("--no-sandbox", action="store_true", help="run the gate's notebooks without the sandbox")

    grade = sub.add_parser("grade", help="grade a batch of submissions and write the reports")
    grade.add_argument("assignment")
    grade.add_argument("--submissions", type=Path, required=True,
                       help="folder (nbgrader layout or one folder per student) or Moodle's zip")
    grade.add_argument("--report-dir", type=Path, default=Path("reports"))
    grade.add_argument("--workers", type=int, default=None, help="parallel kernels (default: cores, or GPUs)")
    grade.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    grade.add_argument("--timeout", type=int, default=None, help="wall-time limit per submission, in seconds")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run student code without the sandbox (the reports say so)")
    grade.add_argument("--no-progress", action="store_true")
    grade.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="Dask scheduler (tcp://host:8786): run the notebooks on its workers "
                            "(default: SCHEDULER in grader_config.py; 'local': this machine)")

    report = sub.add_parser("report", help="rebuild the reports from the gradebook and autograded/")
    report.add_argument("assignment")
    report.add_argument("--report-dir", type=Path, default=Path("reports"))

    demo = sub.add_parser("demo", help="release, grade examples/submissions and print the table")
    demo.add_argument("--workers", type=int, default=None)
    demo.add_argument("--no-sandbox", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stopped_by = [signal.SIGINT]
    previous = _terminate_like_ctrl_c(stopped_by)
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"erro: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrompido: o que já foi corrigido está salvo em autograded/ e no gradebook", file=sys.stderr)
        return 128 + stopped_by[0]
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate_like_ctrl_c(stopped_by: list[int]):
    """SIGTERM (kill, a scheduler's or a service's stop) does what Ctrl-C does: the run stops, what was graded
    stays recorded, every server is stopped. Returns the handler it replaced (None: none replaced)."""

    def on_sigterm(signum, frame):
        stopped_by[0] = signum
        handler = signal.getsignal(signal.SIGINT)  # asyncio's while a run is on (it cancels it), else Python's
        if not callable(handler):
            raise KeyboardInterrupt
        handler(signal.SIGINT, frame)

    try:
        return signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (main() called from a thread): signals are not its to handle
        return None


def _settings(args):
    from grader.config import load_settings

    return load_settings(args.course_dir)


def cmd_release(args) -> int:
    from grader import gate

    settings = _settings(args)
    names = args.assignments or settings.assignments
    ok = True
    for name in names:
        problems = gate.release_and_check(settings, name, grade_check=not args.no_grade_check,
                                          use_sandbox=not args.no_sandbox and settings.sandbox)
        for line in problems:
            print(f"  ✗ {line}")
        print(f"{name}: {'liberação OK' if not problems else f'{len(problems)} problema(s)'}")
        ok &= not problems
    if not ok:
        raise UserError("o portão de qualidade falhou: corrija source/ e rode `grader release` de novo")
    return 0


def _report_dir(path: Path) -> Path:
    return path if path.is_absolute() else Path.cwd() / path


def cmd_grade(args) -> int:
    from grader import pipeline

    settings = _settings(args)
    options = pipeline.GradeOptions(
        submissions=args.submissions, report_dir=_report_dir(args.report_dir), workers=args.workers,
        device=args.device, timeout=args.timeout, sandbox=False if args.no_sandbox else None,
        progress=not args.no_progress, scheduler=args.scheduler,
    )
    run = pipeline.grade(settings, args.assignment, options)
    _print_run(run)
    return 0


def _print_run(run) -> None:
    for note in run.notes:
        print(f"• {note}")
    for result in run.results:
        for note in result.notes:
            print(f"• {result.student_id}: {note}")
    print(run.table)
    graded = sum(r.status == "graded" for r in run.results)
    print(f"{len(run.results)} submissões ({graded} corrigidas) em {run.seconds:.1f} s, "
          f"{run.workers} worker(s), dispositivo {run.device}; relatórios em {run.report_folder}")


def cmd_report(args) -> int:
    from grader import pipeline

    settings = _settings(args)
    settings.source_notebooks(args.assignment)
    table, folder = pipeline.rebuild_reports(settings, args.assignment, _report_dir(args.report_dir))
    print(table)
    print(f"relatórios em {folder}")
    return 0


def cmd_demo(args) -> int:
    from grader import gate, pipeline

    settings = _settings(args)
    assignment = "programacao_diferenciavel"
    use_sandbox = not args.no_sandbox and settings.sandbox
    started = time.monotonic()
    problems = gate.release_and_check(settings, assignment, grade_check=True, use_sandbox=use_sandbox)
    for line in problems:
        print(f"  ✗ {line}")
    if problems:
        raise UserError("a liberação de demonstração falhou no portão de qualidade (veja acima)")
    print(f"{assignment}: liberação regenerada e verificada em {time.monotonic() - started:.1f} s")
    options = pipeline.GradeOptions(
        submissions=settings.course_dir / "examples" / "submissions" / assignment,
        report_dir=settings.course_dir / "reports", workers=args.workers,
        sandbox=False if args.no_sandbox else None,
    )
    run = pipeline.grade(settings, assignment, options)
    _print_run(run)
    return 0


COMMANDS = {"release": cmd_release, "grade": cmd_grade, "report": cmd_report, "demo": cmd_demo}

if __name__ == "__main__":
    sys.exit(main())
