"""Whether training adds to the collection contrast: the backbone alone or a residual on it.

Command: ``python -m experiments.study --study=residual:quick --seeds=0 --out=docs/studies``
(quick videos, fold 0, 20 epochs, the validation draw: generator seed 1).

With ``backbone.contrast_input`` every video carries its collection contrast, which alone
ranks clips about as well as anything trained (``docs/learning.md``, section 7). The
previous default trained the backbone alone on it, from random weights; the residual
(``csum.model.residual``) starts at the contrast's ranking, and its gate bounds how far training
can move it (``backbone.residual_gain``). The ``training adds`` column is each variant
minus the contrast alone on the same test videos.
"""

BASES = ("tvsum_msva:synthetic", "tvsum_msva:stock", "summe_msva:synthetic", "summe_msva:stock")
OVERRIDES = {"data.synthetic_seed": "1", "train.epochs": "20"}
VARIANTS = {
    "backbone alone on the contrast input (previous default)": {"backbone.residual": "false"},
    "residual, gain 1 (default)": {},
    "residual, gain 10": {"backbone.residual_gain": "10"},
    "residual, gain 0.1": {"backbone.residual_gain": "0.1"},
}
