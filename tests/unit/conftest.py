import threading

import pytest

from core.model.batcher import Batcher
from tests.settings import open_model, open_resmem
from tests.wait import SteppedClock


@pytest.fixture(scope="session")
def model():
    """The contract bucket (tests/settings.py: the tiny ResMem) loaded once, as the service loads it."""
    model = open_model()
    yield model
    model.close()


@pytest.fixture(scope="session")
def resmem():
    """The converted ResMem bucket loaded once (checksums verified): for the fidelity tests."""
    model = open_resmem()
    yield model
    model.close()


@pytest.fixture(scope="session")
def keras_resmem(resmem):
    """ResMem's Keras network with the bucket's weights, built once for every unit test."""
    from core.model.networks import build_network

    model = build_network(resmem.bucket.architecture, resmem.spec.crop, resmem.bucket.architecture_options)
    model.load_weights(resmem.bucket.weights_path)
    return model


# A hung runtime, for the liveness and admission tests (test_health.py, test_admission.py).
class Gated:
    """The model's own forward, run only once the gate opens."""

    def __init__(self, forward):
        self.forward, self.gate, self.entered = forward, threading.Event(), threading.Event()

    def __call__(self, batch):
        self.entered.set()
        self.gate.wait(120)  # a hang guard: the test opens it
        return self.forward(batch)


@pytest.fixture
def hung(model):
    """The tiny model with a gated runtime in a batcher of its own; the model's own afterwards."""
    own = model.batcher
    gated = Gated(own.forward)
    model.batcher = Batcher(gated, own.max_batch, own.max_wait, own.max_queue, own.seconds_per_image, pass_timeout=30,
                            clock=SteppedClock())  # a test steps it past PASS_TIMEOUT
    yield model, gated
    gated.gate.set()
    model.batcher.close()
    model.batcher = own
