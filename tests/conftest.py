"""Every process a test starts (a server, `python -m score`, a Ray worker) serves the contract
buckets unless the test names others: MODEL_BUCKET, FALSE_ALARM_BUCKET and MODEL_CACHE are set
for the whole run."""
import os

from tests.settings import BUCKET, CACHE, FALSE_BUCKET

os.environ["MODEL_BUCKET"] = str(BUCKET)
os.environ["FALSE_ALARM_BUCKET"] = str(FALSE_BUCKET)
os.environ["MODEL_CACHE"] = str(CACHE)
