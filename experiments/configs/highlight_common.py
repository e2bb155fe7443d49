"""The config builder of the highlight-detection configs (``youtube_*``,
``tvsum_highlights_*``): a summarization config of the backbone (``common.make``) with the
``highlights`` section (``csum.highlights.experiment``)."""

from __future__ import annotations

import ml_collections

from experiments.configs.common import SMALL_VIDEOS, make

HIGHLIGHT_ARGS = ("synthetic", "quick", "audio", "finetuned", "scratch", "supervised")
"""Words of a highlight config's argument, besides a backbone name (default transformer)."""
HIGHLIGHT_QUICK = {"videos_per_domain": 10, "max_clips": 80}


def make_highlights(source: str, domain: str, arg: str | None) -> ml_collections.ConfigDict:
    """Builds the locked config of a highlight run: one domain (category), one regime.

    ``arg`` words: ``synthetic`` (the built-in data), ``quick`` (small data, 6 epochs, 10
    of fine-tuning), ``audio`` (the transformer's audio stream), a regime (``finetuned``,
    ``scratch``, ``supervised``; default ``csum``, without labels) and a backbone name
    (default ``transformer``, UMT's, as in the paper's Table 2). Everything else is the
    summarization config of that backbone (``make``), e.g. ``train.epochs`` = 20 of
    contrastive training (the paper, section 4.3).

    Args:
        source: ``youtube`` or ``tvsum`` (``csum.highlights.experiment.SOURCES``).
        domain: the domain (YouTube Highlights) or category (TVSum) trained and tested.
        arg: the config argument, comma-joined words.
    """
    import backbones

    words = {w.strip() for w in (arg or "").split(",") if w.strip()}
    names = set(backbones.BACKBONES.names())
    unknown = sorted(words - set(HIGHLIGHT_ARGS) - names)
    if unknown:
        raise ValueError(
            f"unknown config argument(s) {unknown}; known: "
            f"{', '.join(HIGHLIGHT_ARGS)} or a backbone "
            f"({', '.join(sorted(names))})"
        )
    chosen = sorted(words & names) or ["transformer"]
    regimes = sorted(words & {"finetuned", "scratch", "supervised"}) or ["csum"]
    if len(chosen) > 1 or len(regimes) > 1:
        raise ValueError(f"one backbone and one regime, got {chosen + regimes}")
    backbone, regime, quick = chosen[0], regimes[0], "quick" in words
    if "audio" in words and source == "tvsum":
        raise ValueError("'audio': TVSum highlights have no audio stream")
    if "audio" in words and backbone != "transformer":
        raise ValueError(
            f"'audio' needs a backbone with an audio stream (transformer), not {backbone!r}"
        )
    c = make("tvsum", backbone, "synthetic" if words & {"synthetic", "quick"} else None)
    shown = sorted(words - {"synthetic"}) + (["synthetic"] if "synthetic" in words else [])
    prefix = f"youtube_{domain}" if source == "youtube" else f"tvsum_highlights_{domain.lower()}"
    with c.unlocked():
        c.name = prefix + (f":{','.join(shown)}" if shown else "")
        c.task = "highlights"
        c.workdir = f"runs/{prefix}" + "".join(f"_{w}" for w in sorted(words))
        c.data.synthetic = bool(words & {"synthetic", "quick"})
        c.data.synthetic_overrides = ml_collections.ConfigDict()
        c.data.feature_keys = ("features",)
        if "audio" in words:
            c.backbone.kwargs.audio = True
        # The backbone alone, not a residual on the contrast (csum.model.residual): the CSUM phase
        # is also the pre-training that fine-tuning resumes, and a residual whose gate bounds
        # it could not move far from the contrast on labels.
        c.backbone.residual = False
        if quick:
            c.train.epochs = 6
        c.highlights = ml_collections.ConfigDict()
        h = c.highlights
        h.source, h.domain, h.regime, h.audio = source, domain, regime, "audio" in words
        # The user's files in UMT's layout (csum.highlights.data); unused with 'synthetic'.
        h.labels, h.video_dir, h.audio_dir, h.splits = "", "", "", ""
        # Fields of csum.highlights.synthetic.HighlightSpec (youtube) or of
        # csum.data.synthetic.SyntheticSpec (tvsum: the TVSum preset, cut into clips).
        small = HIGHLIGHT_QUICK if source == "youtube" else SMALL_VIDEOS
        h.synthetic_overrides = ml_collections.ConfigDict(small if quick else {})
        h.holdout = 0.2  # share of the training videos held out to choose Theta
        h.sigma = 1.0  # Gaussian smoothing of clip scores, in clips
        h.random_draws = 20
        # UMT's saliency training (fine-tuning and from scratch): Adam, lr 1e-3, weight
        # decay 1e-4, batch 4, 50 epochs (the paper, section 4.3).
        h.finetune = ml_collections.ConfigDict(
            {"epochs": 10 if quick else 50, "lr": 1e-3, "weight_decay": 1e-4, "batch_size": 4}
        )
    c.lock()
    return c
