"""Cross-validation split files: a JSON list of ``{"train_keys": [...], "test_keys": [...]}``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from csum.data.errors import DataError

SPLITS_DIR = Path(__file__).parent / "splits"


def default_split_file(dataset: str) -> Path:
    """MSVA's random non-overlapping 5 folds for ``dataset`` ('tvsum' or 'summe')."""
    return SPLITS_DIR / f"{dataset}_random_non_overlap_splits.json"


def make_splits(keys, n_folds: int = 5, seed: int = 0) -> list[dict[str, list[str]]]:
    """Random non-overlapping folds (MSVA's protocol) over any set of video keys.

    The keys are shuffled by ``seed`` and dealt round-robin into ``n_folds`` test sets, so
    every video is tested exactly once and the test sets differ in size by at most one;
    each fold trains on all the other videos. Same keys and seed, same folds.

    Args:
        keys: video keys.
        n_folds: number of folds (at most the number of videos).
        seed: shuffling seed.

    Returns:
        Folds as ``load_splits`` returns them.
    """

    keys = sorted(keys)
    if not 1 < n_folds <= len(keys):
        raise ValueError(f"make_splits needs 2 <= n_folds <= {len(keys)} videos, got {n_folds}")
    order = [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))]
    tests = [sorted(order[f::n_folds]) for f in range(n_folds)]
    return [{"train_keys": sorted(set(keys) - set(t)), "test_keys": t} for t in tests]


def load_splits(path, available: set[str] | None = None) -> list[dict[str, list[str]]]:
    """Reads a split file and checks it against the videos that were loaded.

    Keys may carry a file prefix (``eccv16_dataset_tvsum_google_pool5/video_1``, as in the
    early-work splits); only the part after the last '/' is kept.

    Args:
        path: JSON split file.
        available: video keys present in the dataset; every split key must be among them.

    Returns:
        A list of folds, each ``{"train_keys": [...], "test_keys": [...]}``.

    Raises:
        DataError: unreadable file, wrong structure, or keys missing from the dataset.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "split file not found (expected a JSON list of folds)")
    try:
        folds = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(path, f"not valid JSON ({err})") from None
    if not isinstance(folds, list) or not folds:
        raise DataError(path, "expected a non-empty JSON list of {train_keys, test_keys}")
    out = []
    for i, fold in enumerate(folds):
        if not isinstance(fold, dict) or not {"train_keys", "test_keys"} <= fold.keys():
            raise DataError(path, f"fold {i} lacks 'train_keys'/'test_keys'")
        clean = {
            k: [str(v).rsplit("/", 1)[-1] for v in fold[k]] for k in ("train_keys", "test_keys")
        }
        if available is not None:
            missing = sorted(set(clean["train_keys"] + clean["test_keys"]) - available)
            if missing:
                raise DataError(
                    path, f"fold {i} names videos absent from the dataset: {', '.join(missing[:5])}"
                )
        out.append(clean)
    return out
