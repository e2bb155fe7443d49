"""The config builders of the multimodal runs: query-based (``qvhighlights_*``,
``csum.multimodal.retrieval``) and video with transcript (``transcripts_*``,
``csum.multimodal.transcripts``)."""

from __future__ import annotations

import ml_collections

from experiments.configs.common import make


def _multimodal_base(
    prefix: str,
    task: str,
    backbone: str,
    arg: str | None,
    known: tuple[str, ...],
    reads: bool,
    own: str,
    baseline: str,
    what: str,
):
    """The part of a query or transcript config that both share: the argument words, the
    regime (``own`` for a backbone that ``reads`` the stream, else ``baseline``; words
    ``finetuned``/``csum``), the base config and its name, task, work directory and data.

    Returns:
        ``(config, regime, quick)``; the caller finishes and locks the config.
    """
    words = {w.strip() for w in (arg or "").split(",") if w.strip()}
    unknown = sorted(words - set(known))
    if unknown:
        raise ValueError(f"unknown config argument(s) {unknown}; known: {', '.join(known)}")
    regimes = sorted(words & {"finetuned", "csum"})
    if len(regimes) > 1:
        raise ValueError(f"one regime, got {regimes}")
    if not reads and "finetuned" in regimes:
        raise ValueError(
            f"'finetuned' fine-tunes {what}: backbone {backbone!r} reads no "
            f"{'query' if task == 'queries' else 'transcript'}"
        )
    regime = regimes[0] if regimes else (own if reads else baseline)
    c = make("tvsum", backbone, "synthetic" if words & {"synthetic", "quick"} else None)
    shown = sorted(words - {"synthetic"}) + (["synthetic"] if "synthetic" in words else [])
    with c.unlocked():
        c.name = f"{prefix}_{backbone}" + (f":{','.join(shown)}" if shown else "")
        c.task = task
        c.workdir = f"runs/{prefix}_{backbone}" + "".join(f"_{w}" for w in sorted(words))
        c.data.synthetic = bool(words & {"synthetic", "quick"})
        c.data.synthetic_overrides = ml_collections.ConfigDict()
        c.data.feature_keys = ("features",)
        c.backbone.contrast_input = False  # the clip features alone, as the papers' models
    return c, regime, "quick" in words


QUERY_ARGS = ("synthetic", "quick", "finetuned", "csum")
"""Words of a query config's argument (``make_queries``)."""
QUERY_BACKBONES = ("visionary", "crosstask_lm")
"""Backbones that read the query stream and predict moments."""
QUERY_QUICK = {"videos": 24}


def make_queries(backbone: str, arg: str | None) -> ml_collections.ConfigDict:
    """Builds the locked config of a query-based run on QVHighlights-format data
    (``csum.multimodal.retrieval``).

    ``backbone``: ``visionary`` (``004_…``: query-conditioned, moments; trained with its own
    loss, ``query``, by default) or ``transformer`` (query-free, trained on the clips'
    saliency alone: the baseline). ``arg`` words: ``synthetic`` (the built-in data),
    ``quick`` (small data, few epochs), ``finetuned`` (CSUM pre-training, then the
    system's loss) or ``csum`` (CSUM alone, no labels).

    Args:
        backbone: ``visionary`` or ``transformer``.
        arg: the config argument, comma-joined words.
    """
    queryless = backbone not in QUERY_BACKBONES
    c, regime, quick = _multimodal_base(
        "qvhighlights",
        "queries",
        backbone,
        arg,
        QUERY_ARGS,
        not queryless,
        "query",
        "saliency",
        "the query loss",
    )
    with c.unlocked():
        if not queryless:
            # The synthetic set's query tokens (csum.multimodal.synthetic.MultimodalSpec).
            c.backbone.kwargs.query_dim = 32
        if quick:
            c.train.epochs = 4
        c.queries = ml_collections.ConfigDict()
        q = c.queries
        q.regime = regime
        # The user's files in QVHighlights' layout (csum.highlights.queries); unused with
        # 'synthetic'. video_dir: comma-separated folders, concatenated.
        q.train, q.val, q.video_dir, q.text_dir = "", "", "", ""
        q.synthetic_overrides = ml_collections.ConfigDict(QUERY_QUICK if quick else {})
        q.windows = 10  # moments predicted per query (QVHighlights scores the first 10)
        # The supervised phase (the system's loss; the baseline's saliency): Lion, weight
        # decay 1e-4, batch 32 as 004_... trains QVHighlights (section 3.1).
        q.finetune = ml_collections.ConfigDict(
            {
                "epochs": 15 if quick else 200,
                "lr": 1e-4,
                "weight_decay": 1e-4,
                "batch_size": 32,
                "optimizer": "lion",
            }
        )
        c.loss.moment_weight = 1.0
    c.lock()
    return c


TRANSCRIPT_ARGS = ("synthetic", "quick", "finetuned", "csum")
"""Words of a transcript config's argument (``make_transcripts``)."""


def make_transcripts(backbone: str, arg: str | None) -> ml_collections.ConfigDict:
    """Builds the locked config of a video-and-transcript summarization run
    (``csum.multimodal.transcripts``).

    ``backbone``: ``a2summ`` (``000_…``: frames and sentences) or ``mhms`` (``001_…``:
    segments, keyframes, sentences and their alignment), each trained with its own loss
    by default, or a video-only backbone (trained by its supervised loss on the same
    videos: the baseline without the transcript). ``arg`` words: ``synthetic``,
    ``quick``, ``finetuned`` (CSUM pre-training, then the system's loss) or ``csum`` (no
    labels).
    """
    from csum.multimodal.transcripts import SYSTEMS

    textless = backbone not in SYSTEMS
    c, regime, quick = _multimodal_base(
        "transcripts",
        "transcripts",
        backbone,
        arg,
        TRANSCRIPT_ARGS,
        not textless,
        SYSTEMS.get(backbone, ""),
        "supervised",
        "the system's loss",
    )
    with c.unlocked():
        if not textless:
            c.backbone.kwargs.text_dim = 32  # the synthetic set's sentence features
        if quick:
            c.train.epochs = 4
        c.transcripts = ml_collections.ConfigDict()
        t = c.transcripts
        t.regime = regime
        t.root = ""  # the user's data set folder (csum.multimodal.transcripts layout)
        t.synthetic_overrides = ml_collections.ConfigDict(QUERY_QUICK if quick else {})
        t.ratio = 0.15  # the video summary's share of clips
        # The supervised phase: A2Summ's TVSum recipe (batch 4, lr 1e-3, weight decay 1e-5;
        # 100 epochs instead of 300 on this small data; 000_..., supplement).
        t.finetune = ml_collections.ConfigDict(
            {
                "epochs": 15 if quick else 100,
                "lr": 1e-3,
                "weight_decay": 1e-5,
                "batch_size": 4,
                "optimizer": "adamw",
            }
        )
        c.loss.beta, c.loss.lam, c.loss.ratio = 0.1, 1.0, 16  # A2Summ's Eq. 9 weights, r
        if backbone == "mhms":
            c.loss.ot_weight = 0.1  # the OT regulariser of MHMS's matching loss
    c.lock()
    return c
