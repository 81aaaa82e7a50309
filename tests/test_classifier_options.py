"""The parameters beyond the core: schedules, early stopping, L-BFGS, weights,
multilabel and sparse targets and inputs."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import config_context
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from sklearn_jaxmlp import JaxMLPClassifier, _training

ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    return StandardScaler().fit_transform(X)[order], y[order]


def _small(**params):
    defaults = dict(
        hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=30, random_state=0
    )
    return JaxMLPClassifier(**{**defaults, **params})


def _same_weights(a, b):
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(wa, wb)


# Learning-rate schedules


@ignore_convergence
@pytest.mark.parametrize("learning_rate", ["invscaling", "constant"])
def test_schedules_match_mlpclassifier_from_the_same_weights(
    iris, learning_rate, fit_both_from_the_same_weights
):
    X, y = iris
    params = dict(
        hidden_layer_sizes=(6,),
        solver="sgd",
        learning_rate=learning_rate,
        power_t=0.25,
        learning_rate_init=0.1,
        batch_size=32,
        shuffle=False,
    )
    ours, theirs = fit_both_from_the_same_weights(params, X, y, max_iter=4)
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-4)
    for a, b in zip(ours.coefs_, theirs.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_adaptive_schedule_divides_by_five_then_stops(iris, capsys):
    X, y = iris
    params = dict(
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.001,
        tol=100.0,  # no epoch ever counts as an improvement
        n_iter_no_change=1,
        max_iter=100,
        verbose=True,
    )
    ours = _small(**params).fit(X, y)
    out = capsys.readouterr().out
    # 0.001 / 5**k until it falls to 1e-6 or below, two epochs apart
    rates = [0.001 / 5**k for k in range(1, 6)]
    for rate in rates:
        assert f"Setting learning rate to {rate:f}" in out
    assert "Learning rate too small. Stopping." in out
    theirs = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, **params)
    theirs.fit(X, y)
    capsys.readouterr()
    assert ours.n_iter_ == theirs.n_iter_ == 1 + 2 * (len(rates) + 1)


# Early stopping and validation sets


def test_early_stopping_keeps_the_best_weights_and_curves(iris):
    X, y = iris
    clf = _small(early_stopping=True, max_iter=200, n_iter_no_change=5)
    clf.fit(X[:100], y[:100], X_val=X[100:], y_val=y[100:])
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    # The kept weights are those of the best epoch
    assert clf.score(X[100:], y[100:]) == pytest.approx(clf.best_validation_score_)


@ignore_convergence
def test_early_stopping_holds_out_a_stratified_fraction(iris):
    X, y = iris
    clf = _small(early_stopping=True, validation_fraction=0.2)
    clf._set_classes(y, None, True, False)
    clf._target_type = "multiclass"
    targets = clf._encode(y)
    train, val = clf._validation_split(X, targets, np.ones(len(y)), None, 0)
    assert val[0].shape[0] == 30
    np.testing.assert_array_equal(val[1].sum(axis=0), [10, 10, 10])
    assert train[0].shape[0] == 120


@pytest.mark.parametrize(
    "X, y, params, match",
    [
        (
            np.zeros((7, 2)),
            [0, 0, 0, 1, 1, 1, 2],
            {"validation_fraction": 0.3},
            r"early_stopping=True.*class 2 has only 1 sample",
        ),
        (np.zeros((5, 2)), [0, 1, 0, 1, 0], {}, r"holds out 1 of 5 samples"),
        (
            np.zeros((12, 2)),
            [0, 1, 2, 3] * 3,
            {"validation_fraction": 0.2},
            r"at least one sample of each of the 4 classes",
        ),
    ],
    ids=["lonely-class", "too-few", "fewer-than-classes"],
)
def test_impossible_validation_splits_are_refused_before_training(
    X, y, params, match, monkeypatch
):
    monkeypatch.setattr(_training, "run_epoch", None)  # never reached
    with pytest.raises(ValueError, match=match):
        _small(early_stopping=True, **params).fit(X, np.asarray(y))


@pytest.mark.parametrize(
    "params, fit_kwargs, match",
    [
        ({}, {"X_val": "X", "y_val": "y"}, "early_stopping=True"),
        ({"early_stopping": True}, {"X_val": "X"}, "y_val is missing"),
        ({"early_stopping": True}, {"y_val": "y"}, "X_val is missing"),
        (
            {"early_stopping": True, "solver": "lbfgs"},
            {"X_val": "X", "y_val": "y"},
            "solver='sgd' or 'adam'",
        ),
    ],
    ids=["no-early-stopping", "no-y_val", "no-X_val", "lbfgs"],
)
def test_validation_set_arguments_are_checked(iris, params, fit_kwargs, match):
    X, y = iris
    data = {"X": X[:20], "y": y[:20]}
    kwargs = {name: data[value] for name, value in fit_kwargs.items()}
    with pytest.raises(ValueError, match=match):
        _small(**params).fit(X, y, **kwargs)


def test_validation_set_must_match_the_training_features(iris):
    X, y = iris
    with pytest.raises(ValueError, match="X has 3 features"):
        _small(early_stopping=True).fit(X, y, X_val=X[:20, :3], y_val=y[:20])


def test_partial_fit_refuses_early_stopping(iris):
    X, y = iris
    with pytest.raises(ValueError, match="partial_fit does not support early_stop"):
        _small(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_validation_set_goes_through_a_pipeline(iris):
    X, y = iris
    X = X * 100 + 5  # only scaled inputs train well
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            # One full batch per epoch learns slowly at the default rate
            ("mlp", _small(early_stopping=True, max_iter=300, learning_rate_init=0.05)),
        ],
        transform_input=["X_val"],
    )
    with config_context(enable_metadata_routing=True):
        pipe[-1].set_fit_request(X_val=True, y_val=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipe.fit(X[:100], y[:100], X_val=X[100:], y_val=y[100:])
    mlp = pipe[-1]
    assert mlp.best_validation_score_ == pytest.approx(pipe.score(X[100:], y[100:]))
    assert mlp.best_validation_score_ > 0.8


# L-BFGS


def test_lbfgs_reaches_mlpclassifiers_optimum_on_a_convex_problem(iris):
    X, y = iris
    # Without hidden layers the loss is convex: both must find its minimum
    params = dict(hidden_layer_sizes=(), solver="lbfgs", alpha=1.0, max_iter=500)
    ours = JaxMLPClassifier(**params, random_state=0).fit(X, y)
    theirs = MLPClassifier(**params, random_state=0).fit(X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-4)
    assert ours.n_iter_ <= 500
    assert len(ours.loss_curve_) == ours.n_iter_
    assert ours.t_ == 0 and ours.best_loss_ is None
    assert ours.validation_scores_ is None


def test_lbfgs_warns_at_max_iter_and_max_fun(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge after 3"):
        clf = _small(solver="lbfgs", max_iter=3).fit(X, y)
    assert clf.n_iter_ == 3
    with pytest.warns(ConvergenceWarning, match="status=1"):
        _small(solver="lbfgs", max_fun=4, max_iter=100).fit(X, y)


def test_lbfgs_has_no_partial_fit(iris):
    clf = _small(solver="lbfgs")
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError, match="no attribute 'partial_fit'") as error:
        clf.partial_fit(*iris, classes=[0, 1, 2])
    assert "solver='lbfgs'" in str(error.value.__cause__)


# Sample and class weights


def test_zero_weight_equals_dropping_and_integers_equal_repeats(iris):
    X, y = iris
    weights = np.tile([0, 1, 2, 3, 1], 30)
    params = dict(solver="sgd", batch_size=1000, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = _small(**params).fit(X, y, sample_weight=weights)
        repeated = _small(**params).fit(X.repeat(weights, axis=0), y.repeat(weights))
    # Full batch: the same model bit for bit
    _same_weights(weighted, repeated)
    np.testing.assert_array_equal(weighted.predict_proba(X), repeated.predict_proba(X))


@ignore_convergence
def test_minibatch_weights_equal_repeats_only_on_average(iris):
    X, y = iris
    weights = np.tile([1, 2], 75)
    weighted = _small(batch_size=16).fit(X, y, sample_weight=weights)
    repeated = _small(batch_size=16).fit(X.repeat(weights, 0), y.repeat(weights))
    assert not np.array_equal(weighted.coefs_[0], repeated.coefs_[0])
    assert abs(weighted.score(X, y) - repeated.score(X, y)) < 0.05


@ignore_convergence
def test_class_weight_is_a_sample_weight_factor(iris):
    X, y = iris
    balanced = _small(class_weight="balanced").fit(X[:120], y[:120])
    explicit = _small().fit(
        X[:120], y[:120], sample_weight=compute_sample_weight("balanced", y[:120])
    )
    _same_weights(balanced, explicit)

    sw = np.linspace(0.5, 2, 150)
    both = _small(class_weight={0: 2.0, 1: 1.0, 2: 0.5}).fit(X, y, sample_weight=sw)
    product = _small().fit(X, y, sample_weight=sw * np.array([2.0, 1.0, 0.5])[y])
    _same_weights(both, product)


@pytest.mark.parametrize(
    "class_weight, match",
    [({0: 1.0, 7: 2.0}, r"class_weight has labels \[7\]")],
)
def test_class_weight_with_unknown_labels_is_refused(iris, class_weight, match):
    with pytest.raises(ValueError, match=match):
        _small(class_weight=class_weight).fit(*iris)


def test_balanced_class_weight_is_refused_by_partial_fit(iris):
    with pytest.raises(ValueError, match="'balanced' is not supported by partial"):
        _small(class_weight="balanced").partial_fit(*iris, classes=[0, 1, 2])


def test_negative_sample_weight_is_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="Negative values in data"):
        _small().fit(X, y, sample_weight=-np.ones(150))


@ignore_convergence
def test_sample_weight_is_routed_through_grid_search(iris):
    X, y = iris
    sw = np.where(y == 2, 3.0, 1.0)
    with config_context(enable_metadata_routing=True):
        est = _small(max_iter=5).set_fit_request(sample_weight=True)
        est.set_score_request(sample_weight=True)
        grid = GridSearchCV(est, {"alpha": [1e-4, 1e-2]}, cv=3)
        grid.fit(X, y, sample_weight=sw)
    assert set(grid.cv_results_["params"][0]) == {"alpha"}


# Multilabel targets


@ignore_convergence
def test_multilabel_targets_use_independent_logistic_outputs():
    X, Y = make_multilabel_classification(n_samples=150, n_classes=4, random_state=0)
    clf = _small(hidden_layer_sizes=(16,), max_iter=200).fit(X, Y)
    assert clf.out_activation_ == "logistic"
    assert clf.n_outputs_ == 4
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    predicted = clf.predict(X)
    assert predicted.shape == Y.shape
    assert set(np.unique(predicted)) <= {0, 1}
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape
    np.testing.assert_array_equal(predicted, (proba > 0.5).astype(int))
    assert clf.score(X, Y) > 0.5  # subset accuracy

    with pytest.raises(ValueError, match="class_weight is not supported for multi"):
        _small(class_weight="balanced").fit(X, Y)
    with pytest.raises(ValueError, match="y has 3 labels; the fitted model has 4"):
        clf.set_params(warm_start=True).fit(X, Y[:, :3])


@ignore_convergence
def test_multilabel_partial_fit_needs_no_classes():
    X, Y = make_multilabel_classification(n_samples=60, n_classes=3, random_state=1)
    clf = _small()
    clf.partial_fit(X, Y)
    clf.partial_fit(X, Y)
    assert len(clf.loss_curve_) == 2
    with pytest.raises(ValueError, match="y is multiclass, but the fitted model"):
        clf.partial_fit(X, np.arange(60) % 3)


# Sparse input


@ignore_convergence
@pytest.mark.parametrize(
    "container", [sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array]
)
@pytest.mark.parametrize("batch_size", [32, "auto"], ids=["minibatch", "full"])
@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "made-dense"])
def test_sparse_input_trains_like_dense(
    iris, container, batch_size, stream, monkeypatch
):
    X, y = iris
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    if stream:
        # As if the matrix were too large to be made dense whole
        monkeypatch.setattr(_training, "_SMALL_DENSE_BYTES", 0)
    dense = _small(batch_size=batch_size).fit(X, y)
    sparse = _small(batch_size=batch_size).fit(container(X), y)
    for a, b in zip(dense.coefs_, sparse.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        sparse.predict_proba(container(X)), dense.predict_proba(X), rtol=1e-4
    )


@ignore_convergence
def test_sparse_input_is_made_dense_one_batch_at_a_time(iris, monkeypatch):
    X, y = iris
    blocks = []
    dense_rows = _training._dense_rows

    def recording(x, y, w, index, n_rows):
        blocks.append(n_rows)
        return dense_rows(x, y, w, index, n_rows)

    monkeypatch.setattr(_training, "_dense_rows", recording)
    monkeypatch.setattr(_training, "_SMALL_DENSE_BYTES", 0)
    _small(batch_size=16, max_iter=2).fit(sp.csr_matrix(X), y)
    assert blocks and max(blocks) == 16


def test_only_small_sparse_matrices_are_made_dense_whole():
    y = np.zeros((300, 1), np.float32)
    w = np.ones(300, np.float32)
    wide = sp.random(300, 70_000, density=1e-4, format="csr", random_state=0)
    narrow = sp.random(300, 20, density=0.1, format="csr", random_state=0)
    # 512 padded rows of 70,000 float32 features would take 137 MiB
    assert sp.issparse(_training.place(wide, y, w)[0])
    assert isinstance(_training.place(narrow, y, w), _training.TrainData)


# Activations beyond MLPClassifier's


@ignore_convergence
@pytest.mark.parametrize("activation", ["leaky_relu", "gelu"])
def test_extra_activations_train_and_predict_in_float64_too(iris, activation):
    X, y = iris
    clf = _small(activation=activation, max_iter=100).fit(X, y)
    assert clf.score(X, y) > 0.9
    np.testing.assert_allclose(
        clf._logits_float64(X), clf._logits(X), rtol=1e-4, atol=1e-5
    )


# Bad weights, validation targets and fitted weights are refused by name


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(60, 4)), np.arange(60) % 3


@pytest.mark.parametrize(
    "params, fit_kwargs, message",
    [
        ({"class_weight": {0: -1.0}}, {}, "class_weight must give every class"),
        ({"class_weight": {0: np.nan}}, {}, "class_weight must give every class"),
        ({"class_weight": {0: 0, 1: 0, 2: 0}}, {}, "weight of zero"),
        ({}, {"sample_weight": np.full(60, 1e-40)}, "float32 cannot hold"),
        ({}, {"sample_weight": np.full(60, 1e38)}, "float32 cannot hold"),
        (
            {"early_stopping": True, "validation_fraction": 0.2},
            {"sample_weight": (np.arange(60) < 6).astype(float)},
            "zero weight",
        ),
        (
            {"early_stopping": True},
            {"sample_weight_val": np.ones(15)},
            "sample_weight_val weighs the rows of X_val",
        ),
    ],
)
@ignore_convergence
def test_bad_weights_are_refused_before_training(params, fit_kwargs, message):
    X, y = _rows()
    clf = _small(**params)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y, **fit_kwargs)
    assert not hasattr(clf, "coefs_")


@pytest.mark.parametrize(
    "y_val, message",
    [
        (np.eye(3)[np.arange(15) % 3], r"y_val is multilabel-indicator, but y is"),
        (np.arange(15) % 4, r"y_val has labels \[3\]"),
    ],
)
@ignore_convergence
def test_a_validation_target_unlike_y_is_refused(y_val, message):
    X, y = _rows()
    with pytest.raises(ValueError, match=message):
        _small(early_stopping=True).fit(X, y, X_val=X[:15], y_val=y_val)


def test_a_multilabel_validation_target_needs_every_label():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    y = (rng.random((60, 3)) > 0.5).astype(int)
    with pytest.raises(ValueError, match="y_val has 2 labels; y has 3"):
        _small(early_stopping=True).fit(X, y, X_val=X[:15], y_val=y[:15, :2])


@ignore_convergence
def test_a_sparse_label_indicator_matrix_is_a_target():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 4))
    y = (rng.random((60, 3)) > 0.5).astype(int)
    dense = _small(max_iter=3).fit(X, y)
    sparse = _small(max_iter=3).fit(X, sp.csr_matrix(y))
    np.testing.assert_array_equal(sparse.coefs_[0], dense.coefs_[0])


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.intercepts_.__setitem__(1, c.intercepts_[1][:2]), "chain"),
        (lambda c: c.coefs_.__setitem__(0, c.coefs_[0][:, :3]), "chain"),
        (lambda c: c.coefs_[0].__setitem__((0, 0), np.nan), "NaN or infinity"),
    ],
    ids=["short bias", "narrow weights", "nan weight"],
)
@ignore_convergence
def test_continuing_from_edited_weights_is_refused(edit, message):
    X, y = _rows()
    clf = _small(max_iter=3).fit(X, y)
    edit(clf)
    kept = [w.copy() for w in clf.coefs_]
    with pytest.raises(ValueError, match=message):
        clf.partial_fit(X, y)
    with pytest.raises(ValueError, match=message):
        clf.set_params(warm_start=True).fit(X, y)
    for before, after in zip(kept, clf.coefs_, strict=True):
        np.testing.assert_array_equal(before, after)


@ignore_convergence
def test_a_date_column_of_a_dataframe_is_refused_by_name():
    pd = pytest.importorskip("pandas")
    X, y = _rows()
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["when"] = pd.date_range("2026-01-01", periods=60)
    with pytest.raises(ValueError, match="column 'when'"):
        _small().fit(frame, y)
