"""Why CSUM did not learn, and what makes it learn: one factor at a time.

Every variant is trained on a *validation draw* of the synthetic data (generator seed 1,
never the seed-0 data that the tables report), on both synthetic families: "category"
(category backgrounds, generic scenes, own events) and "stock" (a shared stock pool and
each video's own scenes). Each row changes one thing from the paper's recipe
(``paper``: h trained) or from the chosen default (``csum``: h frozen at its random
initialisation); the per-epoch validation rho (held-out training
videos) gives the learning curves.
"""

BASES = ("tvsum_msva:synthetic", "tvsum_msva:stock")
OVERRIDES = {"data.synthetic_seed": "1", "train.epochs": "20"}
PAPER_RECIPE = {"projector.trainable": "true", "projector.normalize": "none"}
VARIANTS = {
    "paper (h trained)": PAPER_RECIPE,
    "paper, X standardised": {**PAPER_RECIPE, "projector.normalize": "standardize"},
    "csum (h frozen)": {},
    "csum, X standardised": {"projector.normalize": "standardize"},
    "csum, tau 0.1": {"loss.tau": "0.1"},
    "csum, batch 16 (more negatives)": {"train.batch_size": "16"},
    "csum, 40 epochs": {"train.epochs": "40"},
}
