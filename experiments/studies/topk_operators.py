"""CSUM's Table 3: F1 of CSUM-MSVA on TVSum with each differentiable top-k operator.

Each operator runs with its documented default hyperparameters (``csum.topk.DEFAULTS``).
"""

BASE = "tvsum_msva"
FIELD = "topk.name"
VALUES = ("successive_halving", "sinkhorn", "perturbed")
PAPER = {
    "successive_halving": (63.4, 0.3),
    "sinkhorn": (63.1, 0.4),
    "perturbed": (62.9, 0.5),
}
"""The paper's Table 3 (F1 %, mean and std over seeds, real TVSum features)."""
