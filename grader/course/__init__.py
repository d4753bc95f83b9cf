"""The instructor's course, before any submission: `grader init` (an nbgrader course becomes ours), `grader
release` (release/ from source/, with its static checks), the release gate (grades source/ and release/ with the
grader itself) and `grader publish` (the students' repository).

May import: grading (the gate grades), intake, report, and the shared modules below them."""
