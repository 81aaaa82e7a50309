"""The same scenarios on MLPClassifier and on JaxMLPClassifier, side by side.

Each scenario fits both estimators with identical parameters on a training
split and scores them on a held-out split. ``tests/test_parity.py`` runs
the scenarios and checks the fitted attributes and the accuracy; run this
file to print the table of accuracy, epochs and seconds:

    python benchmarks/parity.py
"""

import argparse
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from sklearn_jaxmlp import JaxMLPClassifier


@dataclass
class Scenario:
    name: str
    X: object
    y: np.ndarray
    params: dict = field(default_factory=dict)
    sample_weight: np.ndarray | None = None


def _scaled(X):
    return StandardScaler().fit_transform(X)


def scenarios():
    """The parity scenarios, each a data set and the estimator parameters."""
    iris_X, iris_y = load_iris(return_X_y=True)
    digits_X, digits_y = load_digits(return_X_y=True)
    cancer_X, cancer_y = load_breast_cancer(return_X_y=True)
    multi_X, multi_Y = make_multilabel_classification(
        n_samples=600, n_features=20, n_classes=5, random_state=0
    )
    names = np.array(["setosa", "versicolor", "virginica"])
    weights = np.where(cancer_y == 0, 2.0, 1.0)
    return [
        Scenario("iris", _scaled(iris_X), iris_y, {"max_iter": 500}),
        Scenario("digits", digits_X / 16, digits_y),
        Scenario("breast_cancer", _scaled(cancer_X), cancer_y),
        Scenario("multilabel", _scaled(multi_X), multi_Y),
        Scenario("sparse digits (CSR)", sp.csr_matrix(digits_X / 16), digits_y),
        Scenario("string labels", _scaled(iris_X), names[iris_y], {"max_iter": 500}),
        Scenario("sample weights", _scaled(cancer_X), cancer_y, sample_weight=weights),
        Scenario(
            "sgd, adaptive",
            digits_X / 16,
            digits_y,
            {"solver": "sgd", "learning_rate": "adaptive"},
        ),
        Scenario("lbfgs", _scaled(cancer_X), cancer_y, {"solver": "lbfgs"}),
        Scenario("early stopping", digits_X / 16, digits_y, {"early_stopping": True}),
    ]


@dataclass
class Outcome:
    estimator: object
    accuracy: float
    seconds: float


def run(scenario, estimator_class):
    """Fit on 75% of the data, score on the rest; return an :class:`Outcome`."""
    stratify = scenario.y if scenario.y.ndim == 1 else None
    split = train_test_split(
        scenario.X,
        scenario.y,
        np.ones(scenario.y.shape[0])
        if scenario.sample_weight is None
        else scenario.sample_weight,
        random_state=0,
        stratify=stratify,
    )
    X_train, X_test, y_train, y_test, w_train, _ = split
    params = {"hidden_layer_sizes": (50,), "random_state": 0, **scenario.params}
    estimator = estimator_class(**params)
    kwargs = {} if scenario.sample_weight is None else {"sample_weight": w_train}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X_train, y_train, **kwargs)
    seconds = time.perf_counter() - start
    return Outcome(estimator, estimator.score(X_test, y_test), seconds)


def main():
    print(
        "| scenario | JaxMLPClassifier accuracy | MLPClassifier accuracy |"
        " epochs (ours / theirs) | seconds (ours / theirs) |"
    )
    print("|---|---|---|---|---|")
    for scenario in scenarios():
        # The first fit of an architecture compiles; time a second one
        run(scenario, JaxMLPClassifier)
        ours = run(scenario, JaxMLPClassifier)
        theirs = run(scenario, MLPClassifier)
        print(
            f"| {scenario.name} | {ours.accuracy:.3f} | {theirs.accuracy:.3f} | "
            f"{ours.estimator.n_iter_} / {theirs.estimator.n_iter_} | "
            f"{ours.seconds:.2f} / {theirs.seconds:.2f} |"
        )


if __name__ == "__main__":
    argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Prints a Markdown table; takes about a minute on 2 cores.",
    ).parse_args()
    main()
