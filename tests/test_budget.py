"""Per-video budgets: exact integers, and padded videos that select as if alone."""

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from csum import topk
from csum.data.batching import collate
from csum.model.summarizer import ModelSpec, build_summarizer
from csum.objectives.contrastive import csum_loss
from experiments.configs.common import make

OPS = ["successive_halving", "sinkhorn", "perturbed", "hard"]
LENGTHS = (40, 298, 100, 7, 1, 320, 64, 5, 2)  # one of them fills the 320 bucket


@pytest.mark.parametrize("ratio", [0.15, 0.1, 0.5, 0.3, 1.0, 0.0625, 1 / 3])
def test_summary_budget_is_exact_for_every_length_below_100k(ratio):
    T = np.arange(100_000)
    frac = Fraction(ratio).limit_denominator(10_000)
    p, q = frac.numerator, frac.denominator
    exact = -(-p * T // q)  # ceil(p T / q) in Python-size integers
    np.testing.assert_array_equal(topk.summary_budget(ratio, T), exact)
    traced = jax.jit(lambda t: topk.summary_budget(ratio, t))(jnp.asarray(T, jnp.int32))
    np.testing.assert_array_equal(traced, exact)
    assert topk.summary_budget(ratio, 100) == -(-p * 100 // q)


def test_summary_budget_known_answers_and_float_trap():
    assert topk.summary_budget(0.15, 100) == 15  # float32 ceil(0.15 * 100) is 16
    assert float(jnp.ceil(jnp.float32(0.15) * 100)) == 16
    assert topk.summary_budget(0.15, 0) == 0 and topk.summary_budget(0.15, 1) == 1
    assert topk.ratio_fraction(0.15) == Fraction(3, 20)


@pytest.mark.parametrize("ratio", [0.0, -0.1, 1.5, 0.123456789])
def test_bad_ratios_are_refused(ratio):
    with pytest.raises(ValueError, match="ratio"):
        topk.ratio_fraction(ratio)


def _batch(T=320, D=6):
    B = len(LENGTHS)
    x = jax.random.normal(jax.random.key(0), (B, T, D))
    s = jax.random.uniform(jax.random.key(1), (B, T))
    lengths = jnp.array(LENGTHS)
    mask = jnp.arange(T)[None] < lengths[:, None]
    return x, s, mask, topk.summary_budget(0.15, lengths), topk.summary_budget(0.15, T)


def _objective(out, g):
    """A loss of every output: features, scores and positions of the valid outputs."""
    ok = topk.valid_outputs(out)
    f = jnp.sum(jnp.where(ok[..., None], out.features * g, 0))
    return f + 0.01 * jnp.sum(jnp.where(ok, out.scores * out.positions, 0))


@pytest.mark.parametrize("name", OPS)
def test_padded_video_selects_and_differentiates_as_if_alone(name):
    """Outputs inside the budget, and gradients to scores and x, equal the unpadded run."""
    x, s, mask, budget, k = _batch()
    op, key = topk.get(name), jax.random.key(7)
    extra = {"key": key} if name in topk.STOCHASTIC else {}
    g = jax.random.normal(jax.random.key(3), (len(LENGTHS), k, x.shape[-1]))

    def batched(x, s):
        out = op(x, s, k, mask=mask, budget=budget, **extra)
        return _objective(out, g), out

    (_, out), (gx, gs) = jax.jit(jax.value_and_grad(batched, (0, 1), has_aux=True))(x, s)
    assert np.asarray(topk.valid_outputs(out)).sum(1).tolist() == np.asarray(budget).tolist()
    keys = jax.random.split(key, len(LENGTHS))
    for b, n in enumerate(LENGTHS):
        kb = int(budget[b])
        alone_extra = {"key": keys[b]} if extra else {}

        def alone(xb, sb, b=b, kb=kb, alone_extra=alone_extra):
            out = op(xb, sb, kb, **alone_extra)
            return _objective(out, g[b, :kb]), out

        # jit (test_topk.py compares jit with eager): eager successive halving took 80 s
        grad = jax.jit(jax.value_and_grad(alone, (0, 1), has_aux=True))
        (_, ref), (gx1, gs1) = grad(x[b, :n], s[b, :n])

        def close(a, ref, n=n):
            # Relative to the largest entry; a video that keeps all its clips has a zero
            # true score gradient, so the floor is the O(1) scale of g and x.
            scale = max(float(jnp.max(jnp.abs(ref))), 1e-2)
            assert float(jnp.max(jnp.abs(a - ref))) <= 1e-4 * scale, (name, n)

        close(out.features[b, :kb], ref.features)
        close(out.scores[b, :kb], ref.scores)
        close(out.positions[b, :kb], ref.positions)
        close(gs[b, :n], gs1)
        close(gx[b, :n], gx1)
        assert float(jnp.abs(gs[b, n:]).max(initial=0)) == 0  # padding gets no gradient
        assert float(jnp.abs(out.features[b, kb:]).max(initial=0)) == 0
        if name != "hard":  # a soft operator gives a video in a long bucket a real gradient
            assert n == kb or float(jnp.abs(gs1).max()) > 0


def test_depth_bound_covers_every_budget_and_is_tight():
    for ratio in (0.15, 0.1, 0.5, 1 / 3, 1.0):
        d = topk.depth_bound(ratio)
        n = np.arange(1, 5000)
        depth = [topk.halving_depth(int(t), int(topk.summary_budget(ratio, t))) for t in n]
        assert max(depth) == d, ratio
    x, s, mask, budget, k = _batch()
    a = topk.successive_halving(x, s, k, mask=mask, budget=budget)
    b = topk.successive_halving(x, s, k, mask=mask, budget=budget, max_depth=3)
    np.testing.assert_allclose(a.features, b.features, rtol=1e-6, atol=1e-6)


def test_budget_equal_to_k_on_a_full_video_is_the_plain_operator():
    x, s, *_ = _batch(T=100)
    for name in ("successive_halving", "sinkhorn"):
        a = topk.get(name)(x[0], s[0], 15)
        b = topk.get(name)(x[0], s[0], 15, budget=jnp.int32(15))
        np.testing.assert_allclose(a.features, b.features, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a.positions, b.positions, rtol=1e-5)


@pytest.mark.parametrize("name", ["successive_halving", "sinkhorn", "perturbed"])
def test_csum_loss_and_gradients_do_not_depend_on_the_bucket(small_videos, name):
    """The same batch padded to its own bucket and to a much longer one: same loss, same
    gradient for every parameter (float32, so that only summation order differs)."""
    config = make("tvsum", "msva", "synthetic,quick")
    config.unlock()
    config.compute_dtype = "float32"
    videos = sorted(small_videos.values(), key=lambda v: v.n_steps)[:4]
    in_dims = videos[0].dims
    longest = max(v.n_steps for v in videos)
    short = collate(videos, 4, [longest])
    long = collate(videos, 4, [2 * longest + 37])
    hyper = dict(config.topk[name]) if name in config.topk else {}

    def run(batch):
        model = build_summarizer(ModelSpec.from_config(config), in_dims, seed=0)
        nnx.reseed(model, dropout=jax.random.key(5), topk=jax.random.key(6))

        # jitted (an eager gradient through the operators' loops runs op by op, for
        # minutes), with the batch an argument as in training
        def value(m, b):
            return csum_loss(m, b, ratio=0.15, tau=0.5, operator=name, operator_kwargs=hyper)

        return nnx.jit(nnx.value_and_grad(value))(model, batch)

    (l1, g1), (l2, g2) = run(short), run(long)
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2), strict=True):
        scale = float(jnp.max(jnp.abs(a))) + 1e-12
        assert float(jnp.max(jnp.abs(a - b))) <= 1e-4 * scale
    assert max(float(jnp.abs(a).max()) for a in jax.tree.leaves(g1)) > 0


