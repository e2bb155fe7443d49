"""Window distance (Eq. 4), projector, NT-Xent (Eq. 1) and mixed-precision products."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from csum.nn import precision, windows
from csum.nn.projector import WindowProjector
from csum.objectives.contrastive import ntxent


def test_window_mask_known_answers():
    mask = jnp.array([[1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(
        windows.window_mask(mask, 3),
        [[1, 1, 1, 0], [1, 0, 0, 0]],  # short: first window only
    )
    np.testing.assert_array_equal(windows.window_mask(mask, 1), mask)


def test_safe_normalize_has_finite_gradient_at_zero():
    g = jax.grad(lambda v: windows.safe_normalize(v).sum())(jnp.zeros(4))
    assert bool(jnp.all(jnp.isfinite(g)))
    np.testing.assert_allclose(
        jnp.linalg.norm(windows.safe_normalize(jnp.ones(4) * 3)), 1, rtol=1e-6
    )


def test_window_one_equals_projected_mean():
    p = WindowProjector(6, window=1, hidden=8, embed=4, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (2, 9, 6))
    mask = jnp.arange(9)[None] < jnp.array([[9], [5]])
    z = p.out(jax.nn.relu(x @ p.kernel[0] + p.bias))
    expect = [windows.safe_normalize(z[b, : int(mask[b].sum())]).mean(0) for b in range(2)]
    np.testing.assert_allclose(p(x, mask), jnp.stack(expect), rtol=1e-5, atol=1e-6)


def test_conv_equals_lax_conv():
    p = WindowProjector(5, window=4, hidden=7, embed=3, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(2), (2, 11, 5))
    ref = (
        jax.lax.conv_general_dilated(
            x, p.kernel[...], (1,), "VALID", dimension_numbers=("NWC", "WIO", "NWC")
        )
        + p.bias[...]
    )
    np.testing.assert_allclose(p.conv(x), ref, rtol=1e-5, atol=1e-5)


def test_masked_windows_change_nothing():
    p = WindowProjector(6, window=3, hidden=8, embed=4, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (1, 12, 6))
    mask = jnp.arange(12)[None] < 8
    a = p(x, mask)
    b = p(x.at[:, 8:].set(50.0), mask)
    c = p(x[:, :8], mask[:, :8])
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a, c, atol=1e-6)


def test_sequence_shorter_than_window_is_one_zero_padded_window():
    p = WindowProjector(6, window=10, hidden=8, embed=4, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (1, 4, 6))
    out = p(x, jnp.ones((1, 4), bool))
    padded = jnp.pad(x, ((0, 0), (0, 6), (0, 0)))
    z = p.out(jax.nn.relu(p.conv(padded)))[0, 0]
    np.testing.assert_allclose(out[0], windows.safe_normalize(z), rtol=1e-5)


def test_ntxent_matches_optax_on_unit_embeddings():
    u = windows.safe_normalize(jax.random.normal(jax.random.key(0), (5, 8)))
    v = windows.safe_normalize(jax.random.normal(jax.random.key(1), (5, 8)))
    ours = ntxent(u, v, jnp.ones(5, bool), tau=0.2)
    labels = jnp.concatenate([jnp.arange(5), jnp.arange(5)])
    theirs = optax.losses.ntxent(jnp.concatenate([u, v]), labels, temperature=0.2)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_ntxent_hand_computed_and_invalid_slots():
    u = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    v = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    # anchor u1: positive v1 (sim 1), negatives u2 (0), v2 (0)
    expect = -1.0 + np.log(np.exp(1.0) + 2.0)
    np.testing.assert_allclose(ntxent(u, v, jnp.ones(2, bool), 1.0), expect, rtol=1e-6)
    # a third, invalid slot with any content changes nothing
    u3 = jnp.concatenate([u, jnp.array([[1.0, 0.0]])])
    v3 = jnp.concatenate([v, jnp.array([[7.0, 7.0]])])
    np.testing.assert_allclose(ntxent(u3, v3, jnp.array([1, 1, 0], bool), 1.0), expect, rtol=1e-6)


# The attention products; "bts,btd->bsd" sums over neither operand's last axis, which
# takes the physically-transposed path of csum.nn.precision (also inside the others' VJPs).
@pytest.mark.parametrize(
    "spec,sa,sb",
    [
        ("btd,bsd->bts", (2, 5, 8), (2, 6, 8)),
        ("bts,bsd->btd", (2, 5, 6), (2, 6, 8)),
        ("bts,btd->bsd", (2, 5, 6), (2, 5, 8)),
        ("...k,kn->...n", (2, 3, 8), (8, 4)),
    ],
)
def test_mixed_einsum_value_and_gradient_close_to_float32(spec, sa, sb):
    a = jax.random.normal(jax.random.key(0), sa)
    b = jax.random.normal(jax.random.key(1), sb)

    def f(a, b, dt):
        return jnp.sum(jnp.sin(precision.einsum(spec, a, b, dt)))

    exact = jax.grad(f, (0, 1))(a, b, jnp.float32)
    mixed = jax.jit(jax.grad(f, (0, 1)), static_argnums=2)(a, b, jnp.bfloat16)
    for e, m in zip(exact, mixed, strict=True):
        assert m.dtype == jnp.float32
        np.testing.assert_allclose(m, e, atol=0.05 * float(jnp.abs(e).max()))


def test_ntxent_bank_rows_are_extra_negatives():
    u = windows.safe_normalize(jax.random.normal(jax.random.key(0), (3, 6)))
    v = windows.safe_normalize(jax.random.normal(jax.random.key(1), (3, 6)))
    bank = windows.safe_normalize(jax.random.normal(jax.random.key(2), (4, 6)))
    valid = jnp.ones(3, bool)
    # No usable bank row: the plain loss.
    none = ntxent(u, v, valid, 0.3, bank, jnp.zeros(4, bool))
    np.testing.assert_allclose(none, ntxent(u, v, valid, 0.3), rtol=1e-6)
    # Usable rows: each anchor's denominator gains exp(<a, b>/tau) for every row, by hand.
    keep = jnp.array([True, False, True, True])
    e = np.concatenate([u, v])
    pos = np.concatenate([np.arange(3, 6), np.arange(3)])
    expect = []
    for a in range(6):
        logits = [e[a] @ e[c] / 0.3 for c in range(6) if c != a]
        logits += [e[a] @ np.asarray(bank[r]) / 0.3 for r in range(4) if keep[r]]
        expect.append(np.log(np.sum(np.exp(logits))) - e[a] @ e[pos[a]] / 0.3)
    got = ntxent(u, v, valid, 0.3, bank, keep)
    np.testing.assert_allclose(got, np.mean(expect), rtol=1e-5)
    # No gradient flows into the bank.
    g = jax.grad(lambda b: ntxent(u, v, valid, 0.3, b, keep))(bank)
    assert float(jnp.abs(g).max()) == 0.0
