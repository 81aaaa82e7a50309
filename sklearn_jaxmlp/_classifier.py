"""JaxMLPClassifier: the scikit-learn estimator around the compiled core."""

import contextlib
import copy
import math
import time
import warnings
from numbers import Integral, Real

import jax
import numpy as np
import scipy.optimize
import scipy.sparse as sp
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.callback import CallbackSupportMixin, with_callbacks
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from sklearn_jaxmlp import _devices, _training
from sklearn_jaxmlp._network import LEAKY_RELU_SLOPE
from sklearn_jaxmlp._sklearn_compat import (
    Interval,
    Options,
    StrOptions,
    check_sample_weight,
    validate_parameter_constraints,
)

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_STOCHASTIC_SOLVERS = ("sgd", "adam")
_CALLBACK_STATE = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")


def _is_stochastic(estimator):
    if estimator.solver not in _STOCHASTIC_SOLVERS:
        raise AttributeError(
            "partial_fit is only available for the stochastic solvers ('sgd', "
            f"'adam'); this estimator has solver={estimator.solver!r}."
        )
    return True


class JaxMLPClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Multilayer-perceptron classifier trained by compiled JAX programs.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the same
    parameters, defaults and fitted attributes, trained with the same
    solvers. Each training epoch (shuffling, every minibatch and every
    update) runs as one compiled XLA program, on the CPU or on any
    accelerator JAX sees. Beyond MLPClassifier it takes ``class_weight``,
    the ``"leaky_relu"`` and ``"gelu"`` activations, an explicit validation
    set in ``fit``, and scikit-learn's callbacks.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The number of neurons of each hidden layer. An empty tuple gives a
        network without hidden layers (logistic regression).

    activation : {"identity", "logistic", "tanh", "relu", "leaky_relu", \
            "gelu"}, default="relu"
        Activation of the hidden layers. ``"leaky_relu"`` is
        ``max(z, 0.01 z)``; ``"gelu"`` is the exact ``z * Phi(z)``, with
        ``Phi`` the standard normal distribution function.

    solver : {"lbfgs", "sgd", "adam"}, default="adam"
        The weight optimisation method: L-BFGS on the full batch (through
        :func:`scipy.optimize.minimize`), stochastic gradient descent with
        momentum, or Adam.

    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights, added to the loss of
        every minibatch as ``alpha / 2 * ||W||^2 / batch_weight``.

    batch_size : int or "auto", default="auto"
        Size of the minibatches: ``"auto"`` is ``min(200, n_samples)``. A
        value of at least ``n_samples`` is full-batch gradient descent (a
        larger value is clipped to ``n_samples`` with a warning). Not used
        by ``solver="lbfgs"``.

    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Learning-rate schedule of ``solver="sgd"``: constant;
        ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch; or
        divided by 5 whenever ``n_iter_no_change`` epochs pass without an
        improvement of ``tol``, until it falls below 1e-6.

    learning_rate_init : float, default=0.001
        The initial step size. Only used by ``solver="sgd"`` and ``"adam"``.

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule. Only used when
        ``solver="sgd"``.

    max_iter : int, default=200
        Maximum number of epochs (passes over all samples), or of L-BFGS
        iterations.

    shuffle : bool, default=True
        Whether to shuffle the samples at every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the shuffling and the validation
        split. An int gives the same model, bit for bit, on the same
        machine.

    tol : float, default=1e-4
        Training stops once the loss (or the validation score, with early
        stopping) has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. For L-BFGS, the tolerance
        on the projected gradient.

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

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified
        by class) and stop when its accuracy has not improved by ``tol``
        for ``n_iter_no_change`` epochs; the best weights are kept. Only
        used by ``solver="sgd"`` and ``"adam"``.

    validation_fraction : float, default=0.1
        The share of training data held out for early stopping, in [0, 1).

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
        stops. Only used by ``solver="sgd"`` and ``"adam"``.

    max_fun : int, default=15000
        Maximum number of loss evaluations. Only used when
        ``solver="lbfgs"``.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``:
        ``{label: weight}``, or ``"balanced"`` for
        ``n_samples / (n_classes * np.bincount(y))``. Not available for
        multilabel targets, nor "balanced" for ``partial_fit``.

    device : None, str or jax.Device, default=None
        Where training and prediction run: None for JAX's default device;
        a platform name (``"cpu"``, ``"gpu"``, ``"tpu"``) for its first
        device, or with an index among this process's devices of that
        platform (``"gpu:1"``); or a ``jax.Device``. A string is the
        portable choice: pickling stores a ``jax.Device`` as the string
        naming it, and a loaded model whose device the machine lacks
        raises an error until ``set_params(device=None)``.

    data_parallel : bool or int, default=False
        Train one model on several devices of the platform of ``device``:
        True for all of them, an int for that many (1 is the same as
        False). Parameters and optimizer state are copied to every device
        and each minibatch is split between them, its gradient sums added
        across devices before each update, so the model is the one a
        single device trains, up to float32 rounding. Each device holds a
        copy of the training set for minibatches, a block of its rows for
        full-batch training and L-BFGS. Sparse ``X`` must be small enough
        to go to the devices dense (64 MiB). Prediction runs on one
        device, whatever this value.

        With several JAX processes (after ``jax.distributed.initialize``),
        True trains one model on the devices of every process: each
        process calls ``fit`` with its own rows, and the model is the one
        a single process would fit on the rows of all, concatenated in
        process order. ``device`` must then be None or a platform name.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted; ``arange(n_labels)`` for multilabel
        targets.

    loss_ : float
        The loss of the last epoch: mean cross-entropy plus the L2 term.

    best_loss_ : float or None
        The lowest epoch loss reached; None with early stopping or L-BFGS.

    loss_curve_ : list of shape (n_epochs,)
        The loss of every epoch (every L-BFGS iteration), across
        warm-started calls.

    validation_scores_ : list of shape (n_epochs,) or None
        The accuracy on the validation set after every epoch, when a
        validation set is used; else None.

    validation_loss_curve_ : list of shape (n_epochs,) or None
        The weighted mean cross-entropy on the validation set after every
        epoch (without the L2 term), when a validation set is used; else
        None.

    best_validation_score_ : float or None
        The best of ``validation_scores_``; None without a validation set.

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
        The number of epochs (L-BFGS iterations) the latest call ran.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs: 1 for binary targets, else ``n_classes``.

    out_activation_ : str
        "softmax" for multiclass targets, else "logistic".

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

    With full-batch training (``batch_size >= n_samples`` or L-BFGS),
    equal rows are merged and their weights added before training, so a
    weight of k and k copies of a row give the same model bit for bit, and
    a weight of zero equals dropping the row. With minibatches the two are
    equal in expectation only, since the batches differ.

    Compiled programs are cached for the whole process. Training rows are
    padded to the next power of two (at least 256), so fitting the same
    architecture and batch size again on any number of samples within that
    bucket (cross-validation folds, for one) compiles nothing new; so does
    predicting on any number of rows. Sparse input stays on the host and is
    made dense one minibatch at a time.

    With ``data_parallel``, the devices of the mesh run one compiled
    epoch together; the sums of each minibatch are added across devices
    before every update (by ``jax.lax.psum``), so the result differs from a
    single device's only by the order of float32 additions. On devices that
    share a CPU's cores this is slower than one device: it pays off when
    the devices are separate accelerators and the batches are large.

    Across JAX processes, ``fit`` first gathers every process's rows (and
    validation set) into each process, so that labels, class weights,
    duplicate merging, the validation split and the shuffles are the same
    everywhere; every process therefore needs the memory of the whole
    training set, and every process must call ``fit`` alike, with an int
    ``random_state`` (None is replaced by process 0's draw). Prediction
    stays local to each process.

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
        "activation": [
            StrOptions({"identity", "logistic", "tanh", "relu", "leaky_relu", "gelu"})
        ],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "device": [None, str, jax.Device],
        "data_parallel": ["boolean", Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        class_weight=None,
        device=None,
        data_parallel=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.device = device
        self.data_parallel = data_parallel

    @with_callbacks
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Fit the model to data matrix X and target y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            The class labels, or a multilabel indicator matrix.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples; the loss is their
            weighted mean.

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            A validation set for early stopping, used instead of holding out
            ``validation_fraction`` of ``X``. Needs ``early_stopping=True``.
            In a :class:`~sklearn.pipeline.Pipeline`, it is transformed like
            ``X`` with ``Pipeline(..., transform_input=["X_val"])``.

        y_val : array-like of shape (n_val,) or (n_val, n_labels), default=None
            The targets of ``X_val``.

        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        validation = (X_val, y_val, sample_weight_val)
        return self._fit_atomically(
            X, y, sample_weight, validation=validation, incremental=False
        )

    @available_if(_is_stochastic)
    @with_callbacks
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            The class labels, or a multilabel indicator matrix.

        classes : array-like of shape (n_classes,), default=None
            Every class of the whole data set. Required on the first call
            (except for multilabel targets); a batch need not contain all
            of them.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_atomically(
            X, y, sample_weight, classes=classes, incremental=True
        )

    def predict(self, X):
        """Predict the class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The predicted classes, taken from ``classes_``; for multilabel
            targets, the indicator matrix of the predicted labels.
        """
        logits = self._logits(X)
        if self._multilabel:
            return (logits > 0).astype(np.int64)
        if self.n_outputs_ == 1:
            indices = (logits[:, 0] > 0).astype(np.intp)
        else:
            indices = np.argmax(logits, axis=1)
        return self.classes_[indices]

    def predict_proba(self, X):
        """Probability of each class for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities in the order of ``classes_``; each row
            sums to one. For multilabel targets, the probability of each
            label, independently.
        """
        logits = self._logits(X)
        if self._multilabel:
            return expit(logits)
        if self.n_outputs_ == 1:
            return np.hstack([expit(-logits), expit(logits)])
        return softmax(logits, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of the probability of each class for each sample.

        Computed from the logits directly, so that a probability too small
        to represent still has a finite logarithm.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        logits = self._logits(X)
        if self._multilabel:
            return log_expit(logits)
        if self.n_outputs_ == 1:
            return np.hstack([log_expit(-logits), log_expit(logits)])
        return log_softmax(logits, axis=1)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    def __sklearn_clone__(self):
        # A jax.Device can be neither copied nor pickled; it stands for the
        # same hardware in every estimator of the process, so clones share it
        if not isinstance(getattr(self, "device", None), jax.Device):
            return super().__sklearn_clone__()
        stand_in = copy.copy(self)
        stand_in.device = None
        clone = stand_in.__sklearn_clone__()
        clone.device = self.device
        return clone

    def __getstate__(self):
        state = super().__getstate__()
        device = state.get("device")
        if isinstance(device, jax.Device):
            # The same device by name ("gpu:1"), which needs no JAX to load
            state = dict(state, device=_devices.portable_name(device))
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags

    @property
    def _multilabel(self):
        return getattr(self, "_target_type", None) == "multilabel-indicator"

    # Training

    def _fit_atomically(
        self, X, y, sample_weight, *, incremental, classes=None, validation=None
    ):
        """Run ``_fit``; on any error, leave the estimator as it was."""
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        self._check_float32_parameters()
        devices = _devices.training_devices(self.device, self.data_parallel)
        before = self.__dict__.copy()
        start = time.perf_counter()
        try:
            with _default_device(_devices.home_device(devices)):
                return self._fit(
                    X,
                    y,
                    sample_weight,
                    incremental=incremental,
                    classes=classes,
                    validation=validation,
                    start=start,
                    mesh=_devices.data_mesh(devices),
                )
        except (jax.errors.JaxRuntimeError, MemoryError) as error:
            self._restore(before)
            if not isinstance(error, MemoryError) and (
                "RESOURCE_EXHAUSTED" not in str(error)
            ):
                raise
            raise MemoryError(
                "The network does not fit in memory (hidden_layer_sizes="
                f"{self.hidden_layer_sizes!r}): {error}"
            ) from error
        except BaseException:
            self._restore(before)
            raise

    def _restore(self, before):
        """Go back to the state ``before`` a failed fit."""
        # with_callbacks still needs what it tears the callbacks down with
        teardown = {k: self.__dict__[k] for k in _CALLBACK_STATE if k in vars(self)}
        self.__dict__.clear()
        self.__dict__.update(before, **teardown)

    def _check_float32_parameters(self):
        """Refuse values that the float32 arithmetic would turn into others.

        A beta of 0.99999999 is valid in float64 but rounds to 1.0 in
        float32, where it would stop Adam's updates silently.
        """
        checks = [
            ("alpha", self.alpha, lambda v: np.isfinite(v), "a finite float32"),
            ("beta_1", self.beta_1, lambda v: v < 1, "below 1 in float32"),
            ("beta_2", self.beta_2, lambda v: v < 1, "below 1 in float32"),
            ("epsilon", self.epsilon, lambda v: v > 0, "above 0 in float32"),
            (
                "learning_rate_init",
                self.learning_rate_init,
                lambda v: 0 < v < np.inf,
                "positive and finite in float32",
            ),
        ]
        for name, value, ok, expected in checks:
            with np.errstate(over="ignore", under="ignore"):
                rounded = np.float32(value)
            if not ok(rounded):
                raise ValueError(
                    f"{name}={value!r} becomes {rounded.item()!r} in float32, the "
                    f"precision JaxMLPClassifier trains in; it must stay {expected}."
                )

    def _fit(
        self, X, y, sample_weight, *, incremental, classes, validation, start, mesh
    ):
        hidden = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        first_pass = not self.__sklearn_is_fitted__() or not (
            self.warm_start or incremental
        )
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True; fit it with "
                "early_stopping=False, or use fit."
            )

        _check_numeric(X, "X")
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            multi_output=True,
            reset=first_pass,
        )
        y = _dense_target(y)
        together = _devices.spans_processes(mesh)
        if together:
            # One model for several processes: each passed its own rows
            sample_weight = check_sample_weight(sample_weight, X)
            X, y, sample_weight = _devices.gather_rows(X, y, sample_weight)
        _check_float32_range(X)
        self._set_classes(y, classes, first_pass, incremental)
        targets = self._encode(y)
        sample_weight = check_sample_weight(sample_weight, X)
        sample_weight = sample_weight * self._class_weights(y, incremental)
        _check_weights(sample_weight, "sample_weight")

        seed = _seed_from(self.random_state, agree=together)
        train, val = self._validation_split(
            X, targets, sample_weight, validation, seed, gather=together
        )

        layer_sizes = (X.shape[1], *hidden, targets.shape[1])
        if first_pass:
            self._initialize(layer_sizes)
            params = _training.new_params(seed, layer_sizes)
        else:
            self._check_fitted_shapes()
            if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
                raise ValueError(
                    "The fitted weights (coefs_, intercepts_) hold NaN or "
                    "infinity; fit the model anew (warm_start=False)."
                )
            self._check_architecture(layer_sizes, incremental)
            params = tuple(zip(self.coefs_, self.intercepts_, strict=True))
            # Copies, so that a failed fit leaves the previous lists intact
            for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
                value = getattr(self, name, None)
                setattr(self, name, None if value is None else list(value))

        context = self._init_callback_context(
            max_subtasks=1 if incremental else self.max_iter
        )
        metadata = {"sample_weight": sample_weight}
        context.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)

        if self.solver == "lbfgs":
            params = self._fit_lbfgs(params, train, layer_sizes, context, start, mesh)
        else:
            params = self._fit_stochastic(
                params, train, val, seed, incremental, context, start, mesh
            )

        self.coefs_, self.intercepts_ = _training.params_to_numpy(params, layer_sizes)
        context.call_on_fit_task_end(
            estimator=self, X=X, y=y, metadata=metadata, reconstruction_attributes={}
        )
        return self

    def _initialize(self, layer_sizes):
        n_outputs = layer_sizes[-1]
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(layer_sizes)
        multiclass = n_outputs > 1 and not self._multilabel
        self.out_activation_ = "softmax" if multiclass else "logistic"
        self.t_ = 0
        self.loss_curve_ = []
        self.best_loss_ = None
        self.validation_scores_ = None
        self.validation_loss_curve_ = None
        self.best_validation_score_ = None
        self._no_improvement_count = 0
        self.__dict__.pop("_optimizer_state", None)
        self.__dict__.pop("_best_params", None)

    # Targets and weights

    def _set_classes(self, y, classes, first_pass, incremental):
        """Set ``classes_`` on a first fit; check ``y`` against them later."""
        check_classification_targets(y)
        if classes is not None:
            classes = _check_classes_argument(classes)
        target_type = type_of_target(y, input_name="y")
        if target_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(
                "JaxMLPClassifier supports binary, multiclass and multilabel-"
                f"indicator targets; y is {target_type}."
            )
        multilabel = target_type == "multilabel-indicator"
        if incremental and classes is None and first_pass and not multilabel:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if first_pass:
            self._target_type = target_type if multilabel else "multiclass"
            if multilabel:
                labels = np.arange(y.shape[1])
            else:
                labels = np.unique(y if classes is None else classes)
            if labels.size < 2:
                raise ValueError(
                    "JaxMLPClassifier needs samples of at least 2 classes; got 1 "
                    f"class: {labels.tolist()[0]!r}."
                )
            self.classes_ = labels
            return

        if multilabel != self._multilabel:
            kind = "multilabel" if self._multilabel else "single-label"
            raise ValueError(
                f"y is {target_type}, but the fitted model has a {kind} target."
            )
        if classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(classes).tolist()} is not the same as on the "
                f"first call, which gave {self.classes_.tolist()}."
            )
        if multilabel:
            if y.shape[1] != self.classes_.size:
                raise ValueError(
                    f"y has {y.shape[1]} labels; the fitted model has "
                    f"{self.classes_.size}."
                )
            return
        present = np.unique(y)
        if (
            self.warm_start
            and not incremental
            and not np.array_equal(present, self.classes_)
        ):
            raise ValueError(
                "warm_start needs y to have the same classes as the previous "
                f"fit: it had {self.classes_.tolist()}, y has {present.tolist()}."
            )

    def _check_validation_target(self, y_val):
        """Refuse a y_val whose kind or label count is not y's."""
        check_classification_targets(y_val)
        target_type = type_of_target(y_val, input_name="y_val")
        multilabel = target_type == "multilabel-indicator"
        if multilabel != self._multilabel:
            kind = "a multilabel indicator" if self._multilabel else "single-label"
            raise ValueError(f"y_val is {target_type}, but y is {kind}.")
        if multilabel and y_val.shape[1] != self.classes_.size:
            raise ValueError(
                f"y_val has {y_val.shape[1]} labels; y has {self.classes_.size}."
            )

    def _encode(self, y, name="y"):
        """One-hot float32 targets (one column if binary; as is if multilabel)."""
        if self._multilabel:
            return np.asarray(y, np.float32)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"{name} has labels {unknown.tolist()} that are not among the "
                f"classes {self.classes_.tolist()}."
            )
        indices = np.searchsorted(self.classes_, y)
        if self.classes_.size == 2:
            return (indices == 1).astype(np.float32)[:, None]
        onehot = np.zeros((y.shape[0], self.classes_.size), np.float32)
        onehot[np.arange(y.shape[0]), indices] = 1
        return onehot

    def _class_indices(self, targets):
        """Indices into ``classes_`` of one-hot (or one-column) targets."""
        if targets.shape[1] == 1:
            return (targets[:, 0] > 0.5).astype(np.intp)
        return targets.argmax(axis=1)

    def _decode(self, targets):
        """Labels as the user gave them, from encoded targets."""
        if self._multilabel:
            return targets.astype(np.int64)
        return self.classes_[self._class_indices(targets)]

    def _class_weights(self, y, incremental):
        """Per-sample factors from ``class_weight`` (ones without it)."""
        if self.class_weight is None:
            return 1.0
        if self._multilabel:
            raise ValueError(
                "class_weight is not supported for multilabel targets; pass "
                "sample_weight instead."
            )
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit, which "
                "sees one batch at a time; compute the weights once with "
                "sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y) and pass them as a dict."
            )
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has labels {sorted(unknown, key=str)} that are "
                    f"not among the classes {self.classes_.tolist()}."
                )
        factors = compute_sample_weight(self.class_weight, y)
        if not (np.isfinite(factors).all() and (factors >= 0).all()):
            raise ValueError(
                "class_weight must give every class a finite, non-negative "
                f"weight; got {self.class_weight!r}."
            )
        if not factors.any():
            raise ValueError(
                f"class_weight={self.class_weight!r} gives every sample a "
                "weight of zero."
            )
        return factors

    def _validation_split(
        self, X, targets, sample_weight, validation, seed, gather=False
    ):
        """``(train, val)`` as ``(x, y, w)`` triples; ``val`` may be None."""
        X_val, y_val, w_val = validation if validation is not None else (None,) * 3
        given = X_val is not None or y_val is not None
        if w_val is not None and not given:
            raise ValueError(
                "sample_weight_val weighs the rows of X_val and y_val, which are "
                "missing."
            )
        if given:
            if X_val is None or y_val is None:
                missing = "y_val" if X_val is not None else "X_val"
                raise ValueError(
                    f"A validation set needs both X_val and y_val; "
                    f"{missing} is missing."
                )
            if self.solver not in _STOCHASTIC_SOLVERS or not self.early_stopping:
                raise ValueError(
                    "X_val and y_val are used for early stopping: pass them with "
                    "early_stopping=True and solver='sgd' or 'adam' (got "
                    f"early_stopping={self.early_stopping}, solver={self.solver!r})."
                )
            _check_numeric(X_val, "X_val")
            X_val, y_val = validate_data(
                self,
                X_val,
                y_val,
                accept_sparse=["csr", "csc"],
                dtype=(np.float64, np.float32),
                multi_output=True,
                reset=False,
            )
            y_val = _dense_target(y_val)
            self._check_validation_target(y_val)
            _check_float32_range(X_val)
            w_val = check_sample_weight(w_val, X_val)
            _check_weights(w_val, "sample_weight_val")
            if gather:
                X_val, y_val, w_val = _devices.gather_rows(X_val, y_val, w_val)
            return (X, targets, sample_weight), (
                X_val,
                self._encode(y_val, "y_val"),
                w_val,
            )

        if not (self.early_stopping and self.solver in _STOCHASTIC_SOLVERS):
            return (X, targets, sample_weight), None

        stratify = None if self._multilabel else self._class_indices(targets)
        self._check_split(stratify, X.shape[0])
        split = _training.split_seed(seed)
        X_tr, X_va, y_tr, y_va, w_tr, w_va = train_test_split(
            X,
            targets,
            sample_weight,
            test_size=self.validation_fraction,
            random_state=split,
            stratify=stratify,
        )
        for weights, share in ((w_tr, "training"), (w_va, "validation")):
            if not weights.sum() > 0:
                raise ValueError(
                    f"Every sample in the {share} share of the early-stopping "
                    "split has zero weight: give weight to more samples "
                    "(sample_weight, class_weight) or change "
                    "validation_fraction or random_state."
                )
        return (X_tr, y_tr, w_tr), (X_va, y_va, w_va)

    def _check_split(self, stratify, n_samples):
        """Refuse, before training, a validation split that cannot be made."""
        n_val = math.ceil(self.validation_fraction * n_samples)
        where = (
            f"early_stopping=True with validation_fraction="
            f"{self.validation_fraction} holds out {n_val} of {n_samples} samples"
        )
        if n_val < 2 or n_samples - n_val < 1:
            raise ValueError(
                f"{where}: the validation set needs at least 2 samples and the "
                "training set at least 1. Increase validation_fraction or the "
                "number of samples, or pass X_val and y_val."
            )
        if stratify is None:
            return
        labels, counts = np.unique(stratify, return_counts=True)
        names = self.classes_[labels.astype(int)].tolist()
        for name, count in zip(names, counts, strict=True):
            if count < 2:
                raise ValueError(
                    f"{where}, stratified by class, but class {name!r} has only "
                    f"{count} sample; each class needs at least 2. Pass X_val and "
                    "y_val, or set early_stopping=False."
                )
        if n_val < labels.size or n_samples - n_val < labels.size:
            raise ValueError(
                f"{where}, stratified by class: both sets need at least one "
                f"sample of each of the {labels.size} classes. Increase "
                "validation_fraction or the number of samples."
            )

    # Stochastic solvers

    def _fit_stochastic(
        self, params, train, val, seed, incremental, context, start, mesh
    ):
        x, y, w = train
        n_samples = x.shape[0]
        hook_data = dict(
            X=x, y=lambda: self._decode(train[1]), metadata={"sample_weight": w}
        )
        layer_sizes = (x.shape[1], *(b.shape[0] for _, b in params))
        sizes = _training.compiled_sizes(layer_sizes, self.out_activation_)
        params = _training.pad_params(params, sizes)
        opt_state = getattr(self, "_optimizer_state", None)
        if incremental and _training.is_state_of(self.solver, opt_state):
            learning_rate = self._learning_rate
        else:
            # fit (unlike partial_fit) starts the optimizer anew
            opt_state = _training.optimizer_init(self.solver, params)
            learning_rate = self.learning_rate_init

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
        alpha = np.float32(self.alpha)
        if full_batch:
            x, y, w = _training.merge_duplicate_rows(_csr(x), y, w)
        data = _training.place(*_padded(x, y, sizes), w, mesh, split_rows=full_batch)
        val_data = None
        if val is not None:
            val_data = _training.place(*_padded(val[0], val[1], sizes), val[2], mesh)
        if mesh is not None:
            params, opt_state = _training.replicate((params, opt_state), mesh)
        if val is not None and self.validation_scores_ is None:
            self.validation_scores_ = []
            self.validation_loss_curve_ = []

        best = getattr(self, "_best_params", None)
        shuffle_words = _training.ShuffleWords(seed)
        self.n_iter_ = 0
        try:
            for epoch in range(1 if incremental else self.max_iter):
                epoch_context = context.subcontext(task_name="epoch")
                epoch_context.call_on_fit_task_begin(estimator=self, **hook_data)
                hyper = self._hyperparams(learning_rate)
                words = shuffle_words[epoch]
                if isinstance(data, _training.TrainData):
                    result = _training.run_epoch(
                        params, opt_state, data, words, alpha, hyper, config, mesh
                    )
                else:
                    result = _training.run_sparse_epoch(
                        params, opt_state, *data, words, alpha, hyper, config
                    )
                loss, finite = _training.to_host(result[2:])
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
                if val_data is not None:
                    improved = self._record_validation(params, val_data, config)
                    if improved:
                        best = params
                else:
                    self._record_training_loss()
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    learning_rate = self.learning_rate_init / (
                        (self.t_ + 1) ** self.power_t
                    )

                stop = epoch_context.call_on_fit_task_end(
                    estimator=self,
                    **hook_data,
                    reconstruction_attributes=lambda p=params: _reconstruction(
                        p, layer_sizes
                    ),
                )
                if self._no_improvement_count > self.n_iter_no_change:
                    learning_rate, stopping = self._on_plateau(learning_rate, val)
                    if stopping:
                        break
                if stop:
                    break
                if not incremental and self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations "
                        f"({self.max_iter}) reached and the optimization "
                        "hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=6,
                    )
        except KeyboardInterrupt:
            if self.n_iter_ == 0 and not self.loss_curve_:
                # Nothing learned yet: let the interrupt through, and the
                # estimator return to its state before this call
                raise
            kept = (
                "the best epoch's weights so far"
                if val is not None
                else "the weights of the last finished epoch"
            )
            warnings.warn(
                f"Training interrupted by user; keeping {kept} ({self.n_iter_} "
                "epochs finished in this call).",
                UserWarning,
                stacklevel=6,
            )

        # Fitted state as plain NumPy: nothing compiled or on a device stays
        self._optimizer_state = _training.to_host(opt_state)
        self._learning_rate = learning_rate
        if val is not None and best is not None:
            params = best
            self._best_params = _training.to_host(best)
        # Without the padding, as lbfgs returns them
        return tuple(zip(*_training.params_to_numpy(params, layer_sizes), strict=True))

    def _hyperparams(self, learning_rate):
        return _training.hyperparams(
            self.solver,
            learning_rate,
            self.momentum,
            self.beta_1,
            self.beta_2,
            self.epsilon,
        )

    def _record_epoch(self, loss, n_samples, start):
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if self.verbose:
            line = f"Iteration {self.n_iter_}, loss = {loss:.8f}"
            if self.verbose >= 2:
                line += f" ({time.perf_counter() - start:.2f} s)"
            print(line, flush=True)

    def _record_training_loss(self):
        """Convergence bookkeeping on the training loss."""
        if self.best_loss_ is None:
            self.best_loss_ = np.inf
        if self.loss_ > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        self.best_loss_ = min(self.best_loss_, self.loss_)

    def _record_validation(self, params, val_data, config):
        """Score the validation set; return whether it is the best so far."""
        loss, score = _training.evaluate(params, val_data, config)
        self.validation_scores_.append(score)
        self.validation_loss_curve_.append(loss)
        if self.verbose:
            print(f"Validation score: {score:f}", flush=True)
        best = self.best_validation_score_
        best = -np.inf if best is None else best
        if score < best + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > best:
            self.best_validation_score_ = score
            return True
        return False

    def _on_plateau(self, learning_rate, val):
        """What ``n_iter_no_change`` epochs without progress lead to.

        Returns the learning rate to go on with and whether to stop, as
        MLPClassifier decides it: the adaptive SGD schedule divides the rate
        by 5 until it falls below 1e-6; every other setting stops.
        """
        quantity = "Validation score" if val is not None else "Training loss"
        message = (
            f"{quantity} did not improve more than tol={self.tol:g} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(f"{message} Stopping.", flush=True)
            return learning_rate, True
        if learning_rate <= 1e-6:
            if self.verbose:
                print(f"{message} Learning rate too small. Stopping.", flush=True)
            return learning_rate, True
        learning_rate /= 5
        self._no_improvement_count = 0
        if self.verbose:
            print(f"{message} Setting learning rate to {learning_rate:f}", flush=True)
        return learning_rate, False

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the number of "
                f"samples ({n_samples}); it is clipped to {n_samples} "
                "(full-batch gradient descent).",
                UserWarning,
                stacklevel=7,
            )
            return n_samples
        return self.batch_size

    # L-BFGS

    def _fit_lbfgs(self, params, train, layer_sizes, context, start, mesh):
        x, y, w = _training.merge_duplicate_rows(_csr(train[0]), *train[1:])
        data = _training.place(x, y, w, mesh, split_rows=True)
        config = _training.EpochConfig(
            activation=self.activation,
            out_activation=self.out_activation_,
            solver="lbfgs",
            nesterov=False,
            batch_size=0,
            full_batch=True,
            shuffle=False,
        )
        alpha = np.float32(self.alpha)
        layer_sizes = tuple(layer_sizes)

        def fun(flat):
            return _training.objective(flat, data, alpha, layer_sizes, config, mesh)

        accepted = {"x": _training.flatten(_training.to_host(params)), "losses": []}

        def on_iteration(intermediate_result):
            accepted["x"] = intermediate_result.x
            accepted["losses"].append(float(intermediate_result.fun))
            n = len(accepted["losses"])
            if self.verbose:
                line = f"Iteration {n}, loss = {intermediate_result.fun:.8f}"
                if self.verbose >= 2:
                    line += f" ({time.perf_counter() - start:.2f} s)"
                print(line, flush=True)
            iteration = context.subcontext(task_name="lbfgs-iter")
            iteration.call_on_fit_task_begin(estimator=self)
            flat = intermediate_result.x
            if iteration.call_on_fit_task_end(
                estimator=self,
                X=train[0],
                y=lambda: self._decode(train[1]),
                metadata={"sample_weight": train[2]},
                reconstruction_attributes=lambda: _reconstruction(
                    _training.unflatten(np.asarray(flat, np.float32), layer_sizes),
                    layer_sizes,
                ),
            ):
                raise StopIteration

        interrupted = False
        try:
            result = scipy.optimize.minimize(
                fun,
                accepted["x"],
                method="L-BFGS-B",
                jac=True,
                callback=on_iteration,
                options={
                    "maxfun": self.max_fun,
                    "maxiter": self.max_iter,
                    "gtol": self.tol,
                },
            )
            final, loss = result.x, float(result.fun)
        except KeyboardInterrupt:
            if not accepted["losses"]:
                raise
            interrupted = True
            final, loss = accepted["x"], accepted["losses"][-1]
            warnings.warn(
                "Training interrupted by user; keeping the weights of the last "
                f"finished L-BFGS iteration ({len(accepted['losses'])}).",
                UserWarning,
                stacklevel=6,
            )

        self.n_iter_ = min(len(accepted["losses"]), self.max_iter)
        self.loss_ = loss
        self.loss_curve_.extend(accepted["losses"])
        if not np.all(np.isfinite(final)) or not np.isfinite(loss):
            raise ValueError(
                "L-BFGS produced non-finite weights or loss. Scale the inputs, "
                "for example with sklearn.preprocessing.StandardScaler, or "
                "raise alpha."
            )
        if not interrupted and result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result.status}): {result.message}. Increase max_iter "
                "or max_fun, or scale the data.",
                ConvergenceWarning,
                stacklevel=6,
            )
        return _training.unflatten(np.asarray(final, np.float32), layer_sizes)

    def _check_architecture(self, layer_sizes, incremental):
        fitted = tuple(w.shape[0] for w in self.coefs_) + (self.n_outputs_,)
        if fitted != tuple(layer_sizes):
            how = "partial_fit" if incremental else "warm_start"
            fresh = "call fit" if incremental else "set warm_start=False"
            raise ValueError(
                f"{how} continues the fitted model, which has layer sizes "
                f"{list(fitted)}; the parameters and data ask for "
                f"{list(layer_sizes)}. To train anew, {fresh}."
            )

    # Prediction

    def _logits(self, X):
        """Float64 logits of X, computed on the device in float32."""
        check_is_fitted(self)
        self._check_fitted_shapes()
        _check_numeric(X, "X")
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            reset=False,
        )
        if sp.issparse(X):
            X = X.tocsr()
        layer_sizes = [w.shape[0] for w in self.coefs_] + [self.n_outputs_]
        sizes = _training.compiled_sizes(layer_sizes, self.out_activation_)
        params = _training.pad_params(
            zip(self.coefs_, self.intercepts_, strict=True), sizes
        )
        chunk_rows = _training.chunk_rows_for(sizes)
        # Models pickled before the parameter existed have no device
        with _default_device(_devices.resolve_device(getattr(self, "device", None))):
            logits = _training.predict_logits(
                _training.params_to_device(params), X, self.activation, chunk_rows
            )
        logits = logits[:, : self.n_outputs_].astype(np.float64)

        # Rows that overflowed float32 are recomputed in float64
        overflow = ~np.isfinite(logits).all(axis=1)
        if overflow.any():
            logits[overflow] = self._logits_float64(X[overflow])
        return logits

    def _check_fitted_shapes(self):
        """Refuse fitted weights that no longer form this network."""
        sizes = [self.n_features_in_]
        for w, b in zip(self.coefs_, self.intercepts_, strict=True):
            w, b = np.shape(w), np.shape(b)
            if len(w) != 2 or w[0] != sizes[-1] or b != (w[1],):
                raise ValueError(
                    "coefs_ and intercepts_ do not chain into a network from "
                    f"{self.n_features_in_} features: got weight shapes "
                    f"{[np.shape(c) for c in self.coefs_]} and bias shapes "
                    f"{[np.shape(i) for i in self.intercepts_]}."
                )
            sizes.append(w[1])
        if sizes[-1] != self.n_outputs_:
            raise ValueError(
                f"The last layer has {sizes[-1]} outputs; n_outputs_ is "
                f"{self.n_outputs_}."
            )

    def _logits_float64(self, X):
        weights = self.coefs_ + self.intercepts_
        if not all(np.isfinite(w).all() for w in weights):
            raise ValueError(
                "The fitted weights (coefs_, intercepts_) hold NaN or infinity; "
                "fit the model again."
            )
        a = X.toarray() if sp.issparse(X) else np.asarray(X, np.float64)
        a = a.astype(np.float64)
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
                f"{abs(X).max():.3g}). Scale the inputs, for example with "
                "sklearn.preprocessing.StandardScaler."
            )
        return a


