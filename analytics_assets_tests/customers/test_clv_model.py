"""BG/NBD and Gamma-Gamma: the published CDNOW estimates, independent numerical checks, properties.

CDNOW data: see data/README.md. Published values: Fader, Hardie & Lee (2005) for BG/NBD, Fader & Hardie
(2013) for Gamma-Gamma. Expected purchases are checked against the published example, the closed form with
scipy's hyp2f1 (where that is accurate) and an adaptive numerical integration of the model.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from analytics_assets.customers import clv_model as cm
from analytics_assets.customers.clv_model import BgNbdFit, GammaGammaFit

DATA = Path(__file__).parent / "data" / "cdnow_customers_summary_with_transactions.csv"
PUBLISHED_BG = BgNbdFit(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4, converged=True,
                        iterations=0, customers=2357)
PUBLISHED_GG = GammaGammaFit(p=6.25, q=3.74, gamma=15.44, log_likelihood=math.nan, converged=True,
                             iterations=0, customers=946)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def cdnow_bg(cdnow) -> BgNbdFit:
    return cm.fit_bg_nbd(cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float))


# ------------------------------------------------------------------------- independent reference computations


def reference_ll(params, x, tx, T) -> float:
    """BG/NBD log-likelihood, FHL (2005) eq. 6 evaluated term by term with plain exponentials."""
    r, alpha, a, b = params
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    common = np.exp(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha))
    first = np.exp(special.betaln(a, b + x) - special.betaln(a, b)) * common / (alpha + T) ** (r + x)
    with np.errstate(invalid="ignore", divide="ignore"):
        dead = np.exp(special.betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - special.betaln(a, b))
        second = np.where(x > 0, dead * common / (alpha + tx) ** (r + x), 0.0)
    return float(np.sum(np.log(first + second)))


def reference_alive(params, x, tx, T) -> float:
    """P(alive) = P(data, alive) / P(data): the first term of eq. 6 over the whole likelihood."""
    r, alpha, a, b = params
    if x == 0:
        return 1.0
    log_alive = special.betaln(a, b + x) - (r + x) * math.log(alpha + T)
    log_dead = special.betaln(a + 1, b + x - 1) - (r + x) * math.log(alpha + tx)
    return 1 / (1 + math.exp(min(log_dead - log_alive, 700)))


def reference_expected(params, t, x, tx, T) -> float:
    """E[purchases in (T, T+t]] by integrating over the posterior of the alive customer's (lambda, p).

    Alive at T, lambda | data ~ Gamma(r + x, alpha + T) and p | data ~ Beta(a, b + x), independent; an alive
    customer then makes (1 - exp(-lambda p t)) / p purchases in expectation (FHL 2005 eq. 7). Integrating
    lambda out leaves one integral over p, done by QUADPACK's adaptive rules over the whole real line in
    y = logit(p), split at the Beta's mode and where the integrand turns (kappa p ~ 1).
    """
    r, alpha, a, b = params
    s, beta, kappa = r + x, b + x, t / (alpha + T)
    log_norm = special.betaln(a, beta)

    def integrand(y):
        p = special.expit(y)
        density = math.exp(a * special.log_expit(y) + beta * special.log_expit(-y) - log_norm)
        gain = s * kappa if p == 0 else -math.expm1(-s * math.log1p(kappa * p)) / p
        return gain * density

    cuts = sorted({math.log(a / beta), -math.log(kappa)})
    pieces = [(-np.inf, cuts[0]), *zip(cuts, cuts[1:]), (cuts[-1], np.inf)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = sum(integrate.quad(integrand, lo, hi, limit=400, epsabs=0, epsrel=1e-12)[0]
                    for lo, hi in pieces)
    assert math.isfinite(value)
    return reference_alive(params, x, tx, T) * value


def simulate_bg_nbd(n, r, alpha, a, b, rng, t_min=20.0, t_max=52.0, day=None):
    """Customers from the BG/NBD story: lambda ~ Gamma(r, alpha), p ~ Beta(a, b), drop out after a repeat
    purchase with probability p; observed from their first purchase for T ~ U(t_min, t_max)."""
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = rng.uniform(t_min, t_max, n)
    if day:
        T = np.maximum(np.round(T / day), 1) * day
    events = rng.poisson(lam * T)  # purchases a never-dying customer would make in (0, T]
    last = rng.geometric(p)  # the repeat purchase after which the customer drops out
    x = np.minimum(events, last)
    # the x-th of `events` uniform purchase times in (0, T] is T * Beta(x, events - x + 1)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(events - x + 1, 1)), 0.0)
    if day:
        tx = np.where(x > 0, np.clip(np.round(tx / day) * day, day, T), 0.0)
    return x.astype(float), tx, T


def simulate_gamma_gamma(n, p, q, gamma, rng):
    x = 1.0 + rng.poisson(2.0, n)
    nu = rng.gamma(q, 1 / gamma, n)
    return x, rng.gamma(p * x, 1 / nu) / x  # mean of x Gamma(p, nu) spends


def params(fit: BgNbdFit) -> tuple[float, float, float, float]:
    return fit.r, fit.alpha, fit.a, fit.b


# ------------------------------------------------------------------------------------- published CDNOW values


def test_cdnow_data_is_the_published_sample(cdnow):
    assert len(cdnow) == 2357
    assert (cdnow["x"] > 0).sum() == 946
    assert cdnow.iloc[0][["x", "t_x", "T"]].tolist() == [2, 30.43, 38.86]


def test_bg_nbd_matches_published_cdnow_estimates(cdnow_bg):
    fit = cdnow_bg
    assert fit.converged and fit.customers == 2357 and fit.iterations > 0
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fit, name) == pytest.approx(getattr(PUBLISHED_BG, name), rel=0.01), name
    assert abs(fit.log_likelihood - PUBLISHED_BG.log_likelihood) < 0.5
    assert isinstance(fit.log_likelihood, float) and isinstance(fit.converged, bool)


def test_bg_nbd_fit_is_a_maximum_of_the_reference_likelihood(cdnow, cdnow_bg):
    x, tx, T = cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    best = reference_ll(params(cdnow_bg), x, tx, T)
    assert cdnow_bg.log_likelihood == pytest.approx(best, abs=1e-6)
    for i in range(4):
        for factor in (0.99, 1.01):
            moved = list(params(cdnow_bg))
            moved[i] *= factor
            assert reference_ll(moved, x, tx, T) < best


def test_gamma_gamma_matches_published_cdnow_estimates(cdnow):
    fit = cm.fit_gamma_gamma(cdnow["x"].to_numpy(float), cdnow["zbar"].to_numpy(float))
    assert fit.converged and fit.customers == 946
    for name in ("p", "q", "gamma"):
        assert getattr(fit, name) == pytest.approx(getattr(PUBLISHED_GG, name), rel=0.01), name
    # the reported log-likelihood is the density of the observed means (Fader & Hardie 2013, eq. 3)
    buyers = cdnow[cdnow["x"] > 0]
    x, m = buyers["x"].to_numpy(float), buyers["zbar"].to_numpy(float)
    p, q, g = fit.p, fit.q, fit.gamma
    ll = np.sum(special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(g)
                + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(g + m * x))
    assert fit.log_likelihood == pytest.approx(ll, abs=1e-6)


def test_cdnow_customer_one_matches_the_published_example():
    # Customer 0001 of CDNOW (x=2, t_x=30.43, T=38.86), with the published parameters: Fader, Hardie & Lee's
    # Excel note for the BG/NBD (brucehardie.com/notes/004) gives 1.226 expected purchases in the next
    # 39 weeks.
    customer = (2, 30.43, 38.86)
    expected = float(cm.expected_purchases(PUBLISHED_BG, 39, *customer))
    assert expected == pytest.approx(1.226, abs=5e-4)
    assert expected == pytest.approx(reference_expected(params(PUBLISHED_BG), 39, *customer), rel=1e-8)
    alive = float(cm.probability_alive(PUBLISHED_BG, *customer))
    assert alive == pytest.approx(reference_alive(params(PUBLISHED_BG), *customer), rel=1e-12)
    assert alive == pytest.approx(0.7266, abs=1e-4)


def test_cdnow_predictions_are_sensible(cdnow, cdnow_bg):
    x, tx, T = cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    alive = cm.probability_alive(cdnow_bg, x, tx, T)
    assert np.all((alive > 0) & (alive <= 1))
    assert np.all(alive[x == 0] == 1.0)
    expected = cm.expected_purchases(cdnow_bg, 39, x, tx, T)
    assert np.all(np.isfinite(expected) & (expected >= 0))
    # the cohort made 2,457 repeat purchases in calibration (32.7 weeks on average per customer); over the
    # next 39 weeks the model expects fewer, as customers drop out, but of the same order
    assert 0.5 * x.sum() < expected.sum() < x.sum()
    # a frequent, recent buyer expects more than a lapsed one with the same frequency
    frequent_recent = cm.expected_purchases(cdnow_bg, 39, 10, 38, 38.86)
    frequent_lapsed = cm.expected_purchases(cdnow_bg, 39, 10, 10, 38.86)
    assert frequent_recent > 3 * frequent_lapsed


# ------------------------------------------------------------------------------- expectations, numerically


@pytest.mark.parametrize("r,alpha", [(0.05, 0.2), (0.5, 5.0), (5.0, 300.0)])
@pytest.mark.parametrize("a", [0.05, 0.8, 1 - 3e-5, 1 + 2e-3, 3.0, 40.0])
@pytest.mark.parametrize("b", [0.05, 2.5, 100.0, 1e4])
def test_expected_purchases_matches_numerical_integration(r, alpha, a, b):
    # includes the regions where scipy's hyp2f1 fails (x >= 100: NaN; b = 1e4: wrong values)
    fit = BgNbdFit(r, alpha, a, b, 0.0, True, 0, 0)
    customers = [(0, 0.0, 40.0), (1, 0.5, 1.0), (3, 35.0, 40.0), (40, 20.0, 300.0), (150, 100.0, 365.0),
                 (600, 399.0, 400.0)]
    t = np.array([1e-3, 1.0, 39.0, 1095.0, 5e4])
    for x, tx, T in customers:
        got = cm.expected_purchases(fit, t, x, tx, T)
        want = [reference_expected((r, alpha, a, b), ti, x, tx, T) for ti in t]
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-300, err_msg=f"{(r, alpha, a, b, x, tx, T)}")


def closed_form_expected(params, t, x, tx, T):
    """FHL (2005) eq. 10 with scipy's hyp2f1, where that is accurate (moderate parameters, x <~ 50)."""
    r, alpha, a, b = params
    z = t / (alpha + T + t)
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * bracket * reference_alive(params, x, tx, T)


