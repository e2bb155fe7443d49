"""A2Summ: alignment-guided multimodal summarization of a video and its transcript.

He et al., "Align and Attend: Multimodal Summarization with Dual Contrastive Losses" (CVPR
2023; ``000_…``), section 3:

1. Input embedding (3.2): frames and sentences are projected to a common width C; each
   modality gets a prepended [CLS] token, positions, and a segment embedding shared by a
   sentence and the frames of its time window ``[t_s, t_e)``.
2. Alignment-guided self-attention (3.3, Eqs. 1-3): frames and sentences form one sequence;
   every pair within a modality attends, across modalities only a sentence and the frames
   of its window (``csum.nn.crossmodal.alignment_mask``; a [CLS] token attends within its
   modality). ``Z = X + D V W_O``. The mask is built block by block
   (``alignment_rows``) inside ``csum.nn.attention``, dense for short videos and chunked
   over query blocks for long ones, so memory grows linearly with the video's length.
3. Mixture of modality experts (3.3): after each attention layer, frames go through a
   video FFN and sentences through a text FFN.
4. Score prediction (3.3): a frame head and a sentence head.

The backbone reads the ``text`` stream (``text``, ``text_mask``, ``text_spans``) and returns
``Outputs`` with the frame ``scores``, their ``saliency`` logits, the ``sentences`` scores
and, in ``extras``, what its losses read (``csum.objectives.multimodal.a2summ_loss``): the
two [CLS] embeddings and every frame's and sentence's embedding.

Choices where the paper is silent or does not fit here: sinusoidal positions instead of
learned ones (video lengths here are not bounded by a table), a learned segment table of
``segments`` entries (a sentence k >= segments shares the last one), post-norm layers,
and sizes (C = 128, 2 layers, 4 heads).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from backbones.registry import BACKBONES, Outputs
from csum.nn.attention import dot_product_attention
from csum.nn.crossmodal import alignment_rows, window_sums
from csum.nn.dropout import Dropout
from csum.nn.layers import dense
from csum.nn.positions import sinusoidal_positions


class AlignedBlock(nnx.Module):
    """Masked multi-head self-attention (Eqs. 1-3), then one FFN expert per modality.

    Args:
        dim: width C; heads: attention heads; dropout: rate; dtype: matmul dtype.
    """

    def __init__(
        self,
        dim: int,
        *,
        rngs: nnx.Rngs,
        heads: int,
        dropout: float,
        dtype=jnp.float32,
        path: dict | None = None,
    ):
        if dim % heads:
            raise ValueError(f"a2summ dim {dim} is not a multiple of heads={heads}")
        self.qkv = dense(dim, 3 * dim, dtype=dtype, rngs=rngs)
        self.out = dense(dim, dim, dtype=dtype, rngs=rngs)
        self.norm = nnx.LayerNorm(dim, rngs=rngs)
        self.experts = nnx.List(
            [
                nnx.List(
                    [
                        dense(dim, 2 * dim, dtype=dtype, rngs=rngs),
                        dense(2 * dim, dim, dtype=dtype, rngs=rngs),
                        nnx.LayerNorm(dim, rngs=rngs),
                    ]
                )
                for _ in range(2)
            ]
        )
        self.dropout = Dropout(dropout, rngs=rngs)
        self.heads = heads
        self.path = dict(path or {})

    def __call__(self, x: jax.Array, rows, n_video: int) -> jax.Array:
        """x [B, L, C] (the first ``n_video`` tokens video); rows: the attention mask's
        rows (``csum.nn.attention``'s structured mask: query indices [R] -> [B, R, L] bool)."""
        B, L, C = x.shape
        H = self.heads
        q, k, v = jnp.split(self.qkv(x), 3, axis=-1)
        split = lambda y: y.reshape(B, L, H, C // H).transpose(0, 2, 1, 3)  # noqa: E731
        q, k, v = split(q), split(k), split(v)
        # Eq. 2 in float32 (softmax and matmuls, as the paper's model), by csum.nn.attention:
        # dense for short videos, query blocks with the mask built block by block for long
        # ones (memory linear in T).
        y = dot_product_attention(
            q.astype(jnp.float32) * (C // H) ** -0.5,
            k.astype(jnp.float32),
            v.astype(jnp.float32),
            jnp.ones((B, L), bool),
            rows=rows,
            dropout_rate=self.dropout.rate,
            dropout_words=self.dropout.words(),
            dtype=jnp.float32,
            **self.path,
        )
        y = y.transpose(0, 2, 1, 3).reshape(B, L, C).astype(x.dtype)
        x = self.norm(x + self.dropout(self.out(y)))  # Eq. 3
        parts = []
        for (hidden, out, norm), part in zip(
            self.experts, (x[:, :n_video], x[:, n_video:]), strict=True
        ):
            h = out(self.dropout(jax.nn.relu(hidden(part))))
            parts.append(norm(part + self.dropout(h)))
        return jnp.concatenate(parts, axis=1)


@BACKBONES.register("a2summ")
class A2Summ(nnx.Module):
    """A2Summ (module docstring); reads the ``text`` stream.

    Args:
        in_dims: feature size of each visual source (concatenated).
        rngs: parameter and dropout RNGs.
        text_dim: sentence feature size.
        dim: width C; heads: attention heads; layers: aligned blocks; dropout: rate.
        segments: entries of the segment embedding table.
        dtype: matmul compute dtype.
        attention, attention_chunk, attention_dense_max: the attention path
            (``csum.nn.attention``: "auto", "dense" or "chunked").
    """

    def __init__(
        self,
        in_dims,
        *,
        rngs: nnx.Rngs,
        text_dim: int,
        dim: int = 128,
        heads: int = 4,
        layers: int = 2,
        dropout: float = 0.1,
        segments: int = 128,
        dtype=jnp.float32,
        attention: str = "auto",
        attention_chunk: int = 512,
        attention_dense_max: int = 4096,
    ):
        self.streams = ("text",)
        self.project_video = dense(sum(in_dims), dim, dtype=dtype, rngs=rngs)
        self.project_text = dense(text_dim, dim, dtype=dtype, rngs=rngs)
        normal = lambda *shape: nnx.Param(0.02 * jax.random.normal(rngs.params(), shape))  # noqa: E731
        self.cls_video, self.cls_text = normal(dim), normal(dim)
        self.segment = normal(segments, dim)
        path = dict(impl=attention, chunk=attention_chunk, dense_max=attention_dense_max)
        self.blocks = nnx.List(
            [
                AlignedBlock(dim, heads=heads, dropout=dropout, dtype=dtype, path=path, rngs=rngs)
                for _ in range(layers)
            ]
        )
        self.video_head = nnx.Linear(dim, 1, rngs=rngs)
        self.text_head = nnx.Linear(dim, 1, rngs=rngs)
        self.dropout = Dropout(dropout, rngs=rngs)
        # Eq. 7's temperature is learned (section 3.4); CLIP's initial 0.07
        self.log_tau = nnx.Param(jnp.log(jnp.asarray(0.07, jnp.float32)))

    def __call__(self, features, mask: jax.Array, text=None, text_mask=None, text_spans=None):
        """Scores frames and sentences.

        Args:
            features: S arrays [B, T, D_s]; mask: [B, T] bool.
            text: [B, M, text_dim] sentence features; text_mask: [B, M] bool;
            text_spans: [B, M, 2] int each sentence's steps (start inclusive, end
                exclusive).

        Returns:
            ``Outputs``: ``scores`` [B, T] and ``sentences`` [B, M] in (0, 1) (0 at
            padding), ``saliency`` [B, T] frame logits, ``extras`` ``{"cls_video",
            "cls_text"}`` [B, C], ``{"frames"}`` [B, T, C], ``{"sentence_states"}``
            [B, M, C] and the learned temperature ``{"tau"}`` (in [0.01, 1]).
        """
        if text is None or text_spans is None:
            raise ValueError("a2summ reads a transcript: give the 'text' stream with its spans")
        B, T = mask.shape
        M = text.shape[1]
        text_mask = jnp.ones((B, M), bool) if text_mask is None else text_mask
        f = self.project_video(self.dropout(jnp.concatenate(features, axis=-1)))
        s = self.project_text(self.dropout(text))
        C = f.shape[-1]
        f = f + sinusoidal_positions(T, C).astype(f.dtype)
        s = s + sinusoidal_positions(M, C).astype(s.dtype)
        # Segment embeddings: sentence k and the frames of its window share entry k.
        n_seg = self.segment.shape[0]
        table = self.segment[...].astype(f.dtype)
        entries = table[jnp.minimum(jnp.arange(M), n_seg - 1)]  # sentence k's entry
        s = s + entries[None]
        spans = jnp.where(text_mask[..., None], text_spans, 0)
        f = f + window_sums(entries, spans, text_mask, T).astype(f.dtype)
        # [CLS_V, frames, CLS_T, sentences]: a [CLS] is a step with no window of its own.
        cls = lambda p: jnp.broadcast_to(p[...].astype(f.dtype), (B, 1, C))  # noqa: E731
        x = jnp.concatenate([cls(self.cls_video), f, cls(self.cls_text), s], axis=1)
        one = jnp.ones((B, 1), bool)
        video_mask = jnp.concatenate([one, mask], axis=1)
        words_mask = jnp.concatenate([one, text_mask], axis=1)
        shifted = jnp.concatenate([jnp.zeros((B, 1, 2), spans.dtype), spans + 1], axis=1)
        valid = jnp.concatenate([video_mask, words_mask], axis=1)
        L = valid.shape[1]

        def rows(r):  # the alignment mask's rows r: [R] -> [B, R, L]
            allowed = alignment_rows(shifted, video_mask, words_mask, r)
            # padded tokens attend to themselves only, so their rows stay finite
            own = (r[:, None] == jnp.arange(L)[None]) & ~valid[:, jnp.clip(r, 0, L - 1), None]
            return allowed | own

        for block in self.blocks:
            x = block(x, rows, T + 1)
        frames, sentences = x[:, 1 : T + 1], x[:, T + 2 :]
        v_logit = self.video_head(frames)[..., 0].astype(jnp.float32)
        t_logit = self.text_head(sentences)[..., 0].astype(jnp.float32)
        return Outputs(
            jnp.where(mask, jax.nn.sigmoid(v_logit), 0.0),
            saliency=jnp.where(mask, v_logit, 0.0),
            sentences=jnp.where(text_mask, jax.nn.sigmoid(t_logit), 0.0),
            extras={
                "cls_video": x[:, 0],
                "cls_text": x[:, T + 1],
                "tau": jnp.clip(jnp.exp(self.log_tau[...]), 0.01, 1.0),
                "frames": jnp.where(mask[..., None], frames, 0),
                "sentence_states": jnp.where(text_mask[..., None], sentences, 0),
            },
        )
