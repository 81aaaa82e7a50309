"""Speed of JaxMLPClassifier against scikit-learn's MLPClassifier, one run.

Both estimators get identical settings and the same float32 Fashion-MNIST
arrays (Debian's ``dataset-fashion-mnist``, 60000 x 784, pixels in [0, 1];
MLPClassifier keeps float32 input in float32). ``tol=0`` and
``n_iter_no_change=np.inf`` make every fit run all of its epochs. The run
reports, as Markdown on standard output and optionally as JSON:

epochs
    Seconds per epoch of adam with batches of 200 for four architectures.
    A per-epoch time is the difference between a long and a short fit
    divided by the extra epochs, so set-up costs cancel; ours first runs
    one untimed fit of each architecture, so compilation is cached and
    never timed. The median of ``--repeat`` such differences is reported
    with their range. The achieved GFLOP/s counts the matrix products of
    an epoch: per sample, ``2 * sum(fan_in * fan_out)`` forward, as much
    again for the weight gradients, and the same sum without the first
    layer for the input gradients (the output layer counted in each sum).
    Its fraction is taken of the float32 matrix-multiply peak measured in
    the same run: the better of JAX (jitted) and NumPy (OpenBLAS) on a
    large square product, best of several repetitions. When ours runs on a
    GPU, its peak is JAX's there (at JAX's default matmul precision, which
    NVIDIA GPUs may run as TF32) and MLPClassifier's is NumPy's.
notebook
    The example notebook's full-batch configuration: (24, 24), ReLU, plain
    gradient descent at 0.075, no momentum, no penalty, no shuffling.
    Seconds per iteration by differences as above, and the projected time
    of its 500 iterations: the short fit plus the remaining iterations at
    the per-iteration rate (compilation excluded).
compile
    In a fresh Python process: the seconds JAX spends tracing, lowering and
    compiling during the first fit (the sum of its compile-duration
    monitoring events), that fit's wall time, and the number of backend
    compilations triggered by a second fit on fewer rows in the same
    power-of-two bucket, which should be 0.
predict
    ``predict_proba`` throughput on 10,000 and 1,000,000 random float32
    rows shaped like Fashion-MNIST (float32 for both estimators; the larger
    input alone takes 3 GB), with a (256, 128) model fitted for one epoch,
    each estimator and row count in a fresh process. Throughput is the
    median of 5 calls on the smaller input, of 1 on the larger, after an
    untimed warm-up call on 1,000 rows (which compiles ours).
    Peak memory is the rise of the process's resident-set high-water mark
    during the timed calls over a baseline taken after loading the model
    and the input and one warm-up call; the mark is first lowered to the
    current size (Linux's /proc/self/clear_refs). The mark is read from
    /proc/self/status: ``ru_maxrss``, its ``getrusage`` twin, would carry
    over the parent's mark into the fresh process. Resident memory counts
    what NumPy, BLAS and XLA's CPU runtime allocate alike, which
    tracemalloc would not. On a GPU, ours also reports the device's peak
    bytes in use.
checks
    Wall time of scikit-learn's ``check_estimator`` on each estimator with
    default parameters, each in a fresh process (so our compile cache
    starts cold, as on a user's first run), with warnings silenced and
    ``SCIPY_ARRAY_API=1`` set for both so both run the same checks. The
    estimators take turns, ``--repeat`` times; the median is reported.

Usage::

    python benchmarks/bench_speed.py [--quick] [--repeat 3] [--json out.json]
        [--only {epochs,notebook,compile,predict,checks} ...] [--device cpu]

``--quick`` is a smoke test of about a minute: a small slice of the data,
one repeat, one architecture, short fits, one small prediction input and
only the first few estimator checks. Its figures are not for quoting.
"""

import argparse
import functools
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import _machine  # benchmarks/_machine.py, next to this script
import jax
import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.utils.estimator_checks import check_estimator

from sklearn_jaxmlp import JaxMLPClassifier
from sklearn_jaxmlp.datasets import load_fashion_mnist

SECTIONS = ("epochs", "notebook", "compile", "predict", "checks")
ESTIMATORS = {"ours": JaxMLPClassifier, "sklearn": MLPClassifier}
LABELS = {"ours": "JaxMLPClassifier", "sklearn": "MLPClassifier"}
N_CLASSES = 10

