"""A multilayer-perceptron classifier in JAX that is a scikit-learn estimator."""

from sklearn_jaxmlp._classifier import JaxMLPClassifier

__all__ = ["JaxMLPClassifier"]
__version__ = "0.1.0"
