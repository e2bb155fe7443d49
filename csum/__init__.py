"""csum: self-supervised video summarization and highlight detection in JAX.

``csum.load(workdir)`` returns a trained model (``csum.checkpoint.load``); the rest lives in
the submodules (``csum.topk``, ``csum.losses``, ``csum.evaluation``, ``csum.data``, ...).
"""


def __getattr__(name: str):
    if name == "load":  # lazy: ``import csum.topk`` must not pull in the model and backbones
        from csum.checkpoint import load

        return load
    raise AttributeError(f"module 'csum' has no attribute {name!r}")
