"""The data of a summarization run: its eccv16 file (given, or generated), the other data sets
of the augmented and transfer settings, and the videos as a run reads them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from csum.data.annotations import attach_tvsum_scores
from csum.data.eccv16 import load_eccv16
from csum.data.errors import DataError, synthetic_hint
from csum.data.records import Video
from csum.data.synthetic import FEATURE_KEYS, PRESETS, ensure_synthetic


def dataset_path(config) -> Path:
    """The eccv16 file of the configured dataset (generated first if synthetic)."""
    data = config.data
    if data.file:
        path = Path(data.file).expanduser()
        if not path.is_file():
            raise DataError(path, "eccv16 file not found (--config.data.file)")
        return path
    if data.synthetic:
        overrides = {"family": data.synthetic_family, **dict(data.synthetic_overrides)}
        return ensure_synthetic(data.synthetic_dir, data.dataset, data.synthetic_seed, **overrides)
    path = Path(data.dir).expanduser() / f"eccv16_dataset_{data.dataset}_google_pool5.h5"
    if not path.is_file():
        raise DataError(
            path,
            f"eccv16 file not found in {Path(data.dir).expanduser().absolute()} (set "
            f"--config.data.dir=DIR, or {synthetic_hint(config.name)})",
        )
    return path


SETTINGS = ("canonical", "augmented", "transfer")
"""``data.setting``, the field's three protocols (Zhang et al. 2016; Zhou et al. 2018): train
on the data set's training folds (canonical), on those plus every video of the other data
sets (augmented), or on the other data sets only (transfer). Test folds are always the
data set's own."""

OTHER_SETS = ("tvsum", "summe", "ovp", "youtube")
"""The eccv16 data sets that augmented and transfer draw on (``data.others`` overrides)."""


def other_paths(config) -> list[Path]:
    """The eccv16 files of the other data sets (``data.others``, or the default ones).

    Real data: ``eccv16_dataset_{name}_google_pool5.h5`` in ``data.dir`` for every other name
    of ``OTHER_SETS``. Synthetic: the other synthetic preset (TVSum- or SumMe-like), same
    family, seed and overrides; its scenes and projections are its own draw, so it is
    another data set in the sense of the protocol, not more of the same.
    """
    data = config.data
    if data.others:
        return [Path(p).expanduser() for p in data.others]
    if data.synthetic:
        overrides = {"family": data.synthetic_family, **dict(data.synthetic_overrides)}
        return [
            ensure_synthetic(data.synthetic_dir, name, data.synthetic_seed, **overrides)
            for name in PRESETS
            if name != data.dataset
        ]
    return [
        Path(data.dir).expanduser() / f"eccv16_dataset_{name}_google_pool5.h5"
        for name in OTHER_SETS
        if name != data.dataset
    ]


def load_others(config) -> dict[str, Video]:
    """Every video of the other data sets for ``data.setting`` augmented or transfer (none
    for canonical), keyed ``{file stem}/{video key}`` so that names never collide."""

    if config.data.setting == "canonical":
        return {}
    out = {}
    for path in other_paths(config):
        if not path.is_file():
            raise DataError(
                path,
                f"eccv16 file not found; data.setting={config.data.setting} trains on the "
                "other data sets (set --config.data.others=(PATH,...))",
            )
        keys = tuple(config.data.feature_keys)
        for v in load_eccv16(path, keys, min_steps=config.data.min_steps).values():
            key = f"{path.stem}/{v.key}"
            out[key] = dataclasses.replace(v, key=key)
    return out


def resolve_f1_mode(videos) -> str:
    """``eval.f1_mode=auto``: the mean over users when every video has per-user frame
    scores (TVSum-like annotators, whose summaries all come from the same scores), else the
    best user (SumMe-like: users selected their summaries freely)."""
    return "avg" if all(v.user_scores is not None for v in videos) else "max"


def load_dataset(config, optional_labels: bool = False) -> dict[str, Video]:
    """Loads and validates the configured dataset (``optional_labels``: a user's file may
    be an unlabelled collection, ``csum.data.eccv16.load_eccv16``)."""
    keys = tuple(config.data.feature_keys)
    if config.data.synthetic:
        n = dict(config.data.synthetic_overrides).get("n_sources", 3)
        unknown = [k for k in keys if k not in FEATURE_KEYS[:n]]
        if unknown:
            what = f"synthetic data has keys {FEATURE_KEYS[:n]}, not {unknown}"
            raise DataError(dataset_path(config), what, key="data.feature_keys")
    path = dataset_path(config)
    videos = load_eccv16(
        path,
        keys,
        min_steps=config.data.min_steps,
        optional_labels=optional_labels and bool(config.data.file),
    )
    if config.data.dataset == "tvsum" and not config.data.synthetic and not config.data.file:
        # The eccv16 TVSum file has no raw annotator scores; Otani's correlation needs them.
        videos = attach_tvsum_scores(videos, path)
    return videos
