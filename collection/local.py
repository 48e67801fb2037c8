"""Score a collection in this process: the Python API behind `python -m score`.

    from collection import Scorer
    with Scorer() as scorer:                       # the bucket and tier of config.settings()
        for result in scorer.score(paths):         # paths, bytes or PIL images, any number
            print(result.path, result.scores["memorability"], result.error)   # scores: None on an error

    Scorer(MODEL_PRECISION="lite-int8", BATCH_SIZE=4)   # settings by name (config.Settings)
    Scorer(stable=True)     # each score the mean of the photo and its mirror: result.scores.mirror_delta

A small thread pool reads, decodes and preprocesses the photos ahead of the model, through the
one input pipeline (core/inputs/pipeline.py), while the calling thread runs the forward passes in
batches, through ModelWrapper.predict and its batcher. With ``maps=True`` each photo's map comes
from core.analyses.explain.map_photo, as /model/explain makes it.

``score`` is a generator that holds a bounded window of photos, so memory stays flat whatever
the collection's size, and it yields one Result per input, in input order. A photo that cannot
be scored gets a Result with ``error`` (the service's own message) instead of stopping the run,
and so does one on which anything else goes wrong ("<name> could not be scored: <type>:
<message>", ``failed``), its traceback logged: a bug met on one file is seen, and the others are
scored.
"""
import io
import os
from concurrent.futures import ThreadPoolExecutor

import config
from collection.inputs import Input
from collection.items import Frame, chunks, describe, failed, ordered_map
from core.inputs.files import check_size
from core.inputs.images import ImageError
from core.inputs.kinds import NEITHER, VIDEO, classify, image_refusal, size_limit

TOP_MOMENTS = 3  # a video's most memorable frames that --maps maps
class Video:
    """An input found to be a video: its frames are decoded and scored as the batch runs."""

    def __init__(self, path, label):
        self.path, self.label = path, label


WORKERS = 2  # threads that decode ahead of the model: on 2 cores, enough to keep it busy


