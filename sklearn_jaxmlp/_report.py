"""The command line's report: scores, text, metrics, figures and safe writes.

Everything the main job shows or saves after training is built here, so
that ``__main__`` only wires arguments, data and estimator together. The
figures need matplotlib, which is optional: it is imported inside
:func:`save_figures`, drawn with the Agg canvas and never through pyplot,
so calling the job from a notebook leaves the notebook's backend alone.
Every file goes through :func:`write_files`, which writes a run's files as
one set: a run that is stopped or fails half-way never leaves a truncated
model, metrics file or image, nor new files beside an older run's.
"""

import json
import math
import os
import platform
import secrets
from numbers import Integral, Real
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
from sklearn.utils import Bunch

MATPLOTLIB_HINT = (
    "matplotlib is not installed: skipping figures (pip install 'sklearn_jaxmlp[plot]')"
)

# The files of a run, as named in the output folder
MODEL_NAME = "model.joblib"
METRICS_NAME = "metrics.json"
FIGURE_NAMES = ("loss_curve.png", "confusion_matrix.png", "samples.png")

# Fitted attributes of early stopping, in metrics.json without the "_"
_VALIDATION_ATTRIBUTES = (
    "validation_scores_",
    "validation_loss_curve_",
    "best_validation_score_",
)

# Test images shown in samples.png
_SAMPLE_ROWS = 4
_SAMPLE_COLS = 6
_WRONG_COLOR = "tab:red"


# Files


def write_files(folder, writers, remove=()):
    """Write several files into ``folder`` as one set; return their paths.

    Each ``writers[name](file)`` writes to a temporary sibling of
    ``folder / name``. Only when all of them have succeeded are the
    temporary files renamed into place, with :func:`os.replace`, a rename
    within one file system; then the files named in ``remove`` that are
    not in ``writers`` are deleted, so that no file of an older set stays
    beside the new ones. On any error, Ctrl-C included, the temporary files
    are removed and the folder is left as it was.
    """
    folder = Path(folder)
    temps = {}
    try:
        for name, write in writers.items():
            temps[name] = _write_temp(folder / name, write)
        for name, temp in temps.items():
            os.replace(temp, folder / name)
    except BaseException:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        raise

    for name in remove:
        if name not in writers:
            (folder / name).unlink(missing_ok=True)
    _fsync_folder(folder)
    return [folder / name for name in writers]


def write_atomic(path, write):
    """Write ``path`` via ``write(file)``: the new file whole, or the old one.

    A set of one file for :func:`write_files`.
    """
    path = Path(path)
    return write_files(path.parent, {path.name: write})[0]


def _write_temp(path, write):
    """Write a hidden temporary sibling of ``path``, synced; return it."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # Mode 0o666 lets the umask decide, as for a file opened normally
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _fsync_folder(folder):
    """Make a rename in ``folder`` durable, where the system allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def model_writer(estimator):
    """A writer for :func:`write_files` that pickles the estimator with joblib."""
    return lambda file: joblib.dump(estimator, file)


def metrics_writer(metrics):
    """A writer for :func:`write_files` of the metrics as strict JSON.

    The text is made at once, so that a value JSON cannot hold fails here,
    before any file is touched.
    """
    text = json.dumps(json_safe(metrics), indent=2, allow_nan=False) + "\n"
    return lambda file: file.write(text.encode("utf-8"))


def save_model(path, estimator):
    """Write the fitted estimator with joblib."""
    return write_atomic(path, model_writer(estimator))


def save_metrics(path, metrics):
    """Write the metrics as strict JSON (no NaN or Infinity)."""
    return write_atomic(path, metrics_writer(metrics))


# Scores and text


def evaluate(y_true, y_pred, target_names):
    """Score predictions of the labels ``0..len(target_names) - 1``."""
    labels = np.arange(len(target_names))
    common = dict(labels=labels, target_names=target_names, zero_division=0)
    return Bunch(
        accuracy=float(accuracy_score(y_true, y_pred)),
        n_correct=int(np.sum(np.asarray(y_true) == np.asarray(y_pred))),
        n_samples=len(y_true),
        report=classification_report(y_true, y_pred, digits=4, **common),
        report_dict=classification_report(y_true, y_pred, output_dict=True, **common),
        matrix=confusion_matrix(y_true, y_pred, labels=labels),
        target_names=list(target_names),
    )


