"""The compiled programs: training epochs, full-batch objectives, prediction.

The jitted functions live at module level, so their compilation cache is
shared by every estimator in the process. Shapes are kept few on purpose:

* dense training data are padded to a power-of-two number of rows, and the
  number of real rows and of minibatches are traced values, so fitting the
  same architecture on another number of samples in that bucket reuses the
  compiled epoch;
* a network with few inputs (at most 64) is compiled for a multiple of 16
  inputs, and a softmax output with fewer than 8 classes for 8: the extra
  inputs are zero columns with zero weights, the extra classes have zero
  weights and a bias of -1e30, so their probability is exactly 0 and every
  gradient they receive is 0 (see :func:`compiled_sizes`). Small problems
  of nearby shapes, such as scikit-learn's estimator checks, then share
  programs;
* prediction runs over chunks of a fixed number of rows per model (and one
  smaller program for inputs of at most 256 rows), so any number of rows
  reuses a compiled forward pass, memory stays bounded, and a row's result
  does not depend on which other rows came with it.

Hyperparameters are passed as float32 scalars for the same reason.

Dense data live on the device for the whole fit and an epoch is a single
compiled call. Across the devices of a mesh (``data_parallel``), the same
epoch runs under ``jax.shard_map``: parameters replicated, each minibatch
split between the devices, the gradient sums added with ``psum`` before
each update. Sparse data stay on the host: each minibatch (or block of a
full batch) is made dense on its own and sent to a compiled step, so memory
follows ``batch_size * n_features`` and the whole matrix is never densified.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from sklearn_jaxmlp._devices import MESH_AXIS
from sklearn_jaxmlp._network import (
    forward,
    init_params,
    loss_and_grad_sums,
    n_weights,
    regularize,
    row_losses,
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
_NARROW_INPUTS = 64
_INPUT_MULTIPLE = 16
_MIN_SOFTMAX_OUTPUTS = 8
_ABSENT_CLASS_BIAS = -1e30
_BLOCK_ROWS = 4096
_SMALL_DENSE_BYTES = 64 << 20
# Below this many floating-point operations, an epoch or a prediction chunk
# uses the program compiled for small work (see _two_ways)
_SMALL_WORK = 1 << 29
_SMALL_WORK_OPTIONS = {
    "xla_cpu_use_fusion_emitters": False,
    "xla_backend_optimization_level": 1,
}


class EpochConfig(NamedTuple):
    """What a compiled program depends on besides array shapes."""

    activation: str
    out_activation: str
    solver: str
    nesterov: bool
    batch_size: int  # 0 for full-batch epochs, which depend on no size
    full_batch: bool
    shuffle: bool


class TrainData(NamedTuple):
    """Rows on the device, padded to a bucketed row count with zero weight."""

    x: jax.Array
    y: jax.Array
    sample_weight: jax.Array
    n_samples: jax.Array


# Data


def bucket_rows(n):
    """Round ``n`` up to a power of two, at least 256.

    Every fit whose row count falls in the same bucket reuses one compiled
    epoch. Padding rows cost memory only: the epoch never computes on them.
    """
    return max(_MIN_BUCKET, 1 << (n - 1).bit_length())


def place_training_data(x, y, sample_weight) -> TrainData:
    """Pad dense rows with zero weight to a bucketed count; put them on the device."""
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


def place(x, y, sample_weight, mesh=None, split_rows=False):
    """Training rows where the epochs will read them.

    Dense rows go to the device. Sparse rows stay on the host as CSR and
    are made dense a batch at a time, unless their dense form is small
    (at most 64 MiB once padded): then they go to the device dense too.

    With a ``mesh``, the rows must be dense, or sparse and small. They are
    copied to every device of the mesh, or with ``split_rows`` (for
    full-batch training) split into one block per device.
    """
    if sp.issparse(x):
        if bucket_rows(x.shape[0]) * x.shape[1] * 4 > _SMALL_DENSE_BYTES:
            if mesh is not None:
                raise ValueError(
                    "Training on several devices (data_parallel) needs dense "
                    f"X, or sparse X whose dense form fits in "
                    f"{_SMALL_DENSE_BYTES >> 20} MiB; X is a sparse matrix of "
                    f"shape {x.shape}. Densify it (X.toarray()) if memory "
                    "allows, or set data_parallel=False."
                )
            return (
                x.tocsr().astype(np.float32),
                np.asarray(y, np.float32),
                sample_weight,
            )
        x = x.toarray()
    if mesh is None:
        return place_training_data(x, y, sample_weight)
    if split_rows:
        return _place_row_blocks(x, y, sample_weight, mesh)
    return replicate(_padded_rows(x, y, sample_weight), mesh)


def _padded_rows(x, y, sample_weight, n_rows=None):
    """Rows as a host :class:`TrainData`, padded with zero weight."""
    n_samples = x.shape[0]
    n_rows = bucket_rows(n_samples) if n_rows is None else n_rows

    def padded(a):
        out = np.zeros((n_rows,) + np.shape(a)[1:], np.float32)
        out[:n_samples] = a
        return out

    return TrainData(
        x=padded(x),
        y=padded(y),
        sample_weight=padded(sample_weight),
        n_samples=np.int32(n_samples),
    )


def replicate(tree, mesh):
    """A copy of every array of ``tree`` on each device of ``mesh``."""
    return _put(tree, NamedSharding(mesh, P()))


def _put(tree, sharding):
    """Host arrays laid out on devices by ``sharding``.

    Each process places only the pieces its own devices hold, so this
    works the same when the mesh spans several processes.
    """

    def put(a):
        a = np.asarray(a)
        return jax.make_array_from_callback(a.shape, sharding, lambda index: a[index])

    return jax.tree.map(put, tree)


def _place_row_blocks(x, y, sample_weight, mesh):
    """Rows split into one block per device, each padded to the same size.

    Device d holds rows ``[d * share, (d + 1) * share)`` (``share`` the
    rows divided by the devices, rounded up); ``n_samples`` holds each
    block's number of real rows.
    """
    n_samples, n_devices = x.shape[0], mesh.size
    share = -(-n_samples // n_devices)
    block_rows = bucket_rows(share)
    blocks = [
        _padded_rows(
            x[d * share : (d + 1) * share],
            y[d * share : (d + 1) * share],
            sample_weight[d * share : (d + 1) * share],
            block_rows,
        )
        for d in range(n_devices)
    ]
    host = TrainData(
        x=np.concatenate([b.x for b in blocks]),
        y=np.concatenate([b.y for b in blocks]),
        sample_weight=np.concatenate([b.sample_weight for b in blocks]),
        n_samples=np.array([b.n_samples for b in blocks], np.int32),
    )
    return _put(host, NamedSharding(mesh, P(MESH_AXIS)))


def compiled_sizes(layer_sizes, out_activation):
    """The layer sizes the training and prediction programs are built for.

    At most 64 inputs are rounded up to a multiple of 16, and fewer than 8
    softmax outputs to 8; other sizes are kept. :func:`pad_params` and
    :func:`pad_columns` widen parameters and data to match.
    """
    n_inputs, *hidden, n_outputs = layer_sizes
    if n_inputs <= _NARROW_INPUTS:
        n_inputs = -(-n_inputs // _INPUT_MULTIPLE) * _INPUT_MULTIPLE
    if out_activation == "softmax":
        n_outputs = max(n_outputs, _MIN_SOFTMAX_OUTPUTS)
    return (n_inputs, *hidden, n_outputs)


def pad_params(params, sizes):
    """Host parameters widened to ``sizes``, as float32 NumPy arrays.

    Weights from absent inputs and to absent classes are zero and absent
    classes get a bias of -1e30: their logit is -1e30 whatever the input,
    their softmax probability exactly 0, so their gradients are exactly 0
    and no optimizer ever moves them. (-1e30 rather than -inf keeps
    ``0 * logit`` in the loss finite.)
    """
    padded = []
    for layer, (w, b) in enumerate(params):
        w, b = np.asarray(w, np.float32), np.asarray(b, np.float32)
        shape = (sizes[layer], sizes[layer + 1])
        if w.shape != shape:
            wide = np.zeros(shape, np.float32)
            wide[: w.shape[0], : w.shape[1]] = w
            w = wide
        if b.shape[0] != shape[1]:
            wide = np.full(shape[1], _ABSENT_CLASS_BIAS, np.float32)
            wide[: b.shape[0]] = b
            b = wide
        padded.append((w, b))
    return tuple(padded)


def pad_columns(a, n_columns):
    """``a`` (dense or CSR) with zero columns appended up to ``n_columns``."""
    if a.shape[1] == n_columns:
        return a
    if sp.issparse(a):
        a = a.tocsr()
        return sp.csr_matrix(
            (a.data, a.indices, a.indptr), shape=(a.shape[0], n_columns)
        )
    wide = np.zeros((a.shape[0], n_columns), np.float32)
    wide[:, : a.shape[1]] = a
    return wide


def merge_duplicate_rows(x, y, sample_weight):
    """Rows in a canonical order, equal rows merged and their weights added.

    For full-batch training, where the gradient is a weighted sum over all
    rows, this is an exact reformulation: a row repeated k times and the
    same row once with weight k become the same input, computed in the same
    order, so they train bit-identical models. Rows of zero weight go.
    ``x`` may be dense or a CSR matrix.
    """
    y = np.ascontiguousarray(y, np.float32)
    if sp.issparse(x):
        x = x.astype(np.float32)
        x.sum_duplicates()
        x.eliminate_zeros()
        x.sort_indices()
        keys = [
            x.indices[a:b].tobytes() + x.data[a:b].tobytes() + y[i].tobytes()
            for i, (a, b) in enumerate(zip(x.indptr[:-1], x.indptr[1:], strict=True))
        ]
        keys = np.array(keys, dtype=object)
    else:
        x = np.ascontiguousarray(x, np.float32)
        rows = np.ascontiguousarray(np.hstack([x.view(np.uint32), y.view(np.uint32)]))
        keys = rows.view(np.dtype((np.void, rows.shape[1] * 4))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    weight = np.bincount(inverse.ravel(), weights=sample_weight)
    keep = first[weight > 0]
    return x[keep], y[keep], weight[weight > 0]


# Parameters and optimizers


# Randomness: every draw comes from the one seed made from random_state,
# through a NumPy SeedSequence whose spawn key names the stream (and, for
# shuffling, the epoch). Drawing on the host compiles nothing, where each
# JAX random program would cost a compilation on a process's first fit.

_INIT_STREAM, _SHUFFLE_STREAM, _SPLIT_STREAM = 0, 1, 2
_EPOCHS_PER_DRAW = 64


def _stream(seed, *spawn_key):
    return np.random.SeedSequence(seed, spawn_key=spawn_key)


def new_params(seed, layer_sizes):
    """Fresh parameters for ``layer_sizes`` (input, hidden..., output).

    They are NumPy arrays on the host; the first compiled step takes them to
    the device. All the memory is taken at once, so that a network too
    large fails before any work.
    """
    rng = np.random.Generator(np.random.PCG64(_stream(seed, _INIT_STREAM)))
    normals = rng.standard_normal(n_weights(layer_sizes), dtype=np.float32)
    return init_params(normals, tuple(layer_sizes))


class ShuffleWords:
    """The two random 32-bit words seeding each epoch's shuffle.

    They are drawn 64 epochs at a time (a SeedSequence costs tens of
    microseconds, a noticeable share of an epoch on tiny data).
    """

    def __init__(self, seed):
        self._seed = seed
        self._block = (None, None)

    def __getitem__(self, epoch):
        index, offset = divmod(epoch, _EPOCHS_PER_DRAW)
        if self._block[0] != index:
            words = _stream(self._seed, _SHUFFLE_STREAM, index)
            words = words.generate_state(2 * _EPOCHS_PER_DRAW).reshape(-1, 2)
            self._block = (index, words)
        return self._block[1][offset]


def split_seed(seed):
    """A seed for the validation split, as an int."""
    return int(_stream(seed, _SPLIT_STREAM).generate_state(1)[0] >> 1)


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


def _all_finite(loss, params):
    finite = jnp.isfinite(loss)
    for leaf in jax.tree.leaves(params):
        finite &= jnp.all(jnp.isfinite(leaf))
    return finite


# One epoch over dense data on the device


def run_epoch(
    params, opt_state, data: TrainData, words, alpha, hyper, config, mesh=None
):
    """One pass over every sample: shuffle, all minibatches, all updates.

    A single compiled call of :func:`_epoch`, compiled with the options
    that suit its size; with a ``mesh``, of :func:`_sharded_epoch`.
    """
    if mesh is not None:
        epoch = _pick(_compiled_sharded_epoch, params, data.x.shape[0], passes=6)
        return epoch(params, opt_state, data, words, alpha, hyper, config, mesh)
    epoch = _pick(_compiled_epoch, params, data.x.shape[0], passes=6)
    return epoch(params, opt_state, data, words, alpha, hyper, config)


def _epoch(params, opt_state, data: TrainData, words, alpha, hyper, config, mesh=None):
    """One pass over every sample: shuffle, all minibatches, all updates.

    Returns the new parameters and optimizer state, the epoch's loss (the
    batch losses weighted by their number of rows, as MLPClassifier reports
    it) and whether the loss and every parameter are finite.

    Under a ``mesh`` (inside :func:`_sharded_epoch`), each device runs this
    on its own share of each minibatch, and the sums are added across
    devices before every update.
    """
    reduce = None if mesh is None else _psum
    if config.full_batch:
        loss, grads = _full_batch_loss_and_grads(params, data, alpha, config, reduce)
        params, opt_state = _optimizer_update(config, grads, opt_state, params, hyper)
        return params, opt_state, loss, _all_finite(loss, params)

    n_rows = data.x.shape[0]
    n = data.n_samples
    batch_size = config.batch_size
    n_steps_max = -(-n_rows // batch_size)
    order = _epoch_order(words, n_rows, n, config.shuffle)
    if mesh is None:
        share, offset = batch_size, 0
        order = jnp.pad(order, (0, n_steps_max * batch_size - n_rows))
    else:
        # Device d takes rows [d * share, (d + 1) * share) of each batch;
        # the last share may run past the batch, where it is masked
        share = -(-batch_size // mesh.size)
        offset = jax.lax.axis_index(MESH_AXIS) * share
        overhang = share * mesh.size - batch_size
        order = jnp.pad(order, (0, n_steps_max * batch_size - n_rows + overhang))

    def body(i, carry):
        params, opt_state, loss_sum = carry
        start = i * batch_size
        if mesh is None:
            index = jax.lax.dynamic_slice_in_dim(order, start, batch_size)
            in_epoch = start + jnp.arange(batch_size) < n
        else:
            position = offset + jnp.arange(share)
            index = jax.lax.dynamic_slice_in_dim(order, start + offset, share)
            in_epoch = (position < batch_size) & (start + position < n)
        w = jnp.where(in_epoch, data.sample_weight[index], 0)
        params, opt_state, loss = _step(
            params,
            opt_state,
            data.x[index],
            data.y[index],
            w,
            alpha,
            hyper,
            config,
            reduce,
        )
        n_in_batch = jnp.minimum(batch_size, n - start).astype(loss.dtype)
        return params, opt_state, loss_sum + loss * n_in_batch

    n_steps = (n + batch_size - 1) // batch_size
    carry = (params, opt_state, jnp.zeros((), jnp.float32))
    params, opt_state, loss_sum = jax.lax.fori_loop(0, n_steps, body, carry)
    loss = loss_sum / n.astype(loss_sum.dtype)
    return params, opt_state, loss, _all_finite(loss, params)


def _two_ways(fun, **jit_options):
    """``fun`` jitted twice: with XLA's default options, and for small work.

    Measured on a 2-core CPU: without XLA's fusion emitters and with LLVM's
    optimisation level 1, a training epoch compiles in 0.55 s instead of
    1.0 s and a small one also runs faster (0.38 ms instead of 0.48 ms for
    150 rows); on 60,000 rows it runs up to 5% slower, which outweighs the
    saving once the arithmetic is large.
    """
    return jax.jit(fun, **jit_options), jax.jit(
        fun, compiler_options=_SMALL_WORK_OPTIONS, **jit_options
    )


def _pick(compiled, params, n_rows, passes):
    """The program compiled for small work, when the arithmetic is small.

    ``passes`` counts the matrix products per row and weight: 2 for a
    forward pass, 6 for a training step (forward, weight and input
    gradients, each a multiply and an add).
    """
    flops = passes * n_rows * sum(w.size for w, _ in params)
    small = flops <= _SMALL_WORK and jax.default_backend() == "cpu"
    return compiled[1] if small else compiled[0]


_compiled_epoch = _two_ways(_epoch, static_argnames="config")


# The same programs across the devices of a mesh

_psum = functools.partial(jax.lax.psum, axis_name=MESH_AXIS)


def _data_spec(config):
    """How :func:`place` lays the rows out: split for a full batch, else copied."""
    spec = P(MESH_AXIS) if config.full_batch else P()
    return TrainData(spec, spec, spec, spec)


def _local(data, config):
    """A device's own rows, with its own number of real rows when split."""
    return data._replace(n_samples=data.n_samples[0]) if config.full_batch else data


