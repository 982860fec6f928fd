"""The ``valuemax`` command line (Typer + Rich): parse, call the public API, set the exit code.

Exit codes: 0 success; 2 bad input (``InputError``, or a usage error) with a one-line reason;
1 any other valuemax error. Tracebacks only with ``--debug``.
"""

from valuemax.cli import _dashboard as _dashboard  # registers ``valuemax dashboard``
from valuemax.cli import _experiment as _experiment  # registers ``valuemax experiment``
from valuemax.cli import _jobs as _jobs  # registers the part commands (clv, ...) on ``app``
from valuemax.cli import _serve as _serve  # registers ``valuemax serve``
from valuemax.cli import _target as _target  # registers ``valuemax target``
from valuemax.cli import _update as _update  # registers ``valuemax update``
from valuemax.cli import _uplift as _uplift  # registers ``valuemax uplift``
from valuemax.cli._app import app, main

__all__ = ["app", "main"]