def test_expected_purchases_matches_the_hypergeometric_closed_form(cdnow, cdnow_bg):
    sample = cdnow[cdnow["x"] <= 30].iloc[::7]
    for t in (1.0, 39.0, 156.0):
        got = cm.expected_purchases(cdnow_bg, t, sample["x"], sample["t_x"], sample["T"])
        want = [closed_form_expected(params(cdnow_bg), t, x, tx, T)
                for x, tx, T in sample[["x", "t_x", "T"]].itertuples(index=False)]
        np.testing.assert_allclose(got, want, rtol=1e-8)


def test_expected_purchases_at_a_equal_one():
    # eq. 10 is 0/0 at a = 1; the integral form is not
    fit = BgNbdFit(0.243, 4.414, 1.0, 2.426, 0, True, 0, 0)
    for x, tx, T in [(0, 0, 38.86), (2, 30.43, 38.86), (7, 12.0, 20.0)]:
        assert float(cm.expected_purchases(fit, 39, x, tx, T)) == pytest.approx(
            reference_expected(params(fit), 39, x, tx, T), rel=1e-8)
    near = [float(cm.expected_purchases(BgNbdFit(0.243, 4.414, a, 2.426, 0, True, 0, 0), 39, 2, 30.43, 38.86))
            for a in (1 - 1e-6, 1.0, 1 + 1e-6)]
    assert near[0] > near[1] > near[2] and near[0] - near[2] < 1e-5


