import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sklearn_jaxmlp import JaxMLPClassifier, _training
from sklearn_jaxmlp._network import forward, regularized_loss_and_grads
from sklearn_jaxmlp._optimizers import sgd_update


def _data(n_samples, n_features=6, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_samples, n_features)).astype(np.float32)
    labels = rng.integers(0, n_classes, n_samples)
    y = np.eye(n_classes, dtype=np.float32)[labels]
    return x, y


def _epoch(params, x, y, *, batch_size, full_batch=False, shuffle=False, key=None):
    config = _training.EpochConfig(
        activation="tanh",
        out_activation="softmax",
        solver="sgd",
        nesterov=True,
        batch_size=0 if full_batch else batch_size,
        full_batch=full_batch,
        shuffle=shuffle,
    )
    hyper = _training.hyperparams("sgd", 0.1, 0.9, 0.9, 0.999, 1e-8)
    data = _training.place_training_data(x, y, np.ones(len(x), np.float32))
    opt_state = _training.optimizer_init("sgd", params)
    words = _training.ShuffleWords(0 if key is None else key)[0]
    return _training.run_epoch(
        params, opt_state, data, words, np.float32(0.01), hyper, config
    )


def _reference_epoch(params, x, y, batch_size):
    """The same epoch step by step on exact, unpadded slices."""
    hyper = _training.hyperparams("sgd", 0.1, 0.9, 0.9, 0.999, 1e-8)
    opt_state = _training.optimizer_init("sgd", params)
    loss_sum = 0.0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        loss, grads = regularized_loss_and_grads(
            params, xb, yb, jnp.ones(len(xb)), np.float32(0.01), "tanh", "softmax"
        )
        params, opt_state = sgd_update(grads, opt_state, params, hyper, True)
        loss_sum += float(loss) * len(xb)
    return params, loss_sum / len(x)


@pytest.mark.parametrize(
    "n_samples, batch_size",
    [(250, 100), (300, 100), (7, 3)],
    ids=["short-last-batch", "even-batches", "tiny"],
)
def test_epoch_matches_step_by_step_reference(n_samples, batch_size):
    x, y = _data(n_samples)
    params = _training.new_params(0, (6, 5, 3))
    got, _, loss, finite = _epoch(params, x, y, batch_size=batch_size)
    want, want_loss = _reference_epoch(params, x, y, batch_size)
    assert bool(finite)
    assert float(loss) == pytest.approx(want_loss, rel=1e-5)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_full_batch_epoch_sums_blocks_exactly():
    # More rows than one block, so the gradient is summed over three blocks
    x, y = _data(9000, n_features=4)
    params = _training.new_params(1, (4, 3))
    got, _, loss, _ = _epoch(params, x, y, batch_size=0, full_batch=True)
    want, want_loss = _reference_epoch(params, x, y, batch_size=len(x))
    assert float(loss) == pytest.approx(want_loss, rel=1e-5)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_epoch_order_shuffles_every_real_row_once():
    n_rows, n = 512, 300
    words = _training.ShuffleWords(3)[0]
    order = np.asarray(_training._epoch_order(words, n_rows, jnp.int32(n), True))
    assert sorted(order[:n]) == list(range(n))
    assert not np.array_equal(order[:n], np.arange(n))
    again = _training._epoch_order(words, n_rows, jnp.int32(n), True)
    np.testing.assert_array_equal(order, again)
    other = _training._epoch_order(
        _training.ShuffleWords(3)[1], n_rows, jnp.int32(n), True
    )
    assert not np.array_equal(order[:n], np.asarray(other)[:n])


def test_shuffles_look_uniform():
    """Where row 0 lands over many epochs: spread like a uniform draw."""
    n = 50
    words = _training.ShuffleWords(0)
    landing = []
    for epoch in range(2000):
        order = _training._epoch_order_jit(words[epoch], 256, jnp.int32(n), True)
        landing.append(int(np.flatnonzero(np.asarray(order)[:n] == 0)[0]))
    counts = np.bincount(landing, minlength=n)
    # Chi-square test of uniformity, 49 degrees of freedom: p < 0.001 above 85
    chi2 = ((counts - 40) ** 2 / 40).sum()
    assert chi2 < 85


@pytest.mark.parametrize("full_batch", [False, True], ids=["minibatch", "full"])
def test_padding_rows_never_reach_the_result(full_batch):
    x, y = _data(250)
    params = _training.new_params(0, (6, 5, 3))
    config = _training.EpochConfig(
        "tanh", "softmax", "adam", True, 0 if full_batch else 64, full_batch, True
    )
    hyper = _training.hyperparams("adam", 0.1, 0.9, 0.9, 0.999, 1e-8)
    opt_state = _training.optimizer_init("adam", params)
    data = _training.place_training_data(x, y, np.ones(250, np.float32))
    dirty = data._replace(
        x=data.x.at[250:].set(1e30),
        y=data.y.at[250:].set(7.0),
        # Minibatches mask rows past n_samples whatever their weight
        sample_weight=data.sample_weight
        if full_batch
        else data.sample_weight.at[250:].set(5.0),
    )
    words = _training.ShuffleWords(7)[0]
    clean = _training.run_epoch(
        params, opt_state, data, words, np.float32(0.01), hyper, config
    )
    result = _training.run_epoch(
        params, opt_state, dirty, words, np.float32(0.01), hyper, config
    )
    for a, b in zip(jax.tree.leaves(clean), jax.tree.leaves(result), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n", [1, 255, 256, 257, 60000])
def test_bucket_rows(n):
    bucket = _training.bucket_rows(n)
    assert bucket >= max(n, 256)
    assert bucket & (bucket - 1) == 0
    assert bucket < 2 * max(n, 256)


def test_chunked_prediction_matches_forward_and_ignores_neighbours():
    x, _ = _data(1000, n_features=6)
    params = _training.new_params(0, (6, 16, 3))
    logits = _training.predict_logits(params, x, "relu", chunk_rows=256)
    np.testing.assert_allclose(logits, forward(params, x, "relu"), rtol=1e-5)
    # Any subset gives bit-identical rows: the chunk shape never changes
    subset = _training.predict_logits(params, x[17:30], "relu", chunk_rows=256)
    np.testing.assert_array_equal(subset, logits[17:30])


def test_refit_on_another_sample_count_compiles_nothing(count_compiles):
    x, y = _data(600, n_features=7, n_classes=4, seed=1)
    labels = y.argmax(axis=1)
    kwargs = dict(hidden_layer_sizes=(9,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        first = JaxMLPClassifier(**kwargs).fit(x[:300], labels[:300])
        # Prediction has two programs: up to 256 rows, and chunks beyond
        first.predict(x[:10])
        first.predict(x)
        before = count_compiles()
        # Another size (as a CV fold would be), another instance, other
        # hyperparameter values, and predictions of other sizes
        clf = JaxMLPClassifier(**kwargs, learning_rate_init=0.01, alpha=0.5)
        clf.fit(x[:450], labels[:450])
        clf.predict(x[:3])
        clf.predict_proba(x[:257])
        clf.predict_proba(x[:599])
    assert count_compiles() == before


def test_full_batch_refit_on_another_sample_count_compiles_nothing(count_compiles):
    x, y = _data(600, n_features=5, seed=2)
    labels = y.argmax(axis=1)
    kwargs = dict(
        hidden_layer_sizes=(4,), solver="sgd", batch_size=600, max_iter=2, tol=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        JaxMLPClassifier(**kwargs).fit(x[:280], labels[:280])
        before = count_compiles()
        JaxMLPClassifier(**kwargs).fit(x[:500], labels[:500])
    assert count_compiles() == before
