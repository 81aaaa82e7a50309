"""The private scikit-learn helpers this package relies on, in one place.

scikit-learn's declarative parameter constraints give the same messages its
own estimators give ("The 'alpha' parameter of ... must be ... Got ...").
They live in a private module, so every import of them goes through here;
if scikit-learn moves them, this is the one file to change.
"""

from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "Interval",
    "check_sample_weight",
    "Options",
    "StrOptions",
    "validate_parameter_constraints",
]


def check_sample_weight(sample_weight, X):
    """Validated non-negative float weights, ones when None."""
    return _check_sample_weight(sample_weight, X, ensure_non_negative=True)
