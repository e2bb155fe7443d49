"""csum.model.contrast: each clip's collection contrast as an input source."""

from pathlib import Path

import jax.numpy as jnp
import numpy as np

from csum.data.batching import default_buckets
from csum.data.records import cast_features
from csum.model import contrast
from csum.model.summarizer import ModelSpec, build_summarizer
from experiments.configs.common import make


def _setup(small_videos):
    config = make("tvsum", "msva", "synthetic,quick")
    config.unlock()
    config.compute_dtype = "float32"
    videos = sorted(small_videos.values(), key=lambda v: v.n_steps)
    model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=0)
    model.eval()
    return model, videos, default_buckets(max(v.n_steps for v in videos))


def _embed(model, v):
    x = model.contrast_features(tuple(jnp.asarray(f)[None] for f in v.features))
    z, _ = model.projector.embed_windows(x, jnp.ones((1, v.n_steps), bool))
    z = np.asarray(z[0], np.float64)
    return z / np.linalg.norm(z, axis=-1, keepdims=True)


def test_a_new_video_is_contrasted_with_the_training_windows_and_its_own(small_videos, tmp_path):
    """By hand: c(t) = log sum_own exp(<z_t, w>/tau) - log sum_{train + own} exp(...),
    standardised by the training clips' mean and spread; each new video alone."""
    model, videos, buckets = _setup(small_videos)
    train, new = videos[:8], videos[8:]
    index, train_channel = contrast.fit(model, train, 3, buckets, tau=0.25)
    embedded = [_embed(model, v) for v in train]
    every = np.concatenate(embedded)
    sims = every @ every.T
    tau = 0.25 * sims[~np.eye(len(every), dtype=bool)].std()  # loss.tau is relative
    assert abs(index.index.tau - tau) <= 1e-5 * tau

    def by_hand(z_own, bank, own_rows):
        logits = z_own @ bank.T / tau
        top = logits.max(axis=1, keepdims=True)
        mass = np.exp(logits - top)
        return np.log(mass[:, own_rows].sum(1) / mass.sum(1))

    owner = np.concatenate([np.full(len(z), i) for i, z in enumerate(embedded)])
    raw = [by_hand(z, every, owner == i) for i, z in enumerate(embedded)]
    values = np.concatenate(raw)
    assert abs(index.mean - values.mean()) <= 1e-3 * values.std()
    assert abs(index.std - values.std()) <= 1e-3 * values.std()
    # float32 inner products over tau: ~1e-3 per logit (test_window_nce.py's bound).
    for v, r in zip(train, raw, strict=True):
        np.testing.assert_allclose(
            train_channel[v.key], (r - values.mean()) / values.std(), atol=5e-3
        )
    got = contrast.channels(model, index, new, 3, buckets)
    for v in new:
        z = _embed(model, v)
        bank = np.concatenate([every, z])
        own = np.r_[np.zeros(len(every), bool), np.ones(len(z), bool)]
        want = (by_hand(z, bank, own) - index.mean) / index.std
        np.testing.assert_allclose(got[v.key], want, atol=5e-3)
    # One video's channel does not depend on the others scored with it.
    alone = contrast.channels(model, index, new[:1], 3, buckets)
    np.testing.assert_allclose(alone[new[0].key], got[new[0].key], rtol=1e-6, atol=1e-6)
    # Saved and loaded, the index scores the same.
    index.save(tmp_path / contrast.FILE)
    loaded = contrast.ContrastInput.load(tmp_path / contrast.FILE)
    again = contrast.channels(model, loaded, new, 3, buckets)
    for v in new:
        np.testing.assert_array_equal(again[v.key], got[v.key])
    # A training video scored again gets its training channel, bit for bit (its own
    # windows are in the bank: they are not added a second time).
    seen = contrast.channels(model, loaded, train, 3, buckets)
    for v in train:
        np.testing.assert_array_equal(seen[v.key], train_channel[v.key])
    # Appended as a last one-wide float32 source (whatever the features' storage dtype:
    # bfloat16 would tie the clips of a scene); or, before an audio stream, the last but one.
    more = contrast.with_channel(new, got)
    half = contrast.with_channel(cast_features(new, jnp.bfloat16), got)
    assert half[0].features[0].dtype == jnp.bfloat16 and half[0].features[-1].dtype == np.float32
    assert more[0].dims == (*new[0].dims, 1)
    np.testing.assert_array_equal(more[0].features[-1][:, 0], got[new[0].key])
    audio = contrast.with_channel(more, got, before_audio=True)
    assert audio[0].dims == (*new[0].dims, 1, 1)
    np.testing.assert_array_equal(audio[0].features[-2][:, 0], got[new[0].key])
    np.testing.assert_array_equal(audio[0].features[-1], more[0].features[-1])


