"""The backbone registry: every score predictor registers here under a name.

Contract: ``Backbone(in_dims, *, rngs, **kwargs)`` with ``in_dims`` the
feature size of each source, called as ``backbone(features, mask) -> scores`` where
``features`` is a tuple of [B, T, D_s] arrays, ``mask`` [B, T] bool, and ``scores`` [B, T] in
(0, 1) with padded positions set to 0 and never influencing real ones.

Streams beyond the visual sources (``csum.data.streams``): a backbone that reads some
lists them in its ``streams`` attribute (e.g. ``("query",)``) and is called with each of
them and its companions by keyword (``query=[B, L, D_q], query_mask=[B, L]``). It may
return an ``Outputs`` instead of the scores, to name more outputs (saliency logits,
moment predictions, sentence scores).

A user plugs in a backbone from their own module::

    from backbones import BACKBONES

    @BACKBONES.register("mine")
    class Mine(nnx.Module):
        def __init__(self, in_dims, *, rngs, **kw): ...
        def __call__(self, features, mask): ...
"""

import inspect
from collections.abc import Mapping
from typing import NamedTuple

import jax

from csum.registry import Registry

BACKBONES = Registry(
    "backbone",
    hint="a backbone registered in your own module is named after --import=MODULE (any "
    "command), or after importing MODULE (csum.load)",
)


class Outputs(NamedTuple):
    """A backbone's outputs, by name (a pytree; absent outputs are None).

    Attributes:
        scores: [B, T] clip scores in (0, 1), 0 at padding: what summaries rank.
        saliency: [B, T] float32 logits of each clip's relevance (to the query, or as a
            highlight), or None.
        moments: [B, T, 3] float32 per-clip moment prediction: the logit that a moment is
            centred on the clip, then the moment's log-width and its centre's offset from
            the clip, both in clips (``csum.objectives.moments``), or None.
        sentences: [B, S] sentence scores in (0, 1) (a text summary), or None.
        extras: named intermediate arrays that the system's own loss reads (e.g. A2Summ's
            [CLS] embeddings), or None.
    """

    scores: jax.Array
    saliency: jax.Array | None = None
    moments: jax.Array | None = None
    sentences: jax.Array | None = None
    extras: dict | None = None


def settings(name: str, kwargs: Mapping) -> dict:
    """The keyword arguments backbone ``name`` is built with: ``kwargs`` over the defaults
    of its ``__init__`` and of the bases it passes ``**kwargs`` to."""

    out = {}
    for base in BACKBONES.get(name).__mro__:
        if "__init__" not in vars(base) or base is object:
            continue
        params = inspect.signature(base.__init__).parameters
        for key, p in params.items():
            if p.kind is p.KEYWORD_ONLY and p.default is not p.empty:
                out.setdefault(key, p.default)
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            break
    return {**out, **dict(kwargs)}


def streams_of(backbone) -> tuple[str, ...]:
    """The named streams that ``backbone`` reads (``()``: the visual sources alone)."""
    return tuple(getattr(backbone, "streams", ()))


def outputs(backbone, features, mask, streams: Mapping | None = None) -> Outputs:
    """Calls ``backbone`` on the visual sources and the named streams it declares.

    Args:
        backbone: a registered backbone (module).
        features: S arrays [B, T, D_s]; mask: [B, T] bool.
        streams: the batch's named streams (``csum.data.batching.Batch.streams``); each
            declared stream goes in with every array named ``{stream}`` or
            ``{stream}_*`` (its mask, spans).

    Returns:
        The backbone's ``Outputs`` (scores alone wrapped).
    """
    extra = {}
    for name in streams_of(backbone):
        extra.update(
            {k: v for k, v in (streams or {}).items() if k == name or k.startswith(f"{name}_")}
        )
    out = backbone(features, mask, **extra)
    return out if isinstance(out, Outputs) else Outputs(out)


def build(name: str, in_dims, *, rngs, **kwargs):
    """Builds the backbone registered under ``name`` (unknown names list the known ones)."""
    return BACKBONES.build(name, tuple(in_dims), rngs=rngs, **kwargs)
