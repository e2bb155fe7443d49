"""Seconds per training epoch, jit compiles and peak memory of every backbone and regime.

    python -m benchmarks.train_speed [--backbones msva,vslstm|all] [--regimes csum,supervised]
        [--epochs 4] [--dtype bfloat16]

The epoch is the one of the issue's target: 40 videos whose lengths are evenly spread
over 240..1182 steps (mean 711, the TVSum training fold), batch 8, with each backbone's
synthetic-config sources (3 x 1024 for MSVA, 1 x 1024 for the others). ``csum`` is the
default CSUM objective; ``supervised`` the backbone's own loss (MSE, plus the DPP term for
dppLSTM). The first epochs include compilation and are reported apart; the steady-state
figure is the mean of the later epochs. Each (backbone, regime) runs in its own process so
that its peak resident memory (``ru_maxrss``, which includes the XLA:CPU buffers) is its
own. Prints one markdown table.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from csum.data.batching import default_buckets, train_batches
from csum.data.records import Video, cast_features
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.training.optim import OptimizerSpec, make_optimizer_for
from csum.training.spec import TrainSpec
from csum.training.step import make_train_step, step_key
from csum.training.trainer import negatives_bank
from experiments.cli import make_parser
from experiments.config_loader import apply_overrides, load_config
from experiments.configs.common import BACKBONE_NAMES


class CompileCounter:
    """Counts XLA backend compilations through jax.monitoring."""

    def __init__(self):
        self.count = 0
        jax.monitoring.register_event_duration_secs_listener(self._on_event)

    def _on_event(self, event: str, duration: float, **kwargs) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            self.count += 1


def tvsum_shaped_videos(n_sources: int, dim: int = 1024, seed: int = 0) -> list[Video]:
    """40 videos with lengths 240..1182 (mean 711), random features and gtscore, 2-s shots
    (timing only)."""
    return videos_of_lengths(np.linspace(240, 1182, 40).round().astype(int), n_sources, dim, seed)


def videos_of_lengths(lengths, n_sources: int, dim: int = 1024, seed: int = 0) -> list[Video]:
    """One video per length (in steps), random features and gtscore, 2-s shots."""
    rng = np.random.default_rng(seed)
    videos = []
    for i, T in enumerate(lengths):
        feats = tuple(rng.random((T, dim), dtype=np.float32) for _ in range(n_sources))
        starts = np.arange(0, T * 15, 60)
        shots = np.stack([starts, np.minimum(starts + 59, T * 15 - 1)], axis=1)
        videos.append(
            Video(
                key=f"video_{i + 1}",
                features=feats,
                n_frames=int(T) * 15,
                picks=np.arange(T) * 15,
                change_points=shots,
                user_summary=np.zeros((1, T * 15)),
                gtscore=rng.random(T, dtype=np.float32),
            )
        )
    return videos


HEADER = (
    "| backbone | regime | dtype | sources | videos | mean steps | epochs (with compiles) "
    "| s / epoch (no compile) | compiles | buckets | peak RSS MiB | device |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def measure(backbone: str, regime: str, epochs: int, dtype: str) -> str:
    """Trains ``epochs`` epochs in this process; returns the table row."""
    counter = CompileCounter()
    name = f"tvsum_{backbone}" + ("_supervised" if regime == "supervised" else "")
    config = load_config(f"{name}:synthetic")
    apply_overrides(config, {"compute_dtype": dtype})
    videos = tvsum_shaped_videos(len(config.data.feature_keys))
    videos = cast_features(videos, jnp.dtype(dtype))  # as experiments.run stores them
    buckets = default_buckets(max(v.n_steps for v in videos))
    model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=0)
    optimizer = make_optimizer_for(OptimizerSpec.from_config(config), model)
    step = make_train_step(TrainSpec.from_config(config))
    bank = negatives_bank(
        TrainSpec.from_config(config), model, videos, buckets
    )  # once: the projector is frozen
    times, compiled = [], []
    bound = step.bind(model, optimizer)  # as csum.training.trainer.train_fold steps
    for epoch in range(epochs):
        before = counter.count
        tic = time.perf_counter()
        batches = train_batches(
            videos, config.train.batch_size, buckets, np.random.default_rng(epoch)
        )
        for i, batch in enumerate(batches):
            loss = bound(batch, bank, step_key(0, 0, epoch * len(batches) + i))
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - tic)
        compiled.append(counter.count > before)
    steady = [t for t, c in zip(times, compiled, strict=True) if not c]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return (
        f"| {backbone} | {regime} | {dtype} | {len(videos[0].features)} x "
        f"{videos[0].dims[0]} | {len(videos)} | {np.mean([v.n_steps for v in videos]):.0f} "
        f"| {len(times)} ({sum(compiled)}) "
        f"| {np.mean(steady) if steady else float('nan'):.2f} (min {min(steady or [0]):.2f}) "
        f"| {counter.count} | {len(buckets)} | {peak:.0f} "
        f"| {jax.devices()[0].device_kind} |"
    )


def main() -> None:

    parser = make_parser("python -m benchmarks.train_speed", __doc__, overrides=False)
    parser.add_argument("--backbones", default="all")
    parser.add_argument("--regimes", default="csum")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--row", action="store_true", help="one row, this process (internal)")
    args = parser.parse_args()
    names = list(BACKBONE_NAMES) if args.backbones == "all" else args.backbones.split(",")
    if args.row:
        print(measure(names[0], args.regimes, args.epochs, args.dtype), flush=True)
        return
    print(HEADER, flush=True)
    for backbone in names:
        for regime in args.regimes.split(","):
            cmd = [
                sys.executable,
                "-m",
                "benchmarks.train_speed",
                "--row",
                "--backbones",
                backbone,
                "--regimes",
                regime,
                "--epochs",
                str(args.epochs),
                "--dtype",
                args.dtype,
            ]
            out = subprocess.run(cmd, capture_output=True, text=True)
            rows = [line for line in out.stdout.splitlines() if line.startswith("| ")]
            print(
                rows[-1]
                if rows
                else f"| {backbone} | {regime} | failed: {out.stderr.strip().splitlines()[-1:]} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
