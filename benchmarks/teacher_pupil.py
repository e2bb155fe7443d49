"""The objective (teacher) against the backbone it trains (pupil), on training and new videos.

    python -m benchmarks.teacher_pupil [--config=tvsum_msva:synthetic] [--seed-data=1] [--fold=0]
        [--out=docs] [--config.a.b=V ...]

One fold of a synthetic category-family data set (by default the validation draw,
generator seed 1; no test fold is read for any choice). Each row is a clip scorer, judged
against the synthetic truth on the fold's training or test videos:

* ``AUC event>backdrop``: how often a clip of the video's own events (gtscore >= 0.7, the
  generator's event range 0.7-0.95 averaged over annotators) outscores a clip of its
  category's backdrop (0.3 < gtscore < 0.65): the distinction CSUM's hypothesis is about;
* ``rho``: Spearman's rho with the users' mean scores (mean over videos).

Rows:

* ``teacher (train)``: the per-clip window loss, negated, of the training videos against
  the training collection (``csum.model.contrast.fit``): what CSUM trains on;
* ``pupil (train)`` / ``pupil (test)``: the backbone trained by CSUM *without* the
  contrast input (``backbone.contrast_input=false``), on the training and the test videos;
* ``contrast (test)``: the collection contrast of each test video (the training windows
  plus its own, ``csum.model.contrast.channels``): the teacher's signal on new videos, which
  ``backbone.contrast_input`` gives the backbone.

A pupil much better on training than on test videos has learned *which* training clips
are distinctive, not *what makes* a clip distinctive. Writes ``teacher_pupil.{md,json}``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu, spearmanr

from csum.data.batching import default_buckets
from csum.data.splits import default_split_file, load_splits
from csum.model import contrast
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.summarization.data import load_dataset
from csum.summarization.experiment import model_scores, resolve_score_form, split_validation
from csum.training.spec import TrainSpec
from csum.training.step import make_train_step
from csum.training.trainer import train_fold
from experiments.cli import make_parser, run_command, write_report
from experiments.config_loader import ConfigError
from experiments.run import prepare

EVENT, BACKDROP = 0.7, (0.3, 0.65)
"""gtscore ranges of the synthetic category family's events and backdrop."""


def event_auc(scores: np.ndarray, gtscore: np.ndarray) -> float:
    """P(an event clip outscores a backdrop clip), ties counting half; NaN without both."""
    event = gtscore >= EVENT
    backdrop = (gtscore > BACKDROP[0]) & (gtscore < BACKDROP[1])
    if not event.any() or not backdrop.any():
        return float("nan")
    u = mannwhitneyu(scores[event], scores[backdrop]).statistic
    return float(u / (event.sum() * backdrop.sum()))


def judge(scores: dict[str, np.ndarray], videos) -> dict[str, float]:
    """Mean event AUC and Spearman rho of per-video ``scores`` over ``videos``."""
    auc = [event_auc(np.asarray(scores[v.key]), np.asarray(v.gtscore)) for v in videos]
    rho = [spearmanr(scores[v.key], v.gtscore).correlation for v in videos]
    return {"auc": float(np.nanmean(auc)), "rho": float(np.nanmean(rho))}


def measure(config, fold: int) -> dict[str, dict[str, float]]:
    """Trains the pupil on one fold and judges the four scorers (see the module doc)."""
    dataset = load_dataset(config)
    if any(v.gtscore is None for v in dataset.values()):
        raise ConfigError(f"{config.data.dataset}: teacher_pupil needs gtscore on every video")
    config.eval.scores = resolve_score_form(config)
    folds = load_splits(default_split_file(config.data.dataset), set(dataset))
    train_keys, _ = split_validation(
        list(folds[fold]["train_keys"]), config.train.val_fraction, config.seed, fold
    )
    train = [dataset[k] for k in train_keys]
    test = [dataset[k] for k in folds[fold]["test_keys"]]
    buckets = default_buckets(max(v.n_steps for v in dataset.values()))
    model = build_summarizer(ModelSpec.from_config(config), train[0].dims, seed=config.seed + fold)
    model.eval()  # the teacher: the fold's frozen projector, before any training
    index, teacher = contrast.fit(model, train, config.eval.batch_size, buckets, config.loss.tau)
    on_test = contrast.channels(model, index, test, config.eval.batch_size, buckets)
    model.train()
    spec = TrainSpec.from_config(config)
    with tempfile.TemporaryDirectory() as workdir:
        train_fold(spec, model, train, fold, Path(workdir), make_train_step(spec), buckets)
    return {
        "teacher (train)": judge(teacher, train),
        "pupil (train)": judge(model_scores(config, model, train, buckets), train),
        "pupil (test)": judge(model_scores(config, model, test, buckets), test),
        "contrast (test)": judge(on_test, test),
    }


def body(args, overrides: dict[str, str]) -> int:

    overrides = {
        "data.synthetic_seed": str(args.seed_data),
        "train.progress": "false",
        "backbone.contrast_input": "false",
        **overrides,
    }
    config = prepare(args.config, overrides)
    rows = measure(config, args.fold)
    lines = [
        f"Teacher and pupil: {args.config}, synthetic seed {args.seed_data}, fold "
        f"{args.fold} ({config.train.epochs} epochs)",
        "",
        "| scorer (videos) | AUC event>backdrop | rho |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {r['auc']:.3f} | {r['rho']:.3f} |" for name, r in rows.items()]
    write_report(
        Path(args.out) / "teacher_pupil",
        "\n".join(lines),
        {"config": args.config, "seed_data": args.seed_data, "fold": args.fold, "rows": rows},
    )
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = make_parser("python -m benchmarks.teacher_pupil", __doc__)
    parser.add_argument(
        "--config",
        default="tvsum_msva:synthetic",
        help="named config (the synthetic category family)",
    )
    parser.add_argument("--seed-data", type=int, default=1, help="synthetic generator seed")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--out", default="docs")
    raise SystemExit(run_command(parser, argv, body))


if __name__ == "__main__":
    main()
