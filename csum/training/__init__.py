"""The training runtime: settings (``spec``), optimizer (``optim``), the jitted step
(``step``), the fold loop (``trainer``), checkpoints, a run's folder (``rundir``), data
parallelism (``parallel``, ``distributed``), scoring (``predict``) and a trained run ready to
score (``inference``, ``csum.load``). Nothing here reads a config."""

from csum.lazy import submodule


def __getattr__(name: str):
    return submodule(__name__, name)  # the modules as attributes (csum.lazy)
