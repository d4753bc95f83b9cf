"""The `grader` command line. Errors the instructor can fix end in one line, exit status 2; failures of the
machine the grader knows of (grader/errors.py) in one line too, exit status 1."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

from grader.errors import GraderError, UserError
from grader.model import Status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Release and grade the course's notebooks.")
    parser.add_argument(
        "--course-dir",
        type=Path,
        default=None,
        help="course folder holding grader_config.py (default: this folder or a parent)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    release = sub.add_parser("release", help="regenerate release/ from source/ and check the quality gate")
    release.add_argument("assignments", nargs="*", help="assignments (default: all in grader_config.py)")
    release.add_argument(
        "--no-grade-check",
        action="store_true",
        help="skip running the notebooks (source full marks, blank release zero)",
    )
    release.add_argument(
        "--no-sandbox", action="store_true", help="run the gate's notebooks without the sandbox"
    )

    publish = sub.add_parser(
        "publish", help="copy the release into the students' repository and commit it (never pushes)"
    )
    publish.add_argument("assignments", nargs="*", help="assignments (default: all in grader_config.py)")
    publish.add_argument(
        "--to",
        type=Path,
        required=True,
        metavar="DIR",
        help="a clone of the students' repository, or a new folder (it runs git init there)",
    )

    grade = sub.add_parser("grade", help="grade a batch of submissions and write the reports")
    grade.add_argument("assignment")
    grade.add_argument(
        "--submissions",
        type=Path,
        required=True,
        help="folder (nbgrader layout or one folder per student) or Moodle's zip",
    )
    grade.add_argument("--report-dir", type=Path, default=Path("reports"))
    grade.add_argument("--workers", type=int, default=None, help="parallel kernels (default: cores, or GPUs)")
    grade.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    grade.add_argument("--timeout", type=int, default=None, help="wall-time limit per submission, in seconds")
    grade.add_argument(
        "--no-sandbox", action="store_true", help="run student code without the sandbox (the reports say so)"
    )
    grade.add_argument("--no-progress", action="store_true")
    grade.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Dask scheduler (tcp://host:8786): run the notebooks on its workers "
        "(default: SCHEDULER in grader_config.py; 'local': this machine)",
    )
    grade.add_argument(
        "--no-similarity",
        action="store_true",
        help="skip the similarity report (grader similarity) at the end",
    )
    grade.add_argument(
        "--force",
        action="store_true",
        help="grade every submission again (by default, a submission is graded again only when its files, the "
        "assignment, the grading settings or the grader changed)",
    )
    grade.add_argument(
        "--student",
        action="append",
        default=[],
        metavar="ID",
        help="grade only this student again, leaving the others as they are (repeat for several)",
    )
    _previous_argument(grade)
    _moodle_options(grade)

    similarity = sub.add_parser(
        "similarity",
        help="compare the graded students' answers, exercise by exercise, "
        "and write the similarity report (instructors only)",
    )
    similarity.add_argument("assignment")
    similarity.add_argument("--report-dir", type=Path, default=Path("reports"))
    _previous_argument(similarity)
    similarity.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="report pairs from this similarity on, between 0 and 1 (default: 0.7)",
    )
    similarity.add_argument(
        "--min-tokens",
        type=int,
        default=None,
        help="compare only answers with this many tokens beyond the release's text (default: 20)",
    )

    report = sub.add_parser("report", help="rebuild the reports from the gradebook and autograded/")
    report.add_argument("assignment")
    report.add_argument("--report-dir", type=Path, default=Path("reports"))
    _moodle_options(report)

    sub.add_parser(
        "init",
        help="turn an nbgrader course (nbgrader_config.py, source/) into a grader course: "
        "write grader_config.py with its settings",
    )

    demo = sub.add_parser(
        "demo",
        help="release, publish into a temporary folder, grade examples/submissions and print the table",
    )
    demo.add_argument("--workers", type=int, default=None)
    demo.add_argument("--no-sandbox", action="store_true")
    return parser


def _previous_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--previous",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="an earlier semester's autograded/ folder, or a zip of it, to compare with "
        "(repeat for several semesters)",
    )


def _moodle_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--worksheet",
        type=Path,
        default=None,
        metavar="CSV",
        help="Moodle's grading worksheet of the same assignment: names and stable student ids, and "
        "moodle.csv written as this worksheet filled in",
    )
    parser.add_argument(
        "--moodle-language",
        choices=["pt_br", "en"],
        default=None,
        help="moodle.csv's headers without --worksheet (default: MOODLE_LANGUAGE in grader_config.py)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stopped_by = [signal.SIGINT]
    previous = _terminate_like_ctrl_c(stopped_by)
    try:
        return COMMANDS[args.command](args)
    except GraderError as exc:  # UserError: 2, MachineError: 1
        print(f"erro: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print(
            "interrompido: o que já foi corrigido está salvo em autograded/ e no gradebook", file=sys.stderr
        )
        return 128 + stopped_by[0]
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate_like_ctrl_c(stopped_by: list[int]):
    """SIGTERM (kill, a scheduler's or a service's stop) does what Ctrl-C does: the run stops, what was graded
    stays recorded, every server is stopped. Returns the handler it replaced (None: none replaced)."""

    def on_sigterm(signum, frame):
        stopped_by[0] = signum
        # asyncio's while a run is on (it cancels it), else Python's
        handler = signal.getsignal(signal.SIGINT)
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


def _warn_placeholder(settings) -> None:
    from grader.course.release import placeholder_warning

    warning = placeholder_warning(settings)
    if warning:
        print(warning, file=sys.stderr)


def cmd_release(args) -> int:
    from grader.course import gate

    settings = _settings(args)
    _warn_placeholder(settings)
    names = args.assignments or settings.assignments
    for name in names:
        settings.source_notebooks(name)  # an unknown assignment stops here, before any is released
    failed = []
    for name in names:
        verdict = gate.regenerate_release(
            settings,
            name,
            grade_check=not args.no_grade_check,
            use_sandbox=not args.no_sandbox and settings.sandbox,
        )
        _print_verdict(name, verdict, settings)
        if not verdict.released:
            failed.append(name)
    if failed:
        raise UserError(
            f"o portão de qualidade falhou em {', '.join(failed)} (release/ ficou como estava): "
            "corrija source/ e rode `grader release` de novo"
        )
    return 0


def _print_verdict(name: str, verdict, settings) -> None:
    for line in verdict.errors:
        print(f"  ✗ {line}")
    for line in verdict.warnings:
        print(f"  ! {line}")
    warned = (
        (
            f"; {len(verdict.warnings)} aviso(s) das convenções do curso (STRICT_CONVENTIONS = True em "
            "grader_config.py os torna erros)"
        )
        if verdict.warnings
        else ""
    )
    if verdict.released:
        print(f"{name}: liberação OK em {settings.release_dir / name}{warned}")
    else:
        print(
            f"{name}: {len(verdict.errors)} problema(s); {settings.release_dir / name} não foi alterada{warned}"
        )


def cmd_publish(args) -> int:
    settings = _settings(args)
    _warn_placeholder(settings)
    _publish(settings, args.assignments, args.to)
    return 0


def _publish(settings, assignments: list[str], to: Path, *, temporary: bool = False) -> None:
    from grader.course import publish

    done = publish.publish(settings, assignments, to)
    for line in done.problems:
        print(f"  ✗ {line}")
    if done.problems:
        raise UserError(
            f"nada foi publicado em {done.folder}: o que está acima não pode chegar aos alunos; "
            "corrija source/, rode `grader release` e publique de novo"
        )
    print(f"{done.folder}:")
    for name in done.files:
        print(f"  {name}")
    print(f"commit {done.commit}" if done.commit else "nada mudou desde a última publicação: nada a commitar")
    if temporary:
        print("(pasta temporária da demonstração: apagada ao final)")
        return
    print("para enviar aos alunos (o grader nunca faz o push):")
    for command in done.push:
        print(f"  {command}")


def _report_dir(path: Path) -> Path:
    return path if path.is_absolute() else Path.cwd() / path


def cmd_grade(args) -> int:
    from grader.grading import pipeline

    settings = _settings(args)
    options = pipeline.GradeOptions(
        submissions=args.submissions,
        report_dir=_report_dir(args.report_dir),
        workers=args.workers,
        device=args.device,
        timeout=args.timeout,
        sandbox=False if args.no_sandbox else None,
        progress=not args.no_progress,
        scheduler=args.scheduler,
        similarity=not args.no_similarity,
        previous=args.previous,
        worksheet=args.worksheet,
        moodle_language=args.moodle_language,
        force=args.force,
        students=args.student,
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
    if run.similarity:
        print(run.similarity)
    print(run.reuse)
    graded = sum(r.status == Status.GRADED for r in run.results)
    print(
        f"{len(run.results)} submissões ({graded} corrigidas) em {run.seconds:.1f} s, "
        f"{run.workers} worker(s), dispositivo {run.device}; relatórios em {run.report_folder}"
    )


def cmd_report(args) -> int:
    from grader.grading import reports

    settings = _settings(args)
    settings.source_notebooks(args.assignment)
    table, folder = reports.rebuild_reports(
        settings,
        args.assignment,
        _report_dir(args.report_dir),
        moodle_language=args.moodle_language,
        worksheet=args.worksheet,
    )
    print(table)
    print(f"relatórios em {folder}")
    return 0


def cmd_similarity(args) -> int:
    from grader.grading import reports, similarity

    settings = _settings(args)
    options = {"threshold": args.threshold, "min_tokens": args.min_tokens}
    report_dir = _report_dir(args.report_dir)
    report = similarity.similarity_report(
        settings,
        args.assignment,
        report_dir,
        args.previous,
        **{k: v for k, v in options.items() if v is not None},
    )
    for note in report.notes:
        print(f"• {note}")
    for pair in report.pairs[:10]:
        print(
            f"  {pair.score:4.0%}  {pair.exercise.title}: {similarity.who(pair.a)} e {similarity.who(pair.b)}"
        )
    if len(report.pairs) > 10:
        print(f"  … e mais {len(report.pairs) - 10}")
    if (report_dir / args.assignment / "index.html").is_file():  # the overview links to the new report
        reports.rebuild_reports(settings, args.assignment, report_dir)
    print(similarity.summary(report))
    return 0


def cmd_demo(args) -> int:
    from grader.course import gate
    from grader.grading import pipeline

    settings = _settings(args)
    assignment = "programacao_diferenciavel"
    use_sandbox = not args.no_sandbox and settings.sandbox
    started = time.monotonic()
    verdict = gate.regenerate_release(settings, assignment, grade_check=True, use_sandbox=use_sandbox)
    for line in verdict.errors:
        print(f"  ✗ {line}")
    if not verdict.released:
        raise UserError("a liberação de demonstração falhou no portão de qualidade (veja acima)")
    print(f"{assignment}: liberação regenerada e verificada em {time.monotonic() - started:.1f} s")
    _warn_placeholder(settings)
    with tempfile.TemporaryDirectory() as scratch:  # the demo's students' repository: shown, then removed
        _publish(settings, [], Path(scratch) / "curso-alunos", temporary=True)
    options = pipeline.GradeOptions(
        submissions=settings.course_dir / "examples" / "submissions" / assignment,
        report_dir=settings.course_dir / "reports",
        workers=args.workers,
        sandbox=False if args.no_sandbox else None,
    )
    run = pipeline.grade(settings, assignment, options)
    _print_run(run)
    return 0


def cmd_init(args) -> int:
    from grader.course.init import init_course

    course = args.course_dir or Path.cwd()
    done = init_course(course)
    print(f"{course / 'grader_config.py'} criado com as configurações do curso do nbgrader:")
    for name, value in done.values.items():
        print(f"  {name} = {value!r}")
    for note in done.notes:
        print(f"• {note}")
    if done.appended:
        print("• nbgrader_config.py agora carrega grader_config.py no fim (o resto dele continua valendo)")
    print(
        "próximos passos: edite STUDENT_REPOSITORY_URL em grader_config.py e rode `grader release` (que confere "
        "os notebooks com o portão de qualidade) e `grader grade <atividade> --submissions <pasta ou zip>`"
    )
    return 0


COMMANDS = {
    "init": cmd_init,
    "release": cmd_release,
    "publish": cmd_publish,
    "grade": cmd_grade,
    "report": cmd_report,
    "similarity": cmd_similarity,
    "demo": cmd_demo,
}

if __name__ == "__main__":
    sys.exit(main())
