"""csum.multimodal.synthetic: structure, determinism, the QVHighlights reader, known answers."""

import json

import numpy as np

from csum.highlights.queries import read_queries
from csum.multimodal.synthetic import CLIP_SECONDS, MultimodalSpec, generate, write

SMALL = MultimodalSpec(videos=20)


def test_structure_and_determinism():
    videos, splits = generate(SMALL, seed=3)
    again, _ = generate(SMALL, seed=3)
    assert all(np.array_equal(a.clips, b.clips) for a, b in zip(videos, again, strict=True))
    assert len(splits["val"]) == 6 and set(splits["train"]).isdisjoint(splits["val"])
    for v in videos:
        assert v.scenes[0, 0] == 0 and v.scenes[-1, 1] == len(v.clips)
        assert (v.scenes[1:, 0] == v.scenes[:-1, 1]).all() and v.key.any()
        np.testing.assert_array_equal(v.gtscore > 0.5, np.repeat(v.key, np.diff(v.scenes, 1)[:, 0]))
        # every scene has its sentence, aligned to the scene's clips, labelled by its key
        for (a, b), k in zip(v.scenes, v.key, strict=True):
            rows = (v.sentence_spans[:, 0] == a) & (v.sentence_spans[:, 1] == b)
            assert rows.any() and v.sentence_labels[rows].max() == int(k)
        assert (v.sentence_spans[:, 0] < v.sentence_spans[:, 1]).all()
        assert (v.sentence_spans[:, 1] <= len(v.clips)).all()
        for q in v.queries:
            ids = np.asarray(q["relevant_clip_ids"])
            covered = np.zeros(len(v.clips), bool)
            for a, b in q["relevant_windows"]:
                covered[int(a / CLIP_SECONDS) : int(b / CLIP_SECONDS)] = True
            np.testing.assert_array_equal(np.flatnonzero(covered), ids)
            assert np.asarray(q["saliency_scores"]).shape == (len(ids), 3)


def test_text_and_video_share_a_learnable_map():
    """Known answer: a linear map fitted on training videos' (sentence -> its scene's mean
    clip) pairs ranks, for held-out queries, the described scene's clips above the rest."""
    videos, splits = generate(MultimodalSpec(videos=80), seed=0)
    by_id = {v.vid: v for v in videos}
    xs, ys = [], []
    for vid in splits["train"]:
        v = by_id[vid]
        for (a, b), s in zip(v.sentence_spans, v.sentences, strict=True):
            xs.append(s)
            ys.append(v.clips[a:b].mean(0))
    xs, ys = np.asarray(xs), np.asarray(ys)
    w, *_ = np.linalg.lstsq(np.c_[xs, np.ones(len(xs))], ys, rcond=None)
    hits = []
    for vid in splits["val"]:
        v = by_id[vid]
        for q in v.queries:
            guess = np.c_[q["tokens"], np.ones(len(q["tokens"]))] @ w
            score = -np.linalg.norm(v.clips[:, None] - guess[None], axis=-1).min(1)
            hits.append(int(np.argmax(score)) in set(q["relevant_clip_ids"]))
    assert np.mean(hits) > 0.6  # random: the relevant share of clips (about 0.2)


def test_written_files_read_as_qvhighlights(tmp_path):
    videos, splits = generate(SMALL, seed=1)
    paths = write(videos, splits, tmp_path)
    queries = read_queries(paths["val"], paths["video_dir"], paths["text_dir"])
    want = [q for v in videos if v.vid in splits["val"] for q in v.queries]
    assert [q.qid for q in queries] == [q["qid"] for q in want]
    for q, w in zip(queries, want, strict=True):
        v = next(x for x in videos if x.vid == w["vid"])
        np.testing.assert_array_equal(q.clips, v.clips)
        np.testing.assert_array_equal(q.tokens, w["tokens"])
        assert set(np.flatnonzero(q.relevant())) == set(w["relevant_clip_ids"])
    rows = json.loads((paths["transcripts"] / f"{videos[0].vid}.json").read_text())
    assert len(rows) == len(np.load(paths["transcripts"] / f"{videos[0].vid}.npy"))
