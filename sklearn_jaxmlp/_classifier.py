"""JaxMLPClassifier: the scikit-learn estimator around the compiled core."""

import time
import warnings
from numbers import Integral, Real

import jax
import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_jaxmlp import _training
from sklearn_jaxmlp._sklearn_compat import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

_FLOAT32_MAX = float(np.finfo(np.float32).max)


class JaxMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multilayer-perceptron classifier trained by compiled JAX programs.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the same
    parameters, defaults and fitted attributes, trained with the same
    stochastic solvers. Each training epoch (shuffling, every minibatch and
    every update) runs as one compiled XLA program, on the CPU or on any
    accelerator JAX sees.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The number of neurons of each hidden layer. An empty tuple gives a
        network without hidden layers (logistic regression).

    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers.

    solver : {"sgd", "adam"}, default="adam"
        The weight optimisation method: stochastic gradient descent with
        momentum, or Adam.

    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights, added to the loss of
        every minibatch as ``alpha / 2 * ||W||^2 / batch_size``.

    batch_size : int or "auto", default="auto"
        Size of the minibatches: ``"auto"`` is ``min(200, n_samples)``. A
        value of at least ``n_samples`` is full-batch gradient descent (a
        larger value is clipped to ``n_samples`` with a warning).

    learning_rate_init : float, default=0.001
        The step size of the weight updates.

    max_iter : int, default=200
        Maximum number of epochs (passes over all samples).

    shuffle : bool, default=True
        Whether to shuffle the samples at every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation and the shuffling. An int gives
        the same model, bit for bit, on the same machine.

    tol : float, default=1e-4
        Training stops once the loss has not improved by at least ``tol``
        for ``n_iter_no_change`` consecutive epochs.

    verbose : bool or int, default=False
        Print one line per epoch with the loss; from 2 on, also the
        seconds elapsed since ``fit`` started.

    warm_start : bool, default=False
        Start from the previous fit's weights instead of new ones. Each
        call runs at most ``max_iter`` more epochs.

    momentum : float, default=0.9
        Momentum of the gradient descent, in [0, 1]. Only used when
        ``solver="sgd"``.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum. Only used when
        ``solver="sgd"`` and ``momentum > 0``.

    beta_1 : float, default=0.9
        Decay rate of Adam's first-moment estimate, in [0, 1). Only used
        when ``solver="adam"``.

    beta_2 : float, default=0.999
        Decay rate of Adam's second-moment estimate, in [0, 1). Only used
        when ``solver="adam"``.

    epsilon : float, default=1e-8
        Adam's numerical-stability term. Only used when ``solver="adam"``.

    n_iter_no_change : int or np.inf, default=10
        Number of epochs without an improvement of ``tol`` before training
        stops.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.

    loss_ : float
        The loss of the last epoch: mean cross-entropy plus the L2 term.

    best_loss_ : float
        The lowest epoch loss reached.

    loss_curve_ : list of shape (n_epochs,)
        The loss of every epoch, across warm-started calls.

    t_ : int
        The number of training samples seen, counted once per epoch.

    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        The weight matrix of each layer, as writeable NumPy arrays.

    intercepts_ : list of ndarray of shape (n_fan_out,)
        The bias vector of each layer.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names (a pandas DataFrame, for one).

    n_iter_ : int
        The number of epochs the latest call ran.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs: 1 for binary targets, else ``n_classes``.

    out_activation_ : str
        The output activation: "logistic" for binary targets, else
        "softmax".

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The NumPy estimator this one
        replaces.

    Notes
    -----
    Training and prediction compute in float32, whatever the dtype of
    ``X``; the fitted weights are float32 arrays. Probabilities are formed
    from the float32 logits in float64, so rows sum to one and log
    probabilities never pass through a rounded probability. Rows whose
    float32 logits overflow (inputs around 1e30, say) are recomputed in
    float64.

    Weights are drawn from N(0, 1) / sqrt(fan_in) with zero biases, where
    MLPClassifier draws Glorot-uniform weights and biases; the loss is the
    exact cross-entropy of the logits, where MLPClassifier clips
    probabilities to machine epsilon first.

    Compiled programs are cached for the whole process. Training rows are
    padded to the next power of two (at least 256), so fitting the same
    architecture and batch size again on any number of samples within that
    bucket (cross-validation folds, for one) compiles nothing new; so does
    predicting on any number of rows.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_jaxmlp import JaxMLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = JaxMLPClassifier(hidden_layer_sizes=(16,), max_iter=300,
    ...                        random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate_init=0.001,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    def fit(self, X, y):
        """Fit the model to data matrix X and target y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,)
            The class labels.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_atomically(X, y, incremental=False, classes=None)

    def partial_fit(self, X, y, classes=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,)
            The class labels.

        classes : array-like of shape (n_classes,), default=None
            Every class of the whole data set. Required on the first call;
            a batch need not contain all of them.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_atomically(X, y, incremental=True, classes=classes)

    def predict(self, X):
        """Predict the class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The predicted classes, taken from ``classes_``.
        """
        logits = self._logits(X)
        if self.n_outputs_ == 1:
            indices = (logits[:, 0] > 0).astype(np.intp)
        else:
            indices = np.argmax(logits, axis=1)
        return self.classes_[indices]

    def predict_proba(self, X):
        """Probability of each class for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities in the order of ``classes_``; each row
            sums to one.
        """
        logits = self._logits(X)
        if self.n_outputs_ == 1:
            return np.hstack([expit(-logits), expit(logits)])
        return softmax(logits, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of the probability of each class for each sample.

        Computed from the logits directly, so that a probability too small
        to represent still has a finite logarithm.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        logits = self._logits(X)
        if self.n_outputs_ == 1:
            return np.hstack([log_expit(-logits), log_expit(logits)])
        return log_softmax(logits, axis=1)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    # Training

    def _fit_atomically(self, X, y, *, incremental, classes):
        """Run ``_fit``; on any error, leave the estimator as it was."""
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        before = self.__dict__.copy()
        start = time.perf_counter()
        try:
            return self._fit(
                X, y, incremental=incremental, classes=classes, start=start
            )
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(self, X, y, *, incremental, classes, start):
        hidden = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        fitted = self.__sklearn_is_fitted__()
        first_pass = not fitted or not (self.warm_start or incremental)

        X, y = validate_data(
            self, X, y, dtype=(np.float64, np.float32), reset=first_pass
        )
        _check_float32_range(X)
        check_classification_targets(y)
        if incremental:
            self._check_partial_fit_classes(classes, y, first_pass)
        if first_pass:
            self.classes_ = _training_classes(y, classes)
        elif self.warm_start and not incremental:
            self._check_warm_start_classes(y)
        y_onehot = self._encode(y)

        n_samples = X.shape[0]
        n_outputs = y_onehot.shape[1]
        layer_sizes = (X.shape[1], *hidden, n_outputs)
        key = _key_from(self.random_state)
        init_key, shuffle_key = jax.random.split(key)

        if first_pass:
            self.n_outputs_ = n_outputs
            self.n_layers_ = len(layer_sizes)
            self.out_activation_ = "logistic" if n_outputs == 1 else "softmax"
            params = _training.new_params(init_key, layer_sizes)
            self.t_ = 0
            self.loss_curve_ = []
            self.best_loss_ = np.inf
            self._no_improvement_count = 0
        else:
            self._check_architecture(layer_sizes)
            params = _training.params_to_device(self.coefs_, self.intercepts_)
            # A copy, so that a failed fit leaves the previous curve intact
            self.loss_curve_ = list(self.loss_curve_)

        # partial_fit carries the optimizer's state on; fit starts it anew
        opt_state = getattr(self, "_optimizer_state", None)
        if not (
            incremental
            and not first_pass
            and _training.is_state_of(self.solver, opt_state)
        ):
            opt_state = _training.optimizer_init(self.solver, params)

        batch_size = self._batch_size(n_samples)
        full_batch = batch_size >= n_samples
        config = _training.EpochConfig(
            activation=self.activation,
            out_activation=self.out_activation_,
            solver=self.solver,
            nesterov=bool(self.nesterovs_momentum),
            batch_size=0 if full_batch else batch_size,
            full_batch=full_batch,
            shuffle=bool(self.shuffle) and not full_batch,
        )
        hyper = _training.hyperparams(
            self.solver,
            self.learning_rate_init,
            self.momentum,
            self.beta_1,
            self.beta_2,
            self.epsilon,
        )
        alpha = np.float32(self.alpha)
        sample_weight = np.ones(n_samples, np.float32)
        data = _training.place_training_data(X, y_onehot, sample_weight)

        self._run_epochs(
            params,
            opt_state,
            data,
            shuffle_key,
            alpha,
            hyper,
            config,
            incremental,
            start,
        )
        return self

    def _run_epochs(
        self,
        params,
        opt_state,
        data,
        shuffle_key,
        alpha,
        hyper,
        config,
        incremental,
        start,
    ):
        """The per-epoch loop: one compiled call, then bookkeeping in Python."""
        n_samples = int(data.n_samples)
        self.n_iter_ = 0
        try:
            for epoch in range(1 if incremental else self.max_iter):
                epoch_key = jax.random.fold_in(shuffle_key, epoch)
                result = _training.run_epoch(
                    params, opt_state, data, epoch_key, alpha, hyper, config
                )
                loss, finite = jax.device_get(result[2:])
                if not finite:
                    raise ValueError(
                        f"Training diverged at epoch {self.n_iter_ + 1}: the loss "
                        f"or the weights became non-finite (loss={float(loss)}). "
                        "Try a lower learning_rate_init (currently "
                        f"{self.learning_rate_init}) or scale the inputs, for "
                        "example with sklearn.preprocessing.StandardScaler."
                    )
                params, opt_state = result[:2]
                self._record_epoch(float(loss), n_samples, start)

                if self._no_improvement_count > self.n_iter_no_change:
                    if self.verbose:
                        print(
                            "Training loss did not improve more than "
                            f"tol={self.tol:g} for {self.n_iter_no_change} "
                            "consecutive epochs. Stopping."
                        )
                    break
                if not incremental and self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations "
                        f"({self.max_iter}) reached and the optimization "
                        "hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=5,
                    )
        except KeyboardInterrupt:
            if self.n_iter_ == 0 and not self.loss_curve_:
                # Nothing learned yet: let the interrupt through, and the
                # estimator return to its state before this call
                raise
            warnings.warn(
                "Training interrupted by user; keeping the weights of the last "
                f"finished epoch ({self.n_iter_} in this call).",
                UserWarning,
                stacklevel=5,
            )

        # Fitted state as plain NumPy: nothing compiled or on a device stays
        self.coefs_, self.intercepts_ = _training.params_to_numpy(params)
        self._optimizer_state = jax.tree.map(np.asarray, opt_state)

    def _record_epoch(self, loss, n_samples, start):
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if loss > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        self.best_loss_ = min(self.best_loss_, loss)
        if self.verbose:
            line = f"Iteration {self.n_iter_}, loss = {loss:.8f}"
            if self.verbose >= 2:
                line += f" ({time.perf_counter() - start:.2f} s)"
            print(line, flush=True)

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the number of "
                f"samples ({n_samples}); it is clipped to {n_samples} "
                "(full-batch gradient descent).",
                UserWarning,
                stacklevel=5,
            )
            return n_samples
        return self.batch_size

    def _check_partial_fit_classes(self, classes, y, first_pass):
        if classes is None:
            if first_pass:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
            return
        classes = np.unique(np.asarray(classes))
        if not first_pass and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"classes={classes.tolist()} is not the same as on the first "
                f"call to partial_fit, which gave {self.classes_.tolist()}."
            )

    def _check_warm_start_classes(self, y):
        classes = np.unique(y)
        if not np.array_equal(classes, self.classes_):
            raise ValueError(
                "warm_start needs y to have the same classes as the previous "
                f"fit: it had {self.classes_.tolist()}, y has {classes.tolist()}."
            )

    def _encode(self, y):
        """One-hot targets for the fitted classes (one column if binary)."""
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y has labels {unknown.tolist()} that are not among the "
                f"classes seen in the first fit, {self.classes_.tolist()}."
            )
        indices = np.searchsorted(self.classes_, y)
        if self.classes_.size == 2:
            return (indices == 1).astype(np.float32)[:, None]
        onehot = np.zeros((y.shape[0], self.classes_.size), np.float32)
        onehot[np.arange(y.shape[0]), indices] = 1
        return onehot

    def _check_architecture(self, layer_sizes):
        fitted = tuple(w.shape[0] for w in self.coefs_) + (self.n_outputs_,)
        if fitted != tuple(layer_sizes):
            raise ValueError(
                f"warm_start needs the same layer sizes as the fitted model: "
                f"it has {list(fitted)}, the parameters and data ask for "
                f"{list(layer_sizes)}. Set warm_start=False to train anew."
            )

    # Prediction

    def _logits(self, X):
        """Float64 logits of X, computed on the device in float32."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        params = _training.params_to_device(self.coefs_, self.intercepts_)
        layer_sizes = [w.shape[0] for w in self.coefs_] + [self.n_outputs_]
        chunk_rows = _training.chunk_rows_for(layer_sizes)
        with warnings.catch_warnings():
            # Values beyond float32's range become inf here; handled below
            warnings.simplefilter("ignore", RuntimeWarning)
            x32 = X.astype(np.float32, copy=False)
        logits = _training.predict_logits(
            params, x32, self.activation, chunk_rows
        ).astype(np.float64)

        # Rows that overflowed float32 are recomputed in float64
        overflow = ~np.isfinite(logits).all(axis=1)
        if overflow.any():
            logits[overflow] = self._logits_float64(X[overflow])
        return logits

    def _logits_float64(self, X):
        a = np.asarray(X, np.float64)
        activation = _NUMPY_ACTIVATIONS[self.activation]
        with np.errstate(over="ignore", invalid="ignore"):
            for layer, (w, b) in enumerate(
                zip(self.coefs_, self.intercepts_, strict=True)
            ):
                a = a @ w.astype(np.float64) + b
                if layer < len(self.coefs_) - 1:
                    a = activation(a)
        if not np.isfinite(a).all():
            raise ValueError(
                "X has values so large that the network's outputs overflow "
                "even in float64 (largest absolute value in X: "
                f"{np.max(np.abs(X)):.3g}). Scale the inputs, for example with "
                "sklearn.preprocessing.StandardScaler."
            )
        return a

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


_NUMPY_ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": expit,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
}