def _gelu_float64(z):
    from scipy.special import ndtr

    return z * ndtr(z)


_NUMPY_ACTIVATIONS = {
    "gelu": _gelu_float64,
    "identity": lambda z: z,
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
    "logistic": expit,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
}


def _default_device(device):
    """Run JAX's work on ``device``; None leaves JAX's default alone."""
    return contextlib.nullcontext() if device is None else jax.default_device(device)


def _reconstruction(params, layer_sizes):
    """Fitted attributes of an estimator stopped at ``params``, for callbacks."""
    coefs, intercepts = _training.params_to_numpy(params, layer_sizes)
    return {"coefs_": coefs, "intercepts_": intercepts}


def _dense_target(y):
    """``y`` as a dense array: a sparse label indicator matrix is made dense."""
    if sp.issparse(y):
        y = y.toarray()
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    return y


def _check_weights(weights, name):
    """Refuse weights that float32 turns into zero or infinity, or all zero."""
    if weights.size and not weights.any():
        raise ValueError(f"{name} gives every sample a weight of zero.")
    with np.errstate(over="ignore"):
        as_float32 = weights.astype(np.float32)
        total = np.float32(weights.sum())
    # XLA flushes float32 values below the smallest normal one to zero
    lost = (weights > 0) & (as_float32 < np.finfo(np.float32).tiny)
    if lost.any() or not (np.isfinite(as_float32).all() and np.isfinite(total)):
        raise ValueError(
            f"{name} has weights that float32 cannot hold (from "
            f"{weights[weights > 0].min():.3g} to {weights.max():.3g}): "
            "JaxMLPClassifier trains in float32. Rescale the weights, for "
            "example so that the largest is 1."
        )


