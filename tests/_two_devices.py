"""Fits on two CPU devices, for tests/test_scaling.py.

JAX fixes its devices when it starts, so the test runs this script in a
process of its own, with JAX_NUM_CPU_DEVICES=2. It fits each case on one
device and with ``data_parallel=2``, and writes what the test checks as
JSON to the path in its first argument; the pickled two-device model goes
next to it.
"""

import json
import pickle
import sys
import warnings
from pathlib import Path

import jax
import numpy as np
from sklearn.datasets import load_digits

from sklearn_jaxmlp import JaxMLPClassifier

# 301 rows: batches of 50 leave a last batch of 1; early stopping keeps 270
# rows for training, whose batches of 53 (27 rows on each device, one of
# them padding) leave a last batch of 5; a full batch splits into blocks of
# 151 and 150 rows
CASES = {
    "sgd-early-stopping-batches-of-53": dict(
        solver="sgd", batch_size=53, early_stopping=True
    ),
    "adam-last-batch-of-1": dict(solver="adam", batch_size=50),
    "full-batch-sgd": dict(solver="sgd", batch_size=301, learning_rate_init=0.1),
    "lbfgs": dict(solver="lbfgs"),
}
COMMON = dict(hidden_layer_sizes=(16,), max_iter=10, random_state=0)
PICKLED = "adam-last-batch-of-1"


def _largest_difference(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def main(out):
    X, y = load_digits(return_X_y=True)
    X, y = X[:301] / 16, y[:301]
    results = {"n_devices": jax.device_count(), "cases": {}}
    warnings.simplefilter("ignore")

    for name, params in CASES.items():
        single = JaxMLPClassifier(**COMMON, **params).fit(X, y)
        parallel = JaxMLPClassifier(**COMMON, **params, data_parallel=2).fit(X, y)
        results["cases"][name] = {
            "proba": _largest_difference(
                single.predict_proba(X), parallel.predict_proba(X)
            ),
            "weights": max(
                _largest_difference(a, b)
                for a, b in zip(
                    single.coefs_ + single.intercepts_,
                    parallel.coefs_ + parallel.intercepts_,
                    strict=True,
                )
            ),
            "loss": abs(single.loss_ - parallel.loss_) / single.loss_,
            "n_iter": [single.n_iter_, parallel.n_iter_],
        }
        if name == PICKLED:
            Path(out).with_suffix(".pkl").write_bytes(pickle.dumps(parallel))
            np.save(Path(out).with_suffix(".npy"), parallel.predict_proba(X))
            kept = parallel

    # Another sample count in the same bucket compiles nothing new
    compiles = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    JaxMLPClassifier(**COMMON, **CASES[PICKLED], data_parallel=2).fit(X[:280], y[:280])
    results["refit_compiles"] = len(compiles)

    # The device named first leads the mesh; the fit is the same
    led = JaxMLPClassifier(
        **COMMON, **CASES[PICKLED], device=jax.devices()[1], data_parallel=True
    ).fit(X, y)
    results["led_by_device_1"] = _largest_difference(
        led.predict_proba(X), kept.predict_proba(X)
    )

    errors = {}
    for params in (dict(data_parallel=3), dict(device="cpu:2")):
        try:
            JaxMLPClassifier(**COMMON, **params).fit(X, y)
        except ValueError as error:
            errors[repr(params)] = str(error)
    results["errors"] = errors
    Path(out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
