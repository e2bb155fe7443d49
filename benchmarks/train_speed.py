"""Seconds per training epoch and number of jit compiles, on TVSum-shaped data.

    python -m benchmarks.train_speed [--backbone msva] [--epochs 4] [--dtype bfloat16]

The epoch is the one of the issue's target: 40 videos whose lengths are evenly spread
over 240..1182 steps (mean 711, the TVSum training fold), 3 sources x 1024 features for MSVA
(1 for vsLSTM), batch 8, the default CSUM objective. The first epoch includes compilation
and is reported apart; the steady-state figure is the mean of the later epochs.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from csum.data.batching import default_buckets, train_batches
from csum.data.video import Video, cast_features
from csum.model import build_summarizer
from csum.train import make_optimizer, make_train_step, step_key
from experiments.config_loader import apply_overrides, load_config


class CompileCounter:
    """Counts XLA backend compilations through jax.monitoring."""

    def __init__(self):
        self.count = 0
        jax.monitoring.register_event_duration_secs_listener(self._on_event)

    def _on_event(self, event: str, duration: float, **kwargs) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            self.count += 1


def tvsum_shaped_videos(n_sources: int, dim: int = 1024, seed: int = 0) -> list[Video]:
    """40 videos with lengths 240..1182 (mean 711) and random features (timing only)."""
    rng = np.random.default_rng(seed)
    lengths = np.linspace(240, 1182, 40).round().astype(int)
    videos = []
    for i, T in enumerate(lengths):
        feats = tuple(rng.random((T, dim), dtype=np.float32) for _ in range(n_sources))
        videos.append(Video(key=f"video_{i + 1}", features=feats, n_frames=int(T) * 15,
                            picks=np.arange(T) * 15, change_points=np.array([[0, T * 15 - 1]]),
                            user_summary=np.zeros((1, T * 15))))  # fmt: skip
    return videos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="msva", choices=["msva", "vslstm"])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--dtype", default="bfloat16")
    args = parser.parse_args()
    counter = CompileCounter()
    config = load_config(f"tvsum_{args.backbone}:synthetic")
    apply_overrides(config, {"compute_dtype": args.dtype})
    videos = tvsum_shaped_videos(len(config.data.feature_keys))
    videos = cast_features(videos, jnp.dtype(args.dtype))  # as experiments.run stores them
    buckets = default_buckets(max(v.n_steps for v in videos))
    model = build_summarizer(config, videos[0].dims, seed=0)
    optimizer = nnx.Optimizer(model, make_optimizer(config), wrt=nnx.Param)
    step = make_train_step(config)
    times, compiled = [], []
    for epoch in range(args.epochs):
        before = counter.count
        tic = time.perf_counter()
        batches = train_batches(videos, config.train.batch_size, buckets,
                                np.random.default_rng(epoch))  # fmt: skip
        for i, batch in enumerate(batches):
            nnx.reseed(model, dropout=step_key(0, 0, epoch * len(batches) + i))
            loss = step(model, optimizer, batch)
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - tic)
        compiled.append(counter.count > before)
    steady = [t for t, c in zip(times, compiled, strict=True) if not c]
    print("| backbone | dtype | sources | videos | mean steps | epochs (with compiles) "
          "| s / epoch (no compile) | compiles | buckets | device |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.backbone} | {args.dtype} | {len(videos[0].features)} x {videos[0].dims[0]} "
          f"| {len(videos)} | {np.mean([v.n_steps for v in videos]):.0f} "
          f"| {len(times)} ({sum(compiled)}) "
          f"| {np.mean(steady) if steady else float('nan'):.2f} (min {min(steady or [0]):.2f}) "
          f"| {counter.count} | {len(buckets)} | {jax.devices()[0].device_kind} |")  # fmt: skip


if __name__ == "__main__":
    main()
