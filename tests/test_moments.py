"""csum.objectives.moments: targets, focal loss, moment loss and decoding, by hand."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from csum.objectives.moments import centre_focal_loss, centre_targets, decode, moment_loss


def test_centre_targets_by_hand():
    moments = jnp.array([[[2.0, 6.0], [7.0, 8.0]]])  # centres 4.0 (width 4) and 7.5 (width 1)
    heat, log_width, offset, centre = centre_targets(moments, jnp.array([[True, True]]), 10)
    assert np.flatnonzero(centre[0]).tolist() == [4, 7]
    np.testing.assert_allclose(log_width[0, [4, 7]], [math.log(4), 0.0], atol=1e-6)
    np.testing.assert_allclose(offset[0, [4, 7]], [-0.5, 0.0], atol=1e-6)
    # sigma = max(width / 6, 0.5): 2/3 for the first moment, 0.5 for the second
    np.testing.assert_allclose(heat[0, 3], math.exp(-0.5 * 1.5**2), atol=1e-6)
    np.testing.assert_allclose(
        heat[0, 6], max(math.exp(-0.5 * 2**2 * 2.25), math.exp(-2)), atol=1e-6
    )
    assert float(heat[0, 4]) == 1.0 and float(heat[0, 7]) == 1.0
    # a masked moment contributes nothing
    heat2, *_ = centre_targets(moments, jnp.array([[True, False]]), 10)
    assert float(heat2[0, 7]) < 1.0


def test_focal_loss_by_hand():
    logits = jnp.array([[0.0, 2.0, -1.0]])
    heat = jnp.array([[1.0, 0.5, 0.0]])
    p = jax.nn.sigmoid(logits[0])
    want = -(
        (1 - p[0]) ** 2 * jnp.log(p[0])
        + (1 - 0.5) ** 4 * p[1] ** 2 * jnp.log(1 - p[1])
        + p[2] ** 2 * jnp.log(1 - p[2])
    )
    got = centre_focal_loss(logits, heat, jnp.ones((1, 3), bool))
    np.testing.assert_allclose(got[0], want, rtol=1e-5)


def _perfect(moments, T):
    """A head output that encodes ``moments`` exactly."""
    m = jnp.asarray(moments, jnp.float32)[None]
    heat, log_width, offset, centre = centre_targets(m, jnp.ones(m.shape[:2], bool), T)
    logits = jnp.where(centre, 8.0, -8.0)
    return jnp.stack([logits, log_width, offset], -1)


def test_decode_recovers_the_moments():
    moments = [[2.0, 6.0], [10.0, 13.0]]
    pred = _perfect(moments, 16)
    spans, scores = decode(pred, jnp.ones((1, 16), bool), top=4)
    np.testing.assert_allclose(np.sort(spans[0, :2], axis=0), moments, atol=1e-5)
    assert float(scores[0, 1]) > 0.99 and float(scores[0, 2]) < 0.01
    # spans are clipped to the video's own clips
    spans, _ = decode(_perfect([[0.0, 4.0]], 8).at[0, 1, 1].set(5.0), jnp.ones((1, 8), bool), 2)
    assert float(spans.min()) >= 0 and float(spans.max()) <= 8


def test_moment_loss_padding_changes_nothing():
    key = jax.random.key(0)
    pred = jax.random.normal(key, (2, 12, 3))
    moments = jnp.array([[[1.0, 5.0], [0.0, 0.0]], [[6.0, 9.0], [2.0, 3.0]]])
    mm = jnp.array([[True, False], [True, True]])
    mask = jnp.arange(12)[None] < jnp.array([[12], [10]])
    valid = jnp.array([True, True])
    base, grad = jax.value_and_grad(lambda p: moment_loss(p, moments, mm, mask, valid))(pred)
    # junk in padded clips, an extra padded moment, longer padding
    polluted = pred.at[1, 10:].set(1e3)
    np.testing.assert_allclose(moment_loss(polluted, moments, mm, mask, valid), base, rtol=1e-6)
    wider = jnp.concatenate([moments, jnp.full((2, 1, 2), 3.0)], 1)
    wmask = jnp.concatenate([mm, jnp.zeros((2, 1), bool)], 1)
    np.testing.assert_allclose(moment_loss(pred, wider, wmask, mask, valid), base, rtol=1e-6)
    longer = jnp.concatenate([pred, jnp.ones((2, 4, 3))], 1)
    lmask = jnp.concatenate([mask, jnp.zeros((2, 4), bool)], 1)
    g2 = jax.grad(lambda p: moment_loss(p, moments, mm, lmask, valid))(longer)
    np.testing.assert_allclose(g2[:, :12], grad, atol=1e-6)
    assert float(jnp.abs(g2[:, 12:]).max()) == 0
    assert float(jnp.abs(grad[1, 10:]).max()) == 0
    # an invalid slot and a video without moments add nothing
    np.testing.assert_allclose(
        moment_loss(pred, moments, mm, mask, jnp.array([True, False])),
        moment_loss(pred[:1], moments[:1], mm[:1], mask[:1], valid[:1]),
        rtol=1e-6,
    )


def test_moment_loss_is_lower_for_the_truth_and_jits():
    moments = jnp.array([[[2.0, 6.0]]])
    mm, mask, valid = jnp.ones((1, 1), bool), jnp.ones((1, 10), bool), jnp.ones((1,), bool)
    good = _perfect([[2.0, 6.0]], 10)
    bad = good.at[..., 2].add(0.3).at[..., 0].set(0.0)
    assert float(moment_loss(good, moments, mm, mask, valid)) < float(
        moment_loss(bad, moments, mm, mask, valid)
    )
    np.testing.assert_allclose(
        jax.jit(moment_loss)(bad, moments, mm, mask, valid),
        moment_loss(bad, moments, mm, mask, valid),
        rtol=1e-6,
    )
