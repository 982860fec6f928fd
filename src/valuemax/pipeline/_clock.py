"""Step timings of a job: ``summary.json``'s ``timings_s`` and the CLI's progress."""

from __future__ import annotations

import time
from collections.abc import Callable


class StepClock:
    """Times named steps into ``timings`` (seconds, 3 decimals) and announces each to ``on_step``.

    Examples
    --------
    >>> timings = {}
    >>> clock = StepClock(timings, None)
    >>> with clock("read"):
    ...     pass
    >>> list(timings)
    ['read']
    """

    def __init__(self, timings: dict[str, float], on_step: Callable[[str], None] | None):
        self.timings, self.on_step = timings, on_step

    def __call__(self, name: str) -> StepClock:
        self._name = name
        return self

    def __enter__(self) -> None:
        if self.on_step is not None:
            self.on_step(self._name)
        self._t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self._name] = round(time.perf_counter() - self._t0, 3)
