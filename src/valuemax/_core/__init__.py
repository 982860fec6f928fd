"""Shared foundations: canonical schema, exceptions and input validation.

The exception tree is public as :mod:`valuemax.exceptions`; the validation vocabulary
(:mod:`valuemax._core.validation`) is shared by every subpackage.
"""

from valuemax._core.exceptions import (
    ConvergenceError,
    ConvergenceWarning,
    DataLossWarning,
    InputError,
    InsufficientData,
    NotFittedError,
    StepNotApplicable,
    ValuemaxError,
)
from valuemax._core.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS, TIME_UNITS

__all__ = [
    "CANONICAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "TIME_UNITS",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataLossWarning",
    "InputError",
    "InsufficientData",
    "NotFittedError",
    "StepNotApplicable",
    "ValuemaxError",
]
