"""The backbone registry: every score predictor registers here under a name.

Contract (SPEC section 7): ``Backbone(in_dims, *, rngs, **kwargs)`` with ``in_dims`` the
feature size of each source, called as ``backbone(features, mask) -> scores`` where
``features`` is a tuple of [B, T, D_s] arrays, ``mask`` [B, T] bool, and ``scores`` [B, T] in
(0, 1) with padded positions set to 0 and never influencing real ones.

A user plugs in a backbone from their own module::

    from backbones import BACKBONES

    @BACKBONES.register("mine")
    class Mine(nnx.Module):
        def __init__(self, in_dims, *, rngs, **kw): ...
        def __call__(self, features, mask): ...
"""

from csum.registry import Registry

BACKBONES = Registry("backbone")


def build(name: str, in_dims, *, rngs, **kwargs):
    """Builds the backbone registered under ``name`` (unknown names list the known ones)."""
    return BACKBONES.build(name, tuple(in_dims), rngs=rngs, **kwargs)