def _sharded_epoch(params, opt_state, data, words, alpha, hyper, config, mesh):
    """:func:`_epoch` on every device of ``mesh`` at once, in one program.

    Parameters and optimizer state are replicated. For minibatches, every
    device holds every row and computes its share of each batch, in the
    order a single device would take them; for a full batch, each device
    computes on its own block of rows. Either way the sums are added
    across devices before each update, which every device then applies.
    """

    def local_epoch(params, opt_state, data, words, alpha, hyper):
        data = _local(data, config)
        return _epoch(params, opt_state, data, words, alpha, hyper, config, mesh)

    specs = (P(), P(), _data_spec(config), P(), P(), P())
    epoch = jax.shard_map(local_epoch, mesh=mesh, in_specs=specs, out_specs=P())
    return epoch(params, opt_state, data, words, alpha, hyper)


_compiled_sharded_epoch = _two_ways(_sharded_epoch, static_argnames=("config", "mesh"))


def _step(params, opt_state, x, y, w, alpha, hyper, config, reduce=None):
    """Forward, backward and update on one minibatch.

    ``reduce`` adds the sums over the devices that share the batch.
    """
    loss_sum, grad_sums = loss_and_grad_sums(
        params, x, y, w, config.activation, config.out_activation
    )
    total_weight = jnp.sum(w)
    if reduce is not None:
        loss_sum, grad_sums, total_weight = reduce((loss_sum, grad_sums, total_weight))
    loss, grads = regularize(params, loss_sum, grad_sums, total_weight, alpha)
    params, opt_state = _optimizer_update(config, grads, opt_state, params, hyper)
    return params, opt_state, loss


