import copy
import json
import os
import sys

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import Bunch

from sklearn_jaxmlp import JaxMLPClassifier, _report
from sklearn_jaxmlp._report import (
    build_metrics,
    evaluate,
    format_confusion_matrix,
    format_evaluation,
    json_safe,
    save_figures,
    save_metrics,
    save_model,
    write_atomic,
    write_files,
)
from sklearn_jaxmlp.datasets import load_digits_split

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover"]


def block_matplotlib(monkeypatch):
    """Make every import of matplotlib fail, as if it were not installed."""
    names = [name for name in sys.modules if name.split(".")[0] == "matplotlib"]
    for name in {"matplotlib", *names}:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture(scope="module")
def fitted():
    """A small network fitted on the digits, and its test scores."""
    data = load_digits_split()
    # The network of tests/test_main.py, whose compiled epoch it reuses
    estimator = JaxMLPClassifier(
        hidden_layer_sizes=(16,), max_iter=3, n_iter_no_change=np.inf, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        estimator.fit(data.X_train, data.y_train)
    y_pred = estimator.predict(data.X_test)
    evaluation = evaluate(data.y_test, y_pred, data.target_names)
    return Bunch(data=data, estimator=estimator, y_pred=y_pred, evaluation=evaluation)


@pytest.fixture(scope="module")
def early_stopped(fitted):
    """The network of ``fitted``, trained with early stopping."""
    data = fitted.data
    estimator = JaxMLPClassifier(
        hidden_layer_sizes=(16,),
        max_iter=3,
        n_iter_no_change=np.inf,
        early_stopping=True,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        estimator.fit(data.X_train, data.y_train)
    y_pred = estimator.predict(data.X_test)
    evaluation = evaluate(data.y_test, y_pred, data.target_names)
    return Bunch(data=data, estimator=estimator, y_pred=y_pred, evaluation=evaluation)


def metrics_of(run, **kwargs):
    """``build_metrics`` of a fixture's run."""
    options = dict(
        dataset="digits",
        n_train=len(run.data.X_train),
        fit_seconds=1.5,
        stopped="max_iter",
    )
    return build_metrics(run.evaluation, run.estimator, **{**options, **kwargs})


# Atomic writes


def test_write_atomic_writes_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    result = write_atomic(path, lambda file: file.write(b"new content"))

    assert result == path
    assert path.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.parametrize(
    "error", [OSError(28, "No space left on device"), KeyboardInterrupt()]
)
def test_write_atomic_keeps_old_file_when_writing_fails(tmp_path, error):
    path = tmp_path / "model.joblib"
    path.write_bytes(b"the old model")

    def write_half_then_fail(file):
        file.write(b"half of a new mo")
        raise error

    with pytest.raises(type(error)):
        write_atomic(path, write_half_then_fail)

    assert path.read_bytes() == b"the old model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.joblib"]


def test_write_atomic_keeps_old_file_when_rename_fails(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    path.write_text("{}")

    def failing_replace(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(_report.os, "replace", failing_replace)
    with pytest.raises(OSError, match="cross-device"):
        write_atomic(path, lambda file: file.write(b'{"accuracy": 1}'))

    assert path.read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


@pytest.mark.parametrize(
    "error", [OSError(28, "No space left on device"), KeyboardInterrupt()]
)
def test_write_files_keeps_the_old_set_when_one_file_fails(tmp_path, error):
    for name in ("model.joblib", "metrics.json"):
        (tmp_path / name).write_bytes(b"old")

    def fail(file):
        file.write(b"half")
        raise error

    writers = {"model.joblib": lambda file: file.write(b"new"), "metrics.json": fail}
    with pytest.raises(type(error)):
        write_files(tmp_path, writers)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "metrics.json",
        "model.joblib",
    ]
    assert (tmp_path / "model.joblib").read_bytes() == b"old"
    assert (tmp_path / "metrics.json").read_bytes() == b"old"


def test_write_files_removes_stale_files_of_the_set(tmp_path):
    for name in ("model.joblib", "samples.png", "loss_curve.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"old")

    paths = write_files(
        tmp_path,
        {"model.joblib": lambda file: file.write(b"new")},
        remove=("model.joblib", "samples.png", "loss_curve.png", "absent.png"),
    )

    assert paths == [tmp_path / "model.joblib"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.joblib", "notes.txt"]
    assert (tmp_path / "model.joblib").read_bytes() == b"new"


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_write_atomic_file_mode_follows_umask(tmp_path):
    old_umask = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "a.json", lambda file: file.write(b"{}"))
    finally:
        os.umask(old_umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_save_model_and_metrics_round_trip(tmp_path, fitted):
    model_path = save_model(tmp_path / "model.joblib", fitted.estimator)
    metrics_path = save_metrics(tmp_path / "metrics.json", {"loss": np.float32(0.5)})

    model = joblib.load(model_path)
    np.testing.assert_array_equal(model.predict(fitted.data.X_test), fitted.y_pred)
    assert json.loads(metrics_path.read_text()) == {"loss": 0.5}


# Text


def test_format_confusion_matrix_numbers_columns_and_names_rows():
    matrix = np.array([[950, 3, 0], [12, 1000, 7], [0, 0, 5]])

    text = format_confusion_matrix(matrix, FASHION_NAMES)

    assert text.splitlines() == [
        "                 0    1    2",
        "0 T-shirt/top  950    3    0",
        "1 Trouser       12 1000    7",
        "2 Pullover       0    0    5",
    ]


def test_format_confusion_matrix_does_not_repeat_digit_names():
    text = format_confusion_matrix(np.eye(3, dtype=int), ["0", "1", "2"])

    assert text.splitlines() == ["  0 1 2", "0 1 0 0", "1 0 1 0", "2 0 0 1"]


def test_evaluate_scores_every_class_without_warnings():
    # Class 2 is never predicted and class 1 never occurs: no warning
    y_true = np.array([0, 0, 2, 2])
    y_pred = np.array([0, 0, 1, 0])

    evaluation = evaluate(y_true, y_pred, FASHION_NAMES)
    text = format_evaluation(evaluation)

    assert evaluation.accuracy == 0.5
    assert evaluation.matrix.tolist() == [[2, 0, 0], [0, 0, 0], [1, 1, 0]]
    assert text.startswith("Test accuracy: 0.5000 (2 of 4)\n")
    assert "Classification report:" in text
    for name in FASHION_NAMES:
        assert name in text
    assert "Confusion matrix (rows: true class, columns: predicted class):" in text


# Metrics


def test_build_metrics_is_strict_json(fitted):
    metrics = build_metrics(
        fitted.evaluation,
        fitted.estimator,
        dataset="digits",
        n_train=len(fitted.data.X_train),
        fit_seconds=1.5,
        stopped="max_iter",
    )

    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics
    assert metrics["dataset"] == "digits"
    assert metrics["accuracy"] == fitted.evaluation.accuracy
    assert metrics["n_train"] == 1347
    assert metrics["n_test"] == len(fitted.data.X_test)
    assert list(metrics["per_class"]) == fitted.data.target_names
    assert set(metrics["per_class"]["3"]) == {
        "precision",
        "recall",
        "f1-score",
        "support",
    }
    assert set(metrics["averages"]) == {"macro avg", "weighted avg"}
    assert metrics["averages"]["macro avg"]["support"] == len(fitted.data.X_test)
    assert np.sum(metrics["confusion_matrix"]) == len(fitted.data.X_test)
    assert metrics["n_iter"] == 3
    assert len(metrics["loss_curve"]) == 3
    assert metrics["final_loss"] == metrics["loss_curve"][-1]
    assert metrics["stopped"] == "max_iter"
    assert metrics["params"]["hidden_layer_sizes"] == [16]
    assert metrics["params"]["n_iter_no_change"] == "inf"
    assert set(metrics["versions"]) >= {"jax", "scikit-learn", "sklearn_jaxmlp"}


def test_build_metrics_has_no_validation_keys_without_early_stopping(fitted):
    metrics = metrics_of(fitted)

    assert fitted.estimator.validation_scores_ is None
    assert not {
        "validation_scores",
        "validation_loss_curve",
        "best_validation_score",
    } & set(metrics)


def test_build_metrics_includes_the_validation_curves(early_stopped):
    estimator = early_stopped.estimator

    metrics = metrics_of(early_stopped)

    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics
    assert metrics["validation_scores"] == estimator.validation_scores_
    assert metrics["validation_loss_curve"] == estimator.validation_loss_curve_
    assert len(metrics["validation_scores"]) == 3
    assert len(metrics["validation_loss_curve"]) == 3
    assert metrics["best_validation_score"] == max(metrics["validation_scores"])
    assert metrics["params"]["early_stopping"] is True


def test_build_metrics_validation_values_are_strict_json(early_stopped):
    # As left by a validation set that no epoch was scored on
    estimator = copy.copy(early_stopped.estimator)
    estimator.validation_scores_ = [np.float32(0.5), np.float64(np.nan)]
    estimator.validation_loss_curve_ = []
    estimator.best_validation_score_ = -np.inf

    metrics = metrics_of(Bunch(**{**early_stopped, "estimator": estimator}))

    json.dumps(metrics, allow_nan=False)
    assert metrics["validation_scores"] == [0.5, "nan"]
    assert metrics["validation_loss_curve"] == []
    assert metrics["best_validation_score"] == "-inf"


@pytest.mark.parametrize(
    "value, expected",
    [
        (np.float32(0.25), 0.25),
        (np.int64(7), 7),
        (np.bool_(True), True),
        (np.inf, "inf"),
        (-np.inf, "-inf"),
        (float("nan"), "nan"),
        ((24, 24), [24, 24]),
        (np.arange(3), [0, 1, 2]),
        ({1: None}, {"1": None}),
        (np.random.RandomState, repr(np.random.RandomState)),
    ],
    ids=[
        "float32",
        "int64",
        "bool_",
        "inf",
        "-inf",
        "nan",
        "tuple",
        "array",
        "int-key",
        "object",
    ],
)
def test_json_safe(value, expected):
    assert json_safe(value) == expected


# Figures


def test_save_figures_writes_three_pngs(tmp_path, fitted):
    paths = save_figures(
        tmp_path, fitted.estimator, fitted.evaluation, fitted.data, fitted.y_pred
    )

    assert [p.name for p in paths] == [
        "loss_curve.png",
        "confusion_matrix.png",
        "samples.png",
    ]
    assert [p.name for p in paths] == list(_report.FIGURE_NAMES)
    for path in paths:
        assert path.read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_save_figures_without_matplotlib_returns_none(tmp_path, fitted, monkeypatch):
    block_matplotlib(monkeypatch)

    result = save_figures(
        tmp_path, fitted.estimator, fitted.evaluation, fitted.data, fitted.y_pred
    )

    assert result is None
    assert list(tmp_path.iterdir()) == []
    assert "pip install 'sklearn_jaxmlp[plot]'" in _report.MATPLOTLIB_HINT


def line_labels(figure):
    """The legend labels of a figure's one axes, and its axis labels."""
    (axes,) = figure.axes
    legend = axes.get_legend()
    labels = [] if legend is None else [text.get_text() for text in legend.texts]
    return labels, axes.get_xlabel(), axes.get_ylabel()


def test_loss_figure_of_training_alone():
    pytest.importorskip("matplotlib")

    figure = _report._loss_figure([2.0, 1.5, 1.2])

    (axes,) = figure.axes
    assert len(axes.lines) == 1
    assert line_labels(figure) == ([], "epoch", "training loss")


def test_loss_figure_plots_the_validation_loss_beside_training():
    pytest.importorskip("matplotlib")

    figure = _report._loss_figure([2.0, 1.5, 1.2], [2.1, 1.7, 1.6])

    (axes,) = figure.axes
    training, validation = axes.lines
    assert training.get_ydata().tolist() == [2.0, 1.5, 1.2]
    assert validation.get_ydata().tolist() == [2.1, 1.7, 1.6]
    assert validation.get_xdata().tolist() == [1, 2, 3]
    assert line_labels(figure) == (
        ["training (with L2 penalty)", "validation"],
        "epoch",
        "loss",
    )


def record_loss_figure(monkeypatch):
    """Record the arguments of every ``_loss_figure`` call, then draw it."""
    calls = []
    loss_figure = _report._loss_figure

    def recorded(*args, **kwargs):
        calls.append((args, kwargs))
        return loss_figure(*args, **kwargs)

    monkeypatch.setattr(_report, "_loss_figure", recorded)
    return calls


def test_figure_writers_pass_on_the_validation_loss(early_stopped, monkeypatch):
    pytest.importorskip("matplotlib")
    calls = record_loss_figure(monkeypatch)
    run = early_stopped

    _report.figure_writers(run.estimator, run.evaluation, run.data, run.y_pred)

    [(args, kwargs)] = calls
    assert args == (run.estimator.loss_curve_, run.estimator.validation_loss_curve_)
    assert kwargs == {"step": "epoch"}


def test_lbfgs_loss_figure_counts_iterations(fitted, monkeypatch):
    pytest.importorskip("matplotlib")
    calls = record_loss_figure(monkeypatch)
    estimator = copy.copy(fitted.estimator)
    estimator.solver = "lbfgs"

    _report.figure_writers(estimator, fitted.evaluation, fitted.data, fitted.y_pred)

    [(args, kwargs)] = calls
    assert args == (estimator.loss_curve_, None)
    assert kwargs == {"step": "L-BFGS iteration"}
