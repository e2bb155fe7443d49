"""Collections larger than memory: lazy video sources and a prefetching batch stream.

``train_batches`` holds every video in memory. For a platform's collection (millions of
videos, terabytes of features) only the lengths fit, so an epoch is planned from lengths
alone (``plan_epoch``: the same length-sorted, jittered, shuffled batches as
``train_batches``) and each batch's videos are read when it is due, by a background thread
that keeps ``prefetch`` batches ready (``stream_batches``). Memory is bounded by
``prefetch`` batches whatever the collection's size, and data order stays a pure function
of the epoch's generator, so a resumed run sees the same batches.

Sources (``VideoSource``: ``len``, ``lengths()``, ``load(i)``):

* ``H5Source``: any number of eccv16-layout h5 files, read a video at a time; lengths come
  from the datasets' shapes, without reading features. Shuffling spans every file.
* ``MemorySource``: videos already loaded (what ``csum.train.train_fold`` streams from).
* ``SyntheticSource``: videos generated on the fly from ``(seed, index)``, for tests and
  the loader benchmark (``benchmarks/loader.py``).

Why not grain: csum's batches are variable-length buckets planned over the whole epoch
(sorted by jittered length, then shuffled), which grain's samplers and batch operations
do not express without a custom sampler that is this module's plan; and reading is h5py
plus a numpy copy, which a thread overlaps with the training step (h5py releases the GIL
while it reads). A thread is enough, and adds no dependency.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import h5py
import numpy as np

from csum.data.batching import Batch, bucket_for, collate, plan_epoch
from csum.data.eccv16 import natural_order
from csum.data.errors import DataError
from csum.data.video import Video


class VideoSource(Protocol):
    """A collection whose videos are read one at a time."""

    def __len__(self) -> int: ...

    def lengths(self) -> np.ndarray:
        """[N] int: each video's number of steps (cheap: no features read)."""
        ...

    def load(self, i: int) -> Video:
        """Video ``i`` with its features (annotations as far as training needs them)."""
        ...


def stream_batches(source: VideoSource, batch_size: int, buckets: Sequence[int],
                   rng: np.random.Generator, *, prefetch: int = 2,
                   place: Callable[[Batch], Batch] | None = None,
                   rows: tuple[int, int] | None = None) -> Iterator[Batch]:  # fmt: skip
    """The epoch's batches, read and collated ``prefetch`` batches ahead by a thread.

    Args:
        source: the collection.
        batch_size: slots per batch.
        buckets: allowed padded lengths.
        rng: the epoch's generator (the plan is a pure function of it).
        prefetch: batches kept ready (memory bound: ``prefetch + 1`` batches).
        place: applied to each batch in the thread, e.g. ``jax.device_put`` (to overlap
            the host-to-device copy with the step too).
        rows: ``(start, stop)``, the slots of every batch that this process holds (several
            hosts: ``csum.parallel.local_rows``). Only those slots' videos are read, and
            each batch has ``stop - start`` slots, padded to the whole batch's bucket (from
            the lengths alone). Default: every slot.

    Yields:
        ``Batch`` es in the plan's order; an error in the reader is raised here.
    """
    lengths = source.lengths()
    plan = plan_epoch(lengths, batch_size, rng)
    first, last = (0, batch_size) if rows is None else rows
    if not 0 <= first < last <= batch_size:
        raise ValueError(f"rows={rows} is not a slice of a {batch_size}-slot batch")
    ready: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    stop = threading.Event()
    done = object()

    def work():
        try:
            for chunk in plan:
                if stop.is_set():
                    return
                T = bucket_for(int(lengths[chunk].max()), buckets)
                batch = _collate_rows(source, chunk, first, last, buckets, T)
                ready.put(place(batch) if place is not None else batch)
            ready.put(done)
        except BaseException as err:  # handed to the consumer, which raises it
            ready.put(err)

    thread = threading.Thread(target=work, daemon=True, name="csum-stream")
    thread.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a reader waiting on a full queue
            try:
                ready.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.01)


