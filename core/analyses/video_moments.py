"""What a video's timeline of scores gives (core/analyses/video.py): its most memorable moments, their
thumbnails kept as the frames are scored, its best clip, and the error of a video cut short."""
import heapq
import math

import numpy as np

from core.inputs.video_frames import EPSILON


def moments(times, scores, top, fps):
    """Indices of the ``top`` highest scores, each at least 2 s (or 1/fps, if larger) from the
    others, so that they are different moments and not neighbours."""
    min_gap = _gap(fps)
    chosen = []
    for index in np.argsort(-np.asarray(scores), kind="stable"):
        if all(abs(times[index] - times[other]) >= min_gap - EPSILON for other in chosen):
            chosen.append(int(index))
            if len(chosen) == top:
                break
    return chosen


class Thumbnails:
    """The thumbnails of the frames that can be among ``moments(times, scores, top, fps)``, made
    from the frames as the timeline scores them (VideoReader.timeline's ``each``): no second
    decoding pass. ``make(rgb)`` makes one. moments takes the highest scores in turn and
    drops each one within the gap of one taken, and one taken drops at most ``blocked``
    neighbours (the samples are 1/fps apart), so the last of ``top`` taken ranks at most
    top x (1 + blocked): only that many of the best frames so far are kept."""

    def __init__(self, top, fps, make):
        blocked = 2 * (math.ceil(_gap(fps) * fps) + 1)
        self.room, self.make, self.kept = top * (1 + blocked), make, []  # heap of (score, -index, thumbnail)

    def offer(self, index, rgb, score):
        key = (score if score == score else -math.inf, -index)  # the order of moments' argsort; NaN last
        if len(self.kept) < self.room:
            heapq.heappush(self.kept, (*key, self.make(rgb)))
        elif key > self.kept[0][:2]:
            heapq.heapreplace(self.kept, (*key, self.make(rgb)))

    def of(self, index):
        """The thumbnail of frame ``index``, one that moments chose."""
        return next(thumbnail for _, minus, thumbnail in self.kept if -minus == index)


def _gap(fps):
    return max(2.0, 1 / fps)


def cut_short(name, frames):
    """The error of a video that ended early or broke: its frames before the break are scored."""
    return f"{name} ended early or is corrupt: the {frames} frames before the break are scored"


def best_clip(times, scores, seconds, duration):
    """(start, end, mean) of the window of ``seconds`` inside the video, starting at a sample,
    whose samples have the highest mean score."""
    times, scores = np.asarray(times), np.asarray(scores, np.float64)
    best = None
    for first, start in enumerate(times):
        if best is not None and start + seconds > duration + EPSILON:
            break  # windows that would run past the end (the first one always counts)
        inside = scores[first:][times[first:] < start + seconds - EPSILON]
        mean = float(inside.mean())
        if best is None or mean > best[2] + 1e-12:
            best = (float(start), float(start + seconds), mean)
    return best
