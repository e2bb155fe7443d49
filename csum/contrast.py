"""Collection contrast: each clip's CSUM window loss, given to the score predictor as input.

The window objective (``csum.losses.window_nce``) scores a clip by how much more its
window resembles its own video than the whole collection:

    c(t) = log sum_{w in own video} exp(<z_t, w>/tau) - log sum_{w in collection} exp(<z_t, w>/tau)

(minus the loss). On the training videos this per-clip contrast ranks clips almost as well
as the users do (docs/learning.md, section 6). A backbone trained to select low-loss clips
learns it on the training videos but carries little of it to a new video, because what makes
a clip distinctive is a relation to the collection, which the backbone's input does not hold.
So the contrast itself becomes an extra one-wide source of every video
(``backbone.contrast_input``): for a training video against the training collection, for
any other video against the training collection plus that video's own windows (the same
formula; the video is never compared with other test videos). Standardised with the
training clips' mean and spread, it is an input like the features, for the CSUM and the
supervised regimes alike.

The index (the training windows, the temperature, the standardisation) is saved with each
fold (``fold_k/contrast.npz``) so that a trained model scores new videos the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from csum.banks import WindowIndex, _clip_nce, _embed_windows, clip_losses, window_index
from csum.data.batching import eval_batches
from csum.data.video import Video

FILE = "contrast.npz"


class ContrastInput(NamedTuple):
    """What scores a clip's collection contrast: the index and the standardisation.

    Attributes:
        index: the training windows (``csum.banks.WindowIndex``).
        mean, std: of the training clips' contrast, which the channel is standardised by.
    """

    index: WindowIndex
    mean: float
    std: float

    def save(self, path) -> None:
        np.savez(path, bank=self.index.bank, owner=self.index.owner, tau=self.index.tau,
                 mean=self.mean, std=self.std)  # fmt: skip

    @classmethod
    def load(cls, path) -> ContrastInput:
        with np.load(path) as z:
            index = WindowIndex(z["bank"], z["owner"], float(z["tau"]))
            return cls(index, float(z["mean"]), float(z["std"]))


def fit(model, videos: Sequence[Video], batch_size: int, buckets: Sequence[int],
        tau: float) -> tuple[ContrastInput, dict[str, np.ndarray]]:  # fmt: skip
    """The training collection's index and the standardised contrast of its videos.

    Args:
        model: the Summarizer whose (frozen) projector embeds the windows.
        videos: the training videos (their base sources only).
        batch_size: videos per embedding batch.
        buckets: padded lengths.
        tau: ``loss.tau`` (in units of the windows' similarity spread).

    Returns:
        ``(ContrastInput, {key: [T] float32 channel})``.
    """
    index, embedded = window_index(model, videos, batch_size, buckets, tau)
    losses = clip_losses(model, index, embedded, len(videos))
    raw = [-losses[i, : v.n_steps] for i, v in enumerate(videos)]
    values = np.concatenate(raw).astype(np.float64)
    mean, std = float(values.mean()), float(values.std())
    contrast = ContrastInput(index, mean, std if std > 1e-6 else 1.0)
    return contrast, {v.key: _standardize(c, contrast) for v, c in zip(videos, raw, strict=True)}


def channels(model, contrast: ContrastInput, videos: Sequence[Video], batch_size: int,
             buckets: Sequence[int], quantum: int = 4096) -> dict[str, np.ndarray]:  # fmt: skip
    """The standardised contrast of videos outside the training collection.

    Each video is compared with the training windows plus its own windows, one video at a
    time, so its channel does not depend on which other videos are scored with it.

    Returns:
        ``{key: [T] float32}``.
    """
    bank, owner = contrast.index.bank, contrast.index.owner
    real = owner >= 0
    bank, owner = bank[real], owner[real]
    own_id = int(owner.max()) + 1 if len(owner) else 0
    n = model.projector.window
    out = {}
    for group, batch in eval_batches(videos, batch_size, buckets):
        z, valid = jax.device_get(_embed_windows(model, batch.features, batch.mask))
        T = batch.mask.shape[1]
        for b, v in enumerate(group):
            mine = z[b][valid[b]]
            rows = -(-(len(bank) + len(mine)) // quantum) * quantum
            ext = np.zeros((rows, bank.shape[1]), np.float32)
            ext[: len(bank)], ext[len(bank) : len(bank) + len(mine)] = bank, mine
            ext_owner = np.full((rows,), -1, np.int32)
            ext_owner[: len(bank)], ext_owner[len(bank) : len(bank) + len(mine)] = owner, own_id
            loss = _clip_nce(z[b : b + 1], valid[b : b + 1], np.array([own_id], np.int32),
                             ext, ext_owner, contrast.index.tau, n, T)  # fmt: skip
            out[v.key] = _standardize(-np.asarray(loss)[0, : v.n_steps], contrast)
    return out


def with_channel(videos: Sequence[Video], channel: dict[str, np.ndarray]) -> list[Video]:
    """The videos with their contrast appended as a last, one-wide source."""
    return [
        dataclasses.replace(
            v, features=(*v.features, channel[v.key][:, None].astype(v.features[0].dtype))
        )
        for v in videos
    ]


def for_run(workdir, fold: int, model, videos: Sequence[Video],
            batch_size: int = 8) -> list[Video]:  # fmt: skip
    """The videos as a trained run's model takes them: with the contrast channel of that
    fold's index when the run was trained with ``backbone.contrast_input``.

    Raises:
        FileNotFoundError: the run asks for the channel but has no saved index.
    """
    import json

    from csum.data.batching import default_buckets

    config = json.loads((Path(workdir) / "config.json").read_text())
    if not config.get("backbone", {}).get("contrast_input", False):
        return list(videos)
    path = Path(workdir) / f"fold_{fold}" / FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the run was trained with backbone.contrast_input "
                                "but has no contrast index")  # fmt: skip
    buckets = default_buckets(max(v.n_steps for v in videos))
    found = channels(model, ContrastInput.load(path), videos, batch_size, buckets)
    return with_channel(videos, found)


def _standardize(raw: np.ndarray, contrast: ContrastInput) -> np.ndarray:
    return ((raw - contrast.mean) / contrast.std).astype(np.float32)