def _fold_blocks(data: TrainData, fn, init):
    """Add up ``fn(x, y, w)`` over the blocks of rows that hold real rows.

    The padding of the data to a bucketed size costs memory but no
    arithmetic: the number of blocks follows the traced row count.
    """
    block = min(data.x.shape[0], _BLOCK_ROWS)

    def body(i, acc):
        start = i * block
        x = jax.lax.dynamic_slice_in_dim(data.x, start, block)
        y = jax.lax.dynamic_slice_in_dim(data.y, start, block)
        w = jax.lax.dynamic_slice_in_dim(data.sample_weight, start, block)
        return jax.tree.map(jnp.add, acc, fn(x, y, w))

    n_blocks = (data.n_samples + block - 1) // block
    return jax.lax.fori_loop(0, n_blocks, body, init)


def _full_batch_loss_and_grads(params, data, alpha, config, reduce=None):
    """Loss and gradients over all rows, summed block by block.

    ``reduce`` adds the sums over the devices that each hold some rows.
    """
    zeros = (jnp.zeros((), jnp.float32), jax.tree.map(jnp.zeros_like, params))
    if reduce is not None:
        # Each device's running sums differ until they are added up
        zeros = jax.lax.pcast(zeros, MESH_AXIS, to="varying")
    loss_sum, grad_sums = _fold_blocks(
        data,
        lambda x, y, w: loss_and_grad_sums(
            params, x, y, w, config.activation, config.out_activation
        ),
        zeros,
    )
    total_weight = jnp.sum(data.sample_weight)
    if reduce is not None:
        loss_sum, grad_sums, total_weight = reduce((loss_sum, grad_sums, total_weight))
    return regularize(params, loss_sum, grad_sums, total_weight, alpha)