# Fit lengths (short, long) in epochs for ours and for MLPClassifier,
# chosen so that the default run stays under 10 minutes on two cores
EPOCH_PLAN = {
    (24, 24): {"ours": (2, 6), "sklearn": (1, 3)},
    (100,): {"ours": (1, 4), "sklearn": (1, 3)},
    (256, 128): {"ours": (1, 3), "sklearn": (1, 2)},
    (512, 256, 128): {"ours": (1, 2), "sklearn": (1, 2)},
}
NOTEBOOK_ITERATIONS = {"ours": (5, 25), "sklearn": (5, 15)}
NOTEBOOK_MAX_ITER = 500
PREDICT_HIDDEN = (256, 128)
PREDICT_ROWS = (10_000, 1_000_000)
MATMUL_SIZE = {"cpu": 2048, "gpu": 8192}
MATMUL_REPEAT = 5

# Small everything for --quick
QUICK_ROWS = 2000
QUICK_STEPS = {"ours": (1, 2), "sklearn": (1, 2)}
QUICK_EPOCH_PLAN = {PREDICT_HIDDEN: QUICK_STEPS}
QUICK_PREDICT_ROWS = (20_000,)
QUICK_MATMUL_SIZE = 1024
QUICK_MATMUL_REPEAT = 2
QUICK_CHECKS = 5

# The compile-time check: a first fit, then one of another size in its bucket
COMPILE_ROWS = (2000, 1500)
COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"

RESULT_PREFIX = "BENCH_RESULT "


# Machine and device


def select_device(name):
    """Return the JAX device named by ``--device``, or JAX's default one."""
    if name is None:
        return jax.devices()[0]
    try:
        return jax.devices(name)[0]
    except RuntimeError:
        platforms = ", ".join(sorted({d.platform for d in jax.devices()}))
        raise SystemExit(
            f"--device {name}: JAX sees no {name.upper()}, only: {platforms}. "
            "Install a JAX build with GPU support (for example "
            "pip install 'jax[cuda12]') or leave --device out."
        ) from None


def machine_info(device):
    """Date, machine, CPU count, JAX device and library versions."""
    return {
        **_machine.describe(),
        "jax_backend": device.platform,
        "jax_device": str(device),
        "jax": jax.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }


def _best_seconds(fn, repeat):
    """Best wall time of ``repeat`` calls of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_peak(device, size, repeat):
    """GFLOP/s of a float32 square matrix product, JAX on ``device`` and NumPy."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    flop = 2 * size**3

    matmul = jax.jit(jax.numpy.matmul)
    a_dev, b_dev = jax.device_put(a, device), jax.device_put(b, device)
    jax_s = _best_seconds(lambda: matmul(a_dev, b_dev).block_until_ready(), repeat)

    numpy_size = min(size, MATMUL_SIZE["cpu"])
    a_np = np.ascontiguousarray(a[:numpy_size, :numpy_size])
    b_np = np.ascontiguousarray(b[:numpy_size, :numpy_size])
    numpy_s = _best_seconds(lambda: a_np @ b_np, repeat)

    return {
        "size": size,
        "numpy_size": numpy_size,
        "repeat": repeat,
        "jax_gflops": flop / jax_s / 1e9,
        "numpy_gflops": 2 * numpy_size**3 / numpy_s / 1e9,
    }


def peaks_for(matmul, device):
    """The peak each estimator is compared with, and where it comes from."""
    jax_gflops, numpy_gflops = matmul["jax_gflops"], matmul["numpy_gflops"]
    if device.platform == "cpu":
        source = "JAX" if jax_gflops >= numpy_gflops else "NumPy"
        peak = max(jax_gflops, numpy_gflops)
        return {"ours": (peak, source), "sklearn": (peak, source)}
    # MLPClassifier stays on the CPU; ours runs on the accelerator
    return {"ours": (jax_gflops, "JAX"), "sklearn": (numpy_gflops, "NumPy")}


# Timing fits


