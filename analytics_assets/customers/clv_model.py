"""Customer lifetime value: BG/NBD purchase counts and Gamma-Gamma spend, fitted by maximum likelihood.

Why: a statistically sound CLV instead of the original Airflow examples' back-of-envelope (order value x order rate x years):
customers leave without telling us, and a few orders are a noisy guide to their true rate and spend.

Papers: BG/NBD, Fader, Hardie & Lee (2005), "'Counting your customers' the easy way", Marketing Science
24(2) (log-likelihood as in Fader & Hardie 2013, "Overcoming the BG/NBD model's #NUM! error problem");
Gamma-Gamma, Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves", JMR 42(4), and Fader &
Hardie (2013), "The Gamma-Gamma model of monetary value".

Units: `frequency` x = repeat purchase periods (distinct purchase days after the first), `recency` t_x =
time from the first to the last purchase, `T` = time from the first purchase to the end of calibration, all
in one time unit of the caller's choice (alpha, t and CLV horizon and step are in it too); `monetary_value` =
mean value of the repeat purchases.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

__all__ = [
    "BgNbdFit", "GammaGammaFit", "fit_bg_nbd", "expected_purchases", "probability_alive",
    "fit_gamma_gamma", "expected_average_value", "customer_lifetime_value", "lifetime_value_and_purchases",
]

# Log-parameters are searched in [-_LOG_BOUND, _LOG_BOUND], on data rescaled so that mean(T) (BG/NBD) or
# mean(monetary_value) (Gamma-Gamma) is 1; a solution on that boundary has no interior maximum.
_LOG_BOUND = 20.0
_MAX_CLV_STEPS = 100_000


@dataclass(frozen=True)
class BgNbdFit:
    """BG/NBD parameters: purchase rate lambda ~ Gamma(shape r, rate alpha), dropout p ~ Beta(a, b).

    `alpha` is in the caller's time unit; `log_likelihood` is the full log-likelihood of the data (not
    per customer); `converged` is False when the optimizer failed, the log-likelihood is not finite, no
    customer has a repeat purchase (a, b not identified) or a parameter hit the search bounds.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool
    iterations: int
    customers: int


@dataclass(frozen=True)
class GammaGammaFit:
    """Gamma-Gamma parameters: spend per purchase ~ Gamma(shape p, rate nu), nu ~ Gamma(shape q, rate gamma).

    `gamma` is in currency units; the population mean spend per purchase is p * gamma / (q - 1).
    """

    p: float
    q: float
    gamma: float
    log_likelihood: float
    converged: bool
    iterations: int
    customers: int


# ----------------------------------------------------------------------------------------------- validation


def _index(mask: np.ndarray) -> int | tuple[int, ...]:
    flat = int(np.flatnonzero(mask)[0])
    return flat if mask.ndim <= 1 else tuple(int(i) for i in np.unravel_index(flat, mask.shape))


def _raise_first(checks: list[tuple[np.ndarray, str]], arrays: dict[str, np.ndarray]) -> None:
    """Raise ValueError for the first index failing any check, naming the index, the rule and the values."""
    checks = [(np.atleast_1d(mask), message) for mask, message in checks]
    arrays = {name: np.atleast_1d(arr) for name, arr in arrays.items()}
    bad = np.zeros(np.shape(checks[0][0]), dtype=bool)
    for mask, _ in checks:
        bad |= mask
    if not bad.any():
        return
    at = _index(bad)
    rule = next(message for mask, message in checks if mask[at])
    values = ", ".join(f"{name}={float(arr[at])!r}" for name, arr in arrays.items())
    raise ValueError(f"invalid input at index {at}: {rule} ({values})")


def _arrays(names: tuple[str, ...], values: tuple, *, same_length: bool) -> list[np.ndarray]:
    try:
        arrays = [np.asarray(v, dtype=float) for v in values]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{', '.join(names)} must be numeric: {exc}") from None
    if same_length:
        arrays = [np.atleast_1d(a) for a in arrays]
        if any(a.ndim != 1 for a in arrays) or len({a.shape for a in arrays}) != 1:
            shapes = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrays))
            raise ValueError(f"{', '.join(names)} must be 1-D arrays of equal length, got {shapes}")
    else:
        try:
            arrays = list(np.broadcast_arrays(*arrays))
        except ValueError:
            shapes = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrays))
            raise ValueError(f"{', '.join(names)} cannot be broadcast together: {shapes}") from None
    if arrays[0].size == 0:
        raise ValueError(f"empty input: no customers in {', '.join(names)}")
    return arrays


