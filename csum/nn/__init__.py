"""Building blocks shared by the backbones and the model: Flax layers with mixed precision
(``layers``, ``precision``), hashed dropout (``dropout``, ``hashing``), attention
(``attention``, ``crossmodal``), position encodings (``positions``), sub-video windows
(``windows``), optimal transport (``ot``) and the window projector (``projector``).

Importing this package imports none of its modules (``csum.topk`` takes ``hashing`` alone).
"""

from csum.lazy import submodule


def __getattr__(name: str):
    return submodule(__name__, name)  # the modules as attributes (csum.lazy)
