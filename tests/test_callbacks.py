"""scikit-learn's callback API (sklearn.callback) on JaxMLPClassifier."""

import numpy as np
import pytest
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_jaxmlp import JaxMLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _small(**params):
    defaults = dict(
        hidden_layer_sizes=(8,),
        learning_rate_init=0.01,
        batch_size=32,
        max_iter=6,
        random_state=0,
    )
    return JaxMLPClassifier(**{**defaults, **params})


class StopAfter:
    """A minimal callback that asks to stop after ``n`` epochs."""

    def __init__(self, n):
        self.n = n
        self.ended = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if context.task_name == "epoch":
            self.ended.append(context.task_id)
            return len(self.ended) >= self.n
        return False


def test_scoring_monitor_scores_every_epoch(iris):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    clf = _small().set_callbacks(monitor).fit(X, y)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in rows] == list(range(clf.n_iter_))
    # The last epoch's score is the fitted model's
    assert rows[-1]["accuracy"] == pytest.approx(clf.score(X, y))
    assert rows[0]["accuracy"] < rows[-1]["accuracy"]


def test_lbfgs_reports_each_iteration(iris):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    clf = _small(solver="lbfgs", max_iter=15).set_callbacks(monitor).fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "lbfgs-iter"]
    assert len(rows) == clf.n_iter_
    assert rows[-1]["accuracy"] == pytest.approx(clf.score(X, y))


def test_progress_bar_changes_nothing_in_the_model(iris, capsys):
    X, y = iris
    plain = _small().fit(X, y)
    shown = _small().set_callbacks(ProgressBar()).fit(X, y)
    for a, b in zip(plain.coefs_, shown.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_callback_can_stop_training(iris):
    X, y = iris
    stopper = StopAfter(3)
    clf = _small(max_iter=50).set_callbacks(stopper).fit(X, y)
    assert clf.n_iter_ == 3
    assert stopper.ended == [0, 1, 2]


def test_callbacks_inside_a_pipeline(iris):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", _small())])
    pipe[-1].set_callbacks(monitor)
    pipe.set_callbacks(ProgressBar(max_propagation_depth=None))
    pipe.fit(X * 10, y)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert len(rows) == pipe[-1].n_iter_


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_callbacks_under_grid_search(iris, n_jobs):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    grid = GridSearchCV(
        _small(max_iter=4).set_callbacks(monitor),
        {"alpha": [1e-4, 1e-1]},
        cv=2,
        n_jobs=n_jobs,
    )
    grid.set_callbacks(ProgressBar(max_propagation_depth=None))
    grid.fit(X, y)
    epochs = [
        row
        for log in monitor.get_logs(select="all")
        for row in log.data
        if row["task_name"] == "epoch"
    ]
    # Two candidates times two folds, then the refit: 5 fits of 4 epochs
    assert len(epochs) == 5 * 4
