"""Code that runs inside the graded kernels, not in the grader's process.

Bound read-only into both sandboxes at /run/grader-sandbox/inkernel and imported there as `inkernel`
(stdlib, plus numpy and torch when installed; nothing from the `grader` package):
- wire.py     the data that crosses between the two kernels, framed and capped;
- agent.py    in the student's kernel (S): runs the student's functions when the test kernel asks;
- runtime.py  in the trusted test kernel (T): the test cells' stand-ins for the student's names;
- fastpath.py in both: IPython's token pass skipped for cells that are plain Python.
"""