def test_expected_purchases_increase_with_t_and_start_at_zero():
    t = np.array([0.0, 0.001, 1, 5, 39, 100, 1000, 1e5])
    for x, tx, T in [(0, 0, 38.86), (2, 30.43, 38.86), (29, 38.0, 38.86), (5, 2.0, 38.86)]:
        e = cm.expected_purchases(PUBLISHED_BG, t, x, tx, T)
        assert e[0] == 0.0
        assert np.all(np.diff(e) > 0)
        assert np.all(np.isfinite(e))


def test_predictions_broadcast_and_keep_shape():
    e = cm.expected_purchases(PUBLISHED_BG, np.array([[1.0], [39.0]]), [0, 2, 5], [0, 30.43, 20], 38.86)
    assert e.shape == (2, 3) and np.all(e[1] > e[0])
    assert cm.probability_alive(PUBLISHED_BG, 2, 30.43, 38.86).shape == ()
    assert cm.probability_alive(PUBLISHED_BG, pd.Series([0, 1]), pd.Series([0, 1.0]), 5.0).shape == (2,)


def test_probability_alive_properties():
    assert np.all(cm.probability_alive(PUBLISHED_BG, [0, 0, 0], [0, 0, 0], [0.0, 10, 1e6]) == 1.0)
    # the longer since the last purchase, the less likely alive; more purchases at the same gap: less likely
    gaps = cm.probability_alive(PUBLISHED_BG, 3, 10.0, np.array([10.0, 20, 40, 80]))
    assert gaps[0] == pytest.approx(1 / (1 + PUBLISHED_BG.a / (PUBLISHED_BG.b + 2)))
    assert np.all(np.diff(gaps) < 0)
    busy = cm.probability_alive(PUBLISHED_BG, [1, 5, 20], [10.0, 10, 10], 30.0)
    assert np.all(np.diff(busy) < 0) and np.all(busy > 0)
    extreme = cm.probability_alive(PUBLISHED_BG, 5000, 1.0, 1e6)
    assert extreme == 0.0 or (0 < extreme < 1e-300)


