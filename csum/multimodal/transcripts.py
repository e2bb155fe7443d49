"""Videos with time-aligned transcripts: the reader, and one multimodal summarization run.

The task of A2Summ (``000_…``): from a video and its transcript, pick the key frames (a
video summary) and the key sentences (a text summary). Layout (the synthetic set's,
``csum.multimodal.synthetic.write``; real sets converted to it):

* ``video/{vid}.npz`` (``features``) or ``.npy``: [n_clips, D] clip features (2 s clips);
* ``transcripts/{vid}.json``: the sentences, ``[{"start": s, "end": s, "label": 0/1,
  "text": "..."}, ...]`` in seconds (``label``: the sentence belongs in the text summary;
  ``text``: its words, for ROUGE); ``transcripts/{vid}.npy``: [n_sentences, D_t] sentence
  features, in the same order;
* ``labels.json``: ``{vid: {"gtscore": [per clip], "shots": [[start, end), ...]}}``;
* ``splits.json``: ``{"train": [vid], "val": [vid]}``.

A run (``config.transcripts``) trains by ``transcripts.regime``: the system's own loss
(``a2summ`` or ``mhms``, ``csum.objectives.multimodal``), ``finetuned`` (CSUM pre-training
without labels, then that loss), ``csum`` (no labels), or ``supervised`` (a video-only
backbone's own loss on the same videos: the baseline without the transcript). It scores the val
videos and reports, beside random scores on the same videos:

* the video summary: the top ``transcripts.ratio`` of clips by score, its cosine similarity
  with the ground-truth summary (the mean feature of the key clips against that of the
  selected ones: A2Summ's video metric on multimodal sets, section 4.1), and the AP of the
  key clips in the score ranking;
* the text summary (a model that scores sentences): as many top-scored sentences as the
  video has key sentences, in time order, against the key sentences' text: ROUGE-1, -2
  and -L F1 (Google's ``rouge-score``);
* MHMS's cover frame (``mhms``, ``001_…`` section 5.2): its keyframe candidates (the best
  step of each predicted scene) ranked by their optimal-transport cost to its text summary
  (``csum.multimodal.mhms``): ``cover-R@1`` (the first is a key frame) and ``cover-MAP``
  (AP of the key candidates in that ranking), random: the same candidates in random order.
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
from csum.data.records import Video, cast_features
from csum.highlights.metrics import ranking_ap
from csum.highlights.queries import read_array
from csum.highlights.qvhighlights import CLIP_SECONDS
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.multimodal.mhms import alignment_costs, candidates, scene_ends, segments, text_ends
from csum.multimodal.synthetic import ensure as ensure_synthetic
from csum.summarization.phases import resolved, train_phase
from csum.training import rundir

REGIMES = ("a2summ", "mhms", "finetuned", "csum", "supervised")
"""``transcripts.regime``: see the module docstring."""
SYSTEMS = {"a2summ": "a2summ", "mhms": "mhms"}
"""The backbones that read the transcript, and the loss each trains by (its own)."""


def check_regime(config) -> None:
    """Raises ValueError (one line) when ``transcripts.regime`` does not fit the backbone:
    a system's own loss on another backbone, or ``finetuned`` without a system."""
    regime, own = config.transcripts.regime, SYSTEMS.get(config.backbone.name)
    if (regime in SYSTEMS and regime != own) or (regime == "finetuned" and not own):
        raise ValueError(
            f"--config.transcripts.regime={regime!r} needs the backbone "
            f"{regime if regime in SYSTEMS else ' or '.join(SYSTEMS)!r}, not "
            f"{config.backbone.name!r}"
        )


