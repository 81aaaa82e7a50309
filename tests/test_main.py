import contextlib
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import warnings

import joblib
import numpy as np
import pytest
from sklearn.callback import ProgressBar

from sklearn_jaxmlp import JaxMLPClassifier, _report, _training
from sklearn_jaxmlp.__main__ import (
    _ESTIMATOR_OPTIONS,
    RICH_HINT,
    _build_parser,
    _progress_bar,
    main,
)
from sklearn_jaxmlp.datasets import load_digits_split

FILES = [
    "model.joblib",
    "metrics.json",
    "loss_curve.png",
    "confusion_matrix.png",
    "samples.png",
]
# Small and shared by most runs, so the compiled epoch is reused
FAST = ["--max-iter", "5", "--hidden-layer-sizes", "16"]


def run_main(argv, stdout=None):
    """Run the job in-process; return its exit status, stdout and stderr.

    ``stdout``, a StringIO by default, is where the job prints.
    """
    out = io.StringIO() if stdout is None else stdout
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


class TerminalIO(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self):
        return True


def block_rich(monkeypatch):
    """Make ``import rich`` fail, as if rich were not installed."""
    monkeypatch.setitem(sys.modules, "rich", None)


def threads_left(before):
    """Threads started since ``before`` that would keep the process alive."""
    return [
        thread
        for thread in threading.enumerate()
        if thread not in before and not thread.daemon
    ]


def write_idx(path, array):
    """Encode a uint8 array as an IDX file."""
    sizes = b"".join(size.to_bytes(4, "big") for size in array.shape)
    header = bytes([0, 0, 0x08, array.ndim]) + sizes
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist_folder(folder, n_train=300, n_test=100, n_classes=10):
    """Write random 28x28 images and labels as the four MNIST files."""
    rng = np.random.default_rng(0)
    folder.mkdir()
    for part, n_images in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n_images, 28, 28))
        labels = np.arange(n_images) % n_classes
        write_idx(folder / f"{part}-images-idx3-ubyte", images)
        write_idx(folder / f"{part}-labels-idx1-ubyte", labels)
    return folder


def interrupt_at_epoch(monkeypatch, epoch):
    """Make Ctrl-C arrive while the given epoch (1-based) runs."""
    run_epoch = _training.run_epoch
    calls = []

    def run_epoch_then_interrupt(*args, **kwargs):
        calls.append(None)
        if len(calls) == epoch:
            raise KeyboardInterrupt
        return run_epoch(*args, **kwargs)

    monkeypatch.setattr(_training, "run_epoch", run_epoch_then_interrupt)


@pytest.fixture
def no_figures(monkeypatch):
    """Skip drawing, the slowest part of a short run, where figures are not
    what a test checks."""
    monkeypatch.setattr(_report, "figure_writers", lambda *args: {})


@pytest.fixture
def fake_figures(monkeypatch):
    """Write the three figure files without drawing them."""

    def writers(*args):
        return {name: lambda file: file.write(b"new figure") for name in FILES[2:]}

    monkeypatch.setattr(_report, "figure_writers", writers, raising=False)