def _epoch_order(words, n_rows, n, shuffle):
    """Row order for one epoch: the ``n`` real rows first, shuffled or not.

    The shuffle sorts the rows by a keyed bijection of their index (two
    rounds of a 32-bit mixing function seeded by ``words``): keys never tie,
    a sort of one uint32 operand is several times faster than an argsort,
    and inverting the bijection recovers the index from the sorted key.
    """
    index = jnp.arange(n_rows, dtype=jnp.uint32)
    if not shuffle:
        return index.astype(jnp.int32)
    keys = _mix(_mix(index ^ words[0]) ^ words[1])
    shuffled = _unmix(_unmix(jnp.sort(keys)) ^ words[1]) ^ words[0]

    # Real rows to the front, keeping their shuffled order
    real = shuffled < n.astype(jnp.uint32)
    position = jnp.where(real, jnp.cumsum(real) - 1, n_rows)
    order = jnp.zeros(n_rows, jnp.int32)
    return order.at[position].set(shuffled.astype(jnp.int32), mode="drop")


# MurmurHash3's 32-bit finaliser, a bijection on uint32, and its inverse
_MIX_1, _MIX_2 = 0x85EBCA6B, 0xC2B2AE35
_UNMIX_1, _UNMIX_2 = pow(_MIX_1, -1, 1 << 32), pow(_MIX_2, -1, 1 << 32)


