"""Training from a streamed collection: steps per second and memory at 100 and 100,000 videos.

    python -m benchmarks.loader [--videos 100,100000] [--steps 40] [--backbone vasnet]
        [--out docs]

Each collection is a ``csum.data.sources.SyntheticSource`` (features generated on the fly,
1 x 1024 per step, lengths 240..1182 steps like TVSum's), streamed by
``stream_batches`` (batches planned from lengths, read two batches ahead by a thread) into
the CSUM training step of ``tvsum_{backbone}:synthetic`` with in-batch negatives
(``loss.negatives=batch``: a bank of every window of 100,000 videos is not a per-epoch
computation). Epochs repeat until ``--steps`` steps have run without compiling (one
compile per length bucket comes first); ``s / step`` is their mean, ``wait`` the share of
that time the step waited for the loader. Each size runs in its own process, so ``peak
MiB`` (``ru_maxrss``) is its own: bounded memory means the same peak at both sizes.
Writes ``loader.{md,json}`` under ``--out``.
"""

from __future__ import annotations

import json
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import json_row
from benchmarks.train_speed import CompileCounter
from experiments.cli import make_parser, write_report
from experiments.config_loader import apply_overrides, load_config


def measure(n: int, steps: int, backbone: str) -> dict:
    from csum.data.batching import default_buckets
    from csum.data.sources import SyntheticSource, stream_batches
    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.training.optim import OptimizerSpec, make_optimizer_for
    from csum.training.spec import TrainSpec
    from csum.training.step import make_train_step, step_key

    counter = CompileCounter()
    config = load_config(f"tvsum_{backbone}:synthetic")
    apply_overrides(config, {"loss.negatives": "batch", "compute_dtype": "bfloat16"})
    source = SyntheticSource(n, dim=1024)
    buckets = default_buckets(int(source.lengths().max()))
    model = build_summarizer(ModelSpec.from_config(config), (1024,), seed=0)
    optimizer = make_optimizer_for(OptimizerSpec.from_config(config), model)
    step = make_train_step(TrainSpec.from_config(config))

    def cast(batch):  # in the loader's thread: features stored in the compute dtype
        return batch._replace(features=tuple(x.astype(jnp.bfloat16) for x in batch.features))

    bound = step.bind(model, optimizer)  # as csum.training.trainer.train_fold steps
    timed, waited, total, epoch = [], [], 0, 0
    while len(timed) < steps:
        rng = np.random.default_rng([0, epoch])
        tic = time.perf_counter()
        for batch in stream_batches(source, config.train.batch_size, buckets, rng, place=cast):
            got = time.perf_counter()
            before = counter.count
            jax.block_until_ready(bound(batch, None, step_key(0, 0, total)))
            end = time.perf_counter()
            if counter.count == before:
                timed.append(end - tic)
                waited.append(got - tic)
            total += 1
            tic = end
            if len(timed) >= steps:
                break
        epoch += 1
    return {
        "videos": n,
        "steps": total,
        "timed": len(timed),
        "compiles": counter.count,
        "s_per_step": float(np.mean(timed)),
        "wait_share": float(sum(waited) / sum(timed)),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": jax.devices()[0].device_kind,
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| videos | steps (timed) | compiles | s / step | steps / s | wait | peak MiB | device |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['videos']:,} | {r['steps']} ({r['timed']}) | {r['compiles']} "
            f"| {r['s_per_step']:.3f} | {1 / r['s_per_step']:.2f} "
            f"| {100 * r['wait_share']:.1f} % | {r['peak_mib']:.0f} "
            f"| {r['device']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = make_parser("python -m benchmarks.loader", __doc__, overrides=False)
    parser.add_argument("--videos", default="100,100000")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--backbone", default="vasnet")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--row", type=int, default=0, help="internal: one size, this process")
    args = parser.parse_args()
    if args.row:
        print(json.dumps(measure(args.row, args.steps, args.backbone)), flush=True)
        return
    rows = []
    for n in [int(x) for x in args.videos.split(",")]:
        row = json_row(
            "benchmarks.loader",
            "--row",
            str(n),
            "--steps",
            str(args.steps),
            "--backbone",
            args.backbone,
        )
        if "error" in row:
            raise SystemExit(f"error: {n} videos: {row['error']}")
        rows.append(row)
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    write_report(f"{args.out}/loader", table(rows), rows)


if __name__ == "__main__":
    main()
