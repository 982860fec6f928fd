"""Sum a pytest ``--durations=0`` listing by xdist group: the suite's worker-seconds, the
longest units (a group runs on one worker, so the longest one bounds the wall) and the
slowest tests, as ``COST_HINTS`` lines for tests/conftest.py.

Usage::

    make test PYTEST_ARGS=--durations=0 > out.log      # or any pytest -n 2 --dist loadgroup
    python scripts/suite_durations.py out.log [--scale S] [--top N] [--hints-above SECONDS]

``--scale`` divides every duration (a run measured on a loaded machine, compared with an
idle one: e.g. 5 when the same tests took 5x their CI time). Each line of the listing is
``<seconds>s <setup|call|teardown> <node id>[@<group>]``; a test with no ``@group`` is a
unit of its own. The setup of a shared fixture is counted on the test that built it.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^(\d+(?:\.\d+)?)s (setup|call|teardown)\s+(\S+)$")


def base_nodeid(nodeid: str) -> str:
    """``nodeid`` without the ``@group`` suffix xdist's loadgroup appends."""
    return nodeid.rsplit("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid


def read_durations(text: str) -> dict[str, tuple[str | None, float]]:
    """node id (no suffix) -> (group or None, setup + call + teardown seconds)."""
    out: dict[str, tuple[str | None, float]] = {}
    for line in text.splitlines():
        m = LINE.match(line.strip())
        if not m:
            continue
        seconds, nodeid = float(m[1]), m[3]
        base = base_nodeid(nodeid)
        group = nodeid[len(base) + 1:] or None
        old = out.get(base, (group, 0.0))[1]
        out[base] = (group, old + seconds)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", type=Path)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--hints-above", type=float, default=4.0)
    args = ap.parse_args()
    tests = read_durations(args.log.read_text(encoding="utf-8", errors="replace"))
    if not tests:
        raise SystemExit(f"no duration lines in {args.log}: run pytest with --durations=0")
    tests = {n: (g, s / args.scale) for n, (g, s) in tests.items()}
    total = sum(s for _, s in tests.values())
    units: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for nodeid, (group, seconds) in tests.items():
        unit = units[group or nodeid]
        unit[0] += 1
        unit[1] += seconds
    print(f"{len(tests)} tests, {total:.0f} worker-seconds (/{args.scale:g}); "
          f"with 2 workers at best {total / 2:.0f} s of wall plus collection")
    print(f"\nlongest units ({len(units)} in all): seconds, tests, unit")
    for name, (n, seconds) in sorted(units.items(), key=lambda kv: -kv[1][1])[:args.top]:
        print(f"{seconds:8.1f} {n:5d}  {name}")
    print(f"\nslowest tests, as COST_HINTS lines (above {args.hints_above:g} s)")
    for nodeid, (_, seconds) in sorted(tests.items(), key=lambda kv: -kv[1][1]):
        if seconds <= args.hints_above:
            break
        print(f'    "{nodeid}": {round(seconds)},')


if __name__ == "__main__":
    main()
