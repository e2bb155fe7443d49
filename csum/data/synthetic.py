"""Synthetic benchmark in the eccv16 layout, from a latent scene model with known importance.

Each video belongs to a category. It is cut into shots of 2-8 s; each shot shows one latent
scene:

* a *background* scene of its category (shared by every video of the category, dull),
* a *generic* scene shared by all videos (title cards, talking heads: dullest), or
* one of the video's own *events* (rare and specific to the video: the important content).

Importance per shot is known: events 0.7-0.95, background 0.2-0.45, generic 0.05-0.2.
Features at 2 fps steps are a per-source random projection of the scene latent plus
temporally correlated noise (AR(1)) and i.i.d. noise, rectified like GoogLeNet pool5.
Annotators see the importance through their own noise and bias: TVSum-like users give
1..5 frame scores (``user_scores``) and their summaries are derived from them by the
keyshot knapsack, as the eccv16 files derive TVSum's; SumMe-like users select shots
directly (about 13 % of the frames) and carry no scores. Shot bounds are the true cuts.

Why this model tests CSUM: background is shared within a category, so a summary that is
told apart from other videos of the batch must contain the video's own events, which are
exactly the important shots.

A second family, ``family="stock"``, puts the CSUM hypothesis in its plainest form: no
categories; every video mixes *stock* footage, drawn from one pool of scenes that all videos
share (establishing shots, crowds, logos), with scenes of its own (30-55 % of its shots,
each video a different share), and what viewers find important is exactly the video's own
content (own scenes 0.6-0.95, stock 0.05-0.4). Features and annotators are made as above.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from csum.data.eccv16 import write_eccv16
from csum.data.records import Video
from csum.metrics.evaluation import knapsack

FEATURE_KEYS = ("features", "features_rgb", "features_flow")
"""Keys of the three synthetic sources (GoogLeNet-like, I3D-RGB-like, I3D-flow-like)."""


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
    """Shape of a synthetic dataset.

    Attributes:
        n_videos: number of videos (``video_1`` .. ``video_n``).
        n_users: annotators per video.
        min_seconds, max_seconds: video duration range (uniform).
        user_kind: ``"scores"`` (TVSum-like 1..5 scores) or ``"selection"`` (SumMe-like).
        n_categories: categories sharing background scenes.
        dim: feature size per source.
        n_sources: number of feature sources (<= 3).
        fps: frame rate; steps are taken every ``fps // 2`` frames (2 fps).
        family: ``"category"`` (category backgrounds, generic scenes and own events) or
            ``"stock"`` (a shared stock pool and each video's own scenes).
        drift: innovation std of the AR(1) latent drift (a video's own "style", present in
            every shot; stationary std = drift / 0.6). It is kept below the scene
            separation (latents are standard normal) so that what sets a video apart is
            mostly its events, as the CSUM hypothesis assumes of real videos; at 0.35 the
            style alone identified every window of a video.
    """

    n_videos: int
    n_users: int
    min_seconds: float
    max_seconds: float
    user_kind: str
    n_categories: int = 10
    dim: int = 1024
    n_sources: int = 3
    fps: int = 30
    drift: float = 0.15
    family: str = "category"


PRESETS = {
    "tvsum": SyntheticSpec(
        n_videos=50, n_users=20, min_seconds=120, max_seconds=600, user_kind="scores"
    ),
    "summe": SyntheticSpec(
        n_videos=25,
        n_users=15,
        min_seconds=60,
        max_seconds=390,
        user_kind="selection",
        n_categories=5,
    ),
}

LATENT = 64
GENERATOR_VERSION = 2  # bump whenever the generator's output changes for the same spec
_KIND_IMPORTANCE = {
    "event": (0.7, 0.95),
    "background": (0.2, 0.45),
    "generic": (0.05, 0.2),
    "own": (0.6, 0.95),
    "stock": (0.05, 0.4),
}
FAMILIES = ("category", "stock")
N_STOCK = 12  # scenes of the shared stock pool (family "stock")


def _shots(rng, n_frames, fps):
    """Consecutive shots of 2-8 s covering all frames: [n_shots, 2] inclusive bounds."""
    bounds, start = [], 0
    while start < n_frames:
        end = min(n_frames, start + int(rng.uniform(2, 8) * fps))
        if n_frames - end < 2 * fps:  # no sliver at the end
            end = n_frames
        bounds.append((start, end - 1))
        start = end
    return np.array(bounds, np.int64)


def _video(rng, spec, index, category, scenes, projections):
    n_frames = int(rng.uniform(spec.min_seconds, spec.max_seconds) * spec.fps)
    step = spec.fps // 2
    picks = np.arange(0, n_frames, step, dtype=np.int64)
    shots = _shots(rng, n_frames, spec.fps)
    if spec.family == "stock":
        own = rng.normal(size=(int(rng.integers(3, 7)), LATENT))
        p_own = rng.uniform(0.3, 0.55)
        kinds = rng.choice(["own", "stock"], size=len(shots), p=[p_own, 1 - p_own])
        pools = {"own": own, "stock": scenes[0]}
    else:
        events = rng.normal(size=(int(rng.integers(2, 5)), LATENT))
        kinds = rng.choice(["event", "background", "generic"], size=len(shots), p=[0.2, 0.65, 0.15])
        pools = {"event": events, "background": scenes[category], "generic": scenes[-1]}
    latents, importance = [], []
    for kind in kinds:
        pool = pools[kind]
        latents.append(pool[rng.integers(len(pool))])
        importance.append(rng.uniform(*_KIND_IMPORTANCE[kind]))
    importance = np.array(importance)
    shot_of_step = np.searchsorted(shots[:, 1], picks)
    noise = np.zeros((len(picks), LATENT))
    for t in range(len(picks)):  # AR(1) drift within the video
        noise[t] = (0.8 * noise[t - 1] if t else 0) + spec.drift * rng.normal(size=LATENT)
    latent_steps = np.stack(latents)[shot_of_step] + noise
    features = tuple(
        np.maximum(latent_steps @ p + 0.3 * rng.normal(size=(len(picks), spec.dim)), 0).astype(
            np.float32
        )
        for p in projections
    )
    lengths = shots[:, 1] - shots[:, 0] + 1
    capacity = math.floor(0.15 * n_frames)
    user_scores, user_summary = [], []
    for _ in range(spec.n_users):
        bias = rng.normal(0, 0.05)
        seen = importance + bias + rng.normal(0, 0.15, size=len(shots))
        if spec.user_kind == "scores":
            shot_scores = np.clip(np.rint(1 + 4 * seen), 1, 5)
            values = shot_scores
        else:
            values = seen
            capacity = math.floor(rng.uniform(0.09, 0.17) * n_frames)
        chosen = knapsack(values, lengths, capacity)
        summary = np.zeros(n_frames, np.float32)
        for i in chosen:
            summary[shots[i, 0] : shots[i, 1] + 1] = 1
        user_summary.append(summary)
        if spec.user_kind == "scores":
            user_scores.append(np.repeat(shot_scores, lengths).astype(np.float32))
    frame_importance = np.repeat(importance, lengths)
    group = "stock" if spec.family == "stock" else "cat"
    # gtscore: mean annotator score per step (scaled to [0, 1]), or selection frequency.
    gtscore = np.mean(user_scores, 0)[picks] / 5 if user_scores else np.mean(user_summary, 0)[picks]
    video = Video(
        key=f"video_{index + 1}",
        features=features,
        n_frames=n_frames,
        picks=picks,
        change_points=shots,
        user_summary=np.stack(user_summary),
        gtscore=gtscore.astype(np.float32),
        user_scores=np.stack(user_scores) if user_scores else None,
        name=f"synthetic_{index + 1}_{group}{category}_imp{frame_importance.mean():.3f}",
    )
    return video, tuple(str(k) for k in kinds)


def generate(spec: SyntheticSpec, seed: int = 0) -> list[Video]:
    """Generates a synthetic dataset, deterministically for a seed.

    Args:
        spec: dataset shape (see ``PRESETS``).
        seed: random seed; same seed and spec, same arrays.

    Returns:
        ``spec.n_videos`` videos, categories assigned round-robin.
    """
    return [video for video, _ in _generate(spec, seed)]


def shot_kinds(spec: SyntheticSpec, seed: int = 0) -> dict[str, tuple[str, ...]]:
    """The latent kind of every shot (``event``/``background``/``generic``, or
    ``own``/``stock``), by video key: what the generator knows and a model never sees.

    Viewers' importance is the kind's range plus a uniform draw within it, independent
    of anything else, so scoring each shot by its kind's mid-range is the best any scorer
    that sees no labels can do on this data (``benchmarks.label_free_ceiling``).
    """
    return {video.key: kinds for video, kinds in _generate(spec, seed)}


KIND_MIDPOINT = {kind: (lo + hi) / 2 for kind, (lo, hi) in _KIND_IMPORTANCE.items()}
"""Mid-range importance of each shot kind."""


def _generate(spec: SyntheticSpec, seed: int):
    if spec.family not in FAMILIES:
        raise ValueError(f"unknown synthetic family {spec.family!r}; known: {', '.join(FAMILIES)}")
    rng = np.random.default_rng(seed)
    if spec.family == "stock":  # one pool of stock scenes that every video draws from
        scenes = [rng.normal(size=(N_STOCK, LATENT))]
    else:  # one set of 6 background scenes per category, then 4 generic scenes last
        scenes = [rng.normal(size=(6, LATENT)) for _ in range(spec.n_categories)]
        scenes.append(rng.normal(size=(4, LATENT)))
    projections = [
        rng.normal(size=(LATENT, spec.dim)) / math.sqrt(LATENT) for _ in range(spec.n_sources)
    ]
    categories = 1 if spec.family == "stock" else spec.n_categories
    for i in range(spec.n_videos):
        yield _video(rng, spec, i, i % categories, scenes, projections)


def ensure_synthetic(directory, preset: str, seed: int = 0, **overrides) -> Path:
    """Returns the path of a synthetic eccv16 file, generating it on first use.

    Args:
        directory: where the file is cached.
        preset: ``"tvsum"`` or ``"summe"``.
        seed: generator seed.
        **overrides: ``SyntheticSpec`` fields to change (e.g. ``n_videos=8, dim=32``).

    Returns:
        Path to ``synthetic_{preset}_seed{seed}_{digest}.h5``, with feature keys
        ``FEATURE_KEYS[:n_sources]``; the digest covers the resolved spec and
        ``GENERATOR_VERSION``, so a cached file is never reused for other data.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown synthetic preset {preset!r}; known: {', '.join(PRESETS)}")
    spec = dataclasses.replace(PRESETS[preset], **overrides)
    resolved = json.dumps([GENERATOR_VERSION, dataclasses.asdict(spec)], sort_keys=True)
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:10]
    path = Path(directory).expanduser() / f"synthetic_{preset}_seed{seed}_{digest}.h5"
    if not path.is_file():
        write_eccv16(path, generate(spec, seed), FEATURE_KEYS[: spec.n_sources])
    return path