# ---------------------------------------------------------------------------------- fitting: recovery, speed


def test_bg_nbd_recovers_simulated_parameters():
    truth = (0.5, 5.0, 0.8, 2.5)
    x, tx, T = simulate_bg_nbd(20_000, *truth, np.random.default_rng(20240601))
    fit = cm.fit_bg_nbd(x, tx, T)
    assert fit.converged and fit.customers == 20_000
    np.testing.assert_allclose(params(fit), truth, rtol=0.10)
    assert reference_ll(params(fit), x, tx, T) >= reference_ll(truth, x, tx, T)


def test_bg_nbd_is_invariant_to_time_unit_and_to_duplicated_rows(cdnow, cdnow_bg):
    x, tx, T = cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    in_days = cm.fit_bg_nbd(x, tx * 7, T * 7)
    assert in_days.alpha == pytest.approx(cdnow_bg.alpha * 7, rel=1e-4)
    for name in ("r", "a", "b"):
        assert getattr(in_days, name) == pytest.approx(getattr(cdnow_bg, name), rel=1e-4)
    assert in_days.log_likelihood == pytest.approx(cdnow_bg.log_likelihood - x.sum() * math.log(7), abs=1e-3)
    tripled = cm.fit_bg_nbd(np.tile(x, 3), np.tile(tx, 3), np.tile(T, 3))
    assert tripled.customers == 3 * 2357
    np.testing.assert_allclose(params(tripled), params(cdnow_bg), rtol=1e-4)
    assert tripled.log_likelihood == pytest.approx(3 * cdnow_bg.log_likelihood, abs=1e-3)


def test_bg_nbd_fits_a_million_customers_in_seconds():
    x, tx, T = simulate_bg_nbd(1_000_000, *params(PUBLISHED_BG), np.random.default_rng(7), t_min=27, t_max=39,
                               day=1 / 7)
    started = time.perf_counter()
    fit = cm.fit_bg_nbd(x, tx, T)
    elapsed = time.perf_counter() - started
    assert fit.converged and fit.customers == 1_000_000
    np.testing.assert_allclose(params(fit), params(PUBLISHED_BG), rtol=0.05)
    assert elapsed < 20, f"1M customers took {elapsed:.1f}s"


def test_gamma_gamma_recovers_simulated_parameters():
    x, m = simulate_gamma_gamma(20_000, 6.0, 4.0, 15.0, np.random.default_rng(11))
    fit = cm.fit_gamma_gamma(x, m)
    assert fit.converged and fit.customers == 20_000
    np.testing.assert_allclose([fit.p, fit.q, fit.gamma], [6.0, 4.0, 15.0], rtol=0.10)


# ------------------------------------------------------------------------------------- edge cases and errors


