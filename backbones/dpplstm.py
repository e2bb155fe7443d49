"""dppLSTM: vsLSTM plus a determinantal point process head (Zhang et al., ECCV 2016)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from backbones.registry import BACKBONES
from backbones.vslstm import VsLSTM
from csum.nn.layers import dense


@BACKBONES.register("dpplstm")
class DppLSTM(VsLSTM):
    """vsLSTM's BiLSTM and score head, plus a second MLP head for DPP diversity features.

    Scores ``y_t`` come from the vsLSTM head; ``phi_t`` from a second one-hidden-layer MLP
    on the same ``[x_t, h_fwd_t, h_bwd_t]``, normalised to unit length. They define the
    DPP kernel ``L = diag(y) (Phi Phi^T) diag(y)`` (quality times similarity, Zhang et
    al. Eq. 5), which only the supervised regime uses: its loss adds the DPP negative
    log-likelihood of the ground-truth keyframes (``csum.objectives.supervised.dpp_nll``). In CSUM's
    unsupervised regime dppLSTM scores exactly as vsLSTM does and the phi head receives
    no gradient (paper Table 1 trains it that way too: the DPP term needs labels).

    Args:
        in_dims: feature size of each source (they are concatenated).
        rngs: parameter and dropout RNGs.
        hidden: LSTM state size H per direction and MLP width (256 in the reference).
        phi_dim: size F of the diversity features. The DPP term costs O(F^3) per video
            (``csum.objectives.supervised.dpp_nll``); 128 keeps it near 30 ms per batch of 8 on two
            CPU cores while still allowing 128 mutually diverse keyframes, more than any
            TVSum or SumMe summary holds (the paper does not state F).
        dropout: dropout on the MLP input.
        dtype: matmul compute dtype; parameters are float32.
    """

    def __init__(
        self,
        in_dims,
        *,
        rngs: nnx.Rngs,
        hidden: int = 256,
        phi_dim: int = 128,
        dropout: float = 0.5,
        dtype=jnp.float32,
    ):
        super().__init__(in_dims, rngs=rngs, hidden=hidden, dropout=dropout, dtype=dtype)
        self.phi_hidden = dense(sum(in_dims) + 2 * hidden, hidden, dtype=dtype, rngs=rngs)
        self.phi_out = dense(hidden, phi_dim, dtype=dtype, rngs=rngs)

    def scores_and_diversity(self, features, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Scores [B, T] (0 at padding) and unit diversity features [B, T, phi_dim]."""
        z = self.trunk(features, mask)
        phi = self.phi_out(jnp.tanh(self.phi_hidden(z)))
        phi = phi * jax.lax.rsqrt(jnp.sum(phi * phi, axis=-1, keepdims=True) + 1e-12)
        return self.score_head(z, mask), jnp.where(mask[..., None], phi, 0.0)
