"""Collections larger than memory: lazy video sources and a prefetching batch stream.

``train_batches`` holds every video in memory. For a platform's collection (millions of
videos, terabytes of features) only the lengths fit, so an epoch is planned from lengths
alone (``plan_epoch``: the same length-sorted, jittered, shuffled batches as
``train_batches``) and each batch's videos are read when it is due, by a background thread
that keeps ``prefetch`` batches ready (``stream_batches``). Memory is bounded by
``prefetch`` batches whatever the collection's size, and data order stays a pure function
of the epoch's generator, so a resumed run sees the same batches.

Sources (``VideoSource``: ``len``, ``lengths()``, ``load(i)``):

* ``H5Source``: any number of eccv16-layout h5 files (a collection's shards), read a video
  at a time; lengths and feature sizes come from the datasets' shapes, without reading
  features. Shuffling spans every file. ``experiments.run`` trains from one with
  ``data.stream=true`` (``csum.summarization.collection``).
* ``MemorySource``: videos already loaded (what ``csum.training.trainer.train_fold`` streams from).
* ``SyntheticSource``: videos generated on the fly from ``(seed, index)``, for tests and
  the loader benchmark (``benchmarks/loader.py``).

``eval_stream`` reads a source in inference order (``csum.data.batching.eval_order``), a
batch at a time: what the negatives banks, the contrast statistics and scoring read, so
that they too hold one batch, not the collection.

Why not grain: csum's batches are variable-length buckets planned over the whole epoch
(sorted by jittered length, then shuffled), which grain's samplers and batch operations
do not express without a custom sampler that is this module's plan; and reading is h5py
plus a numpy copy, which a thread overlaps with the training step (h5py releases the GIL
while it reads). A thread is enough, and adds no dependency.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import h5py
import numpy as np

from csum.data.batching import Batch, bucket_for, collate, eval_order, plan_epoch
from csum.data.eccv16 import check_features, check_shape, natural_order
from csum.data.errors import DataError
from csum.data.prefetch import prefetched
from csum.data.records import Video


class VideoSource(Protocol):
    """A collection whose videos are read one at a time."""

    def __len__(self) -> int: ...

    def lengths(self) -> np.ndarray:
        """[N] int: each video's number of steps (cheap: no features read)."""
        ...

    def load(self, i: int) -> Video:
        """Video ``i`` with its features (annotations as far as training needs them)."""
        ...


def stream_batches(
    source: VideoSource,
    batch_size: int,
    buckets: Sequence[int],
    rng: np.random.Generator,
    *,
    prefetch: int = 2,
    place: Callable[[Batch], Batch] | None = None,
    rows: tuple[int, int] | None = None,
) -> Iterator[Batch]:
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
            hosts: ``csum.training.parallel.local_rows``). Only those slots' videos are read, and
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

    def batches():
        for chunk in plan:
            T = bucket_for(int(lengths[chunk].max()), buckets)
            batch = _collate_rows(source, chunk, first, last, buckets, T)
            yield place(batch) if place is not None else batch

    yield from prefetched(batches(), prefetch, name="csum-stream")


def _collate_rows(
    source: VideoSource,
    chunk: np.ndarray,
    start: int,
    stop: int,
    buckets: Sequence[int],
    steps: int,
) -> Batch:
    """Slots ``start:stop`` of the batch of videos ``chunk``, padded to ``steps``."""
    mine = chunk[start:stop]
    if len(mine):
        return collate(
            [source.load(int(i)) for i in mine], stop - start, buckets, index=mine, steps=steps
        )
    # A last, partial batch can leave this process no video: empty slots, shaped (feature
    # sizes and dtypes) like the batch's first video.
    blank = collate([source.load(int(chunk[0]))], stop - start, buckets, steps=steps)
    return Batch(
        tuple(np.zeros_like(x) for x in blank.features),
        *(np.zeros_like(x) for x in blank[1:6]),
        np.full_like(blank.index, -1),
        *(
            {k: np.zeros_like(x) for k, x in named.items()}
            for named in (blank.streams, blank.targets)
        ),
    )


def as_source(videos) -> VideoSource:
    """``videos`` as a ``VideoSource``: a list of videos is wrapped in ``MemorySource``; a
    source is returned as it is."""
    return videos if hasattr(videos, "load") else MemorySource(videos)


