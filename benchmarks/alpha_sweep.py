"""Sweep of the successive-halving sharpness alpha (``topk.successive_halving.alpha``).

    python -m benchmarks.alpha_sweep [--alphas 5,20,50,200] [--epochs 6] [--folds 0,1]

Trains CSUM-MSVA on a *validation* draw of the synthetic TVSum-like data (synthetic seed 1,
small videos: not the seed-0 data the README reports) for each alpha and prints F1 and
Spearman rho, plus the mean relative L2 gap between the soft and the exact top-k features
of the trained model's scores on the test videos (paper Fig. 8's fidelity measure).
"""

from __future__ import annotations

import argparse
import math
import tempfile

import jax.numpy as jnp
import numpy as np
from flax import nnx

from csum import topk
from csum.checkpoint import Checkpointer
from csum.data.splits import default_split_file, load_splits
from csum.experiment import load_dataset, run_experiment
from csum.model import build_summarizer
from csum.predict import predict_scores
from csum.train import make_optimizer
from experiments.config_loader import apply_overrides, load_config


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alphas", default="5,20,50,200")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--folds", default="0,1")
    args = parser.parse_args()
    print("| alpha | F1 % | Spearman rho | soft/hard top-k gap | random F1 % / rho |")
    print("|---|---|---|---|---|")
    for alpha in [float(a) for a in args.alphas.split(",")]:
        with tempfile.TemporaryDirectory() as workdir:
            config = load_config("tvsum_msva:synthetic,quick")
            apply_overrides(config, {
                "workdir": workdir, "data.synthetic_seed": "1", "train.epochs": str(args.epochs),
                "data.folds": f"({args.folds},)", "topk.successive_halving.alpha": str(alpha),
                "train.progress": "false",
            })  # fmt: skip
            results = run_experiment(config)
            # fidelity on fold 0's test videos, with fold 0's trained model from its checkpoint
            dataset = load_dataset(config)
            fold = load_splits(default_split_file("tvsum"), set(dataset))[0]
            test = [dataset[k] for k in fold["test_keys"]]
            model = build_summarizer(config, test[0].dims, seed=config.seed)
            opt = nnx.Optimizer(model, make_optimizer(config), wrt=nnx.Param)
            Checkpointer(f"{workdir}/fold_0/checkpoints").restore(model, opt)
            scores = predict_scores(model.backbone, test, 8, [64 * i for i in range(1, 40)])
        m, r = results["mean"], results["baselines"]["random"]
        print(f"| {alpha:g} | {100 * m['f1']:.1f} | {m['spearman_rho']:.3f} "
              f"| {fidelity(test, scores, alpha):.3f} "
              f"| {100 * r['f1']:.1f} / {r['spearman_rho']:.3f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