def test_bank_of_every_training_video_leaves_out_the_batch_and_is_padding_free(small_videos):
    """loss.negatives="all": each step also contrasts against every training video's
    embedding, minus the batch's own; the bank's padding rows change nothing."""
    from csum.data.batching import default_buckets
    from csum.model.banks import video_bank

    config = make("tvsum", "msva", "synthetic,quick")
    config.unlock()
    config.compute_dtype = "float32"
    videos = sorted(small_videos.values(), key=lambda v: v.n_steps)
    model = build_summarizer(ModelSpec.from_config(config), videos[0].dims, seed=0)
    model.eval()
    buckets = default_buckets(max(v.n_steps for v in videos))
    emb, present = video_bank(model, videos, 4, buckets)
    assert emb.shape[0] % 64 == 0 and int(present.sum()) == len(videos)
    batch = collate(videos[:4], 4, buckets, index=[0, 1, 2, 3])
    with_bank = csum_loss(
        model,
        batch,
        ratio=0.15,
        tau=0.5,
        operator="successive_halving",
        operator_kwargs={},
        bank=(emb, present),
    )
    # The same loss with the bank's other videos (4..) given by hand as a smaller bank, to
    # a batch whose slots name no bank row (index -1).
    others = (emb[4 : len(videos)], jnp.ones(len(videos) - 4, bool))
    anonymous = collate(videos[:4], 4, buckets)
    by_hand = csum_loss(
        model,
        anonymous,
        ratio=0.15,
        tau=0.5,
        operator="successive_halving",
        operator_kwargs={},
        bank=others,
    )
    np.testing.assert_allclose(with_bank, by_hand, rtol=1e-5)
    plain = csum_loss(
        model, batch, ratio=0.15, tau=0.5, operator="successive_halving", operator_kwargs={}
    )
    assert float(with_bank) > float(plain)  # more negatives, a larger loss
