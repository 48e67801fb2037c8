"""Every process a test starts (a server, `python -m score`, a Ray worker) serves the contract
buckets unless the test names others: MODEL_BUCKET, FALSE_ALARM_BUCKET and MODEL_CACHE are set
for the whole run.

Each test is of one kind, marked so that each kind runs alone (`pytest -m contract`, `-m
fidelity`; CONTRIBUTING.md says how to choose): ``fidelity`` where the test says so
(``@pytest.mark.fidelity``), where it takes a fixture that serves ResMem, or where its module's
docstring starts with "Fidelity"; ``contract`` otherwise. A contract test that asks for ResMem
(a fixture here, ``tests.settings.open_resmem`` in its body) fails."""
import os

import pytest

import tests.settings
from tests.settings import BUCKET, CACHE, FALSE_BUCKET

os.environ["MODEL_BUCKET"] = str(BUCKET)
os.environ["MODEL_CACHE"] = str(CACHE)
os.environ["FALSE_ALARM_BUCKET"] = str(FALSE_BUCKET)

KINDS = ("contract", "fidelity")
RESMEM_FIXTURES = {"resmem", "keras_resmem", "resmem_service", "resmem_url", "tuned_resmem"}


def kind_of(item):
    marked = {kind for kind in KINDS if item.get_closest_marker(kind)}
    if len(marked) > 1:
        raise pytest.UsageError(f"{item.nodeid} is marked both contract and fidelity")
    resmem = sorted(RESMEM_FIXTURES & set(getattr(item, "fixturenames", ())))
    if marked == {"contract"} and resmem:
        raise pytest.UsageError(f"{item.nodeid} is marked contract but takes ResMem ({', '.join(resmem)})")
    if marked:
        return marked.pop()
    docstring = (getattr(item, "module", None) and item.module.__doc__) or ""
    return "fidelity" if resmem or docstring.lstrip().startswith("Fidelity") else "contract"


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(kind_of(item))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before the test's fixtures: tests.settings refuses ResMem to a contract test."""
    tests.settings.KIND = kind_of(item)


def pytest_runtest_teardown(item):
    tests.settings.KIND = None