def format_evaluation(evaluation):
    """The accuracy, classification report and confusion matrix as text."""
    matrix = format_confusion_matrix(evaluation.matrix, evaluation.target_names)
    return (
        f"Test accuracy: {evaluation.accuracy:.4f} "
        f"({evaluation.n_correct} of {evaluation.n_samples})\n"
        "\n"
        "Classification report:\n"
        f"{evaluation.report.rstrip()}\n"
        "\n"
        "Confusion matrix (rows: true class, columns: predicted class):\n"
        f"{matrix}"
    )


def format_confusion_matrix(matrix, target_names):
    """A confusion matrix as a table: named rows, numbered columns."""
    matrix = np.asarray(matrix)
    n_classes = len(target_names)
    numbered = [str(index) for index in range(n_classes)]
    if list(target_names) == numbered:
        row_labels = numbered
    else:
        row_labels = [f"{i} {name}" for i, name in enumerate(target_names)]

    label_width = max(len(label) for label in row_labels)
    cell_width = max(len(str(matrix.max(initial=0))), len(numbered[-1])) + 1
    header = " " * label_width + "".join(f"{i:>{cell_width}}" for i in numbered)
    rows = [
        f"{label:<{label_width}}" + "".join(f"{n:>{cell_width}}" for n in row)
        for label, row in zip(row_labels, matrix, strict=True)
    ]
    return "\n".join([header, *rows])


# Metrics for JSON


def build_metrics(evaluation, estimator, *, dataset, n_train, fit_seconds, stopped):
    """Gather what a run measured into a dictionary ready for JSON.

    ``stopped`` says why training ended: "converged", "max_iter",
    "interrupted" or "not_converged" (L-BFGS stopped short of max_iter).
    When the estimator kept a validation set (early stopping), its scores
    and losses per epoch and its best score are included as well.
    """
    report = {
        key: {**scores, "support": int(scores["support"])}
        for key, scores in evaluation.report_dict.items()
        if key != "accuracy"
    }
    names = evaluation.target_names
    loss_curve = [float(loss) for loss in estimator.loss_curve_]
    validation = {
        name.rstrip("_"): getattr(estimator, name)
        for name in _VALIDATION_ATTRIBUTES
        if getattr(estimator, name, None) is not None
    }
    return json_safe(
        {
            "dataset": dataset,
            "accuracy": evaluation.accuracy,
            "n_train": int(n_train),
            "n_test": evaluation.n_samples,
            "per_class": {name: report[name] for name in names},
            "averages": {
                key: value for key, value in report.items() if key not in names
            },
            "target_names": names,
            "confusion_matrix": evaluation.matrix.tolist(),
            "n_iter": int(estimator.n_iter_),
            "stopped": stopped,
            "final_loss": loss_curve[-1] if loss_curve else None,
            "loss_curve": loss_curve,
            **validation,
            "fit_seconds": float(fit_seconds),
            "params": estimator.get_params(),
            "versions": versions(),
        }
    )


def versions():
    """Versions of Python and of the libraries behind a result."""
    import jax

    import sklearn_jaxmlp

    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "sklearn_jaxmlp": sklearn_jaxmlp.__version__,
    }


def json_safe(value):
    """A copy of ``value`` that strict JSON can hold.

    NumPy scalars and arrays become Python numbers and lists, tuples become
    lists, infinities and NaN become the strings "inf", "-inf" and "nan",
    and any other object becomes its ``repr``.
    """
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(item) for item in value]
    if value is None or isinstance(value, (bool, np.bool_, str)):
        return bool(value) if isinstance(value, np.bool_) else value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    return repr(value)


# Figures


