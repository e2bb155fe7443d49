"""Forward+backward time and memory of each top-k operator, against the memory-bandwidth floor.

    python -m benchmarks.topk_speed [--lengths 1024,8192,65536] [--batches 1,8] [--out docs]

For each operator, batch B and length T: features [B, T, 1024] float32, U(0, 1) scores,
k = T / 8, loss = <outputs, a fixed random probe>; ``jax.value_and_grad`` jit-compiled.
Two backward passes are timed: to the scores only (training: the features f are frozen, so
no gradient reaches them) and to the scores and the features. Compilation is timed apart;
the steady figure is the best of ``--reps`` runs (median alongside). Memory is XLA's own
account of the compiled program (arguments + outputs + temporaries).

With PyTorch installed (``pip install ".[torch]"``), successive halving written the direct
way in PyTorch (features moved every round, as the public implementation does) is timed in
the same run at B = 1 (grad to the scores); without it the column says "not measured".

The floor is one read of the features at the machine's measured read bandwidth (a jitted
sum over 1 GiB). For successive halving at T >= 8192 a last table sets each row beside its
own floor, every piece timed in the same run (``own_floor``): the tournament's argsorts,
one read of the features, and a second read (gradient to the scores) or a pass into a
fresh [B, T, D] buffer (gradient to the features too). The scaling exponent is the slope
of log time against log T over T >= 1024. Writes ``topk_speed.md`` and ``topk_speed.json``;
rows of operators not named in ``--operators`` are kept from an existing
``topk_speed.json``, so one operator can be re-measured without rerunning the others.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from csum import topk
from csum.topk.argsort import stable_argsort
from csum.topk.halving import DEFAULT_ALPHA, halving_depth
from experiments.cli import make_parser

OPERATORS = ("successive_halving", "sinkhorn", "perturbed")
LENGTHS = (128, 1024, 8192, 65536, 100000)

MEMORY_CAP = 14 * 2**30
"""Skip a configuration whose compiled program would need more than this."""


def read_bandwidth(gib: float = 1.0) -> float:
    """Bytes per second of a jitted float32 sum over ``gib`` GiB (best of 5)."""
    a = jnp.ones((int(gib * 2**30) // 4,), jnp.float32)
    f = jax.jit(jnp.sum)
    f(a).block_until_ready()
    best = min(_timed(f, a) for _ in range(5))
    return a.size * 4 / best


def _timed(f, *args) -> float:
    tic = time.perf_counter()
    jax.block_until_ready(f(*args))
    return time.perf_counter() - tic


def measure(name: str, B: int, T: int, D: int, wrt: tuple[int, ...], reps: int) -> dict:
    k = max(1, T // 8)
    kx, ks, kp = jax.random.split(jax.random.key(T), 3)
    x = jax.random.normal(kx, (B, T, D))
    s = jax.random.uniform(ks, (B, T))
    probe = jax.random.normal(kp, (B, k, D))

    def loss(x, s):
        return jnp.vdot(topk.get(name)(x, s, k).features, probe)

    tic = time.perf_counter()
    compiled = jax.jit(jax.value_and_grad(loss, argnums=wrt)).lower(x, s).compile()
    compile_s = time.perf_counter() - tic
    mem = compiled.memory_analysis()
    peak = mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes
    row = {
        "operator": name,
        "B": B,
        "T": T,
        "D": D,
        "k": k,
        "grad": "scores+x" if 0 in wrt else "scores",
        "compile_s": compile_s,
        "memory_bytes": int(peak),
        "temp_bytes": int(mem.temp_size_in_bytes),
    }
    if peak > MEMORY_CAP:
        return {**row, "best_s": None, "median_s": None}
    first = _timed(compiled, x, s)
    times = [first] + [_timed(compiled, x, s) for _ in range(reps - 1 if first < 5 else 0)]
    return {**row, "best_s": min(times), "median_s": float(np.median(times))}


def fresh_write_seconds(B: int, T: int, D: int) -> float:
    """One jitted pass ``x -> 2 x`` over [B, T, D] float32 into a fresh buffer (best of 10):
    what a gradient to the features costs at least (it is a new [B, T, D] array)."""
    x = jnp.ones((B, T, D), jnp.float32)
    f = jax.jit(lambda a: a * 2)
    jax.block_until_ready(f(x))
    return min(_timed(f, x) for _ in range(10))


def halving_sort_seconds(B: int, T: int) -> float:
    """The argsorts successive halving does for k = T/8 (best of 10): one per round over
    the surviving ``m / 2**r`` scores, then one over the k outputs (``temporal_order``),
    with the operator's ``csum.topk.argsort.stable_argsort``."""
    k = max(1, T // 8)
    d = halving_depth(T, k)
    sizes = [(k * 2**d) >> r for r in range(d)] + [k]
    s = jax.random.uniform(jax.random.key(0), (B, k * 2**d))

    def sorts(s):
        return [stable_argsort(-s[:, :c]) for c in sizes]  # the operator's own sort

    f = jax.jit(sorts)
    jax.block_until_ready(f(s))
    return min(_timed(f, s) for _ in range(10))


def own_floor(row: dict) -> float:
    """Seconds that successive halving's value and gradient cannot go under on this machine:
    the sorts of its tournament, plus one read of the features (forward), plus a second
    read (the scores' gradient, which needs the cotangent of the forward's output) or,
    with the features' gradient, a read into a fresh [B, T, D] buffer."""
    second = row["write_s"] if row["grad"] == "scores+x" else row["floor_s"]
    return row["sort_s"] + row["floor_s"] + second


def torch_halving_seconds(T: int, D: int, reps: int) -> float | None:
    """fwd+bwd (to the scores) of successive halving written the direct way in PyTorch,
    batch 1, the peer measured in the same run; None when PyTorch is not installed
    (``pip install ".[torch]"``).

    The direct form is how the public implementation works: every round sorts the
    surviving items, pairs the i-th best with the i-th worst and moves their *features*
    through the pairwise softmax (O(T D) memory traffic per round), where ours moves only
    scores and combines the features once.
    """
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(T)
    k = max(1, T // 8)
    depth = max(0, math.ceil(math.log2(T / k)))
    m = k * 2**depth
    x = torch.randn(T, D)
    s0 = torch.rand(T, requires_grad=True)
    probe = torch.randn(k, D)

    def step() -> None:
        s = torch.cat([s0, torch.full((m - T,), -1e4)])
        f = torch.cat([x, torch.zeros(m - T, D)])
        for _ in range(depth):
            order = torch.argsort(s, descending=True)
            s, f = s[order], f[order]
            half = s.shape[0] // 2
            pair_s = torch.stack([s[:half], s[half:].flip(0)])
            w = torch.softmax(DEFAULT_ALPHA * pair_s, dim=0)
            s = (w * pair_s).sum(0)
            f = w[0, :, None] * f[:half] + w[1, :, None] * f[half:].flip(0)
        (f * probe).sum().backward()

    step()
    times = []
    for _ in range(reps):
        tic = time.perf_counter()
        step()
        times.append(time.perf_counter() - tic)
    return min(times)


def exponent(rows: list[dict]) -> float | None:
    pts = [(r["T"], r["best_s"]) for r in rows if r["T"] >= 1024 and r["best_s"]]
    if len(pts) < 2:
        return None
    t, y = np.log(np.array(pts)).T
    return float(np.polyfit(t, y, 1)[0])


def main() -> None:
    parser = make_parser("python -m benchmarks.topk_speed", __doc__, overrides=False)
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--operators", default=",".join(OPERATORS))
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    bandwidth = read_bandwidth()
    print(f"read bandwidth: {bandwidth / 1e9:.1f} GB/s ({jax.devices()[0].device_kind})")
    names = args.operators.split(",")
    out = Path(args.out)
    rows = []
    if (out / "topk_speed.json").exists():
        kept = json.loads((out / "topk_speed.json").read_text())["rows"]
        rows = [r for r in kept if r["operator"] not in names]
    pieces: dict[tuple[int, int], dict] = {}
    for name in names:
        for B in [int(b) for b in args.batches.split(",")]:
            for T in [int(t) for t in args.lengths.split(",")]:
                for wrt in ((1,), (0, 1)):
                    r = measure(name, B, T, args.dim, wrt, args.reps)
                    if name == "successive_halving" and B == 1 and wrt == (1,):
                        r["torch_s"] = torch_halving_seconds(T, args.dim, args.reps)
                    r["floor_s"] = B * T * args.dim * 4 / bandwidth
                    if name == "successive_halving" and T >= 8192:
                        if (B, T) not in pieces:  # once for both gradients
                            pieces[B, T] = {
                                "write_s": fresh_write_seconds(B, T, args.dim),
                                "sort_s": halving_sort_seconds(B, T),
                            }
                        r.update(pieces[B, T])
                    rows.append(r)
                    t = f"{r['best_s'] * 1e3:9.1f} ms" if r["best_s"] else "  skipped"
                    print(
                        f"{name:18s} B={B} T={T:6d} d {r['grad']:8s} {t} compile "
                        f"{r['compile_s']:.1f} s  mem {r['memory_bytes'] / 2**20:8.0f} MiB",
                        flush=True,
                    )
    order = {name: i for i, name in enumerate(OPERATORS)}
    rows.sort(key=lambda r: (order.get(r["operator"], len(order)), r["B"], r["T"], r["grad"]))
    lines = [
        f"Read bandwidth {bandwidth / 1e9:.1f} GB/s; floor = one read of the features. "
        f"D = {args.dim}, k = T/8, float32; best of {args.reps} (median).",
        "",
        "| operator | B | T | grad to | fwd+bwd ms (median) | floor ms | x floor | compile s "
        "| memory MiB | PyTorch SH ms (direct form, B = 1, grad to scores) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        torch = r.get("torch_s")
        ms = (
            f"{r['best_s'] * 1e3:.1f} ({r['median_s'] * 1e3:.1f})"
            if r["best_s"]
            else f"skipped (> {MEMORY_CAP / 2**30:.0f} GiB)"
        )
        ratio = f"{r['best_s'] / r['floor_s']:.1f}" if r["best_s"] else "-"
        lines.append(
            f"| {r['operator']} | {r['B']} | {r['T']} | {r['grad']} | {ms} "
            f"| {r['floor_s'] * 1e3:.2f} | {ratio} | {r['compile_s']:.1f} "
            f"| {r['memory_bytes'] / 2**20:.0f} "
            f"| {f'{torch * 1e3:.1f}' if torch else 'not measured'} |"
        )
    lines += [
        "",
        "Scaling exponent (slope of log time on log T, T >= 1024):",
        "",
        "| operator | B | grad to | exponent |",
        "|---|---|---|---|",
    ]
    for name in sorted({r["operator"] for r in rows}, key=lambda n: order.get(n, len(order))):
        for B in sorted({r["B"] for r in rows}):
            for grad in ("scores", "scores+x"):
                sel = [r for r in rows if (r["operator"], r["B"], r["grad"]) == (name, B, grad)]
                e = exponent(sel)
                lines.append(f"| {name} | {B} | {grad} | {'-' if e is None else f'{e:.2f}'} |")
    halving = [r for r in rows if "sort_s" in r and r["best_s"]]
    if halving:
        lines += [
            "",
            "Successive halving against its own floor, each piece measured in the same run: "
            "the tournament's argsorts (one per round, then the k outputs), one read of the "
            "features (forward), and a second read (gradient to the scores) or a pass into a "
            "fresh [B, T, D] buffer (gradient to the features too):",
            "",
            "| B | T | grad to | fwd+bwd ms | x one read | sorts ms | one read ms "
            "| fresh write pass ms | own floor ms | x own floor |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in halving:
            lines.append(
                f"| {r['B']} | {r['T']} | {r['grad']} | {r['best_s'] * 1e3:.1f} "
                f"| {r['best_s'] / r['floor_s']:.1f} | {r['sort_s'] * 1e3:.1f} "
                f"| {r['floor_s'] * 1e3:.2f} | {r['write_s'] * 1e3:.1f} "
                f"| {own_floor(r) * 1e3:.1f} | {r['best_s'] / own_floor(r):.1f} |"
            )
    table = "\n".join(lines)
    out.mkdir(parents=True, exist_ok=True)
    (out / "topk_speed.md").write_text(table + "\n")
    meta = {"read_bandwidth_Bps": bandwidth, "device": jax.devices()[0].device_kind}
    (out / "topk_speed.json").write_text(json.dumps({**meta, "rows": rows}, indent=1) + "\n")
    print(table)


if __name__ == "__main__":
    main()