def test_bg_nbd_all_zero_frequency_reports_not_converged():
    fit = cm.fit_bg_nbd(np.zeros(100), np.zeros(100), np.linspace(1, 40, 100))
    assert not fit.converged  # a and b are not identified without a repeat purchase
    assert np.isfinite(fit.log_likelihood) and fit.customers == 100
    assert np.all(cm.probability_alive(fit, 0, 0, 10.0) == 1)
    assert np.isfinite(cm.expected_purchases(fit, 10, 0, 0, 10.0))


@pytest.mark.parametrize("x,tx,T", [
    ([3], [5.0], [10.0]),  # a single customer
    ([0], [0.0], [10.0]),
    ([2] * 50, [5.0] * 50, [10.0] * 50),  # all tied
    ([0, 0], [0.0, 0.0], [0.0, 0.0]),  # observed for no time at all
    ([1, 1, 0, 4, 1], [2.0, 2.0, 0.0, 9.0, 2.0], [10.0, 10.0, 10.0, 10.0, 10.0]),
])
def test_bg_nbd_degenerate_inputs_do_not_crash(x, tx, T):
    fit = cm.fit_bg_nbd(np.array(x, float), np.array(tx, float), np.array(T, float))
    assert fit.customers == len(x)
    assert all(v > 0 and np.isfinite(v) for v in params(fit))
    e = cm.expected_purchases(fit, 10, np.array(x, float), np.array(tx, float), np.array(T, float))
    assert np.all(np.isfinite(e) & (e >= 0))


@pytest.mark.parametrize("x,tx,T,message", [
    ([], [], [], "empty"),
    ([1, 2, -1], [1, 1, 0], [2, 2, 2], "index 2: frequency < 0"),
    ([1, 1, 1, 1], [1, 1, 3, 4], [2, 2, 2, 2], "index 2: recency > T"),
    ([0, 1], [0.5, 1], [2, 2], "index 0: recency must be 0 when frequency is 0"),
    ([1, 1.5], [1, 1], [2, 2], "index 1: frequency is not a whole number"),
    ([1, 1], [1, -1], [2, 2], "index 1: recency < 0"),
    ([1, np.nan], [1, 1], [2, 2], "index 1: frequency is not finite"),
    ([1, 1], [1, 1], [2, np.inf], "index 1: T is not finite"),
    ([1, 1], [1, 1], [2, 2, 2], "equal length"),
])
def test_bg_nbd_rejects_invalid_input(x, tx, T, message):
    with pytest.raises(ValueError, match=message):
        cm.fit_bg_nbd(np.array(x, float), np.array(tx, float), np.array(T, float))


def test_predictions_reject_invalid_input():
    with pytest.raises(ValueError, match="index 1: recency > T"):
        cm.probability_alive(PUBLISHED_BG, [1, 1], [1, 3], 2)
    with pytest.raises(ValueError, match="t < 0"):
        cm.expected_purchases(PUBLISHED_BG, -1, 1, 1, 2)


def test_gamma_gamma_errors():
    with pytest.raises(ValueError, match="at least 2 customers"):
        cm.fit_gamma_gamma([0, 1, 0], [0, 10.0, 0])
    with pytest.raises(ValueError, match="index 1: monetary_value <= 0"):
        cm.fit_gamma_gamma([1, 2, 3], [10.0, 0.0, 5.0])
    with pytest.raises(ValueError, match="empty"):
        cm.fit_gamma_gamma([], [])
    # heavy-tailed spend (simulated with q = 0.6): the population mean is infinite
    x, m = simulate_gamma_gamma(5_000, 2.0, 0.6, 15.0, np.random.default_rng(5))
    with pytest.raises(ValueError, match="q = .* <= 1"):
        cm.fit_gamma_gamma(x, m)


def test_gamma_gamma_ignores_non_buyers(cdnow):
    x, m = cdnow["x"].to_numpy(float), cdnow["zbar"].to_numpy(float)
    with_zeros = cm.fit_gamma_gamma(x, np.where(x > 0, m, np.nan))
    only_buyers = cm.fit_gamma_gamma(x[x > 0], m[x > 0])
    assert (with_zeros.p, with_zeros.q, with_zeros.gamma) == (only_buyers.p, only_buyers.q, only_buyers.gamma)


