"""Training on an unlabelled collection: a data set without user summaries.

``experiments.summarize`` writes the videos it has processed as an eccv16 file without
``user_summary`` (``DIR/collection.h5``). ``experiments.run --config.data.file=that`` then
trains CSUM on the whole collection, with everything a run has (validated config,
checkpoints, resume, metrics.jsonl, several devices), but nothing to evaluate: there are
no folds, no validation and no test metrics. The run writes each video's scores
(``scores.json``) and can score new videos with ``experiments.summarize --model=WORKDIR``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from csum import contrast, distributed
from csum.data.errors import DataError
from csum.data.video import Video


def is_unlabelled(videos: dict[str, Video]) -> bool:
    """Whether no video has user summaries (``load_eccv16(optional_labels=True)`` has
    already refused a file that mixes labelled and unlabelled videos)."""
    return all(v.user_summary is None for v in videos.values())


def check_unlabelled(config, path) -> None:
    """What an unlabelled collection cannot do, as one line each: a labelled regime,
    other data sets, chosen folds."""
    if config.train.regime != "csum":
        regime = config.train.regime
        raise DataError(path, f"no user summaries: train.regime={regime} needs labels; an "
                        "unlabelled collection trains with train.regime=csum")  # fmt: skip
    if config.data.setting != "canonical":
        raise DataError(path, f"no user summaries: data.setting={config.data.setting} mixes "
                        "in labelled data sets; an unlabelled collection trains alone")  # fmt: skip
    if config.data.folds or config.data.splits:
        raise DataError(path, "no user summaries: an unlabelled collection has no folds "
                        "(unset data.folds and data.splits)")  # fmt: skip


def train_collection(config, videos: dict[str, Video], in_dims, buckets, workdir: Path,
                     step_fn, on_epoch_end: Callable[[int, int], None] | None = None):  # fmt: skip
    """Trains one model on every video and writes ``scores.json`` and ``results.json``.

    Args:
        config: the run's config (``train.regime=csum``).
        videos: the collection (``is_unlabelled``), base sources only.
        in_dims: the model's source sizes (with the contrast source when
            ``backbone.contrast_input``).
        buckets: padded lengths.
        workdir: the run's folder; the model is its fold 0 (``csum.load(workdir)``).
        step_fn: the jitted training step.
        on_epoch_end: progress callback.

    Returns:
        results.json's dict: ``{"config", "unlabelled": True, "n_videos", "final_loss",
        "scores"}``.
    """
    from csum.model import build_summarizer
    from csum.predict import predict_scores
    from csum.train import train_fold

    train = list(videos.values())
    model = build_summarizer(config, in_dims, seed=config.seed)
    primary = distributed.is_primary()
    if config.backbone.contrast_input:
        folders = [workdir / "fold_0"] if primary else []
        (train,) = contrast.attach(model, train, (), config.eval.batch_size, buckets,
                                   config.loss.tau, folders)  # fmt: skip
    records = train_fold(config, model, train, 0, workdir, step_fn, buckets, on_epoch_end)
    # the backbone's scores as they are (experiments.summarize ranks them for the knapsack)
    scores = predict_scores(model.backbone, train, config.eval.batch_size, buckets)
    results = {"config": config.name, "unlabelled": True, "n_videos": len(train),
               "final_loss": records[-1]["loss"] if records else None,
               "scores": "scores.json"}  # fmt: skip
    if primary:
        (workdir / "scores.json").write_text(json.dumps(
            {k: [float(x) for x in s] for k, s in scores.items()}) + "\n")  # fmt: skip
        (workdir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def format_unlabelled(results: dict, workdir) -> str:
    """What an unlabelled run printed: what it trained and how to use it."""
    loss = results["final_loss"]
    loss = "already trained" if loss is None else f"final loss {loss:.4f}"
    return (f"{results['config']}: CSUM trained on {results['n_videos']} unlabelled videos "
            f"({loss}); no labels, so no metrics. Scores: "
            f"{Path(workdir) / results['scores']}; summaries of these or other videos: "
            f"python -m experiments.summarize PATH... --model={workdir}")  # fmt: skip
