"""The compiled programs: one training epoch, and the chunked forward pass.

The jitted functions live at module level, so their compilation cache is
shared by every estimator in the process. Shapes are kept few on purpose:

* training data are padded to a bucketed number of rows, and the number of
  real rows and of minibatches are traced values, so fitting the same
  architecture on another number of samples reuses the compiled epoch;
* prediction runs over chunks of a fixed number of rows per model, so any
  number of rows reuses one compiled forward pass, memory stays bounded,
  and a row's result does not depend on which other rows came with it.

Hyperparameters are passed as float32 scalars for the same reason.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sklearn_jaxmlp._network import (
    forward,
    init_params,
    loss_and_grad_sums,
    regularize,
    regularized_loss_and_grads,
)
from sklearn_jaxmlp._optimizers import (
    AdamHyperparams,
    AdamState,
    SGDHyperparams,
    SGDState,
    adam_init,
    adam_update,
    sgd_init,
    sgd_update,
)

_MIN_BUCKET = 256
_FULL_BATCH_BLOCK = 4096


class EpochConfig(NamedTuple):
    """What an epoch's compiled program depends on besides array shapes."""

    activation: str
    out_activation: str
    solver: str
    nesterov: bool
    batch_size: int  # 0 for full-batch epochs, which depend on no size
    full_batch: bool
    shuffle: bool


class TrainData(NamedTuple):
    """Training rows on the device, padded to a bucketed row count."""

    x: jax.Array
    y: jax.Array
    sample_weight: jax.Array
    n_samples: jax.Array


def bucket_rows(n):
    """Round ``n`` up to a power of two, at least 256.

    Every fit whose row count falls in the same bucket reuses one compiled
    epoch. Padding rows cost memory only: the epoch never computes on them.
    """
    return max(_MIN_BUCKET, 1 << (n - 1).bit_length())


def place_training_data(x, y, sample_weight) -> TrainData:
    """Pad rows with zero weight to a bucketed count and put them on the device."""
    n_samples = x.shape[0]
    n_rows = bucket_rows(n_samples)

    def padded(a):
        out = np.zeros((n_rows,) + a.shape[1:], np.float32)
        out[:n_samples] = a
        return jax.device_put(out)

    return TrainData(
        x=padded(x),
        y=padded(y),
        sample_weight=padded(sample_weight),
        n_samples=jax.device_put(np.int32(n_samples)),
    )


def new_params(seed_key, layer_sizes):
    """Fresh parameters for ``layer_sizes`` (input, hidden..., output)."""
    return _init_params(seed_key, tuple(layer_sizes))


_init_params = jax.jit(init_params, static_argnums=1)


def hyperparams(solver, learning_rate, momentum, beta_1, beta_2, epsilon):
    """The solver's hyperparameters as float32 scalars."""

    def f32(value):
        return np.asarray(value, np.float32)

    if solver == "sgd":
        return SGDHyperparams(f32(learning_rate), f32(momentum))
    return AdamHyperparams(f32(learning_rate), f32(beta_1), f32(beta_2), f32(epsilon))


def optimizer_init(solver, params):
    """The solver's initial state for ``params``."""
    return sgd_init(params) if solver == "sgd" else adam_init(params)


def is_state_of(solver, opt_state):
    """Whether ``opt_state`` is the state of ``solver``'s optimizer."""
    return isinstance(opt_state, SGDState if solver == "sgd" else AdamState)


def _optimizer_update(config, grads, opt_state, params, hyper):
    if config.solver == "sgd":
        return sgd_update(grads, opt_state, params, hyper, config.nesterov)
    return adam_update(grads, opt_state, params, hyper)


