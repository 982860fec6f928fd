"""Benchmark: fitting BG/NBD, Pareto/NBD and Gamma-Gamma, valuemax next to lifetimes 0.11.3.

The same customers for both libraries: N customers (default 1,000,000) drawn by valuemax's
``simulate`` from the published CDNOW estimates, first purchases spread uniformly over a
39-week calibration period (``T`` in whole days, expressed in weeks). By default purchase
times are also rounded down to whole days (``recency`` as a real BTYD summary has it);
``--continuous`` keeps them continuous, so nearly every repeat buyer is a unique row.
Gamma-Gamma is fitted on the repeat buyers of the BG/NBD customers, with spend drawn from
p=6.25, q=3.74, gamma=15.44. The data go to ``benchmarks/_data`` (gitignored) as ``.npz``.

Each fit runs in its own interpreter (valuemax: ``.venv/bin/python``; lifetimes:
``benchmarks/.venv-lifetimes``, created on first use with ``python3.11 -m venv`` and pinned
lifetimes==0.11.3 numpy==1.26.4 pandas==1.5.3 scipy==1.11.4 autograd==1.9.1), and both
libraries run with their default fitting options. lifetimes' result (pinned version, seeded
data) is cached beside the data as ``<data>_lifetimes_<model>.json`` and reused, so a change
to valuemax is measured again without the slow reference (``--refit-lifetimes`` fits it
again). Reported: whole-process wall time and CPU
time (user + system; steadier than wall time on a shared machine), the fit call alone (wall,
and CPU: ``fit cpu ratio`` is the targets' measure, as imports are not the fit), peak
RSS of the process, and the largest relative difference between the
two libraries' estimates (with the valuemax log-likelihood at each set, to say which is the
better optimum when they differ).

Usage::

    .venv/bin/python benchmarks/bench_clv.py [--customers 1000000] [--quick]
        [--continuous] [--skip-lifetimes-pareto] [--n-starts 1] [--models bg,pareto,gg]

    # in a worktree: PYTHONPATH=src /work/main/.venv/bin/python benchmarks/bench_clv.py

Targets (issue 12): valuemax fit >= 20x faster than lifetimes for BG/NBD, >= 50x for
Pareto/NBD, >= 10x for Gamma-Gamma, at the same optimum (log-likelihood within 1e-6
relative; ``ll rel diff`` is ``|ll(vm) - ll(lt)| / |ll(lt)|``, both by valuemax's
likelihood). valuemax runs in the interpreter that runs this script (e.g. the project venv,
with ``PYTHONPATH=src`` in a worktree).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "_data"
LIFETIMES_VENV = HERE / ".venv-lifetimes"
LIFETIMES_PINS = ["lifetimes==0.11.3", "numpy==1.26.4", "pandas==1.5.3", "scipy==1.11.4",
                  "autograd==1.9.1"]
VALUEMAX_PYTHON = Path(sys.executable)
BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
NAMES = {"bg": ("r", "alpha", "a", "b"), "pareto": ("r", "alpha", "s", "beta"),
         "gg": ("p", "q", "gamma")}


def lifetimes_python() -> Path:
    """The lifetimes venv's interpreter, creating the venv and installing the pins if missing."""
    python = LIFETIMES_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["python3.11", "-m", "venv", str(LIFETIMES_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *LIFETIMES_PINS], check=True)
    return python


def make_data(n: int, continuous: bool, seed: int = 2026) -> Path:
    """Simulate the customers once (seeded) and write them to ``_data`` as ``.npz``."""
    import numpy as np

    from valuemax.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel

    path = DATA / f"clv_{n}_{'continuous' if continuous else 'days'}.npz"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    age = (273 - rng.integers(0, 273, n)) / 7.0
    out = {}
    for key, model in (("bg", BetaGeoModel.from_params(**BG)),
                       ("pareto", ParetoNBDModel.from_params(**PARETO))):
        sim = model.simulate(n, age, random_state=seed + len(out))
        recency = sim["recency"].to_numpy()
        if not continuous:  # purchase days: time since the first purchase, whole days
            recency = np.floor(recency * 7.0) / 7.0
        out[f"{key}_frequency"] = sim["frequency"].to_numpy()
        out[f"{key}_recency"] = recency
        out[f"{key}_T"] = sim["T"].to_numpy()
    spend = GammaGammaModel.from_params(**GG).simulate(out["bg_frequency"], random_state=seed)
    repeat = spend["frequency"].to_numpy() > 0
    out["gg_frequency"] = spend["frequency"].to_numpy()[repeat]
    out["gg_monetary_value"] = spend["monetary_value"].to_numpy()[repeat]
    np.savez(path, **out)
    return path


