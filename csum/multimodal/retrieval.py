"""One query-based run: moment retrieval and highlight detection on QVHighlights-format data.

The task of ``004_…`` (and of UMT, Moment-DETR): given a video and a text query, rank the
video's 2-second clips by their relevance to the query (highlight detection) and predict
the windows the query describes (moment retrieval). A run here (``config.queries``):

1. reads the ``train`` and ``val`` annotation files with their clip and text features
   (``csum.highlights.queries.read_queries``; the built-in synthetic set,
   ``csum.multimodal.synthetic``, when ``data.synthetic``) and makes each query a
   ``Video`` with the ``query`` stream and ``saliency`` / ``moments`` targets;
2. trains by ``queries.regime``: ``query`` (the system's own loss,
   ``csum.objectives.multimodal.query_loss``), ``finetuned`` (CSUM's contrastive
   pre-training without labels, then that loss), ``csum`` (no labels at all: the scores
   are the highlights, no moments) or ``saliency`` (a query-free backbone trained on the
   same clips' saliency: the baseline that cannot know which query it answers);
3. writes ``predictions_{regime}.jsonl`` in the QVHighlights submission format (the top
   ``queries.windows`` moments of each query, the saliency of every clip) and evaluates it
   with ``csum.highlights.qvhighlights.evaluate`` (what ``experiments.evaluate
   --format=qvhighlights`` prints), beside the same metrics of random predictions.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from flax import nnx

from backbones.registry import outputs
from csum.data.batching import default_buckets, eval_batches
from csum.data.errors import DataError, synthetic_hint
from csum.data.records import cast_features
from csum.highlights.queries import read_queries
from csum.highlights.qvhighlights import CLIP_SECONDS, evaluate, read_jsonl
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.multimodal.synthetic import ensure as ensure_synthetic
from csum.objectives.moments import decode
from csum.summarization.phases import resolved, train_phase
from csum.training import rundir

REGIMES = ("query", "finetuned", "csum", "saliency")
"""``queries.regime``: see the module docstring."""


def load_queries(config):
    """``(train, val, val_file)``: lists of ``csum.highlights.queries.Query`` of the
    configured data and the val annotation file (the evaluation's ground truth).

    Raises:
        DataError: a missing path, file or key (one line).
    """

    q = config.queries
    if config.data.synthetic:
        paths = ensure_synthetic(
            config.data.synthetic_dir,
            seed=config.data.synthetic_seed,
            **dict(q.synthetic_overrides),
        )
        files = {"train": paths["train"], "val": paths["val"]}
        video_dirs, text_dir = [paths["video_dir"]], paths["text_dir"]
    else:
        for key in ("train", "val", "video_dir", "text_dir"):
            if not q[key]:
                raise DataError(
                    f"--config.queries.{key}", f"no path given (or {synthetic_hint(config.name)})"
                )
        files = {"train": Path(q.train).expanduser(), "val": Path(q.val).expanduser()}
        video_dirs = [Path(d).expanduser() for d in q.video_dir.split(",")]
        text_dir = Path(q.text_dir).expanduser()
    train, val = (read_queries(files[s], video_dirs, text_dir) for s in ("train", "val"))
    return train, val, files["val"]


def check_inputs(config, videos) -> None:
    """One ``DataError`` line when the backbone and the data disagree on the query stream."""
    kwargs = config.backbone.kwargs
    dim = int(videos[0].streams["query"].shape[1])
    if config.queries.regime != "saliency" and kwargs.get("query_dim", 0) != dim:
        raise DataError(
            f"qid {videos[0].key}",
            f"query tokens are {dim}-d; set "
            f"--config.backbone.kwargs.query_dim={dim} (now "
            f"{kwargs.get('query_dim', 0)})",
        )


def phases(regime: str) -> list[tuple[str, str]]:
    """``[(train.regime, phase folder)]`` of a run's regime."""
    return {
        "query": [("query", "query")],
        "csum": [("csum", "csum")],
        "finetuned": [("csum", "csum"), ("query", "finetuned")],
        "saliency": [("saliency", "saliency")],
    }[regime]


def predict(config, model, videos, moments: bool = True) -> dict[str, dict]:
    """Each video's clip saliency and its top ``queries.windows`` moments (in clips).

    Args:
        config: the run's config; model: the trained Summarizer; videos: to score.
        moments: read the moment head (False: an untrained head, e.g. after CSUM alone).

    Returns:
        ``{key: {"saliency": [n] float, "windows": [[start, end, score], ...] or None}}``
        (windows: None without moments or for a backbone without a moment head).
    """

    top = int(config.queries.windows)

    @nnx.jit
    def run(backbone, features, mask, streams):
        out = outputs(backbone, features, mask, streams)
        saliency = out.scores if out.saliency is None else out.saliency
        if out.moments is None or not moments:
            return saliency, None, None
        spans, scores = decode(out.moments, mask, top)
        return saliency, spans, scores

    backbone = model.backbone
    backbone.eval()
    result = {}
    buckets = default_buckets(max(v.n_steps for v in videos))
    for group, batch in eval_batches(videos, config.eval.batch_size, buckets):
        saliency, spans, scores = (
            None if x is None else np.asarray(x, np.float64)
            for x in run(backbone, batch.features, batch.mask, batch.streams)
        )
        for b, v in enumerate(group):
            windows = None
            if spans is not None:
                keep = np.isfinite(scores[b])
                windows = [
                    [float(s), float(e), float(p)]
                    for (s, e), p in zip(spans[b][keep], scores[b][keep], strict=True)
                ]
            result[v.key] = {"saliency": saliency[b, : v.n_steps], "windows": windows}
    backbone.train()
    return result


def submission(predictions: dict[str, dict], queries) -> list[dict]:
    """QVHighlights submission rows (seconds) of ``predict``'s output."""

    rows = []
    for q in queries:
        p = predictions[str(q.qid)]
        row = {
            "qid": q.qid,
            "vid": q.vid,
            "pred_saliency_scores": [round(float(x), 5) for x in p["saliency"]],
        }
        if p["windows"] is not None:
            row["pred_relevant_windows"] = [
                [round(CLIP_SECONDS * s, 4), round(CLIP_SECONDS * e, 4), round(score, 5)]
                for s, e, score in p["windows"]
                if e > s
            ] or [[0.0, CLIP_SECONDS * q.n_clips, 0.0]]
        rows.append(row)
    return rows


def random_submission(queries, rng: np.random.Generator, windows: int) -> list[dict]:
    """Random saliency and random windows (uniform centre and width), same format."""

    rows = []
    for q in queries:
        duration = CLIP_SECONDS * q.n_clips
        centre, width = rng.uniform(0, duration, windows), rng.uniform(2, duration, windows)
        spans = np.clip(np.stack([centre - width / 2, centre + width / 2], 1), 0, duration)
        rows.append(
            {
                "qid": q.qid,
                "vid": q.vid,
                "pred_relevant_windows": [
                    [float(a), float(b), float(s)]
                    for (a, b), s in zip(spans, np.sort(rng.random(windows))[::-1], strict=True)
                ],
                "pred_saliency_scores": rng.random(q.n_clips).tolist(),
            }
        )
    return rows


def run_queries(config) -> dict:
    """Trains ``config``'s regime on the training queries and evaluates the val queries.

    Returns:
        ``{"regime", "backbone", "metrics": {...}, "random": {...}, "queries", "gt"}``: the
        ``brief`` QVHighlights metrics of the run's predictions and of random ones against
        the val annotation file ``gt`` (also written to ``results_{regime}.json``).
    """

    q = config.queries
    workdir = Path(config.workdir)
    rundir.write_config(workdir, resolved(config), replace=True)
    train_q, val_q, val_file = load_queries(config)
    dtype = jnp.dtype(config.compute_dtype)
    train, val = (cast_features([x.as_video() for x in qs], dtype) for qs in (train_q, val_q))
    check_inputs(config, train)
    model = build_summarizer(ModelSpec.from_config(config), train[0].dims, seed=config.seed)
    for regime, folder in phases(q.regime):
        if regime == "csum":  # no labels: each video once, not once per query
            first = {}
            for v in train:
                first.setdefault(v.name, v)
            phase, settings = list(first.values()), None
        else:  # the supervised optimiser (queries.finetune)
            phase, settings = train, q.finetune
        model = train_phase(config, regime, phase, workdir / folder, model, settings)
    predictions = predict(config, model, val, moments=q.regime != "csum")
    rows = submission(predictions, val_q)
    with open(workdir / f"predictions_{q.regime}.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    gt = read_jsonl(val_file)
    rng = np.random.default_rng([config.seed, 3])
    result = {
        "regime": q.regime,
        "backbone": config.backbone.name,
        "metrics": evaluate(rows, gt)["brief"],
        "random": evaluate(random_submission(val_q, rng, int(q.windows)), gt)["brief"],
        "queries": len(val_q),
        "gt": str(val_file),
    }
    (workdir / f"results_{q.regime}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


BRIEF = (
    "MR-full-mAP",
    "MR-full-R1@0.5",
    "MR-full-R1@0.7",
    "HL-min-VeryGood-mAP",
    "HL-min-VeryGood-Hit1",
)
"""The metrics ``format_result`` prints (all are in ``results_{regime}.json``)."""


def format_result(result: dict) -> str:
    """The run's headline QVHighlights metrics beside random predictions'."""
    lines = [
        f"qvhighlights: {result['regime']} ({result['backbone']}), {result['queries']} val queries"
    ]
    for name in BRIEF:
        if name in result["metrics"]:
            lines.append(
                f"  {name:22s} {result['metrics'][name]:6.2f}   (random "
                f"{result['random'][name]:.2f})"
            )
    return "\n".join(lines)
