"""Video summarization, the CSUM task: cross-validated runs (``experiment``), unlabelled
collections (``collection``), the training-free rows (``baselines``), the printed table
(``report``), multi-phase runs (``phases``) and label-efficiency curves (``label_curve``)."""

from csum.lazy import submodule


def __getattr__(name: str):
    return submodule(__name__, name)  # the modules as attributes (csum.lazy)
