"""Synthetic multimodal videos: clips, time-aligned sentences and queries, with known answers.

Every multimodal system of the seed papers needs data with text beside the video (A2Summ,
MHMS: transcripts aligned in time; 003 and 004: queries with their moments). The real
sets are not reachable here, so this generator makes them, in QVHighlights' layout:

* A world of ``concepts`` latent vectors. A video is a sequence of scenes (3-8, each
  2-10 two-second clips); a scene shows one concept. Clip features are a fixed random
  projection of the scene's latent plus its own variation, an AR(1) drift (the video's
  style) and noise, rectified; sentence and query-token features are *another* fixed
  projection of the latents (a text encoder's space), so that video and text are related
  by a map a model can learn, never by equal vectors.
* Each video has one or two *key* scenes (its important content: the summary's target)
  drawn from the video's own rare concepts; the rest come from common concepts shared
  by many videos. ``gtscore`` is 1 on key scenes, 0.2 elsewhere.
* Transcript: one sentence per scene, spanning the scene's clips (time-aligned, as
  A2Summ's transcripts are), plus a few filler sentences over random spans whose latent is
  a generic "chatter" concept. Sentence labels (for a text summary) are 1 on key scenes'
  sentences.
* Queries: each describes one scene, or two consecutive ones (a query "about" a moment);
  its tokens are the text projections of the described concepts plus filler tokens. Its
  ``relevant_windows`` are the scenes' spans in seconds; ``saliency_scores`` give each
  relevant clip three annotators' 0-4 scores (4 at the scene's core, lower at its edges,
  with disagreement).

Files (``write``): ``{split}.jsonl`` in QVHighlights' annotation format, ``video/{vid}.npz``
(``features``), ``text/qid{qid}.npz`` (``last_hidden_state``), and per video
``transcripts/{vid}.json`` (sentences with start and end seconds, a label and the words) with
``transcripts/{vid}.npy`` [n_sentences, D_t] sentence features, ``labels.json`` (per video
its ``gtscore`` per clip and its ``shots``, the scenes' clip spans) and ``splits.json``
(``{"train": [vid], "val": [vid]}``). ``csum.highlights.queries
.read_queries`` reads the first three as it reads the real files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import numpy as np

CLIP_SECONDS = 2.0
LATENT = 48


@dataclasses.dataclass(frozen=True)
class MultimodalSpec:
    """Shape of a synthetic multimodal data set.

    Attributes:
        videos: number of videos.
        val_fraction: share of the videos in the ``val`` split.
        common: concepts shared by every video; rare: concepts of which each video's key
            scenes are drawn (each used by few videos).
        min_scenes, max_scenes: scenes per video; min_clips, max_clips: clips per scene.
        dim: clip feature size; text_dim: sentence and token feature size.
        variation: std of a scene's latent around its concept.
        fillers: filler sentences per video.
        queries_per_video: queries written per video.
        query_tokens: tokens per described concept; filler_tokens: extra tokens a query.
    """

    videos: int = 60
    val_fraction: float = 0.3
    common: int = 12
    rare: int = 40
    min_scenes: int = 3
    max_scenes: int = 8
    min_clips: int = 2
    max_clips: int = 10
    dim: int = 64
    text_dim: int = 32
    variation: float = 0.4
    fillers: int = 2
    queries_per_video: int = 2
    query_tokens: int = 3
    filler_tokens: int = 3


@dataclasses.dataclass(frozen=True)
class MultimodalVideo:
    """One synthetic video with its transcript and queries.

    Attributes:
        vid: video id.
        clips: [n_clips, dim] clip features.
        scenes: [n_scenes, 2] int clip spans, start inclusive, end exclusive.
        concepts: [n_scenes] int each scene's concept.
        key: [n_scenes] bool the video's key scenes.
        gtscore: [n_clips] importance (1 on key scenes, 0.2 elsewhere).
        sentences: [n_sentences, text_dim] sentence features.
        sentence_spans: [n_sentences, 2] int clip spans.
        sentence_labels: [n_sentences] int 1 for a key scene's sentence.
        queries: list of dicts in QVHighlights' annotation format, each with its
            ``tokens`` [n_tokens, text_dim] and ``scenes`` (indices it describes).
        sentence_texts: each sentence's words: three of its concept's own words and two
            common ones (for ROUGE, which compares words).
    """

    vid: str
    clips: np.ndarray
    scenes: np.ndarray
    concepts: np.ndarray
    key: np.ndarray
    gtscore: np.ndarray
    sentences: np.ndarray
    sentence_spans: np.ndarray
    sentence_labels: np.ndarray
    queries: list
    sentence_texts: tuple = ()

    @property
    def duration(self) -> float:
        return CLIP_SECONDS * len(self.clips)


def generate(spec: MultimodalSpec, seed: int = 0):
    """The videos and splits ``{"train": [vid], "val": [vid]}``, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    n_concepts = spec.common + spec.rare + 1  # the last one: generic chatter
    concepts = rng.normal(size=(n_concepts, LATENT))
    visual = rng.normal(size=(LATENT, spec.dim)) / math.sqrt(LATENT)
    textual = rng.normal(size=(LATENT, spec.text_dim)) / math.sqrt(LATENT)
    chatter = n_concepts - 1
    # Words come from their own stream, so that adding them changed no array of a seed.
    wrng = np.random.default_rng([seed, 7])
    vocabulary = [[f"w{c}x{k}" for k in range(4)] for c in range(n_concepts)]
    common_words = ["the", "and", "then", "here", "we", "see", "now", "this"]

    def say(concept: int) -> str:
        own = list(wrng.choice(vocabulary[concept], size=3, replace=False))
        return " ".join(own + list(wrng.choice(common_words, size=2)))

    videos, qid = [], 0
    for i in range(spec.videos):
        n_scenes = int(rng.integers(spec.min_scenes, spec.max_scenes + 1))
        lengths = rng.integers(spec.min_clips, spec.max_clips + 1, size=n_scenes)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        scenes = np.stack([bounds[:-1], bounds[1:]], axis=1)
        n_key = int(rng.integers(1, 3)) if n_scenes > 2 else 1
        key = np.zeros(n_scenes, bool)
        key[rng.choice(n_scenes, size=n_key, replace=False)] = True
        kinds = np.where(
            key,
            spec.common + rng.integers(spec.rare, size=n_scenes),
            rng.integers(spec.common, size=n_scenes),
        )
        latents = np.concatenate(
            [
                np.tile(concepts[c] + spec.variation * rng.normal(size=LATENT), (n, 1))
                for c, n in zip(kinds, lengths, strict=True)
            ]
        )
        drift = np.zeros_like(latents)
        for t in range(len(latents)):  # AR(1): the video's own style
            drift[t] = (0.8 * drift[t - 1] if t else 0) + 0.15 * rng.normal(size=LATENT)
        clips = (latents + drift) @ visual + 0.3 * rng.normal(size=(len(latents), spec.dim))
        gtscore = np.repeat(np.where(key, 1.0, 0.2), lengths)
        # Transcript: a sentence per scene, then fillers over random spans.
        spans = [tuple(s) for s in scenes]
        words = [concepts[c] for c in kinds]
        labels = [int(k) for k in key]
        said = [int(c) for c in kinds]
        for _ in range(spec.fillers):
            a = int(rng.integers(0, len(clips) - 1))
            spans.append((a, int(rng.integers(a + 1, min(a + 4, len(clips)) + 1))))
            words.append(concepts[chatter])
            labels.append(0)
            said.append(chatter)
        order = np.argsort([s[0] for s in spans], kind="stable")
        sentences = np.stack([(words[j] + 0.3 * rng.normal(size=LATENT)) @ textual for j in order])
        vid = f"mm{i:04d}"
        queries = []
        for _ in range(spec.queries_per_video):
            first = int(rng.integers(n_scenes))
            described = [first] + (
                [first + 1] if first + 1 < n_scenes and rng.random() < 0.3 else []
            )
            tokens = [
                concepts[kinds[s]] + 0.3 * rng.normal(size=LATENT)
                for s in described
                for _ in range(spec.query_tokens)
            ]
            tokens += [
                concepts[chatter] + rng.normal(size=LATENT) for _ in range(spec.filler_tokens)
            ]
            tokens = np.stack(tokens)[rng.permutation(len(tokens))] @ textual
            ids, scores = [], []
            for s in described:
                a, b = (int(x) for x in scenes[s])
                for c in range(a, b):
                    core = min(c - a, b - 1 - c) >= 1 or b - a <= 2
                    base = 4 if core else 3
                    scores.append([int(np.clip(base - rng.integers(0, 2), 1, 4)) for _ in range(3)])
                    ids.append(c)
            windows = [
                [CLIP_SECONDS * float(scenes[s][0]), CLIP_SECONDS * float(scenes[s][1])]
                for s in described
            ]
            if len(described) == 2:  # consecutive scenes: one moment
                windows = [[windows[0][0], windows[1][1]]]
            queries.append(
                {
                    "qid": qid,
                    "query": f"scene {'+'.join(map(str, kinds[described]))}",
                    "vid": vid,
                    "duration": CLIP_SECONDS * len(clips),
                    "relevant_windows": windows,
                    "relevant_clip_ids": ids,
                    "saliency_scores": scores,
                    "tokens": tokens.astype(np.float32),
                    "scenes": described,
                }
            )
            qid += 1
        videos.append(
            MultimodalVideo(
                vid=vid,
                clips=np.maximum(clips, 0).astype(np.float32),
                scenes=scenes,
                concepts=kinds,
                key=key,
                gtscore=gtscore,
                sentences=sentences.astype(np.float32),
                sentence_spans=np.asarray([spans[j] for j in order], np.int64),
                sentence_labels=np.asarray([labels[j] for j in order], np.int64),
                queries=queries,
                sentence_texts=tuple(say(said[j]) for j in order),
            )
        )
    n_val = max(1, round(spec.val_fraction * spec.videos))
    ids = [v.vid for v in videos]
    return videos, {"train": ids[n_val:], "val": ids[:n_val]}


