"""One highlight-detection run: a domain's model trained by a regime, scored on its videos.

The YouTube Highlights protocol (Sun et al. 2014, as UMT runs it) trains and evaluates
each domain on its own: a domain's ``train`` videos train one model, its ``val`` videos
are scored. TVSum highlights do the same per category. A run here is one domain and one
regime (``highlights.regime``):

* ``csum``: CSUM's contrastive objective on the domain's training videos, without labels
  (the paper, section 4.3: "the scores after 20 epochs of contrastive training");
* ``finetuned``: that model, then UMT's saliency loss (binary cross-entropy with logits
  on the clip labels; Adam, lr 1e-3, weight decay 1e-4, batch 4, 50 epochs);
* ``scratch``: the saliency loss from a fresh model (the baseline rows);
* ``supervised``: the backbone's own summarization loss on the labels.

A fifth of the training videos (``highlights.holdout``, at least one) is held out: no
regime trains on it, Theta (``csum.highlights.extract.choose_theta``) is chosen on it, and
the test videos are never used for any choice. The run writes, under ``config.workdir``,
the checkpoints of each phase, ``predictions_{regime}.jsonl`` (QVHighlights submission format:
``qid`` = ``vid`` = the video id, ``pred_relevant_windows`` in seconds, the
``pred_saliency_scores`` of every clip) and ``results_{regime}.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from csum.data.batching import default_buckets
from csum.data.errors import DataError, synthetic_hint
from csum.data.records import cast_features
from csum.highlights.data import HighlightVideo, read_umt
from csum.highlights.extract import choose_theta, segment_map, segments
from csum.highlights.metrics import trapezoid_ap, tvsum_top5_ap
from csum.highlights.synthetic import ensure_highlights, ensure_tvsum_highlights
from csum.model import contrast
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.summarization.phases import resolved, train_phase
from csum.training import rundir
from csum.training.predict import predict_scores

REGIMES = ("csum", "finetuned", "scratch", "supervised")
"""``highlights.regime``: see the module docstring."""
SOURCES = ("youtube", "tvsum")
"""``highlights.source``: YouTube Highlights (binary ``match`` labels, clip AP) or TVSum
highlights (``anno`` scores, top-5 mAP)."""
CLIP_SECONDS = 2.0


def highlight_files(config) -> tuple[dict[str, Path | None], dict]:
    """The source's files and its split file's contents (every domain's ``train`` and
    ``val`` videos).

    Synthetic data (``data.synthetic``) is generated on first use into
    ``data.synthetic_dir``; otherwise ``highlights.labels``, ``video_dir``, ``splits`` and
    (with ``highlights.audio``) ``audio_dir`` name the user's files.

    Returns:
        (``{"labels", "video_dir", "splits", "audio_dir"}`` paths, ``{domain: {"train":
        [...], "val": [...]}}``).

    Raises:
        DataError: a missing path or an unreadable split file (one line).
    """
    h = config.highlights
    if config.data.synthetic:
        make = ensure_highlights if h.source == "youtube" else ensure_tvsum_highlights
        overrides = dict(h.synthetic_overrides)
        paths = make(config.data.synthetic_dir, seed=config.data.synthetic_seed, **overrides)
    else:
        for key in ("labels", "video_dir", "splits") + (("audio_dir",) if h.audio else ()):
            if not h[key]:
                raise DataError(
                    f"--config.highlights.{key}",
                    f"no path given (or {synthetic_hint(config.name)})",
                )
        paths = {k: Path(h[k]).expanduser() for k in ("labels", "video_dir", "splits")}
        paths["audio_dir"] = Path(h.audio_dir).expanduser() if h.audio_dir else None
    if not paths["splits"].is_file():
        raise DataError(paths["splits"], "splits file not found")
    try:
        splits = json.loads(paths["splits"].read_text())
    except json.JSONDecodeError as e:
        raise DataError(paths["splits"], f"not JSON ({e.msg})") from None
    return paths, splits


def load_highlights(config) -> tuple[dict[str, HighlightVideo], dict]:
    """The domain's videos and the split file's entry for it.

    Synthetic data (``data.synthetic``) is generated on first use into
    ``data.synthetic_dir``; otherwise ``highlights.labels``, ``video_dir``, ``splits`` and
    (with ``highlights.audio``) ``audio_dir`` name the user's files.

    Returns:
        (``{vid: HighlightVideo}`` of the domain's train and val videos, ``{"train": [...],
        "val": [...]}``).

    Raises:
        DataError: a missing file, domain or video (one line).
    """
    h = config.highlights
    paths, splits = highlight_files(config)
    if h.domain not in splits:
        raise DataError(
            paths["splits"], f"no domain {h.domain!r}; known: {', '.join(sorted(splits))}"
        )
    split = splits[h.domain]
    for part in ("train", "val"):
        if not split.get(part):
            raise DataError(paths["splits"], f"domain {h.domain!r} has no {part!r} videos")
    audio_dir = paths["audio_dir"] if h.audio else None
    videos = read_umt(
        paths["labels"],
        paths["video_dir"],
        audio_dir,
        kind=h.source,
        videos=split["train"] + split["val"],
    )
    return videos, split


def holdout_split(keys: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, holdout) keys: a seeded ``fraction`` of ``keys`` (at least one) held out."""
    order = np.random.default_rng(seed).permutation(len(keys))
    n = max(1, round(fraction * len(keys)))
    if n >= len(keys):
        raise DataError(
            "highlights",
            f"{len(keys)} training video(s): too few to hold out "
            f"{n} for Theta and train on the rest",
        )
    return [keys[i] for i in sorted(order[n:])], [keys[i] for i in sorted(order[:n])]


