"""scikit-learn's estimator checks, every one of them."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_jaxmlp import JaxMLPClassifier


# The checks fit random data with the default max_iter, which warns that the
# optimization has not converged: expected here, and nothing else is ignored.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([JaxMLPClassifier()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