def _rfm(frequency, recency, T, *, same_length: bool, t=None) -> list[np.ndarray]:
    names = ("frequency", "recency", "T") + (("t",) if t is not None else ())
    values = (frequency, recency, T) + ((t,) if t is not None else ())
    arrays = _arrays(names, values, same_length=same_length)
    x, tx, tt = arrays[:3]
    with np.errstate(invalid="ignore"):
        checks = [
            (~np.isfinite(x), "frequency is not finite"),
            (~np.isfinite(tx), "recency is not finite"),
            (~np.isfinite(tt), "T is not finite"),
            (x < 0, "frequency < 0"),
            (x != np.round(x), "frequency is not a whole number of repeat purchase periods"),
            (tx < 0, "recency < 0"),
            (tx > tt + 1e-9 * np.maximum(np.abs(tt), 1.0), "recency > T"),
            ((x == 0) & (tx != 0), "recency must be 0 when frequency is 0"),
        ]
        if t is not None:
            checks += [(~np.isfinite(arrays[3]), "t is not finite"), (arrays[3] < 0, "t < 0")]
    _raise_first(checks, dict(zip(names, arrays)))
    return arrays


def _monetary(frequency, monetary_value, *, same_length: bool, allow_missing: bool) -> list[np.ndarray]:
    names = ("frequency", "monetary_value")
    x, m = _arrays(names, (frequency, monetary_value), same_length=same_length)
    buyer = x > 0
    with np.errstate(invalid="ignore"):
        checks = [
            (~np.isfinite(x), "frequency is not finite"),
            (x < 0, "frequency < 0"),
            (x != np.round(x), "frequency is not a whole number of repeat purchase periods"),
        ]
        if allow_missing:  # NaN = unknown spend (population mean); zero spend is a valid observation
            checks += [(buyer & np.isinf(m), "monetary_value is infinite"),
                       (buyer & (m < 0), "monetary_value < 0 for a customer with frequency > 0")]
        else:
            checks += [(buyer & ~np.isfinite(m),
                        "monetary_value is not finite for a customer with frequency > 0"),
                       (buyer & (m <= 0), "monetary_value <= 0 for a customer with frequency > 0")]
    _raise_first(checks, dict(zip(names, (x, m))))
    return [x, m]


def _unique_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of the 1-D `columns` (sorted), their counts, and each input row's index into them.

    A lexsort + run detection: about 4x faster than np.unique(axis=0) for a million rows; whole-number
    columns (days, purchase counts) take `_unique_whole_rows`, which gives the same answer faster.
    """
    whole = _unique_whole_rows(*columns)
    if whole is not None:
        return whole
    stacked = np.column_stack(columns)
    order = np.lexsort(columns[::-1])
    ordered = stacked[order]
    new = np.ones(len(ordered), dtype=bool)
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    inverse = np.empty(len(ordered), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    return ordered[starts], np.diff(np.append(starts, len(ordered))), inverse


_WHOLE_LIMIT = 2 ** 21  # each column below this, so that a row's key (3 columns) fits in an int64


def _unique_whole_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """`_unique_rows` for columns of whole numbers in [0, 2^21): one stable sort of an int64 key per row (the
    lexicographic order of the rows) instead of a lexsort of floats; None if a column does not qualify."""
    if not columns or len(columns) > 3 or len(columns[0]) == 0:
        return None
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        whole = column.min() >= 0 and column.max() < _WHOLE_LIMIT and np.array_equal(column, np.floor(column))
        if not whole:  # NaN fails too
            return None
        key *= _WHOLE_LIMIT
        key += column.astype(np.int64)
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    new = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(len(ordered), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    first = order[starts]
    rows = np.column_stack([column[first] for column in columns])
    return rows, np.diff(np.append(starts, len(ordered))), inverse


def _minimize(objective, start: np.ndarray,
              extra_starts: list[np.ndarray]) -> tuple[optimize.OptimizeResult, bool]:
    """L-BFGS-B on log-parameters from `start`, then `extra_starts` while not converged; the best wins."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    best = None
    for x0 in [start, *extra_starts]:
        res = optimize.minimize(objective, np.clip(x0, -_LOG_BOUND + 1, _LOG_BOUND - 1), jac=True,
                                method="L-BFGS-B", bounds=bounds,
                                options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9})
        ok = bool(res.success) and np.isfinite(res.fun)
        if best is None or (ok, -res.fun if np.isfinite(res.fun) else -np.inf) > (best[1], -best[0].fun):
            best = (res, ok)
        if ok:
            break
    res, ok = best
    at_bound = bool(np.any(np.abs(res.x) >= _LOG_BOUND - 1e-6))
    return res, ok and not at_bound