def _collate_rows(source: VideoSource, chunk: np.ndarray, start: int, stop: int,
                  buckets: Sequence[int], steps: int) -> Batch:  # fmt: skip
    """Slots ``start:stop`` of the batch of videos ``chunk``, padded to ``steps``."""
    mine = chunk[start:stop]
    if len(mine):
        return collate([source.load(int(i)) for i in mine], stop - start, buckets, index=mine,
                       steps=steps)  # fmt: skip
    # A last, partial batch can leave this process no video: empty slots, shaped (feature
    # sizes and dtypes) like the batch's first video.
    blank = collate([source.load(int(chunk[0]))], stop - start, buckets, steps=steps)
    return Batch(tuple(np.zeros_like(x) for x in blank.features),
                 *(np.zeros_like(x) for x in blank[1:6]), np.full_like(blank.index, -1),
                 *({k: np.zeros_like(x) for k, x in named.items()}
                   for named in (blank.streams, blank.targets)))  # fmt: skip


class MemorySource:
    """Videos already in memory, as a ``VideoSource`` (the labelled benchmark sets)."""

    def __init__(self, videos: Sequence[Video]):
        self.videos = list(videos)
        self._lengths = np.array([v.n_steps for v in self.videos], np.int64)

    def __len__(self) -> int:
        return len(self.videos)

    def lengths(self) -> np.ndarray:
        return self._lengths

    def load(self, i: int) -> Video:
        return self.videos[i]


class H5Source:
    """Videos of many eccv16 h5 files, read one at a time.

    Args:
        paths: the h5 files (a collection's shards).
        feature_key: the features dataset of each video group.
    """

    def __init__(self, paths: Sequence, feature_key: str = "features"):
        self.paths = [Path(p) for p in paths]
        self.feature_key = feature_key
        self._index: list[tuple[int, str]] = []
        lengths = []
        for f, path in enumerate(self.paths):
            if not path.is_file():
                raise DataError(path, "file not found")
            with h5py.File(path, "r") as h5:
                for key in sorted(h5, key=natural_order):  # load_eccv16's order
                    if feature_key not in h5[key]:
                        raise DataError(path, "missing", video=key, key=feature_key)
                    self._index.append((f, key))
                    lengths.append(h5[key][feature_key].shape[0])
        self._lengths = np.asarray(lengths, np.int64)
        self._files: dict[int, h5py.File] = {}
        self._lock = threading.Lock()  # h5py file handles are not thread-safe

    def __len__(self) -> int:
        return len(self._index)

    def lengths(self) -> np.ndarray:
        return self._lengths

    def load(self, i: int) -> Video:
        f, key = self._index[i]
        with self._lock:
            if f not in self._files:
                self._files[f] = h5py.File(self.paths[f], "r")
            features = np.asarray(self._files[f][key][self.feature_key][()], np.float32)
        if not np.isfinite(features).all():
            raise DataError(self.paths[f], "non-finite features", video=key, key=self.feature_key)
        return _training_video(f"{self.paths[f].stem}/{key}", (features,))

    def close(self) -> None:
        for h5 in self._files.values():
            h5.close()
        self._files.clear()


class SyntheticSource:
    """``n`` videos generated on the fly: lengths drawn once, features from ``(seed, i)``.

    Each video is a few scenes (random unit directions plus noise), enough to exercise
    the loader and the training step at any collection size without storing anything.

    Args:
        n: number of videos.
        dim: feature size.
        min_steps, max_steps: length range (TVSum's: 240..1182 steps at 2 fps).
        seed: generator seed.
    """

    def __init__(self, n: int, dim: int = 1024, min_steps: int = 240, max_steps: int = 1182,
                 seed: int = 0):  # fmt: skip
        self.n, self.dim, self.seed = n, dim, seed
        self._lengths = np.random.default_rng([seed, n]).integers(min_steps, max_steps + 1, n)

    def __len__(self) -> int:
        return self.n

    def lengths(self) -> np.ndarray:
        return self._lengths

    def load(self, i: int) -> Video:
        rng = np.random.default_rng([self.seed, i])
        T = int(self._lengths[i])
        scenes = rng.normal(size=(int(rng.integers(3, 8)), self.dim)).astype(np.float32)
        which = np.sort(rng.integers(0, len(scenes), T))
        noise = rng.normal(scale=0.3, size=(T, self.dim)).astype(np.float32)
        return _training_video(f"video_{i}", (scenes[which] + noise,))


def _training_video(key: str, features: tuple[np.ndarray, ...]) -> Video:
    """A Video with what training reads (features); evaluation annotations left empty."""
    T = features[0].shape[0]
    return Video(key=key, features=features, n_frames=T, picks=np.arange(T),
                 change_points=np.array([[0, T - 1]]), user_summary=np.zeros((1, T)))  # fmt: skip
