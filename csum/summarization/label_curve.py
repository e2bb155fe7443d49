"""What labels buy: held-out quality against the number of labelled training videos.

For each fold and each seed of which videos are labelled, the fold's training videos are
all available without labels (the collection contrast and CSUM pre-training see every one
of them) and the first ``n`` of a seeded permutation of them are labelled, so that the
labelled sets are nested (n = 1 is inside n = 2, ...). Each point is scored on the fold's
test videos with the standard keyshot F1 and Otani's Spearman rho:

* 0 labels: ``random`` scores, the training-free ``contrast`` (the collection contrast
  alone, ``csum.model.contrast``), and ``csum`` (the CSUM regime trained on every training
  video, no labels);
* n labels: ``supervised`` (the backbone's own regression loss from random weights, on
  the same inputs, contrast source included) and ``finetuned`` (CSUM pre-training of the
  backbone alone on every training video, then the same supervised loss on the n labelled
  videos; the ``csum`` row's residual on the contrast is not the starting point, because
  its gate bounds how far any loss can move the scores).

Training length: every labelled run takes the optimizer steps of the all-labels run
(``train.epochs`` passes over all training videos in batches of ``train.batch_size``),
spread over as many passes over its n videos as that needs (``labelled_epochs``), so that a
small labelled set is not also under-trained.

Each point is a mean over folds and label seeds with a 95 % Student-t interval
(``interval``). Every run is resumable: its phase folders keep their checkpoints and each
finished point its ``point.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from flax import nnx

from csum.data.batching import default_buckets
from csum.data.records import cast_features
from csum.data.splits import default_split_file, load_splits
from csum.metrics.evaluation import as_quantiles, evaluate_video, mean_metrics, parse_protocol
from csum.metrics.label_curves import (
    METRICS,
    curve_result,
    label_counts,
    labelled_keys,
    labelled_settings,
)
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.summarization import baselines
from csum.summarization.data import load_dataset
from csum.summarization.experiment import add_contrast, model_scores
from csum.summarization.phases import phase_config, train_phase


def run_curve(
    config,
    counts_spec: Sequence[int | str],
    label_seeds: Sequence[int],
    folds: Sequence[int],
    out: Path,
    progress=print,
) -> dict:
    """Measures every point of the curve of ``config`` (a CSUM summarization config) and
    writes ``out/label_curve.json``'s dict; finished points are read back, not rerun.

    Returns:
        ``{"config", "label_seeds", "folds", "n_train", "counts", "points", "table",
        "crossings"}``.
    """

    protocol = parse_protocol(config.eval.protocol)
    data = {
        v.key: v
        for v in cast_features(list(load_dataset(config).values()), jnp.dtype(config.compute_dtype))
    }
    split_file = config.data.splits or default_split_file(config.data.dataset)
    splits = load_splits(split_file, set(data))
    buckets = default_buckets(
        max(v.n_steps for v in data.values()),
        config.train.bucket_quantum,
        config.train.bucket_growth,
    )
    mode, ratio = config.eval.f1_mode, config.topk.ratio
    points, n_train = [], None

    def evaluate(scores, test) -> dict:
        rows = [evaluate_video(scores[v.key], v, mode, ratio, protocol) for v in test]
        return {m: float(v) for m, v in mean_metrics(rows).items()}

    for f in folds:
        train_keys = list(splits[f]["train_keys"])
        n_train = len(train_keys)
        counts = label_counts(counts_spec, n_train)
        folder = out / "runs" / f"fold_{f}"
        cached = folder / "points.json"
        if cached.is_file():
            points += json.loads(cached.read_text())
            continue
        train = [data[k] for k in train_keys]
        test = [data[k] for k in splits[f]["test_keys"]]
        base = build_summarizer(
            ModelSpec.from_config(config), (*train[0].dims, 1), seed=config.seed + f
        )
        train, _, test = add_contrast(config, base, train, [], test, buckets, folder)
        by_key = {v.key: v for v in train}
        in_dims = train[0].dims
        fold_points = []

        def add(method, n, seed, metrics, _f=f, _out=fold_points):
            _out.append({"method": method, "n": n, "seed": seed, "fold": _f, **metrics})

        rand = baselines.random_baseline(
            test, mode, ratio, protocol, seeds=config.eval.random_seeds
        )["mean"]
        add("random", 0, None, {m: rand[m] for m in METRICS})
        alone = {v.key: as_quantiles(np.asarray(v.features[-1][:, 0], np.float64)) for v in test}
        add("contrast", 0, None, evaluate(alone, test))
        csum_model = train_phase(config, "csum", train, folder / "csum", base)
        csum_config = phase_config(config, "csum", folder / "csum")
        add("csum", 0, None, evaluate(model_scores(csum_config, csum_model, test, buckets), test))
        # Fine-tuning starts from CSUM pre-training of the backbone alone, as the highlight
        # regimes do: the residual's gate bounds how far a loss can move the contrast
        # (csum.model.residual), which would hold the supervised loss near it.
        pre_config = phase_config(config, "csum", folder / "pretrained")
        with pre_config.unlocked():
            pre_config.backbone.residual = False
        pretrained = build_summarizer(
            ModelSpec.from_config(pre_config), in_dims, seed=config.seed + f
        )
        pretrained = train_phase(pre_config, "csum", train, folder / "pretrained", pretrained)
        progress(f"label_curve: fold {f}: 0 labels done")
        for seed in label_seeds:
            for n in [c for c in counts if c > 0]:  # 0 labels: the rows above
                labelled = [by_key[k] for k in labelled_keys(train_keys, n, seed, f)]
                settings = labelled_settings(
                    config.train.epochs, config.train.batch_size, n_train, n
                )
                where = folder / f"seed_{seed}" / f"n_{n}"
                sup_config = phase_config(config, "supervised", where / "supervised", settings)
                with sup_config.unlocked():
                    sup_config.backbone.residual = False  # the supervised regime's own model
                scratch = build_summarizer(
                    ModelSpec.from_config(sup_config), in_dims, seed=config.seed + f
                )
                scratch = train_phase(
                    sup_config, "supervised", labelled, where / "supervised", scratch, settings
                )
                add(
                    "supervised",
                    n,
                    seed,
                    evaluate(model_scores(sup_config, scratch, test, buckets), test),
                )
                tuned = train_phase(
                    pre_config,
                    "supervised",
                    labelled,
                    where / "finetuned",
                    nnx.clone(pretrained),
                    settings,
                )
                tune_config = phase_config(pre_config, "supervised", where / "finetuned", settings)
                add(
                    "finetuned",
                    n,
                    seed,
                    evaluate(model_scores(tune_config, tuned, test, buckets), test),
                )
                progress(f"label_curve: fold {f}, label seed {seed}: {n} labels done")
        folder.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(fold_points, indent=1) + "\n")
        points += fold_points
    return curve_result(
        config.name,
        label_seeds,
        folds,
        n_train,
        label_counts(counts_spec, n_train or 0),
        points,
        METRICS,
    )