def test_expected_average_value():
    gg = PUBLISHED_GG
    population = gg.p * gg.gamma / (gg.q - 1)
    value = cm.expected_average_value(gg, [0, 0, 3, 3, 1, 100], [0.0, 55.0, np.nan, 20.0, 20.0, 20.0])
    assert value[:3] == pytest.approx([population] * 3)
    # the customer's own mean gets weight p x / (p x + q - 1): more purchases, closer to it
    weight = gg.p * 3 / (gg.p * 3 + gg.q - 1)
    assert value[3] == pytest.approx(weight * 20 + (1 - weight) * population)
    assert population > value[4] > value[3] > value[5] > 20
    with pytest.raises(ValueError, match="monetary_value < 0"):
        cm.expected_average_value(gg, [1], [-1.0])


# ------------------------------------------------------------------------------------------------------- CLV


def reference_clv(bg, gg, x, tx, T, m, horizon, d, step):
    """The documented formula, one customer and one step at a time."""
    out = []
    for xi, txi, Ti, mi in zip(x, tx, T, m):
        v = float(cm.expected_average_value(gg, xi, mi))
        total, n = 0.0, math.ceil(horizon / step)
        for i in range(1, n + 1):
            ends = [min(k * step, horizon) for k in (i - 1, i)]
            e0, e1 = (float(reference_expected(params(bg), s, xi, txi, Ti)) if s > 0 else 0.0 for s in ends)
            total += v * (e1 - e0) / (1 + d) ** i
        out.append(total)
    return np.array(out)


def test_clv_matches_the_documented_formula():
    gg = PUBLISHED_GG
    x, tx, T = np.array([0, 2, 2, 10, 1]), np.array([0, 30.43, 30.43, 38.0, 1.0]), np.array([38.86] * 5)
    m = np.array([0.0, 20.0, 20.0, 35.0, 12.0])
    for horizon, d, step in [(52, 0.01, 4.345), (39, 0.0, 13), (10, 0.05, 1.0), (3, 0.1, 5)]:
        got = cm.customer_lifetime_value(PUBLISHED_BG, gg, x, tx, T, m, horizon_periods=horizon,
                                         discount_rate_per_period=d, step_periods=step)
        want = reference_clv(PUBLISHED_BG, gg, x, tx, T, m, horizon, d, step)
        np.testing.assert_allclose(got, want, rtol=1e-7)
        assert got[1] == got[2]  # ties are computed once and mapped back


def test_clv_without_discount_is_value_times_expected_purchases():
    gg = PUBLISHED_GG
    x, tx, T = np.array([0, 2, 7]), np.array([0, 30.43, 20.0]), np.array([38.86, 38.86, 30.0])
    m = np.array([0, 20, 30])
    clv = cm.customer_lifetime_value(PUBLISHED_BG, gg, x, tx, T, m, horizon_periods=100,
                                     discount_rate_per_period=0.0, step_periods=7)
    want = cm.expected_average_value(gg, x, m) * cm.expected_purchases(PUBLISHED_BG, 100, x, tx, T)
    np.testing.assert_allclose(clv, want, rtol=1e-10)
    discounted = cm.customer_lifetime_value(PUBLISHED_BG, gg, x, tx, T, m, horizon_periods=100,
                                            discount_rate_per_period=0.02, step_periods=7)
    assert np.all(discounted < clv)
    assert np.all(cm.customer_lifetime_value(PUBLISHED_BG, gg, x, tx, T, m, horizon_periods=0,
                                             discount_rate_per_period=0.02, step_periods=7) == 0)


def test_clv_on_cdnow_is_finite_and_non_negative(cdnow, cdnow_bg):
    x, tx, T = cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    m = cdnow["zbar"].to_numpy(float)
    gg = cm.fit_gamma_gamma(x, m)
    clv = cm.customer_lifetime_value(cdnow_bg, gg, x, tx, T, m, horizon_periods=52,
                                     discount_rate_per_period=0.01, step_periods=4.345)
    assert clv.shape == x.shape and np.all(np.isfinite(clv) & (clv >= 0))
    assert clv[x == 0].max() < clv.max()
    assert 10 < clv.mean() < 200  # dollars over a year: a cohort averaging ~0.7 purchases of ~$35


def test_clv_does_not_depend_on_the_time_unit(cdnow, cdnow_bg):
    x, tx, T = cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    m = cdnow["zbar"].to_numpy(float)
    gg = cm.fit_gamma_gamma(x, m)
    in_days = cm.fit_bg_nbd(x, tx * 7, T * 7)
    weeks = cm.customer_lifetime_value(cdnow_bg, gg, x, tx, T, m, horizon_periods=156,
                                       discount_rate_per_period=0.01, step_periods=4.345)
    days = cm.customer_lifetime_value(in_days, gg, x, tx * 7, T * 7, m, horizon_periods=156 * 7,
                                      discount_rate_per_period=0.01, step_periods=4.345 * 7)
    np.testing.assert_allclose(days, weeks, rtol=1e-3)


