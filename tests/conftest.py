"""Every process a test starts (a server, `python -m score`, a Ray worker) serves the contract
bucket unless the test names another: MODEL_BUCKET and MODEL_CACHE are set for the whole run."""
import os

from tests.settings import BUCKET, CACHE

os.environ["MODEL_BUCKET"] = str(BUCKET)
os.environ["MODEL_CACHE"] = str(CACHE)