def run_fit(library: str, model: str, path: str, n_starts: str = "default") -> dict:
    """Fit one model with one library (runs inside the job's own interpreter)."""
    import numpy as np

    d = {k: v for k, v in np.load(path).items()}
    if library == "valuemax":  # imports before the clock: the fit alone is timed
        from valuemax.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel
    else:
        import warnings

        warnings.simplefilter("ignore")  # lifetimes/autograd deprecations on these pins
        from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
    t0, c0 = time.perf_counter(), time.process_time()
    if library == "valuemax":
        options = {} if n_starts == "default" else {"n_starts": int(n_starts)}
        if model == "gg":
            m = GammaGammaModel(**options).fit(d["gg_frequency"], d["gg_monetary_value"])
        else:
            cls = BetaGeoModel if model == "bg" else ParetoNBDModel
            m = cls(**options).fit(d[f"{model}_frequency"], d[f"{model}_recency"], d[f"{model}_T"])
        params = m.params_
        extra = {"n_unique": getattr(m, "n_unique_", None)}
    else:
        if model == "gg":
            m = GammaGammaFitter().fit(d["gg_frequency"], d["gg_monetary_value"])
        else:
            cls = BetaGeoFitter if model == "bg" else ParetoNBDFitter
            m = cls().fit(d[f"{model}_frequency"], d[f"{model}_recency"], d[f"{model}_T"])
        params = {("gamma" if k == "v" else k): float(v) for k, v in m.params_.items()}
        extra = {}
    fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return {"params": params, "fit_s": fit_s, "fit_cpu_s": fit_cpu_s, **extra}


