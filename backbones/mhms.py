"""MHMS: multimodal hierarchical multimedia summarization of a video and its article.

Qiu et al., "MHMS: Multimodal Hierarchical Multimedia Summarization" (``001_…``), section 3.
One backbone holds the paper's four learned modules; the selection that joins them (Eq. 3's
segments, each segment's candidates, the optimal-transport cover choice) is pure math in
``csum.multimodal.mhms``:

1. Video temporal segmentation (3.1, Eqs. 1-2): for the boundary after step t, ``VTS_d``
   embeds the ``window`` steps before it and the ``window`` steps after it with one
   temporal convolution each and multiplies them (the terms of their inner product: how
   the two sides differ), ``VTS_r`` runs a temporal convolution over both sides and
   max-pools it (how they relate); a BiLSTM over the boundary representations gives each
   boundary's logit ``s_t``. The paper's inputs are shots of a shot detector; here a step
   (a clip) is a shot, which any shot segmentation can be pooled into.
2. Visual summarization (3.2, Eqs. 4-8): a BiLSTM encoder ``E``; an LSTM decoder whose step
   t reads the previous score ``d_{t-1}``, the step's encoder state ``e_t`` and the
   attention context ``E_t`` with the multiplicative score ``beta_it = e_i^T W_a s_{t-1}``
   (Eq. 7), softmax over the video's steps (Eq. 8); ``d_t`` is the step's importance.
   The paper runs it per segment; here it runs over the whole video (the attention
   already reaches every step, and one pass needs no segmentation at training time).
3. Textual segmentation (3.3): the article-level encoder of the hierarchical BERT over the
   sentence features (the sentence-level encoder's [CLS] outputs are the ``text``
   stream), then a boundary logit per sentence from its state and the next one's.
4. Textual summarization (3.4): BART's weights cannot be fetched here and no package ships
   them, so the abstractive summarizer is replaced by an extractive one: a score per
   sentence from the article encoder's states (each textual segment's best sentence is
   its candidate).
5. Cross-domain alignment (3.5): the clip encodings and the sentence states are projected
   into one space, where the loss (``csum.objectives.multimodal.mhms_loss``) matches each
   video's key clips with its key sentences (image-text matching, with the OT distance of
   Eqs. 10-12 as its regulariser, section 5.1).

Sizes where the paper is silent: hidden 128, window 4, one article-encoder layer with 4
heads, alignment space 128.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from backbones.registry import BACKBONES, Outputs
from backbones.transformer import EncoderLayer
from csum.nn.crossmodal import masked_softmax
from csum.nn.dropout import Dropout
from csum.nn.layers import bilstm, dense
from csum.nn.positions import sinusoidal_positions


class BoundaryNet(nnx.Module):
    """Video temporal segmentation (Eqs. 1-2): a logit per step t for the boundary after it.

    Args:
        in_features: clip feature size; width: convolution channels; window: the paper's
            omega_b (steps on each side); hidden: BiLSTM size per direction.
    """

    def __init__(self, in_features: int, *, rngs: nnx.Rngs, width: int, window: int, hidden: int):
        def conv(pad):
            return nnx.Conv(in_features, width, kernel_size=(window,), padding=[pad], rngs=rngs)

        self.before = conv((window - 1, 0))  # at t: steps t - window + 1 .. t
        self.after = conv((0, window - 1))  # at t: steps t .. t + window - 1
        self.relation = nnx.Conv(in_features, width, kernel_size=(3,), padding=[(1, 1)], rngs=rngs)
        self.lstm = bilstm(2 * width, hidden, rngs=rngs)
        self.out = nnx.Linear(2 * hidden, 1, rngs=rngs)
        self.window = window

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        """x [B, T, D] (0 at padding), mask [B, T] -> [B, T] boundary logits."""
        B, T, _ = x.shape
        w = self.window
        before = self.before(x)
        # the window after the boundary starts at t + 1; beyond the end it is padding (0)
        after = jnp.where(mask[..., None], self.after(x), 0.0)
        after = jnp.concatenate([after[:, 1:], jnp.zeros_like(before[:, :1])], axis=1)
        difference = before * after  # VTS_d: the inner product's terms
        rel = jnp.where(mask[..., None], jax.nn.relu(self.relation(x)), -jnp.inf)
        # VTS_r: max over the 2w steps t - w + 1 .. t + w
        rel = jax.lax.reduce_window(
            rel, -jnp.inf, jax.lax.max, (1, 2 * w, 1), (1, 1, 1), [(0, 0), (w - 1, w), (0, 0)]
        )
        rel = jnp.where(jnp.isfinite(rel), rel, 0.0)
        z = jnp.where(mask[..., None], jnp.concatenate([difference, rel], -1), 0.0)
        h = self.lstm(z, seq_lengths=jnp.sum(mask, -1).astype(jnp.int32))  # Eq. 2
        return self.out(h)[..., 0].astype(jnp.float32)


class AttentionDecoder(nnx.Module):
    """Visual summarization's decoder (Eqs. 4-8): an LSTM over the steps with
    multiplicative attention on the encoder states.

    Step t reads the attention context ``E_t``, the previous score ``d_{t-1}`` and the
    step's own encoder state ``e_t``: Eq. 5 leaves the step's input implicit, and without
    ``e_t`` the decoder must find the step it scores by attention alone (on the
    validation draw it then ranked key frames barely above random).

    Args:
        enc: encoder state size (2H of the BiLSTM); hidden: decoder state size.
    """

    def __init__(self, enc: int, *, rngs: nnx.Rngs, hidden: int):
        self.cell = nnx.OptimizedLSTMCell(2 * enc + 1, hidden, rngs=rngs)
        self.attend = nnx.Linear(hidden, enc, use_bias=False, rngs=rngs)  # W_a of Eq. 7
        self.out = nnx.Linear(hidden, 1, rngs=rngs)
        self.hidden = hidden

    def __call__(self, e: jax.Array, mask: jax.Array) -> jax.Array:
        """e [B, T, enc] encoder states, mask [B, T] -> [B, T] importance logits."""
        B, T, _ = e.shape
        graph, params = nnx.split((self.cell, self.attend, self.out))

        # Rematerialised in the backward pass: each step's attention weights [B, T] would
        # otherwise be kept for all T steps (memory quadratic in the video's length).
        @functools.partial(jax.checkpoint, prevent_cse=False)
        def step(carry, e_t):
            state, previous = carry
            cell, attend, out = nnx.merge(graph, params)
            beta = jnp.einsum("btc,bc->bt", e, attend(state[1]))  # Eq. 7, s_{t-1}
            alpha = masked_softmax(beta, mask, axis=-1)  # Eq. 8
            context = jnp.einsum("bt,btc->bc", alpha, e)  # Eq. 4
            state, h = cell(state, jnp.concatenate([context, e_t, previous[:, None]], -1))  # Eq. 5
            logit = out(h)[:, 0]
            return (state, jax.nn.sigmoid(logit)), logit

        zeros = jnp.zeros((B, self.hidden), e.dtype)
        start = ((zeros, zeros), jnp.zeros((B,), e.dtype))
        _, logits = jax.lax.scan(step, start, jnp.swapaxes(e, 0, 1))
        return logits.T.astype(jnp.float32)


@BACKBONES.register("mhms")
class MHMS(nnx.Module):
    """MHMS (module docstring); reads the ``text`` stream (sentence features).

    Args:
        in_dims: feature size of each visual source (concatenated).
        rngs: parameter and dropout RNGs.
        text_dim: sentence feature size.
        hidden: LSTM sizes and the article encoder's width; window: omega_b of Eq. 1;
        heads: the article encoder's heads; align: the alignment space's width;
        dropout: rate on the inputs; dtype: matmul compute dtype.
    """

    def __init__(
        self,
        in_dims,
        *,
        rngs: nnx.Rngs,
        text_dim: int,
        hidden: int = 128,
        window: int = 4,
        heads: int = 4,
        align: int = 128,
        dropout: float = 0.1,
        dtype=jnp.float32,
    ):
        self.streams = ("text",)
        D = sum(in_dims)
        self.segmenter = BoundaryNet(D, width=hidden, window=window, hidden=hidden // 2, rngs=rngs)
        self.encoder = bilstm(D, hidden, rngs=rngs)
        self.decoder = AttentionDecoder(2 * hidden, hidden=hidden, rngs=rngs)
        self.project_text = dense(text_dim, hidden, dtype=dtype, rngs=rngs)
        self.article = EncoderLayer(
            hidden, heads=heads, ffn=2 * hidden, dropout=dropout, dtype=dtype, rngs=rngs
        )
        self.text_boundary = nnx.Linear(2 * hidden, 1, rngs=rngs)
        self.text_head = nnx.Linear(hidden, 1, rngs=rngs)
        self.align_video = dense(2 * hidden, align, dtype=dtype, rngs=rngs)
        self.align_text = dense(hidden, align, dtype=dtype, rngs=rngs)
        self.dropout = Dropout(dropout, rngs=rngs)

    def __call__(self, features, mask: jax.Array, text=None, text_mask=None, text_spans=None):
        """Scores steps and sentences, and segments both.

        Args:
            features: S arrays [B, T, D_s]; mask: [B, T] bool.
            text: [B, M, text_dim] sentence features; text_mask: [B, M] bool.
            text_spans: unused: MHMS relates the two modalities by what they say (the
                alignment), not by the transcript's timing.

        Returns:
            ``Outputs``: ``scores`` [B, T] (Eq. 5's ``d_t``) and ``sentences`` [B, M] in
            (0, 1), 0 at padding; ``saliency`` [B, T] the step logits; ``extras``:
            ``boundaries`` [B, T] and ``text_boundaries`` [B, M] logits (after step t,
            after sentence k), ``sentence_logits`` [B, M], ``clips`` [B, T, A] and
            ``sentence_states`` [B, M, A] in the alignment space; 0 at padding throughout.
        """
        if text is None:
            raise ValueError("mhms reads an article or transcript: give the 'text' stream")
        B, T = mask.shape
        M = text.shape[1]
        text_mask = jnp.ones((B, M), bool) if text_mask is None else text_mask
        x = jnp.where(mask[..., None], jnp.concatenate(features, axis=-1), 0.0)
        boundaries = self.segmenter(x, mask)
        e = self.encoder(self.dropout(x), seq_lengths=jnp.sum(mask, -1).astype(jnp.int32))
        logits = self.decoder(e, mask)
        s = self.project_text(self.dropout(text))
        s = s + sinusoidal_positions(M, s.shape[-1]).astype(s.dtype)
        s = self.article(s, mask=text_mask)
        s = jnp.where(text_mask[..., None], s, 0.0)
        following = jnp.concatenate([s[:, 1:], jnp.zeros_like(s[:, :1])], axis=1)
        text_boundaries = self.text_boundary(jnp.concatenate([s, following], -1))[..., 0]
        t_logit = self.text_head(s)[..., 0].astype(jnp.float32)
        zero = lambda y, m: jnp.where(m[..., None] if y.ndim == 3 else m, y, 0)  # noqa: E731
        return Outputs(
            zero(jax.nn.sigmoid(logits), mask),
            saliency=zero(logits, mask),
            sentences=zero(jax.nn.sigmoid(t_logit), text_mask),
            extras={
                "boundaries": zero(boundaries, mask),
                "text_boundaries": zero(text_boundaries.astype(jnp.float32), text_mask),
                "sentence_logits": zero(t_logit, text_mask),
                "clips": zero(self.align_video(e), mask),
                "sentence_states": zero(self.align_text(s), text_mask),
            },
        )