@pytest.mark.parametrize("kwargs,message", [
    ({"horizon_periods": -1, "discount_rate_per_period": 0.1, "step_periods": 1}, "horizon_periods >= 0"),
    ({"horizon_periods": 10, "discount_rate_per_period": 0.1, "step_periods": 0}, "step_periods > 0"),
    ({"horizon_periods": 10, "discount_rate_per_period": -1, "step_periods": 1},
     "discount_rate_per_period > -1"),
    ({"horizon_periods": math.nan, "discount_rate_per_period": 0.1, "step_periods": 1}, "must be finite"),
    ({"horizon_periods": 1e9, "discount_rate_per_period": 0.1, "step_periods": 1}, "exceed the limit"),
])
def test_clv_rejects_invalid_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cm.customer_lifetime_value(PUBLISHED_BG, PUBLISHED_GG, [1], [1.0], [2.0], [10.0], **kwargs)


def test_clv_in_one_integral_equals_the_sum_of_its_steps(cdnow, cdnow_bg):
    # customer_lifetime_value integrates every discounting step at once; summing the steps' increments of
    # expected_purchases (one quadrature per step end) is the documented formula, term by term
    x, tx, T = cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    m = cdnow["zbar"].to_numpy(float)
    gg = cm.fit_gamma_gamma(x, m)
    value = cm.expected_average_value(gg, x, m)
    for horizon, d, step in [(52, 0.01, 4.345), (156, 0.02, 13), (10, 0.05, 1.0), (39, 0.0, 13), (3, 0.1, 5),
                             (1000, 0.001, 0.7)]:
        got = cm.customer_lifetime_value(cdnow_bg, gg, x, tx, T, m, horizon_periods=horizon,
                                         discount_rate_per_period=d, step_periods=step)
        ends = [min(i * step, horizon) for i in range(1, math.ceil(horizon / step - 1e-12) + 1)]
        expected = [np.zeros_like(x)] + [cm.expected_purchases(cdnow_bg, t, x, tx, T) for t in ends]
        want = value * sum((expected[i] - expected[i - 1]) / (1 + d) ** i for i in range(1, len(expected)))
        np.testing.assert_allclose(got, want, rtol=1e-9, err_msg=f"{(horizon, d, step)}")


def test_lifetime_value_and_purchases_is_both_functions(cdnow, cdnow_bg):
    x, tx, T = cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    m = cdnow["zbar"].to_numpy(float)
    gg = cm.fit_gamma_gamma(x, m)
    for horizon in (39.0, 0.0):
        settings = {"horizon_periods": horizon, "discount_rate_per_period": 0.01, "step_periods": 4.345}
        clv, expected = cm.lifetime_value_and_purchases(cdnow_bg, gg, x, tx, T, m, **settings)
        np.testing.assert_array_equal(clv, cm.customer_lifetime_value(cdnow_bg, gg, x, tx, T, m, **settings))
        np.testing.assert_array_equal(expected, cm.expected_purchases(cdnow_bg, horizon, x, tx, T))


@pytest.mark.parametrize("whole", [True, False])
def test_unique_rows_equal_numpys(whole):
    # whole numbers (days, purchase counts) take a faster path; both give np.unique(axis=0)'s answer
    rng = np.random.default_rng(4)
    columns = [rng.integers(0, n, 5000).astype(float) for n in (30, 400, 900)]
    if not whole:
        columns[1] = columns[1] / 7
    columns[0][:3] = [0.0, -0.0, 0.0]  # -0.0 is 0.0
    for used in (columns[:1], columns[:2], columns):
        rows, counts, inverse = cm._unique_rows(*used)
        want_rows, want_inverse, want_counts = np.unique(np.column_stack(used), axis=0, return_inverse=True,
                                                         return_counts=True)
        np.testing.assert_array_equal(rows, want_rows)
        np.testing.assert_array_equal(counts, want_counts)
        np.testing.assert_array_equal(inverse, want_inverse.ravel())