def peak_rss_mb(usage: resource.struct_rusage) -> float:
    """Peak RSS of this process in MB: VmHWM on Linux, else ``ru_maxrss``.

    ``ru_maxrss`` survives ``execve``: a child forked from a parent holding more memory
    reports the parent's RSS at fork time. VmHWM belongs to the new address space.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return usage.ru_maxrss / 1024


def run_job(python: Path, library: str, model: str, path: Path, n_starts: str) -> dict:
    """Run one fit in a fresh interpreter; wall time (s), peak RSS (MB) and its output."""
    t0 = time.perf_counter()
    proc = subprocess.run([str(python), __file__, "--job", library, model, str(path), n_starts],
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{library} {model} failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    info["wall_s"] = wall
    return info


def lifetimes_job(python: Path, model: str, path: Path, refit: bool) -> dict:
    """lifetimes' fit of ``model`` on ``path``, cached beside the data (the pinned library
    on the same seeded data gives the same fit: ``--refit-lifetimes`` runs it again)."""
    cache = path.with_name(f"{path.stem}_lifetimes_{model}.json")
    if cache.exists() and not refit:
        return {**json.loads(cache.read_text()), "cached": True}
    info = run_job(python, "lifetimes", model, path, "default")
    cache.write_text(json.dumps(info))
    return info


def loglik(model: str, params: dict, path: Path) -> float:
    """valuemax's total log-likelihood of the data at ``params`` (to compare two optima)."""
    import numpy as np

    from valuemax.clv import _likelihoods as lk
    from valuemax.clv._likelihoods.pareto_nbd import pareto_nbd_loglik

    d = np.load(path)
    values = [params[k] for k in NAMES[model]]
    if model == "gg":
        return float(lk.gamma_gamma_loglik(*values, d["gg_frequency"],
                                           d["gg_monetary_value"]).sum())
    fn = lk.bg_nbd_loglik if model == "bg" else pareto_nbd_loglik
    return float(fn(*values, d[f"{model}_frequency"], d[f"{model}_recency"],
                    d[f"{model}_T"]).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 customers")
    ap.add_argument("--continuous", action="store_true", help="keep purchase times continuous")
    ap.add_argument("--skip-lifetimes-pareto", action="store_true")
    ap.add_argument("--refit-lifetimes", action="store_true",
                    help="fit lifetimes again even when its result is cached beside the data")
    ap.add_argument("--n-starts", default="default",
                    help="valuemax n_starts (default: the estimators' default, at most 3)")
    ap.add_argument("--models", default="bg,pareto,gg", help="comma-separated subset")
    ap.add_argument("--job", nargs=4, metavar=("LIBRARY", "MODEL", "PATH", "N_STARTS"))
    args = ap.parse_args()
    if args.job:
        info = run_fit(*args.job)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        info["peak_rss_mb"] = peak_rss_mb(usage)
        info["cpu_s"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(info))
        return
    import numpy as np

    n = 100_000 if args.quick else args.customers
    path = make_data(n, args.continuous)
    lt_python = lifetimes_python()
    targets = {"bg": 20, "pareto": 50, "gg": 10}
    labels = {"bg": "BG/NBD", "pareto": "Pareto/NBD", "gg": "Gamma-Gamma"}
    print(f"{n:,} customers ({'continuous' if args.continuous else 'day-rounded'} recency), "
          f"valuemax n_starts={args.n_starts}, data {path.relative_to(ROOT)}")
    head = (f"{'model':<12} {'rows':>9} {'unique':>8} {'vm wall s':>9} {'lt wall s':>9} "
            f"{'ratio':>7} {'vm cpu s':>8} {'lt cpu s':>8} {'ratio':>7} {'vm fit s':>8} "
            f"{'lt fit s':>8} {'vm MB':>6} {'lt MB':>6} {'max rel diff':>12} "
            f"{'ll(vm)-ll(lt)':>13} {'ll rel diff':>11} {'target':>6} {'vm fit cpu':>10} "
            f"{'lt fit cpu':>10} {'fit cpu ratio':>13}")
    print(head)
    for model in args.models.split(","):
        vm = run_job(VALUEMAX_PYTHON, "valuemax", model, path, args.n_starts)
        skip = model == "pareto" and args.skip_lifetimes_pareto
        lt = None if skip else lifetimes_job(lt_python, model, path, args.refit_lifetimes)
        rows = int(np.load(path)[f"{model}_frequency"].size)
        if lt is None:
            print(f"{labels[model]:<12} {rows:>9,} {vm['n_unique'] or rows:>8,} "
                  f"{vm['wall_s']:>9.2f} {'skipped':>9} {'':>7} {vm['cpu_s']:>8.2f} {'':>8} "
                  f"{'':>7} {vm['fit_s']:>8.2f}{'':>96}{vm['fit_cpu_s']:>10.2f}")
            continue
        diff = max(abs(vm["params"][k] - lt["params"][k]) / abs(lt["params"][k])
                   for k in NAMES[model])
        ll_lt = loglik(model, lt["params"], path)
        ll_gap = loglik(model, vm["params"], path) - ll_lt
        ll_rel = abs(ll_gap) / abs(ll_lt)
        print(f"{labels[model]:<12} {rows:>9,} {vm['n_unique'] or rows:>8,} "
              f"{vm['wall_s']:>9.2f} {lt['wall_s']:>9.2f} {lt['wall_s'] / vm['wall_s']:>6.1f}x "
              f"{vm['cpu_s']:>8.2f} {lt['cpu_s']:>8.2f} {lt['cpu_s'] / vm['cpu_s']:>6.1f}x "
              f"{vm['fit_s']:>8.2f} {lt['fit_s']:>8.2f} {vm['peak_rss_mb']:>6.0f} {lt['peak_rss_mb']:>6.0f} {diff:>12.1e} "
              f"{ll_gap:>13.4f} {ll_rel:>11.1e} {targets[model]:>5}x "
              f"{vm['fit_cpu_s']:>10.2f} {lt['fit_cpu_s']:>10.2f} "
              f"{lt['fit_cpu_s'] / vm['fit_cpu_s']:>12.1f}x"
              f"{' (lifetimes cached)' if lt.get('cached') else ''}")
        print(f"{'':<12} valuemax {json.dumps({k: round(v, 6) for k, v in vm['params'].items()})}"
              f"  lifetimes {json.dumps({k: round(v, 6) for k, v in lt['params'].items()})}")


if __name__ == "__main__":
    main()
