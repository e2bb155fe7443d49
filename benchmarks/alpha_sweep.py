"""Sweep of the successive-halving sharpness alpha (``topk.successive_halving.alpha``).

    python -m benchmarks.alpha_sweep [--alphas 5,20,50,200] [--epochs 6] [--folds 0,1]

Trains CSUM-MSVA on a *validation* draw of the synthetic TVSum-like data (synthetic seed 1,
small videos: not the seed-0 data the README reports) for each alpha and prints F1 and
Spearman rho, plus the mean relative L2 gap between the soft and the exact top-k features
of the trained model's scores on the test videos of every trained fold (paper Fig. 8's
fidelity measure).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from benchmarks.trained import train_and_score
from csum import topk
from experiments.cli import make_parser


def fidelity(videos, scores, alpha) -> float:
    """Mean ||soft - hard|| / ||hard|| of the top-k features over videos (k = 15 %)."""
    gaps = []
    for v in videos:
        x, s = jnp.asarray(v.features[0]), jnp.asarray(scores[v.key], jnp.float32)
        k = math.ceil(0.15 * v.n_steps)
        soft = topk.successive_halving(x, s, k, alpha=alpha).features
        hard = topk.hard(x, s, k).features
        gaps.append(float(jnp.linalg.norm(soft - hard) / jnp.linalg.norm(hard)))
    return float(np.mean(gaps))


def main() -> None:
    parser = make_parser("python -m benchmarks.alpha_sweep", __doc__, overrides=False)
    parser.add_argument("--alphas", default="5,20,50,200")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--folds", default="0,1")
    args = parser.parse_args()
    print("| alpha | F1 % | Spearman rho | soft/hard top-k gap | random F1 % / rho |")
    print("|---|---|---|---|---|")
    for alpha in [float(a) for a in args.alphas.split(",")]:
        results, test, scores = train_and_score(
            {"topk.successive_halving.alpha": str(alpha)},
            args.epochs,
            tuple(int(f) for f in args.folds.split(",")),
        )
        m, r = results["mean"], results["baselines"]["random"]
        print(
            f"| {alpha:g} | {100 * m['f1']:.1f} | {m['spearman_rho']:.3f} "
            f"| {fidelity(test, scores, alpha):.3f} "
            f"| {100 * r['f1']:.1f} / {r['spearman_rho']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
