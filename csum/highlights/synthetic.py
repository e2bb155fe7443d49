"""Synthetic highlight data in YouTube Highlights' layout, with known highlights.

Six domains (dog, gymnastics, parkour, skating, skiing, surfing). Each video is cut into
segments of 2-6 clips (2-second clips); a segment shows one latent scene:

* a *highlight*: one of its domain's characteristic events (a trick, a jump, a wave
  ridden);
* the domain's *ordinary* footage (the slope, the park, the waiting);
* *generic* footage shared by every domain (titles, talking, crowds).

Every occurrence of a scene is its own variation of it: a highlight by ``variation`` (no
two tricks are alike), ordinary and generic footage by half as much (the slope looks
the same from run to run). A highlight happens *in* the domain's ordinary setting: each
event's latent is one of the domain's ordinary scenes plus its own component, with
correlation ``overlap`` (a trick is filmed on the same slope as the waiting), so that
the visual stream alone separates highlights only partly. Not every highlight shows
at all: with probability ``1 - visible`` an occurrence is filmed so that it looks like
the domain's ordinary footage (a trick seen from afar, a wave behind the crowd), and
only the sound can tell it apart.

Highlights are labelled ``match = 1``, the rest 0; each segment's label is flipped with
probability ``label_noise`` (YouTube Highlights' labels come from what users kept in
their edited videos, and they disagree). Visual features (``dim``) are a random
projection of the scene latent plus an AR(1) drift and noise, rectified. The audio stream
(``audio_dim``) is informative but not sufficient: a highlight segment has the "cheer"
sound with probability ``audio_hit``, any other segment with ``audio_false``, and the
sound says nothing about which event it is. The two streams are complementary by
construction: with the evidence of each segment known exactly, the Bayes-optimal clip
AP on seed 0's test videos is 75.2 % from the picture alone, 48.0 % from the sound alone
and 81.0 % from both (87.1 % knowing the true segment kinds;
``python -m benchmarks.highlight_ceiling``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from csum.data import synthetic
from csum.highlights.data import HighlightVideo, write_umt
from csum.highlights.tvsum import CATEGORIES, clip_bounds, clip_means

DOMAINS = ("dog", "gymnastics", "parkour", "skating", "skiing", "surfing")
LATENT = 64
GENERATOR_VERSION = 6
REAL_SIZES = {
    "dog": (44, 24),
    "gymnastics": (34, 28),
    "parkour": (21, 11),
    "skating": (24, 11),
    "skiing": (68, 51),
    "surfing": (56, 47),
}
"""(train, val) videos per domain in YouTube Highlights' standard split (``splits/``)."""


@dataclasses.dataclass(frozen=True)
class HighlightSpec:
    """Shape of a synthetic highlight data set.

    Attributes:
        videos_per_domain: videos of each domain; 0: as many as the real benchmark's
            split has for that domain (``REAL_SIZES``, train and val).
        val_fraction: share of each domain's videos in its ``val`` split (when
            ``videos_per_domain`` > 0).
        min_clips, max_clips: video length range in 2-second clips.
        dim: visual feature size.
        audio_dim: audio feature size.
        p_highlight: probability that a segment is a highlight.
        variation: std of each highlight occurrence around its event's latent (other
            scenes: half).
        audio_hit: P(cheer sound | highlight segment).
        audio_false: P(cheer sound | other segment).
        overlap: correlation of each event's latent with the ordinary scene it happens in.
        visible: P(a highlight occurrence shows in the visual stream); the others look
            like the domain's ordinary footage.
        label_noise: probability that a segment's label is flipped.
    """

    videos_per_domain: int = 0
    val_fraction: float = 0.35
    min_clips: int = 40
    max_clips: int = 120
    dim: int = 128
    audio_dim: int = 32
    p_highlight: float = 0.2
    variation: float = 0.6
    audio_hit: float = 0.7
    audio_false: float = 0.15
    overlap: float = 0.8
    visible: float = 0.7
    label_noise: float = 0.05