def eval_stream(
    source: VideoSource, batch_size: int, buckets: Sequence[int]
) -> Iterator[tuple[np.ndarray, list[Video], Batch]]:
    """The batches of inference (``csum.data.batching.eval_batches``'s, in its order), read
    from ``source`` one batch at a time.

    Yields:
        ``(positions, videos, batch)``: the group's positions in the source ([<= B] int),
        its videos and their padded batch (``index`` = positions).
    """
    for group in eval_order(source.lengths(), batch_size):
        videos = [source.load(int(i)) for i in group]
        yield group, videos, collate(videos, batch_size, buckets, index=group)


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

    Every video's features are checked for shape when the source is built (from the h5
    datasets' shapes: nothing is read), and for non-finite values when it is loaded.
    Video keys must be unique across the files: they name the videos in every output.

    Args:
        paths: the h5 files (a collection's shards), read in this order.
        feature_keys: the features dataset(s) of each video group, one per source.
        min_steps: shortest accepted video, in steps.
        dtype: the features' storage dtype once loaded (``csum.data.records.cast_features``).

    Raises:
        DataError: one line naming file, video and key for a missing file or key, a wrong
            shape or size, a too-short video or a key that two files share.
    """

    def __init__(
        self,
        paths: Sequence,
        feature_keys: Sequence[str] | str = ("features",),
        min_steps: int = 1,
        dtype=np.float32,
    ):
        self.paths = [Path(p) for p in paths]
        self.feature_keys = (
            (feature_keys,) if isinstance(feature_keys, str) else tuple(feature_keys)
        )
        self.dtype = np.dtype(dtype)
        self._index: list[tuple[int, str]] = []
        self.dims: tuple[int, ...] | None = None
        lengths, seen = [], {}
        for f, path in enumerate(self.paths):
            if not path.is_file():
                raise DataError(path, "file not found")
            try:
                h5 = h5py.File(path, "r")
            except OSError as err:
                raise DataError(path, f"cannot read h5 file ({err})") from None
            with h5:
                for key in sorted(h5, key=natural_order):  # load_eccv16's order
                    if key in seen:
                        raise DataError(
                            path,
                            f"video key also in {seen[key]}; keys must be unique across the files",
                            video=key,
                        )
                    seen[key] = path
                    lengths.append(self._check(h5[key], path, key, min_steps))
                    self._index.append((f, key))
        if not self._index:
            raise DataError(self.paths[0] if self.paths else "data.file", "no videos")
        self._lengths = np.asarray(lengths, np.int64)
        self._files: dict[int, h5py.File] = {}
        self._lock = threading.Lock()  # h5py file handles are not thread-safe

    def _check(self, group, path: Path, key: str, min_steps: int) -> int:
        """One video's number of steps, after checking its datasets' shapes."""
        dims, steps = [], None
        for s, name in enumerate(self.feature_keys):
            if not isinstance(group, h5py.Group) or name not in group:
                raise DataError(path, "missing", video=key, key=name)
            x = group[name]
            check_shape(x, path, key, name, min_steps, self.dims[s] if self.dims else None)
            if steps is not None and x.shape[0] != steps:
                raise DataError(
                    path,
                    f"{x.shape[0]} steps, but {self.feature_keys[0]} has {steps}",
                    video=key,
                    key=name,
                )
            steps = x.shape[0]
            dims.append(x.shape[1])
        self.dims = self.dims or tuple(dims)
        return steps

    def __len__(self) -> int:
        return len(self._index)

    def lengths(self) -> np.ndarray:
        return self._lengths

    def load(self, i: int) -> Video:
        f, key = self._index[i]
        with self._lock:
            if f not in self._files:
                self._files[f] = h5py.File(self.paths[f], "r")
            raw = [self._files[f][key][name][()] for name in self.feature_keys]
        checked = (
            check_features(x, self.paths[f], key, name, 1, None)
            for x, name in zip(raw, self.feature_keys, strict=True)
        )
        features = tuple(x.astype(self.dtype, copy=False) for x in checked)
        return _training_video(key, features)

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

    def __init__(
        self, n: int, dim: int = 1024, min_steps: int = 240, max_steps: int = 1182, seed: int = 0
    ):
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
    return Video(
        key=key,
        features=features,
        n_frames=T,
        picks=np.arange(T),
        change_points=np.array([[0, T - 1]]),
        user_summary=np.zeros((1, T)),
    )