# ----------------------------------------------------------------------------------------------------- BG/NBD


def fit_bg_nbd(frequency, recency, T) -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit (Fader, Hardie & Lee 2005, eq. 6, in the log-sum-exp form).

    Identical (x, t_x, T) rows are compressed into weighted rows. Never raises on non-convergence (see
    `BgNbdFit.converged`); raises ValueError on empty input or an invalid row (naming its index).
    """
    x, tx, tt = _rfm(frequency, recency, T, same_length=True)
    n = x.size
    scale = float(tt.mean()) if tt.mean() > 0 else 1.0
    whole = _unique_whole_rows(x, tx, tt)  # whole days: grouped unscaled (the same groups), then scaled
    if whole is not None:
        rows, weights, _ = whole
        rows = np.column_stack([rows[:, 0], rows[:, 1] / scale, rows[:, 2] / scale])
    else:
        rows, weights, _ = _unique_rows(x, tx / scale, tt / scale)
    weights = weights.astype(float)
    ux, xi = np.unique(rows[:, 0], return_inverse=True)
    xr, txr, ttr = rows[:, 0], rows[:, 1], rows[:, 2]
    pos_u = ux > 0
    total = weights.sum()
    x_log_scale = float(np.dot(weights, xr)) * math.log(scale)  # LL(original) = LL(scaled) - sum(x) log(s)

    def negll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        bmx = np.where(pos_u, b + ux - 1, 1.0)  # b + x - 1, only used where x > 0
        lb = special.betaln(a, b)
        g = special.gammaln(r + ux) - special.gammaln(r)
        ca = special.betaln(a, b + ux) - lb
        cb = np.where(pos_u, special.betaln(a + 1, bmx) - lb, -np.inf)
        psi_ab, psi_abx = special.digamma(a + b), special.digamma(a + b + ux)
        dca_da, dca_db = psi_ab - psi_abx, special.digamma(b + ux) - special.digamma(b) + psi_ab - psi_abx
        dcb_da = np.where(pos_u, special.digamma(a + 1) - special.digamma(a) + psi_ab - psi_abx, 0.0)
        dcb_db = np.where(pos_u, special.digamma(bmx) - special.digamma(b) + psi_ab - psi_abx, 0.0)
        dg_dr = special.digamma(r + ux) - special.digamma(r)

        rx = r + xr
        log_at, log_atx = np.log(alpha + ttr), np.log(alpha + txr)
        term_a = ca[xi] - rx * log_at
        term_b = cb[xi] - rx * log_atx
        lse = np.logaddexp(term_a, term_b)
        ll = float(np.dot(weights, g[xi] + lse)) + total * r * math.log(alpha)
        if not np.isfinite(ll):
            return 1e300, np.zeros(4)
        wa, wb = weights * np.exp(term_a - lse), weights * np.exp(term_b - lse)
        grad = np.array([
            np.dot(weights, dg_dr[xi]) + total * math.log(alpha) - np.dot(wa, log_at) - np.dot(wb, log_atx),
            total * r / alpha - np.dot(wa, rx / (alpha + ttr)) - np.dot(wb, rx / (alpha + txr)),
            np.dot(wa, dca_da[xi]) + np.dot(wb, dcb_da[xi]),
            np.dot(wa, dca_db[xi]) + np.dot(wb, dcb_db[xi]),
        ])
        return -ll / total, -grad * np.array([r, alpha, a, b]) / total

    # start: r = 1 and alpha matching the observed purchase rate; a = b = 1 (lifetimes' all-ones as fallback)
    rate = float(np.dot(weights, xr) / max(np.dot(weights, ttr), 1e-12))
    start = np.log([1.0, 1.0 / max(rate, 1e-6), 1.0, 1.0])
    res, ok = _minimize(negll, start, [np.zeros(4), np.log([0.5, 1.0, 0.5, 2.0])])
    r, alpha_scaled, a, b = (float(v) for v in np.exp(res.x))
    ll = float(-res.fun * total - x_log_scale) if res.fun < 1e299 else -math.inf
    return BgNbdFit(r=r, alpha=alpha_scaled * scale, a=a, b=b, log_likelihood=ll,
                    converged=ok and math.isfinite(ll) and bool(pos_u.any()),
                    iterations=int(res.nit), customers=int(n))


def _log_alive_odds_inverse(fit: BgNbdFit, x, tx, tt) -> np.ndarray:
    """log(P(dead) / P(alive)) = log(a / (b + x - 1)) + (r + x) log((alpha + T) / (alpha + t_x)).

    -inf at x = 0 (such a customer is alive for sure).
    """
    pos = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = (math.log(fit.a) - np.log(np.where(pos, fit.b + x - 1, 1.0))
              + (fit.r + x) * (np.log(fit.alpha + tt) - np.log(fit.alpha + tx)))
    return np.where(pos, lr, -np.inf)


def probability_alive(fit: BgNbdFit, frequency, recency, T) -> np.ndarray:
    """P(alive at T | x, t_x, T) (Fader, Hardie & Lee 2005, eq. 13); exactly 1 for x = 0. Inputs broadcast."""
    x, tx, tt = _rfm(frequency, recency, T, same_length=False)
    return special.expit(-_log_alive_odds_inverse(fit, x, tx, tt))


# Gauss-Legendre panels for the Beta expectation in expected_purchases (see _posterior_gain)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_PANELS = 12
_NODES = ((np.arange(_PANELS)[:, None] + (_GL_X[None, :] + 1) / 2) / _PANELS).ravel()  # on (0, 1)
_WEIGHTS = np.tile(_GL_W / 2, _PANELS) / _PANELS
_TAYLOR_LOW = 1e-4  # the lower piece [0, p_c] has kappa * p * (s + 1) <= this
_TAYLOR_HIGH = 1e-5  # the upper piece is [1 - this, 1]
_TAIL = 1e-20  # Beta mass left out on each side of the numerical piece
# Rows of customers per task (_discounted_gain: rows x steps), measured best at 200k customers: they bound
# the (rows x 96 nodes) temporaries. Tasks run on threads (numpy and scipy.special release the GIL), one
# per core.
_CHUNK = 1024
_CHUNK_STEPS = 8192
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
_THREADS = max(1, min(4, _CORES))


def _in_chunks(n: int, work, rows: int = _CHUNK) -> None:
    """work(slice) for consecutive slices of `rows` rows covering range(n), on _THREADS threads."""
    parts = [slice(start, min(start + rows, n)) for start in range(0, n, rows)]
    if _THREADS == 1 or len(parts) == 1:
        for part in parts:
            work(part)
        return
    with ThreadPoolExecutor(_THREADS) as pool:
        for _ in pool.map(work, parts):  # re-raises a task's exception
            pass


def _beta_tails(a: float, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 1e-20 quantiles of p ~ Beta(a, beta) and of 1 - p, per element (computed once per distinct beta);
    0 where the inversion fails (NaN, or not in the tail): the window is then unrestricted on that side."""
    ub, inverse = np.unique(beta, return_inverse=True)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
        q_p, q_w = special.betaincinv(a, ub, _TAIL), special.betaincinv(ub, a, _TAIL)
        q_p = np.where(np.isfinite(q_p) & (special.betainc(a, ub, q_p) < 1e-12), q_p, 0.0)
        q_w = np.where(np.isfinite(q_w) & (special.betainc(ub, a, q_w) < 1e-12), q_w, 0.0)
    return q_p[inverse], q_w[inverse]