def write_previous_run(folder):
    """Fill ``folder`` with the five files of an earlier run."""
    folder.mkdir(exist_ok=True)
    for name in FILES:
        (folder / name).write_bytes(b"previous run")


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One default-style run on the digits, shared by the tests that read it."""
    out = tmp_path_factory.mktemp("digits") / "out"
    code, stdout, stderr = run_main([*FAST, "--out", str(out)])
    return code, stdout, stderr, out


# A whole run


def test_digits_run_prints_the_notebook_output(digits_run):
    code, stdout, stderr, out = digits_run

    assert code == 0
    assert stderr == ""
    assert "X_train: (1347, 64)  y_train: (1347,)" in stdout
    assert "X_test:  (450, 64)  y_test:  (450,)" in stdout
    assert "Network: 64-16-10, relu; solver adam" in stdout
    for epoch in range(1, 6):
        assert f"Iteration {epoch}, loss = " in stdout
    assert "Fit time: " in stdout
    assert "note: stopped at max_iter=5 before convergence" in stdout
    assert "Test accuracy: " in stdout
    assert "precision    recall  f1-score   support" in stdout
    assert "Confusion matrix (rows: true class, columns: predicted class):" in stdout
    assert "Warning" not in stdout
    listed = stdout.split("Files written:\n")[1].split()
    assert listed == [str(out / name) for name in FILES]


def test_digits_run_writes_files_that_load(digits_run):
    _, _, _, out = digits_run
    data = load_digits_split()

    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    model = joblib.load(out / "model.joblib")
    metrics = json.loads((out / "metrics.json").read_text())

    assert isinstance(model, JaxMLPClassifier)
    assert model.verbose is False
    assert metrics["accuracy"] == pytest.approx(model.score(data.X_test, data.y_test))
    assert metrics["dataset"] == "digits"
    assert metrics["n_iter"] == 5
    assert metrics["stopped"] == "max_iter"
    assert metrics["params"]["hidden_layer_sizes"] == [16]
    assert metrics["params"]["random_state"] == 0
    assert metrics["fit_seconds"] > 0
    for name in FILES[2:]:
        assert (out / name).read_bytes().startswith(b"\x89PNG")


def test_runs_are_reproducible(digits_run, tmp_path, no_figures):
    _, _, _, first = digits_run

    code, _, _ = run_main([*FAST, "--quiet", "--out", str(tmp_path)])

    assert code == 0
    before = json.loads((first / "metrics.json").read_text())
    after = json.loads((tmp_path / "metrics.json").read_text())
    assert after["loss_curve"] == before["loss_curve"]
    assert after["confusion_matrix"] == before["confusion_matrix"]


def test_quiet_prints_a_short_summary(tmp_path, no_figures):
    code, stdout, stderr = run_main([*FAST, "--quiet", "--out", str(tmp_path)])

    assert code == 0
    assert stderr == ""
    assert "Iteration" not in stdout
    assert "X_train" not in stdout
    lines = stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("digits: test accuracy 0.")
    assert lines[0].endswith(f"2 files written to {tmp_path}")
    assert lines[1].startswith("note: stopped at max_iter=5")


def test_max_samples_trains_on_the_first_rows(tmp_path, no_figures):
    # 1100 rows pad to the bucket of 1347, so nothing new is compiled
    argv = [*FAST, "--max-samples", "1100", "--out", str(tmp_path)]
    code, stdout, _ = run_main(argv)

    assert code == 0
    assert "training on the first 1100 of 1347" in stdout
    assert "X_train: (1100, 64)  y_train: (1100,)" in stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["n_train"] == 1100
    assert metrics["n_test"] == 450


# Debian's dataset-fashion-mnist is a test requirement (.ci/run installs it):
# without it this fails, as the loader tests do, rather than skip.
def test_fashion_mnist_subset(tmp_path, no_figures):
    argv = ["--dataset", "fashion-mnist", *FAST, "--max-samples", "300"]
    code, stdout, _ = run_main([*argv, "--max-iter", "2", "--out", str(tmp_path)])

    assert code == 0
    assert "training on the first 300 of 60000" in stdout
    assert "X_test:  (10000, 784)  y_test:  (10000,)" in stdout
    assert "Network: 784-16-10" in stdout
    assert "0 T-shirt/top" in stdout
    assert "  Ankle boot" in stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["dataset"] == "fashion-mnist"
    assert metrics["per_class"]["Trouser"]["support"] == 1000


def test_mnist_from_a_folder_of_idx_files(tmp_path, no_figures):
    folder = write_mnist_folder(tmp_path / "mnist")
    out = tmp_path / "out"
    argv = ["--dataset", "mnist", "--data-dir", str(folder), *FAST]

    code, stdout, _ = run_main([*argv, "--out", str(out)])

    assert code == 0
    assert "X_train: (300, 784)  y_train: (300,)" in stdout
    assert "X_test:  (100, 784)  y_test:  (100,)" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "mnist"
    assert np.sum(metrics["confusion_matrix"]) == 100


def test_without_matplotlib_the_other_files_are_written(tmp_path, monkeypatch):
    names = [name for name in sys.modules if name.split(".")[0] == "matplotlib"]
    for name in {"matplotlib", *names}:
        monkeypatch.setitem(sys.modules, name, None)
    write_previous_run(tmp_path)
    (tmp_path / "notes.txt").write_text("not the job's")

    code, stdout, stderr = run_main([*FAST, "--out", str(tmp_path)])

    assert code == 0
    assert stderr == _report.MATPLOTLIB_HINT + "\n"
    # The previous run's figures do not stay beside this run's files
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "metrics.json",
        "model.joblib",
        "notes.txt",
    ]
    assert isinstance(joblib.load(tmp_path / "model.joblib"), JaxMLPClassifier)
    assert "png" not in stdout


def test_loader_warnings_become_one_line(tmp_path, monkeypatch, no_figures):
    def load_with_a_retry(name, data_dir=None):
        warnings.warn("A network error occurred. Retrying...", stacklevel=2)
        return load_digits_split()

    monkeypatch.setattr("sklearn_jaxmlp.__main__.load_dataset", load_with_a_retry)

    code, _, stderr = run_main([*FAST, "--quiet", "--out", str(tmp_path)])

    assert code == 0
    assert stderr == "warning: A network error occurred. Retrying...\n"


def test_estimator_user_warnings_become_one_line(tmp_path, no_figures):
    argv = [*FAST, "--batch-size", "5000", "--quiet", "--out", str(tmp_path)]

    code, _, stderr = run_main(argv)

    assert code == 0
    assert stderr.startswith("warning: batch_size=5000 is larger than")
    assert stderr.count("\n") == 1


def test_help_returns_zero(capsys):
    assert main(["--help"]) == 0
    assert "--hidden-layer-sizes" in capsys.readouterr().out


# Ctrl-C


def test_ctrl_c_during_fit_keeps_the_finished_epochs(tmp_path, monkeypatch, no_figures):
    interrupt_at_epoch(monkeypatch, 3)

    code, stdout, _ = run_main([*FAST, "--out", str(tmp_path)])

    assert code == 130
    assert "note: training was interrupted after 2 epochs" in stdout
    assert "Test accuracy: " in stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["stopped"] == "interrupted"
    assert metrics["n_iter"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == FILES[1::-1]


def test_ctrl_c_in_the_first_epoch_writes_nothing(tmp_path, monkeypatch):
    interrupt_at_epoch(monkeypatch, 1)

    code, stdout, _ = run_main([*FAST, "--out", str(tmp_path)])

    assert code == 130
    assert "interrupted before its first epoch finished" in stdout
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_in_the_first_epoch_removes_the_folder_it_created(tmp_path, monkeypatch):
    interrupt_at_epoch(monkeypatch, 1)

    code, _, _ = run_main([*FAST, "--out", str(tmp_path / "new" / "out")])

    assert code == 130
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_saving_writes_the_whole_set_then_exits_130(
    tmp_path, monkeypatch, fake_figures
):
    write_previous_run(tmp_path)
    dump = _report.joblib.dump

    def dump_then_ctrl_c(value, file):
        dump(value, file)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(_report.joblib, "dump", dump_then_ctrl_c)

    code, stdout, stderr = run_main([*FAST, "--out", str(tmp_path)])

    assert code == 130
    assert stderr == (
        "sklearn-jaxmlp: interrupted; the outputs of this run were written in "
        f"full to {tmp_path}\n"
    )
    assert "Files written" not in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (tmp_path / name).read_bytes() != b"previous run", name
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_outside_fit_exits_130(tmp_path, monkeypatch):
    def interrupted_load(name, data_dir=None):
        raise KeyboardInterrupt

    monkeypatch.setattr("sklearn_jaxmlp.__main__.load_dataset", interrupted_load)

    code, _, stderr = run_main([*FAST, "--out", str(tmp_path)])

    assert code == 130
    assert stderr == "sklearn-jaxmlp: interrupted\n"


# Bad input


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--hidden-layer-sizes", "0"], r"expected positive integers .* got '0'"),
        (["--hidden-layer-sizes", "-3"], r"expected positive integers .* got '-3'"),
        (["--hidden-layer-sizes", "abc"], r"positive integers .* got 'abc'"),
        (["--hidden-layer-sizes", ""], r"positive integers .* got ''"),
        (["--hidden-layer-sizes", "24,,24"], r"got '24,,24'"),
        (["--dataset", "cifar"], r"invalid choice: 'cifar'"),
        (["--batch-size", "big"], r"expected an integer or 'auto'; got 'big'"),
        (["--alpha", "abc"], r"argument --alpha: invalid float value: 'abc'"),
        (["--n-iter-no-change", "x"], r"expected an integer or 'inf'; got 'x'"),
        (["--random-state", "1.5"], r"expected an integer or 'none'"),
        (["--max-samples", "0"], r"expected a positive integer; got '0'"),
        (["--data-dir", "x"], r"--data-dir: not used with --dataset digits"),
        (["--frobnicate"], r"unrecognized arguments: --frobnicate"),
        (["--learning-rate", "cosine"], r"--learning-rate: invalid choice: 'cosine'"),
        (["--solver", "lbfgsb"], r"--solver: invalid choice: 'lbfgsb'"),
        (["--activation", "swish"], r"--activation: invalid choice: 'swish'"),
        (["--class-weight", "auto"], r"--class-weight: invalid choice: 'auto'"),
        (["--progress", "fancy"], r"--progress: invalid choice: 'fancy'"),
        (["--max-fun", "many"], r"--max-fun: invalid int value: 'many'"),
        (["--power-t", "half"], r"--power-t: invalid float value: 'half'"),
        (["--early-stopping", "yes"], r"unrecognized arguments: yes"),
        (["--data-parallel", "two"], r"a number of devices, 'all' or 'off'"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_bad_arguments_exit_2(argv, match, tmp_path, capsys):
    code = main([*argv, "--out", str(tmp_path / "out")])

    err = capsys.readouterr().err
    assert code == 2
    last_line = err.strip().splitlines()[-1]
    assert last_line.startswith("sklearn-jaxmlp: error: ")
    assert re.search(match, last_line)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--alpha", "-1"], r"The 'alpha' parameter of JaxMLPClassifier must be"),
        (["--max-iter", "0"], r"The 'max_iter' parameter .* Got 0 instead"),
        (["--batch-size", "0"], r"The 'batch_size' parameter"),
        (["--momentum", "2"], r"The 'momentum' parameter"),
        (["--learning-rate-init", "0"], r"The 'learning_rate_init' parameter"),
        (
            ["--validation-fraction", "1.5"],
            r"The 'validation_fraction' parameter .* \[0\.0, 1\.0\)\. Got 1\.5",
        ),
        (["--power-t", "-1"], r"The 'power_t' parameter .* Got -1\.0 instead"),
        (["--max-fun", "0"], r"The 'max_fun' parameter .* Got 0 instead"),
        (["--device", "cpu:99"], r"device='cpu:99' asks for cpu device '99'"),
        (["--data-parallel", "999"], r"data_parallel=999 asks for 999 devices"),
    ],
    ids=[
        "alpha",
        "max-iter",
        "batch-size",
        "momentum",
        "learning-rate-init",
        "validation-fraction",
        "power-t",
        "max-fun",
        "device",
        "data-parallel",
    ],
)
def test_settings_the_estimator_rejects_exit_1(argv, match, tmp_path, monkeypatch):
    def must_not_load(name, data_dir=None):
        raise AssertionError("the data were loaded before the check")

    monkeypatch.setattr("sklearn_jaxmlp.__main__.load_dataset", must_not_load)

    code, stdout, stderr = run_main([*argv, "--out", str(tmp_path)])

    assert code == 1
    assert stdout == ""
    assert stderr.count("\n") == 1
    assert stderr.startswith("sklearn-jaxmlp: error: ")
    assert re.search(match, stderr)


def test_missing_data_folder_exits_1(tmp_path):
    missing = tmp_path / "nowhere"
    argv = ["--dataset", "fashion-mnist", "--data-dir", str(missing)]

    code, stdout, stderr = run_main([*argv, "--out", str(tmp_path / "out")])

    assert code == 1
    assert stdout == ""
    assert stderr == f"sklearn-jaxmlp: error: IDX folder '{missing}' does not exist\n"
    assert not (tmp_path / "out").exists()


def test_incomplete_data_folder_exits_1(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    argv = ["--dataset", "mnist", "--data-dir", str(folder)]

    code, _, stderr = run_main([*argv, "--out", str(tmp_path / "out")])

    assert code == 1
    assert stderr.count("\n") == 1
    assert "is missing 4 of the 4 files" in stderr


def test_corrupt_data_file_exits_1(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist")
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"not an idx file")
    argv = ["--dataset", "mnist", "--data-dir", str(folder)]

    code, _, stderr = run_main([*argv, "--out", str(tmp_path / "out")])

    assert code == 1
    assert stderr.count("\n") == 1
    assert "is not an IDX file" in stderr


@pytest.mark.parametrize("part", ["train", "test"])
def test_empty_data_set_exits_1(tmp_path, part):
    sizes = {"n_train": 0} if part == "train" else {"n_test": 0}
    folder = write_mnist_folder(tmp_path / "mnist", **sizes)
    images = folder / ("train" if part == "train" else "t10k")
    argv = ["--dataset", "mnist", "--data-dir", str(folder), *FAST]

    code, stdout, stderr = run_main([*argv, "--out", str(tmp_path / "out")])

    assert code == 1
    assert stdout == ""
    assert stderr == (
        f"sklearn-jaxmlp: error: IDX file '{images}-images-idx3-ubyte' holds 0 "
        "images; a data set needs at least one\n"
    )
    assert not (tmp_path / "out").exists()


def test_max_samples_leaving_one_class_exits_1(tmp_path):
    argv = [*FAST, "--max-samples", "1", "--out", str(tmp_path / "out")]

    code, stdout, stderr = run_main(argv)

    assert code == 1
    assert stdout == ""
    assert stderr == (
        "sklearn-jaxmlp: error: --max-samples 1 leaves training samples of 1 "
        "class only (7); a classifier needs at least 2: pass a larger "
        "--max-samples\n"
    )
    assert not (tmp_path / "out").exists()


def test_training_set_of_one_class_exits_1(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist", n_train=5, n_classes=1)
    argv = ["--dataset", "mnist", "--data-dir", str(folder), *FAST]

    code, _, stderr = run_main([*argv, "--out", str(tmp_path / "out")])

    assert code == 1
    assert stderr == (
        "sklearn-jaxmlp: error: the training set of mnist holds samples of 1 "
        "class only (0); a classifier needs at least 2: check the labels of "
        "the data\n"
    )


def test_max_samples_leaving_two_classes_says_so(tmp_path, no_figures):
    argv = [*FAST, "--max-samples", "2", "--out", str(tmp_path)]

    code, stdout, stderr = run_main(argv)

    assert code == 0
    assert "Data set: digits, 10 classes" in stdout
    assert (
        "note: the training samples hold 2 of the 10 classes (3, 7); the "
        "model never predicts the other 8 (see --max-samples)\n"
    ) in stdout
    # Two classes: one logistic output, as the fitted model has
    assert "Network: 64-16-1, relu" in stdout
    assert joblib.load(tmp_path / "model.joblib").n_outputs_ == 1
    assert "np." not in stdout + stderr


def test_quiet_max_samples_leaving_two_classes_says_so(tmp_path, no_figures):
    # The network of the test above, so nothing new is compiled
    argv = [*FAST, "--max-samples", "2", "--quiet", "--out", str(tmp_path)]

    code, stdout, _ = run_main(argv)

    assert code == 0
    lines = stdout.splitlines()
    assert lines[0].startswith("digits: test accuracy ")
    assert lines[1] == (
        "note: the training samples hold 2 of the 10 classes (3, 7); the "
        "model never predicts the other 8 (see --max-samples)"
    )


def test_output_folder_that_is_a_file_exits_1(tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("a file")

    code, _, stderr = run_main([*FAST, "--out", str(blocker)])

    assert code == 1
    assert stderr == (
        f"sklearn-jaxmlp: error: cannot create the output folder '{blocker}': "
        "File exists\n"
    )


def test_training_error_exits_1(tmp_path, monkeypatch):
    def diverging_fit(self, X, y):
        raise ValueError("Training diverged at epoch 1: the loss became\nNaN.")

    monkeypatch.setattr(JaxMLPClassifier, "fit", diverging_fit)

    code, _, stderr = run_main([*FAST, "--out", str(tmp_path / "out")])

    assert code == 1
    assert stderr == (
        "sklearn-jaxmlp: error: Training diverged at epoch 1: the loss became NaN.\n"
    )
    # The job made the folder and put nothing in it: it goes again
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "error, message",
    [
        (
            MemoryError("The network needs 80.0 GiB of device memory."),
            "out of memory while training: The network needs 80.0 GiB of device "
            "memory.",
        ),
        (
            MemoryError(),
            "out of memory while training; try smaller --hidden-layer-sizes, a "
            "smaller --batch-size or fewer --max-samples",
        ),
    ],
    ids=["with-message", "bare"],
)
def test_out_of_memory_in_training_exits_1(tmp_path, monkeypatch, error, message):
    def fit_out_of_memory(self, X, y):
        raise error

    monkeypatch.setattr(JaxMLPClassifier, "fit", fit_out_of_memory)

    code, _, stderr = run_main([*FAST, "--out", str(tmp_path / "out")])

    assert code == 1
    assert stderr == f"sklearn-jaxmlp: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


def test_unexpected_errors_are_not_hidden(tmp_path, monkeypatch):
    def broken_fit(self, X, y):
        raise RuntimeError("a bug, to be seen with its traceback")

    monkeypatch.setattr(JaxMLPClassifier, "fit", broken_fit)

    with pytest.raises(RuntimeError, match="a bug, to be seen"):
        run_main([*FAST, "--out", str(tmp_path / "out")])
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_model(tmp_path, monkeypatch):
    (tmp_path / "model.joblib").write_bytes(b"previous model")

    def dump_half_then_fail(value, file):
        file.write(b"\x80\x04 half a pickle")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_report.joblib, "dump", dump_half_then_fail)

    code, _, stderr = run_main([*FAST, "--out", str(tmp_path)])

    assert code == 1
    assert "No space left on device" in stderr
    assert stderr.startswith("sklearn-jaxmlp: error: cannot write the outputs into")
    assert [p.name for p in tmp_path.iterdir()] == ["model.joblib"]
    assert (tmp_path / "model.joblib").read_bytes() == b"previous model"


def test_failed_write_keeps_the_whole_previous_run(tmp_path, monkeypatch):
    write_previous_run(tmp_path)

    def fail_on_figures(*args):
        def write(file):
            raise OSError(28, "No space left on device")

        return {name: write for name in FILES[2:]}

    monkeypatch.setattr(_report, "figure_writers", fail_on_figures, raising=False)

    code, _, stderr = run_main([*FAST, "--out", str(tmp_path)])

    assert code == 1
    assert "No space left on device" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == b"previous run", name


# As a program


def test_python_dash_m_runs_the_job(tmp_path):
    out = tmp_path / "out"
    argv = ["--max-iter", "3", "--hidden-layer-sizes", "8", "--out", str(out)]

    result = subprocess.run(
        [sys.executable, "-m", "sklearn_jaxmlp", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "ConvergenceWarning" not in result.stdout + result.stderr
    assert "note: stopped at max_iter=3 before convergence" in result.stdout
    assert "Test accuracy: " in result.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_stdout_closed_during_training_ends_the_program_quietly(tmp_path):
    # As `sklearn-jaxmlp | head -3`, with the reader gone before any output
    read_end, write_end = os.pipe()
    os.close(read_end)
    out = tmp_path / "out"
    argv = ["--max-iter", "3", "--hidden-layer-sizes", "8", "--out", str(out)]

    try:
        result = subprocess.run(
            [sys.executable, "-m", "sklearn_jaxmlp", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    finally:
        os.close(write_end)

    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr
    assert "BrokenPipeError" not in result.stderr
    assert not out.exists()


def test_stdout_closed_before_the_last_flush(tmp_path, monkeypatch, no_figures):
    # --quiet prints its one line at the end, where a pipe keeps it buffered
    read_end, write_end = os.pipe()
    os.close(read_end)
    stdout = open(write_end, "w")
    monkeypatch.setattr(sys, "stdout", stdout)

    code = main([*FAST, "--quiet", "--out", str(tmp_path)])

    assert code == 141
    assert sorted(p.name for p in tmp_path.iterdir()) == FILES[1::-1]
    # What is still buffered goes nowhere, without a second error at exit
    stdout.close()


# Solvers and the options beyond MLPClassifier's first ones


def test_defaults_are_the_estimators():
    args = _build_parser().parse_args([])
    defaults = JaxMLPClassifier().get_params()

    # Every parameter but the two that make no sense for one run
    assert set(_ESTIMATOR_OPTIONS) == set(defaults) - {"verbose", "warm_start"}
    for name in _ESTIMATOR_OPTIONS:
        if name not in ("random_state", "early_stopping"):
            assert getattr(args, name) == defaults[name], name
    assert args.random_state == 0
    assert args.early_stopping is None  # on, where the data allow it
    assert args.progress == "auto"


def test_early_stopping_is_on_for_large_training_sets(tmp_path, no_figures):
    # Digits (1,347 training samples) trains on everything by default
    code, stdout, _ = run_main([*FAST, "--out", str(tmp_path)])
    assert code == 0
    assert "validation" not in stdout.lower()

    code, stdout, _ = run_main([*FAST, "--early-stopping", "--out", str(tmp_path)])
    assert code == 0
    assert "Best validation score" in stdout


def test_the_default_split_needs_many_samples_and_every_class():
    from sklearn_jaxmlp.__main__ import _stops_early_by_default

    assert _stops_early_by_default(np.arange(20_000) % 10, 0.1)
    assert not _stops_early_by_default(np.arange(9_999) % 10, 0.1)
    # A class of one sample cannot be on both sides of the split
    assert not _stops_early_by_default(np.r_[np.zeros(20_000), 1], 0.1)


def test_options_reach_the_estimator(tmp_path, monkeypatch):
    seen = {}

    def fit_and_stop(self, X, y):
        seen.update(self.get_params())
        raise ValueError("stopped after reading the parameters")

    monkeypatch.setattr(JaxMLPClassifier, "fit", fit_and_stop)
    argv = [
        *["--solver", "sgd", "--activation", "gelu"],
        *["--learning-rate", "invscaling", "--power-t", "0.25"],
        *["--early-stopping", "--validation-fraction", "0.2"],
        *["--max-fun", "99", "--class-weight", "balanced"],
    ]

    code, _, stderr = run_main([*argv, "--quiet", "--out", str(tmp_path)])

    assert code == 1
    assert "stopped after reading the parameters" in stderr
    expected = {
        "solver": "sgd",
        "activation": "gelu",
        "learning_rate": "invscaling",
        "power_t": 0.25,
        "early_stopping": True,
        "validation_fraction": 0.2,
        "max_fun": 99,
        "class_weight": "balanced",
    }
    assert {name: seen[name] for name in expected} == expected


def test_lbfgs_counts_iterations(tmp_path, no_figures):
    argv = [*FAST, "--solver", "lbfgs", "--out", str(tmp_path)]

    code, stdout, stderr = run_main(argv)

    assert code == 0
    assert stderr == ""
    assert "Network: 64-16-10, relu; solver lbfgs, max_iter 5, max_fun 15000" in stdout
    assert "keeps the last finished iteration" in stdout
    assert "Iteration 5, loss = " in stdout
    assert "(5 L-BFGS iterations)" in stdout
    assert "note: stopped at max_iter=5 before convergence" in stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["params"]["solver"] == "lbfgs"
    assert metrics["stopped"] == "max_iter"
    assert len(metrics["loss_curve"]) == metrics["n_iter"] == 5
    assert "validation_scores" not in metrics


def test_lbfgs_stopped_by_max_fun_says_why(tmp_path, no_figures):
    argv = ["--hidden-layer-sizes", "16", "--solver", "lbfgs", "--max-iter", "50"]

    code, stdout, stderr = run_main(
        [*argv, "--max-fun", "3", "--quiet", "--out", str(tmp_path)]
    )

    assert code == 0
    assert stderr.startswith("warning: lbfgs failed to converge after 3 iteration")
    assert "max_fun" in stderr
    assert stderr.count("\n") == 1
    assert "L-BFGS iterations" in stdout
    assert "note: stopped at max_iter" not in stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["stopped"] == "not_converged"
    assert metrics["params"]["max_fun"] == 3


def test_early_stopping_reports_the_validation_scores(tmp_path, no_figures):
    argv = [*FAST, "--early-stopping", "--validation-fraction", "0.2"]

    code, stdout, stderr = run_main([*argv, "--out", str(tmp_path)])

    assert code == 0
    assert stderr == ""
    assert "validation_fraction 0.2" in stdout
    assert stdout.count("Validation score: ") == 5
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    scores = metrics["validation_scores"]
    assert len(scores) == len(metrics["validation_loss_curve"]) == 5
    assert metrics["best_validation_score"] == max(scores)
    best_epoch = scores.index(max(scores)) + 1
    assert (
        f"Best validation score: {max(scores):.4f} at epoch {best_epoch} of 5"
    ) in stdout
    # n_train counts every sample given to fit, the held-out 20% included
    assert metrics["n_train"] == 1347
    assert joblib.load(tmp_path / "model.joblib").validation_scores_ == scores


def test_class_weight_balanced_runs(tmp_path, no_figures):
    argv = [*FAST, "--class-weight", "balanced", "--max-samples", "1100"]

    code, stdout, _ = run_main([*argv, "--out", str(tmp_path)])

    assert code == 0
    assert "class_weight balanced" in stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["params"]["class_weight"] == "balanced"


def test_help_lists_the_options_and_the_rich_install(capsys):
    assert main(["--help"]) == 0

    text = " ".join(capsys.readouterr().out.split())
    for option in (
        "--solver {lbfgs,sgd,adam}",
        "--activation {identity,logistic,tanh,relu,leaky_relu,gelu}",
        "--learning-rate {constant,invscaling,adaptive}",
        "--power-t",
        "--early-stopping",
        "--validation-fraction",
        "--max-fun",
        "--class-weight {balanced}",
        "--progress {auto,bar,lines}",
    ):
        assert option in text
    assert "only 'balanced' can be given here" in text
    assert "pip install 'sklearn_jaxmlp[progress]'" in text


# Progress display


@pytest.mark.parametrize(
    "mode, quiet, terminal, expected",
    [
        ("auto", False, True, "bar"),
        ("auto", False, False, None),
        ("bar", False, False, "bar"),
        ("lines", False, True, None),
        ("bar", True, True, None),
        ("auto", True, True, None),
    ],
    ids=[
        "auto-terminal",
        "auto-pipe",
        "bar-pipe",
        "lines-terminal",
        "bar-quiet",
        "auto-quiet",
    ],
)
def test_progress_bar_choice(mode, quiet, terminal, expected, monkeypatch):
    monkeypatch.setattr(sys, "stdout", TerminalIO() if terminal else io.StringIO())

    bar = _progress_bar(mode, quiet)

    if expected is None:
        assert bar is None
    else:
        assert isinstance(bar, ProgressBar)


def test_progress_bar_run_saves_a_model_without_callbacks(tmp_path, no_figures):
    before = threading.enumerate()
    argv = [*FAST, "--progress", "bar", "--out", str(tmp_path)]

    code, stdout, stderr = run_main(argv)

    assert code == 0
    assert stderr == ""
    assert "Iteration 1, loss" not in stdout
    # rich draws the finished bar once where the output is not a terminal
    assert "JaxMLPClassifier - fit" in stdout
    assert "100%" in stdout
    assert "Test accuracy: " in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == FILES[1::-1]
    model = joblib.load(tmp_path / "model.joblib")
    assert not hasattr(model, "_skl_callbacks")
    assert model.verbose is False
    assert threads_left(before) == []


def test_progress_bar_without_rich_exits_1(tmp_path, monkeypatch):
    block_rich(monkeypatch)

    def must_not_load(name, data_dir=None):
        raise AssertionError("the data were loaded before the check")

    monkeypatch.setattr("sklearn_jaxmlp.__main__.load_dataset", must_not_load)

    code, stdout, stderr = run_main(["--progress", "bar", "--out", str(tmp_path)])

    assert code == 1
    assert stdout == ""
    assert stderr == f"sklearn-jaxmlp: error: {RICH_HINT}\n"
    assert "pip install 'sklearn_jaxmlp[progress]'" in stderr
    assert "--progress bar" in stderr


def test_auto_without_rich_prints_lines_on_a_terminal(
    tmp_path, monkeypatch, no_figures
):
    block_rich(monkeypatch)

    code, stdout, stderr = run_main(
        [*FAST, "--out", str(tmp_path)], stdout=TerminalIO()
    )

    assert code == 0
    assert stderr == ""
    assert "Iteration 5, loss = " in stdout


def test_quiet_needs_no_rich_for_the_bar(tmp_path, monkeypatch, no_figures):
    block_rich(monkeypatch)

    argv = [*FAST, "--progress", "bar", "--quiet", "--out", str(tmp_path)]
    code, stdout, stderr = run_main(argv)

    assert code == 0
    assert stderr == ""
    assert len(stdout.splitlines()) == 2


def test_ctrl_c_during_a_bar_run_keeps_the_finished_epochs(
    tmp_path, monkeypatch, no_figures
):
    before = threading.enumerate()
    interrupt_at_epoch(monkeypatch, 3)

    code, stdout, _ = run_main([*FAST, "--progress", "bar", "--out", str(tmp_path)])

    assert code == 130
    assert "note: training was interrupted after 2 epochs" in stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["stopped"] == "interrupted"
    assert metrics["n_iter"] == 2
    assert not hasattr(joblib.load(tmp_path / "model.joblib"), "_skl_callbacks")
    assert threads_left(before) == []


def test_ctrl_c_in_the_first_epoch_of_a_bar_run_writes_nothing(tmp_path, monkeypatch):
    before = threading.enumerate()
    interrupt_at_epoch(monkeypatch, 1)

    code, stdout, _ = run_main([*FAST, "--progress", "bar", "--out", str(tmp_path)])

    assert code == 130
    assert "interrupted before its first epoch finished" in stdout
    assert list(tmp_path.iterdir()) == []
    assert threads_left(before) == []


def test_ctrl_c_while_the_bar_starts_stops_after_it_started(tmp_path, monkeypatch):
    before = threading.enumerate()
    setup = ProgressBar.setup

    def ctrl_c_then_setup(self, estimator, context):
        signal.raise_signal(signal.SIGINT)
        setup(self, estimator, context)

    monkeypatch.setattr(ProgressBar, "setup", ctrl_c_then_setup)

    code, stdout, _ = run_main([*FAST, "--progress", "bar", "--out", str(tmp_path)])

    assert code == 130
    assert "interrupted before its first epoch finished" in stdout
    assert list(tmp_path.iterdir()) == []
    assert threads_left(before) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_the_bar_closes_saves_then_exits_130(
    tmp_path, monkeypatch, no_figures
):
    before = threading.enumerate()
    teardown = ProgressBar.teardown

    def ctrl_c_then_teardown(self, estimator, context):
        signal.raise_signal(signal.SIGINT)
        teardown(self, estimator, context)

    monkeypatch.setattr(ProgressBar, "teardown", ctrl_c_then_teardown)

    code, stdout, _ = run_main([*FAST, "--progress", "bar", "--out", str(tmp_path)])

    assert code == 130
    assert "note: training was interrupted after 5 epochs" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == FILES[1::-1]
    assert json.loads((tmp_path / "metrics.json").read_text())["n_iter"] == 5
    assert threads_left(before) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# On a terminal, as a program

# Runs the job with Ctrl-C pressed, through the real signal, as the epoch
# given as the first argument starts
CTRL_C_AT_EPOCH = """\
import signal
import sys