def _padded(x, y, sizes):
    """Inputs and targets widened to the compiled layer sizes."""
    return _training.pad_columns(x, sizes[0]), _training.pad_columns(y, sizes[-1])


def _csr(x):
    return x.tocsr() if sp.issparse(x) else x


def _check_hidden_layer_sizes(hidden_layer_sizes):
    sizes = np.atleast_1d(np.asarray(hidden_layer_sizes, dtype=object)).tolist()
    if not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must hold positive integers, got "
            f"{hidden_layer_sizes!r}."
        )
    return tuple(int(s) for s in sizes)


def _check_numeric(X, name):
    """Refuse text and dates, which NumPy would otherwise turn into numbers."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and not hasattr(dtypes, "kind"):
        # A DataFrame: one dtype per column
        for column, dtype in dtypes.items():
            if getattr(dtype, "kind", None) in ("U", "S", "M", "m"):
                raise ValueError(
                    f"{name} has column {column!r} of dtype {dtype}; "
                    "JaxMLPClassifier needs numeric features. Encode text or "
                    "dates first, for example with "
                    "sklearn.preprocessing.OrdinalEncoder."
                )
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind in ("U", "S", "M", "m"):
        raise ValueError(
            f"{name} has dtype {X.dtype}; JaxMLPClassifier needs numeric "
            "features. Encode text or dates first, for example with "
            "sklearn.preprocessing.OrdinalEncoder."
        )


def _check_classes_argument(classes):
    """``classes`` of partial_fit as a 1-d array of finite labels."""
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(
            "classes must be a 1-d array-like of labels; got an array of shape "
            f"{classes.shape}."
        )
    if classes.dtype.kind == "f" and not np.isfinite(classes).all():
        raise ValueError("classes holds NaN or infinity; labels must be finite.")
    return classes


def _check_float32_range(X):
    values = X.data if sp.issparse(X) else X
    largest = np.max(np.abs(values)) if values.size else 0.0
    if largest > _FLOAT32_MAX:
        raise ValueError(
            f"X has values beyond float32's range (largest absolute value "
            f"{largest:.3g}); JaxMLPClassifier trains in float32. Scale the "
            "inputs, for example with sklearn.preprocessing.StandardScaler."
        )


def _seed_from(random_state, agree=False):
    """One integer seed from ``random_state``, leaving NumPy's global state alone.

    With ``agree``, every JAX process gets the seed of process 0.
    """
    if random_state is None:
        seed = np.random.SeedSequence().generate_state(1)[0]
        return _devices.agreed_seed(seed) if agree else int(seed)
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
