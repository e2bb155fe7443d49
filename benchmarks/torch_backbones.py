"""The backbones' supervised training in PyTorch, written here as the references that
``python -m benchmarks.train_speed --torch`` times beside csum's (``pip install ".[torch]"``).

Each network is the one of ``backbones.<name>`` (``REFERENCES``; the tests give it csum's
weights and check it scores a padded batch as csum does):

* ``msva``: per-source VASNet attention with a 250-step aperture and the fixed 0.06 query
  scale, residual, dropout and LayerNorm; the sum over sources; ``ka -> kb -> kc``, ReLU,
  dropout, LayerNorm, ``kd``, sigmoid;
* ``vasnet``: one global attention over the concatenated sources, residual, dropout,
  LayerNorm; ``ka``, ReLU, dropout, LayerNorm, ``kd``, sigmoid;
* ``vslstm``: a bidirectional LSTM over packed sequences (the backward direction starts at
  each video's last real step), an MLP on ``[x, h_fwd, h_bwd]``;
* ``dpplstm``: vsLSTM plus the diversity head, whose DPP negative log-likelihood of the
  keyframes joins the loss (``torch.logdet`` in the F x F space, as
  ``csum.objectives.supervised.dpp_nll``);
* ``transformer``: the video-only UMT-style transformer (post-norm layers with
  ``torch.nn.MultiheadAttention``, bottleneck tokens, the saliency head); the audio, query,
  memory and moment options are not ported.

The same loss (mean squared error to the min-max-normalised ``gtscore`` over the real
steps, plus dppLSTM's DPP term per step), AdamW with global-norm clipping, and the same
padded batches (``csum.data.batching.train_batches``), in float32. It is eager PyTorch, as
the backbones' own code trains. Nothing here is imported without PyTorch.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn


class SelfAttention(nn.Module):
    """VASNet's single-head attention with a local aperture (no biases)."""

    def __init__(self, dim: int, aperture: int, dropout: float, query_scale: float = 0.06):
        super().__init__()
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim, bias=False) for _ in range(4))
        self.aperture, self.query_scale = aperture, query_scale
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        logits = (self.q(x) * self.query_scale) @ self.k(x).transpose(1, 2)  # [B, T, T]
        steps = torch.arange(T)
        allowed = mask[:, None, :]
        if self.aperture > 0:
            allowed = allowed & ((steps[:, None] - steps[None, :]).abs() < self.aperture)
        weights = torch.softmax(logits.masked_fill(~allowed, float("-inf")), dim=-1)
        return self.out(self.dropout(torch.nan_to_num(weights)) @ self.v(x))


class MSVA(nn.Module):
    def __init__(self, dims, hidden=365, head=512, aperture=250, dropout=0.5):
        super().__init__()
        D = dims[0]
        self.attention = nn.ModuleList(SelfAttention(D, aperture, dropout) for _ in dims)
        # epsilon 1e-6: flax's LayerNorm, which csum's MSVA uses (torch's default is 1e-5)
        self.norms = nn.ModuleList(nn.LayerNorm(D, eps=1e-6) for _ in dims)
        self.ka, self.kb = nn.Linear(D, hidden), nn.Linear(hidden, hidden)
        self.kc, self.kd = nn.Linear(hidden, head), nn.Linear(head, 1)
        self.norm_head = nn.LayerNorm(head, eps=1e-6)
        self.dropout = nn.Dropout(dropout)

    def forward(self, features, mask):
        fused = 0.0
        for attention, norm, x in zip(self.attention, self.norms, features, strict=True):
            fused = fused + norm(self.dropout(attention(x, mask) + x))
        h = self.norm_head(self.dropout(torch.relu(self.kc(self.kb(self.ka(fused))))))
        return torch.sigmoid(self.kd(h)[..., 0]) * mask


