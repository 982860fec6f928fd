"""The documented exception and warning tree of valuemax (STYLE.md b.14).

``ValuemaxError`` is the base of every error valuemax raises on purpose:

- ``InputError(ValuemaxError, ValueError)``: the input is wrong; the message says what, how
  much, what was expected and how to fix it. The CLI exits 2.
- ``NotFittedError(ValuemaxError, ValueError, AttributeError)``: a model was used before
  ``fit``.
- ``ConvergenceError(ValuemaxError, RuntimeError)``: an optimiser did not converge.
- ``StepNotApplicable(ValuemaxError, ValueError)``: the data are valid but a step of the
  analysis does not apply to them (too few repeat buyers for a purchase model, no product
  column for baskets, a log shorter than two horizons...). It is *not* an ``InputError``:
  the main job skips that step with the message as its reason, while an ``InputError``
  raised inside a step is a bug in what the job handed the step and is reported as a
  failure with its traceback (see ``valuemax.pipeline._parts.run_step``). The CLI exits 2
  for it, as for bad input, when a command needs that step.

- ``InsufficientData(InputError, StepNotApplicable)``: the data are valid but too few for a
  model (too few customers, repeat buyers, distinct profiles, days or buyers). A direct caller
  of the model gets an ``InputError`` (the data it passed cannot be fitted); the main job
  skips the step with the message as its reason, without a traceback.

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


class StepNotApplicable(ValuemaxError, ValueError):
    """A step does not apply to these (valid) data; the message says why and what would help.

    Raised instead of returning an empty result, e.g. "only 12 repeat buyers: fitting a
    purchase model needs at least 20". Deliberately not a subclass of :class:`InputError`, so
    that a caller running several steps can skip this one with the reason and still treat an
    ``InputError`` as a real problem. A ``ValueError`` like ``InputError``, for callers
    catching that.
    """


class InsufficientData(InputError, StepNotApplicable):
    """The data are valid but too few for this model; the message gives the counts and the need.

    Both an :class:`InputError` (a caller who fits the model directly passed data it cannot
    fit) and a :class:`StepNotApplicable` (the main job skips the step with the reason), e.g.
    "too few training customers for 3-fold cross-validation: 2 buyers and 2 non-buyers".
    """


class ConvergenceWarning(UserWarning):
    """An optimiser converged with a caveat (e.g. at a bound)."""


class DataLossWarning(UserWarning):
    """Rows were dropped because the caller asked for it; the message gives the count."""
