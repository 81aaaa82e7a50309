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

__all__ = [
    "Interval",
    "Options",
    "StrOptions",
    "validate_parameter_constraints",
]
