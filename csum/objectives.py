"""The training losses, by name: ``train.regime`` picks one from ``LOSSES``.

Each entry is a factory ``(config) -> loss(model, batch, bank=None) -> scalar`` that binds
the config's hyperparameters, so the trainer (``csum.train``) never branches on a regime.
A user adds a loss the way they add a backbone::

    from csum.objectives import LOSSES

    @LOSSES.register("mine")
    def mine(config):
        return lambda model, batch, bank=None: ...

and trains with ``--config.train.regime=mine``.
"""

from __future__ import annotations

import functools

from csum import topk
from csum.model import csum_loss
from csum.registry import Registry
from csum.supervised import saliency_loss, supervised_loss

LOSSES = Registry("training loss (train.regime)")


def operator_kwargs(config) -> dict:
    """The configured top-k operator's hyperparameters (``config.topk.<name>``).

    Raises:
        UnknownNameError: an operator name that is not registered (lists the known ones).
    """
    name = config.topk.name
    topk.get(name)
    return dict(config.topk[name]) if name in config.topk else {}


@LOSSES.register("csum")
def _csum(config):
    """CSUM's contrastive objective without labels (``csum.model.csum_loss``)."""
    return functools.partial(
        csum_loss, ratio=config.topk.ratio, tau=config.loss.tau,
        operator=config.topk.name, operator_kwargs=operator_kwargs(config),
        scores=config.topk.scores, negatives=config.loss.negatives,
    )  # fmt: skip


@LOSSES.register("supervised")
def _supervised(config):
    """The backbones' own summarization loss on ``gtscore`` (``csum.supervised``)."""
    loss = functools.partial(supervised_loss, dpp_weight=config.loss.dpp_weight)
    return lambda model, batch, bank=None: loss(model, batch)


@LOSSES.register("saliency")
def _saliency(config):
    """UMT's saliency loss on per-clip highlight labels (``csum.supervised.saliency_loss``)."""
    return lambda model, batch, bank=None: saliency_loss(model, batch)


# The multimodal systems register their losses on import: imported here, explicitly, so
# that the registry is complete whatever imports it first.
from csum.multimodal import objectives as _multimodal  # noqa: E402, F401
