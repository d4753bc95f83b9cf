"""What comes in, made ready to run: the assignment (source and release notebooks, its files), the class's
submissions as Moodle exports them (ingest), and each submitted notebook aligned with the release and rebuilt
from it (normalize: the student's answers in the instructor's notebook).

May import only the shared modules (config, model, nbmeta, timestamps, errors); runs no code."""
