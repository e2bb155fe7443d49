"""A learner that starts at its input: any backbone as a residual on the collection contrast.

With ``backbone.contrast_input`` every video carries its collection contrast ``c`` (each
clip's CSUM window loss, negated and standardised; ``csum.model.contrast``) as a one-wide source,
and the contrast alone is already a strong unsupervised scorer. A backbone trained from its
random initialisation has to relearn ``c`` from that source before it can add to it, and in
the measurements of docs/learning.md it ended below it on held-out videos.

``ContrastResidual`` wraps any registered backbone ``g`` so that its clip scores are

    s_t = sigmoid(c_t + gamma * (2 g(x)_t - 1))

with a learned scalar gate ``gamma`` that starts at 0 (ReZero, Bachlechner et al. 2021;
the ``init_score`` of boosting; residual policy learning, Silver et al. 2018). At
initialisation the scores rank the clips exactly as the contrast does, so training starts
from the contrast's quality, and the backbone's contribution enters only as far as the
objective rewards it. The sigmoid keeps the backbone contract (scores in (0, 1), 0 at
padding) and is monotone, so the ranking is that of ``c + gamma * (2 g - 1)``: the residual
moves a clip by at most ``|gamma|`` in units of the contrast's spread.

``gain`` multiplies the gate (``gamma = gain * theta``, ``theta`` the parameter): Adam moves
a scalar by about the learning rate per step whatever its gradient, so with ``gain`` = 1
a 100-step run could change ``gamma`` by at most 0.03; the gain sets how far the residual
can move in a run (``backbone.residual_gain``, chosen on validation draws).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from backbones.registry import Outputs, streams_of


class ResidualGate(nnx.Param):
    """The residual's scalar gate (a trained parameter)."""


class ContrastResidual(nnx.Module):
    """A backbone's scores as a gated residual on the contrast source.

    Args:
        inner: the wrapped backbone (any module with the backbone contract).
        channel: index of the contrast source among the features (the last one, or the
            last but one before an audio stream; ``csum.model.contrast.with_channel``).
        gain: the gate's scale (module docstring).
    """

    def __init__(self, inner: nnx.Module, channel: int, gain: float = 1.0):
        self.inner = inner
        self.channel = int(channel)
        self.gain = float(gain)
        self.gate = ResidualGate(jnp.zeros((), jnp.float32))
        self.streams = streams_of(inner)

    def __call__(self, features, mask, **streams):
        """The residual scores [B, T], in the inner backbone's ``Outputs`` when it returns one.

        Args:
            features: S arrays [B, T, D_s], source ``channel`` being [B, T, 1] contrast.
            mask: [B, T] bool.
            **streams: the named streams the inner backbone reads.
        """
        raw = self.inner(features, mask, **streams)
        out = raw if isinstance(raw, Outputs) else Outputs(raw)
        c = features[self.channel][..., 0].astype(jnp.float32)
        # 2g - 1 in (-1, 1): the residual moves a clip by at most gain * |gate| in units of
        # the contrast's spread, however far the backbone's own head saturates (with the
        # backbone's logit instead, the head grew its range and the gate's bound meant nothing).
        g = 2.0 * out.scores.astype(jnp.float32) - 1.0
        scores = jnp.where(mask, jax.nn.sigmoid(c + self.gain * self.gate[...] * g), 0.0)
        return out._replace(scores=scores) if isinstance(raw, Outputs) else scores
