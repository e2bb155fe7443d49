"""Seconds per training epoch, jit compiles and peak memory of every backbone and regime.

    python -m benchmarks.train_speed [--backbones msva,vslstm|all] [--regimes csum,supervised]
        [--epochs 4] [--dtype bfloat16] [--torch]

The epoch is the one of the issue's target: 40 videos whose lengths are evenly spread
over 240..1182 steps (mean 711, the TVSum training fold), batch 8, with each backbone's
synthetic-config sources (3 x 1024 for MSVA, 1 x 1024 for the others). ``csum`` is the
default CSUM objective; ``supervised`` the backbone's own loss (MSE, plus the DPP term for
dppLSTM). The first epochs include compilation and are reported apart; the steady-state
figure is the mean of the later epochs. Each (backbone, regime) runs in its own process so
that its peak resident memory (``ru_maxrss``, which includes the XLA:CPU buffers) is its
own. Prints one markdown table.

``--torch`` adds, for each named backbone (``benchmarks.torch_backbones``: the same network,
loss, optimizer and padded batches, float32, eager as the backbones' own code trains), its
supervised training in PyTorch beside csum's supervised row in float32, measured in the
same run, and prints the ratio of their seconds per epoch. Without PyTorch (``pip install
".[torch]"``) those rows say "not measured".
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
from csum.training.optim import make_optimizer_for
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
    "| s / epoch (no compile) | compiles | buckets | peak RSS MiB | device "
    "| GFLOP / epoch | GFLOP/s |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def epoch_flops(step, model, optimizer, batches, bank) -> float:
    """FLOPs of one epoch's steps, by XLA's cost analysis of each bucket shape's compiled step
    (the same computation the timed epochs ran)."""
    per_shape = {}
    total = 0.0
    for batch in batches:
        shape = batch.mask.shape
        if shape not in per_shape:
            cost = step.lower(model, optimizer, batch, bank).compile().cost_analysis()
            cost = cost[0] if isinstance(cost, list | tuple) else cost
            per_shape[shape] = float(cost.get("flops", float("nan")))
        total += per_shape[shape]
    return total


def matmul_peak(dtype: str, n: int = 2048, reps: int = 10) -> float:
    """GFLOP/s of an n x n matrix product in ``dtype`` on this machine (best of ``reps``):
    the measured ceiling beside which the epochs' GFLOP/s are read."""
    key = jax.random.key(0)
    a = jax.random.normal(key, (n, n), jnp.dtype(dtype))
    f = jax.jit(lambda x: x @ x)
    jax.block_until_ready(f(a))
    best = float("inf")
    for _ in range(reps):
        tic = time.perf_counter()
        jax.block_until_ready(f(a))
        best = min(best, time.perf_counter() - tic)
    return 2 * n**3 / best / 1e9


