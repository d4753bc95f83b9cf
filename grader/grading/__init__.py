"""Grading a class: the orchestration (pipeline: ingest -> normalize -> run -> score -> record -> report), the
jobs and where they run (job, workers here, cluster on Dask), what turns an executed notebook into points
(score, with tamper's audit), the gradebook (record) and the similarity between answers.

May import: report, intake, kernels and the shared modules. Nothing below imports it."""
