"""The one config builder that every named config calls.

A named config is ``experiments/configs/{dataset}_{backbone}.py`` with a ``get_config(arg)``
that calls ``make``. The argument is a comma-separated list of:

* ``synthetic``: use the built-in synthetic dataset of the same shape (no downloads);
* ``quick``: a smoke run (1 fold, 2 epochs, and small synthetic videos).

Configs are locked: a misspelled ``--config.x.y=v`` override fails loudly.
"""

from __future__ import annotations

import ml_collections

from csum import topk

ARGS = ("synthetic", "quick")

BACKBONE_KWARGS = {
    "msva": {"hidden": 365, "head": 512, "aperture": 250, "dropout": 0.5},
    "vslstm": {"hidden": 256, "dropout": 0.5},
}

# The eccv16 files carry GoogLeNet only; the synthetic data also carries I3D-like sources.
REAL_KEYS = ("features",)
SYNTHETIC_KEYS = {"msva": ("features", "features_rgb", "features_flow"), "vslstm": ("features",)}


def parse_arg(arg: str | None) -> set[str]:
    """Splits ``"synthetic,quick"``; unknown words are an error listing the known ones."""
    words = {w.strip() for w in (arg or "").split(",") if w.strip()}
    unknown = sorted(words - set(ARGS))
    if unknown:
        raise ValueError(f"unknown config argument(s) {unknown}; known: {', '.join(ARGS)}")
    return words


def make(dataset: str, backbone: str, arg: str | None) -> ml_collections.ConfigDict:
    """Builds the locked config of ``{dataset}_{backbone}`` with the argument applied."""
    words = parse_arg(arg)
    synthetic, quick = "synthetic" in words, "quick" in words
    c = ml_collections.ConfigDict()
    c.name = f"{dataset}_{backbone}" + (f":{','.join(sorted(words))}" if words else "")
    c.seed = 0
    c.workdir = f"runs/{dataset}_{backbone}" + "".join(f"_{w}" for w in sorted(words))
    c.compute_dtype = "bfloat16"  # matmul inputs; parameters, softmax and losses are float32

    c.data = ml_collections.ConfigDict()
    c.data.dataset = dataset
    c.data.dir = "data"
    c.data.synthetic = synthetic
    c.data.synthetic_dir = "~/.cache/csum"
    c.data.synthetic_seed = 0
    c.data.synthetic_overrides = ml_collections.ConfigDict(
        {"dim": 128, "min_seconds": 40, "max_seconds": 120} if quick else {}
    )
    c.data.feature_keys = SYNTHETIC_KEYS[backbone] if synthetic else REAL_KEYS
    c.data.splits = ""  # default: MSVA's random non-overlapping 5 folds, shipped in csum/data
    c.data.folds = (0,) if quick else ()  # () = every fold of the split file
    c.data.min_steps = 10

    c.backbone = ml_collections.ConfigDict()
    c.backbone.name = backbone
    c.backbone.kwargs = ml_collections.ConfigDict(BACKBONE_KWARGS.get(backbone, {}))

    c.projector = ml_collections.ConfigDict()
    c.projector.window = 10
    c.projector.hidden = 256
    c.projector.embed = 128
    c.projector.sources = (0,)  # GoogLeNet-like source: X of the contrastive distance

    c.topk = ml_collections.ConfigDict()
    c.topk.name = "successive_halving"
    c.topk.ratio = 0.15
    # Each operator's hyperparameters (csum.topk.DEFAULTS); the chosen one's are used, e.g.
    # --config.topk.name=sinkhorn --config.topk.sinkhorn.epsilon=0.05.
    for operator, hyper in topk.DEFAULTS.items():
        c.topk[operator] = ml_collections.ConfigDict(dict(hyper))

    c.loss = ml_collections.ConfigDict()
    c.loss.tau = 0.5  # validation draw (synthetic seed 1, fold 1): 0.1 made F1 erratic (README)

    c.train = ml_collections.ConfigDict()
    c.train.epochs = 2 if quick else 20
    c.train.batch_size = 8
    c.train.lr = 3e-4
    c.train.weight_decay = 1e-4
    c.train.max_grad_norm = 1.0
    c.train.bucket_quantum = 64
    c.train.bucket_growth = 1.125
    c.train.progress = True

    c.eval = ml_collections.ConfigDict()
    c.eval.f1_mode = "max" if dataset == "summe" else "avg"
    c.eval.batch_size = 8
    c.eval.random_seeds = 10
    # "standard" (SPEC section 6), or +-joined variants of csum.evaluation.VARIANTS.
    c.eval.protocol = "standard"
    c.lock()
    return c
