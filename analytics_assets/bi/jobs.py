"""bi_job: every BI feed at once."""

import dagster as dg

from analytics_assets.bi.assets import BI_GROUP

bi_job = dg.define_asset_job("bi_job", selection=dg.AssetSelection.groups(BI_GROUP),
                             description="bi_ views, Parquet (and Tableau) extracts of the marts and every datamart, "
                                         "and Grafana provisioning, under $ANALYTICS_DATA_DIR/bi/.")