def figure_writers(estimator, evaluation, data, y_pred):
    """Draw the loss curves, the confusion matrix and sample predictions.

    Returns a writer for :func:`write_files` by file name, one for each of
    :data:`FIGURE_NAMES`, or None when matplotlib is not installed (the
    caller shows :data:`MATPLOTLIB_HINT`).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError:
        return None

    figures = {
        "loss_curve.png": _loss_figure(
            estimator.loss_curve_,
            getattr(estimator, "validation_loss_curve_", None),
            step="L-BFGS iteration" if estimator.solver == "lbfgs" else "epoch",
        ),
        "confusion_matrix.png": _confusion_figure(
            evaluation.matrix, evaluation.target_names
        ),
        "samples.png": _samples_figure(
            data.X_test,
            data.y_test,
            y_pred,
            data.target_names,
            data.image_shape,
        ),
    }
    writers = {}
    for name, figure in figures.items():
        FigureCanvasAgg(figure)
        writers[name] = lambda file, figure=figure: figure.savefig(file, format="png")
    return writers


def save_figures(out_dir, estimator, evaluation, data, y_pred):
    """Draw the three figures into ``out_dir``; return the paths written.

    Returns None when matplotlib is not installed, as
    :func:`figure_writers` does.
    """
    writers = figure_writers(estimator, evaluation, data, y_pred)
    if writers is None:
        return None
    return write_files(out_dir, writers)


def _loss_figure(loss_curve, validation_loss_curve=None, step="epoch"):
    """The training loss of every epoch, and the validation loss if given.

    ``step`` names what the horizontal axis counts.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.add_subplot()
    marker = "." if len(loss_curve) < 50 else None
    epochs = np.arange(1, len(loss_curve) + 1)
    axes.set_xlabel(step)
    axes.set_title("Loss curve")
    axes.grid(alpha=0.3)
    if validation_loss_curve is None:
        axes.plot(epochs, loss_curve, marker=marker)
        axes.set_ylabel("training loss")
        return figure

    # The validation loss leaves out the L2 penalty that training minimises
    val_epochs = np.arange(1, len(validation_loss_curve) + 1)
    axes.plot(epochs, loss_curve, marker=marker, label="training (with L2 penalty)")
    axes.plot(val_epochs, validation_loss_curve, marker=marker, label="validation")
    axes.set_ylabel("loss")
    axes.legend()
    return figure


def _confusion_figure(matrix, target_names):
    """A heat map of the confusion matrix, each cell labelled with its count."""
    from matplotlib.figure import Figure

    n_classes = len(target_names)
    side = max(4.0, 0.6 * n_classes + 2)
    figure = Figure(figsize=(side + 1, side), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)

    ticks = np.arange(n_classes)
    axes.set_xticks(ticks, labels=target_names, rotation=45, ha="right")
    axes.set_yticks(ticks, labels=target_names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title("Confusion matrix")

    # Counts, light on dark cells
    threshold = matrix.max(initial=0) / 2
    for (row, col), count in np.ndenumerate(matrix):
        color = "white" if count > threshold else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=color, size=8)
    return figure


def _samples_figure(X, y_true, y_pred, target_names, image_shape):
    """The first test images, titled true / predicted, mistakes in red."""
    from matplotlib.figure import Figure

    n_shown = min(_SAMPLE_ROWS * _SAMPLE_COLS, len(X))
    n_rows = max(1, math.ceil(n_shown / _SAMPLE_COLS))
    figure = Figure(figsize=(1.8 * _SAMPLE_COLS, 2.1 * n_rows), layout="constrained")
    figure.suptitle(f"First {n_shown} test images: true / predicted (mistakes in red)")

    for index in range(n_shown):
        axes = figure.add_subplot(n_rows, _SAMPLE_COLS, index + 1)
        axes.imshow(np.reshape(X[index], image_shape), cmap="gray_r")
        axes.set_xticks([])
        axes.set_yticks([])
        true_name = target_names[y_true[index]]
        pred_name = target_names[y_pred[index]]
        wrong = y_true[index] != y_pred[index]
        color = _WRONG_COLOR if wrong else "black"
        axes.set_title(f"{true_name}\n{pred_name}", color=color, size=8)
        if wrong:
            for spine in axes.spines.values():
                spine.set_edgecolor(_WRONG_COLOR)
                spine.set_linewidth(2)
    return figure
