"""One process of a fit spread over two JAX processes, for tests/test_scaling.py.

Usage: ``python _two_processes.py PROCESS_ID PORT OUT``. The test starts two
of them on one machine, each with one CPU device; they meet at the
coordinator on 127.0.0.1:PORT, and each fits on its own half of the rows.
Each writes its predictions on all the rows to OUT (an .npz file).
"""

import sys
import warnings

import jax
import numpy as np
from sklearn.datasets import load_digits

from sklearn_jaxmlp import JaxMLPClassifier

# The rows of the two processes make the 301 rows of tests/_two_devices.py
N_ROWS, SPLIT = 301, 151
# Minibatches (data copied to each device) and L-BFGS (rows split between
# them); tests/_two_devices.py covers the other settings on one process
CASES = {
    "adam-shuffled-batches-of-50": dict(solver="adam", batch_size=50),
    "lbfgs": dict(solver="lbfgs"),
}
COMMON = dict(hidden_layer_sizes=(16,), max_iter=10)


def main(process_id, port, out):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=2,
        process_id=process_id,
    )
    X, y = load_digits(return_X_y=True)
    X, y = X[:N_ROWS] / 16, y[:N_ROWS]
    own = slice(0, SPLIT) if process_id == 0 else slice(SPLIT, N_ROWS)
    warnings.simplefilter("ignore")

    results = {}
    for name, params in CASES.items():
        clf = JaxMLPClassifier(**COMMON, **params, random_state=0, data_parallel=True)
        clf.fit(X[own], y[own])
        results[name] = clf.predict_proba(X)
        results[f"{name}-n_iter"] = np.array(clf.n_iter_)

    # Without a seed, process 0 draws one for all
    clf = JaxMLPClassifier(**COMMON, **CASES["lbfgs"], data_parallel=True)
    results["unseeded"] = clf.fit(X[own], y[own]).predict_proba(X)

    try:
        JaxMLPClassifier(**COMMON, data_parallel=1 + len(jax.devices())).fit(X, y)
    except ValueError as error:
        results["error"] = np.array(str(error))
    np.savez(out, **results)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