def _json(path: Path, what: str):
    if not path.is_file():
        raise DataError(path, f"{what} not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DataError(path, f"not JSON ({e.msg})") from None


def key_steps(gtscore: np.ndarray, share: float = 0.15) -> np.ndarray:
    """[n] bool: A2Summ's key frames, the steps whose ``gtscore`` reaches the top ``share``
    of the video's (ties included) and exceeds its minimum.

    Ties matter: a gtscore that is flat over the key scenes (the synthetic set's 1.0) keeps
    all of them, whether they hold more or less than ``share`` of the video, and the
    minimum (the background) is never key. (A keyshot knapsack at 15 % would drop a key
    scene longer than 15 % of the video and fill the budget with background shots.)
    """
    g = np.asarray(gtscore, np.float64)
    return (g >= np.quantile(g, 1 - share)) & (g > g.min())


def read_videos(root, vids) -> tuple[list[Video], dict[str, list[str]]]:
    """The videos ``vids`` of a transcript data set under ``root`` (module docstring).

    Returns:
        ``(videos, texts)``: each a ``Video`` with the ``text`` and ``text_spans`` streams
        (spans in clips), the ``text_labels`` target, its key frames (``key_steps``)
        as the ``saliency`` target and the scene and textual segment ends
        (``scene_ends``, ``text_ends``: ``csum.multimodal.mhms``); ``texts[vid]``: its
        sentences' words.

    Raises:
        DataError: a missing or malformed file, key or array (one line).
    """

    root = Path(root).expanduser()
    labels = _json(root / "labels.json", "labels file")
    videos, texts = [], {}
    for vid in vids:
        if vid not in labels or "gtscore" not in labels[vid] or "shots" not in labels[vid]:
            raise DataError(
                root / "labels.json", "no gtscore and shots for the video", video=vid, key="gtscore"
            )
        clips = read_array(root / "video", vid, "features", "clip feature", vid)
        if clips is None:
            raise DataError(root / "video" / f"{vid}.npz", "clip features not found", video=vid)
        sentences = read_array(root / "transcripts", vid, "features", "sentence feature", vid)
        rows = _json(root / "transcripts" / f"{vid}.json", "transcript")
        if sentences is None or len(sentences) != len(rows) or not rows:
            raise DataError(
                root / "transcripts" / f"{vid}.npy",
                f"expected one feature row per transcript sentence ({len(rows)})",
                video=vid,
            )
        n = len(clips)
        gtscore = np.asarray(labels[vid]["gtscore"], np.float64)
        if len(gtscore) != n:
            raise DataError(
                root / "labels.json",
                f"gtscore has {len(gtscore)} values for {n} clips",
                video=vid,
                key="gtscore",
            )
        try:
            spans = np.asarray([[r["start"], r["end"]] for r in rows], np.float64)
            sentence_labels = np.asarray([r.get("label", 0) for r in rows], np.int64)
        except (KeyError, TypeError):
            raise DataError(
                root / "transcripts" / f"{vid}.json",
                "every sentence needs 'start' and 'end' (seconds)",
                video=vid,
                key="start",
            ) from None
        steps = np.clip(
            np.stack(
                [np.floor(spans[:, 0] / CLIP_SECONDS), np.ceil(spans[:, 1] / CLIP_SECONDS)], 1
            ),
            0,
            n,
        )
        picks = np.arange(n, dtype=np.int64)
        shots = np.asarray(labels[vid]["shots"], np.int64).reshape(-1, 2)
        change_points = np.stack([shots[:, 0], shots[:, 1] - 1], 1)
        key = key_steps(gtscore)
        videos.append(
            Video(
                key=vid,
                features=(clips,),
                n_frames=n,
                picks=picks,
                change_points=change_points,
                user_summary=None,
                gtscore=gtscore,
                name=vid,
                streams={"text": sentences, "text_spans": steps.astype(np.int32)},
                targets={
                    "text_labels": sentence_labels,
                    "saliency": key.astype(np.float32),
                    "scene_ends": scene_ends(shots, n),
                    "text_ends": text_ends(steps, shots),
                },
            )
        )
        texts[vid] = [str(r.get("text", "")) for r in rows]
    return videos, texts


def load(config):
    """``(train, val, texts)`` of the configured data (synthetic or ``transcripts.root``)."""
    t = config.transcripts
    if config.data.synthetic:
        root = ensure_synthetic(
            config.data.synthetic_dir,
            seed=config.data.synthetic_seed,
            **dict(t.synthetic_overrides),
        )["labels"].parent
    elif not t.root:
        raise DataError(
            "--config.transcripts.root", f"no folder given (or {synthetic_hint(config.name)})"
        )
    else:
        root = Path(t.root).expanduser()
    splits = _json(root / "splits.json", "splits file")
    for part in ("train", "val"):
        if not splits.get(part):
            raise DataError(root / "splits.json", f"no {part!r} videos")
    train, texts = read_videos(root, splits["train"])
    val, more = read_videos(root, splits["val"])
    return train, val, {**texts, **more}


def summary_metrics(
    video: Video,
    scores: np.ndarray,
    sentences: np.ndarray | None,
    texts: list[str],
    ratio: float,
    rouge,
) -> dict[str, float]:
    """The video (and text) summary metrics of one video's scores (module docstring), in %."""

    x = np.asarray(video.features[0], np.float64)
    key = video.targets["saliency"] > 0.5
    k = max(1, int(round(ratio * video.n_steps)))
    chosen = np.argsort(-scores, kind="stable")[:k]
    a, b = x[chosen].mean(0), x[key].mean(0) if key.any() else x.mean(0)
    cos = a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
    out = {"video-cos": 100 * float(cos), "video-AP": 100 * float(ranking_ap(key, scores))}
    if sentences is not None:
        wanted = np.flatnonzero(video.targets["text_labels"] > 0)
        picked = np.sort(np.argsort(-sentences, kind="stable")[: max(1, len(wanted))])
        reference = " ".join(texts[i] for i in wanted)
        summary = " ".join(texts[i] for i in picked)
        scored = rouge.score(reference, summary)
        out.update({f"R-{n}": 100 * float(scored[f"rouge{n}"].fmeasure) for n in ("1", "2", "L")})
    return out


COVER = ("boundaries", "text_boundaries", "clips", "sentence_states")
"""The extras that MHMS's cover selection reads."""


def cover_metrics(
    video: Video,
    scores: np.ndarray,
    sentences: np.ndarray,
    extras: dict,
    rng: np.random.Generator,
    tau: float = 0.5,
) -> dict[str, float]:
    """MHMS's cover frame and random's, in % (module docstring).

    The predicted scenes (Eq. 3 on the boundary probabilities, threshold ``tau``) give one
    keyframe candidate each, the predicted textual segments one sentence candidate each;
    the text summary is the best-scored sentence candidates, as many as the video has key
    sentences; the keyframe candidates are ranked by their transport cost to it.
    """

    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    frames = candidates(scores, segments(sigmoid(extras["boundaries"]), tau))
    said = candidates(sentences, segments(sigmoid(extras["text_boundaries"]), tau))
    wanted = max(1, int((video.targets["text_labels"] > 0).sum()))
    summary = said[np.argsort(-sentences[said], kind="stable")[:wanted]]
    costs = alignment_costs(extras["clips"][frames], extras["sentence_states"][summary])
    key = video.targets["saliency"][frames] > 0.5
    shuffled = rng.permutation(len(frames))
    return {
        "cover-R@1": 100 * float(key[np.argmin(costs)]),
        "cover-MAP": 100 * float(ranking_ap(key, -costs)),
        "random cover-R@1": 100 * float(key[np.argmin(shuffled)]),
        "random cover-MAP": 100 * float(ranking_ap(key, -shuffled.astype(float))),
    }


def predict(config, model, videos):
    """``{vid: (clip scores [n], sentence scores [m] or None, extras)}`` in evaluation
    mode; ``extras``: MHMS's boundary probabilities and alignment embeddings (``cover``),
    per video, when the backbone returns them."""

    @nnx.jit
    def run(backbone, features, mask, streams):
        out = outputs(backbone, features, mask, streams)
        extras = out.extras or {}  # a video-only backbone has none
        return out.scores, out.sentences, {k: extras[k] for k in COVER if k in extras}

    backbone = model.backbone
    backbone.eval()
    result = {}
    buckets = default_buckets(max(v.n_steps for v in videos))
    for group, batch in eval_batches(videos, config.eval.batch_size, buckets):
        scores, sentences, extras = run(backbone, batch.features, batch.mask, batch.streams)
        scores = np.asarray(scores, np.float64)
        sentences = None if sentences is None else np.asarray(sentences, np.float64)
        extras = {k: np.asarray(e, np.float64) for k, e in extras.items()}
        for b, v in enumerate(group):
            m = len(v.streams["text"])
            per = {
                k: e[b, : m if k in ("text_boundaries", "sentence_states") else v.n_steps]
                for k, e in extras.items()
            }
            result[v.key] = (
                scores[b, : v.n_steps],
                None if sentences is None else sentences[b, :m],
                per,
            )
    backbone.train()
    return result


def run_transcripts(config) -> dict:
    """Trains ``config``'s regime on the training videos and scores the val videos.

    Returns:
        ``{"regime", "backbone", "metrics", "random", "videos"}``: the mean of each
        metric over the val videos, for the run and for random scores (also written to
        ``results_{regime}.json``).
    """
    from rouge_score import rouge_scorer

    t = config.transcripts
    workdir = Path(config.workdir)
    rundir.write_config(workdir, resolved(config), replace=True)
    train, val, texts = load(config)
    own = SYSTEMS.get(config.backbone.name)
    if own:
        dim = int(train[0].streams["text"].shape[1])
        if config.backbone.kwargs.get("text_dim") != dim:
            raise DataError(
                f"video {train[0].key}",
                f"sentence features are {dim}-d; set --config.backbone.kwargs.text_dim={dim}",
            )
    dtype = jnp.dtype(config.compute_dtype)
    train, val = cast_features(train, dtype), cast_features(val, dtype)
    model = build_summarizer(ModelSpec.from_config(config), train[0].dims, seed=config.seed)
    phases = {
        own: [(own, own)],
        "csum": [("csum", "csum")],
        "finetuned": [("csum", "csum"), (own, "finetuned")],
        "supervised": [("supervised", "supervised")],
    }[t.regime]
    for regime, folder in phases:
        settings = None if regime == "csum" else t.finetune
        model = train_phase(config, regime, train, workdir / folder, model, settings)
    predictions = predict(config, model, val)
    rouge = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    rng = np.random.default_rng([config.seed, 4])
    # the cover's random order has its own stream: the other random rows stay the same
    # whatever number of candidates a model predicts
    cover_rng = np.random.default_rng([config.seed, 5])
    mine, rand = [], []
    for v in val:
        scores, sentences, extras = predictions[v.key]
        if t.regime == "csum":
            sentences = None  # an untrained sentence head
        mine.append(summary_metrics(v, scores, sentences, texts[v.key], t.ratio, rouge))
        rand.append(
            summary_metrics(
                v,
                rng.random(v.n_steps),
                rng.random(len(texts[v.key])),
                texts[v.key],
                t.ratio,
                rouge,
            )
        )
        if sentences is not None and set(COVER) <= set(extras):
            cover = cover_metrics(v, scores, sentences, extras, cover_rng)
            mine[-1].update({k: x for k, x in cover.items() if not k.startswith("random")})
            rand[-1].update({k[7:]: x for k, x in cover.items() if k.startswith("random")})
    mean = lambda rows: {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}  # noqa: E731
    result = {
        "regime": t.regime,
        "backbone": config.backbone.name,
        "metrics": mean(mine),
        "random": mean(rand),
        "videos": len(val),
    }
    (workdir / f"results_{t.regime}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def format_result(result: dict) -> str:
    """The run's metrics beside random scores'."""
    lines = [
        f"transcripts: {result['regime']} ({result['backbone']}), {result['videos']} val videos"
    ]
    for name, value in result["metrics"].items():
        lines.append(f"  {name:10s} {value:6.2f}   (random {result['random'][name]:.2f})")
    return "\n".join(lines)
