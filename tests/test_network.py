import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sklearn_jaxmlp._network import (
    ACTIVATIONS,
    forward,
    init_params,
    l2_penalty,
    loss_and_grad_sums,
    n_weights,
    regularized_loss_and_grads,
    row_losses,
)


def _batch(n_outputs, n_samples=13, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_samples, n_features)).astype(np.float32)
    if n_outputs == 1:
        y = rng.integers(0, 2, size=(n_samples, 1)).astype(np.float32)
    else:
        y = np.eye(n_outputs, dtype=np.float32)[rng.integers(0, n_outputs, n_samples)]
    # Mixed row weights, two of them zero as for padding rows
    w = rng.uniform(0.5, 2.0, size=n_samples).astype(np.float32)
    w[-2:] = 0
    return jnp.asarray(x), jnp.asarray(y), jnp.asarray(w)


def _params(seed, layer_sizes):
    normals = jax.random.normal(jax.random.key(seed), (n_weights(layer_sizes),))
    return init_params(normals, layer_sizes)


def _autodiff_loss(params, x, y, w, alpha, activation, out_activation):
    """The same loss written without the hand-derived pass, for jax.grad."""
    logits = forward(params, x, activation)
    total = jnp.sum(w)
    return (
        jnp.sum(w * row_losses(logits, y, out_activation)) + alpha * l2_penalty(params)
    ) / total


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("alpha", [0.0, 0.3], ids=["alpha0", "alpha0.3"])
@pytest.mark.parametrize(
    "n_outputs, out_activation",
    [(1, "logistic"), (4, "softmax")],
    ids=["binary", "multiclass"],
)
def test_backward_pass_matches_jax_grad(activation, alpha, n_outputs, out_activation):
    x, y, w = _batch(n_outputs)
    params = _params(1, (5, 7, 6, n_outputs))
    # Non-zero biases so that every term of the backward pass is exercised
    params = tuple((wt, b + 0.1 * jnp.arange(b.size)) for wt, b in params)
    alpha = jnp.float32(alpha)

    static = {"activation": activation, "out_activation": out_activation}
    loss, grads = jax.jit(regularized_loss_and_grads, static_argnames=list(static))(
        params, x, y, w, alpha, **static
    )
    expected_loss, expected_grads = jax.jit(
        jax.value_and_grad(_autodiff_loss), static_argnames=list(static)
    )(params, x, y, w, alpha, **static)

    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    for got, expected in zip(
        jax.tree.leaves(grads), jax.tree.leaves(expected_grads), strict=True
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_backward_pass_without_hidden_layers():
    x, y, w = _batch(3)
    params = _params(0, (5, 3))
    loss_sum, grads = loss_and_grad_sums(params, x, y, w, "relu", "softmax")
    expected = jax.grad(
        lambda p: jnp.sum(w * row_losses(forward(p, x, "relu"), y, "softmax"))
    )(params)
    for got, want in zip(
        jax.tree.leaves(grads), jax.tree.leaves(expected), strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_zero_weight_rows_change_nothing():
    x, y, w = _batch(4)
    params = _params(2, (5, 8, 4))
    loss, grads = regularized_loss_and_grads(
        params, x, y, w, jnp.float32(0.1), "tanh", "softmax"
    )
    # Garbage in the rows that weigh zero must not leak into the result
    x_dirty = x.at[-2:].set(1e3)
    loss_dirty, grads_dirty = regularized_loss_and_grads(
        params, x_dirty, y, w, jnp.float32(0.1), "tanh", "softmax"
    )
    np.testing.assert_array_equal(loss, loss_dirty)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads_dirty), strict=True):
        np.testing.assert_array_equal(a, b)


def test_batch_of_zero_weight_gives_zero_gradients():
    x, y, _ = _batch(4)
    params = _params(2, (5, 8, 4))
    loss, grads = regularized_loss_and_grads(
        params, x, y, jnp.zeros(x.shape[0]), jnp.float32(0.1), "relu", "softmax"
    )
    assert float(loss) == 0
    assert all(float(jnp.abs(g).max()) == 0 for g in jax.tree.leaves(grads))


def test_init_params_follow_the_notebook():
    params = _params(0, (400, 300, 10))
    assert n_weights((400, 300, 10)) == 400 * 300 + 300 * 10
    assert [(w.shape, b.shape) for w, b in params] == [
        ((400, 300), (300,)),
        ((300, 10), (10,)),
    ]
    for (weight, bias), fan_in in zip(params, (400, 300), strict=True):
        assert weight.dtype == jnp.float32
        assert float(jnp.abs(bias).max()) == 0
        # N(0, 1) / sqrt(fan_in): the standard deviation is 1 / sqrt(fan_in)
        std = float(jnp.std(weight)) * np.sqrt(fan_in)
        assert std == pytest.approx(1.0, abs=0.05)
        assert float(jnp.mean(weight)) == pytest.approx(0.0, abs=0.01)


def test_row_losses_are_finite_for_extreme_logits():
    logits = jnp.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], jnp.float32)
    y = jnp.eye(3, dtype=jnp.float32)[jnp.array([0, 0])]
    np.testing.assert_allclose(row_losses(logits, y, "softmax"), [0.0, 2e4])
    binary = jnp.array([[1e4], [-1e4]], jnp.float32)
    targets = jnp.array([[0.0], [0.0]], jnp.float32)
    np.testing.assert_allclose(row_losses(binary, targets, "logistic"), [1e4, 0.0])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activation_derivatives_match_jax_grad(activation):
    act = ACTIVATIONS[activation]
    z = jnp.linspace(-3, 3, 61)  # no exact zero, where relu has no derivative
    expected = jax.vmap(jax.grad(act.fn))(z)
    np.testing.assert_allclose(
        act.derivative(z, act.fn(z)), expected, rtol=1e-5, atol=1e-7
    )
