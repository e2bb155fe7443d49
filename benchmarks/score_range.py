"""How spread out are a trained backbone's scores? Quantiles and saturation, per run.

    python -m benchmarks.score_range WORKDIR [WORKDIR ...] [--videos=10]

For each run's fold-0 checkpoint, the backbone scores the first ``--videos`` videos of the
run's data set (evaluation mode), and the table gives the pooled quantiles of the scores,
the share of clips whose score rounds to 1 at four decimals (a saturated sigmoid: its
pairwise top-k weights are 1/2 and its gradient vanishes) and the mean per-video Spearman
rho against ``gtscore``.
"""

from __future__ import annotations

import json
from pathlib import Path

import ml_collections
import numpy as np
from scipy.stats import spearmanr

from csum.data.batching import default_buckets
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.summarization.data import load_dataset
from csum.training.checkpoint import Checkpointer
from csum.training.optim import OptimizerSpec, make_optimizer_for
from csum.training.predict import predict_scores
from experiments.cli import make_parser
from experiments.configs.common import make


def load_run_config(run: Path) -> ml_collections.ConfigDict:
    """A run's resolved config, with fields that later versions added at their defaults."""
    saved = json.loads((run / "config.json").read_text())
    base = make(saved["data"]["dataset"], saved["backbone"]["name"], None).to_dict()

    def merge(default, value):
        if isinstance(default, dict) and isinstance(value, dict):
            return {
                k: merge(default.get(k), value.get(k, default.get(k))) for k in {**default, **value}
            }
        return value

    resolved = merge(base, saved)
    if "scores" not in saved.get("topk", {}):  # written before topk.scores: raw scores
        resolved["topk"]["scores"] = "raw"
    return ml_collections.ConfigDict(resolved)


def main() -> None:
    parser = make_parser("python -m benchmarks.score_range", __doc__, overrides=False)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--videos", type=int, default=10)
    args = parser.parse_args()
    print("| run | q10 | median | q90 | max | share >= 0.99995 | rho vs gtscore |")
    print("|---|---|---|---|---|---|---|")
    for run in map(Path, args.runs):
        config = load_run_config(run)
        videos = list(load_dataset(config).values())[: args.videos]
        model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=config.seed)
        Checkpointer(run / "fold_0" / "checkpoints").restore(
            model, make_optimizer_for(OptimizerSpec.from_config(config), model)
        )
        buckets = default_buckets(max(v.n_steps for v in videos))
        scores = predict_scores(model.backbone, videos, 8, buckets)
        pooled = np.concatenate([scores[v.key] for v in videos])
        q = np.quantile(pooled, [0.1, 0.5, 0.9, 1.0])
        rho = np.mean([spearmanr(scores[v.key], v.gtscore)[0] for v in videos])
        print(
            f"| {run} | {q[0]:.4f} | {q[1]:.4f} | {q[2]:.4f} | {q[3]:.4f} | "
            f"{np.mean(pooled >= 0.99995):.2f} | {rho:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
