"""The formgrader's Autograde button, replaced: it regrades the submission with `grader grade` (sandbox, test
cells restored from source/, decoys) instead of nbgrader's own autograde, which would run the student's code
unsandboxed and first delete what `grader grade` recorded.

A Jupyter server extension, enabled where the package is installed (jupyter-config/, pyproject's data-files). Its handler answers the
formgrader's own URL, /formgrader/api/submission/<assignment>/<student>/autograde, with the JSON the button
expects ({"success", "log", "error"}); Jupyter loads extensions in name order, so this one is matched before
nbgrader's.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web


class AutogradeWithGrader(JupyterHandler):
    @web.authenticated
    async def post(self, assignment_id: str, student_id: str) -> None:
        formgrader = self.settings.get("nbgrader_formgrader")
        course = Path(formgrader.coursedir.root if formgrader else self.settings.get("server_root_dir", "."))
        submitted = course / "submitted" / student_id / assignment_id
        if not submitted.is_dir():
            self.finish(json.dumps({"success": False, "error": f"sem envio em {submitted}", "log": ""}))
            return
        with tempfile.TemporaryDirectory(prefix="recorrigir-") as scratch:
            target = Path(scratch) / student_id / assignment_id
            target.mkdir(parents=True)
            for notebook in [*submitted.glob("*.ipynb"), *submitted.glob("timestamp.txt")]:  # the same time
                shutil.copy2(notebook, target / notebook.name)
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "grader.cli",
                "--course-dir",
                str(course),
                "grade",
                assignment_id,
                "--submissions",
                scratch,
                "--no-progress",
                "--force",  # the button asks for a regrade, even of an unchanged submission
                "--workers",
                "1",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=str(course),
            )
            output, _ = await process.communicate()
        log = output.decode("utf-8", "replace")
        ok = process.returncode == 0
        self.finish(json.dumps({"success": ok, "log": log, "error": "" if ok else log[-2000:]}))


def _jupyter_server_extension_points():
    return [{"module": "grader.formgrader"}]


def _load_jupyter_server_extension(server_app) -> None:
    web_app = server_app.web_app
    pattern = url_path_join(
        web_app.settings["base_url"], r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde"
    )
    web_app.add_handlers(".*$", [(pattern, AutogradeWithGrader)])
    server_app.log.info("grader: o botão Autograde do formgrader recorrige com `grader grade`")
