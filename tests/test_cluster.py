"""Searches on a Dask cluster give what they give in one process.

The cluster is local and listens on the loopback interface only: two
worker processes of one thread each, no dashboard. dask[distributed] is in
the test extra (.ci/run installs it), so without it these tests fail rather
than skip.
"""

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_validate

import sklearn_jaxmlp
from sklearn_jaxmlp import JaxMLPClassifier

LOOPBACK = "127.0.0.1"

ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _listening():
    """The addresses this process listens on."""
    import psutil

    connections = psutil.Process().net_connections(kind="inet")
    return sorted(
        {conn.laddr.ip for conn in connections if conn.status == psutil.CONN_LISTEN}
    )


def _worker_state():
    """What a worker process reports about itself (runs on the worker)."""
    import psutil

    import sklearn_jaxmlp

    return {
        "command": " ".join(psutil.Process().cmdline()),
        "listening": _listening(),
        "package": sklearn_jaxmlp.__file__,
    }


@pytest.fixture(scope="module")
def client():
    """A Client of a two-process LocalCluster bound to 127.0.0.1."""
    try:
        import dask
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        pytest.fail(
            f"these tests need dask[distributed] ({exc}); it is in the test "
            "extra: python -m pip install '.[test]'"
        )

    # Workers must start a fresh interpreter: a fork of this process, where
    # JAX already runs its threads, can deadlock. Spawn is Dask's default;
    # say so, in case a user's Dask configuration says otherwise.
    config = {"distributed.worker.multiprocessing-method": "spawn"}
    with (
        dask.config.set(config),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(2, timeout=120)
        yield client


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def _small(**params):
    return JaxMLPClassifier(max_iter=15, random_state=0, **params)


def test_workers_are_fresh_processes_on_loopback(client):
    states = client.run(_worker_state)

    assert len(states) == 2
    for address, state in states.items():
        assert address.startswith(f"tcp://{LOOPBACK}:")
        # Started by multiprocessing's spawn, not forked from this process
        assert "from multiprocessing.spawn import spawn_main" in state["command"]
        assert state["listening"] == [LOOPBACK]
        assert state["package"] == sklearn_jaxmlp.__file__
    # The scheduler and the nannies run in this process
    assert client.scheduler_info()["address"].startswith(f"tcp://{LOOPBACK}:")
    assert _listening() == [LOOPBACK]


@ignore_convergence
def test_grid_search_on_dask_equals_one_process(client, digits):
    from dask.distributed import get_task_stream

    X, y = digits
    grid = {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-1]}

    here = GridSearchCV(_small(), grid, cv=3, n_jobs=1).fit(X, y)
    with get_task_stream(client) as tasks, joblib.parallel_config(backend="dask"):
        there = GridSearchCV(_small(), grid, cv=3).fit(X, y)

    workers = {task["worker"] for task in tasks.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])
    names = [name for name in here.cv_results_ if "time" not in name]
    assert names == [name for name in there.cv_results_ if "time" not in name]
    assert there.cv_results_["params"] == here.cv_results_["params"]
    for name in names:
        if name.startswith("param_"):
            assert list(there.cv_results_[name]) == list(here.cv_results_[name])
        elif name != "params":
            expected = here.cv_results_[name]
            np.testing.assert_array_equal(there.cv_results_[name], expected)
    assert there.best_params_ == here.best_params_
    assert there.best_score_ == here.best_score_


@ignore_convergence
def test_cross_validate_on_dask_equals_one_process(client, digits):
    X, y = digits
    kwargs = dict(cv=3, return_estimator=True, return_train_score=True)

    here = cross_validate(_small(hidden_layer_sizes=(8,)), X, y, n_jobs=1, **kwargs)
    with joblib.parallel_config(backend="dask"):
        there = cross_validate(_small(hidden_layer_sizes=(8,)), X, y, **kwargs)

    for name in ("test_score", "train_score"):
        np.testing.assert_array_equal(there[name], here[name])
    for ours, theirs in zip(here["estimator"], there["estimator"], strict=True):
        got = theirs.coefs_ + theirs.intercepts_
        for array, expected in zip(got, ours.coefs_ + ours.intercepts_, strict=True):
            np.testing.assert_array_equal(array, expected)
