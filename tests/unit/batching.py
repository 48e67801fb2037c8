"""The tests' tools for core/model/batcher.py: a forward pass that waits for the test to open its
gate, images that score as their value, and submits from threads of their own."""
import threading

import numpy as np

from core.inputs.deadline import LIGHT


class GatedForward:
    """Scores each image by its sum; the first pass waits until the test opens the gate."""

    def __init__(self):
        self.gate, self.entered, self.sizes, self.passes = threading.Event(), threading.Event(), [], []

    def __call__(self, batch):
        self.sizes.append(len(batch))
        self.passes.append(batch[:, 0, 0, 0].tolist())  # which images, by their value
        self.entered.set()
        self.gate.wait(60)  # a hang guard: each test opens the gate
        return batch.reshape(len(batch), -1).sum(axis=1)


def images(*values):
    return np.stack([np.full((2, 2, 3), v, np.float32) for v in values])


def submit_in_thread(batcher, batch, results, key, priority=LIGHT, timeout=None, then=None):
    """``batcher.submit(batch)`` in a thread of its own, inside a request of ``priority`` and
    ``timeout``; ``then`` more batches submitted by the same request after it."""
    def run():
        try:
            with batcher.request(priority, timeout):
                results[key] = batcher.submit(batch)
                for index, more in enumerate(then or ()):
                    results[(key, index)] = batcher.submit(more)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[key] = error
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for_queue(batcher, count):
    batcher.wait_until(lambda queued, running: queued == count)