def train_epochs(
    backbone: str, regime: str, epochs: int, dtype: str, seed: int = 0, step=None
) -> dict:
    """Trains a fresh model ``epochs`` epochs on the TVSum-shaped epoch, in this process.

    ``step``: the ``step`` of an earlier call with the same backbone, regime and dtype, whose
    compiled programs are then reused (as the folds of one run share theirs).

    Returns:
        ``{"times": [s per epoch], "compiled": [whether the epoch compiled], "compiles",
        "wall_s" (model, bank and every epoch), "videos", "buckets", "config", "model",
        "optimizer", "step", "bank"}``.
    """
    counter = CompileCounter()
    start = time.perf_counter()
    name = f"tvsum_{backbone}" + ("_supervised" if regime == "supervised" else "")
    config = load_config(f"{name}:synthetic")
    apply_overrides(config, {"compute_dtype": dtype})
    videos = tvsum_shaped_videos(len(config.data.feature_keys), seed=seed)
    videos = cast_features(videos, jnp.dtype(dtype))  # as experiments.run stores them
    buckets = default_buckets(max(v.n_steps for v in videos))
    model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=seed)
    spec = TrainSpec.from_config(config)
    optimizer = make_optimizer_for(spec.optimizer, model)
    step = make_train_step(spec) if step is None else step
    bank = negatives_bank(spec, model, videos, buckets)  # once: the projector is frozen
    times, compiled = [], []
    bound = step.bind(model, optimizer)  # as csum.training.trainer.train_fold steps
    for epoch in range(epochs):
        before = counter.count
        tic = time.perf_counter()
        batches = train_batches(
            videos, config.train.batch_size, buckets, np.random.default_rng(epoch)
        )
        for i, batch in enumerate(batches):
            loss = bound(batch, bank, step_key(seed, 0, epoch * len(batches) + i))
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - tic)
        compiled.append(counter.count > before)
    bound.sync()
    return {
        "times": times,
        "compiled": compiled,
        "compiles": counter.count,
        "wall_s": time.perf_counter() - start,
        "videos": videos,
        "buckets": buckets,
        "config": config,
        "model": model,
        "optimizer": optimizer,
        "step": step,
        "bank": bank,
    }


def measure(backbone: str, regime: str, epochs: int, dtype: str) -> str:
    """Trains ``epochs`` epochs in this process; returns the table row."""
    run = train_epochs(backbone, regime, epochs, dtype)
    times, compiled, videos = run["times"], run["compiled"], run["videos"]
    steady = [t for t, c in zip(times, compiled, strict=True) if not c]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    batch_size = run["config"].train.batch_size
    batches = train_batches(videos, batch_size, run["buckets"], np.random.default_rng(0))
    flops = epoch_flops(run["step"], run["model"], run["optimizer"], batches, run["bank"])
    seconds = np.mean(steady) if steady else float("nan")
    return (
        f"| {backbone} | {regime} | {dtype} | {len(videos[0].features)} x "
        f"{videos[0].dims[0]} | {len(videos)} | {np.mean([v.n_steps for v in videos]):.0f} "
        f"| {len(times)} ({sum(compiled)}) "
        f"| {seconds:.2f} (min {min(steady or [0]):.2f}) "
        f"| {run['compiles']} | {len(run['buckets'])} | {peak:.0f} "
        f"| {jax.devices()[0].device_kind} | {flops / 1e9:.0f} | {flops / 1e9 / seconds:.0f} |"
    )


def measure_torch(backbone: str, epochs: int) -> str:
    """The PyTorch reference's row: ``backbone`` supervised, float32, the same epoch as
    ``measure`` (``benchmarks.torch_backbones``)."""
    try:
        import torch

        from benchmarks import torch_backbones
    except ImportError:
        return torch_missing(backbone)
    config = load_config(f"tvsum_{backbone}_supervised:synthetic")
    videos = tvsum_shaped_videos(len(config.data.feature_keys))
    buckets = default_buckets(max(v.n_steps for v in videos))

    def batches(epoch):
        rng = np.random.default_rng(epoch)
        return train_batches(videos, config.train.batch_size, buckets, rng)

    times = torch_backbones.epochs_seconds(
        backbone,
        batches,
        videos[0].dims,
        epochs,
        kwargs=config.backbone.kwargs.to_dict(),
        lr=config.train.lr,
        weight_decay=config.train.weight_decay,
        max_grad_norm=config.train.max_grad_norm,
        dpp_weight=config.loss.dpp_weight,
    )
    steady = times[1:] or times  # eager: the first epoch only warms the allocator
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"| {backbone} (PyTorch {torch.__version__}) | supervised | float32 | "
        f"{len(videos[0].features)} x {videos[0].dims[0]} | {len(videos)} | "
        f"{np.mean([v.n_steps for v in videos]):.0f} | {len(times)} (0) "
        f"| {np.mean(steady):.2f} (min {min(steady):.2f}) | - | {len(buckets)} | {peak:.0f} "
        f"| cpu, {torch.get_num_threads()} threads | (as csum's) | - |"
    )


