import pytest

from tests.settings import open_model, open_resmem


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
