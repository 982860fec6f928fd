"""Shared foundations: canonical schema, exceptions and input validation."""

from valuemax._core.exceptions import (
    ConvergenceError,
    ConvergenceWarning,
    DataLossWarning,
    InputError,
    NotFittedError,
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
    "NotFittedError",
    "ValuemaxError",
]
