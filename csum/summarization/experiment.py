"""A whole cross-validated experiment: data, folds, training, evaluation, results.json.

Everything a run writes lives under ``config.workdir``: the resolved ``config.json``,
``metrics.jsonl`` (one line per epoch per fold), ``fold_i/checkpoints``,
``fold_i/result.json`` (a finished fold is never trained again) and ``results.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from csum.data.batching import default_buckets
from csum.data.errors import DataError
from csum.data.records import Video, cast_features
from csum.data.splits import default_split_file, load_splits, make_splits
from csum.metrics.evaluation import (
    METRICS,
    as_quantiles,
    evaluate_video,
    mean_metrics,
    parse_protocol,
)
from csum.model import contrast
from csum.model.summarizer import build_summarizer
from csum.summarization import baselines, collection
from csum.summarization.data import dataset_path, load_dataset, load_others, resolve_f1_mode
from csum.summarization.phases import resolved
from csum.summarization.report import run_title
from csum.training import distributed, rundir
from csum.training.predict import predict_scores
from csum.training.spec import TrainSpec
from csum.training.step import make_train_step
from csum.training.trainer import train_fold


def check_workdir(config, workdir: Path) -> None:
    """Writes the resolved config, or refuses to mix a run with a different one (one
    ``DataError`` line naming the folder)."""
    try:
        rundir.write_config(workdir, resolved(config))
    except rundir.RunConfigError as err:
        raise DataError(workdir, str(err).removeprefix(f"{workdir}: ")) from None


def split_validation(keys: list[str], fraction: float, seed: int, fold: int):
    """Holds out ``round(fraction * len(keys))`` training videos (at least one when
    fraction > 0) for per-epoch validation; the draw is a function of (seed, fold).

    Returns:
        (train keys, validation keys), each in the order of ``keys``.
    """
    n_val = max(1, round(fraction * len(keys))) if fraction > 0 else 0
    if n_val >= len(keys):
        raise ValueError(
            f"train.val_fraction={fraction} leaves no training video ({len(keys)} in the split)"
        )
    rng = np.random.default_rng([seed, fold, 7919])
    held = set(rng.choice(len(keys), n_val, replace=False).tolist())
    return (
        [k for i, k in enumerate(keys) if i not in held],
        [k for i, k in enumerate(keys) if i in held],
    )


def resolve_score_form(config) -> str:
    """``eval.scores=auto``: quantiles (``csum.metrics.evaluation.as_quantiles``) when the model was
    trained only to rank (the CSUM regime with ``topk.scores=standardized``), its raw
    scores otherwise (the supervised regime regresses the ground truth's scale)."""
    if config.eval.scores != "auto":
        return config.eval.scores
    ranks_only = config.train.regime == "csum" and config.topk.scores == "standardized"
    return "rank" if ranks_only else "raw"


def model_scores(config, model, videos: list[Video], buckets) -> dict[str, np.ndarray]:
    """The trained model's step scores of ``videos`` in the form the evaluation uses
    (``eval.scores``)."""
    scores = predict_scores(model.backbone, videos, config.eval.batch_size, buckets)
    if resolve_score_form(config) == "rank":
        scores = {key: as_quantiles(s) for key, s in scores.items()}
    return scores


def make_validator(config, videos: list[Video], buckets) -> Callable | None:
    """``validate(model) -> {"val_f1", "val_kendall_tau", "val_spearman_rho"}`` on
    held-out training videos (never the test fold), or None without any."""
    if not videos:
        return None
    protocol = parse_protocol(config.eval.protocol)

    def validate(model) -> dict[str, float]:
        scores = model_scores(config, model, videos, buckets)
        rows = [
            evaluate_video(scores[v.key], v, config.eval.f1_mode, config.topk.ratio, protocol)
            for v in videos
        ]
        return {f"val_{k}": v for k, v in mean_metrics(rows).items()}

    return validate


def add_contrast(config, model, train, val, test, buckets, folder: Path | None):
    """The fold's videos with their collection contrast as a last source
    (``csum.model.contrast.attach``): the index is fit on ``train`` with the fold's frozen
    projector and saved in ``folder`` (None: not saved, e.g. on a process other than the
    first)."""
    return contrast.attach(
        model,
        train,
        (val, test),
        config.eval.batch_size,
        buckets,
        config.loss.tau,
        [folder] if folder is not None else [],
    )


def run_stream(
    config, workdir: Path, on_epoch_end: Callable[[int, int], None] | None = None
) -> dict:
    """``data.stream=true``: CSUM on the collection of ``data.file`` (one h5 file or a glob
    of shards), read a batch at a time (``csum.summarization.collection``)."""
    collection.check_stream(config)
    source = collection.stream_source(config)
    check_workdir(config, workdir)
    spec = TrainSpec.from_config(config)
    rundir.write_model(workdir, source.dims, spec.model, spec.optimizer, spec.seed)
    buckets = default_buckets(int(source.lengths().max()), spec.bucket_quantum, spec.bucket_growth)
    try:
        return collection.train_collection(
            config, spec, source, source.dims, buckets, workdir, make_train_step(spec), on_epoch_end
        )
    finally:
        source.close()


def run_experiment(
    config, on_epoch_end: Callable[[int, int], None] | None = None, allow_unlabelled: bool = False
) -> dict:
    """Trains and evaluates every configured fold; writes and returns results.json's dict.

    With ``allow_unlabelled`` a data file without user summaries is accepted: CSUM is
    trained on the whole collection and nothing is evaluated (``csum.summarization.collection``).
    """
    workdir = Path(config.workdir).expanduser()
    if config.data.stream:
        return run_stream(config, workdir, on_epoch_end)
    protocol = parse_protocol(config.eval.protocol)
    dataset = load_dataset(config, optional_labels=allow_unlabelled)
    unlabelled = collection.is_unlabelled(dataset)
    if unlabelled:
        collection.check_unlabelled(config, dataset_path(config))
    others = load_others(config)
    if config.train.regime != "csum":
        unlabelled = [v.key for v in [*dataset.values(), *others.values()] if v.gtscore is None]
        if unlabelled:
            regime = config.train.regime
            raise DataError(
                dataset_path(config),
                f"train.regime={regime} needs gtscore for every video; {len(unlabelled)} have none",
                video=unlabelled[0],
                key="gtscore",
            )
    stored = cast_features(list(dataset.values()), jnp.dtype(config.compute_dtype))
    dataset = {v.key: v for v in stored}
    in_dims = next(iter(dataset.values())).dims
    for v in others.values():
        if v.dims != in_dims:
            raise DataError(
                v.key.split("/")[0],
                f"feature sizes {v.dims}, but the data set's are {in_dims}",
                video=v.key,
            )
    others = {
        v.key: v for v in cast_features(list(others.values()), jnp.dtype(config.compute_dtype))
    }
    # What "auto" stands for is resolved into the run's own copy (and its config.json);
    # the caller's config is not changed.
    config = config.copy_and_resolve_references()
    if config.eval.f1_mode == "auto":  # what the file holds decides
        config.eval.f1_mode = resolve_f1_mode(dataset.values())
    config.eval.scores = resolve_score_form(config)
    generated = bool(config.data.file) and not config.data.splits and not unlabelled
    if unlabelled:
        split_file, folds, chosen = None, [], []
    elif generated:  # a user's file: MSVA's protocol (5 random non-overlapping folds), seed 0
        split_file = workdir / "splits.json"
        folds = make_splits(dataset, n_folds=min(5, len(dataset)))
    else:
        split_file = config.data.splits or default_split_file(config.data.dataset)
        folds = load_splits(split_file, set(dataset))
    if not unlabelled:
        chosen = list(config.data.folds) if config.data.folds else list(range(len(folds)))
        if any(not 0 <= f < len(folds) for f in chosen):
            raise DataError(split_file, f"data.folds {chosen} out of range (file has {len(folds)})")
    check_workdir(config, workdir)
    primary = distributed.is_primary()  # one process writes the files
    if generated and primary:
        split_file.write_text(json.dumps(folds, indent=1) + "\n")
    if config.backbone.contrast_input:  # the collection contrast: a last, one-wide source
        in_dims = (*in_dims, 1)
    spec = TrainSpec.from_config(config)
    rundir.write_model(workdir, in_dims, spec.model, spec.optimizer, spec.seed)
    buckets = default_buckets(
        max(v.n_steps for v in [*dataset.values(), *others.values()]),
        spec.bucket_quantum,
        spec.bucket_growth,
    )
    step_fn = make_train_step(spec)
    if unlabelled:
        return collection.train_collection(
            config, spec, dataset, in_dims, buckets, workdir, step_fn, on_epoch_end
        )
    fold_results = []
    for f in chosen:
        result_path = workdir / f"fold_{f}" / "result.json"
        if result_path.is_file():
            fold_results.append(json.loads(result_path.read_text()))
            continue
        own = [] if config.data.setting == "transfer" else list(folds[f]["train_keys"])
        train_keys, val_keys = split_validation(
            own + sorted(others), config.train.val_fraction, config.seed, f
        )
        pool = {**dataset, **others}
        train = [pool[k] for k in train_keys]
        val = [pool[k] for k in val_keys]
        test = [dataset[k] for k in folds[f]["test_keys"]]
        model = build_summarizer(spec.model, in_dims, seed=config.seed + f)
        if config.backbone.contrast_input:
            train, val, test = add_contrast(
                config, model, train, val, test, buckets, workdir / f"fold_{f}" if primary else None
            )
        validate = make_validator(config, val, buckets)
        records = train_fold(
            spec, model, train, f, workdir, step_fn, buckets, on_epoch_end, validate=validate
        )
        scores = model_scores(config, model, test, buckets)
        rows = [
            evaluate_video(scores[v.key], v, config.eval.f1_mode, config.topk.ratio, protocol)
            for v in test
        ]
        result = {
            "fold": f,
            "n_train": len(train),
            "n_val": len(val),
            "n_test": len(test),
            **mean_metrics(rows),
            "baselines": baselines.baseline_metrics(config, test),
            "final_loss": records[-1]["loss"] if records else None,
        }
        if primary:
            result_path.write_text(json.dumps(result, indent=2) + "\n")
        fold_results.append(result)
    names = [
        n
        for n in ("random", "uniform", "oracle", "contrast")
        if all(n in r["baselines"] for r in fold_results)
    ]
    mean = mean_metrics([{k: r[k] for k in METRICS} for r in fold_results])
    rows = {name: mean_metrics([r["baselines"][name] for r in fold_results]) for name in names}
    results = {
        "config": run_title(config),
        "folds": [{k: r[k] for k in ("fold", *METRICS)} for r in fold_results],
        "mean": mean,
        "baselines": rows,
        "oracle_share": baselines.oracle_share(mean, rows),
        "units": "fractions (F1 in [0, 1]; tau and rho in [-1, 1])",
        "f1_mode": protocol.f1_mode or config.eval.f1_mode,
        "protocol": protocol.name,
        "split_file": str(split_file),
    }
    if primary:
        (workdir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results