def _features(rng, latents, projection, drift=0.2, noise=0.5):
    ar = np.zeros_like(latents)
    for t in range(len(latents)):  # AR(1) drift: each video's own style
        ar[t] = (0.8 * ar[t - 1] if t else 0) + drift * rng.normal(size=latents.shape[1])
    x = (latents + ar) @ projection + noise * rng.normal(size=(len(latents), projection.shape[1]))
    return np.maximum(x, 0).astype(np.float32)


def generate(spec: HighlightSpec, seed: int = 0):
    """Generates the videos and the per-domain splits, deterministically for a seed.

    Returns:
        (videos [HighlightVideo], splits ``{domain: {"train": [ids], "val": [ids]}}``).
    """
    videos, splits, _ = generate_with_truth(spec, seed)
    return videos, splits


def generate_with_truth(spec: HighlightSpec, seed: int = 0):
    """``generate``, plus the hidden state of every clip (what no model sees).

    Returns:
        (videos, splits, truth): ``truth[key]`` is ``{"highlight", "shown", "cheer"}``,
        bool arrays [n_clips]: the segment is a highlight (before label noise), it shows
        in the visual stream, it has the cheer sound.
    """
    rng = np.random.default_rng(seed)
    generic = rng.normal(size=(5, LATENT))
    ordinary = {d: rng.normal(size=(4, LATENT)) for d in DOMAINS}
    own = math.sqrt(1 - spec.overlap**2)
    events = {
        d: spec.overlap * ordinary[d][rng.integers(4, size=3)] + own * rng.normal(size=(3, LATENT))
        for d in DOMAINS
    }
    sounds = rng.normal(size=(2, LATENT))  # ambient, cheer
    projection = rng.normal(size=(LATENT, spec.dim)) / math.sqrt(LATENT)
    audio_projection = rng.normal(size=(LATENT, spec.audio_dim)) / math.sqrt(LATENT)
    p_other = (1 - spec.p_highlight) * np.array([0.6, 0.4])
    videos, splits, truth = [], {}, {}
    for d in DOMAINS:
        if spec.videos_per_domain:
            n_videos = spec.videos_per_domain
            n_val = max(1, round(spec.val_fraction * n_videos))
        else:
            n_videos, n_val = sum(REAL_SIZES[d]), REAL_SIZES[d][1]
        ids = []
        for i in range(n_videos):
            n = int(rng.integers(spec.min_clips, spec.max_clips + 1))
            latents, sound, match, hidden = [], [], [], []
            while len(latents) < n:
                length = int(rng.integers(2, 7))
                kind = rng.choice(3, p=[spec.p_highlight, *p_other])
                shown = kind == 0 and rng.random() < spec.visible
                pool = events[d] if shown else (ordinary[d], ordinary[d], generic)[kind]
                spread = spec.variation if shown else spec.variation / 2
                scene = pool[rng.integers(len(pool))] + spread * rng.normal(size=LATENT)
                cheer = rng.random() < (spec.audio_hit if kind == 0 else spec.audio_false)
                latents += [scene] * length
                sound += [sounds[int(cheer)]] * length
                flip = rng.random() < spec.label_noise
                match += [int((kind == 0) != flip)] * length
                hidden += [(kind == 0, shown, cheer)] * length
            latents, sound = np.stack(latents[:n]), np.stack(sound[:n])
            key = f"{d}_{i:03d}"
            videos.append(
                HighlightVideo(
                    key=key,
                    domain=d,
                    visual=_features(rng, latents, projection),
                    audio=_features(rng, sound, audio_projection, drift=0.05, noise=0.5),
                    labels=np.asarray(match[:n], np.float64),
                )
            )
            hidden = np.asarray(hidden[:n], bool)
            truth[key] = {"highlight": hidden[:, 0], "shown": hidden[:, 1], "cheer": hidden[:, 2]}
            ids.append(key)
        splits[d] = {"train": ids[n_val:], "val": ids[:n_val]}
    return videos, splits, truth


