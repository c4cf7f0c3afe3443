"""The CLV model's check: both models fitted and converged."""

import dagster as dg

from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool


@dg.asset_check(asset="customer_clv_model", name="converged", pool=clickhouse_pool(),
                description="Both models were fitted and converged (else the model columns are NULL).")
def customer_clv_model_converged(clickhouse: ClickHouseResource) -> dg.AssetCheckResult:
    with clickhouse.get_client() as wh:
        rows = wh.rows("SELECT model, min(converged), any(log_likelihood), any(customers) FROM customer_clv_model"
                       " GROUP BY model ORDER BY model")
    fitted = {model: (bool(ok), ll, customers) for model, ok, ll, customers in rows}
    passed = set(fitted) == {"bg_nbd", "gamma_gamma"} and all(ok for ok, _, _ in fitted.values())
    return dg.AssetCheckResult(passed=passed, metadata={
        "models": dg.MetadataValue.json({m: {"converged": ok, "log_likelihood": ll, "customers": c}
                                         for m, (ok, ll, c) in fitted.items()})})


customer_checks = [customer_clv_model_converged]
