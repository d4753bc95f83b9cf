"""Running one notebook: two kernels per submission (the student's and the trusted test kernel), sandboxed
(sandbox), forked from warm servers (warm), driven cell by cell with limits (execute). `standalone/` holds the
stdlib-only programs these start as processes and the code both kernels load (inkernel).

May import only the shared modules; knows nothing of scores, the gradebook or reports."""
