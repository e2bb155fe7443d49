"""Whether the backbone should see each clip's collection contrast (``csum.model.contrast``).

Command: ``python -m experiments.study --study=contrast:quick --seeds=0 --out=docs/studies``
(quick videos, fold 0, 20 epochs, the validation draw: generator seed 1).

The window objective's per-clip loss ranks the training clips almost as the users do,
yet a backbone trained on it ranks new videos' clips far worse: what makes a clip
distinctive is its relation to the collection, which a backbone that sees one video's
features cannot know. ``backbone.contrast_input`` gives every video (training or new) its
contrast against the training windows as a last, one-wide source. Both regimes are run
with and without it, on both families at both sizes; each table also has the ``contrast``
row, the channel alone as scores (no model trained).
"""

BASES = ("tvsum_msva:synthetic", "tvsum_msva:stock", "summe_msva:synthetic", "summe_msva:stock")
OVERRIDES = {"data.synthetic_seed": "1", "train.epochs": "20"}
VARIANTS = {
    "csum, features only (previous default)": {"backbone.contrast_input": "false"},
    "csum, + contrast input (default)": {},
    "supervised, features only": {"train.regime": "supervised", "backbone.contrast_input": "false"},
    "supervised, + contrast input": {"train.regime": "supervised"},
}
