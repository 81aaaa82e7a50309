"""The network's math: initialisation, forward pass, loss and backward pass.

Everything here is a pure function of JAX arrays. Parameters are a tuple of
``(weight, bias)`` pairs, one per layer, with ``weight`` of shape
``(fan_in, fan_out)``. The backward pass is derived by hand, as in the
notebook this project started from: for a softmax or logistic output under
cross-entropy the output delta is ``A - Y``, and each hidden layer multiplies
the propagated delta by its activation's derivative.

The functions return *sums* over the rows of a batch, weighted by a per-row
weight ``w`` (zero for padding). Dividing by the total weight is left to the
caller, so that a batch split across devices can add its partial sums first.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Params = tuple[tuple[jax.Array, jax.Array], ...]


class Activation(NamedTuple):
    """An activation and its derivative, written from pre- and post-values."""

    fn: object
    derivative: object


def _relu_derivative(z, a):
    return (z > 0).astype(a.dtype)


def _logistic_derivative(z, a):
    return a * (1 - a)


def _tanh_derivative(z, a):
    return 1 - a * a


def _identity_derivative(z, a):
    return jnp.ones_like(a)


LEAKY_RELU_SLOPE = 0.01


def _leaky_relu(z):
    return jnp.where(z > 0, z, LEAKY_RELU_SLOPE * z)


def _leaky_relu_derivative(z, a):
    return jnp.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(a.dtype)


def _gelu(z):
    """The exact GELU, z * Phi(z), with Phi the standard normal CDF."""
    return z * _normal_cdf(z)


def _gelu_derivative(z, a):
    # d/dz z Phi(z) = Phi(z) + z phi(z)
    density = jnp.exp(-0.5 * z * z) / jnp.sqrt(2 * jnp.pi).astype(z.dtype)
    return _normal_cdf(z) + z * density


def _normal_cdf(z):
    return 0.5 * (1 + jax.lax.erf(z / jnp.sqrt(2.0).astype(z.dtype)))


ACTIVATIONS = {
    "gelu": Activation(_gelu, _gelu_derivative),
    "identity": Activation(lambda z: z, _identity_derivative),
    "leaky_relu": Activation(_leaky_relu, _leaky_relu_derivative),
    "logistic": Activation(jax.nn.sigmoid, _logistic_derivative),
    "relu": Activation(lambda z: jnp.maximum(z, 0), _relu_derivative),
    "tanh": Activation(jnp.tanh, _tanh_derivative),
}

OUTPUT_ACTIVATIONS = ("logistic", "softmax")


def init_params(normals, layer_sizes) -> Params:
    """Weights N(0, 1) / sqrt(fan_in) from standard normal draws; zero biases.

    ``normals`` is a flat array of at least ``sum(fan_in * fan_out)``
    standard normal draws, consumed layer by layer; the weights are arrays of
    its kind (NumPy or JAX), the biases NumPy zeros.
    """
    params, start = [], 0
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True):
        stop = start + fan_in * fan_out
        weight = normals[start:stop].reshape(fan_in, fan_out) / np.sqrt(fan_in)
        params.append((weight.astype(np.float32), np.zeros(fan_out, np.float32)))
        start = stop
    return tuple(params)


def n_weights(layer_sizes):
    """How many weights (biases aside) a network of ``layer_sizes`` has."""
    return sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:], strict=True))


def forward(params: Params, x, activation: str):
    """Return the output layer's pre-activations (logits) for rows ``x``."""
    act = ACTIVATIONS[activation].fn
    a = x
    for weight, bias in params[:-1]:
        a = act(a @ weight + bias)
    weight, bias = params[-1]
    return a @ weight + bias


def output_probabilities(logits, out_activation: str):
    """Turn logits into probabilities of the output activation."""
    if out_activation == "softmax":
        return jax.nn.softmax(logits, axis=-1)
    return jax.nn.sigmoid(logits)


def row_losses(logits, y, out_activation: str):
    """Cross-entropy of each row, computed stably from the logits.

    For a softmax output ``y`` is one-hot; for a logistic output each column
    of ``y`` is an independent 0/1 target.
    """
    if out_activation == "softmax":
        return -jnp.sum(y * jax.nn.log_softmax(logits, axis=-1), axis=-1)
    return jnp.sum(jax.nn.softplus(logits) - y * logits, axis=-1)


def l2_penalty(params: Params):
    """Half the sum of squared weights (biases are not penalised)."""
    return 0.5 * sum(jnp.sum(weight * weight) for weight, _ in params)


def loss_and_grad_sums(params: Params, x, y, w, activation, out_activation):
    """Weighted loss sum and its gradient sums, by the hand-derived backward pass.

    Parameters
    ----------
    params : tuple of (weight, bias) pairs
    x : array of shape (batch, n_features)
    y : array of shape (batch, n_outputs), 0/1 targets
    w : array of shape (batch,), row weights (0 for padding rows)
    activation, out_activation : str

    Returns
    -------
    loss_sum : scalar, ``sum_i w_i * loss_i`` without the L2 term
    grad_sums : pytree like ``params``, gradients of ``loss_sum``
    """
    act = ACTIVATIONS[activation]

    # Forward pass, keeping each layer's input and pre-activation
    inputs, pre_activations = [x], []
    for weight, bias in params[:-1]:
        z = inputs[-1] @ weight + bias
        pre_activations.append(z)
        inputs.append(act.fn(z))
    weight, bias = params[-1]
    logits = inputs[-1] @ weight + bias

    loss_sum = jnp.sum(w * row_losses(logits, y, out_activation))

    # Output delta: softmax or logistic with cross-entropy gives A - Y
    delta = (output_probabilities(logits, out_activation) - y) * w[:, None]

    # Backward pass, last layer first
    grads = [None] * len(params)
    for layer in range(len(params) - 1, -1, -1):
        grads[layer] = (inputs[layer].T @ delta, jnp.sum(delta, axis=0))
        if layer > 0:
            z, a = pre_activations[layer - 1], inputs[layer]
            delta = (delta @ params[layer][0].T) * act.derivative(z, a)
    return loss_sum, tuple(grads)


def regularize(params: Params, loss_sum, grad_sums, total_weight, alpha):
    """Mean loss and gradients from their sums, with MLPClassifier's L2 term.

    The L2 term is ``alpha / 2 * ||W||^2`` divided by the batch's total
    weight, exactly as scikit-learn's MLP adds it to every batch.
    """
    # A batch whose rows all weigh zero changes nothing
    positive = total_weight > 0
    scale = jnp.where(positive, 1 / jnp.where(positive, total_weight, 1), 0)
    loss = (loss_sum + alpha * l2_penalty(params)) * scale
    grads = tuple(
        ((g_weight + alpha * weight) * scale, g_bias * scale)
        for (weight, _), (g_weight, g_bias) in zip(params, grad_sums, strict=True)
    )
    return loss, grads


def regularized_loss_and_grads(
    params: Params, x, y, w, alpha, activation, out_activation
):
    """Mean loss and gradients of one batch, L2 term included."""
    loss_sum, grad_sums = loss_and_grad_sums(
        params, x, y, w, activation, out_activation
    )
    return regularize(params, loss_sum, grad_sums, jnp.sum(w), alpha)