def _window(p_c: np.ndarray, positive: np.ndarray, q_p: np.ndarray, q_w: np.ndarray):
    """Where the Gauss-Legendre panels go: (inner, delta, lo, width, ok) for lower Taylor pieces [0, p_c]."""
    inner = (p_c < 1) & positive
    delta = np.where(inner, np.minimum(_TAYLOR_HIGH, 1 - p_c), 0.0)
    p_lo, w_hi = np.maximum(p_c, q_p), np.maximum(delta, q_w)
    lo = np.log(p_lo) - np.log1p(-p_lo)
    hi = np.log1p(-w_hi) - np.log(w_hi)
    ok = inner & (lo < hi)
    lo, width = np.where(ok, lo, 0.0), np.where(ok, hi - lo, 0.0)
    return inner, delta, lo, width, ok


def _at_nodes(a: float, b: np.ndarray, log_norm: np.ndarray, lo: np.ndarray,
              width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p and the Beta(a, b) density of y = logit(p) divided by p, at the panels' nodes (rows x nodes).

    log p = min(y, 0) - log1p(exp(-|y|)), log(1 - p) = -max(y, 0) - the same (scipy's log_expit, with one
    exp and one log1p for both); density / p = exp((a - 1) log p + b log(1 - p) - ln B(a, b)).
    """
    y = lo[:, None] + width[:, None] * _NODES[None, :]
    soft = np.abs(y)
    np.negative(soft, out=soft)
    np.exp(soft, out=soft)
    np.log1p(soft, out=soft)
    log_p = np.minimum(y, 0.0)
    log_p -= soft
    log_q = np.maximum(y, 0.0, out=y)
    np.negative(log_q, out=log_q)
    log_q -= soft
    log_q *= b[:, None]
    p = np.exp(log_p, out=soft)
    log_p *= a - 1
    log_p += log_q
    log_p -= log_norm[:, None]
    return p, np.exp(log_p, out=log_p)


def _posterior_gain(a: float, beta: np.ndarray, s: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """G = E[(1 - (1 + kappa p)^-s) / p] for p ~ Beta(a, beta), elementwise over 1-D arrays (kappa >= 0).

    Equals (a + beta - 1) / (a - 1) * [1 - 2F1(s, a - 1; a + beta - 1; -kappa)], the hypergeometric term of
    FHL (2005) eq. 10 after Pfaff's transformation, but is computed as the integral: scipy.special.hyp2f1
    (1.17) returns NaN for x >~ 100 and wrong values for large b, and the closed form is 0/0 at a = 1.
    Three pieces: [0, p_c] and [1 - delta, 1] by two-term Taylor expansions of the integrand, integrated
    exactly with incomplete Beta functions (relative error < 1e-8), the rest by 12 x 8-point Gauss-Legendre
    panels in logit(p), where the integrand and the Beta density are both smooth (analytic in a strip of
    half-width pi), within the Beta's 1e-20 and 1 - 1e-20 quantiles. Relative error ~1e-9 for ordinary
    parameters, < 1e-6 in degenerate corners (a, b ~ 1e7): checked against mpmath and adaptive quadrature
    for a, b in 0.01 .. 1e7, x up to 2000, t / (alpha + T) in 1e-7 .. 1e6.
    """
    beta, s, kappa = (np.asarray(v, dtype=float) for v in (beta, s, kappa))
    out = np.zeros(len(beta))
    if out.size == 0:
        return out
    q_p_all, q_w_all = _beta_tails(a, beta)  # once per distinct beta
    log_norm_all = special.betaln(a, beta)

    def work(part: slice) -> None:
        b, sh, k, q_p, q_w = beta[part], s[part], kappa[part], q_p_all[part], q_w_all[part]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
            p_c = np.minimum(1.0, _TAYLOR_LOW / (k * (sh + 1)))  # 1 where kappa = 0
            # h(p) ~ s k - s (s + 1) k^2 p / 2 on [0, p_c];  E[p; p < c] = a / (a + b) I_c(a + 1, b)
            low = sh * k * (special.betainc(a, b, p_c)
                            - (sh + 1) * k / 2 * a / (a + b) * special.betainc(a + 1, b, p_c))
            inner, delta, lo, width, ok = _window(p_c, k > 0, q_p, q_w)
            # h(p) ~ h(1) - h'(1) (1 - p) on [1 - delta, 1];  1 - p ~ Beta(b, a)
            h1 = -np.expm1(-sh * np.log1p(k))
            dh1 = sh * k * np.exp(-(sh + 1) * np.log1p(k)) - h1
            high = np.where(inner, h1 * special.betainc(b, a, delta)
                            - dh1 * b / (a + b) * special.betainc(b + 1, a, delta), 0.0)
            p, density = _at_nodes(a, b, log_norm_all[part], lo, width)
            # the integrand h(p) times the Beta density of y is -expm1(-s log1p(kappa p)) * density
            p *= k[:, None]
            gain = np.log1p(p, out=p)
            gain *= -sh[:, None]
            np.expm1(gain, out=gain)
            gain *= density
            middle = width * -(gain @ _WEIGHTS)
            out[part] = low + high + np.where(ok, middle, 0.0)

    _in_chunks(len(beta), work)
    return np.where(np.isfinite(out), np.maximum(out, 0.0), 0.0)


def _discounted_gain(a: float, beta: np.ndarray, s: np.ndarray, kappa: np.ndarray,
                     coef: np.ndarray) -> np.ndarray:
    """sum_i coef[i] * G(kappa[:, i]) per row (G: `_posterior_gain`; beta, s: rows; kappa: rows x steps).

    G is an expectation over the same p ~ Beta(a, beta) for every step, so the sum is ONE expectation, of
    sum_i coef[i] (1 - (1 + kappa_i p)^-s) / p: one set of Beta densities, tails and incomplete Beta
    functions per row instead of one per step, and the same three pieces as `_posterior_gain` with the
    pieces' bounds of the largest kappa (the smallest p_c: the Taylor pieces of the smaller kappas are
    only more accurate there, and their integrands are analytic in the same strip).
    """
    beta, s = np.asarray(beta, dtype=float), np.asarray(s, dtype=float)
    kappa, coef = np.ascontiguousarray(kappa, dtype=float), np.asarray(coef, dtype=float)
    out = np.zeros(len(beta))
    if out.size == 0 or kappa.shape[1] == 0:
        return out
    q_p_all, q_w_all = _beta_tails(a, beta)
    log_norm_all = special.betaln(a, beta)

    def work(part: slice) -> None:
        b, sh, k, q_p, q_w = beta[part], s[part], kappa[part], q_p_all[part], q_w_all[part]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
            k_max = k.max(axis=1)
            p_c = np.minimum(1.0, _TAYLOR_LOW / (k_max * (sh + 1)))
            # sum_i coef_i (s k_i - s (s + 1) k_i^2 p / 2) on [0, p_c]
            low = sh * (special.betainc(a, b, p_c) * (k @ coef)
                        - (sh + 1) / 2 * a / (a + b) * special.betainc(a + 1, b, p_c) * ((k * k) @ coef))
            inner, delta, lo, width, ok = _window(p_c, k_max > 0, q_p, q_w)
            log1p_k = np.log1p(k)
            h1 = -np.expm1(-sh[:, None] * log1p_k)
            dh1 = sh[:, None] * k * np.exp(-(sh + 1)[:, None] * log1p_k) - h1
            high = np.where(inner, (h1 @ coef) * special.betainc(b, a, delta)
                            - (dh1 @ coef) * b / (a + b) * special.betainc(b + 1, a, delta), 0.0)
            p, density = _at_nodes(a, b, log_norm_all[part], lo, width)
            # (rows x steps x nodes): -expm1(-s log1p(kappa_i p)), summed over the steps with coef
            term = k[:, :, None] * p[:, None, :]
            np.log1p(term, out=term)
            term *= -sh[:, None, None]
            np.expm1(term, out=term)
            gain = coef @ term
            gain *= density
            middle = width * -(gain @ _WEIGHTS)
            out[part] = low + high + np.where(ok, middle, 0.0)

    _in_chunks(len(beta), work, rows=max(1, _CHUNK_STEPS // kappa.shape[1]))
    return np.where(np.isfinite(out), np.maximum(out, 0.0), 0.0)


def _gain_for(fit: BgNbdFit, t: np.ndarray, x: np.ndarray, tt: np.ndarray) -> np.ndarray:
    """_posterior_gain for customers (x, T) over the next t, once per distinct (x, t / (alpha + T))."""
    kappa = t / (fit.alpha + tt)
    rows, _, inverse = _unique_rows(x, kappa)
    ux, uk = rows[:, 0], rows[:, 1]
    return _posterior_gain(fit.a, fit.b + ux, fit.r + ux, uk)[inverse]


def expected_purchases(fit: BgNbdFit, t, frequency, recency, T) -> np.ndarray:
    """E[X(T, T + t] | x, t_x, T]: expected repeat purchases in the next `t` time units (inputs broadcast).

    FHL (2005) eq. 10, written as P(alive) * E[(1 - (1 + kappa p)^-(r + x)) / p], kappa = t / (alpha + T),
    p ~ Beta(a, b + x) (the dropout probability of an alive customer given the data): see
    `_posterior_gain` for how the Beta expectation, i.e. the Gauss hypergeometric term, is evaluated.
    Output is finite and >= 0, exactly 0 for t = 0.
    """
    x, tx, tt, t = _rfm(frequency, recency, T, same_length=False, t=t)
    shape = x.shape
    x, tx, tt, t = (np.ravel(v) for v in (x, tx, tt, t))
    alive = special.expit(-_log_alive_odds_inverse(fit, x, tx, tt))
    out = alive * _gain_for(fit, t, x, tt)
    return np.where(np.isfinite(out) & (t > 0), np.maximum(out, 0.0), 0.0).reshape(shape)


# ------------------------------------------------------------------------------------------------ Gamma-Gamma


def fit_gamma_gamma(frequency, monetary_value) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit on the customers with frequency > 0 (others are ignored).

    Log-likelihood of a customer's mean spend m over x repeat purchases (Fader & Hardie 2013, eq. 3):
        lnG(px + q) - lnG(px) - lnG(q) + q ln(gamma) + (px - 1) ln(m) + px ln(x) - (px + q) ln(gamma + m x).
    Raises ValueError if fewer than 2 such customers, on an invalid row, or if the fit gives q <= 1 (the
    mean spend would be infinite).
    """
    x, m = _monetary(frequency, monetary_value, same_length=True, allow_missing=False)
    buyer = x > 0
    n = int(buyer.sum())
    if n < 2:
        raise ValueError(f"Gamma-Gamma needs at least 2 customers with frequency > 0, got {n}")
    scale = float(m[buyer].mean())
    rows, weights, _ = _unique_rows(x[buyer], m[buyer] / scale)
    weights = weights.astype(float)
    xr, mr = rows[:, 0], rows[:, 1]
    log_mx, log_x = np.log(mr * xr), np.log(xr)
    const = float(np.dot(weights, log_x))  # the Jacobian term ln(x): fixed, kept for the true likelihood

    def negll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, g = np.exp(theta)
        px = p * xr
        log_gmx = np.log(g + mr * xr)
        ll = float(np.dot(weights, special.gammaln(px + q) - special.gammaln(px) + (px - 1) * log_mx
                          - (px + q) * log_gmx)) + n * (q * math.log(g) - special.gammaln(q)) + const
        if not np.isfinite(ll):
            return 1e300, np.zeros(3)
        psi = special.digamma(px + q)
        grad = np.array([
            np.dot(weights, xr * (psi - special.digamma(px) + log_mx - log_gmx)),
            np.dot(weights, psi - log_gmx) + n * (math.log(g) - special.digamma(q)),
            n * q / g - np.dot(weights, (px + q) / (g + mr * xr)),
        ])
        return -ll / n, -grad * np.array([p, q, g]) / n

    res, ok = _minimize(negll, np.log([1.0, 2.0, 1.0]), [np.zeros(3), np.log([5.0, 3.0, 1.0])])
    p, q, g = (float(v) for v in np.exp(res.x))
    ll = -float(res.fun) * n - n * math.log(scale) if res.fun < 1e299 else -math.inf
    if q <= 1:
        raise ValueError(f"Gamma-Gamma fit gave q = {q:.4g} <= 1: the population mean spend p*gamma/(q-1) "
                         "is not finite; the spend data do not suit this model")
    return GammaGammaFit(p=p, q=q, gamma=g * scale, log_likelihood=ll, converged=ok and math.isfinite(ll),
                         iterations=int(res.nit), customers=n)


