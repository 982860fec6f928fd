"""The public exception and warning tree of valuemax (STYLE.md b.14).

Catch these, never the private modules' names::

    from valuemax.exceptions import InputError, StepNotApplicable

Errors (all subclasses of :class:`ValuemaxError`):

- :class:`InputError` (also a ``ValueError``): the input data or an argument is wrong; the
  message says what, how much (counts, first few ids), what was expected and how to fix it.
  The CLI exits 2 with that one line.
- :class:`StepNotApplicable` (also a ``ValueError``, *not* an ``InputError``): the data are
  valid, but a step does not apply to them (too few repeat buyers for a purchase model, no
  product column for baskets, a span shorter than two propensity horizons). The main job
  skips the step with the message as its reason; a command that needs the step exits 2.
- :class:`InsufficientData` (both an ``InputError`` and a ``StepNotApplicable``): the data
  are valid but too few for a model (customers, repeat buyers, distinct profiles, days); a
  direct call refuses them as bad input, the main job skips the step with the reason.
- :class:`NotFittedError` (also ``ValueError`` and ``AttributeError``): an estimator was
  used before ``fit`` or ``from_params``.
- :class:`ConvergenceError` (also a ``RuntimeError``): an optimiser did not converge. The
  CLI exits 1.

Warnings, raised with ``stacklevel=2``: :class:`ConvergenceWarning` (an optimiser converged
with a caveat, e.g. at a bound) and :class:`DataLossWarning` (rows dropped on request, with a
count).

How the main job reports a step (``valuemax.analyze``): a ``StepNotApplicable`` is a skip
with its reason and no traceback; any other exception raised inside a step, an
``InputError`` included, is a *failure*: the job still writes every other output, names it
``"<ExceptionType>: <message>"`` in ``result.skipped`` and ``summary.json``, and keeps its
traceback (``result.tracebacks``, printed by the CLI with ``--debug``).

Examples
--------
>>> from valuemax.exceptions import InputError, StepNotApplicable, ValuemaxError
>>> issubclass(StepNotApplicable, InputError), issubclass(StepNotApplicable, ValuemaxError)
(False, True)
"""

from __future__ import annotations

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

__all__ = [
    "ConvergenceError",
    "ConvergenceWarning",
    "DataLossWarning",
    "InputError",
    "InsufficientData",
    "NotFittedError",
    "StepNotApplicable",
    "ValuemaxError",
]
