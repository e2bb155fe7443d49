"""The summarization config builder, on which every named config builds.

A named config is ``experiments/configs/{dataset}_{backbone}.py`` with a ``get_config(arg)``
that calls ``make`` (or a builder on top of it: ``highlight_common.make_highlights``,
``multimodal_common.make_queries``/``make_transcripts``). The argument is a comma-separated list of:

* ``synthetic``: use the built-in synthetic dataset of the same shape (no downloads);
* ``stock``: the synthetic data's "stock" family (``csum.data.synthetic``: a shared pool of
  stock footage plus each video's own scenes; implies ``synthetic``);
* ``small``: small synthetic videos (128-wide features, 40-120 s), every fold and epoch:
  the setting of the README's results table, and the README's main job (about 2 minutes);
* ``quick``: a smoke run on the built-in synthetic data (``small`` videos, 1 fold, 2
  epochs); it implies ``synthetic`` here as in every highlight and multimodal config;
* ``augmented`` / ``transfer``: the field's other two settings (``data.setting``): train also
  on, or only on, every video of the other data sets (``csum.summarization.data.SETTINGS``);
* ``paper``: CSUM's recipe as the paper writes it (``PAPER_RECIPE``: NT-Xent between batch
  videos and summaries, n = 10, tau 0.5, a trained projector, raw sigmoid scores, alpha 20)
  instead of the defaults that make it learn (``docs/learning.md``).

Configs are locked: a misspelled ``--config.x.y=v`` override fails loudly.
"""

from __future__ import annotations

import ml_collections

from csum import topk

ARGS = ("synthetic", "stock", "small", "quick", "augmented", "transfer", "paper")

BACKBONE_KWARGS = {
    "vslstm": {"hidden": 256, "dropout": 0.5},
    "dpplstm": {"hidden": 256, "phi_dim": 128, "dropout": 0.5},
    "vasnet": {"aperture": 0, "dropout": 0.5},
    "msva": {"hidden": 365, "head": 512, "aperture": 250, "dropout": 0.5},
    "transformer": {
        "dim": 256,
        "heads": 8,
        "ffn": 1024,
        "layers": 1,
        "bottleneck": 4,
        "dropout": 0.1,
    },
}
BACKBONE_NAMES = tuple(BACKBONE_KWARGS)
"""The built-in backbones, in the order of the paper's Table 1 (transformer last)."""
MULTIMODAL_KWARGS = {
    "visionary": {
        "dim": 256,
        "heads": 8,
        "ffn": 1024,
        "layers": 1,
        "bottleneck": 4,
        "dropout": 0.1,
    },
    "crosstask_sm": {"dim": 128, "heads": 4, "dropout": 0.1},
    "crosstask_lm": {"dim": 128, "heads": 4, "dropout": 0.1},
    "a2summ": {"dim": 128, "heads": 4, "layers": 2, "dropout": 0.1},
    "mhms": {"hidden": 128, "window": 4, "heads": 4, "align": 128, "dropout": 0.1},
}
"""Sizes of the seed papers' systems (``docs/multimodal.md``)."""


def backbone_kwargs(name: str) -> dict:
    """The default ``backbone.kwargs`` of a backbone (empty for one a user registered)."""
    return dict({**BACKBONE_KWARGS, **MULTIMODAL_KWARGS}.get(name, {}))


# The eccv16 files carry GoogLeNet only; the synthetic data also carries I3D-like sources,
# which MSVA fuses (the other backbones use the GoogLeNet-like source, as in their papers).
REAL_KEYS = ("features",)
SYNTHETIC_KEYS = {"msva": ("features", "features_rgb", "features_flow")}


STANDARDIZED = {
    "successive_halving": {"alpha": 3.0},
    "sinkhorn": {"epsilon": 2.0 / 3.0},
    "perturbed": {"sigma": 0.4},
}
"""Sharpness for standardised scores (unit spread per video). alpha = 3 was chosen on the
validation draw (synthetic seed 1; 3 and 10 tried, docs/learning.md). Sinkhorn's epsilon =
2 / alpha gives its membership sigmoid the same slope; the perturbed operator's sigma = 0.4
gives two clips a swap probability with about the same slope in their gap (not tuned)."""


SMALL_VIDEOS = {"dim": 128, "min_seconds": 40, "max_seconds": 120}
"""The synthetic data's small videos (config words ``small`` and ``quick``)."""

