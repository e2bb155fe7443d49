"""csum: self-supervised video summarization and highlight detection in JAX.

``csum.load(workdir)`` returns a trained run ready to score videos, features or eccv16 files
(``csum.training.inference.Trained``); the rest lives in the packages (``csum.topk``,
``csum.objectives``, ``csum.model``, ``csum.training``, ``csum.data``, ...), whose modules
are attributes after a plain ``import csum`` (``csum.model.contrast``).
"""

from csum.lazy import submodule


def __getattr__(name: str):
    # lazy: ``import csum.topk`` must not pull in the model and backbones
    if name == "load":
        from csum.training.inference import load

        return load
    return submodule(__name__, name)