def test_distinct_content_scores_above_shared_content():
    """Known answer: a video made of one scene that every other video also shows, then one
    scene of its own; its own scene must have the higher contrast."""
    from csum.data.records import Video

    rng = np.random.default_rng(0)
    shared, mine = rng.normal(size=32), rng.normal(size=32)

    def video(key, parts):
        x = np.concatenate([np.tile(p, (n, 1)) for p, n in parts]) + 0.05 * rng.normal(
            size=(sum(n for _, n in parts), 32)
        )
        T = len(x)
        return Video(
            key=key,
            features=(x.astype(np.float32),),
            n_frames=T,
            picks=np.arange(T),
            change_points=np.array([[0, T - 1]]),
            user_summary=np.zeros((1, T)),
        )

    others = [video(f"o{i}", [(shared, 20), (rng.normal(size=32), 20)]) for i in range(6)]
    config = make("tvsum", "vslstm", "synthetic,quick")
    config.unlock()
    config.compute_dtype = "float32"
    model = build_summarizer(ModelSpec.from_config(config), (32,), seed=0)
    model.eval()
    buckets = default_buckets(64)
    index, _ = contrast.fit(model, others, 4, buckets, tau=0.25)
    new = video("new", [(shared, 20), (mine, 20)])
    c = contrast.channels(model, index, [new], 4, buckets)["new"]
    assert c[20:].mean() > c[:20].mean() + 1.0  # in units of the training clips' spread


def test_a_loaded_run_scores_its_test_fold_as_the_evaluation_did(tmp_path, synthetic_dir):
    """experiments.run with the contrast input, then csum.load + its ``inputs`` on the raw
    test videos: the same F1, tau and rho as the run's own evaluation of that fold."""
    import json

    import csum
    from csum.metrics.evaluation import as_quantiles, evaluate_video, mean_metrics, parse_protocol
    from csum.summarization.data import load_dataset
    from csum.training.predict import predict_scores
    from experiments.run import main, prepare

    work = tmp_path / "run"
    args = [
        "--config=summe_vasnet:synthetic,quick",
        f"--config.workdir={work}",
        f"--config.data.synthetic_dir={synthetic_dir}",
        "--config.train.progress=false",
        "--config.compute_dtype=float32",
    ]
    assert main(args) == 0
    assert (work / "fold_0" / contrast.FILE).is_file()
    config = prepare(
        "summe_vasnet:synthetic,quick",
        {"data.synthetic_dir": str(synthetic_dir), "compute_dtype": "float32"},
    )
    splits = json.loads((work / "results.json").read_text())["split_file"]
    test_keys = json.loads(Path(splits).read_text())[0]["test_keys"]
    videos = [load_dataset(config)[k] for k in test_keys]
    run = csum.load(work)
    model = run.model
    inputs = run.inputs(videos)  # contrast.for_run with the fold's saved index
    assert inputs[0].dims == (*videos[0].dims, 1)
    scores = predict_scores(
        model.backbone, inputs, 8, default_buckets(max(v.n_steps for v in videos))
    )
    protocol = parse_protocol(config.eval.protocol)
    rows = [
        evaluate_video(
            as_quantiles(scores[v.key]), v, config.eval.f1_mode, config.topk.ratio, protocol
        )
        for v in videos
    ]
    got, want = mean_metrics(rows), json.loads((work / "fold_0" / "result.json").read_text())
    for m in ("f1", "kendall_tau", "spearman_rho"):
        assert abs(got[m] - want[m]) <= 1e-6, (m, got, want)