def _mix(h):
    h = h ^ (h >> 16)
    h = h * jnp.uint32(_MIX_1)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(_MIX_2)
    return h ^ (h >> 16)


def _unmix(h):
    h = h ^ (h >> 16)
    h = h * jnp.uint32(_UNMIX_2)
    h = h ^ (h >> 13) ^ (h >> 26)
    h = h * jnp.uint32(_UNMIX_1)
    return h ^ (h >> 16)


# One epoch over sparse data kept on the host


def run_sparse_epoch(params, opt_state, x, y, w, words, alpha, hyper, config):
    """The same epoch as :func:`run_epoch` for a CSR matrix ``x``.

    Each minibatch is made dense on the host and sent to one compiled step;
    dispatch is asynchronous, so the next batch is prepared while the
    device works on the current one.
    """
    n = x.shape[0]
    if config.full_batch:
        loss, grads = _sparse_loss_and_grads(params, x, y, w, alpha, config)
        params, opt_state = _apply_update(params, opt_state, grads, hyper, config)
        return params, opt_state, loss, _all_finite_jit(loss, params)

    batch_size = config.batch_size
    order = np.asarray(
        _epoch_order_jit(words, bucket_rows(n), np.int32(n), config.shuffle)
    )[:n]
    loss_sum = jnp.zeros((), jnp.float32)
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]
        xb, yb, wb = _dense_rows(x, y, w, index, batch_size)
        n_in_batch = np.float32(len(index))
        params, opt_state, loss_sum = _sparse_step(
            params, opt_state, loss_sum, n_in_batch, xb, yb, wb, alpha, hyper, config
        )
    loss = loss_sum / np.float32(n)
    return params, opt_state, loss, _all_finite_jit(loss, params)


