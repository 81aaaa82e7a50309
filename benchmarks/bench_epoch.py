"""Seconds per epoch of JaxMLPClassifier against MLPClassifier, same settings.

Both estimators train with adam, batches of 200 and ``tol=0`` on
Fashion-MNIST (Debian's ``dataset-fashion-mnist``). A per-epoch time is the
difference between a long and a short fit divided by the extra epochs, so
compilation and set-up cancel out; each figure is the median of
``--repeat`` runs. Also reported: the first fit's compilation time, and the
wall time of scikit-learn's ``check_estimator`` for both estimators.

    python benchmarks/bench_epoch.py [--hidden 24,24 256,128] [--repeat 3]
"""

import argparse
import json
import platform
import statistics
import time
import warnings

import jax
import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.utils.estimator_checks import check_estimator

from sklearn_jaxmlp import JaxMLPClassifier
from sklearn_jaxmlp.datasets import load_fashion_mnist

_COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)


def _settings(hidden, max_iter):
    return dict(
        hidden_layer_sizes=hidden,
        solver="adam",
        batch_size=200,
        max_iter=max_iter,
        tol=0.0,
        n_iter_no_change=np.inf,
        random_state=0,
    )


def _fit_seconds(estimator_class, hidden, max_iter, X, y):
    estimator = estimator_class(**_settings(hidden, max_iter))
    start = time.perf_counter()
    estimator.fit(X, y)
    return time.perf_counter() - start


def seconds_per_epoch(estimator_class, hidden, X, y, short, long, repeat):
    """Median of (long fit - short fit) / (long - short) over ``repeat`` runs."""
    samples = []
    for _ in range(repeat):
        t_short = _fit_seconds(estimator_class, hidden, short, X, y)
        t_long = _fit_seconds(estimator_class, hidden, long, X, y)
        samples.append((t_long - t_short) / (long - short))
    return statistics.median(samples)


def first_fit_compile_seconds(hidden, X, y):
    """Seconds spent tracing, lowering and compiling during a first fit."""
    spent = []

    def listener(event, duration, **kwargs):
        if event in _COMPILE_EVENTS:
            spent.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        _fit_seconds(JaxMLPClassifier, hidden, 1, X, y)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return sum(spent)


def check_estimator_seconds(estimator):
    start = time.perf_counter()
    check_estimator(estimator)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", nargs="+", default=["24,24", "256,128"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)

    data = load_fashion_mnist()
    X, y = data.X_train, data.y_train
    rows = []
    for spec in args.hidden:
        hidden = tuple(int(size) for size in spec.split(","))
        compile_s = first_fit_compile_seconds(hidden, X, y)
        ours = seconds_per_epoch(JaxMLPClassifier, hidden, X, y, 1, 4, args.repeat)
        theirs = seconds_per_epoch(MLPClassifier, hidden, X, y, 1, 3, args.repeat)
        rows.append(
            dict(
                hidden=list(hidden),
                jax_s_per_epoch=ours,
                sklearn_s_per_epoch=theirs,
                speedup=theirs / ours,
                first_fit_compile_s=compile_s,
            )
        )
    checks = dict(
        jax=check_estimator_seconds(JaxMLPClassifier()),
        sklearn=check_estimator_seconds(MLPClassifier()),
    )

    machine = (
        f"{platform.machine()}, {jax.local_device_count()} {jax.default_backend()}"
    )
    print(
        f"Fashion-MNIST, 60000 x 784, adam, batch 200; jax {jax.__version__}, "
        f"scikit-learn {sklearn.__version__}; {machine}; "
        f"{time.strftime('%Y-%m-%d')}\n"
    )
    print("| hidden | ours s/epoch | MLPClassifier s/epoch | speed-up | compile s |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {tuple(row['hidden'])} | {row['jax_s_per_epoch']:.3f} | "
            f"{row['sklearn_s_per_epoch']:.3f} | {row['speedup']:.1f}x | "
            f"{row['first_fit_compile_s']:.2f} |"
        )
    print(
        f"\ncheck_estimator: ours {checks['jax']:.1f} s, "
        f"MLPClassifier {checks['sklearn']:.1f} s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(epochs=rows, check_estimator_s=checks), f, indent=2)


if __name__ == "__main__":
    main()