def model_inputs(config, groups, phase_dirs, audio: bool = False):
    """The model to train and the videos as it takes them.

    Args:
        config: the run's config.
        groups: lists of summarization ``Video``: the training videos first, then any
            others (Theta holdout, test, videos to score).
        phase_dirs: the folders of the phases that will train the model: each gets the
            contrast index in ``fold_0`` (``csum.model.contrast``), for ``--model`` reuse.
        audio: the videos' last source is an audio stream.

    Returns:
        ``(model, [videos per group])``: features in ``compute_dtype``; with
        ``backbone.contrast_input`` each video has its collection contrast against the
        training videos (before the audio stream), and the model is built for those
        sources.
    """

    # stored in the compute dtype, as experiments.run stores them and contrast.for_run
    # gives them to a loaded model
    groups = [cast_features(list(g), jnp.dtype(config.compute_dtype)) for g in groups]
    dims = list(groups[0][0].dims)
    if config.backbone.contrast_input:  # one more source, before the audio stream
        dims.insert(len(dims) - 1 if audio else len(dims), 1)
    model = build_summarizer(ModelSpec.from_config(config), tuple(dims), seed=config.seed)
    if not config.backbone.contrast_input:
        return model, [list(group) for group in groups]
    buckets = default_buckets(max(v.n_steps for group in groups for v in group))
    inputs = contrast.attach(
        model,
        groups[0],
        groups[1:],
        config.eval.batch_size,
        buckets,
        config.loss.tau,
        [d / "fold_0" for d in phase_dirs],
        before_audio=audio,
    )
    return model, list(inputs)


def clip_ap(config, video: HighlightVideo, scores: np.ndarray) -> float:
    """The source's clip metric: UMT's AP (YouTube) or top-5 mAP over annotators (TVSum)."""
    if config.highlights.source == "tvsum":
        return float(tvsum_top5_ap(video.anno, scores).mean())
    return trapezoid_ap(video.highlights, scores)


def windows_in_seconds(spans, values) -> list[list[float]]:
    return [
        [float(a * CLIP_SECONDS), float(b * CLIP_SECONDS), round(float(v), 4)]
        for (a, b), v in zip(spans, values, strict=True)
    ]


