import os
import pickle
import subprocess
import sys
import warnings

import jax
import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_jaxmlp
from sklearn_jaxmlp import JaxMLPClassifier, _training

ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def binary():
    return make_classification(
        n_samples=120, n_features=6, n_informative=4, random_state=0
    )


def _small(**params):
    defaults = dict(
        hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=30, random_state=0
    )
    return JaxMLPClassifier(**{**defaults, **params})


# Parameters and data are checked in fit, with messages that say what to fix


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "'alpha' parameter of JaxMLPClassifier must be"),
        ({"activation": "softplus"}, "'activation' parameter"),
        ({"solver": "newton"}, "'solver' parameter"),
        ({"learning_rate": "cosine"}, "'learning_rate' parameter"),
        ({"power_t": -1.0}, "'power_t' parameter"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
        ({"max_fun": 0}, "'max_fun' parameter"),
        ({"class_weight": "auto"}, "'class_weight' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"learning_rate_init": 0.0}, "'learning_rate_init' parameter"),
        ({"max_iter": 0}, "'max_iter' parameter"),
        ({"momentum": 1.5}, "'momentum' parameter"),
        ({"beta_1": 1.0}, "'beta_1' parameter"),
        ({"epsilon": 0.0}, "'epsilon' parameter"),
        ({"n_iter_no_change": 0}, "'n_iter_no_change' parameter"),
        ({"hidden_layer_sizes": (4, 0)}, r"hidden_layer_sizes must hold positive"),
        ({"hidden_layer_sizes": (4, -2)}, r"got \(4, -2\)"),
        ({"hidden_layer_sizes": (2.5,)}, "positive integers"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_invalid_parameters_are_named(iris, params, match):
    X, y = iris
    clf = _small(**params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "n_features_in_")


def test_unknown_parameter_is_refused():
    with pytest.raises(TypeError, match="dropout"):
        JaxMLPClassifier(dropout=0.5)


@pytest.mark.parametrize(
    "X, y, match",
    [
        ([[0.0, np.nan], [1.0, 2.0]], [0, 1], "NaN"),
        ([[0.0, 1.0], [1.0, 2.0], [2.0, 0.0]], [0.5, 1.5, 2.5], "Unknown label type"),
        ([[0.0, 1.0], [1.0, 2.0]], [1, 1], "at least 2 classes; got 1 class"),
        ([[1e39, 1.0], [1.0, 2.0]], [0, 1], "beyond float32's range"),
        ([[0.0, 1.0], [1.0, 2.0]], [[0, 2], [1, 3]], "y is multiclass-multioutput"),
    ],
    ids=["nan", "continuous", "one-class", "float32-range", "multioutput"],
)
def test_bad_training_data_is_named(X, y, match):
    with pytest.raises(ValueError, match=match):
        _small().fit(np.asarray(X), np.asarray(y))


def test_predict_checks_its_input(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        _small().predict(X)
    clf = _small(max_iter=2)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but JaxMLPClassifier"):
        clf.predict(X[:, :3])


# Labels, outputs and fitted attributes as MLPClassifier has them


@ignore_convergence
@pytest.mark.parametrize(
    "labels",
    [
        np.array(["setosa", "versicolor", "virginica"]),
        np.array([3, 10, 42]),
        np.array([-1.0, 0.0, 2.0]),
    ],
    ids=["strings", "gapped-ints", "floats"],
)
def test_predict_returns_the_original_labels(iris, labels):
    X, y = iris
    clf = _small(max_iter=100).fit(X, labels[y])
    np.testing.assert_array_equal(clf.classes_, labels)
    predicted = clf.predict(X)
    assert predicted.dtype == labels.dtype
    assert set(predicted) <= set(labels)
    assert np.mean(predicted == labels[y]) > 0.9


@ignore_convergence
def test_binary_uses_one_logistic_output(binary):
    X, y = binary
    y_bool = y.astype(bool)
    clf = _small().fit(X, y_bool)
    assert clf.n_outputs_ == 1
    assert clf.out_activation_ == "logistic"
    assert clf.coefs_[-1].shape == (8, 1)
    np.testing.assert_array_equal(clf.classes_, [False, True])
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


@ignore_convergence
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_fitted_attributes_match_mlpclassifier(iris, solver):
    X, y = iris
    params = dict(hidden_layer_sizes=(7, 5), solver=solver, max_iter=5)
    ours = JaxMLPClassifier(**params, random_state=0).fit(X, y)
    theirs = MLPClassifier(**params, random_state=0).fit(X, y)

    def public_fitted(est):
        return {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}

    assert public_fitted(theirs) <= public_fitted(ours)
    assert public_fitted(ours) - public_fitted(theirs) == {"validation_loss_curve_"}
    for name in ["n_iter_", "t_", "n_layers_", "n_outputs_", "n_features_in_"]:
        assert getattr(ours, name) == getattr(theirs, name), name
        assert isinstance(getattr(ours, name), int)
    assert ours.out_activation_ == theirs.out_activation_
    assert len(ours.loss_curve_) == len(theirs.loss_curve_)
    assert isinstance(ours.loss_, float)
    assert isinstance(ours.best_loss_, float)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert type(a) is np.ndarray and a.flags.writeable
        assert a.shape == b.shape


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "solver, extra",
    [
        ("sgd", {"momentum": 0.9, "nesterovs_momentum": True}),
        ("sgd", {"momentum": 0.5, "nesterovs_momentum": False}),
        ("adam", {}),
    ],
    ids=["sgd-nesterov", "sgd-classic", "adam"],
)
@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_epochs_match_mlpclassifier_from_the_same_weights(
    iris, binary, solver, extra, task, fit_both_from_the_same_weights
):
    """From equal weights, both estimators take the same steps."""
    X, y = iris if task == "multiclass" else binary
    params = dict(
        hidden_layer_sizes=(6,),
        solver=solver,
        alpha=0.01,
        batch_size=32,  # leaves a short last batch
        learning_rate_init=0.01,
        shuffle=False,
        **extra,
    )
    ours, theirs = fit_both_from_the_same_weights(params, X, y, max_iter=3)

    # The first entry is each one's own first fit, from its own initialisation
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-4)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    assert ours.n_iter_ == theirs.n_iter_ == 3
    assert ours.t_ == theirs.t_


@ignore_convergence
def test_predict_log_proba_comes_from_the_logits(iris):
    X, y = iris
    clf = _small(max_iter=200, alpha=0.0).fit(X, y)
    np.testing.assert_allclose(
        clf.predict_log_proba(X), np.log(clf.predict_proba(X)), atol=1e-10
    )
    # Far from the data a probability underflows, its logarithm does not
    far = X[:5] * 1e3
    assert (clf.predict_proba(far) == 0).any()
    assert np.isfinite(clf.predict_log_proba(far)).all()


@ignore_convergence
@pytest.mark.parametrize("scale", [1e30, -1e30, 1e36])
@pytest.mark.parametrize("activation", ["relu", "identity", "tanh"])
def test_extreme_inputs_give_valid_probabilities(iris, scale, activation):
    X, y = iris
    clf = _small(hidden_layer_sizes=(16, 16), activation=activation).fit(X, y)
    proba = clf.predict_proba(X[:20] * scale)
    assert not np.isnan(proba).any()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.isfinite(clf.predict_log_proba(X[:20] * scale)).all()
    np.testing.assert_array_equal(
        clf.predict(X[:20] * scale), clf.classes_[proba.argmax(axis=1)]
    )


@ignore_convergence
def test_inputs_beyond_float64_outputs_are_refused(iris):
    X, y = iris
    clf = _small(hidden_layer_sizes=(16, 16)).fit(X, y)
    clf.coefs_[0][:] = 1.0  # four inputs of 1e308 add up beyond float64
    with pytest.raises(ValueError, match="overflow even in float64"):
        clf.predict_proba(np.full((3, 4), 1e308))


# Training behaviour


@ignore_convergence
def test_same_random_state_gives_the_same_model_bit_for_bit(iris):
    X, y = iris
    a = _small().fit(X, y)
    b = _small().fit(X, y)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(wa, wb)
    c = _small(random_state=1).fit(X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


@ignore_convergence
@pytest.mark.parametrize("random_state", [None, 0, np.random.RandomState(3)])
def test_fit_leaves_numpy_global_random_state_alone(iris, random_state):
    X, y = iris
    before = np.random.get_state()
    _small(random_state=random_state, max_iter=2).fit(X, y)
    after = np.random.get_state()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


def test_convergence_stops_early_and_max_iter_warns(iris, capsys):
    X, y = iris
    clf = _small(tol=10.0, n_iter_no_change=2, verbose=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(X, y)
    # The first epoch always improves on inf; then two epochs without tol
    assert clf.n_iter_ == 4
    assert "did not improve more than tol=10 for 2" in capsys.readouterr().out
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\)"):
        _small(max_iter=3).fit(X, y)


def test_verbose_prints_one_line_per_epoch(iris, capsys):
    X, y = iris
    with pytest.warns(ConvergenceWarning):
        clf = _small(max_iter=3, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"Iteration {i + 1}, loss = {loss:.8f}"
        for i, loss in enumerate(clf.loss_curve_)
    ]
    with pytest.warns(ConvergenceWarning):
        _small(max_iter=2, verbose=2).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert all(line.endswith(" s)") for line in lines)


def test_silent_unless_verbose(iris, capsys):
    X, y = iris
    with pytest.warns(ConvergenceWarning):
        _small(max_iter=2).fit(X, y)
    assert capsys.readouterr().out == ""


def test_batch_size_larger_than_data_is_clipped_with_a_warning(iris):
    X, y = iris
    clf = _small(batch_size=1000, solver="sgd", max_iter=3)
    with pytest.warns(UserWarning, match="batch_size=1000 is larger"):
        with pytest.warns(ConvergenceWarning):
            clf.fit(X, y)
    full = _small(batch_size=len(X), solver="sgd", max_iter=3)
    with pytest.warns(ConvergenceWarning):
        full.fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], full.coefs_[0])


@ignore_convergence
def test_divergence_raises_and_keeps_the_previous_model(iris):
    X, y = iris
    clf = _small(solver="sgd", max_iter=5).fit(X, y)
    before = [w.copy() for w in clf.coefs_]
    curve = list(clf.loss_curve_)
    clf.set_params(learning_rate_init=1e20, momentum=0.0)
    with pytest.raises(ValueError, match="diverged.*lower learning_rate_init"):
        clf.fit(X * 1e5, y)
    for a, b in zip(clf.coefs_, before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert clf.loss_curve_ == curve
    assert clf.learning_rate_init == 1e20

    fresh = _small(solver="sgd", learning_rate_init=1e20, momentum=0.0)
    with pytest.raises(ValueError, match="diverged"):
        fresh.fit(X * 1e5, y)
    assert not hasattr(fresh, "coefs_")
    assert not hasattr(fresh, "n_features_in_")
    with pytest.raises(NotFittedError):
        fresh.predict(X)


def test_keyboard_interrupt_keeps_the_last_finished_epoch(iris, monkeypatch):
    X, y = iris
    run_epoch = _training.run_epoch
    calls = []

    def interrupted_on_third_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return run_epoch(*args, **kwargs)

    monkeypatch.setattr(_training, "run_epoch", interrupted_on_third_epoch)
    with pytest.warns(UserWarning, match="interrupted by user"):
        clf = _small(max_iter=10).fit(X, y)
    monkeypatch.undo()

    with pytest.warns(ConvergenceWarning):
        two_epochs = _small(max_iter=2).fit(X, y)
    assert clf.n_iter_ == 2
    assert len(clf.loss_curve_) == 2
    for a, b in zip(clf.coefs_, two_epochs.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert clf.predict(X).shape == y.shape


@ignore_convergence
def test_warm_start_continues_and_counts_the_latest_call(iris):
    X, y = iris
    clf = _small(max_iter=4, warm_start=True, tol=0.0).fit(X, y)
    first = [w.copy() for w in clf.coefs_]
    clf.fit(X, y)
    assert clf.n_iter_ == 4
    assert len(clf.loss_curve_) == 8
    assert clf.t_ == 8 * len(X)
    assert not np.array_equal(first[0], clf.coefs_[0])

    cold = _small(max_iter=4, tol=0.0).fit(X, y)
    cold.fit(X, y)
    assert len(cold.loss_curve_) == 4


@ignore_convergence
def test_warm_start_refuses_other_classes_or_layers(iris):
    X, y = iris
    clf = _small(warm_start=True, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="same classes as the previous fit"):
        clf.fit(X[y < 2], y[y < 2])
    clf.set_params(hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="warm_start continues the fitted model"):
        clf.fit(X, y)
    assert clf.coefs_[0].shape == (4, 8)


def test_partial_fit_runs_one_epoch_per_call(iris):
    X, y = iris
    clf = _small()
    with pytest.raises(ValueError, match="classes must be passed on the first"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.n_iter_ == 1
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.n_outputs_ == 3
    for _ in range(3):
        clf.partial_fit(X, y)
    assert len(clf.loss_curve_) == 4
    assert clf.t_ == 100 + 3 * 150
    with pytest.raises(ValueError, match=r"labels \[7\] that are not among"):
        clf.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="X has 2 features"):
        clf.partial_fit(X[:, :2], y)
    assert len(clf.loss_curve_) == 4


def test_partial_fit_keeps_adam_state_across_calls(iris):
    X, y = iris
    clf = _small(batch_size=32)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y)
    assert int(clf._optimizer_state.count) == 2 * 5  # 150 rows in 5 batches


# The scikit-learn ecosystem


@ignore_convergence
def test_pipeline_with_scaler():
    X, y = load_iris(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", _small(max_iter=200))])
    assert pipe.fit(X, y).score(X, y) > 0.9
    pipe.set_params(mlp__hidden_layer_sizes=(5, 3))
    pipe.fit(X, y)
    assert [w.shape for w in pipe[-1].coefs_] == [(4, 5), (5, 3), (3, 3)]


@ignore_convergence
def test_clone_and_set_params_never_reuse_stale_state(iris):
    X, y = iris
    clf = _small().fit(X, y)
    copy = clone(clf)
    assert not hasattr(copy, "coefs_")
    copy.set_params(hidden_layer_sizes=(4, 4), activation="tanh").fit(X, y)
    assert [w.shape for w in copy.coefs_] == [(4, 4), (4, 4), (4, 3)]
    clf.set_params(hidden_layer_sizes=(2,)).fit(X, y)
    assert [w.shape for w in clf.coefs_] == [(4, 2), (2, 3)]


@ignore_convergence
def test_grid_search_in_two_processes(iris):
    X, y = iris
    grid = GridSearchCV(
        _small(max_iter=50),
        {"hidden_layer_sizes": [(4,), (8, 4)], "alpha": [1e-4, 1e-1]},
        cv=3,
        n_jobs=2,
    )
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_score_ > 0.8
    assert grid.best_estimator_.coefs_[0].shape[0] == 4


@ignore_convergence
def test_joblib_round_trip_in_a_new_process(iris, tmp_path):
    X, y = iris
    clf = _small().fit(X, y)
    clf.predict(X)  # pickling after predict must work too
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    np.save(tmp_path / "X.npy", X)
    script = (
        "import joblib, numpy as np;"
        f"clf = joblib.load({str(path)!r});"
        f"X = np.load({str(tmp_path / 'X.npy')!r});"
        f"np.save({str(tmp_path / 'proba.npy')!r}, clf.predict_proba(X))"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), clf.predict_proba(X))


@ignore_convergence
def test_fitted_state_is_plain_numpy(iris):
    X, y = iris
    clf = _small().fit(X, y)
    clf.predict(X)
    leaves = jax.tree.leaves(vars(clf))
    assert not any(isinstance(leaf, jax.Array) for leaf in leaves)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


@ignore_convergence
def test_metrics_reports_on_predictions(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = _small(max_iter=100).fit(X, names[y])
    predicted = clf.predict(X)
    report = classification_report(names[y], predicted)
    assert all(name in report for name in names)
    matrix = confusion_matrix(names[y], predicted, labels=clf.classes_)
    assert matrix.shape == (3, 3)
    assert matrix.sum() == len(y)
    assert np.trace(matrix) > 0.9 * len(y)


def test_keyboard_interrupt_before_any_epoch_leaves_the_estimator_unfitted(
    iris, monkeypatch
):
    X, y = iris

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_training, "run_epoch", interrupted)
    clf = _small()
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert vars(clf) == vars(_small())


def test_partial_fit_after_a_solver_change_starts_a_new_optimizer(iris):
    X, y = iris
    clf = _small(solver="adam")
    clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.set_params(solver="sgd").partial_fit(X, y)
    assert type(clf._optimizer_state).__name__ == "SGDState"
    assert len(clf.loss_curve_) == 2


# Values that only float32 arithmetic would change, and inputs NumPy would bend


@pytest.mark.parametrize(
    "params, match",
    [
        ({"beta_2": 0.99999999}, r"beta_2=0.99999999 becomes 1.0 in float32"),
        ({"beta_1": 0.99999999}, r"beta_1=0.99999999 becomes 1.0"),
        ({"epsilon": 1e-50}, r"epsilon=1e-50 becomes 0.0"),
        ({"alpha": 1e39}, r"alpha=1e\+39 becomes inf"),
        ({"learning_rate_init": 1e-50}, r"learning_rate_init=1e-50 becomes 0.0"),
    ],
    ids=["beta_2", "beta_1", "epsilon", "alpha", "learning_rate_init"],
)
def test_values_float32_cannot_hold_are_refused(iris, params, match):
    with pytest.raises(ValueError, match=match):
        _small(**params).fit(*iris)


def test_boolean_layer_size_is_refused(iris):
    with pytest.raises(ValueError, match="positive integers"):
        _small(hidden_layer_sizes=(True,)).fit(*iris)


@pytest.mark.parametrize(
    "X",
    [
        np.array([["1.5", "2"], ["3", "4"]]),
        np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]").reshape(2, 1),
    ],
    ids=["strings", "dates"],
)
def test_text_and_dates_are_refused(X):
    with pytest.raises(ValueError, match="needs numeric features"):
        _small().fit(X, [0, 1])


@pytest.mark.parametrize(
    "classes, match",
    [
        ([0, 1, 2, np.nan], "classes holds NaN"),
        ([[0, 1], [2, 3]], r"1-d array-like of labels; got an array of shape \(2, 2\)"),
        (3, r"got an array of shape \(\)"),
    ],
    ids=["nan", "2d", "scalar"],
)
def test_partial_fit_checks_classes(iris, classes, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        _small().partial_fit(X, y, classes=classes)


def test_partial_fit_after_an_architecture_change_says_what_to_do(iris):
    X, y = iris
    clf = _small().partial_fit(X, y, classes=[0, 1, 2])
    clf.set_params(hidden_layer_sizes=(7,))
    with pytest.raises(ValueError, match="partial_fit continues the fitted model.*fit"):
        clf.partial_fit(X, y)


def test_a_network_too_large_for_memory_raises_memory_error():
    X = np.random.default_rng(0).normal(size=(20, 64))
    clf = _small(hidden_layer_sizes=(2**31,))
    with pytest.raises(MemoryError, match="does not fit in memory"):
        clf.fit(X, np.arange(20) % 2)
    assert not hasattr(clf, "coefs_")


@ignore_convergence
def test_damaged_weights_are_named(iris):
    X, y = iris
    clf = _small().fit(X, y)
    clf.coefs_[0][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"coefs_, intercepts_\) hold NaN"):
        clf.predict_proba(X)
    clf.coefs_[0] = np.zeros((3, 8))
    with pytest.raises(ValueError, match="do not chain into a network from 4"):
        clf.predict(X)


def test_global_jax_settings_change_nothing(tmp_path, iris):
    """x64 mode and strict dtype promotion, each in a fresh process."""
    script = """
import sys, warnings
import jax
jax.config.update(sys.argv[1], sys.argv[2] == "1" or sys.argv[2])
warnings.simplefilter("ignore")
import numpy as np, scipy.sparse as sp
from sklearn_jaxmlp import JaxMLPClassifier
X, y = np.load(sys.argv[3]), np.load(sys.argv[4])
coefs = []
for params in [{}, {"batch_size": 32}, {"solver": "lbfgs"}]:
    clf = JaxMLPClassifier((5,), max_iter=5, random_state=0, **params).fit(X, y)
    clf.predict_proba(X)
    coefs.append(clf.coefs_[0])
JaxMLPClassifier((5,), max_iter=2, batch_size=16).fit(sp.csr_matrix(X), y)
np.save(sys.argv[5], np.stack(coefs))
"""
    X, y = iris
    path = tmp_path / "fit.py"
    path.write_text(script)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    default = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for params in [{}, {"batch_size": 32}, {"solver": "lbfgs"}]:
            clf = JaxMLPClassifier((5,), max_iter=5, random_state=0, **params)
            default.append(clf.fit(X, y).coefs_[0])
    # The script imports the package under test, wherever it is installed
    root = os.path.dirname(os.path.dirname(sklearn_jaxmlp.__file__))
    path_list = [root, os.environ.get("PYTHONPATH")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, path_list)))
    for option, value in [
        ("jax_enable_x64", "1"),
        ("jax_numpy_dtype_promotion", "strict"),
    ]:
        out = tmp_path / f"{option}.npy"
        subprocess.run(
            [sys.executable, str(path), option, value]
            + [str(tmp_path / "X.npy"), str(tmp_path / "y.npy"), str(out)],
            check=True,
            timeout=300,
            env=env,
        )
        np.testing.assert_allclose(np.load(out), np.stack(default), rtol=1e-5)
