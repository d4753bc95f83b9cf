"""The single place of configuration for this course.

Read by the `grader` command (grader/config.py) and, through nbgrader_config.py, by plain `nbgrader`
and the JupyterLab formgrader, so every tool agrees. Plain Python: edit the values, keep the names; a
setting left out takes its default. The comments come from the table of settings in grader/config.py.
"""

# Course identity.
COURSE_ID = "programacao-diferenciavel"  # nbgrader's course id (default: the course folder's name)

# The students' repository: public, it holds only what `grader publish` writes (release notebooks, their data
# and a README). The "Abrir no Colab" links point at
# <STUDENT_REPOSITORY_URL>/blob/<BRANCH>/<assignment>/<nb>.ipynb, never at this course repository, which holds
# the solutions and hidden tests and must stay private.
# edit: the students' public repository (default: "": no repository yet, the Colab links lead nowhere)
STUDENT_REPOSITORY_URL = "https://github.com/SEU-USUARIO/programacao-diferenciavel-alunos"
STUDENT_REPOSITORY_BRANCH = "main"  # its branch, in the Colab links and `grader publish`

# Assignments, in teaching order: folder names under source/ and release/. Default: [].
ASSIGNMENTS = ["programacao_diferenciavel", "grafo_computacional", "diferenciacao_automatica"]

# Due dates (optional), assignment -> date, time and time zone ("2025-05-10 23:59 -0300", or a zone name as
# "2025-05-10 23:59 America/Sao_Paulo"). A submission is on time up to that instant; later ones are marked
# late (atrasada) in scores.json, index.html and the feedback, and the gradebook gets the due date, so the
# formgrader shows how late. The submission time is nbgrader's timestamp.txt when the student's folder has
# one, else the notebook file's time (in Moodle's zip, the time recorded inside the zip).
DUE_DATES = {}

# The release's quality gate (`grader release`): what nbgrader's model requires (valid metadata, unique ids,
# nothing of a solution or hidden test in the release, the solution earns full marks) always stops the
# release; this course's conventions (test cells locked, solution code between ### BEGIN/END SOLUTION, no
# outputs in source/, graded cells with points, the blank release earns zero) are warnings, or errors with
# True. Default: False.
STRICT_CONVENTIONS = True

# Gradebook: nbgrader's database. Any SQLAlchemy URL works; a relative sqlite path is taken from the course
# directory.
DB_URL = "sqlite:///gradebook.db"

# Grading defaults (the command line overrides DEVICE, WORKERS, SCHEDULER and SUBMISSION_TIMEOUT_S).
DEVICE = "auto"  # auto | cpu | cuda
WORKERS = 0  # 0: one per core (one per GPU with cuda)
SCHEDULER = None  # Dask scheduler ("tcp://host:8786"): run the notebooks on its workers; None: here
CELL_TIMEOUT_S = 120  # wall time one cell may take
SUBMISSION_TIMEOUT_S = 600  # wall time one whole notebook may take
# Each worker keeps a sandboxed Python with the notebooks' imports done (torch: 4-8 s) and forks a fresh
# kernel from it per submission (grader/kernels/warm.py); False starts every kernel from scratch.
WARM_KERNELS = True

# What the grader reads of what students send (grader/intake/entries.py), before anything runs: a notebook
# over a limit is never read (whatever a zip's header says, reading stops at the limit) and that student's
# result is an error naming the file, its size and the limit; the rest of the class is graded.
MAX_NOTEBOOK_MB = 50  # largest notebook file a student may hand in
MAX_SUBMISSION_MB = 100  # all of one student's notebooks together

# Limits per submission, enforced by the sandbox (grader/kernels/sandbox.py).
SANDBOX = True  # `--no-sandbox` turns it off for one run, and the report says so
CPU_TIME_S = 900  # CPU seconds (all threads) for one kernel
MEMORY_MB = 6144  # address space of the kernel
SUBMISSION_MEMORY_MB = 6144  # resident memory of a submission's processes, all together
MAX_PROCESSES = 256  # processes and threads the kernel may hold
MAX_FILE_MB = 64  # largest file the kernel may write
MAX_OUTPUT_KB = 512  # outputs kept per cell in the graded notebook
# The most one answer of the student's kernel may carry to the trusted test kernel (a result, the arguments it
# changed): more fails that test (grader/kernels/standalone/inkernel/wire.py).
MAX_TRANSFER_MB = 64

# Moodle: the language of moodle.csv's headers when no grading worksheet is given (`grader grade --worksheet`
# fills the worksheet downloaded from the assignment instead, in its own language): "pt_br" or "en".
MOODLE_LANGUAGE = "pt_br"

# Text that replaces solutions in the student release (Portuguese: students read it).
CODE_STUB = "# SEU CÓDIGO AQUI\nraise NotImplementedError()"  # replaces solution code
TEXT_STUB = "SUA RESPOSTA AQUI"  # replaces written answers


def configure_nbgrader(c):
    """Apply these settings to an nbgrader traitlets config `c` (nbgrader_config.py calls it)."""
    import grader.config

    grader.config.configure_nbgrader(c, globals())
