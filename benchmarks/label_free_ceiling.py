"""How much a scorer without labels can gain over the collection contrast on the synthetic data.

    python -m benchmarks.label_free_ceiling [--data-seeds=1,2,3] [--folds=0,1,2,3,4]
        [--out=docs]

On every synthetic table (category and stock families, TVSum and SumMe sizes), for each
generator seed and fold, the test videos are scored by:

* ``contrast``: the collection contrast (``csum.model.contrast``, the fold's frozen projector,
  the training videos' windows), the input of every CSUM backbone;
* ``kind ceiling``: each shot's latent kind at its importance mid-range
  (``csum.data.synthetic.shot_kinds``), every clip of a kind tied. The generator draws a
  shot's importance uniformly inside its kind's range, independently of everything a
  model sees, so the kind is all a scorer without labels can know, and the kind's
  expected importance, ties and all, is the best guess for a rank correlation (any order
  inside a kind is noise: it adds variance to the predicted ranks and no covariance);
* ``kind order, contrast inside``: the kinds in the same order, the clips of a kind
  ordered by the contrast: what the contrast's own ranking loses against the ceiling is
  its order across kinds (this row minus ``contrast``) and its order inside them (the
  ceiling minus this row);
* ``oracle`` (the users' mean scores, ``gtscore``) and ``random``;
* how the contrast becomes a keyshot summary (the evaluation is the standard one in every
  row): its quantiles (``csum.metrics.evaluation.as_quantiles``, what ``eval.scores=rank`` gives
  the knapsack), quantiles after a Gaussian smoothing (sigma 1 step, as Pang et al.'s
  code), quantiles of each shot's mean contrast, and the raw contrast values;
* ``contrast, content graph``: the contrast propagated over a graph of the video's clips
  by their features (each clip's 5 most similar clips by cosine, symmetric normalised
  weights S, ``c' = (1 - a)(I - a S)^-1 c`` with a = 0.5; Zhou et al., NeurIPS 2004): a
  label-free way to flatten the scores of clips of like content, which the ceiling rewards.

The gap between ``contrast`` and ``kind ceiling`` is all that training without labels can
add on this data. Validation draws only (generator seeds 1-3 by default; the tables use 0).
F1 % (the standard keyshot protocol) and Otani's Spearman rho, mean ± std over generator
seeds of the fold means. Writes ``label_free_ceiling.{md,json}``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from experiments.cli import make_parser, run_command, write_report
from experiments.config_loader import apply_overrides, load_config
from experiments.study import parse_seeds

TABLES = (("tvsum", "category"), ("tvsum", "stock"), ("summe", "category"), ("summe", "stock"))
ROWS = (
    "random",
    "contrast",
    "contrast, Gaussian sigma 1",
    "contrast, shot means",
    "contrast, raw values",
    "contrast, content graph",
    "kind order, contrast inside",
    "kind ceiling",
    "oracle",
)


def content_graph(c: np.ndarray, x: np.ndarray, k: int = 5, a: float = 0.5) -> np.ndarray:
    """The scores ``c`` [T] propagated over the k-nearest-neighbour graph of the clips'
    features ``x`` [T, D] (cosine of the centred features, negative similarities cut to 0,
    the graph made symmetric): ``(1 - a) (I - a D^-1/2 W D^-1/2)^-1 c`` (Zhou et al. 2004)."""
    x = x - x.mean(0)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
    sim = x @ x.T
    T = len(c)
    k = min(k, T - 1)
    np.fill_diagonal(sim, -np.inf)  # not a neighbour of itself, whatever ties there are
    near = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(T), k)
    w = np.zeros((T, T))
    w[rows, near.ravel()] = np.maximum(sim[rows, near.ravel()], 0.0)
    w = np.maximum(w, w.T)
    d = np.maximum(w.sum(1), 1e-8)
    s = w / np.sqrt(d[:, None] * d[None, :])
    return np.linalg.solve(np.eye(T) - a * s, (1 - a) * c)


def fold_rows(
    dataset: str, family: str, data_seed: int, fold: int, synthetic_dir: str = "~/.cache/csum"
) -> dict[str, dict]:
    """The four scorers' mean metrics on one fold's test videos."""
    import jax.numpy as jnp

    from csum.data.batching import default_buckets
    from csum.data.records import cast_features
    from csum.data.splits import default_split_file, load_splits
    from csum.data.synthetic import KIND_MIDPOINT, PRESETS, shot_kinds
    from csum.metrics.evaluation import as_quantiles, evaluate_video, mean_metrics
    from csum.model.summarizer import ModelSpec, build_summarizer
    from csum.summarization import experiment
    from csum.summarization.baselines import random_baseline
    from csum.summarization.data import load_dataset

    word = "stock" if family == "stock" else "synthetic"
    config = load_config(f"{dataset}_msva:{word},small")
    apply_overrides(
        config, {"data.synthetic_seed": str(data_seed), "data.synthetic_dir": str(synthetic_dir)}
    )
    data = {
        v.key: v
        for v in cast_features(list(load_dataset(config).values()), jnp.dtype(config.compute_dtype))
    }
    folds = load_splits(default_split_file(dataset), set(data))
    train_keys, val_keys = experiment.split_validation(
        list(folds[fold]["train_keys"]), config.train.val_fraction, config.seed, fold
    )
    train, val = [data[k] for k in train_keys], [data[k] for k in val_keys]
    test = [data[k] for k in folds[fold]["test_keys"]]
    buckets = default_buckets(max(v.n_steps for v in data.values()))
    model = build_summarizer(
        ModelSpec.from_config(config), (*train[0].dims, 1), seed=config.seed + fold
    )
    _, _, test = experiment.add_contrast(config, model, train, val, test, buckets, None)
    spec = dataclasses.replace(
        PRESETS[dataset], family=family, **dict(config.data.synthetic_overrides)
    )
    kinds = shot_kinds(spec, data_seed)
    mode, ratio = config.eval.f1_mode, config.topk.ratio
    rows = {name: [] for name in ROWS[1:]}
    for v in test:
        c = np.asarray(v.features[-1][:, 0], np.float64)
        shot = np.searchsorted(np.asarray(v.change_points)[:, 1], np.asarray(v.picks))
        kind = np.array([KIND_MIDPOINT[k] for k in kinds[v.key]])[shot]
        # the contrast only orders the clips inside a kind: its spread is << the kinds' gaps
        ordered = kind + 1e-3 * (c - c.min()) / max(np.ptp(c), 1e-12)
        x = np.concatenate([np.asarray(f, np.float64) for f in v.features[:-1]], axis=1)
        means = np.bincount(shot, weights=c) / np.maximum(np.bincount(shot), 1)
        for name, s in (
            ("contrast", as_quantiles(c)),
            ("contrast, Gaussian sigma 1", as_quantiles(gaussian_filter1d(c, 1.0))),
            ("contrast, shot means", as_quantiles(means[shot] + 1e-6 * c)),
            ("contrast, raw values", c),
            ("contrast, content graph", as_quantiles(content_graph(c, x))),
            ("kind order, contrast inside", as_quantiles(ordered)),
            ("kind ceiling", as_quantiles(kind)),
            ("oracle", np.asarray(v.gtscore, np.float64)),
        ):
            rows[name].append(evaluate_video(s, v, mode, ratio))
    out = {name: mean_metrics(r) for name, r in rows.items()}
    out["random"] = random_baseline(test, mode, ratio, seeds=config.eval.random_seeds)["mean"]
    return out


def measure(data_seeds: list[int], folds: list[int], synthetic_dir: str = "~/.cache/csum") -> dict:
    """``{table: {row: {metric_mean, metric_std}}}`` over generator seeds (fold means)."""
    out = {}
    for dataset, family in TABLES:
        per_seed = {name: [] for name in ROWS}
        for seed in data_seeds:
            fold_means = [fold_rows(dataset, family, seed, f, synthetic_dir) for f in folds]
            for name in ROWS:
                per_seed[name].append(
                    {
                        m: float(np.mean([r[name][m] for r in fold_means]))
                        for m in ("f1", "spearman_rho")
                    }
                )
        table = {}
        for name in ROWS:
            table[name] = {}
            for m in ("f1", "spearman_rho"):
                values = [r[m] for r in per_seed[name]]
                table[name][f"{m}_mean"] = float(np.mean(values))
                table[name][f"{m}_std"] = float(np.std(values))
        out[f"{dataset}_{family}"] = table
        print(f"label_free_ceiling: {dataset} {family} done", flush=True)
    return out


def markdown(result: dict, data_seeds: list[int], folds: list[int]) -> str:
    head = "| scorer | " + " | ".join(f"{t} F1 % / rho" for t in result) + " |"
    lines = [
        f"Label-free ceiling on the synthetic data (generator seeds {data_seeds}, folds "
        f"{folds}, small videos; mean ± std over generator seeds)",
        "",
        head,
        "|" + "---|" * (len(result) + 1),
    ]
    for name in ROWS:
        cells = [
            f"{100 * t[name]['f1_mean']:.1f} ± {100 * t[name]['f1_std']:.1f} / "
            f"{t[name]['spearman_rho_mean']:.3f} ± {t[name]['spearman_rho_std']:.3f}"
            for t in result.values()
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    gap = [
        f"{100 * (t['kind ceiling']['f1_mean'] - t['contrast']['f1_mean']):+.1f} / "
        f"{t['kind ceiling']['spearman_rho_mean'] - t['contrast']['spearman_rho_mean']:+.3f}"
        for t in result.values()
    ]
    lines.append("| room left to training (ceiling - contrast) | " + " | ".join(gap) + " |")
    return "\n".join(lines)


def build_parser():
    parser = make_parser("python -m benchmarks.label_free_ceiling", __doc__, overrides=False)
    parser.add_argument(
        "--data-seeds",
        default="1,2,3",
        metavar="1,2,3",
        help="synthetic generator seeds (validation draws)",
    )
    parser.add_argument("--folds", default="0,1,2,3,4", metavar="0,1,2,3,4")
    parser.add_argument(
        "--out", default="docs", metavar="DIR", help="where label_free_ceiling.{md,json} go"
    )
    parser.add_argument(
        "--synthetic-dir",
        default="~/.cache/csum",
        metavar="DIR",
        help="where the synthetic data are generated and cached",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    def body(args, _overrides) -> int:

        seeds, folds = parse_seeds(args.data_seeds), parse_seeds(args.folds)
        if max(folds) > 4:
            from experiments.config_loader import ConfigError

            raise ConfigError(f"--folds={args.folds!r}: the splits have folds 0-4")
        result = measure(seeds, folds, args.synthetic_dir)
        write_report(
            Path(args.out) / "label_free_ceiling",
            markdown(result, seeds, folds),
            {"data_seeds": seeds, "folds": folds, "tables": result},
        )
        return 0

    raise SystemExit(run_command(build_parser(), argv, body))


if __name__ == "__main__":
    main()