class VASNet(nn.Module):
    def __init__(self, dims, aperture=0, dropout=0.5):
        super().__init__()
        D = sum(dims)
        self.attention = SelfAttention(D, aperture, dropout)
        self.norm_y, self.norm_ka = nn.LayerNorm(D, eps=1e-6), nn.LayerNorm(D, eps=1e-6)
        self.ka, self.kd = nn.Linear(D, D), nn.Linear(D, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, features, mask):
        x = torch.cat(features, dim=-1)
        y = self.norm_y(self.dropout(self.attention(x, mask) + x))
        h = self.norm_ka(self.dropout(torch.relu(self.ka(y))))
        return torch.sigmoid(self.kd(h)[..., 0]) * mask


class VsLSTM(nn.Module):
    def __init__(self, dims, hidden=256, dropout=0.5):
        super().__init__()
        D = sum(dims)
        self.lstm = nn.LSTM(D, hidden, batch_first=True, bidirectional=True)
        self.mlp_hidden, self.mlp_out = nn.Linear(D + 2 * hidden, hidden), nn.Linear(hidden, 1)
        self.dropout = nn.Dropout(dropout)

    def trunk(self, features, mask):
        x = torch.cat(features, dim=-1)
        lengths = mask.sum(dim=1).clamp(min=1).cpu()  # an empty slot runs one step, masked
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, True, enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=x.shape[1])
        return self.dropout(torch.cat([x, h], dim=-1))

    def score_head(self, z, mask):
        return torch.sigmoid(self.mlp_out(torch.tanh(self.mlp_hidden(z)))[..., 0]) * mask

    def forward(self, features, mask):
        return self.score_head(self.trunk(features, mask), mask)


class DppLSTM(VsLSTM):
    def __init__(self, dims, hidden=256, phi_dim=128, dropout=0.5):
        super().__init__(dims, hidden, dropout)
        self.phi_hidden = nn.Linear(sum(dims) + 2 * hidden, hidden)
        self.phi_out = nn.Linear(hidden, phi_dim)

    def scores_and_diversity(self, features, mask):
        z = self.trunk(features, mask)
        phi = self.phi_out(torch.tanh(self.phi_hidden(z)))
        phi = phi * torch.rsqrt((phi * phi).sum(-1, keepdim=True) + 1e-12)
        return self.score_head(z, mask), phi * mask[..., None]


