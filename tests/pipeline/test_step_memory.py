"""Per-step peak memory of the main job (issue 12): ``summary.json`` ``peak_rss_mb``.

Each figure is the process's RSS high-water mark when the step ended: it exists for every
timed step, is positive, never decreases from one step to the next, is at least any RSS the
process had during the step (within the kernel's few MiB of counter batching), and is never above the process's peak read afterwards.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from valuemax.pipeline._clock import StepClock, peak_rss_mb

linux = pytest.mark.skipif(not sys.platform.startswith("linux"),
                           reason="reads the current RSS from /proc/self/statm")


def _rss_now_mb() -> float:
    import os

    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@linux
def test_a_step_peak_is_at_least_the_rss_it_reached():
    clock = StepClock({}, None)
    with clock("small"):
        pass
    with clock("big"):
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, every page touched
        inside = _rss_now_mb()
        del block
    # the kernel updates its RSS counters in batches (64 pages a thread): a few MiB of slack
    assert clock.peaks["big"] >= inside - 4
    assert 0 < clock.peaks["small"] <= clock.peaks["big"]
    assert clock.peaks["big"] <= peak_rss_mb() + 0.1


@linux
def test_analyze_records_a_peak_for_every_step(retail_analysis):
    summary = json.loads((retail_analysis.out / "summary.json").read_text(encoding="utf-8"))
    peaks, timings = summary["peak_rss_mb"], summary["timings_s"]
    assert list(peaks) == list(timings)  # every timed step, in run order
    values = list(peaks.values())
    assert all(v > 0 for v in values)
    assert values == sorted(values)  # a high-water mark: non-decreasing
    assert values[-1] <= peak_rss_mb() + 0.1  # the process's peak so far, read now
    assert dict(retail_analysis.peak_rss_mb) == peaks
