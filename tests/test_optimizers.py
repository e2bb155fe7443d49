"""csum.training.optim's optimizers: AdamW and Lion, one step by hand; an unknown name."""

import jax.numpy as jnp
import numpy as np
import pytest

from csum.training.optim import OptimizerSpec, make_optimizer


def config(name, lr=0.1, wd=0.01, clip=1e6):
    """The ``train`` and ``projector`` nodes of a run config that the spec reads."""
    return {
        "train": {"optimizer": name, "lr": lr, "weight_decay": wd, "max_grad_norm": clip},
        "projector": {"trainable": True},
    }


def test_lion_first_step_is_the_sign_of_the_gradient_plus_decay():
    """Lion, step 1 (momentum 0): update = -lr * (sign((1 - b1) g) + wd * p)."""
    params = {"w": jnp.array([1.0, -2.0, 0.5])}
    grads = {"w": jnp.array([0.3, -1e-3, -4.0])}
    opt = make_optimizer(OptimizerSpec.from_config(config("lion")))
    update, _ = opt.update(grads, opt.init(params), params)
    want = -0.1 * (np.sign([0.3, -1e-3, -4.0]) + 0.01 * np.array([1.0, -2.0, 0.5]))
    np.testing.assert_allclose(update["w"], want, rtol=1e-6)


def test_adamw_first_step_is_lr_times_unit_steps_plus_decay():
    """AdamW, step 1 (bias-corrected moments): update = -lr * (g / (|g| + eps) + wd * p)."""
    params = {"w": jnp.array([1.0, -2.0])}
    grads = {"w": jnp.array([0.5, -3.0])}
    opt = make_optimizer(OptimizerSpec.from_config(config("adamw")))
    update, _ = opt.update(grads, opt.init(params), params)
    want = -0.1 * (
        np.array([0.5, -3.0]) / (np.abs([0.5, -3.0]) + 1e-8) + 0.01 * np.array([1.0, -2.0])
    )
    np.testing.assert_allclose(update["w"], want, rtol=1e-5)


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="train.optimizer='sgd'"):
        make_optimizer(OptimizerSpec.from_config(config("sgd")))
