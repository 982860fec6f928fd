"""Step timings and memory of a job: ``summary.json``'s ``timings_s`` and ``peak_rss_mb``,
and the CLI's progress."""

from __future__ import annotations

import gc
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


def release_free_memory() -> None:
    """Give the memory freed so far back to the operating system: Arrow's allocator pool
    (``pyarrow.default_memory_pool().release_unused()``, when pyarrow is loaded) and the C
    library's heap (glibc's ``malloc_trim(0)``, on Linux only).

    Both allocators keep freed pages for reuse; a step whose largest arrays are allocated
    afresh (larger than glibc's threshold they are mapped apart from the heap) does not reuse
    them, so they stayed in the process's RSS under the next steps' peaks (at 1M lines, 50 to
    70 MB returned at the value, stats and propensity steps' starts). Nothing changes but the
    RSS; elsewhere (macOS, Windows, musl) only Arrow's pool is released.
    """
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        import contextlib
        import ctypes

        with contextlib.suppress(OSError, AttributeError):  # not glibc (musl): no trim
            ctypes.CDLL("libc.so.6").malloc_trim(0)


class StepClock:
    """Times named steps into ``timings`` (seconds, 3 decimals), records the process's peak
    RSS at each step's end into ``peaks`` (MiB, 1 decimal; :func:`peak_rss_mb`, so
    non-decreasing in step order: a step that raised the peak is the first to show it) and
    announces each step to ``on_step``.

    With ``freeze_gc=True``, each step's start also collects the cyclic garbage made so far
    and moves the objects alive at that moment (the modules imported so far, the earlier
    steps' results) out of the cyclic garbage collector's reach (``gc.freeze``) until
    :meth:`release_gc`: a full collection then walks only the objects made since, not the
    ~250,000 objects of numpy, pandas, Ibis, scikit-learn and plotly (on Online Retail the
    full collections of a run took 0.9 CPU s before, 0.3 after, step starts included).
    Reference counting frees objects as before; only an object in a reference cycle that
    was alive at a step's start and dies later (in a run: a few thousand small Ibis/sqlglot
    expression nodes, no arrays) waits for the release. When the process has frozen
    objects already (``gc.get_freeze_count() > 0``, e.g. a server's preloaded modules),
    nothing is frozen, so that the release cannot unfreeze the caller's own. The same step
    starts give the freed memory back to the operating system (:func:`release_free_memory`).

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

    def __init__(self, timings: dict[str, float], on_step: Callable[[str], None] | None,
                 *, freeze_gc: bool = False):
        self.timings, self.on_step = timings, on_step
        self.peaks: dict[str, float] = {}
        self._freeze = freeze_gc and gc.get_freeze_count() == 0

    def __call__(self, name: str) -> StepClock:
        self._name = name
        return self

    def __enter__(self) -> None:
        if self.on_step is not None:
            self.on_step(self._name)
        if self._freeze:
            gc.collect()  # the cyclic garbage made so far is freed, not frozen
            gc.freeze()
            release_free_memory()
        self._t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self._name] = round(time.perf_counter() - self._t0, 3)
        peak = peak_rss_mb()
        if peak is not None:
            self.peaks[self._name] = round(peak, 1)

    def release_gc(self) -> None:
        """Hand the objects frozen at the steps' starts back to the garbage collector
        (``gc.unfreeze``; nothing when this clock froze none). Idempotent."""
        if self._freeze:
            gc.unfreeze()
            self._freeze = False