from sklearn_jaxmlp import _training
from sklearn_jaxmlp.__main__ import main

run_epoch = _training.run_epoch
calls = []


def run_epoch_after_ctrl_c(*args, **kwargs):
    calls.append(None)
    if len(calls) == int(sys.argv[1]):
        signal.raise_signal(signal.SIGINT)
    return run_epoch(*args, **kwargs)


_training.run_epoch = run_epoch_after_ctrl_c
sys.exit(main(sys.argv[2:]))
"""


def run_on_terminal(command, cwd, timeout=120):
    """Run ``command`` with a pseudo-terminal as its standard output.

    Returns the exit status, what it wrote to the terminal and its stderr.
    """
    pty = pytest.importorskip("pty")
    env = {
        **os.environ,
        "TERM": "xterm",
        "COLUMNS": "100",
    }
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR"):
        env.pop(name, None)
    reader, writer = pty.openpty()
    with open(cwd / "stderr.txt", "w+") as stderr:
        try:
            process = subprocess.Popen(
                command, stdout=writer, stderr=stderr, cwd=cwd, env=env
            )
        finally:
            os.close(writer)
        chunks = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([reader], [], [], 1.0)
                if not ready:
                    if process.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(reader, 65536)
                except OSError:
                    # EIO: the program has closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            os.close(reader)
            if process.poll() is None:
                process.kill()
                process.wait()
        stderr.seek(0)
        errors = stderr.read()
    return code, b"".join(chunks).decode("utf-8", "replace"), errors


def test_on_a_terminal_ctrl_c_during_the_bar_saves_and_exits_130(tmp_path):
    # --progress auto draws the bar on a terminal, where rich takes over
    # stdout and hides the cursor; after Ctrl-C the process must end by
    # itself, with no thread of the bar keeping it alive
    out = tmp_path / "out"
    argv = ["--max-iter", "5", "--hidden-layer-sizes", "8", "--out", str(out)]

    code, shown, stderr = run_on_terminal(
        [sys.executable, "-c", CTRL_C_AT_EPOCH, "3", *argv], tmp_path
    )

    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "JaxMLPClassifier - fit" in shown
    assert "Iteration 1, loss" not in shown
    assert "note: training was interrupted after 2 epochs" in shown
    assert "Test accuracy: " in shown
    # The cursor, hidden while the bar is drawn, is shown again
    assert shown.rindex("\x1b[?25h") > shown.index("\x1b[?25l")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stopped"] == "interrupted"


def test_stdout_closed_while_the_bar_runs_ends_the_program_quietly(tmp_path):
    out = tmp_path / "out"
    argv = ["--max-iter", "3", "--hidden-layer-sizes", "8", "--progress", "bar"]
    process = subprocess.Popen(
        [sys.executable, "-m", "sklearn_jaxmlp", *argv, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        # As `| head -5`: the reader leaves before the bar is drawn
        for line in process.stdout:
            if line.startswith(b"Training"):
                break
        process.stdout.close()
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()

    assert code == 141, stderr
    assert "Traceback" not in stderr
    assert "Exception" not in stderr
    assert not out.exists()


def test_a_validation_fraction_of_ones_own_keeps_early_stopping_on(tmp_path):
    argv = [*FAST, "--max-samples", "40", "--validation-fraction", "0.05"]
    code, _, stderr = run_main([*argv, "--quiet", "--out", str(tmp_path)])
    assert code == 1
    assert "validation_fraction" in stderr