def ensure_highlights(directory, seed: int = 0, **overrides) -> dict[str, Path]:
    """The paths of a synthetic highlight data set in UMT's layout, generated on first use.

    Args:
        directory: cache folder.
        seed: generator seed.
        **overrides: ``HighlightSpec`` fields.

    Returns:
        ``{"labels", "video_dir", "audio_dir", "splits"}`` under a folder named by a
        digest of the resolved spec, seed and generator version.
    """
    spec = dataclasses.replace(HighlightSpec(), **overrides)
    resolved = json.dumps([GENERATOR_VERSION, seed, dataclasses.asdict(spec)], sort_keys=True)
    root = Path(directory).expanduser() / (
        f"synthetic_highlights_seed{seed}_{hashlib.sha256(resolved.encode()).hexdigest()[:10]}"
    )
    paths = {
        "labels": root / "labels.json",
        "video_dir": root / "video",
        "audio_dir": root / "audio",
        "splits": root / "splits.json",
    }
    if not paths["splits"].is_file():
        videos, splits = generate(spec, seed)
        write_umt(videos, paths["labels"], paths["video_dir"], paths["audio_dir"])
        paths["splits"].write_text(json.dumps(splits, indent=1))  # last: marks completion
    return paths


def tvsum_highlight_videos(videos, fps: int, categories: int) -> list[HighlightVideo]:
    """Synthetic TVSum-like videos (``csum.data.synthetic``, category family) as TVSum
    highlight videos: 2-second clips (``csum.highlights.tvsum.clip_bounds``), a clip's
    features the mean of its 2 fps steps' first source, its annotator scores the mean of
    each annotator's frame scores over it (as for the real annotations), the domain the
    video's category (named as TVSum's, in order)."""

    out = []
    for i, v in enumerate(videos):
        bounds = clip_bounds(v.n_frames, fps)
        clip_of_step = np.searchsorted(bounds, v.picks, side="right") - 1
        keep = np.bincount(clip_of_step, minlength=len(bounds) - 1) > 0
        visual = np.stack(
            [v.features[0][clip_of_step == c].mean(axis=0) for c in np.flatnonzero(keep)]
        )
        anno = clip_means(v.user_scores.T, bounds)[keep]
        out.append(
            HighlightVideo(
                key=v.key,
                domain=CATEGORIES[i % categories],
                visual=visual.astype(np.float32),
                audio=None,
                labels=anno.mean(axis=1),
                anno=anno,
            )
        )
    return out


def ensure_tvsum_highlights(directory, seed: int = 0, **overrides) -> dict[str, Path]:
    """Synthetic TVSum highlights in UMT's layout, generated on first use.

    The TVSum preset of ``csum.data.synthetic`` (category family: 10 categories of 5
    videos, 20 annotators' 1-5 scores) cut into 2-second clips
    (``tvsum_highlight_videos``); per category the first 4 videos train and the 5th is
    tested, as in TVSum's highlight splits.

    Args:
        directory: cache folder.
        seed: generator seed.
        **overrides: ``csum.data.synthetic.SyntheticSpec`` fields.

    Returns:
        ``{"labels", "video_dir", "audio_dir", "splits"}`` (``audio_dir`` None).
    """

    spec = dataclasses.replace(synthetic.PRESETS["tvsum"], **overrides)
    if spec.family != "category" or spec.user_kind != "scores":
        raise ValueError("TVSum highlights need the category family with annotator scores")
    resolved = json.dumps(
        [GENERATOR_VERSION, synthetic.GENERATOR_VERSION, seed, dataclasses.asdict(spec)],
        sort_keys=True,
    )
    root = Path(directory).expanduser() / (
        f"synthetic_tvsum_highlights_seed{seed}_"
        f"{hashlib.sha256(resolved.encode()).hexdigest()[:10]}"
    )
    paths = {
        "labels": root / "labels.json",
        "video_dir": root / "video",
        "audio_dir": None,
        "splits": root / "splits.json",
    }
    if not paths["splits"].is_file():
        videos = tvsum_highlight_videos(synthetic.generate(spec, seed), spec.fps, spec.n_categories)
        write_umt(videos, paths["labels"], paths["video_dir"])
        splits = {}
        for v in videos:
            split = splits.setdefault(v.domain, {"train": [], "val": []})
            (split["train"] if len(split["train"]) < 4 else split["val"]).append(v.key)
        paths["splits"].write_text(json.dumps(splits, indent=1))  # last: marks completion
    return paths
