import pytest

from tests.imagegen import ROOT


@pytest.fixture(scope="session")
def resmem():
    """The converted ResMem bucket loaded once (checksums verified), as the service loads it."""
    from core.model import ModelWrapper

    return ModelWrapper(ROOT / "assets" / "resmem")
