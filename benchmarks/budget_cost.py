"""What exact per-video budgets cost: each soft top-k with and without ``budget=``.

    python -m benchmarks.budget_cost [--lengths 320,1024,8192] [--batch 8] [--out docs]

The training case: a padded batch of B videos whose valid lengths spread over [T/2, T]
(as length-sorted buckets give), features [B, T, 1024] float32, U(0, 1) scores,
k = ceil(0.15 T); jit-compiled forward and backward to the scores (the features are
frozen in training). ``bucket k`` is the old selection (k outputs for every video, whatever
its length); ``per-video budget`` gives each video ceil(0.15 T_b) outputs selected exactly
as if it were alone (``csum.topk``), with successive halving's default ``ceil(log2 T)``
rounds (training passes the tighter ``depth_bound(ratio)``, 3 rounds at 0.15, so this is
an upper bound). Both are measured in the same run; best of ``--reps``. Writes
``budget_cost.md`` and ``.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from csum import topk
from experiments.cli import make_parser

OPERATORS = ("successive_halving", "sinkhorn", "perturbed")


def measure(name: str, B: int, T: int, D: int, budgeted: bool, reps: int) -> float:
    """Best fwd+bwd seconds of one operator on one padded batch."""
    kx, ks, kp = jax.random.split(jax.random.key(T), 3)
    x = jax.random.normal(kx, (B, T, D))
    s = jax.random.uniform(ks, (B, T))
    lengths = jnp.asarray(np.linspace(T // 2, T, B).round(), jnp.int32)
    mask = jnp.arange(T)[None] < lengths[:, None]
    k = topk.summary_budget(0.15, T)
    budget = topk.summary_budget(0.15, lengths) if budgeted else None
    probe = jax.random.normal(kp, (B, k, D))
    extra = {"key": jax.random.key(0)} if name in topk.STOCHASTIC else {}

    def loss(s):
        out = topk.get(name)(x, s, k, mask=mask, budget=budget, **extra)
        return jnp.vdot(out.features, probe)

    f = jax.jit(jax.value_and_grad(loss))
    jax.block_until_ready(f(s))
    times = []
    for _ in range(reps):
        tic = time.perf_counter()
        jax.block_until_ready(f(s))
        times.append(time.perf_counter() - tic)
    return min(times)


def main() -> None:
    parser = make_parser("python -m benchmarks.budget_cost", __doc__, overrides=False)
    parser.add_argument("--lengths", default="320,1024,8192")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--operators", default=",".join(OPERATORS))
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    rows = []
    for name in args.operators.split(","):
        for T in [int(t) for t in args.lengths.split(",")]:
            old = measure(name, args.batch, T, args.dim, False, args.reps)
            new = measure(name, args.batch, T, args.dim, True, args.reps)
            rows.append(
                {
                    "operator": name,
                    "B": args.batch,
                    "T": T,
                    "D": args.dim,
                    "bucket_k_s": old,
                    "budget_s": new,
                }
            )
            print(
                f"{name:18s} T={T:6d} bucket k {old * 1e3:8.1f} ms  budget {new * 1e3:8.1f} ms",
                flush=True,
            )
    lines = [
        f"Fwd+bwd to the scores, B = {args.batch} videos of lengths T/2..T padded to T, "
        f"D = {args.dim}, k = ceil(0.15 T), float32, best of {args.reps} "
        f"({jax.devices()[0].device_kind}).",
        "",
        "| operator | T | bucket k ms | per-video budget ms | ratio |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        old, new = r["bucket_k_s"], r["budget_s"]
        lines.append(
            f"| {r['operator']} | {r['T']} | {old * 1e3:.1f} | {new * 1e3:.1f} | {new / old:.2f} |"
        )
    table = "\n".join(lines)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "budget_cost.md").write_text(table + "\n")
    (out / "budget_cost.json").write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    print(table)


if __name__ == "__main__":
    main()