PAPER_RECIPE = {
    ("backbone", "contrast_input"): False,
    ("backbone", "residual"): False,
    ("loss", "negatives"): "batch",
    ("loss", "tau"): 0.5,
    ("projector", "window"): 10,
    ("projector", "trainable"): True,
    ("topk", "scores"): "raw",
    ("topk", "successive_halving", "alpha"): 20.0,
}
"""The config word ``paper``: the CSUM paper's recipe (sections 3-4), kept as written."""


def parse_arg(arg: str | None) -> set[str]:
    """Splits ``"synthetic,quick"``; unknown words are an error listing the known ones."""
    words = {w.strip() for w in (arg or "").split(",") if w.strip()}
    unknown = sorted(words - set(ARGS))
    if unknown:
        raise ValueError(f"unknown config argument(s) {unknown}; known: {', '.join(ARGS)}")
    if {"augmented", "transfer"} <= words:
        raise ValueError("config arguments 'augmented' and 'transfer' exclude each other")
    return words


def make(
    dataset: str, backbone: str, arg: str | None, regime: str = "csum"
) -> ml_collections.ConfigDict:
    """Builds the locked config of ``{dataset}_{backbone}[_supervised]`` with ``arg`` applied.

    Args:
        dataset: ``tvsum`` or ``summe``.
        backbone: a registered backbone name.
        arg: the config argument (``synthetic``, ``quick``, comma-joined) or None.
        regime: ``csum`` (unsupervised) or ``supervised`` (the backbone's original loss).
    """
    words = parse_arg(arg)
    # one meaning per word across every config family: quick and small are synthetic runs
    synthetic, quick = bool(words & {"synthetic", "stock", "small", "quick"}), "quick" in words
    small = quick or "small" in words
    base = f"{dataset}_{backbone}" + ("_supervised" if regime == "supervised" else "")
    c = ml_collections.ConfigDict()
    c.name = base + (f":{','.join(sorted(words))}" if words else "")
    c.task = "summarize"  # or "highlights" (make_highlights)
    c.seed = 0
    c.workdir = f"runs/{base}" + "".join(f"_{w}" for w in sorted(words))
    c.compute_dtype = "bfloat16"  # matmul inputs; parameters, softmax and losses are float32

    c.data = ml_collections.ConfigDict()
    c.data.dataset = dataset
    c.data.dir = "data"
    # Any eccv16-layout file by path (e.g. OVP, YouTube, your own), instead of data.dir's
    # {dataset} file; without data.splits, 5 random folds are made (workdir/splits.json).
    c.data.file = ""
    # "canonical", "augmented" or "transfer" (csum.summarization.data.SETTINGS); data.others:
    # the other data sets' eccv16 files (default: data.dir's tvsum/summe/ovp/youtube files, or the
    # other synthetic preset).
    c.data.setting = (
        "augmented" if "augmented" in words else "transfer" if "transfer" in words else "canonical"
    )
    c.data.others = ()
    c.data.synthetic = synthetic
    c.data.synthetic_dir = "~/.cache/csum"
    c.data.synthetic_seed = 0
    c.data.synthetic_family = "stock" if "stock" in words else "category"
    c.data.synthetic_overrides = ml_collections.ConfigDict(SMALL_VIDEOS if small else {})
    c.data.feature_keys = SYNTHETIC_KEYS.get(backbone, REAL_KEYS) if synthetic else REAL_KEYS
    c.data.splits = ""  # default: MSVA's random non-overlapping 5 folds, shipped in csum/data
    c.data.folds = (0,) if quick else ()  # () = every fold of the split file
    c.data.min_steps = 10
    # true: data.file (a path or a glob of h5 shards) is an unlabelled collection read a
    # batch at a time, for collections larger than memory (csum.summarization.collection).
    c.data.stream = False

    c.backbone = ml_collections.ConfigDict()
    c.backbone.name = backbone
    c.backbone.kwargs = ml_collections.ConfigDict(backbone_kwargs(backbone))
    # Each clip's collection contrast (its CSUM window loss against the training videos'
    # windows) as a last, one-wide input source, in both regimes (csum.model.contrast,
    # docs/learning.md section 6). Summarization runs (experiments.run) only.
    c.backbone.contrast_input = True
    # With the contrast input, the CSUM regime's scores are a gated residual on it, the gate
    # starting at 0 (csum.model.residual): training starts from the contrast's ranking and adds
    # what the objective rewards. residual_gain: how far the gate can move in a run. The
    # regimes that train on labels always train the backbone alone (csum.model.summarizer).
    c.backbone.residual = regime == "csum"
    c.backbone.residual_gain = 1.0

    c.projector = ml_collections.ConfigDict()
    c.projector.window = 1  # n of Eq. 4; the paper's 10 suits loss.negatives=batch
    c.projector.hidden = 256
    c.projector.embed = 128
    c.projector.trainable = False
    c.projector.normalize = "none"
    c.projector.sources = (0,)  # GoogLeNet-like source: X of the contrastive distance

    c.topk = ml_collections.ConfigDict()
    c.topk.name = "successive_halving"
    c.topk.ratio = 0.15
    # "raw": the backbone's scores; "standardized": each video's scores as (s - mean) / std
    # (csum.objectives.contrastive.standardize_scores), so that alpha acts on their spread
    # (docs/learning.md).
    c.topk.scores = "standardized"
    # Each operator's hyperparameters (csum.topk.DEFAULTS, for raw scores in (0, 1)), with the
    # sharpness ones rescaled for standardised scores; the chosen one's are used, e.g.
    # --config.topk.name=sinkhorn --config.topk.sinkhorn.epsilon=0.5.
    for operator, hyper in topk.DEFAULTS.items():
        c.topk[operator] = ml_collections.ConfigDict({**hyper, **STANDARDIZED.get(operator, {})})

    c.loss = ml_collections.ConfigDict()
    # "windows": each summary clip's window InfoNCE against every training video's windows
    # (csum.objectives.contrastive.window_nce; docs/learning.md); "batch": the other videos and
    # summaries of the batch are the negatives (the paper, Eq. 1); "all": also every training
    # video's embedding (csum.model.banks.video_bank).
    c.loss.negatives = "windows"
    # windows: in units of the spread of window similarities (csum.model.banks.similarity_spread),
    # chosen on the validation draw (docs/studies/objective.md); batch/all: absolute.
    c.loss.tau = 0.25
    # Supervised regime only: weight of dppLSTM's DPP term
    # (csum.objectives.supervised.supervised_loss).
    c.loss.dpp_weight = 1.0 if backbone == "dpplstm" else 0.0

    # Several processes (hosts) training as one (csum.training.distributed); empty values come from
    # the environment (JAX_COORDINATOR_ADDRESS, or SLURM / Open MPI / Cloud TPU detection).
    c.distributed = ml_collections.ConfigDict()
    c.distributed.enabled = False
    c.distributed.coordinator = ""  # host:port of process 0
    c.distributed.num_processes = 0  # 0: from the environment
    c.distributed.process_id = -1  # -1: from the environment

    c.train = ml_collections.ConfigDict()
    c.train.regime = regime  # "csum" or "supervised" (csum.training.trainer.REGIMES)
    c.train.epochs = 2 if quick else 20
    c.train.batch_size = 8
    # Data parallel over this many local devices (0: all; csum.training.parallel); the batch is
    # split along its videos, so batch_size must be a multiple of it.
    c.train.devices = 1
    c.train.optimizer = "adamw"  # or "lion" (csum.training.trainer.OPTIMIZERS)
    c.train.lr = 3e-4
    c.train.weight_decay = 1e-4
    c.train.max_grad_norm = 1.0
    c.train.bucket_quantum = 64
    c.train.bucket_growth = 1.125
    c.train.progress = True
    # Checkpoint after every this many epochs (and the last); a resumed run redoes the
    # epochs since, with the same numbers.
    c.train.checkpoint_every = 1
    # Held-out share of each fold's training videos (never the test fold), scored every
    # val_every epochs into metrics.jsonl (val_f1, val_kendall_tau, val_spearman_rho).
    c.train.val_fraction = 0.2
    c.train.val_every = 1

    c.eval = ml_collections.ConfigDict()
    # "avg" over users (TVSum), "max" (best user, SumMe), or "auto": avg when every video
    # has per-user scores, else max (for data.file).
    c.eval.f1_mode = "max" if dataset == "summe" else "avg"
    # What the F1 knapsack sees: "raw" scores, each video's "rank" quantiles, or "auto":
    # ranks when training only ranked (csum regime, topk.scores=standardized), else raw.
    c.eval.scores = "auto"
    c.eval.batch_size = 8
    c.eval.random_seeds = 10
    # "standard" (docs/method.md), or +-joined variants of csum.metrics.evaluation.VARIANTS.
    c.eval.protocol = "standard"
    if "paper" in words:
        for path, value in PAPER_RECIPE.items():
            node = c
            for name in path[:-1]:
                node = node[name]
            node[path[-1]] = value
    c.lock()
    return c
