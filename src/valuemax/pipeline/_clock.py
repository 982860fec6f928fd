"""Step timings and memory of a job: ``summary.json``'s ``timings_s`` and ``peak_rss_mb``,
and the CLI's progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def peak_rss_mb() -> float | None:
    """The process's peak resident set size so far (its RSS high-water mark), in MiB.

    From ``getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on Linux, bytes on macOS); None where the
    operating system has no ``resource`` module (Windows). The figure only grows, unless
    something resets the kernel's high-water mark (on Linux, writing ``5`` to
    ``/proc/self/clear_refs``, as ``benchmarks/bench_analyze.py`` does between steps to
    read each step's own peak).

    Examples
    --------
    >>> peak = peak_rss_mb()
    >>> peak is None or peak > 0
    True
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class StepClock:
    """Times named steps into ``timings`` (seconds, 3 decimals), records the process's peak
    RSS at each step's end into ``peaks`` (MiB, 1 decimal; :func:`peak_rss_mb`, so
    non-decreasing in step order: a step that raised the peak is the first to show it) and
    announces each step to ``on_step``.

    Examples
    --------
    >>> timings = {}
    >>> clock = StepClock(timings, None)
    >>> with clock("read"):
    ...     pass
    >>> list(timings)
    ['read']
    >>> list(clock.peaks) in (['read'], [])
    True
    """

    def __init__(self, timings: dict[str, float], on_step: Callable[[str], None] | None):
        self.timings, self.on_step = timings, on_step
        self.peaks: dict[str, float] = {}

    def __call__(self, name: str) -> StepClock:
        self._name = name
        return self

    def __enter__(self) -> None:
        if self.on_step is not None:
            self.on_step(self._name)
        self._t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self._name] = round(time.perf_counter() - self._t0, 3)
        peak = peak_rss_mb()
        if peak is not None:
            self.peaks[self._name] = round(peak, 1)