def training_flop_per_sample(hidden):
    """Matrix-product FLOP of one training sample through a network."""
    sizes = (784, *hidden, N_CLASSES)
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    products = [fan_in * fan_out for fan_in, fan_out in pairs]
    forward = 2 * sum(products)
    weight_grads = 2 * sum(products)
    input_grads = 2 * sum(products[1:])
    return forward + weight_grads + input_grads


def adam_settings(hidden, max_iter):
    """The shared settings of the per-epoch comparison."""
    return {
        "hidden_layer_sizes": hidden,
        "solver": "adam",
        "batch_size": 200,
        "max_iter": max_iter,
        "tol": 0.0,
        "n_iter_no_change": np.inf,
        "random_state": 0,
    }


def notebook_settings(n_samples, max_iter):
    """The example notebook's full-batch gradient-descent settings."""
    return {
        "hidden_layer_sizes": (24, 24),
        "activation": "relu",
        "solver": "sgd",
        "momentum": 0.0,
        "learning_rate_init": 0.075,
        "alpha": 0.0,
        "batch_size": n_samples,
        "shuffle": False,
        "max_iter": max_iter,
        "tol": 0.0,
        "n_iter_no_change": np.inf,
        "random_state": 0,
    }


def fit_seconds(estimator_class, settings, X, y):
    """Wall time of one fit."""
    estimator = estimator_class(**settings)
    start = time.perf_counter()
    estimator.fit(X, y)
    return time.perf_counter() - start


def seconds_per_step(estimator_class, make_settings, X, y, steps, repeat):
    """Per-epoch (or per-iteration) seconds by differences of two fits.

    ``make_settings(max_iter)`` gives the estimator's parameters and
    ``steps`` the short and the long fit's lengths. Ours runs the short fit
    once, untimed, so that compilation is cached first.
    """
    short, long = steps
    if estimator_class is JaxMLPClassifier:
        fit_seconds(estimator_class, make_settings(short), X, y)

    per_step, short_times = [], []
    for _ in range(repeat):
        t_short = fit_seconds(estimator_class, make_settings(short), X, y)
        t_long = fit_seconds(estimator_class, make_settings(long), X, y)
        per_step.append((t_long - t_short) / (long - short))
        short_times.append(t_short)
    return {
        "steps": [short, long],
        "median_s": statistics.median(per_step),
        "min_s": min(per_step),
        "max_s": max(per_step),
        "short_fit_s": statistics.median(short_times),
    }


def bench_epochs(X, y, plan, repeat, peaks):
    """Seconds per epoch of both estimators for each architecture."""
    rows = []
    for hidden, steps in plan.items():
        gflop = training_flop_per_sample(hidden) * len(X) / 1e9
        row = {"hidden": list(hidden), "gflop_per_epoch": gflop}
        for name, estimator_class in ESTIMATORS.items():
            timing = seconds_per_step(
                estimator_class,
                lambda max_iter, h=hidden: adam_settings(h, max_iter),
                X,
                y,
                steps[name],
                repeat,
            )
            peak, _ = peaks[name]
            timing["gflops"] = gflop / timing["median_s"]
            timing["fraction_of_peak"] = timing["gflops"] / peak
            row[name] = timing
        row["ratio"] = row["sklearn"]["median_s"] / row["ours"]["median_s"]
        rows.append(row)
    return rows


def bench_notebook(X, y, iterations, repeat):
    """Seconds per full-batch iteration and the projected 500-iteration fit."""
    gflop = training_flop_per_sample((24, 24)) * len(X) / 1e9
    result = {"n_samples": len(X), "gflop_per_iteration": gflop}
    for name, estimator_class in ESTIMATORS.items():
        timing = seconds_per_step(
            estimator_class,
            lambda max_iter: notebook_settings(len(X), max_iter),
            X,
            y,
            iterations[name],
            repeat,
        )
        short = timing["steps"][0]
        timing["projected_s"] = (
            timing["short_fit_s"] + (NOTEBOOK_MAX_ITER - short) * timing["median_s"]
        )
        timing["gflops"] = gflop / timing["median_s"]
        result[name] = timing
    result["ratio"] = result["sklearn"]["median_s"] / result["ours"]["median_s"]
    return result


# Fresh processes


