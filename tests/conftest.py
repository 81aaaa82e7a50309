import os

# scikit-learn's array-API check runs only when SciPy's array-API mode is
# on, and SciPy reads this once, at import: set it before anything loads it.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@pytest.fixture
def count_compiles():
    """A function returning how many XLA compilations happened so far."""
    compiles = []

    def listener(event, duration, **kwargs):
        if event == _COMPILE_EVENT:
            compiles.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    yield lambda: len(compiles)
    jax.monitoring.unregister_event_duration_listener(listener)


@pytest.fixture
def fit_both_from_the_same_weights():
    """A function fitting both estimators on from equal weights."""
    return _fit_both_from_the_same_weights


def _fit_both_from_the_same_weights(params, X, y, max_iter):
    """JaxMLPClassifier and MLPClassifier trained on from equal weights.

    Each fits one epoch from its own initialisation; MLPClassifier then
    takes our weights, and both go on for ``max_iter`` more epochs with
    ``warm_start``. Returns ``(ours, theirs)``.
    """
    from sklearn.neural_network import MLPClassifier

    from sklearn_jaxmlp import JaxMLPClassifier

    params = dict(params, warm_start=True, tol=0.0, random_state=0)
    ours = JaxMLPClassifier(**params, max_iter=1).fit(X, y)
    theirs = MLPClassifier(**params, max_iter=1).fit(X, y)
    theirs.coefs_ = [w.astype(np.float64) for w in ours.coefs_]
    theirs.intercepts_ = [b.astype(np.float64) for b in ours.intercepts_]
    ours.set_params(max_iter=max_iter).fit(X, y)
    theirs.set_params(max_iter=max_iter).fit(X, y)
    return ours, theirs
