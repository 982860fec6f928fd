"""The documented exception and warning tree of valuemax (STYLE.md b.14).

``ValuemaxError`` is the base of every error valuemax raises on purpose:

- ``InputError(ValuemaxError, ValueError)``: the input is wrong; the message says what, how
  much, what was expected and how to fix it. The CLI exits 2.
- ``NotFittedError(ValuemaxError, ValueError, AttributeError)``: a model was used before
  ``fit``.
- ``ConvergenceError(ValuemaxError, RuntimeError)``: an optimiser did not converge.

Warnings: ``ConvergenceWarning`` and ``DataLossWarning`` (rows were dropped on request, with a
count), both raised with ``stacklevel=2``.
"""

from __future__ import annotations


class ValuemaxError(Exception):
    """Base class of every error valuemax raises on purpose."""


class InputError(ValuemaxError, ValueError):
    """The input data or an argument is invalid; the message says how to fix it."""


class NotFittedError(ValuemaxError, ValueError, AttributeError):
    """An estimator was used before ``fit`` (or ``from_params``)."""


class ConvergenceError(ValuemaxError, RuntimeError):
    """A numerical optimiser failed to converge."""


class ConvergenceWarning(UserWarning):
    """An optimiser converged with a caveat (e.g. at a bound)."""


class DataLossWarning(UserWarning):
    """Rows were dropped because the caller asked for it; the message gives the count."""