def _dense_rows(x, y, w, index, n_rows):
    """Rows ``index`` of CSR ``x`` as a dense block of ``n_rows`` rows."""
    xb = np.zeros((n_rows, x.shape[1]), np.float32)
    yb = np.zeros((n_rows, y.shape[1]), np.float32)
    wb = np.zeros(n_rows, np.float32)
    xb[: len(index)] = x[index].toarray()
    yb[: len(index)] = y[index]
    wb[: len(index)] = w[index]
    return xb, yb, wb


@functools.partial(jax.jit, static_argnames="config")
def _sparse_step(
    params, opt_state, loss_sum, n_in_batch, x, y, w, alpha, hyper, config
):
    params, opt_state, loss = _step(params, opt_state, x, y, w, alpha, hyper, config)
    return params, opt_state, loss_sum + loss * n_in_batch


_epoch_order_jit = jax.jit(_epoch_order, static_argnums=(1, 3))
_all_finite_jit = jax.jit(_all_finite)


def _sparse_loss_and_grads(params, x, y, w, alpha, config):
    """Full-batch loss and gradients of CSR ``x``, block by block."""
    n = x.shape[0]
    block = min(bucket_rows(n), _BLOCK_ROWS)
    sums = None
    for start in range(0, n, block):
        index = np.arange(start, min(start + block, n))
        xb, yb, wb = _dense_rows(x, y, w, index, block)
        block_sums = _block_sums(params, xb, yb, wb, config)
        sums = block_sums if sums is None else _add(sums, block_sums)
    return _regularize_jit(params, *sums, np.float32(np.sum(w)), alpha)


@functools.partial(jax.jit, static_argnames="config")
def _block_sums(params, x, y, w, config):
    return loss_and_grad_sums(params, x, y, w, config.activation, config.out_activation)