def run_highlights(config) -> dict:
    """Trains ``config``'s regime on its domain and scores the domain's test videos.

    Returns:
        ``{"domain", "regime", "audio", "ap", "random_ap", "segment_map", "theta",
        "per_video"}`` (also written to ``results_{regime}.json``); ``ap``: mean clip metric over
        the test videos, ``random_ap``: the same for ``highlights.random_draws`` random
        rankings a video, ``segment_map``: mAP over tIoU 0.5:0.05:0.95 of the segments
        above Theta.
    """

    h = config.highlights
    workdir = Path(config.workdir)
    rundir.write_config(workdir, resolved(config), replace=True)
    videos, split = load_highlights(config)
    train_keys, hold_keys = holdout_split(split["train"], h.holdout, config.seed)
    # Phase folders are named by what they train, so that regimes run in one work
    # directory share the contrastive phase (``finetuned`` resumes ``csum``'s last epoch).
    phases = {
        "scratch": [("saliency", "scratch")],
        "supervised": [("supervised", "supervised")],
        "csum": [("csum", "csum")],
        "finetuned": [("csum", "csum"), ("saliency", "finetuned")],
    }[h.regime]
    model, (train, held, test) = model_inputs(
        config,
        [
            [videos[k].as_video(audio=h.audio) for k in keys]
            for keys in (train_keys, hold_keys, split["val"])
        ],
        [workdir / folder for _, folder in phases],
        audio=bool(h.audio),
    )
    for regime, folder in phases:
        # UMT's saliency optimiser (highlights.finetune) for fine-tuning and from scratch
        settings = h.finetune if regime == "saliency" else None
        model = train_phase(config, regime, train, workdir / folder, model, settings)

    def scores_of(vs):
        buckets = default_buckets(max(v.n_steps for v in vs))
        return predict_scores(model.backbone, vs, config.eval.batch_size, buckets)

    # the contrast source alone as the scores (no model): what CSUM's training is given
    channel = -2 if h.audio else -1
    alone = (
        {v.key: np.asarray(v.features[channel][:, 0], np.float64) for v in test}
        if config.backbone.contrast_input
        else None
    )
    held = scores_of(held)
    theta = choose_theta(
        [held[k] for k in hold_keys], [videos[k].highlights for k in hold_keys], h.sigma
    )
    test = scores_of(test)
    rng = np.random.default_rng([config.seed, 1])
    per_video, rows, predicted = {}, [], []
    for k in split["val"]:
        v, s = videos[k], test[k]
        random_ap = np.mean(
            [clip_ap(config, v, rng.random(v.n_clips)) for _ in range(h.random_draws)]
        )
        per_video[k] = {"ap": clip_ap(config, v, s), "random_ap": float(random_ap)}
        if alone is not None:
            per_video[k]["contrast_ap"] = clip_ap(config, v, alone[k])
        spans, values = segments(s, theta, h.sigma)
        predicted.append((spans, values))
        rows.append(
            {
                "qid": k,
                "vid": k,
                "pred_relevant_windows": windows_in_seconds(spans, values),
                "pred_saliency_scores": [float(x) for x in s],
            }
        )
    with open(workdir / f"predictions_{h.regime}.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    result = {
        "domain": h.domain,
        "source": h.source,
        "regime": h.regime,
        "audio": bool(h.audio),
        "backbone": config.backbone.name,
        "ap": float(np.mean([p["ap"] for p in per_video.values()])),
        "random_ap": float(np.mean([p["random_ap"] for p in per_video.values()])),
        "contrast_ap": (
            float(np.mean([p["contrast_ap"] for p in per_video.values()]))
            if alone is not None
            else None
        ),
        "segment_map": segment_map(predicted, [videos[k].highlights for k in split["val"]]),
        "theta": theta,
        "holdout": hold_keys,
        "per_video": per_video,
    }
    (workdir / f"results_{h.regime}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def format_result(result: dict) -> str:
    """Two lines: the run's clip metric and segment mAP beside random scores."""
    metric = "top-5 mAP" if result["source"] == "tvsum" else "clip AP"
    name = (
        f"{result['source']} {result['domain']}: {result['regime']} "
        f"({result['backbone']}{', audio' if result['audio'] else ''})"
    )
    return (
        f"{name}\n  {metric} {100 * result['ap']:.1f} % (random {100 * result['random_ap']:.1f}"
        f" %), segment mAP {100 * result['segment_map']:.1f} %, Theta "
        f"{result['theta']:.3f}"
    )
