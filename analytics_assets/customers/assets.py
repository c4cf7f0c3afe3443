"""RFM -> behaviour clusters -> CLV -> customer_segments -> customer_segment_summary (group `customers`).

SQL does the aggregation in ClickHouse; Python only fits what needs Python (K-Means, the CLV
models). Every step reads and writes ClickHouse tables.
"""

import time
from typing import TYPE_CHECKING
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
from pydantic import Field

if TYPE_CHECKING:
    import pyarrow as pa

from analytics_assets.customers.clusters import FEATURES, LABELS, cluster_customers
from analytics_assets.logical_time import resolve_as_of
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.sales.fact import TABLE as SALES_FACT
from analytics_assets.warehouse import replace_table
from analytics_assets.warehouse.columns import table_metadata
from analytics_assets.warehouse.sql import render_sql, sql_file, sql_fragment
from analytics_assets.warehouse.guards import require_complete
from analytics_assets.warehouse.sql_table_asset import Gate, SqlTable, build_sql_table_asset, unique_key

CUSTOMERS_GROUP = "customers"
# Rebuilt daily at 02:00: stale when a day's run is missed (26 h leaves the run two hours).
DAILY_STALE_AFTER = timedelta(hours=26)
HERE = Path(__file__).parent
RFM_SEGMENTS = ("Champions", "Loyal Customers", "New Customers", "At Risk", "Lost Customers", "Big Spenders",
                "Frequent Buyers", "Need Attention")
CLV_SEGMENTS = ("Low Value", "Medium Value", "High Value", "Very High Value")
RFM_WINDOW_DAYS = 365  # RFM reads the completed sales of the days before the logical date


CUSTOMER_RFM = SqlTable(
    name="customer_rfm",
    description="Recency, frequency and monetary value over the 365 days before the logical time, with "
    "quintile scores and the original Airflow examples' RFM segment labels.",
    sql_dir=HERE, group=CUSTOMERS_GROUP, stale_after=DAILY_STALE_AFTER, deps=(SALES_FACT,),
    gates=(
        unique_key("customer_id"),
        Gate("scores_in_range", "r, f and m scores are 1..5.",
             "SELECT countIf(r_score NOT BETWEEN 1 AND 5 OR f_score NOT BETWEEN 1 AND 5 OR m_score NOT BETWEEN 1 AND 5),"
             " '' FROM $target"),
    ),
    window_days=RFM_WINDOW_DAYS,
)
customer_rfm = build_sql_table_asset(CUSTOMER_RFM)


def _write(wh, table: str, definition: str, data: "pa.Table") -> None:
    def build(staging: str) -> None:
        wh.command(render_sql(sql_file(__file__, definition), target=staging))
        if data.num_rows:
            wh.insert_arrow(staging, data)

    replace_table(wh, table, build)


@dg.asset(
    group_name=CUSTOMERS_GROUP,
    deps=["customer_rfm"],
    kinds={"clickhouse", "scikit-learn"},
    pool=clickhouse_pool(),
    description="K-Means (k=5, fixed seed) on the original Airflow examples' six standardized RFM features, labelled by "
    "their rules (VIP/Frequent/Active/Dormant/Regular). MiniBatchKMeans past 200k customers.",
    metadata=table_metadata(HERE / "customer_behavior_clusters_table.sql", HERE / "clusters.py"),
)
def customer_behavior_clusters(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
    import numpy as np  # numpy, pyarrow and scikit-learn: only the steps that use them pay their import
    import pyarrow as pa

    started = time.monotonic()
    as_of = resolve_as_of(context)
    with clickhouse.get_client() as wh:
        rfm = wh.query_arrow(sql_file(__file__, "customer_behavior_clusters_features"))
        features = {f: rfm.column(f).to_numpy(zero_copy_only=False) for f in FEATURES}
        result = cluster_customers(features)
        _write(wh, "customer_behavior_clusters", "customer_behavior_clusters_table", pa.table({
            "customer_id": rfm.column("customer_id"),
            "behavior_cluster": pa.array(result.cluster, pa.uint8()),
            "behavior_segment": pa.array(result.segment, pa.string()),
            "as_of": _constant(as_of, rfm.num_rows),
        }))
    if result.note:
        context.log.warning(result.note)
    counts: dict[str, int] = {}
    for cluster, members in enumerate(np.bincount(result.cluster, minlength=result.k)):
        if members:
            label = str(result.segment[np.argmax(result.cluster == cluster)])
            counts[label] = counts.get(label, 0) + int(members)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rfm.num_rows, "clusters": result.k, "note": result.note,
        "customers_per_segment": dg.MetadataValue.json(dict(sorted(counts.items()))),
        "as_of": as_of.isoformat(), "duration_s": round(time.monotonic() - started, 3),
    })


