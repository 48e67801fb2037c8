"""The middle layer: the model. Outputs (outputs.py), verified buckets (bucket.py, checksums.py),
tiers and runtimes (tiers.py, runtimes.py, networks.py), the shared forward passes (batcher.py,
metrics.py) and the wrapper that scores prepared inputs (wrapper.py). Imports core.inputs only."""
