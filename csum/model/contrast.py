"""Collection contrast: each clip's CSUM window loss, given to the score predictor as input.

The window objective (``csum.objectives.contrastive.window_nce``) scores a clip by how much more its
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
import jax.numpy as jnp
import numpy as np

from csum.data.batching import default_buckets, eval_batches
from csum.data.records import Video, cast_features
from csum.model.banks import WindowIndex, _clip_nce, _embed_windows, window_index

FILE = "contrast.npz"


class ContrastInput(NamedTuple):
    """What scores a clip's collection contrast: the index and the standardisation.

    Attributes:
        index: the training windows (``csum.model.banks.WindowIndex``).
        mean, std: of the training clips' contrast, which the channel is standardised by.
        keys: the training videos' keys, by owner id: a training video scored again gets
            its training channel (against the training windows, its own among them).
    """

    index: WindowIndex
    mean: float
    std: float
    keys: tuple[str, ...] = ()

    def save(self, path) -> None:
        np.savez(
            path,
            bank=self.index.bank,
            owner=self.index.owner,
            tau=self.index.tau,
            mean=self.mean,
            std=self.std,
            keys=np.asarray(self.keys, dtype=str),
        )

    @classmethod
    def load(cls, path) -> ContrastInput:
        with np.load(path) as z:
            index = WindowIndex(z["bank"], z["owner"], float(z["tau"]))
            keys = tuple(str(k) for k in z["keys"]) if "keys" in z else ()
            return cls(index, float(z["mean"]), float(z["std"]), keys)


def fit(
    model, videos: Sequence[Video], batch_size: int, buckets: Sequence[int], tau: float
) -> tuple[ContrastInput, dict[str, np.ndarray]]:
    """The training collection's index and the standardised contrast of its videos.

    The training videos' channels are computed as ``channels`` computes them for a
    training video scored again, so that a trained model rescoring its own training
    videos (``for_run``) sees bit for bit the input it was trained on.

    Args:
        model: the Summarizer whose (frozen) projector embeds the windows.
        videos: the training videos (their base sources only).
        batch_size: videos per embedding batch.
        buckets: padded lengths.
        tau: ``loss.tau`` (in units of the windows' similarity spread).

    Returns:
        ``(ContrastInput, {key: [T] float32 channel})``.
    """
    index, _ = window_index(model, videos, batch_size, buckets, tau)
    keys = tuple(v.key for v in videos)
    raw = _raw_channels(model, index, keys, videos, batch_size, buckets)
    values = np.concatenate(list(raw.values())).astype(np.float64)
    mean, std = float(values.mean()), float(values.std())
    contrast = ContrastInput(index, mean, std if std > 1e-6 else 1.0, keys)
    return contrast, {k: _standardize(c, contrast) for k, c in raw.items()}


def channels(
    model, contrast: ContrastInput, videos: Sequence[Video], batch_size: int, buckets: Sequence[int]
) -> dict[str, np.ndarray]:
    """The standardised contrast of any videos, one video at a time, so that a video's
    channel does not depend on which other videos are scored with it.

    A video outside the training collection is compared with the training windows plus
    its own; a training video (its key in ``contrast.keys``) with the training windows,
    its own among them, as ``fit`` scored it.

    Returns:
        ``{key: [T] float32}``.
    """
    raw = _raw_channels(model, contrast.index, contrast.keys, videos, batch_size, buckets)
    return {k: _standardize(c, contrast) for k, c in raw.items()}


def _raw_channels(
    model,
    index: WindowIndex,
    keys: Sequence[str],
    videos: Sequence[Video],
    batch_size: int,
    buckets: Sequence[int],
    quantum: int = 4096,
):
    """{key: [T] float32} minus each clip's window loss (``channels``), unstandardised."""
    real = index.owner >= 0
    bank, owner = index.bank[real], index.owner[real]
    own_id = int(owner.max()) + 1 if len(owner) else 0
    known = {k: i for i, k in enumerate(keys)}
    n = model.projector.window
    out = {}
    for group, batch in eval_batches(videos, batch_size, buckets):
        z, valid = jax.device_get(_embed_windows(model, batch.features, batch.mask))
        T = batch.mask.shape[1]
        for b, v in enumerate(group):
            me = known.get(v.key, own_id)
            # a training video's own windows are in the bank already
            mine = z[b][valid[b]] if me == own_id else z[b][:0]
            rows = -(-(len(bank) + len(mine)) // quantum) * quantum
            ext = np.zeros((rows, bank.shape[1]), np.float32)
            ext[: len(bank)], ext[len(bank) : len(bank) + len(mine)] = bank, mine
            ext_owner = np.full((rows,), -1, np.int32)
            ext_owner[: len(bank)], ext_owner[len(bank) : len(bank) + len(mine)] = owner, own_id
            loss = _clip_nce(
                z[b : b + 1],
                valid[b : b + 1],
                np.array([me], np.int32),
                ext,
                ext_owner,
                index.tau,
                n,
                T,
            )
            out[v.key] = -np.asarray(loss)[0, : v.n_steps]
    return out


def with_channel(
    videos: Sequence[Video], channel: dict[str, np.ndarray], before_audio: bool = False
) -> list[Video]:
    """The videos with their contrast as a one-wide float32 source: the last one, or, when the
    videos' last source is an audio stream (``before_audio``: a transformer with
    ``audio=True`` reads the last source as audio), the last but one, with the visual
    sources."""
    at = -1 if before_audio else None

    def add(v: Video) -> tuple:
        # float32 whatever the features' storage dtype: in bfloat16 (8 bits of mantissa) the
        # contrast of the clips of one kind of scene collapsed into ties, which a ranking by
        # the contrast alone averages and a backbone's residual breaks at random.
        c = channel[v.key][:, None].astype(np.float32)
        if at is None:
            return (*v.features, c)
        return (*v.features[:at], c, *v.features[at:])

    return [dataclasses.replace(v, features=add(v)) for v in videos]


def attach(
    model,
    train: Sequence[Video],
    others: Sequence[Sequence[Video]],
    batch_size: int,
    buckets: Sequence[int],
    tau: float,
    folders: Sequence[Path] = (),
    before_audio: bool = False,
):
    """Fits the index on ``train`` with the model's frozen projector and adds the channel.

    Args:
        model: the Summarizer, before training (its projector, in eval mode, embeds the
            windows; it is returned to train mode).
        train: the training videos (base sources only).
        others: lists of other videos (validation, test, ...), each scored against the
            training windows plus its own (``channels``).
        batch_size, buckets, tau: as for ``fit``.
        folders: where to save the index (``FILE``), e.g. the fold folders of the runs
            that will load the model (none on a process other than the first).
        before_audio: see ``with_channel``.

    Returns:
        ``(train, *others)`` with the channel.
    """
    model.eval()
    index, found = fit(model, train, batch_size, buckets, tau)
    found.update(
        channels(model, index, [v for group in others for v in group], batch_size, buckets)
    )
    model.train()
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)
        index.save(Path(folder) / FILE)
    return tuple(with_channel(vs, found, before_audio) for vs in (train, *others))


def for_run(spec, folder, model, videos: Sequence[Video], batch_size: int = 8) -> list[Video]:
    """The videos as a trained model takes them: features stored in its compute dtype
    (``csum.data.records.cast_features``, as training stored them), with the contrast channel
    of the fold's saved index when the model takes it (``spec.contrast_input``).

    Args:
        spec: the model's ``csum.model.summarizer.ModelSpec``.
        folder: the fold's folder, which holds the index (``FILE``).
        model: the trained Summarizer.
        videos: the videos to prepare.
        batch_size: videos per batch when the index is read.

    Raises:
        FileNotFoundError: the model takes the channel but the folder has no saved index.
    """
    videos = cast_features(list(videos), jnp.dtype(spec.compute_dtype))
    if not spec.contrast_input:
        return videos
    path = Path(folder) / FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the run was trained with backbone.contrast_input but has no contrast index"
        )
    buckets = default_buckets(max(v.n_steps for v in videos))
    found = channels(model, ContrastInput.load(path), videos, batch_size, buckets)
    return with_channel(videos, found, before_audio=bool(spec.backbone_kwargs.get("audio", False)))


def _standardize(raw: np.ndarray, contrast: ContrastInput) -> np.ndarray:
    return ((raw - contrast.mean) / contrast.std).astype(np.float32)