TORCH_BACKBONES = ("msva", "vasnet", "vslstm", "dpplstm", "transformer")
"""The backbones with a PyTorch reference (``benchmarks.torch_backbones.REFERENCES``; kept
here too so that the comparison is planned without importing PyTorch)."""


def torch_missing(backbone: str) -> str:
    """The row of a reference that cannot run: PyTorch is not installed."""
    return (
        f"| {backbone} (PyTorch) | supervised | float32 | not measured: PyTorch is not "
        'installed (pip install ".[torch]") |'
    )


def seconds_per_epoch(row: str) -> float | None:
    """The steady-state seconds per epoch of a table row (None for a row without one)."""
    cells = [c.strip() for c in row.strip("|").split("|")]
    try:
        return float(cells[7].split()[0])
    except (IndexError, ValueError):
        return None


def main() -> None:

    parser = make_parser("python -m benchmarks.train_speed", __doc__, overrides=False)
    parser.add_argument("--backbones", default="all")
    parser.add_argument("--regimes", default="csum")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument(
        "--torch",
        action="store_true",
        help="also each backbone's supervised training in PyTorch, beside csum's in "
        "float32, and the ratios",
    )
    parser.add_argument("--row", action="store_true", help="one row, this process (internal)")
    args = parser.parse_args()
    names = list(BACKBONE_NAMES) if args.backbones == "all" else args.backbones.split(",")
    if args.row:
        if args.torch:
            print(measure_torch(names[0], args.epochs), flush=True)
        else:
            print(measure(names[0], args.regimes, args.epochs, args.dtype), flush=True)
        return
    print(HEADER, flush=True)
    runs = [(b, r, args.dtype, False) for b in names for r in args.regimes.split(",")]
    compared = [b for b in names if b in TORCH_BACKBONES] if args.torch else []
    for b in compared:  # the comparison: the same epoch, dtype and batches, each in its process
        runs += [(b, "supervised", "float32", False), (b, "supervised", "float32", True)]
    printed = {}
    for backbone, regime, dtype, torch_row in runs:
        if (backbone, regime, dtype, torch_row) in printed:
            continue
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
            dtype,
            *(["--torch"] if torch_row else []),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True)
        rows = [line for line in out.stdout.splitlines() if line.startswith("| ")]
        row = (
            rows[-1]
            if rows
            else f"| {backbone} | {regime} | failed: {out.stderr.strip().splitlines()[-1:]} |"
        )
        printed[(backbone, regime, dtype, torch_row)] = row
        print(row, flush=True)
    peaks = {d: matmul_peak(d) for d in ("float32", "bfloat16")}
    print(
        "\nmatmul peak of this machine (jnp 2048 x 2048 product, best of 10, same run): "
        + ", ".join(f"{d} {g:.0f} GFLOP/s" for d, g in peaks.items())
    )
    for b in compared:
        row = printed[(b, "supervised", "float32", False)]
        ours = seconds_per_epoch(row)
        theirs = seconds_per_epoch(printed[(b, "supervised", "float32", True)])
        if ours and theirs:
            flops = float(row.strip("|").split("|")[12])
            print(
                f"{b} supervised, float32, s / epoch: PyTorch {theirs:.2f} / csum {ours:.2f} "
                f"= {theirs / ours:.1f}x; the same network's {flops:.0f} GFLOP an epoch run at "
                f"{flops / ours:.0f} GFLOP/s in csum and {flops / theirs:.0f} in PyTorch"
            )
        else:
            print(f"{b} supervised against PyTorch: not measured (see its row)")
    for b in names:
        if args.torch and b not in TORCH_BACKBONES:
            print(f"{b}: no PyTorch reference (benchmarks.torch_backbones has {TORCH_BACKBONES})")


if __name__ == "__main__":
    main()
