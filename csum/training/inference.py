"""A trained run, ready to score what a user has: ``csum.load(workdir)``.

One call scores a video file, a features array (or one array per source), an eccv16 h5
file or a list of ``Video``s. Every input is checked against the run's ``model.json``
first (number of sources, each source's width, finite values, at least one step), so that
a mismatch is one ``DataError`` line and never a score; the collection contrast source
(``backbone.contrast_input``, ``csum.model.contrast``) is computed from the fold's saved index
and added where the model takes it, so a caller passes only the features it has.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from csum.data.batching import default_buckets
from csum.data.eccv16 import load_eccv16
from csum.data.errors import DataError
from csum.data.records import Video
from csum.model.contrast import for_run
from csum.model.summarizer import base_dims
from csum.training import rundir
from csum.training.predict import predict_scores
from csum.video.features import EXTRACTORS, extract

VIDEO_SUFFIXES = frozenset(
    {
        ".mp4",
        ".mkv",
        ".mov",
        ".avi",
        ".webm",
        ".m4v",
        ".mpg",
        ".mpeg",
        ".flv",
        ".wmv",
        ".ts",
        ".3gp",
        ".ogv",
    }
)
"""File name endings read as video files (``experiments.summarize`` searches folders for them)."""

STEP_FRAMES = 15
"""Frames per step given to a bare features array (the eccv16 files' 2 fps of 30 fps video);
it sets only the frame indices of the returned ``Video``, never a score."""


class CheckedBackbone:
    """A loaded run's backbone that refuses sources the run was not trained on.

    ``backbone(features, mask)`` takes the model's own sources, the contrast source among
    them (``Trained.inputs`` adds it); anything else is a ``DataError`` naming the run.
    ``module`` is the ``nnx.Module`` itself (``csum.training.predict`` takes either).
    """

    def __init__(self, module, in_dims: tuple[int, ...], where: str):
        self.module, self.in_dims, self.where = module, in_dims, where

    def __call__(self, features, mask, *args, **kwargs):
        widths = tuple(int(np.shape(f)[-1]) for f in features)
        if widths != self.in_dims:
            raise DataError(
                self.where,
                f"the model takes {len(self.in_dims)} source(s) of "
                f"widths {self.in_dims} (model.json), got {len(widths)} of widths "
                f"{widths}; Trained.inputs(videos) adds the contrast "
                "source",
            )
        return self.module(features, mask, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.module, name)


class Trained:
    """A trained run's model with what it needs to score new inputs.

    Attributes:
        workdir: the run's work directory.
        fold: the fold whose model was loaded.
        model: the ``csum.model.summarizer.Summarizer`` (evaluation mode).
        in_dims: the widths of the sources the model takes (``model.json``).
        base_dims: the widths a caller gives: ``in_dims`` without the contrast source.
        contrast_input: whether the model takes the collection contrast.
        audio: whether the last source is an audio stream (the contrast is then the last
            but one).
        spec: the model's ``csum.model.summarizer.ModelSpec`` (``model.json``).
        config: the run's resolved config (``config.json``) as a dict.
    """

    def __init__(self, workdir, fold: int | None = None):
        self.workdir = Path(workdir)
        self.model = rundir.load_summarizer(self.workdir, fold)
        self.fold = rundir.default_fold(self.workdir) if fold is None else fold
        self.in_dims, self.spec, _, _ = rundir.read_model(self.workdir)
        self.config = rundir.read_config(self.workdir)
        self.contrast_input = self.spec.contrast_input
        self.audio = bool(self.spec.backbone_kwargs.get("audio", False))
        self.base_dims = base_dims(self.spec, self.in_dims)
        self.backbone = CheckedBackbone(self.model.backbone, self.in_dims, str(self.workdir))

    def __getattr__(self, name: str):
        # the Summarizer's other parts (projector, ...), as csum.load returned them before
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def check(self, videos: Sequence[Video], source: str = "") -> None:
        """Raises ``DataError`` (one line, naming the input and the video) unless every
        video has the run's base sources, each of its width, finite and at least one step."""
        where = source or str(self.workdir)
        for v in videos:
            widths = tuple(int(f.shape[1]) for f in v.features)
            if widths != self.base_dims:
                raise DataError(
                    where,
                    f"{len(widths)} source(s) of widths {widths}; the "
                    f"model of {self.workdir} takes {len(self.base_dims)} of "
                    f"widths {self.base_dims}",
                    video=v.key,
                )
            if v.n_steps < 1:
                raise DataError(where, "no steps", video=v.key)
            for i, f in enumerate(v.features):
                if not np.isfinite(np.asarray(f, np.float32)).all():
                    raise DataError(where, f"source {i} has non-finite values", video=v.key)

    def inputs(self, videos: Sequence[Video], source: str = "") -> list[Video]:
        """The videos as the model takes them (checked; features in the run's compute
        dtype; the contrast source added when the model takes it)."""
        videos = list(videos)
        self.check(videos, source)
        try:
            return for_run(self.spec, rundir.fold_dir(self.workdir, self.fold), self.model, videos)
        except FileNotFoundError as err:
            raise DataError(self.workdir, str(err)) from None

    def score(self, x, *, extractor: str = "", batch_size: int = 8):
        """Clip scores of what the user has, in one call.

        Args:
            x: one of
                * a video file (``VIDEO_SUFFIXES``): decoded on the 2 fps step grid and its
                  features computed by ``extractor`` (``csum.video.features``);
                * an eccv16 h5 file (``.h5``/``.hdf5``), labels optional;
                * a features array ``[T, D]``, or a tuple of ``[T, D_s]`` arrays (one per
                  source, without the contrast source);
                * a ``Video`` or a list of them.
            extractor: for a video file; default: the extractor the run was trained with
                (a collection trained by ``experiments.summarize``), else ``colour``.
            batch_size: videos per padded batch.

        Returns:
            ``[T]`` float64 scores for a video file, an array or one ``Video``;
            ``{key: [T]}`` for an h5 file or a list of videos.

        Raises:
            DataError: an unreadable input, or one that does not fit the model (one line).
        """

        videos, single, source = self._as_videos(x, extractor)
        inputs = self.inputs(videos, source)
        buckets = default_buckets(max(v.n_steps for v in inputs))
        scores = predict_scores(self.model.backbone, inputs, batch_size, buckets)
        return scores[videos[0].key] if single else scores

    def _as_videos(self, x, extractor: str) -> tuple[list[Video], bool, str]:
        if isinstance(x, Video):
            return [x], True, x.key
        if isinstance(x, (list, tuple)) and x and all(isinstance(v, Video) for v in x):
            return list(x), False, "videos"
        if isinstance(x, (str, Path)):
            path = Path(x)
            if not path.is_file():
                raise DataError(path, "no such file")
            if path.suffix.lower() in (".h5", ".hdf5"):
                return list(load_eccv16(path, optional_labels=True).values()), False, str(path)
            if path.suffix.lower() in VIDEO_SUFFIXES:
                return [self._video_file(path, extractor)], True, str(path)
            raise DataError(
                path,
                f"not a video file ({', '.join(sorted(VIDEO_SUFFIXES))}) nor an eccv16 .h5 file",
            )
        arrays = x if isinstance(x, (list, tuple)) else (x,)
        if not arrays:
            raise DataError(
                "features",
                "no source given; expected a [T, D] array or a tuple of them, one per source",
            )
        sources = []
        for i, a in enumerate(arrays):
            a = np.asarray(a)
            if a.ndim != 2 or not np.issubdtype(a.dtype, np.number):
                raise DataError(
                    "features",
                    f"source {i} has shape {a.shape} and dtype "
                    f"{a.dtype}; expected a numeric [T, D] array",
                )
            sources.append(a.astype(np.float32))
        if len({len(a) for a in sources}) != 1:
            raise DataError("features", f"sources of different lengths {[len(a) for a in sources]}")
        T = len(sources[0])
        video = Video(
            key="features",
            features=tuple(sources),
            n_frames=T * STEP_FRAMES,
            picks=np.arange(T) * STEP_FRAMES,
            change_points=np.array([[0, max(T * STEP_FRAMES - 1, 0)]]),
            user_summary=None,
            name="features",
        )
        return [video], True, "features"

    def _video_file(self, path: Path, extractor: str) -> Video:

        if not extractor:
            record = self.workdir / "collection.json"  # a model experiments.summarize trained
            if record.is_file():
                extractor = json.loads(record.read_text())["settings"].get("extractor", "")
        f = extract(path, EXTRACTORS.build(extractor or "colour"))
        sources = (
            (f.features,) if len(self.base_dims) == 1 or f.audio is None else (f.features, f.audio)
        )
        return Video(
            key=path.stem,
            features=sources,
            n_frames=f.n_frames,
            picks=f.picks,
            change_points=np.array([[0, f.n_frames - 1]]),
            user_summary=None,
            name=path.stem,
        )


def load(workdir, fold: int | None = None) -> Trained:
    """``csum.load``: a trained run, ready to score::

        run = csum.load("runs/tvsum_msva_synthetic")
        scores = run.score("my_video.mp4")     # or a [T, D] array, an eccv16 .h5 file

    Raises:
        CheckpointError: a missing file or checkpoint, or one that does not fit (one line).
    """
    return Trained(workdir, fold)
