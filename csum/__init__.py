"""csum: self-supervised video summarization and highlight detection in JAX.

``csum.load(workdir)`` returns a trained run ready to score videos, features or eccv16 files
(``csum.training.inference.Trained``); the rest lives in the submodules (``csum.topk``,
``csum.objectives.contrastive``, ``csum.metrics.evaluation``, ``csum.model.contrast``, ``csum.data``, ...), each importable
as an attribute after a plain ``import csum``.
"""

import importlib


def __getattr__(name: str):
    # lazy: ``import csum.topk`` must not pull in the model and backbones
    if name == "load":
        from csum.training.inference import load

        return load
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"csum.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"csum.{name}":
                raise
    raise AttributeError(f"module 'csum' has no attribute {name!r}")
