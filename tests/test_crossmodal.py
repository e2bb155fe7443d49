"""csum.nn.crossmodal: A2Summ's alignment mask and 003's context-query attention, by hand."""

import jax
import jax.numpy as jnp
import numpy as np

from csum.nn.crossmodal import alignment_mask, alignment_rows, context_query_attention, window_sums


def test_alignment_mask_by_hand():
    # 4 steps, 2 sentences: sentence 0 covers steps [0, 2), sentence 1 step [3, 4); step 2
    # has no sentence; no padding.
    spans = jnp.array([[0, 2], [3, 4]])
    mask = alignment_mask(spans, jnp.ones(4, bool), jnp.ones(2, bool))
    want = np.array(
        [
            # v0 v1 v2 v3 s0 s1
            [1, 1, 1, 1, 1, 0],  # v0
            [1, 1, 1, 1, 1, 0],  # v1
            [1, 1, 1, 1, 0, 0],  # v2
            [1, 1, 1, 1, 0, 1],  # v3
            [1, 1, 0, 0, 1, 1],  # s0
            [0, 0, 0, 1, 1, 1],  # s1
        ],
        bool,
    )
    np.testing.assert_array_equal(mask, want)
    # padding: a padded step and a padded sentence attend to nothing and get no attention
    pad = alignment_mask(
        jnp.array([[0, 2], [3, 5], [0, 5]]),
        jnp.array([1, 1, 1, 1, 0], bool),
        jnp.array([1, 1, 0], bool),
    )
    assert not pad[4].any() and not pad[:, 4].any() and not pad[7].any() and not pad[:, 7].any()
    keep = [0, 1, 2, 3, 5, 6]
    np.testing.assert_array_equal(pad[np.ix_(keep, keep)], want)


def test_context_query_attention_by_hand():
    v = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    q = np.array([[2.0, 0.0], [0.0, 1.0]])
    t, t_bar = context_query_attention(
        jnp.asarray(v)[None],
        jnp.asarray(q)[None],
        jnp.ones((1, 3), bool),
        jnp.ones((1, 2), bool),
        scale=1.0,
    )
    c = v @ q.T
    row = np.exp(c) / np.exp(c).sum(1, keepdims=True)
    col = np.exp(c) / np.exp(c).sum(0, keepdims=True)
    np.testing.assert_allclose(t[0], row @ col.T @ v, rtol=1e-6)
    np.testing.assert_allclose(t_bar[0], row @ q, rtol=1e-6)
    # default scale 1/sqrt(d)
    t2, _ = context_query_attention(
        jnp.asarray(v)[None], jnp.asarray(q)[None], jnp.ones((1, 3), bool), jnp.ones((1, 2), bool)
    )
    c = c / np.sqrt(2)
    row = np.exp(c) / np.exp(c).sum(1, keepdims=True)
    col = np.exp(c) / np.exp(c).sum(0, keepdims=True)
    np.testing.assert_allclose(t2[0], row @ col.T @ v, rtol=1e-6)


def test_context_query_padding_changes_no_output_or_gradient():
    rng = np.random.default_rng(0)
    v, q = rng.normal(size=(1, 5, 4)), rng.normal(size=(1, 3, 4))
    vm, qm = jnp.ones((1, 5), bool), jnp.ones((1, 3), bool)
    vp = np.concatenate([v, 100 * rng.normal(size=(1, 2, 4))], 1)
    qp = np.concatenate([q, 100 * rng.normal(size=(1, 4, 4))], 1)
    vpm = jnp.array([[1] * 5 + [0] * 2], bool)
    qpm = jnp.array([[1] * 3 + [0] * 4], bool)

    def f(v_, q_, a, b):
        t, t_bar = context_query_attention(v_, q_, a, b)
        return t, t_bar

    t, tb = f(jnp.asarray(v), jnp.asarray(q), vm, qm)
    tp, tbp = f(jnp.asarray(vp), jnp.asarray(qp), vpm, qpm)
    np.testing.assert_allclose(tp[:, :5], t, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tbp[:, :5], tb, rtol=1e-5, atol=1e-6)
    assert float(jnp.abs(tp[:, 5:]).max()) == 0.0 and float(jnp.abs(tbp[:, 5:]).max()) == 0.0

    def loss(v_, q_, a, b):
        t, t_bar = context_query_attention(v_, q_, a, b)
        return jnp.sum(jnp.sin(t)) + jnp.sum(jnp.cos(t_bar))

    g = jax.grad(loss, argnums=(0, 1))(jnp.asarray(v), jnp.asarray(q), vm, qm)
    gp = jax.grad(loss, argnums=(0, 1))(jnp.asarray(vp), jnp.asarray(qp), vpm, qpm)
    np.testing.assert_allclose(gp[0][:, :5], g[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gp[1][:, :3], g[1], rtol=1e-4, atol=1e-6)
    assert float(jnp.abs(gp[0][:, 5:]).max()) == 0.0 and float(jnp.abs(gp[1][:, 3:]).max()) == 0.0
    jitted = jax.jit(f)(jnp.asarray(vp), jnp.asarray(qp), vpm, qpm)
    np.testing.assert_allclose(jitted[0], tp, rtol=1e-6, atol=1e-7)


def test_alignment_rows_are_the_masks_rows():
    # any rows, in any order, equal those of the whole mask; rows past N + M are empty
    spans = jnp.array([[[0, 2], [3, 5], [0, 5]], [[1, 4], [4, 5], [0, 0]]])
    video, text = jnp.array([[1, 1, 1, 1, 0], [1] * 5], bool), jnp.array([[1, 1, 0], [1] * 3], bool)
    whole = alignment_mask(spans, video, text)
    rows = jnp.array([7, 0, 4, 5, 9, 2, 8])
    got = alignment_rows(spans, video, text, rows)
    np.testing.assert_array_equal(got[:, [0, 1, 2, 3, 5]], whole[:, [7, 0, 4, 5, 2]])
    assert not got[:, [4, 6]].any()


def test_window_sums_by_hand():
    # steps 0-5; sentence 0 covers [0, 3), sentence 1 [2, 5), sentence 2 is padding and an
    # empty window [4, 4) counts nothing
    entries = jnp.array([[1.0, 0.0], [0.0, 10.0], [100.0, 100.0], [7.0, 7.0]])
    spans = jnp.array([[[0, 3], [2, 5], [0, 6], [4, 4]]])
    live = jnp.array([[True, True, False, True]])
    got = window_sums(entries, spans, live, 6)
    want = [[1, 0], [1, 0], [1, 10], [0, 10], [0, 10], [0, 0]]
    np.testing.assert_array_equal(got[0], want)
