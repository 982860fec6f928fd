"""BTYD predictions at the limits of their parameters (issue 9, point 1).

When a fit runs to a boundary the mixing distributions collapse: ``r, alpha → ∞`` with
``r/alpha = λ`` fixed (one purchase rate), ``a, b → ∞`` with ``a/(a+b) = p`` fixed (one
drop-out probability), ``s, beta → ∞`` with ``s/beta = μ`` fixed (one drop-out rate), and
``a → 0`` or ``s → 0`` (no drop-out). Every prediction must stay finite and tend to the
limiting model's value. The limiting values are computed here from the limiting models'
own definitions (Poisson purchases with beta-geometric drop-out, NBD purchases with
geometric drop-out, NBD without drop-out, ...), by direct sums, ``scipy.stats`` and
``scipy.integrate.quad``, never with the package's formulas. Away from the limit the gap
must shrink like ``1/k`` (or like ``a``, ``s``); at ``k = 1e6`` it must be small.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad
from scipy.special import betaln, gammaln

from valuemax.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel

X = np.array([0.0, 1.0, 3.0, 10.0])
TX = np.array([0.0, 5.0, 20.0, 30.0])
T = np.array([35.0, 35.0, 35.0, 35.0])
HORIZON = 52.0
N = np.arange(6)
SCALES = [1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]
SMALL = [1e-3, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12]
LAM, A, B = 0.1, 0.8, 2.4  # purchase rate, drop-out beta
R, ALPHA = 0.5, 5.0  # purchase-rate gamma
P0 = 0.25  # one drop-out probability
S, BETA, MU = 0.6, 11.0, 0.02  # drop-out-rate gamma, one drop-out rate


def predictions(model):
    """Everything a purchase model predicts, as one dict of float arrays."""
    return {
        "loglik": np.asarray(model.loglik_rows(X, TX, T), dtype=float),
        "p_alive": np.asarray(model.p_alive(X, TX, T), dtype=float),
        "expected": np.asarray(model.expected_purchases(HORIZON, X, TX, T), dtype=float),
        "new": np.asarray(model.expected_purchases_new(np.array([1.0, HORIZON])), dtype=float),
        "p_n": np.asarray(model.probability_of_n_purchases(HORIZON, N), dtype=float),
    }


def _beta_mean(fn, a, b):
    """E[fn(p)] for p ~ Beta(a, b), by quadrature of the density."""
    return quad(lambda p: fn(p) * stats.beta.pdf(p, a, b), 0.0, 1.0, epsabs=0, epsrel=1e-12,
                limit=200)[0]


def poisson_beta_geometric(shift):
    """Limit r, alpha → ∞ of BG/NBD (shift 0) and MBG/NBD (shift 1): Poisson(λ) purchases,
    a drop-out coin p ~ Beta(a, b) tossed after each repeat purchase (and, with shift 1,
    after the first)."""
    lik_alive = np.exp(X * np.log(LAM) - LAM * T + betaln(A, B + X + shift) - betaln(A, B))
    has = X + shift > 0
    lik_dead = np.where(has, np.exp(X * np.log(LAM) - LAM * TX + betaln(A + 1, B + X + shift - 1)
                                    - betaln(A, B)), 0.0)
    p_alive = lik_alive / (lik_alive + lik_dead)
    # alive: p ~ Beta(a, b + x + shift); future purchases (1 - e^(-λ t p)) / p
    expected = p_alive * np.array([_beta_mean(lambda p: -np.expm1(-LAM * HORIZON * p) / p,
                                              A, B + x + shift) for x in X])
    new = np.array([_beta_mean(lambda p, t=t: (1 - p) ** shift * -np.expm1(-LAM * t * p) / p,
                               A, B) for t in (1.0, HORIZON)])
    pois, tail = stats.poisson.pmf(N, LAM * HORIZON), stats.poisson.sf(N - 1, LAM * HORIZON)
    p_n = np.array([_beta_mean(lambda p, n=n: (1 - p) ** (n + shift) * pois[n]
                               + (n > 0) * p * (1 - p) ** (n - 1 + shift) * tail[n]
                               + (n == 0) * shift * p, A, B) for n in N])
    return {"loglik": np.log(lik_alive + lik_dead), "p_alive": p_alive, "expected": expected,
            "new": new, "p_n": p_n}


def nbd_geometric(shift):
    """Limit a, b → ∞ of BG/NBD (shift 0) and MBG/NBD (shift 1): NBD purchases (rate
    λ ~ Gamma(r, alpha)) and one drop-out probability p."""
    log_nb = gammaln(R + X) - gammaln(R) + R * np.log(ALPHA)
    lik_alive = np.exp(log_nb + (X + shift) * np.log1p(-P0) - (R + X) * np.log(ALPHA + T))
    lik_dead = np.where(X + shift > 0, np.exp(log_nb + np.log(P0)
                                              + (X + shift - 1) * np.log1p(-P0)
                                              - (R + X) * np.log(ALPHA + TX)), 0.0)
    p_alive = lik_alive / (lik_alive + lik_dead)
    # E_λ[(1 - e^(-λ p t)) / p], λ ~ Gamma(r + x, alpha + T): the gamma's Laplace transform
    expected = p_alive * (1 - ((ALPHA + T) / (ALPHA + T + P0 * HORIZON)) ** (R + X)) / P0
    t = np.array([1.0, HORIZON])
    new = (1 - P0) ** shift * (1 - (ALPHA / (ALPHA + P0 * t)) ** R) / P0
    nb = stats.nbinom(R, ALPHA / (ALPHA + HORIZON))
    p_n = ((1 - P0) ** (N + shift) * nb.pmf(N)
           + (N > 0) * P0 * (1 - P0) ** np.maximum(N - 1 + shift, 0) * nb.sf(N - 1)
           + (N == 0) * shift * P0)
    return {"loglik": np.log(lik_alive + lik_dead), "p_alive": p_alive, "expected": expected,
            "new": new, "p_n": p_n}


def nbd(shift=0):
    """Limit a → 0 (or s → 0): the NBD without drop-out (shift only names the model)."""
    del shift
    t = np.array([1.0, HORIZON])
    return {"loglik": (gammaln(R + X) - gammaln(R) + R * np.log(ALPHA)
                       - (R + X) * np.log(ALPHA + T)),
            "p_alive": np.ones(X.size),
            "expected": (R + X) / (ALPHA + T) * HORIZON,
            "new": R * t / ALPHA,
            "p_n": stats.nbinom.pmf(N, R, ALPHA / (ALPHA + HORIZON))}


def pareto_one_rate(kind):
    """Pareto/NBD limits: ``"lambda"`` (r, alpha → ∞: Poisson(λ) purchases, μ ~ Gamma(s,
    beta)) or ``"mu"`` (s, beta → ∞: λ ~ Gamma(r, alpha), one drop-out rate μ); each
    likelihood is E[λ^x e^(-λ T) e^(-μ T)] + ∫_{t_x}^T E[λ^x e^(-λ τ)] f_μ(τ) dτ by quadrature."""
    def purchase(x, tau):  # E[λ^x e^(-λ τ)]
        if kind == "lambda":
            return LAM ** x * np.exp(-LAM * tau)
        return np.exp(gammaln(R + x) - gammaln(R) + R * np.log(ALPHA)
                      - (R + x) * np.log(ALPHA + tau))

    def survival(tau):  # P(lifetime > τ)
        return (BETA / (BETA + tau)) ** S if kind == "lambda" else np.exp(-MU * tau)

    def death(tau):  # lifetime density
        return (S / BETA * (BETA / (BETA + tau)) ** (S + 1) if kind == "lambda"
                else MU * np.exp(-MU * tau))

    alive = np.array([purchase(x, T0) * survival(T0) for x, T0 in zip(X, T, strict=True)])
    dead = np.array([quad(lambda tau, x=x: purchase(x, tau) * death(tau), tx, T0,
                          epsabs=0, epsrel=1e-12)[0] for x, tx, T0 in zip(X, TX, T, strict=True)])
    p_alive = alive / (alive + dead)
    if kind == "lambda":  # μ | alive ~ Gamma(s, beta + T): E[(1 - e^(-μ t))/μ] λ
        future = LAM * (BETA + T) / (S - 1) * (1 - ((BETA + T) / (BETA + T + HORIZON)) ** (S - 1))
        t = np.array([1.0, HORIZON])
        new = LAM * BETA / (S - 1) * (1 - (BETA / (BETA + t)) ** (S - 1))
    else:  # E[λ | x, T] (1 - e^(-μ t))/μ
        future = (R + X) / (ALPHA + T) * -np.expm1(-MU * HORIZON) / MU
        new = R / ALPHA * -np.expm1(-MU * np.array([1.0, HORIZON])) / MU
    return {"loglik": np.log(alive + dead), "p_alive": p_alive, "expected": p_alive * future,
            "new": new}


CASES = {
    # name: (build model at scale k, limiting values, how the gap shrinks)
    "BG/NBD r,alpha": (lambda k: BetaGeoModel.from_params(r=LAM * k, alpha=k, a=A, b=B),
                       lambda: poisson_beta_geometric(0), "large"),
    "MBG/NBD r,alpha": (lambda k: ModifiedBetaGeoModel.from_params(r=LAM * k, alpha=k, a=A, b=B),
                        lambda: poisson_beta_geometric(1), "large"),
    "BG/NBD a,b": (lambda k: BetaGeoModel.from_params(r=R, alpha=ALPHA, a=P0 * k,
                                                      b=(1 - P0) * k),
                   lambda: nbd_geometric(0), "large"),
    "MBG/NBD a,b": (lambda k: ModifiedBetaGeoModel.from_params(r=R, alpha=ALPHA, a=P0 * k,
                                                               b=(1 - P0) * k),
                    lambda: nbd_geometric(1), "large"),
    "BG/NBD a->0": (lambda k: BetaGeoModel.from_params(r=R, alpha=ALPHA, a=k, b=B),
                    nbd, "small"),
    "MBG/NBD a->0": (lambda k: ModifiedBetaGeoModel.from_params(r=R, alpha=ALPHA, a=k, b=B),
                     nbd, "small"),
    "Pareto/NBD s->0": (lambda k: ParetoNBDModel.from_params(r=R, alpha=ALPHA, s=k, beta=BETA),
                        nbd, "small"),
    "Pareto/NBD r,alpha": (lambda k: ParetoNBDModel.from_params(r=LAM * k, alpha=k, s=S,
                                                                beta=BETA),
                           lambda: pareto_one_rate("lambda"), "large"),
    "Pareto/NBD s,beta": (lambda k: ParetoNBDModel.from_params(r=R, alpha=ALPHA, s=MU * k,
                                                               beta=k),
                          lambda: pareto_one_rate("mu"), "large"),
}


@pytest.fixture(scope="module")
def limits():
    return {name: case[1]() for name, case in CASES.items()}


def _gap(got, want):
    """Largest relative gap (absolute for log-likelihoods, whose scale is their own)."""
    return {key: float(np.max(np.abs(got[key] - want[key]) / (
        1.0 if key == "loglik" else np.maximum(np.abs(want[key]), 1e-12))))
        for key in want}


@pytest.mark.parametrize("name", list(CASES))
def test_predictions_tend_to_the_limiting_model(name, limits):
    build, _, kind = CASES[name]
    want = limits[name]
    scales = SCALES if kind == "large" else SMALL
    gaps = []
    for k in scales:
        got = predictions(build(k))
        for key, value in got.items():
            assert np.all(np.isfinite(value)), (name, k, key)
        assert np.all((got["p_alive"] >= 0) & (got["p_alive"] <= 1))
        gaps.append(_gap(got, want))
    distance = [1.0 / k for k in scales] if kind == "large" else scales
    for key in want:
        first = gaps[0][key] / distance[0]  # the gap at the first scale sets the constant
        for k, d, gap in zip(scales, distance, gaps, strict=True):
            # the gap shrinks at least like 1/k (or like a, s), down to round-off
            assert gap[key] <= 3 * first * d + 1e-8, (name, key, k, gap[key], first * d)
    # continuity: at 1e6 (1e-6) the predictions are the limiting model's to 1e-3 (the
    # O(x^2 / r) gap, r = 0.1 k), and at the far end to round-off
    near = gaps[scales.index(1e6 if kind == "large" else 1e-6)]
    assert max(near.values()) < 1e-3, (name, near)
    assert max(gaps[-1].values()) < 1e-6, (name, gaps[-1])


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_the_failing_fits_of_the_issue_predict_finite_values(cls):
    # estimates that crashed the value step and the propensity baseline (issue 9)
    params = {BetaGeoModel: dict(r=70691.5, alpha=615655.6, a=0.04, b=1049.4),
              ModifiedBetaGeoModel: dict(r=91826.67, alpha=3269017.37, a=0.005478, b=3027.28),
              ParetoNBDModel: dict(r=91826.6, alpha=3269017.37, s=7e-6, beta=531605.1)}[cls]
    m = cls.from_params(**params, time_unit="D")
    got = predictions(m)
    for key, value in got.items():
        assert np.all(np.isfinite(value)), key
    # one purchase rate λ = r/alpha and (almost) no drop-out: a new customer's expectation
    # is close to λ t, each customer's to λ t times P(alive)
    lam = params["r"] / params["alpha"]
    assert got["new"][1] == pytest.approx(lam * HORIZON, rel=0.02)
    assert m.boundary_[0] == "no purchase-rate heterogeneity"


def test_fit_log_likelihood_is_finite_up_to_the_search_bound():
    # the optimiser's box is |ln param| <= 15: every corner keeps a finite likelihood
    from valuemax.clv._likelihoods import bg_nbd_loglik, mbg_nbd_loglik
    from valuemax.clv._likelihoods.pareto_nbd import pareto_nbd_loglik

    x, tx, age = np.array([0.0, 2.0, 40.0]), np.array([0.0, 10.0, 30.0]), np.full(3, 35.0)
    for corner in np.array(np.meshgrid(*[[-15.0, 0.0, 15.0]] * 4)).reshape(4, -1).T:
        p = np.exp(corner)
        for fn in (bg_nbd_loglik, mbg_nbd_loglik, pareto_nbd_loglik):
            assert np.all(np.isfinite(fn(*p, x, tx, age))), (fn.__name__, p)


def test_pareto_died_integral_matches_quadrature_in_the_limit():
    from valuemax.clv._likelihoods.pareto_nbd import log_died_integral

    # r, alpha in the millions (λ = 0.1): the integrand is e^(-λ τ) (β+τ)^-(s+1) up to scale
    r, alpha = 1e6 * LAM, 1e6
    got = log_died_integral(r, alpha, S, BETA, X[1:], TX[1:], T[1:])
    for x, tx, age, value in zip(X[1:], TX[1:], T[1:], got, strict=True):
        scale = -(r + x) * np.log(alpha + tx) - (S + 1) * np.log(BETA + tx)
        ref = quad(lambda tau, x=x, tx=tx: np.exp(-(r + x) * np.log1p((tau - tx) / (alpha + tx))
                                                  - (S + 1) * np.log1p((tau - tx) / (BETA + tx))),
                   tx, age, epsabs=0, epsrel=1e-13)[0]
        assert value == pytest.approx(scale + np.log(ref), abs=1e-9)


@pytest.mark.parametrize(("n", "a", "b", "c"), [
    (0.243, 0.793, 2.426, 52.0 / 4.414),  # CDNOW BG/NBD, a new customer, one year
    (2.243, 0.793, 4.426, 39.0 / 43.3),  # and a customer with x = 2, T = 38.86
    (12.5, 3.0, 1.5, 0.8),
    (0.5, 1.00001, 2.0, 5.0),  # next to the a = 1 pole of the Gauss form
])
def test_series_and_gauss_form_agree_with_quadrature(n, a, b, c):
    from valuemax.clv._beta_geo_family import expected_alive_purchases

    # E over p ~ Beta(a, b) of (1 - (1 + p c)^-n) / p: the gamma's Laplace transform in λ
    ref = quad(lambda p: -np.expm1(-n * np.log1p(p * c)) / p * stats.beta.pdf(p, a, b),
               0.0, 1.0, epsabs=0, epsrel=1e-12, limit=200)[0]
    series = expected_alive_purchases(np.array([n]), a, np.array([b]), np.array([c]))
    gauss = expected_alive_purchases(np.array([n]), a, np.array([b]), np.array([c]),
                                     closed_form=True)
    assert series[0] == pytest.approx(ref, rel=1e-9)
    assert gauss[0] == pytest.approx(ref, rel=1e-7)