def _constant(when: datetime, n: int) -> "pa.Array":
    """A timestamp column holding `when` n times (without a Python list of n datetimes)."""
    import pyarrow as pa

    return pa.repeat(pa.scalar(when, pa.timestamp("us", tz="UTC")), n)


class ClvConfig(dg.Config):
    horizon_days: int = Field(default=3 * 365, ge=1, description="how far ahead CLV and purchases are predicted")
    annual_discount_rate: float = Field(default=0.10, ge=0, description="discount rate per year for CLV")
    step_days: int = Field(default=30, ge=1, description="CLV is discounted once per step")


@dg.multi_asset(
    specs=[
        dg.AssetSpec("customer_clv_model", deps=[SALES_FACT], group_name=CUSTOMERS_GROUP, kinds={"clickhouse", "scipy"},
                     description="BG/NBD and Gamma-Gamma parameters fitted by maximum likelihood (time unit: day).",
                     metadata=table_metadata(HERE / "customer_clv_model_table.sql", HERE / "clv.py")),
        dg.AssetSpec("customer_clv", deps=[SALES_FACT], group_name=CUSTOMERS_GROUP, kinds={"clickhouse", "scipy"},
                     description="Per customer: expected purchases and CLV over the horizon, probability alive.",
                     metadata=table_metadata(HERE / "customer_clv_table.sql", HERE / "clv.py")),
    ],
    pool=clickhouse_pool(),
)
def customer_clv(context: dg.AssetExecutionContext, config: ClvConfig, clickhouse: ClickHouseResource):
    import pyarrow as pa

    started = time.monotonic()
    as_of = resolve_as_of(context)
    with clickhouse.get_client() as wh:
        require_complete(wh, (SALES_FACT,))  # a part-applied fact: keep the previous model
        history = wh.query_arrow(sql_file(__file__, "customer_clv_history"), {"as_of": as_of})
        col = {name: history.column(name).to_numpy(zero_copy_only=False) for name in history.column_names}
        from analytics_assets.customers.clv import predict  # scipy: imported by this step only

        result = predict(col["frequency"], col["recency"], col["T"], col["monetary_value"],
                         horizon_days=config.horizon_days, annual_discount_rate=config.annual_discount_rate,
                         step_days=config.step_days)
        n = history.num_rows

        def nullable(values):
            return pa.array(values if values is not None else [None] * n, pa.float64())

        _write(wh, "customer_clv", "customer_clv_table", pa.table({
            "customer_id": history.column("customer_id"),
            "frequency": history.column("frequency"),
            "recency": history.column("recency"),
            "T": history.column("T"),
            "monetary_value": history.column("monetary_value"),
            "expected_purchases": nullable(result.expected_purchases),
            "probability_alive": nullable(result.probability_alive),
            "expected_order_value": nullable(result.expected_order_value),
            "clv": nullable(result.clv),
            "as_of": _constant(as_of, n),
        }))
        _write(wh, "customer_clv_model", "customer_clv_model_table", _model_rows(result, as_of))
    if result.problem:
        context.log.warning(result.problem)
    yield dg.MaterializeResult(asset_key="customer_clv_model", metadata={
        **({"bg_nbd": dg.MetadataValue.json({k: getattr(result.bg, k) for k in ("r", "alpha", "a", "b")})}
           if result.bg else {}),
        **({"gamma_gamma": dg.MetadataValue.json({k: getattr(result.gg, k) for k in ("p", "q", "gamma")})}
           if result.gg else {}),
        "problem": result.problem, "as_of": as_of.isoformat(),
    })
    yield dg.MaterializeResult(asset_key="customer_clv", metadata={
        "dagster/row_count": n, "horizon_days": config.horizon_days,
        "annual_discount_rate": config.annual_discount_rate,
        "duration_s": round(time.monotonic() - started, 3),
    })