def layout(root) -> dict[str, Path]:
    """The paths of a data set under ``root``: ``{"train", "val", "video_dir", "text_dir",
    "transcripts", "labels", "splits"}``."""
    root = Path(root).expanduser()
    return {
        "train": root / "train.jsonl",
        "val": root / "val.jsonl",
        "video_dir": root / "video",
        "text_dir": root / "text",
        "transcripts": root / "transcripts",
        "labels": root / "labels.json",
        "splits": root / "splits.json",
    }


def write(videos, splits, root) -> dict[str, Path]:
    """Writes the videos in QVHighlights' layout (module doc); returns ``layout(root)``."""
    paths = layout(root)
    for key in ("video_dir", "text_dir", "transcripts"):
        paths[key].mkdir(parents=True, exist_ok=True)
    by_id = {v.vid: v for v in videos}
    for split in ("train", "val"):
        with open(paths[split], "w") as f:
            for vid in splits[split]:
                for q in by_id[vid].queries:
                    f.write(
                        json.dumps({k: v for k, v in q.items() if k not in ("tokens", "scenes")})
                        + "\n"
                    )
    for v in videos:
        np.savez(paths["video_dir"] / f"{v.vid}.npz", features=v.clips)
        for q in v.queries:
            np.savez(paths["text_dir"] / f"qid{q['qid']}.npz", last_hidden_state=q["tokens"])
        np.save(paths["transcripts"] / f"{v.vid}.npy", v.sentences)
        rows = [
            {
                "start": CLIP_SECONDS * int(a),
                "end": CLIP_SECONDS * int(b),
                "label": int(y),
                "text": text,
            }
            for (a, b), y, text in zip(
                v.sentence_spans, v.sentence_labels, v.sentence_texts, strict=True
            )
        ]
        (paths["transcripts"] / f"{v.vid}.json").write_text(json.dumps(rows) + "\n")
    labels = {
        v.vid: {"gtscore": [round(float(g), 4) for g in v.gtscore], "shots": v.scenes.tolist()}
        for v in videos
    }
    paths["labels"].write_text(json.dumps(labels) + "\n")
    paths["splits"].write_text(json.dumps(splits) + "\n")
    return paths


GENERATOR_VERSION = 2
"""Bumped whenever ``generate`` changes what a seed produces (cached folders are keyed by it)."""


def ensure(directory, seed: int = 0, **overrides) -> dict[str, Path]:
    """The paths (``write``) of a synthetic multimodal data set, generated on first use.

    Args:
        directory: cache folder.
        seed: generator seed.
        **overrides: ``MultimodalSpec`` fields.

    Returns:
        ``write``'s paths, under a folder named by a digest of the spec, seed and version.
    """

    spec = dataclasses.replace(MultimodalSpec(), **overrides)
    resolved = json.dumps([GENERATOR_VERSION, seed, dataclasses.asdict(spec)], sort_keys=True)
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:10]
    root = Path(directory).expanduser() / f"synthetic_multimodal_seed{seed}_{digest}"
    done = root / "complete"
    if not done.is_file():
        write(*generate(spec, seed), root)
        done.write_text("")  # last: marks completion
    return layout(root)
