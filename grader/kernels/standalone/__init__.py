"""Programs run as their own processes, by path, with nothing but the standard library: pidns.py (bwrap's
launcher, init of its PID namespace), kernel_limits.py (rlimits, then exec the kernel), zygote.py (the warm
server that forks kernels), relay.py (between the grader and a student's kernel: pyzmq besides the standard
library, run outside the sandbox), and inkernel/ (what the student's kernel and the test kernel run besides the
notebook). Shown read-only inside the sandbox; they import nothing from the grader."""