def _model_rows(result, as_of: datetime) -> "pa.Table":
    import pyarrow as pa

    rows = []
    for model, fit, params in (("bg_nbd", result.bg, ("r", "alpha", "a", "b")),
                               ("gamma_gamma", result.gg, ("p", "q", "gamma"))):
        if fit is not None:
            rows += [(model, p, float(getattr(fit, p)), fit.log_likelihood, fit.converged, fit.customers,
                      fit.iterations) for p in params]
    fitted_at = datetime.now(timezone.utc)
    names = ("model", "param", "value", "log_likelihood", "converged", "customers", "iterations")
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    return pa.table({
        "model": pa.array(columns["model"], pa.string()),
        "param": pa.array(columns["param"], pa.string()),
        "value": pa.array(columns["value"], pa.float64()),
        "time_unit": pa.array(["day"] * len(rows), pa.string()),
        "log_likelihood": pa.array(columns["log_likelihood"], pa.float64()),
        "converged": pa.array([int(c) for c in columns["converged"]], pa.uint8()),
        "customers": pa.array(columns["customers"], pa.uint64()),
        "iterations": pa.array(columns["iterations"], pa.uint32()),
        "as_of": pa.array([as_of] * len(rows), pa.timestamp("us", tz="UTC")),
        "fitted_at": pa.array([fitted_at] * len(rows), pa.timestamp("us", tz="UTC")),
    })


SEGMENT_GATES = (
    unique_key("customer_id"),
    Gate("every_window_customer_once",
         "Every customer with a completed sale in the 365-day window appears (exactly once: unique_key).",
         f"""
         SELECT abs(toInt64((SELECT count() FROM $target)) - toInt64(uniqExact(assumeNotNull(customer_id)))), ''
         FROM sales_fact
         WHERE {sql_fragment("sales/completed_sale_before_as_of")} AND customer_found
           AND sale_day >= {{window_start:Date32}}
         """),
    Gate("scores_in_range", "r, f and m scores are 1..5.",
         "SELECT countIf(r_score NOT BETWEEN 1 AND 5 OR f_score NOT BETWEEN 1 AND 5 OR m_score NOT BETWEEN 1 AND 5),"
         " '' FROM $target"),
    Gate("known_labels", "Segment labels come from the known sets.",
         "SELECT countIf(rfm_segment NOT IN {rfm_segments:Array(String)}"
         " OR behavior_segment NOT IN {behavior_segments:Array(String)}"
         " OR clv_segment NOT IN {clv_segments:Array(String)}), '' FROM $target"),
    Gate("clv_finite_non_negative", "Model outputs are finite and non-negative (or NULL: no model).",
         "SELECT countIf(NOT (isFinite(ifNull(expected_purchases_3y, 0)) AND ifNull(expected_purchases_3y, 0) >= 0"
         " AND isFinite(ifNull(probability_alive, 0)) AND ifNull(probability_alive, 0) BETWEEN 0 AND 1"
         " AND ifNull(model_clv_3y, 0) >= 0)), '' FROM $target"),
)

customer_segments = build_sql_table_asset(SqlTable(
    name="customer_segments",
    description="The original Airflow examples' customer segments: RFM, behaviour cluster, the original Airflow examples' simple CLV and the "
    "BG/NBD + Gamma-Gamma CLV, one row per customer active in the last 365 days.",
    sql_dir=HERE, group=CUSTOMERS_GROUP, stale_after=DAILY_STALE_AFTER,
    deps=("customer_rfm", "customer_behavior_clusters", "customer_clv", "raw_customers"),
    gates=SEGMENT_GATES,
    window_days=RFM_WINDOW_DAYS,  # the customers of customer_rfm's window
    parameters=lambda as_of: {"rfm_segments": list(RFM_SEGMENTS), "behavior_segments": list(LABELS),
                              "clv_segments": list(CLV_SEGMENTS)},
))

customer_segment_summary = build_sql_table_asset(SqlTable(
    name="customer_segment_summary",
    description="Customers, average value, frequency and recency per RFM segment.",
    sql_dir=HERE, group=CUSTOMERS_GROUP, stale_after=DAILY_STALE_AFTER, deps=("customer_segments",),
    gates=(
        unique_key("rfm_segment"),
        Gate("totals_equal_detail", "Customer count and revenue add up to customer_segments'.",
             """
             SELECT (sum(customer_count) != (SELECT count() FROM customer_segments))
                  + (ifNull(sum(total_revenue), 0) != (SELECT ifNull(sum(monetary_value), 0) FROM customer_segments)),
                    '' FROM $target
             """),
    ),
))

customer_assets = [customer_rfm, customer_behavior_clusters, customer_clv, customer_segments, customer_segment_summary]
