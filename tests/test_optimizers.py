"""The optimizers against scikit-learn's own, step by step."""

import jax
import numpy as np
import pytest
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from sklearn_jaxmlp._optimizers import (
    AdamHyperparams,
    SGDHyperparams,
    adam_init,
    adam_update,
    sgd_init,
    sgd_update,
)


def _params_and_grads(n_steps, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (3,), (3, 2), (2,)]
    params = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(n_steps)]
    return params, grads


def _as_tree(flat):
    """scikit-learn's flat [coefs..., intercepts...] as our ((w, b), ...)."""
    half = len(flat) // 2
    return tuple(
        (np.float32(w), np.float32(b))
        for w, b in zip(flat[:half], flat[half:], strict=True)
    )


def _ours_flat(tree):
    return [np.asarray(w) for w, _ in tree] + [np.asarray(b) for _, b in tree]


def _reorder(flat):
    """Our tests draw [w0, b0, w1, b1]; scikit-learn orders coefs first."""
    return [flat[0], flat[2], flat[1], flat[3]]


@pytest.mark.parametrize("nesterov", [True, False], ids=["nesterov", "classic"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_scikit_learn(momentum, nesterov):
    params, grads = _params_and_grads(n_steps=5)
    params, grads = _reorder(params), [_reorder(g) for g in grads]
    reference = [p.copy() for p in params]
    sk = SGDOptimizer(
        reference, learning_rate_init=0.05, momentum=momentum, nesterov=nesterov
    )
    hyper = SGDHyperparams(np.float32(0.05), np.float32(momentum))
    ours = _as_tree(params)
    state = sgd_init(ours)
    update = jax.jit(sgd_update, static_argnums=4)
    for step_grads in grads:
        sk.update_params(reference, step_grads)
        ours, state = update(_as_tree(step_grads), state, ours, hyper, nesterov)
    for got, want in zip(_ours_flat(ours), reference, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_adam_matches_scikit_learn():
    params, grads = _params_and_grads(n_steps=7, seed=1)
    params, grads = _reorder(params), [_reorder(g) for g in grads]
    reference = [p.copy() for p in params]
    sk = AdamOptimizer(
        reference, learning_rate_init=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-7
    )
    hyper = AdamHyperparams(*np.float32([0.01, 0.8, 0.99, 1e-7]))
    ours = _as_tree(params)
    state = adam_init(ours)
    update = jax.jit(adam_update)
    for step_grads in grads:
        sk.update_params(reference, step_grads)
        ours, state = update(_as_tree(step_grads), state, ours, hyper)
    assert int(state.count) == len(grads)
    for got, want in zip(_ours_flat(ours), reference, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