@functools.partial(jax.jit, static_argnames="config")
def run_epoch(params, opt_state, data: TrainData, key, alpha, hyper, config):
    """One pass over every sample: shuffle, all minibatches, all updates.

    Returns the new parameters and optimizer state, the epoch's loss (the
    batch losses weighted by their number of rows, as MLPClassifier reports
    it) and whether the loss and every parameter are finite.
    """
    n_rows = data.x.shape[0]
    n = data.n_samples

    def step(params, opt_state, x, y, w):
        loss, grads = regularized_loss_and_grads(
            params, x, y, w, alpha, config.activation, config.out_activation
        )
        params, opt_state = _optimizer_update(config, grads, opt_state, params, hyper)
        return params, opt_state, loss

    if config.full_batch:
        loss, grads = _full_batch_loss_and_grads(params, data, alpha, config)
        params, opt_state = _optimizer_update(config, grads, opt_state, params, hyper)
    else:
        batch_size = config.batch_size
        n_steps_max = -(-n_rows // batch_size)
        order = _epoch_order(key, n_rows, n, config.shuffle)
        order = jnp.pad(order, (0, n_steps_max * batch_size - n_rows))

        def body(i, carry):
            params, opt_state, loss_sum = carry
            start = i * batch_size
            index = jax.lax.dynamic_slice(order, (start,), (batch_size,))
            in_epoch = start + jnp.arange(batch_size) < n
            w = jnp.where(in_epoch, data.sample_weight[index], 0)
            params, opt_state, loss = step(
                params, opt_state, data.x[index], data.y[index], w
            )
            n_in_batch = jnp.minimum(batch_size, n - start)
            return params, opt_state, loss_sum + loss * n_in_batch

        n_steps = (n + batch_size - 1) // batch_size
        carry = (params, opt_state, jnp.zeros((), jnp.float32))
        params, opt_state, loss_sum = jax.lax.fori_loop(0, n_steps, body, carry)
        loss = loss_sum / n

    finite = jnp.isfinite(loss)
    for leaf in jax.tree.leaves(params):
        finite &= jnp.all(jnp.isfinite(leaf))
    return params, opt_state, loss, finite


def _full_batch_loss_and_grads(params, data, alpha, config):
    """Loss and gradients over all rows, summed block by block.

    Only the blocks that hold real rows are computed, so the padding of the
    data to a bucketed size costs memory but no arithmetic.
    """
    n_rows, n_features = data.x.shape
    block = min(n_rows, _FULL_BATCH_BLOCK)

    def body(i, sums):
        start = i * block
        x = jax.lax.dynamic_slice(data.x, (start, 0), (block, n_features))
        y = jax.lax.dynamic_slice(data.y, (start, 0), (block, data.y.shape[1]))
        w = jax.lax.dynamic_slice(data.sample_weight, (start,), (block,))
        block_sums = loss_and_grad_sums(
            params, x, y, w, config.activation, config.out_activation
        )
        return jax.tree.map(jnp.add, sums, block_sums)

    n_blocks = (data.n_samples + block - 1) // block
    zeros = (jnp.zeros((), jnp.float32), jax.tree.map(jnp.zeros_like, params))
    loss_sum, grad_sums = jax.lax.fori_loop(0, n_blocks, body, zeros)
    total_weight = jnp.sum(data.sample_weight)
    return regularize(params, loss_sum, grad_sums, total_weight, alpha)


def _epoch_order(key, n_rows, n, shuffle):
    """Row order for one epoch: the ``n`` real rows first, shuffled or not."""
    if not shuffle:
        return jnp.arange(n_rows, dtype=jnp.int32)
    sort_keys = jax.random.bits(key, (n_rows,), jnp.uint32)
    padding = jnp.arange(n_rows) >= n
    sort_keys = jnp.where(padding, jnp.uint32(0xFFFFFFFF), sort_keys)
    # A stable sort keeps real rows ahead of padding even on equal keys
    return jnp.argsort(sort_keys, stable=True).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames="activation")
def _forward_chunk(params, x, activation):
    return forward(params, x, activation)


def chunk_rows_for(layer_sizes):
    """Rows per prediction chunk: about 64 MFLOP of work, 256 to 8192 rows."""
    flops_per_row = 2 * sum(
        a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
    )
    rows = (1 << 26) // max(flops_per_row, 1)
    rows = 1 << max(rows.bit_length() - 1, 0)
    return min(max(rows, 256), 8192)


def predict_logits(params, x, activation, chunk_rows):
    """Logits of every row of ``x``, computed on the device chunk by chunk."""
    n_samples = x.shape[0]
    n_outputs = params[-1][1].shape[0]
    logits = np.empty((n_samples, n_outputs), np.float32)
    pending = None
    for start in range(0, n_samples, chunk_rows):
        chunk = x[start : start + chunk_rows]
        if chunk.shape[0] < chunk_rows:
            padded = np.zeros((chunk_rows, x.shape[1]), np.float32)
            padded[: chunk.shape[0]] = chunk
            chunk = padded
        result = _forward_chunk(params, np.asarray(chunk, np.float32), activation)
        # Collect the previous chunk while this one runs
        if pending is not None:
            _store(logits, *pending)
        pending = (start, result)
    if pending is not None:
        _store(logits, *pending)
    return logits


def _store(logits, start, result):
    stop = min(start + result.shape[0], logits.shape[0])
    logits[start:stop] = np.asarray(result)[: stop - start]


def params_to_device(coefs, intercepts):
    """Parameters as a pytree of float32 device arrays."""
    return tuple(
        (jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32))
        for w, b in zip(coefs, intercepts, strict=True)
    )


def params_to_numpy(params):
    """Fitted weights as lists of writeable NumPy arrays."""
    coefs = [np.array(w) for w, _ in params]
    intercepts = [np.array(b) for _, b in params]
    return coefs, intercepts
