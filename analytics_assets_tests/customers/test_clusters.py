"""Behaviour clusters: the distinct-customer count that decides k, and the seed's labels."""

from __future__ import annotations

import numpy as np
import pytest

from analytics_assets.customers.clusters import FEATURES, _distinct_rows_up_to, cluster_customers


@pytest.mark.parametrize("values", [1, 2, 3, 4, 5, 6, 50])
@pytest.mark.parametrize("rows", [1, 2, 5, 200])
def test_distinct_rows_up_to_counts_like_numpy(values, rows):
    x = np.random.default_rng(values * rows).integers(0, values, (rows, 2)).astype(float)
    assert _distinct_rows_up_to(x, 5) == min(5, len(np.unique(x, axis=0)))


def test_distinct_rows_up_to_looks_past_the_first_rows():
    x = np.zeros((3000, 6))
    x[2000:2003, 0] = [1.0, 2.0, 3.0]
    assert _distinct_rows_up_to(x, 5) == 4
    x[2999, 1] = 1.0
    assert _distinct_rows_up_to(x, 5) == 5


def test_distinct_rows_up_to_treats_negative_zero_as_zero():
    assert _distinct_rows_up_to(np.array([[0.0, 1.0], [-0.0, 1.0]]), 5) == 1
    assert _distinct_rows_up_to(np.zeros((0, 6)), 5) == 0


def test_few_distinct_customers_reduce_k():
    features = {f: np.array([1.0, 1.0, 2.0, 2.0, np.nan]) for f in FEATURES}
    result = cluster_customers(features)
    assert result.k == 3 and "only 3 distinct customers" in result.note  # NaN counts as 0
    assert len(set(result.cluster.tolist())) == 3
    assert set(result.segment) <= {"VIP", "Frequent", "Active", "Dormant", "Regular"}
