"""How fast this machine is right now: a fixed workload on one thread, its CPU seconds.

    python -m benchmarks.machine && time make test && python -m benchmarks.machine

These machines are shared: the same `make test`, on the same tree, took 4 min 29 s and 5 min
49 s in one evening, and this workload 3.1 s and 3.9 s beside them (CONTRIBUTING.md). Run it
before and after a timing, so that a slower machine is not taken for a slower tree. CPU time,
not wall time: a busy machine lengthens the wall, a slower core (a neighbour on the host) both.
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


if __name__ == "__main__":
    print(f"python loop {python_loop():.2f} CPU-s, numpy matmuls {matmuls():.2f} CPU-s")
