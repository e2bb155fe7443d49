"""Score predictors g: features -> per-clip scores in (0, 1). One file per architecture.

Every module is imported here explicitly, so registration never depends on import order.
"""

from backbones import (  # noqa: F401  (registers the backbones)
    a2summ,
    crosstask,
    dpplstm,
    mhms,
    msva,
    transformer,
    vasnet,
    vslstm,
)
from backbones.registry import BACKBONES, build

__all__ = ["BACKBONES", "build"]