def expected_average_value(fit: GammaGammaFit, frequency, monetary_value) -> np.ndarray:
    """E[spend per purchase | x, m] = p (gamma + x m) / (p x + q - 1) (Fader & Hardie 2013, eq. 5).

    A credibility-weighted mix of the population mean p*gamma/(q-1) and the customer's own mean m; for
    frequency == 0 or a NaN monetary_value (spend unknown) it is the population mean. Inputs broadcast.
    """
    x, m = _monetary(frequency, monetary_value, same_length=False, allow_missing=True)
    if fit.q <= 1:
        raise ValueError(f"expected_average_value needs q > 1, got q = {fit.q}")
    known = (x > 0) & ~np.isnan(m)
    xk, mk = np.where(known, x, 0.0), np.where(known, m, 0.0)
    return fit.p * (fit.gamma + xk * mk) / (fit.p * xk + fit.q - 1)


# -------------------------------------------------------------------------------------------------------- CLV


def customer_lifetime_value(bg: BgNbdFit, gg: GammaGammaFit, frequency, recency, T, monetary_value, *,
                            horizon_periods: float, discount_rate_per_period: float,
                            step_periods: float) -> np.ndarray:
    """Discounted expected spend over the next `horizon_periods` time units (the BG/NBD time unit).

    With n = ceil(horizon_periods / step_periods), t_i = min(i * step_periods, horizon_periods), t_0 = 0,
    d = discount_rate_per_period, the rate for ONE STEP of `step_periods` time units (a "period" is a step),
    and v = expected_average_value(gg, x, monetary_value):

        CLV = sum_{i=1..n} v * (E[X(t_i) | x, t_x, T] - E[X(t_{i-1}) | x, t_x, T]) / (1 + d) ** i

    i.e. the purchases expected during step i are valued at v and discounted once per step, at its end; a
    last partial step (horizon not a multiple of the step) ends at the horizon and is discounted as step n,
    so without discounting CLV = v * E[X(horizon)]. lifetimes' customer_lifetime_value(time=n, freq="W",
    discount_rate=d monthly) is this with step_periods = 4.345 weeks and horizon_periods = 4.345 n.
    Output is finite and >= 0.
    """
    return lifetime_value_and_purchases(bg, gg, frequency, recency, T, monetary_value,
                                        horizon_periods=horizon_periods,
                                        discount_rate_per_period=discount_rate_per_period,
                                        step_periods=step_periods)[0]


