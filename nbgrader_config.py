# Plain `nbgrader` and the JupyterLab formgrader read this file; every setting lives in grader_config.py.
import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "grader_config", os.path.join(os.path.dirname(os.path.abspath(__file__)), "grader_config.py")
)
_settings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_settings)
_settings.configure_nbgrader(get_config())  # noqa: F821 (nbgrader provides get_config)
