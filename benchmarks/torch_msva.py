"""MSVA's supervised training in PyTorch, written here as the reference that
``python -m benchmarks.train_speed --torch`` times beside csum's (``pip install ".[torch]"``).

The same network as ``backbones.msva.MSVA`` (per-source VASNet attention with a 250-step
aperture and the fixed 0.06 query scale, residual, dropout and LayerNorm; the sum over
sources; ``ka -> kb -> kc``, ReLU, dropout, LayerNorm, ``kd``, sigmoid), the same loss
(mean squared error to the min-max-normalised ``gtscore`` over the real steps), AdamW with
global-norm clipping, and the same padded batches (``csum.data.batching.train_batches``),
in float32. It is eager PyTorch, as MSVA's own code trains. Nothing here is imported
without PyTorch.
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


def epochs_seconds(
    batches_per_epoch,
    dims,
    epochs: int,
    lr=3e-4,
    weight_decay=1e-4,
    max_grad_norm=1.0,
    seed: int = 0,
) -> list[float]:
    """Seconds of each of ``epochs`` epochs of supervised training.

    Args:
        batches_per_epoch: ``epoch -> list of csum Batch`` (numpy arrays, padded).
        dims: the sources' widths.
        epochs: how many epochs to time.
    """
    torch.manual_seed(seed)
    model = MSVA(dims)
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
            )
            for b in batches_per_epoch(epoch)
        ]
        tic = time.perf_counter()
        for features, mask, valid, target in batches:
            real = mask & valid[:, None]
            scores = model(features, mask)
            loss = ((scores - target) ** 2 * real).sum() / real.sum().clamp(min=1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
        times.append(time.perf_counter() - tic)
    return times