def dpp_nll(quality, phi, selected, mask, jitter=1e-3):
    """[B] -log P(keyframes) of the DPP L = diag(q) Phi Phi^T diag(q), in the F x F space
    (``csum.objectives.supervised.dpp_nll``)."""
    F = phi.shape[-1]
    b = (quality * mask)[..., None] * phi
    y = (selected & mask)[..., None]
    b_y = b * y
    eye = torch.eye(F)
    everything = torch.logdet(eye + b.transpose(1, 2) @ b)
    chosen = torch.logdet(jitter * eye + b_y.transpose(1, 2) @ b_y)
    k = y[..., 0].sum(-1).float()
    return everything - (k - F) * float(np.log(jitter)) - chosen


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """[length, dim]: sin on even, cos on odd columns (``csum.nn.positions``)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(-np.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return table


class EncoderLayer(nn.Module):
    """Post-norm layer: ``x = LN(x + attn(x, ctx)); x = LN(x + FFN(x))``, multi-head attention
    with biases (``torch.nn.MultiheadAttention``, as UMT)."""

    def __init__(self, dim, heads, ffn, dropout):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_attention, self.norm_ffn = (
            nn.LayerNorm(dim, eps=1e-6),
            nn.LayerNorm(dim, eps=1e-6),
        )
        self.ffn_in, self.ffn_out = nn.Linear(dim, ffn), nn.Linear(ffn, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, context, context_mask):
        # an empty slot (no real key) attends to its padding instead of giving NaN; its
        # scores are masked to 0 all the same
        blocked = ~context_mask & context_mask.any(dim=-1, keepdim=True)
        y, _ = self.attention(x, context, context, key_padding_mask=blocked, need_weights=False)
        x = self.norm_attention(x + self.dropout(y))
        return self.norm_ffn(
            x + self.dropout(self.ffn_out(self.dropout(torch.relu(self.ffn_in(x)))))
        )


class Transformer(nn.Module):
    """The video-only UMT-style transformer: a video encoder (projection, LayerNorm,
    positions, ``layers`` self-attention layers), bottleneck tokens that read the clips,
    clips that read the tokens, a saliency head."""

    def __init__(self, dims, dim=256, heads=8, ffn=1024, layers=1, bottleneck=4, dropout=0.1):
        super().__init__()
        self.project, self.norm = nn.Linear(sum(dims), dim), nn.LayerNorm(dim, eps=1e-6)
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, ffn, dropout) for _ in range(layers))
        self.tokens = nn.Parameter(0.02 * torch.randn(bottleneck, dim))
        self.gather = EncoderLayer(dim, heads, ffn, dropout)
        self.scatter = EncoderLayer(dim, heads, ffn, dropout)
        self.head_hidden, self.head_out = nn.Linear(dim, dim), nn.Linear(dim, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, features, mask):
        x = torch.cat(features, dim=-1)
        h = self.norm(self.project(self.dropout(x)))
        h = h + sinusoidal_positions(x.shape[1], h.shape[-1])
        for layer in self.layers:
            h = layer(h, h, mask)
        tokens = self.tokens.expand(x.shape[0], -1, -1)
        tokens = self.gather(tokens, h, mask)
        h = self.scatter(h, tokens, torch.ones(tokens.shape[:2], dtype=torch.bool))
        return torch.sigmoid(self.head_out(torch.relu(self.head_hidden(h)))[..., 0]) * mask


REFERENCES = {
    "msva": MSVA,
    "vasnet": VASNet,
    "vslstm": VsLSTM,
    "dpplstm": DppLSTM,
    "transformer": Transformer,
}
"""The backbones with a PyTorch reference."""


def supervised_loss(model, features, mask, valid, target, keyframes, length, dpp_weight):
    """MSE over the real steps, plus ``dpp_weight`` x the per-step DPP term (dppLSTM)."""
    real = mask & valid[:, None]
    if dpp_weight > 0:
        scores, phi = model.scores_and_diversity(features, mask)
    else:
        scores = model(features, mask)
    loss = ((scores - target) ** 2 * real).sum() / real.sum().clamp(min=1)
    if dpp_weight > 0:
        per_step = dpp_nll(scores, phi, keyframes, real) / length.clamp(min=1)
        loss = loss + dpp_weight * (per_step * valid).sum() / valid.sum().clamp(min=1)
    return loss


def epochs_seconds(
    name: str,
    batches_per_epoch,
    dims,
    epochs: int,
    kwargs=None,
    lr=3e-4,
    weight_decay=1e-4,
    max_grad_norm=1.0,
    dpp_weight=0.0,
    seed: int = 0,
) -> list[float]:
    """Seconds of each of ``epochs`` epochs of supervised training of ``REFERENCES[name]``.

    Args:
        name: a key of ``REFERENCES``.
        batches_per_epoch: ``epoch -> list of csum Batch`` (numpy arrays, padded).
        dims: the sources' widths.
        epochs: how many epochs to time.
        kwargs: the network's keyword arguments (the config's ``backbone.kwargs``).
    """
    torch.manual_seed(seed)
    model = REFERENCES[name](dims, **(kwargs or {}))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    times = []
    for epoch in range(epochs):
        batches = [
            (
                [torch.from_numpy(np.asarray(f, np.float32)) for f in b.features],
                torch.from_numpy(b.mask),
                torch.from_numpy(b.valid),
                torch.from_numpy(np.asarray(b.target, np.float32)),
                torch.from_numpy(b.keyframes),
                torch.from_numpy(b.length),
            )
            for b in batches_per_epoch(epoch)
        ]
        tic = time.perf_counter()
        for batch in batches:
            loss = supervised_loss(model, *batch, dpp_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
        times.append(time.perf_counter() - tic)
    return times