def run_worker(worker, options, device_name, extra_env=None):
    """Run this script as a worker in a fresh process; return its result."""
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        worker,
        "--worker-options",
        json.dumps(options),
    ]
    if device_name is not None:
        command += ["--device", device_name]
    env = dict(os.environ, PYTHONWARNINGS="ignore", **(extra_env or {}))
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode == 0:
        for line in reversed(done.stdout.splitlines()):
            if line.startswith(RESULT_PREFIX):
                return json.loads(line.removeprefix(RESULT_PREFIX))
    raise RuntimeError(
        f"The {worker} worker {options} exited with status {done.returncode} "
        f"and no result; the end of its error output:\n{done.stderr[-3000:]}"
    )


def bench_compile(device_name):
    """First-fit compile time and recompilations, in a fresh process."""
    return run_worker("compile", {}, device_name)


def bench_predict(X, y, row_counts, device_name):
    """Throughput and peak memory of predict_proba, each in a fresh process.

    The models are fitted for one epoch on ``X, y`` here and handed over
    pickled; the input rows are drawn in the fresh process.
    """
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name, estimator_class in ESTIMATORS.items():
            model = estimator_class(**adam_settings(PREDICT_HIDDEN, 1)).fit(X, y)
            path = os.path.join(folder, f"{name}.pickle")
            with open(path, "wb") as f:
                pickle.dump(model, f)
            for rows in row_counts:
                options = {"estimator": name, "model": path, "rows": rows}
                results.append(run_worker("predict", options, device_name))
    return results


def bench_checks(limit, device_name, repeat):
    """Wall time of check_estimator on each estimator, in fresh processes.

    The two estimators take turns, ``repeat`` times, so that a slow spell
    of the shared machine falls on both.
    """
    runs = {name: [] for name in ESTIMATORS}
    for _ in range(repeat):
        for name in ESTIMATORS:
            runs[name].append(
                run_worker(
                    "checks",
                    {"estimator": name, "limit": limit},
                    device_name,
                    extra_env={"SCIPY_ARRAY_API": "1"},
                )
            )
    results = {}
    for name, entries in runs.items():
        walls = [entry["wall_s"] for entry in entries]
        results[name] = {
            "wall_s": statistics.median(walls),
            "min_s": min(walls),
            "max_s": max(walls),
            "runs": len(walls),
            "counts": entries[0]["counts"],
        }
    return results


# Workers (run in the fresh processes)


def worker_compile(options, device):
    """Compile seconds of a first fit; backend compilations of a second one."""
    events = []

    def listener(event, duration, **kwargs):
        if event in COMPILE_EVENTS:
            events.append((event, duration))

    data = load_fashion_mnist()
    first_rows, second_rows = COMPILE_ROWS
    jax.monitoring.register_event_duration_secs_listener(listener)

    start = time.perf_counter()
    JaxMLPClassifier(**adam_settings((24, 24), 1)).fit(
        data.X_train[:first_rows], data.y_train[:first_rows]
    )
    first_wall = time.perf_counter() - start
    first_events = list(events)

    events.clear()
    start = time.perf_counter()
    JaxMLPClassifier(**adam_settings((24, 24), 1)).fit(
        data.X_train[:second_rows], data.y_train[:second_rows]
    )
    second_wall = time.perf_counter() - start

    def compiles(recorded):
        return sum(event == BACKEND_COMPILE_EVENT for event, _ in recorded)

    return {
        "rows": list(COMPILE_ROWS),
        "first_fit_compile_s": sum(duration for _, duration in first_events),
        "first_fit_backend_compiles": compiles(first_events),
        "first_fit_wall_s": first_wall,
        "second_fit_backend_compiles": compiles(events),
        "second_fit_wall_s": second_wall,
    }