class LocalScorer:
    """Scores photos with the model of ``settings`` (config.Settings; default: this process's,
    changed by ``overrides``) in this process."""

    def __init__(self, settings=None, *, workers=WORKERS, maps=False, stable=None, fps=1.0, crops=None, regions=None,
                 **overrides):
        """``crops``: core.analyses.crops.Ratio list, ``regions``: {realpath: [core.analyses.regions.Region]}, for
        the --crops and --regions columns (collection/design.py)."""
        from core.analyses.explain import MapSettings
        from core.model.wrapper import ModelWrapper

        self.settings = (settings or config.settings()).replace(**overrides)
        self.workers, self.maps, self.fps = workers, maps, fps
        self.crops, self.regions = crops, regions
        self.stable = self.settings.stable_by_default if stable is None else stable
        self.model = ModelWrapper(self.settings, warm_up=False)
        self.outputs = self.model.outputs  # the columns of its rows (MODEL_OUTPUTS)
        self.map_settings = MapSettings.from_settings(self.settings)
        self.description = f"{self.model.MODEL_META_DATA['name']} ({self.model.precision}) in this process"

    def score(self, items):
        """collection.items.Scorer.score."""
        pool = ThreadPoolExecutor(self.workers, "decode") if self.workers else None
        batch_size = self.settings.BATCH_SIZE
        try:
            # Enough read-ahead that the next batch is decoded while this one runs.
            loaded = ordered_map(pool, self._load, enumerate(items), ahead=2 * batch_size)
            for batch in chunks(loaded, batch_size):
                yield from self._forward(batch)
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)

    def _load(self, index, item):
        """(Result with the size or the error, the core.inputs.pipeline.Photo or Video or None, the name
        its messages give it); runs in the pool."""
        result, source, label = describe(index, item)
        if result.error:  # a folder that could not be listed
            return result, None, label
        try:
            return (*self._prepare(result, source, label, item), label)
        except Exception as error:  # noqa: BLE001 -- this input's row; the traceback is logged
            return failed(result, label, error), None, label

    def _prepare(self, result, source, label, item):
        try:
            kind = classify(source, label)  # the bytes decide: a video named .jpg is a video
            if kind.kind == VIDEO:
                if isinstance(source, (str, os.PathLike)):
                    check_size(label, os.stat(source).st_size, *size_limit(kind, self.settings))
                else:  # a Fetched input's bytes: PyAV reads a file object
                    source = io.BytesIO(source)
                return result, Video(source, label)  # scored frame by frame in _forward
            if kind.kind == NEITHER:
                raise image_refusal(kind, label)
            # The read-ahead keeps no full-size picture: an overlay's for the maps, none else (the
            # crops decode theirs again when their turn comes, as /model/crops does).
            keep = self.map_settings.overlay_size if self.maps else False
            photo = self.model.pipeline.prepare(source, label, mirror=self.stable, keep_image=keep)
        except ImageError as error:
            result.error = str(error)
            result.not_image = isinstance(item, Input) and item.not_an_image(getattr(error, "kind", None))
            return result, None
        result.width, result.height = photo.size
        if self.crops:
            photo.source = source
        return result, photo

    def _forward(self, batch):
        for result, video, label in batch:
            if isinstance(video, Video):
                self._guarded(result, label, self._score_video, result, video)
        good = [entry for entry in batch if entry[1] is not None and not isinstance(entry[1], Video)]
        if good and self.maps:
            for result, photo, label in good:
                self._guarded(result, label, self._map, result, photo)
        elif good:
            self._predict(good)
        if self.crops or self.regions is not None:
            for result, photo, label in good:
                if result.error is None:
                    self._guarded(result, label, self._design, result, photo)
        return [result for result, _, _ in batch]

    def _map(self, result, photo):
        from core.analyses.explain import map_photo

        found = map_photo(self.model, photo, self.map_settings, self.stable)
        result.scores = found.scores
        result.heatmap, result.overlay = found.heatmap, found.overlay

    def _predict(self, good):
        """Scores of the batch's photos in one call; if it fails, each photo alone, so that only
        the photo it fails on gets the error row."""
        try:
            predictions = self.model.predict([photo for _, photo, _ in good], self.stable)
        except Exception as error:  # noqa: BLE001 -- which photo? each alone tells
            if len(good) == 1:
                failed(good[0][0], good[0][2], error)
            else:
                for entry in good:
                    self._predict([entry])
            return
        for (result, _, _), prediction in zip(good, predictions):
            result.scores = prediction

    @staticmethod
    def _guarded(result, label, function, *args):
        """``function(*args)``; an exception it raises is ``result``'s error row (``failed``)."""
        try:
            function(*args)
        except Exception as error:  # noqa: BLE001 -- this input's row; the traceback is logged
            failed(result, label, error)

    def _design(self, result, photo):
        """The --crops and --regions columns of one photo, by /model/crops' and /model/regions' code."""
        from collection.design import crop_values, key, regions_value

        result.extra = {}
        noise = self.settings.TIE_THRESHOLD
        if self.crops:
            from core.analyses.crops import search_crops, shortest_cut

            cut = shortest_cut(photo.size, self.crops, 1.0)
            try:
                with self.model.pipeline.for_cuts(photo.source, photo, cut, result.path or "image") as photo:
                    found = search_crops(self.model, photo, self.crops, self.map_settings, 1, noise=noise,
                                         stable=self.stable)
            except ImageError as error:  # the file changed since it was read ahead
                result.error = str(error)
                return
            result.extra.update(crop_values(found))
        marked = self.regions.get(key(result.path)) if self.regions and result.path else None
        if marked:
            from core.analyses.regions import measure_regions

            found = measure_regions(self.model, photo, marked, self.map_settings.baseline, noise, self.stable)
            result.extra["regions"] = regions_value(found)

    def _score_video(self, result, video):
        """A video's rows: one Frame per sampled time (core/analyses/video.py), and with maps, the maps of
        its most memorable frames, found again by seeking."""
        from core.analyses.video import VideoError, VideoReader, cut_short

        try:
            with VideoReader(video.path, video.label, self.settings) as reader:
                scored = reader.timeline(self.model, self.fps, self.stable)
                result.frames = [Frame(t, p) for t, p in scored]
                result.width, result.height = reader.size or (None, None)
                if not reader.complete:
                    result.error = cut_short(video.label, len(scored))
                if self.maps and scored:
                    result.moments = self._moment_maps(reader, scored)
        except VideoError as error:
            result.error, result.frames = str(error), None

    def _moment_maps(self, reader, scored):
        from core.analyses.explain import map_photo
        from core.analyses.video import moments
        from core.model.outputs import default_output

        output = default_output(self.model.outputs)  # the moments /model/video would choose, mapped by it
        times, scores = [t for t, _ in scored], [p[output] for _, p in scored]
        found = []
        for index in moments(times, scores, TOP_MOMENTS, self.fps):
            photo = self.model.pipeline.prepare(reader.frame_at(times[index]), mirror=self.stable,
                                                keep_image=self.map_settings.overlay_size)
            made = map_photo(self.model, photo, self.map_settings, self.stable)
            found.append((times[index], made.heatmap, made.overlay))
        return found

    def close(self):
        if self.model is not None:
            self.model.close()
            self.model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