_add = jax.jit(lambda a, b: jax.tree.map(jnp.add, a, b))
_regularize_jit = jax.jit(regularize)


@functools.partial(jax.jit, static_argnames="config")
def _apply_update(params, opt_state, grads, hyper, config):
    return _optimizer_update(config, grads, opt_state, params, hyper)


# Full-batch objective on a flat parameter vector, for L-BFGS


def flat_size(layer_sizes):
    """Number of parameters of a network with ``layer_sizes``."""
    return sum(
        a * b + b for a, b in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
    )


def flatten(params):
    """Parameters as one float64 vector: every weight matrix, then every bias."""
    return np.concatenate(
        [np.ravel(w) for w, _ in params] + [np.ravel(b) for _, b in params]
    ).astype(np.float64)


def unflatten(flat, layer_sizes):
    """The inverse of :func:`flatten`, for static ``layer_sizes``."""
    weights, biases, start = [], [], 0
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True):
        weights.append(flat[start : start + fan_in * fan_out].reshape(fan_in, fan_out))
        start += fan_in * fan_out
    for fan_out in layer_sizes[1:]:
        biases.append(flat[start : start + fan_out])
        start += fan_out
    return tuple(zip(weights, biases, strict=True))


def _objective_terms(flat, data, alpha, layer_sizes, config, reduce=None):
    params = unflatten(flat, layer_sizes)
    loss, grads = _full_batch_loss_and_grads(params, data, alpha, config, reduce)
    grad_flat = jnp.concatenate(
        [jnp.ravel(g) for g, _ in grads] + [jnp.ravel(g) for _, g in grads]
    )
    return loss, grad_flat


_dense_objective = jax.jit(_objective_terms, static_argnames=("layer_sizes", "config"))


@functools.partial(jax.jit, static_argnames=("layer_sizes", "config", "mesh"))
def _sharded_objective(flat, data, alpha, layer_sizes, config, mesh):
    def local_terms(flat, data, alpha):
        data = _local(data, config)
        return _objective_terms(flat, data, alpha, layer_sizes, config, _psum)

    specs = (P(), _data_spec(config), P())
    terms = jax.shard_map(local_terms, mesh=mesh, in_specs=specs, out_specs=P())
    return terms(flat, data, alpha)


def objective(flat, data, alpha, layer_sizes, config, mesh=None):
    """Full-batch loss and its gradient at ``flat``, as float64 for SciPy.

    ``data`` is a :class:`TrainData` on the device (split over the devices
    of ``mesh``, when given), or a tuple ``(x, y, w)`` with a CSR ``x``
    kept on the host.
    """
    flat32 = np.asarray(flat, np.float32)
    if mesh is not None:
        flat32 = replicate(flat32, mesh)
        loss, grad = _sharded_objective(flat32, data, alpha, layer_sizes, config, mesh)
    elif isinstance(data, TrainData):
        loss, grad = _dense_objective(flat32, data, alpha, layer_sizes, config)
    else:
        params = unflatten(jnp.asarray(flat32), layer_sizes)
        loss, grads = _sparse_loss_and_grads(params, *data, alpha, config)
        grad = flatten(jax.device_get(grads))
    loss, grad = to_host((loss, grad))
    return float(loss), np.asarray(grad, np.float64)


# Evaluation on a held-out set


def _dense_evaluation_sums(params, data, config):
    compiled = _pick(_compiled_evaluation, params, data.x.shape[0], passes=2)
    return compiled(params, data, config)


def _evaluation_sums(params, data, config):
    def fn(x, y, w):
        logits = forward(params, x, config.activation)
        losses = row_losses(logits, y, config.out_activation)
        return jnp.sum(w * losses), jnp.sum(w * _correct(logits, y, config))

    zeros = (jnp.zeros((), jnp.float32), jnp.zeros((), jnp.float32))
    return _fold_blocks(data, fn, zeros)


_compiled_evaluation = _two_ways(_evaluation_sums, static_argnames="config")


def _correct(logits, y, config):
    """1 for rows predicted right (every label right, for multilabel)."""
    if config.out_activation == "softmax":
        hit = jnp.argmax(logits, axis=1) == jnp.argmax(y, axis=1)
    else:
        hit = jnp.all((logits > 0) == (y > 0.5), axis=1)
    return hit.astype(jnp.float32)


