"""The parity suite: the same scenarios on MLPClassifier and on ours."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from sklearn_jaxmlp import JaxMLPClassifier

_spec = importlib.util.spec_from_file_location(
    "parity", Path(__file__).parents[1] / "benchmarks" / "parity.py"
)
parity = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(parity)

SCENARIOS = {scenario.name: scenario for scenario in parity.scenarios()}
# How much lower our test accuracy may be than MLPClassifier's: the two
# start from different random weights, so single runs differ by chance.
ACCURACY_TOLERANCE = 0.04


def _public_fitted(estimator):
    return {k for k in vars(estimator) if k.endswith("_") and not k.startswith("_")}


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def outcomes(request):
    scenario = SCENARIOS[request.param]
    return (
        scenario,
        parity.run(scenario, JaxMLPClassifier),
        parity.run(scenario, MLPClassifier),
    )


def test_same_fitted_attributes(outcomes):
    _, ours, theirs = outcomes
    ours, theirs = ours.estimator, theirs.estimator
    extra = _public_fitted(ours) - _public_fitted(theirs)
    # What we add on purpose; MLPClassifier sets no curve for lbfgs
    allowed = {"validation_loss_curve_", "best_loss_", "loss_curve_"}
    allowed |= {"validation_scores_", "best_validation_score_"}
    assert _public_fitted(theirs) <= _public_fitted(ours)
    assert extra <= allowed
    if theirs.solver != "lbfgs":
        assert extra == {"validation_loss_curve_"}
    for name in ["n_layers_", "n_outputs_", "out_activation_", "n_features_in_"]:
        assert getattr(ours, name) == getattr(theirs, name), name
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert type(a) is type(b) is np.ndarray
        assert a.shape == b.shape
    for name in ["loss_", "n_iter_", "t_"]:
        assert type(getattr(ours, name)) in (int, float), name


def test_same_prediction_layout(outcomes):
    scenario, ours, theirs = outcomes
    X = scenario.X[:25]
    for method in ["predict", "predict_proba", "predict_log_proba"]:
        a = getattr(ours.estimator, method)(X)
        # MLPClassifier takes the log of probabilities that can round to 0
        with np.errstate(divide="ignore"):
            b = getattr(theirs.estimator, method)(X)
        assert a.shape == b.shape, method
        assert a.dtype.kind == b.dtype.kind, method
    proba = ours.estimator.predict_proba(X)
    if scenario.y.ndim == 1:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_accuracy_within_tolerance(outcomes):
    _, ours, theirs = outcomes
    assert ours.accuracy >= theirs.accuracy - ACCURACY_TOLERANCE
