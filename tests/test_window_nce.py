"""loss.negatives="windows": the window InfoNCE against every training video's windows."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from csum.data.batching import collate, default_buckets
from csum.model.banks import window_bank
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.nn.windows import clip_mean
from csum.objectives.contrastive import csum_loss, window_nce
from experiments.configs.common import make


def test_window_nce_by_hand():
    """Two videos, three unit windows: -log(own mass / all mass) of each, by hand."""
    e = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], np.float32)  # video 0: rows 0-1
    owner = np.array([0, 0, 1, -1], np.int32)
    bank = np.concatenate([e, np.full((1, 2), 9.0, np.float32)])  # a padding row
    tau = 0.5
    got = window_nce(
        jnp.asarray(e[None, :2]), jnp.array([0]), jnp.asarray(bank), jnp.asarray(owner), tau
    )
    for w in range(2):
        sims = np.exp(e @ e[w] / tau)
        want = -np.log(sims[:2].sum() / sims.sum())
        np.testing.assert_allclose(got[0, w], want, rtol=1e-5, atol=1e-6)
    # A window that only its own video has costs less than one another video shares.
    assert float(got[0, 0]) < float(got[0, 1])


@pytest.mark.parametrize("T,n", [(7, 1), (7, 3), (5, 5), (3, 5), (10, 4)])
def test_clip_mean_is_the_mean_of_the_covering_windows(T, n):
    rng = np.random.default_rng(T * 10 + n)
    W = max(T, n) - n + 1
    values, valid = rng.normal(size=(2, W)), rng.random((2, W)) > 0.3
    got = np.asarray(clip_mean(jnp.asarray(values), jnp.asarray(valid), n, T))
    for b in range(2):
        for t in range(T):
            cover = [w for w in range(W) if w <= t < w + n and valid[b, w]]
            want = values[b, cover].mean() if cover else 0.0
            np.testing.assert_allclose(got[b, t], want, rtol=1e-5, atol=1e-6)


def _setup(small_videos, window):
    config = make("tvsum", "msva", "synthetic,quick")
    config.unlock()
    config.compute_dtype = "float32"
    config.projector.window = window
    videos = sorted(small_videos.values(), key=lambda v: v.n_steps)
    model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=0)
    buckets = default_buckets(max(v.n_steps for v in videos))
    return config, videos, model, buckets


@pytest.mark.parametrize("window", [1, 3])
def test_window_bank_matches_a_direct_computation(small_videos, window):
    """Every clip's loss from the batched, padded bank equals numpy on each video alone."""
    config, videos, model, buckets = _setup(small_videos, window)
    model.eval()
    table = np.asarray(window_bank(model, videos, 3, buckets, tau=0.1))
    embedded = []
    for v in videos:
        x = model.contrast_features(tuple(jnp.asarray(f)[None] for f in v.features))
        z, _ = model.projector.embed_windows(x, jnp.ones((1, v.n_steps), bool))
        z = np.asarray(z[0], np.float64)
        embedded.append(z / np.linalg.norm(z, axis=-1, keepdims=True))
    every = np.concatenate(embedded)
    owner = np.concatenate([np.full(len(z), i) for i, z in enumerate(embedded)])
    assert len(every) <= 2048  # the spread is then taken over every pair of windows
    sims = every @ every.T
    tau = 0.1 * sims[~np.eye(len(every), dtype=bool)].std()  # loss.tau is relative
    for i, v in enumerate(videos):
        logits = embedded[i] @ every.T / tau
        top = logits.max(axis=1, keepdims=True)
        mass = np.exp(logits - top)
        per_window = -np.log(mass[:, owner == i].sum(1) / mass.sum(1))
        per_clip = [per_window[max(0, t - window + 1) : t + 1].mean() for t in range(v.n_steps)]
        # float32 inner products of unit vectors in E = 128 dims err by up to E * eps =
        # 7.6e-6; over tau (>= 0.01 here) that is 7.6e-4 per logit, twice for the ratio.
        np.testing.assert_allclose(table[i, : v.n_steps], per_clip, rtol=1e-4, atol=2e-3)
        assert not table[i, v.n_steps :].any()


def test_hard_selection_loss_is_the_mean_loss_of_the_chosen_clips(small_videos):
    """The loss is linear in the selection: with the exact top-k it is the mean per-clip
    loss over each video's ceil(0.15 T) best-scored clips (no blur can lower it)."""
    config, videos, model, buckets = _setup(small_videos, 1)
    table = window_bank(model, videos, 4, buckets, tau=0.1)
    batch = collate(videos[:4], 4, buckets, index=[0, 1, 2, 3])
    model.eval()  # no dropout, so that the scores below are the ones the loss ranked
    loss = csum_loss(
        model,
        batch,
        ratio=0.15,
        tau=0.1,
        operator="hard",
        bank=table,
        operator_kwargs={"gradient": "none"},
        negatives="windows",
    )
    scores = np.asarray(model.backbone(batch.features, batch.mask))
    want = []
    for b, v in enumerate(videos[:4]):
        k = int(np.ceil(0.15 * v.n_steps - 1e-9))
        chosen = np.argsort(-scores[b, : v.n_steps], kind="stable")[:k]
        want.append(np.asarray(table)[b, chosen].mean())
    np.testing.assert_allclose(loss, np.mean(want), rtol=1e-5)


def test_window_loss_and_gradients_do_not_depend_on_the_bucket(small_videos):
    """Per-video exactness of every operator is tested in test_budget.py; here the path of
    the window loss (bank rows by batch.index, sliced to the bucket) on the default one."""
    name = "successive_halving"
    config, videos, model, buckets = _setup(small_videos, 1)
    table = window_bank(model, videos, 4, buckets, tau=0.05)
    group = videos[:4]
    longest = max(v.n_steps for v in group)
    hyper = dict(config.topk[name]) if name in config.topk else {}

    @nnx.jit  # compiled: the same numbers as eager, at half the test's time
    def loss_and_grad(model, batch):
        return nnx.value_and_grad(
            lambda m: csum_loss(
                m,
                batch,
                ratio=0.15,
                tau=0.05,
                operator=name,
                bank=table,
                operator_kwargs=hyper,
                scores="standardized",
                negatives="windows",
            )
        )(model)

    def run(length):
        batch = collate(group, 4, [length], index=[0, 1, 2, 3])
        fresh = build_summarizer(ModelSpec.from_config(config), group[0].dims, seed=0)
        nnx.reseed(fresh, dropout=jax.random.key(5), topk=jax.random.key(6))
        return loss_and_grad(fresh, batch)

    (l1, g1), (l2, g2) = run(longest), run(table.shape[1])
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2), strict=True):
        scale = float(jnp.max(jnp.abs(a))) + 1e-12
        assert float(jnp.max(jnp.abs(a - b))) <= 1e-4 * scale
    assert max(float(jnp.abs(a).max()) for a in jax.tree.leaves(g1)) > 0
