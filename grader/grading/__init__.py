"""Grading a class: the orchestration (pipeline: its stages in order), one notebook's job (job), where jobs run
(workers here, cluster on Dask), what turns an executed notebook into points (score, with tamper's audit), each
student's saved result (results) and the gradebook (record), the report stage (reports) and the similarity
between answers (similarity).

May import: report, intake, kernels and the shared modules. Nothing below imports it."""