def evaluate(params, data, config):
    """Weighted mean cross-entropy and accuracy of ``params`` on ``data``.

    ``data`` is a :class:`TrainData` on the device or a host tuple
    ``(x, y, w)`` with a CSR ``x``. The accuracy of a multilabel target
    counts a row as right only when all its labels are.
    """
    if isinstance(data, TrainData):
        loss_sum, correct_sum, total = to_host(
            (*_dense_evaluation_sums(params, data, config), jnp.sum(data.sample_weight))
        )
        total = float(total)
    else:
        x, y, w = data
        loss_sum = correct_sum = 0.0
        block = min(bucket_rows(x.shape[0]), _BLOCK_ROWS)
        for start in range(0, x.shape[0], block):
            index = np.arange(start, min(start + block, x.shape[0]))
            xb, yb, wb = _dense_rows(x, y, w, index, block)
            block_data = TrainData(xb, yb, wb, np.int32(len(index)))
            sums = _dense_evaluation_sums(params, block_data, config)
            loss_sum += float(sums[0])
            correct_sum += float(sums[1])
        total = float(np.sum(w))
    return float(loss_sum) / total, float(correct_sum) / total


# Prediction


_compiled_forward = _two_ways(forward, static_argnames="activation")


def chunk_rows_for(layer_sizes):
    """Rows per prediction chunk, a power of two from 256 to 8192.

    A chunk's input stays within about 4 MiB, so that it is still in cache
    when the first layer reads it, and its work within about 512 MFLOP, so
    that a call on a few rows stays short.
    """
    flops_per_row = 2 * sum(
        a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
    )
    by_work = (1 << 29) // max(flops_per_row, 1)
    by_bytes = (4 << 20) // (4 * max(layer_sizes[0], 1))
    rows = min(by_work, by_bytes)
    rows = 1 << max(rows.bit_length() - 1, 0)
    return min(max(rows, _MIN_BUCKET), 8192)


def predict_logits(params, x, activation, chunk_rows):
    """Logits of every row of ``x`` (dense or CSR), chunk by chunk.

    Inputs of at most 256 rows run through a 256-row program instead, so
    that predicting a few rows costs little. Full chunks of a C-ordered
    float32 array go to the device without a copy.
    """
    n_samples, n_features = x.shape
    n_inputs = params[0][0].shape[0]
    n_outputs = params[-1][1].shape[0]
    if n_samples <= _MIN_BUCKET:
        chunk_rows = _MIN_BUCKET
    forward_chunk = _pick(_compiled_forward, params, chunk_rows, passes=2)
    direct = (
        not sp.issparse(x)
        and x.dtype == np.float32
        and x.flags.c_contiguous
        and n_features == n_inputs
    )
    logits = np.empty((n_samples, n_outputs), np.float32)
    pending = None
    for start in range(0, n_samples, chunk_rows):
        chunk = x[start : start + chunk_rows]
        if direct and chunk.shape[0] == chunk_rows:
            padded = chunk
        else:
            if sp.issparse(chunk):
                chunk = chunk.toarray()
            padded = np.zeros((chunk_rows, n_inputs), np.float32)
            # Values beyond float32's range become inf; the caller redoes them
            with np.errstate(over="ignore"):
                padded[: chunk.shape[0], :n_features] = chunk
        result = forward_chunk(params, padded, activation)
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


def params_to_device(params):
    """Host parameters as a pytree of float32 device arrays."""
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), tuple(params))


def params_to_numpy(params, layer_sizes):
    """Fitted weights as lists of writeable NumPy arrays of ``layer_sizes``.

    Padding added by :func:`pad_params` is cut off.
    """
    params = to_host(params)
    coefs, intercepts = [], []
    for (w, b), fan_in, fan_out in zip(
        params, layer_sizes[:-1], layer_sizes[1:], strict=True
    ):
        coefs.append(np.array(w[:fan_in, :fan_out]))
        intercepts.append(np.array(b[:fan_out]))
    return coefs, intercepts


def to_host(tree):
    """The arrays of ``tree`` as NumPy arrays.

    An array replicated over the devices of several processes is read from
    this process's own copy.
    """

    def get(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            a = a.addressable_data(0)
        return np.asarray(a)

    return jax.tree.map(get, tree)
