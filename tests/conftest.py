import os

# scikit-learn's array-API check runs only when SciPy's array-API mode is
# on, and SciPy reads this once, at import: set it before anything loads it.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import jax  # noqa: E402
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