def lifetime_value_and_purchases(bg: BgNbdFit, gg: GammaGammaFit, frequency, recency, T, monetary_value, *,
                                 horizon_periods: float, discount_rate_per_period: float,
                                 step_periods: float) -> tuple[np.ndarray, np.ndarray]:
    """(customer_lifetime_value(...), expected_purchases(bg, horizon_periods, ...)), sharing the validation
    and the per-customer work."""
    x, tx, tt = _rfm(frequency, recency, T, same_length=False)
    x, m = _monetary(x, monetary_value, same_length=False, allow_missing=True)
    x, tx, tt, m = np.broadcast_arrays(x, tx, tt, m)
    for name, value in (("horizon_periods", horizon_periods), ("step_periods", step_periods),
                        ("discount_rate_per_period", discount_rate_per_period)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if horizon_periods < 0 or step_periods <= 0 or discount_rate_per_period <= -1:
        raise ValueError("need horizon_periods >= 0, step_periods > 0 and discount_rate_per_period > -1, got "
                         f"{horizon_periods}, {step_periods}, {discount_rate_per_period}")
    steps = math.ceil(horizon_periods / step_periods - 1e-12)
    if steps > _MAX_CLV_STEPS:
        raise ValueError(f"{steps} discounting steps (horizon / step) exceed the limit of {_MAX_CLV_STEPS}")
    value = expected_average_value(gg, x, m)
    shape = value.shape
    x, tx, tt = x.ravel(), tx.ravel(), tt.ravel()
    alive = special.expit(-_log_alive_odds_inverse(bg, x, tx, tt))
    # E[X(t)] = P(alive) * gain(t); the gain depends on (x, T) only: computed once per distinct pair
    rows, _, inverse = _unique_rows(x, tt)
    ux, utt = rows[:, 0], rows[:, 1]
    # sum_i (gain(t_i) - gain(t_{i-1})) w_i = sum_i c_i gain(t_i) with w_i = (1 + d)^-i, c_i = w_i - w_{i+1},
    # c_n = w_n: one integral over the whole horizon (`_discounted_gain`) instead of one per step
    ends = np.array([min(i * step_periods, horizon_periods) for i in range(1, steps + 1)], dtype=float)
    discount = (1 + discount_rate_per_period) ** -np.arange(1.0, steps + 1)
    coef = discount - np.append(discount[1:], 0.0)
    discounted = _discounted_gain(bg.a, bg.b + ux, bg.r + ux, ends[None, :] / (bg.alpha + utt)[:, None], coef)
    clv = (value.ravel() * alive * discounted[inverse]).reshape(shape)
    # E[X(horizon)], as expected_purchases computes it
    gain = _posterior_gain(bg.a, bg.b + ux, bg.r + ux, horizon_periods / (bg.alpha + utt))
    expected = alive * gain[inverse]
    expected = np.where(np.isfinite(expected) & (horizon_periods > 0), np.maximum(expected, 0.0), 0.0)
    return np.where(np.isfinite(clv), np.maximum(clv, 0.0), 0.0), expected.reshape(shape)
