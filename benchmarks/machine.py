"""How fast this machine is right now: a fixed workload on one thread, its CPU seconds.

    python -m benchmarks.machine && time make test && python -m benchmarks.machine

These machines are shared: the same `make test`, on the same tree, took 4 min 29 s and 5 min
49 s in one evening (CONTRIBUTING.md). CPU time, not wall time: a busy machine lengthens the
wall, a slower core (a neighbour on the host) both. One pass varies too, from 1.7 to 3.5 CPU-s
within a minute on an idle machine here: it runs REPEATS times and prints the fastest and the
median, the machine at its best and as it was over those seconds. A point measure: it suggests,
beside a timing, whether the host was slower; repeated timings are what show it.
"""
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one thread, as the Python loop
import numpy as np


def python_loop(n=20_000_000):
    """The loop at module scope (global names), as the figures in CONTRIBUTING.md were taken."""
    global i, total
    began, total = time.process_time(), 0
    for i in range(n):
        total += i * i
    return time.process_time() - began


def matmuls(size=600, count=60):
    a = np.random.default_rng(0).random((size, size))
    began = time.process_time()
    for _ in range(count):
        a @ a
    return time.process_time() - began


REPEATS = 7


if __name__ == "__main__":
    loops = sorted(python_loop(5_000_000) * 4 for _ in range(REPEATS))  # each as 20 M iterations
    products = sorted(matmuls() for _ in range(REPEATS))
    print(f"python loop (20 M iterations) {loops[0]:.2f} CPU-s fastest, {loops[REPEATS // 2]:.2f} median; "
          f"numpy matmuls {products[0]:.2f} fastest, {products[REPEATS // 2]:.2f} median ({REPEATS} runs each)")
