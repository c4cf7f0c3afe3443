"""Per-customer CLV from the BG/NBD and Gamma-Gamma models, in days.

The original Airflow examples' CLV (average order value x purchases per year x 3) ignores that customers leave and
that a 3-year-old promise is worth less than today's; here purchases over the horizon come from
BG/NBD (with the probability the customer is still alive), the value per purchase from
Gamma-Gamma (shrunk towards the population mean for customers with few repeats), discounted
every `step_days`. Customers whose repeat purchase days average zero or less (refunds,
discounts above the total) cannot enter the Gamma-Gamma fit (it needs positive values); they
get the population's expected value.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from analytics_assets.customers import clv_model


@dataclass(frozen=True)
class ClvResult:
    bg: clv_model.BgNbdFit | None
    gg: clv_model.GammaGammaFit | None
    expected_purchases: np.ndarray | None
    probability_alive: np.ndarray | None
    expected_order_value: np.ndarray | None
    clv: np.ndarray | None
    problem: str  # why a model is missing ("" when both fitted)


def predict(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, monetary: np.ndarray, *,
            horizon_days: float, annual_discount_rate: float, step_days: float) -> ClvResult:
    # One BLAS thread: our own threads already use the cores, and OpenBLAS's threaded dot products
    # (busy-waiting between calls) made the fits slower and their last digits depend on the core count.
    with threadpool_limits(limits=1, user_api="blas"):
        return _predict(frequency, recency, T, monetary, horizon_days=horizon_days,
                        annual_discount_rate=annual_discount_rate, step_days=step_days)


def _predict(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, monetary: np.ndarray, *,
             horizon_days: float, annual_discount_rate: float, step_days: float) -> ClvResult:
    frequency, recency, T, monetary = (np.asarray(a, dtype=float) for a in (frequency, recency, T, monetary))
    if len(frequency) == 0:
        return ClvResult(None, None, None, None, None, None, "no customers with a completed sale")
    positive = (frequency > 0) & (monetary > 0)
    # the two fits are independent: Gamma-Gamma on a second thread (numpy and scipy release the GIL)
    with ThreadPoolExecutor(1) as pool:
        gamma_gamma = pool.submit(clv_model.fit_gamma_gamma, frequency[positive], monetary[positive])
        bg = clv_model.fit_bg_nbd(frequency, recency, T)
    try:
        gg = gamma_gamma.result()
    except ValueError as exc:
        gg, gg_problem = None, f"gamma_gamma not fitted: {exc}"
    else:
        gg_problem = "" if gg.converged else "gamma_gamma did not converge"
    alive = clv_model.probability_alive(bg, frequency, recency, T)
    problem = "; ".join(p for p in ("" if bg.converged else "bg_nbd did not converge", gg_problem) if p)
    if gg is None:
        expected = clv_model.expected_purchases(bg, horizon_days, frequency, recency, T)
        return ClvResult(bg, None, expected, alive, None, None, problem)
    # NaN spend = unknown: the population's expected value (p * gamma / (q - 1)).
    spend = np.where(positive, monetary, np.nan)
    value = clv_model.expected_average_value(gg, frequency, spend)
    per_step = (1 + annual_discount_rate) ** (step_days / 365.0) - 1
    # CLV and expected purchases over the horizon share the validation and the per-customer work
    clv, expected = clv_model.lifetime_value_and_purchases(
        bg, gg, frequency, recency, T, spend,
        horizon_periods=horizon_days, discount_rate_per_period=per_step, step_periods=step_days,
    )
    return ClvResult(bg, gg, expected, alive, value, clv, problem)
