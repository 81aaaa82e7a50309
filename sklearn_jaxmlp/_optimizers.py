"""Pure optimizer steps over parameter pytrees.

Both optimizers follow scikit-learn's definitions, so that a model trained
here follows the same path as ``MLPClassifier`` from the same start:

* SGD keeps a velocity ``v <- momentum * v - lr * g``; the update is ``v``,
  or ``momentum * v - lr * g`` with Nesterov's momentum.
* Adam keeps first and second moments and scales the learning rate by
  ``sqrt(1 - beta_2**t) / (1 - beta_1**t)``.

Hyperparameters arrive as traced scalars, so that changing a value (or a
learning rate that decays between epochs) compiles nothing new.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class SGDHyperparams(NamedTuple):
    learning_rate: jax.Array
    momentum: jax.Array


class SGDState(NamedTuple):
    velocity: tuple


class AdamHyperparams(NamedTuple):
    learning_rate: jax.Array
    beta_1: jax.Array
    beta_2: jax.Array
    epsilon: jax.Array


class AdamState(NamedTuple):
    count: jax.Array
    mu: tuple
    nu: tuple


def _zeros_like(params):
    # Host zeros: they reach the device with the first step, and creating
    # them compiles nothing
    return jax.tree.map(lambda p: np.zeros(np.shape(p), np.float32), params)


def sgd_init(params) -> SGDState:
    """Zero velocities shaped like ``params``."""
    return SGDState(velocity=_zeros_like(params))


def sgd_update(grads, state: SGDState, params, hyper: SGDHyperparams, nesterov):
    """One SGD step; returns ``(params, state)``."""
    lr, momentum = hyper.learning_rate, hyper.momentum
    velocity = jax.tree.map(lambda v, g: momentum * v - lr * g, state.velocity, grads)
    if nesterov:
        updates = jax.tree.map(lambda v, g: momentum * v - lr * g, velocity, grads)
    else:
        updates = velocity
    params = jax.tree.map(jnp.add, params, updates)
    return params, SGDState(velocity=velocity)


def adam_init(params) -> AdamState:
    """Zero moments shaped like ``params`` and a step count of zero."""
    return AdamState(
        count=np.zeros((), np.int32), mu=_zeros_like(params), nu=_zeros_like(params)
    )


def adam_update(grads, state: AdamState, params, hyper: AdamHyperparams):
    """One Adam step; returns ``(params, state)``."""
    beta_1, beta_2 = hyper.beta_1, hyper.beta_2
    count = state.count + 1
    mu = jax.tree.map(lambda m, g: beta_1 * m + (1 - beta_1) * g, state.mu, grads)
    nu = jax.tree.map(lambda v, g: beta_2 * v + (1 - beta_2) * g * g, state.nu, grads)

    # Bias correction folded into the step size
    t = count.astype(hyper.learning_rate.dtype)
    step_size = hyper.learning_rate * jnp.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    params = jax.tree.map(
        lambda p, m, v: p - step_size * m / (jnp.sqrt(v) + hyper.epsilon),
        params,
        mu,
        nu,
    )
    return params, AdamState(count=count, mu=mu, nu=nu)
