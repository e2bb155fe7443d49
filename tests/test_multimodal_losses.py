"""csum.objectives.alignment: A2Summ's Eqs. 5-8 by hand, masks and gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from csum.objectives.alignment import (
    contrast,
    focal_loss,
    hard_negatives,
    inter_sample_loss,
    intra_sample_loss,
)


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_focal_loss_by_hand_and_masked():
    p, y = np.array([0.9, 0.2, 0.6]), np.array([1, 0, 1])
    want = np.mean(
        [-0.25 * 0.1**2 * np.log(0.9), -0.75 * 0.2**2 * np.log(0.8), -0.25 * 0.4**2 * np.log(0.6)]
    )
    got = focal_loss(jnp.asarray(p), jnp.asarray(y), jnp.ones(3, bool))
    assert float(got) == pytest.approx(want, rel=1e-5)
    padded = focal_loss(jnp.asarray([*p, 0.5]), jnp.asarray([*y, 1]), jnp.array([1, 1, 1, 0], bool))
    assert float(padded) == pytest.approx(want, rel=1e-5)


def test_contrast_by_hand():
    z, pos = np.array([1.0, 0.0]), np.array([0.6, 0.8])
    neg = np.array([[0.0, 1.0], [-1.0, 0.0], [5.0, 5.0]])
    got = contrast(
        jnp.asarray(z), jnp.asarray(pos), jnp.asarray(neg), jnp.array([1, 1, 0], bool), tau=0.5
    )
    e = np.exp(np.array([0.6, 0.0, -1.0]) / 0.5)
    assert float(got) == pytest.approx(-np.log(e[0] / e.sum()), rel=1e-5)


def test_inter_sample_loss_by_hand_and_padding():
    rng = np.random.default_rng(0)
    v, t = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    tau = 0.2
    sim = unit(v) @ unit(t).T / tau
    v2t = [-np.log(np.exp(sim[j, j]) / np.exp(sim[j]).sum()) for j in range(3)]
    t2v = [-np.log(np.exp(sim[j, j]) / np.exp(sim[:, j]).sum()) for j in range(3)]
    want = (sum(v2t) + sum(t2v)) / 3
    got = inter_sample_loss(jnp.asarray(v), jnp.asarray(t), jnp.ones(3, bool), tau)
    assert float(got) == pytest.approx(want, rel=1e-5)
    # a padded pair is neither an anchor nor a negative
    vp, tp = np.r_[v, 9 * rng.normal(size=(1, 4))], np.r_[t, 9 * rng.normal(size=(1, 4))]
    valid = jnp.array([1, 1, 1, 0], bool)
    padded = inter_sample_loss(jnp.asarray(vp), jnp.asarray(tp), valid, tau)
    assert float(padded) == pytest.approx(want, rel=1e-5)
    g = jax.grad(inter_sample_loss)(jnp.asarray(vp), jnp.asarray(tp), valid, tau)
    assert float(jnp.abs(g[3]).max()) == 0.0


def test_hard_negatives_by_hand():
    scores = jnp.array([0.9, 0.8, 0.1, 0.7, 0.95, 0.2, 0.6, 0.5, 0.3])
    labels = jnp.array([0, 0, 0, 0, 1, 0, 0, 0, 0])
    mask = jnp.array([1, 1, 1, 1, 1, 1, 1, 1, 0], bool)  # 8 valid steps
    # ratio 4: k = 2; key step 4 widened by 1 excludes steps 3-5; best free: 0 (0.9), 1 (0.8)
    got = hard_negatives(scores, labels, mask, ratio=4, expand=1)
    np.testing.assert_array_equal(got, [1, 1, 0, 0, 0, 0, 0, 0, 0])
    # expand 0: step 3 (0.7) is free but ranks third; ratio 2: k = 4 -> 0, 1, 3, 6
    got = hard_negatives(scores, labels, mask, ratio=2, expand=0)
    np.testing.assert_array_equal(got, [1, 1, 0, 1, 0, 0, 1, 0, 0])


def test_intra_sample_loss_by_hand():
    rng = np.random.default_rng(1)
    frames, sentences = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    kf, hf = np.array([1, 1, 0, 0, 0], bool), np.array([0, 0, 1, 1, 0], bool)
    ks, hs = np.array([0, 1, 0, 0], bool), np.array([1, 0, 0, 1], bool)
    tau = 0.3
    f, s = unit(frames), unit(sentences)

    def ell(z, zp, negs):
        logits = np.r_[z @ zp, negs @ z] / tau
        return -np.log(np.exp(logits[0]) / np.exp(logits).sum())

    a = np.mean([ell(f[i], s[j], f[hf]) for i in np.flatnonzero(kf) for j in np.flatnonzero(ks)])
    b = np.mean([ell(s[j], f[i], s[hs]) for j in np.flatnonzero(ks) for i in np.flatnonzero(kf)])
    got = intra_sample_loss(*(jnp.asarray(x) for x in (frames, sentences, kf, ks, hf, hs)), tau)
    assert float(got) == pytest.approx(a + b, rel=1e-5)
    # no hard negatives: each positive pair's loss is 0, and the gradient stays finite
    none = jnp.zeros(5, bool), jnp.zeros(4, bool)
    args = (jnp.asarray(frames), jnp.asarray(sentences), jnp.asarray(kf), jnp.asarray(ks))
    assert float(intra_sample_loss(*args, *none, tau)) == pytest.approx(0.0, abs=1e-6)
    g = jax.grad(intra_sample_loss)(*args, *none, tau)
    assert bool(jnp.isfinite(g).all())
