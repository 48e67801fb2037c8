"""Contract (no model: a forward of its own): the model's Prometheus metrics count what their help
says. The queue depth is images, not passes: two requests of three images wait behind a pass as
six, which one pass of six then takes."""
from prometheus_client import REGISTRY

from core.model.batcher import Batcher
from tests.unit.batching import GatedForward, images, submit_in_thread, wait_for_queue


def metric(name):
    return REGISTRY.get_sample_value(name)


def test_the_queue_depth_counts_the_images_waiting_for_a_pass():
    text = {family.name: family.documentation for family in REGISTRY.collect()}
    assert text["memorability_queue_depth"] == "Images waiting for a forward pass"
    forward = GatedForward()
    batcher = Batcher(forward, max_batch=8, max_wait=0.001, max_queue=64, seconds_per_image=0.25)
    results = {}
    threads = [submit_in_thread(batcher, images(1), results, "running")]
    assert forward.entered.wait(60)  # its pass holds the model
    threads += [submit_in_thread(batcher, images(v, v, v), results, v) for v in (10, 20)]
    wait_for_queue(batcher, 6)
    assert metric("memorability_queue_depth") == 6
    forward.gate.set()
    for thread in threads:
        thread.join(60)
    assert forward.sizes == [1, 6] and metric("memorability_queue_depth") == 0
    batcher.close()