def peak_rss_mib():
    """This process's resident-set high-water mark, in MiB.

    Linux's ``ru_maxrss`` starts a fresh process at the high-water mark of
    the process that spawned it, so it is read only where /proc is missing;
    /proc/self/status gives the same counter for this process alone.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss():
    """Lower the high-water mark to the current size; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def worker_predict(options, device):
    """Rows per second and peak memory rise of predict_proba."""
    with open(options["model"], "rb") as f:
        model = pickle.load(f)
    rows = options["rows"]
    X = np.random.default_rng(0).random((rows, 784), dtype=np.float32)
    model.predict_proba(X[:1000])

    reset = reset_peak_rss()
    baseline = peak_rss_mib()
    repeat = 5 if rows <= 100_000 else 1
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        model.predict_proba(X)
        times.append(time.perf_counter() - start)
    peak = peak_rss_mib()

    device_peak = None
    if options["estimator"] == "ours" and device.platform != "cpu":
        device_peak = (device.memory_stats() or {}).get("peak_bytes_in_use")
    return {
        "estimator": options["estimator"],
        "rows": rows,
        "calls": repeat,
        "median_s": statistics.median(times),
        "rows_per_s": rows / statistics.median(times),
        "input_mib": X.nbytes / 2**20,
        "baseline_rss_mib": baseline,
        "peak_rise_mib": peak - baseline,
        "high_water_mark_reset": reset,
        "device_peak_mib": None if device_peak is None else device_peak / 2**20,
    }


class _EnoughChecks(Exception):
    """Raised to stop check_estimator after the first few checks."""


def worker_checks(options, device):
    """Wall time and outcome counts of check_estimator."""
    warnings.simplefilter("ignore")
    limit = options["limit"]
    counts = {}

    def callback(status, **kwargs):
        counts[status] = counts.get(status, 0) + 1
        if limit is not None and sum(counts.values()) >= limit:
            raise _EnoughChecks

    estimator = ESTIMATORS[options["estimator"]]()
    start = time.perf_counter()
    try:
        check_estimator(estimator, on_skip=None, on_fail=None, callback=callback)
    except _EnoughChecks:
        pass
    return {"wall_s": time.perf_counter() - start, "counts": counts}


WORKERS = {
    "compile": worker_compile,
    "predict": worker_predict,
    "checks": worker_checks,
}


# Report


def _spread(timing):
    """Median seconds with the min-max range."""
    low, high = timing["min_s"], timing["max_s"]
    return f"{timing['median_s']:.3f} ({low:.3f}–{high:.3f})"


def _steps(timing):
    """The short and long fit lengths, as "1 vs 3"."""
    return "{} vs {}".format(*timing["steps"])


def _table(header, rows):
    """Lines of a Markdown table, followed by a blank line."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def header_lines(results):
    """The line naming the date, machine, device and versions."""
    info = results["machine"]
    cpu = f" ({info['cpu_model']})" if info["cpu_model"] else ""
    line = (
        f"{info['date']} | {info['processor']}{cpu}, {info['n_cpus']} CPUs | "
        f"JAX backend {info['jax_backend']}, device {info['jax_device']} | "
        f"jax {info['jax']}, scikit-learn {info['scikit-learn']}, "
        f"numpy {info['numpy']}"
    )
    if info["jax_backend"] != "cpu":
        line += " | MLPClassifier on the CPU"
    if results["quick"]:
        line += " | QUICK MODE: small data, not for quoting"
    return [line, ""]


def epochs_lines(epochs, repeat):
    """The matmul peak and the per-epoch table."""
    matmul, peaks = epochs["matmul"], epochs["peaks"]
    size, numpy_size = matmul["size"], matmul["numpy_size"]
    lines = [
        f"float32 matmul, best of {matmul['repeat']}: JAX "
        f"{matmul['jax_gflops']:.1f} GFLOP/s ({size}x{size}, jitted), "
        f"NumPy {matmul['numpy_gflops']:.1f} GFLOP/s "
        f"({numpy_size}x{numpy_size}, OpenBLAS). Peak for ours: "
        f"{peaks['ours'][0]:.1f} GFLOP/s ({peaks['ours'][1]}); for "
        f"MLPClassifier: {peaks['sklearn'][0]:.1f} GFLOP/s "
        f"({peaks['sklearn'][1]}). On a CPU both are held to the better of "
        "the two measurements, whichever library made it.",
        "",
        f"Seconds per epoch, adam, batch 200, {epochs['n_samples']} samples, "
        f"median (min–max) of {repeat}; ratio = MLPClassifier / ours:",
        "",
    ]
    rows = []
    for row in epochs["rows"]:
        ours, theirs = row["ours"], row["sklearn"]
        rows.append(
            [
                tuple(row["hidden"]),
                f"{row['gflop_per_epoch']:.1f}",
                _spread(ours),
                _spread(theirs),
                f"{row['ratio']:.1f}x",
                f"{ours['gflops']:.1f} ({ours['fraction_of_peak']:.0%})",
                f"{theirs['gflops']:.1f} ({theirs['fraction_of_peak']:.0%})",
                f"{_steps(ours)}; {_steps(theirs)}",
            ]
        )
    header = [
        "hidden",
        "GFLOP/epoch",
        "ours s/epoch",
        "MLPClassifier s/epoch",
        "ratio",
        "ours GFLOP/s (% peak)",
        "MLPClassifier GFLOP/s (% peak)",
        "epochs of the short vs long fit (ours; MLP)",
    ]
    return lines + _table(header, rows)


def notebook_lines(notebook, repeat):
    """The notebook configuration's table."""
    lines = [
        "Notebook configuration, (24, 24) ReLU, full-batch sgd at 0.075 "
        f"without momentum, {notebook['n_samples']} samples, median "
        f"(min–max) of {repeat}; ratio {notebook['ratio']:.1f}x:",
        "",
    ]
    rows = [
        [
            LABELS[name],
            _spread(notebook[name]),
            f"{notebook[name]['gflops']:.1f}",
            f"{notebook[name]['projected_s']:.1f}",
            _steps(notebook[name]),
        ]
        for name in ESTIMATORS
    ]
    header = [
        "estimator",
        "s/iteration",
        "GFLOP/s",
        f"projected {NOTEBOOK_MAX_ITER} iterations, s",
        "iterations per fit",
    ]
    return lines + _table(header, rows)


