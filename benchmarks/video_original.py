"""The loop users write today, for `make bench-video`: decode a video with PyAV, turn one frame a
second into a PIL image and score it with the original `resmem` package. Runs in .venv-ref
(CPU PyTorch, `make reference`), never in the service; prints nothing, writes --out as JSON."""
import argparse
import json
import resource
import sys
import tempfile
import time

import av
import torch

from training.reference_scores import import_resmem


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("video")
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--wheel", required=True, help="the verified resmem-1.1.6 wheel")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        resmem = import_resmem(args.wheel, tmp)
        model = resmem.ResMem(pretrained=True).eval()
    scores, next_time = [], 0.0
    begin = time.perf_counter()
    with torch.no_grad(), av.open(args.video) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.time + 1e-6 >= next_time:  # the first frame at or after each second
                x = resmem.transformer(frame.to_image()).view(-1, 3, 227, 227)
                scores.append(float(model(x).item()))
                next_time += 1 / args.fps
    seconds = time.perf_counter() - begin
    with open(args.out, "w") as out:
        json.dump({"seconds": seconds, "scores": scores,
                   "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
