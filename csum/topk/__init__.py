"""Differentiable top-k selection of clips (docs/method.md). Pure jax.numpy, no Flax.

Every operator shares one contract so that a config can pick one by name::

    select(x, scores, k, *, mask=None, budget=None, **hyper) -> TopK(features, scores, positions)

    x:      [..., T, D] clip features.
    scores: [..., T] clip scores.
    mask:   [..., T] bool, False marks padding, which is never selected (valid clips first).
    k:      static int, the number of outputs.
    budget: optional traced int [...], each video's own number of outputs (<= k, <= its
            valid length), e.g. ``summary_budget(ratio, lengths)``.

Outputs are ``[..., k, D]``, ``[..., k]`` and ``[..., k]`` (a soft time index), in temporal
order. When a video has fewer than ``k`` valid clips, or a budget below k, the outputs
beyond them hold only padding, come last, with score ``PAD_SCORE`` and zero features
(``valid_outputs`` finds them). With a budget, a video's outputs and every gradient equal
those of the same operator run on that video alone, unpadded, with ``k = budget``
(``tests/test_budget.py``); selecting k for everyone and dropping outputs afterwards is not
equivalent (a short video in a long bucket would select all its clips and get no gradient).

Operators (``get(name)`` returns one from the registry; ``DEFAULTS`` holds each one's
hyperparameters, which the configs copy):

* ``successive_halving``: the default, CSUM's Eq. 6 relaxation inside the tournament of
  Pietruszka et al. (AAAI 2021). Hyperparameter ``alpha``.
* ``sinkhorn``: entropic optimal transport of the scores onto a "top" and a "rest" anchor
  (Xie et al., NeurIPS 2020). Hyperparameters ``epsilon`` and ``iterations``.
* ``perturbed``: the expectation of the exact top-k under Gaussian score noise (Berthet et
  al., NeurIPS 2020; its top-k form of Cordonnier et al., CVPR 2021). Hyperparameters
  ``sigma`` and ``samples``.
* ``hard``: exact top-k, for ablations and inference.

Sinkhorn's plan gives each clip a soft membership a_i in [0, 1] with sum_i a_i = k, not k
outputs. ``csum.topk.sinkhorn`` lays the memberships along time into k slots of unit mass: clip i
fills the interval [c_i, c_i + a_i) with c_i = sum_{t<i} a_t, and slot j receives the part
inside [j, j + 1). Slots are in temporal order by construction, a 0/1 membership puts each
chosen clip alone in its slot (the hard top-k), and the map costs O(T D) with no T x k
plan (the k+1-anchor transport of Cuturi et al. 2019 would need T x (k+1): 6 GB at
T = 100,000, k = 15,000).

Modules: ``contract`` (outputs, padding, registry, batching), ``halving``, ``sinkhorn``,
``perturbed``, ``hard`` (one operator each) and ``grouped`` (successive halving's feature
kernel). Every public name is importable from ``csum.topk``.
"""

from csum.topk.budget import ratio_fraction, summary_budget
from csum.topk.contract import (
    OPERATORS,
    PAD_SCORE,
    TopK,
    get,
    valid_outputs,
)
from csum.topk.halving import DEFAULT_ALPHA, depth_bound, halving_depth, successive_halving
from csum.topk.hard import hard
from csum.topk.perturbed import DEFAULT_SIGMA, perturbed
from csum.topk.sinkhorn import DEFAULT_EPSILON, sinkhorn

DEFAULTS = {
    "successive_halving": {"alpha": DEFAULT_ALPHA},
    "sinkhorn": {"epsilon": DEFAULT_EPSILON, "iterations": 30, "solver": "newton"},
    "perturbed": {"sigma": DEFAULT_SIGMA, "samples": 100},
    "hard": {"gradient": "straight_through"},
}
"""Every operator's hyperparameters and defaults; the configs hold a copy under
``topk.<name>`` and pass the chosen operator's to it."""

STOCHASTIC = frozenset({"perturbed"})
"""Operators that take a ``key``."""

__all__ = [
    "DEFAULTS",
    "DEFAULT_ALPHA",
    "DEFAULT_EPSILON",
    "DEFAULT_SIGMA",
    "OPERATORS",
    "PAD_SCORE",
    "STOCHASTIC",
    "TopK",
    "ratio_fraction",
    "summary_budget",
    "depth_bound",
    "get",
    "halving_depth",
    "hard",
    "perturbed",
    "sinkhorn",
    "successive_halving",
    "valid_outputs",
]