def compile_lines(compiled):
    """The first and second fit in a fresh process."""
    first, second = compiled["rows"]
    return [
        f"First fit in a fresh process, (24, 24) adam, 1 epoch on {first} "
        f"rows: compile {compiled['first_fit_compile_s']:.2f} s in "
        f"{compiled['first_fit_backend_compiles']} backend compilations, "
        f"wall {compiled['first_fit_wall_s']:.2f} s. Second fit on {second} "
        f"rows: {compiled['second_fit_backend_compiles']} backend "
        f"compilations, wall {compiled['second_fit_wall_s']:.2f} s.",
        "",
    ]


def predict_lines(predict):
    """The predict_proba table."""
    lines = [
        f"predict_proba, {PREDICT_HIDDEN} model, random float32 input for "
        "both, each in a fresh process; peak rise of the resident "
        "high-water mark over the loaded model and input:",
        "",
    ]
    rows = []
    for entry in predict:
        rise = f"{entry['peak_rise_mib']:,.0f}"
        if not entry["high_water_mark_reset"]:
            rise += " (mark not reset)"
        device_peak = entry["device_peak_mib"]
        rows.append(
            [
                LABELS[entry["estimator"]],
                f"{entry['rows']:,}",
                f"{entry['input_mib']:,.0f}",
                f"{entry['rows_per_s']:,.0f}",
                rise,
                "–" if device_peak is None else f"{device_peak:,.0f}",
            ]
        )
    header = [
        "estimator",
        "rows",
        "input MiB",
        "rows/s",
        "peak rise MiB",
        "device peak MiB",
    ]
    return lines + _table(header, rows)


def checks_lines(checks):
    """The check_estimator table."""
    limit = checks["limit"]
    scope = "all checks" if limit is None else f"first {limit} checks only"
    rows = []
    for name in ESTIMATORS:
        entry = checks[name]
        counts = sorted(entry["counts"].items())
        outcomes = ", ".join(f"{count} {status}" for status, count in counts)
        wall = f"{entry['wall_s']:.1f} ({entry['min_s']:.1f}–{entry['max_s']:.1f})"
        rows.append([LABELS[name], wall, outcomes])
    runs = checks[next(iter(ESTIMATORS))]["runs"]
    lines = [
        f"check_estimator in a fresh process ({scope}), median (min–max) of "
        f"{runs}, the two estimators taking turns:",
        "",
    ]
    return lines + _table(["estimator", "wall s", "outcomes"], rows)


