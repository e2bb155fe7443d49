"""Every training loss, one registry: ``LOSSES[train.regime](LossSpec) -> loss``.

Modules (each loss a pure function of the model and a batch, its factory registered on
import, as each backbone is in ``backbones``):

* ``contrastive``: CSUM's objective without labels (NT-Xent over videos and summaries,
  paper Eq. 1; the per-window InfoNCE) -- ``csum``;
* ``supervised``: the backbones' own losses on labels (MSE, dppLSTM's DPP) and UMT's
  saliency loss -- ``supervised``, ``saliency``;
* ``alignment``, ``moments``, ``multimodal``: A2Summ's, MHMS's and the query-based
  systems' losses -- ``a2summ``, ``mhms``, ``query``.
"""

from csum.objectives import contrastive, multimodal, supervised  # noqa: F401  (register)
from csum.objectives.registry import LOSSES, LossSpec

__all__ = ["LOSSES", "LossSpec"]
