"""The likelihoods and closed forms against direct numerical integration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import betaln, gammaln

from valuemax.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from valuemax.clv._likelihoods.pareto_nbd import _log_tail, _wide, pareto_nbd_loglik


@pytest.mark.parametrize("params", [(0.553, 10.578, 0.606, 11.669),  # alpha < beta
                                    (0.553, 15.0, 0.606, 2.0),        # alpha >= beta
                                    (1.2, 3.0, 2.0, 3.0),             # alpha == beta
                                    # near the no-heterogeneity boundary (r, alpha large):
                                    # no drop-out (binomial series), the series of alpha >=
                                    # beta, and a long series (quadrature) for alpha < beta
                                    (709.7, 2354.7, 3e-7, 1.1e6), (709.7, 2354.7, 0.5, 2000.0),
                                    (700.0, 2300.0, 2.0, 3000.0)])
@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 38.86), (2, 30.43, 38.86), (40, 5.0, 20.0)])
def test_pareto_nbd_likelihood_equals_the_integral_over_death_time(params, x, t_x, T):
    # Integrating lambda and mu out of lambda^x [e^-(lambda+mu)T + mu int_tx^T e^-(lambda+mu)tau]
    # gives C [(alpha+T)^-(r+x) (beta+T)^-s + s int_tx^T (alpha+tau)^-(r+x) (beta+tau)^-(s+1)]
    # with C = Gamma(r+x) alpha^r beta^s / Gamma(r): no hypergeometric function involved.
    r, alpha, s, beta = params
    log_c = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    shift = (r + x) * np.log(alpha + T) + s * np.log(beta + T)  # keeps the integral O(1)
    died = s * integrate.quad(
        lambda tau: np.exp(shift - (r + x) * np.log(alpha + tau) - (s + 1) * np.log(beta + tau)),
        t_x, T, epsabs=0, epsrel=1e-13)[0]
    direct = log_c - shift + np.log1p(died)
    ours = pareto_nbd_loglik(r, alpha, s, beta, np.array([x]), np.array([t_x]), np.array([T]))
    assert ours[0] == pytest.approx(direct, abs=1e-9)


def test_the_boundary_cases_take_each_route():
    """The boundary points above are evaluated by the three methods of ``_log_odds``."""
    T = np.array([38.86])
    assert _wide(2354.7, 1.1e6, 3e-7, T).all()
    for params, long in (((709.7, 2354.7, 0.5, 2000.0), False),
                         ((700.0, 2300.0, 2.0, 3000.0), True)):
        assert not _wide(params[1], params[3], params[2], T).any()
        assert np.isnan(_log_tail(*params, np.array([2.0]), np.array([30.43]))[0][0]) == long


def _expected_new(weight, r, alpha, a, b, t):
    """E[X(t)] = E_p[weight(p)/p (1 - (alpha/(alpha+p t))^r)], integrated over Beta(a, b)."""
    def f(p):
        return weight(p) / p * (1 - (alpha / (alpha + p * t)) ** r) * stats.beta.pdf(p, a, b)
    return integrate.quad(f, 0, 1, limit=200)[0]


def test_unconditional_expectations_equal_the_integrals():
    r, alpha, a, b = 0.525, 6.183, 0.891, 1.614
    mbg = ModifiedBetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    bg = BetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    for t in (5.0, 39.0, 120.0):
        # MBG/NBD: a customer survives the first toss with probability 1-p
        assert mbg.expected_purchases_new(t) == pytest.approx(
            _expected_new(lambda p: 1 - p, r, alpha, a, b, t), rel=1e-6)
        assert bg.expected_purchases_new(t) == pytest.approx(
            _expected_new(lambda p: 1.0, r, alpha, a, b, t), rel=1e-6)


def test_pareto_unconditional_expectation_equals_the_integral():
    r, alpha, s, beta = 0.553, 10.578, 0.606, 11.669
    m = ParetoNBDModel.from_params(r=r, alpha=alpha, s=s, beta=beta)
    t = 39.0
    # E[X(t) | lambda, mu] = lambda/mu (1 - exp(-mu t)); E[lambda] = r/alpha
    direct = r / alpha * integrate.quad(
        lambda mu: (1 - np.exp(-mu * t)) / mu * stats.gamma.pdf(mu, s, scale=1 / beta),
        0, np.inf)[0]
    assert m.expected_purchases_new(t) == pytest.approx(direct, rel=1e-6)
    near_one = ParetoNBDModel.from_params(r=r, alpha=alpha, s=1.0, beta=beta)
    assert near_one.expected_purchases_new(t) == pytest.approx(
        r * beta / alpha * np.log1p(t / beta))


@pytest.mark.parametrize("x", [5, 500, 3000])
def test_bg_nbd_conditional_expectation_equals_the_integral_for_heavy_buyers(x):
    # Euler's transformation keeps 2F1 finite where the textbook form overflows (x = 3000).
    # With t_x == T: P(alive) = (b+x-1)/(a+b+x-1), and given alive the expectation is the
    # integral over p ~ Beta(a, b+x) of (1/p)(1 - ((alpha+T)/(alpha+T+p t))^(r+x)),
    # computed here with p = u^(1/a) to remove the singularity at p = 0.
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    T, t = 38.86, 39.0
    m = BetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    value = m.expected_purchases(t, [x], [T], [T])[0]

    def integrand(u):
        p = u ** (1 / a)
        return ((1 - ((alpha + T) / (alpha + T + p * t)) ** (r + x)) / p
                * np.exp((b + x - 1) * np.log1p(-p) - betaln(a, b + x)) / a)

    given_alive = integrate.quad(integrand, 0, 1, limit=1000, epsrel=1e-10,
                                 points=[1e-8, 1e-6, 1e-4, 1e-2])[0]
    assert value == pytest.approx(given_alive * (b + x - 1) / (a + b + x - 1), rel=1e-6)
    mbg = ModifiedBetaGeoModel.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614)
    assert np.isfinite(mbg.expected_purchases(t, [x], [T], [T])[0])


@pytest.mark.parametrize("x", [1, 5, 500])
def test_mbg_nbd_conditional_expectation_equals_the_integral(x):
    # With t_x == T: P(alive) = 1/(1 + a/(b+x)); given alive, p ~ Beta(a, b+x+1)
    r, alpha, a, b = 0.525, 6.183, 0.891, 1.614
    T, t = 38.86, 39.0
    m = ModifiedBetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    value = m.expected_purchases(t, [x], [T], [T])[0]

    def integrand(u):
        p = u ** (1 / a)
        return ((1 - ((alpha + T) / (alpha + T + p * t)) ** (r + x)) / p
                * np.exp((b + x) * np.log1p(-p) - betaln(a, b + x + 1)) / a)

    given_alive = integrate.quad(integrand, 0, 1, limit=1000, epsrel=1e-10,
                                 points=[1e-8, 1e-6, 1e-4, 1e-2])[0]
    p_alive = 1 / (1 + a / (b + x))
    assert m.p_alive([x], [T], [T])[0] == pytest.approx(p_alive)
    assert value == pytest.approx(given_alive * p_alive, rel=1e-6)


@pytest.mark.parametrize("x", [1, 40])
def test_pareto_nbd_conditional_expectation_equals_the_integral(x):
    # With t_x == T the customer is alive (A0 = 0); posterior mu ~ Gamma(s, beta+T) and
    # E[lambda] = (r+x)/(alpha+T), so E[Y(t)] = (r+x)/(alpha+T) E[(1 - e^(-mu t))/mu]
    r, alpha, s, beta = 0.553, 10.578, 0.606, 11.669
    T, t = 38.86, 39.0
    m = ParetoNBDModel.from_params(r=r, alpha=alpha, s=s, beta=beta)
    assert m.p_alive([x], [T], [T])[0] == 1.0
    direct = (r + x) / (alpha + T) * integrate.quad(
        lambda mu: -np.expm1(-mu * t) / mu * stats.gamma.pdf(mu, s, scale=1 / (beta + T)),
        0, np.inf, limit=200)[0]
    assert m.expected_purchases(t, [x], [T], [T])[0] == pytest.approx(direct, rel=1e-6)


@pytest.mark.parametrize(("loglik", "grad", "params", "data"), [
    ("bg_nbd_loglik", "bg_nbd_loglik_grad", (0.243, 4.414, 0.793, 2.426),
     ([0, 1, 2, 40], [0.0, 5.0, 30.43, 38.0], [38.86, 20.0, 38.86, 39.0])),
    ("gamma_gamma_loglik", "gamma_gamma_loglik_grad", (6.25, 3.74, 15.44),
     ([1, 3, 12], [20.0, 35.5, 80.0])),
])
def test_analytic_gradients_match_central_differences(loglik, grad, params, data):
    from valuemax.clv import _likelihoods

    f, g = getattr(_likelihoods, loglik), getattr(_likelihoods, grad)
    arrays = [np.asarray(d, dtype=float) for d in data]
    analytic = g(*params, *arrays)
    for i in range(len(params)):
        h = 1e-6 * params[i]
        up, down = list(params), list(params)
        up[i] += h
        down[i] -= h
        numeric = (f(*up, *arrays) - f(*down, *arrays)) / (2 * h)
        np.testing.assert_allclose(analytic[i], numeric, rtol=1e-6, atol=1e-8)
