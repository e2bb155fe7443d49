"""How faithful each soft top-k stays as the video grows (the analogue of CSUM's Fig. 8).

    python -m benchmarks.topk_fidelity [--lengths 100,...,100000] [--out docs]

For T clips and k outputs, the error of an operator is the normalised L2 distance of its
outputs to the exact top-k features, ||soft - hard||_F / ||hard||_F over the [k, D] outputs
in temporal order, for k = 10 and k = ceil(0.15 T).

Operators are compared at matched sharpness: the slope at a tie of a successive-halving
pair weight sigmoid(alpha d) is alpha / 4, of a Sinkhorn membership sigmoid(2 d / eps) is
1 / (2 eps), and of a perturbed win probability Phi(d / (sigma sqrt 2)) is
1 / (2 sigma sqrt pi); so eps = 2 / alpha and sigma = 2 / (alpha sqrt pi). alpha = 20 gives
the training defaults (``csum.topk.DEFAULTS``, sigma rounded to 0.05 there); ``--alphas``
adds sharper settings. Two score distributions:

* ``iid``: U(0, 1) scores and N(0, 1) features (D = 64), a fresh draw per T;
* ``trained``: the scores and features of a CSUM-MSVA trained for a few epochs on a
  validation draw of the synthetic data (``benchmarks/trained.py``), with the test videos
  concatenated (cycled) to reach T, so that local score structure is a trained model's.

Writes ``topk_fidelity.md`` (table), ``topk_fidelity.json`` and ``topk_fidelity.png``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

from benchmarks.trained import train_and_score
from csum import topk

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments.cli import make_parser

OPERATORS = ("successive_halving", "sinkhorn", "perturbed")
LENGTHS = (100, 300, 1000, 3000, 10000, 30000, 100000)


def matched(name: str, alpha: float) -> dict:
    """Hyperparameters of ``name`` with the tie slope of successive halving at ``alpha``."""
    if name == "sinkhorn":
        return {"epsilon": 2.0 / alpha}
    if name == "perturbed":
        return {"sigma": 2.0 / (alpha * math.sqrt(math.pi))}
    return {"alpha": alpha}


def relative_error(name: str, x, s, k: int, alpha: float) -> float:
    """||op(x, s) - hard(x, s)|| / ||hard(x, s)|| over the [k, D] outputs."""
    hyper = matched(name, alpha)
    soft = jax.jit(lambda x, s: topk.get(name)(x, s, k, **hyper).features)(x, s)
    hard = topk.hard(x, s, k).features
    return float(jnp.linalg.norm(soft - hard) / jnp.linalg.norm(hard))


def iid_inputs(T: int, seed: int, dim: int = 64):
    kx, ks = jax.random.split(jax.random.key(seed))
    return jax.random.normal(kx, (T, dim)), jax.random.uniform(ks, (T,))


def trained_inputs(videos, scores, T: int):
    """The test videos' features and scores, concatenated (cycled) to exactly T steps."""
    xs, ss, n, i = [], [], 0, 0
    while n < T:
        v = videos[i % len(videos)]
        xs.append(v.features[0].astype(np.float32))
        ss.append(scores[v.key].astype(np.float32))
        n += v.n_steps
        i += 1
    return jnp.asarray(np.concatenate(xs)[:T]), jnp.asarray(np.concatenate(ss)[:T])


def _select(rows: list[dict], **match) -> list[dict]:
    return [r for r in rows if all(r[key] == value for key, value in match.items())]


def plot(rows: list[dict], alphas: list[float], path: Path) -> None:
    fig, axes = plt.subplots(
        len(alphas), 2, figsize=(10, 3.6 * len(alphas)), sharey=True, squeeze=False
    )
    panels = [(a, kk) for a in alphas for kk in ("k=10", "k=0.15T")]
    for ax, (alpha, k_kind) in zip(axes.ravel(), panels, strict=True):
        for name, color in zip(OPERATORS, ("C0", "C1", "C2"), strict=True):
            for dist, style in (("iid", "-"), ("trained", "--")):
                chosen = _select(rows, operator=name, k_kind=k_kind, scores=dist, alpha=alpha)
                pts = [(r["T"], r["error"]) for r in chosen]
                if pts:
                    t, e = zip(*pts, strict=True)
                    ax.plot(t, e, style, color=color, marker="o", ms=3, label=f"{name} ({dist})")
        ax.set_xscale("log")
        ax.set_xlabel("T (clips)")
        ax.set_title(f"{k_kind}, sharpness alpha = {alpha:g}")
        ax.grid(alpha=0.3)
        ax.set_ylabel("||soft - hard|| / ||hard||")
    axes[0, 1].legend(fontsize=7)
    fig.suptitle("Soft top-k fidelity against the exact top-k (matched sharpness)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = make_parser("python -m benchmarks.topk_fidelity", __doc__, overrides=False)
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    parser.add_argument("--alphas", default="20,1000", help="matched sharpness levels")
    parser.add_argument("--epochs", type=int, default=6, help="training of the 'trained' case")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    lengths = [int(t) for t in args.lengths.split(",")]
    alphas = [float(a) for a in args.alphas.split(",")]
    _, videos, scores = train_and_score(epochs=args.epochs, folds=(0, 1))
    rows = []
    for T in lengths:
        inputs = {"iid": iid_inputs(T, seed=T), "trained": trained_inputs(videos, scores, T)}
        for k_kind, k in (("k=10", 10), ("k=0.15T", math.ceil(0.15 * T))):
            if k > T:
                continue
            for dist, (x, s) in inputs.items():
                for alpha in alphas:
                    for name in OPERATORS:
                        err = relative_error(name, x, s, k, alpha)
                        rows.append(
                            {
                                "operator": name,
                                "T": T,
                                "k": k,
                                "k_kind": k_kind,
                                "scores": dist,
                                "alpha": alpha,
                                "error": err,
                            }
                        )
                        print(
                            f"T={T:6d} {k_kind:8s} {dist:7s} alpha={alpha:<5g} {name:18s} "
                            f"{err:.4f}",
                            flush=True,
                        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "topk_fidelity.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "| alpha | T | k | scores | " + " | ".join(OPERATORS) + " |",
        "|---|---|---|---|" + "---|" * len(OPERATORS),
    ]
    for alpha in alphas:
        for T in lengths:
            for k_kind in ("k=10", "k=0.15T"):
                for dist in ("iid", "trained"):
                    sel = _select(rows, T=T, k_kind=k_kind, scores=dist, alpha=alpha)
                    got = {r["operator"]: r for r in sel}
                    if got:
                        k = next(iter(got.values()))["k"]
                        errs = " | ".join(f"{got[n]['error']:.3f}" for n in OPERATORS)
                        lines.append(f"| {alpha:g} | {T} | {k} | {dist} | {errs} |")
    table = "\n".join(lines)
    (out / "topk_fidelity.md").write_text(table + "\n")
    plot(rows, alphas, out / "topk_fidelity.png")
    print(table)
    print(f"wrote {out}/topk_fidelity.{{md,json,png}}")


if __name__ == "__main__":
    main()