def _check_hidden_layer_sizes(hidden_layer_sizes):
    sizes = np.atleast_1d(np.asarray(hidden_layer_sizes)).tolist()
    if not all(isinstance(s, Integral) and s > 0 for s in sizes):
        raise ValueError(
            "hidden_layer_sizes must hold positive integers, got "
            f"{hidden_layer_sizes!r}."
        )
    return tuple(int(s) for s in sizes)


def _check_float32_range(X):
    largest = np.max(np.abs(X)) if X.size else 0.0
    if largest > _FLOAT32_MAX:
        raise ValueError(
            f"X has values beyond float32's range (largest absolute value "
            f"{largest:.3g}); JaxMLPClassifier trains in float32. Scale the "
            "inputs, for example with sklearn.preprocessing.StandardScaler."
        )


def _training_classes(y, classes):
    """Sorted classes of a first fit; at least two are needed."""
    target_type = type_of_target(y, input_name="y")
    if target_type not in ("binary", "multiclass"):
        raise ValueError(
            f"JaxMLPClassifier supports binary and multiclass targets; "
            f"y is {target_type}."
        )
    labels = np.unique(y if classes is None else np.asarray(classes))
    if labels.size < 2:
        raise ValueError(
            f"JaxMLPClassifier needs samples of at least 2 classes; got 1 "
            f"class: {labels.tolist()[0]!r}."
        )
    return labels


def _key_from(random_state):
    """One JAX key from ``random_state``, leaving NumPy's global state alone."""
    if random_state is None:
        seed = np.random.SeedSequence().generate_state(1)[0]
    elif isinstance(random_state, Integral):
        seed = random_state
    else:
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return jax.random.key(int(seed))