def report_lines(results):
    """The Markdown report of everything measured."""
    repeat = results["repeat"]
    lines = header_lines(results)
    if "epochs" in results:
        lines += epochs_lines(results["epochs"], repeat)
    if "notebook" in results:
        lines += notebook_lines(results["notebook"], repeat)
    if "compile" in results:
        lines += compile_lines(results["compile"])
    if "predict" in results:
        lines += predict_lines(results["predict"])
    if "checks" in results:
        lines += checks_lines(results["checks"])
    sections = ", ".join(
        f"{name} {seconds:.0f}" for name, seconds in results["section_s"].items()
    )
    lines.append(f"Wall time {results['wall_s']:.0f} s ({sections}).")
    return lines


# Entry point


def parse_args(argv):
    """The command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test of about a minute: small data, 1 repeat, short fits",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="timed repetitions per figure (default 3; 1 with --quick)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this section (repeatable); default all",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default=None,
        help="JAX device for ours (default: JAX's default device)",
    )
    parser.add_argument("--worker", choices=tuple(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--worker-options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1; got {args.repeat}")
    return args


@functools.cache
def training_data(quick):
    """Fashion-MNIST's training rows, or a small slice of them."""
    data = load_fashion_mnist()
    rows = QUICK_ROWS if quick else len(data.X_train)
    return data.X_train[:rows], data.y_train[:rows]


def section_epochs(args, device):
    """The matmul peak, then seconds per epoch against it."""
    X, y = training_data(args.quick)
    size = QUICK_MATMUL_SIZE if args.quick else MATMUL_SIZE[device.platform]
    repeat = QUICK_MATMUL_REPEAT if args.quick else MATMUL_REPEAT
    matmul = matmul_peak(device, size, repeat)
    peaks = peaks_for(matmul, device)
    plan = QUICK_EPOCH_PLAN if args.quick else EPOCH_PLAN
    return {
        "n_samples": len(X),
        "matmul": matmul,
        "peaks": peaks,
        "rows": bench_epochs(X, y, plan, args.repeat, peaks),
    }


def section_notebook(args, device):
    """The notebook's full-batch configuration."""
    X, y = training_data(args.quick)
    iterations = QUICK_STEPS if args.quick else NOTEBOOK_ITERATIONS
    return bench_notebook(X, y, iterations, args.repeat)


def section_compile(args, device):
    """First-fit compilation in a fresh process."""
    return bench_compile(args.device)


def section_predict(args, device):
    """predict_proba throughput and memory in fresh processes."""
    X, y = training_data(args.quick)
    row_counts = QUICK_PREDICT_ROWS if args.quick else PREDICT_ROWS
    return bench_predict(X, y, row_counts, args.device)


def section_checks(args, device):
    """check_estimator in fresh processes."""
    limit = QUICK_CHECKS if args.quick else None
    return {"limit": limit, **bench_checks(limit, args.device, args.repeat)}


SECTION_RUNNERS = {
    "epochs": section_epochs,
    "notebook": section_notebook,
    "compile": section_compile,
    "predict": section_predict,
    "checks": section_checks,
}


def run_benchmarks(args, device):
    """Run the chosen sections; return all results as one dictionary."""
    start = time.perf_counter()
    results = {
        "machine": machine_info(device),
        "quick": args.quick,
        "repeat": args.repeat,
        "section_s": {},
    }
    for section in SECTIONS:
        if args.only and section not in args.only:
            continue
        print(f"bench_speed: {section}...", file=sys.stderr, flush=True)
        section_start = time.perf_counter()
        results[section] = SECTION_RUNNERS[section](args, device)
        results["section_s"][section] = time.perf_counter() - section_start
    results["wall_s"] = time.perf_counter() - start
    return results


def main(argv=None):
    """Run the benchmark, or one worker when started as a fresh process."""
    args = parse_args(argv)
    device = select_device(args.device)
    warnings.simplefilter("ignore", ConvergenceWarning)

    with jax.default_device(device):
        if args.worker:
            result = WORKERS[args.worker](json.loads(args.worker_options), device)
            print(RESULT_PREFIX + json.dumps(result), flush=True)
            return
        results = run_benchmarks(args, device)

    print("\n".join(report_lines(results)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
