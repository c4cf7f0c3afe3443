"""A partitioned job run without a partition (a plain `dagster job execute -j web_analytics_job`)
runs for the logical day: the partition the logical time falls in (the last complete period for a
report), instead of failing inside Dagster.

Dagster reads a run's partition from its tags, and `dagster job execute` sets none unless asked
(`--partition`, `--partition-range`, `--tags`). The executor is the first of our code that sees the
run, so it adds the tags there: on the instance (the UI shows the run's partition; step processes
read the run from it) and on the run the steps of this process see.
"""

from __future__ import annotations

from datetime import timezone

import dagster as dg
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.events import DagsterEvent, EngineEventData

from analytics_assets.logical_time import AS_OF_TAG, resolve_as_of

PARTITION_TAG = "dagster/partition"
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def default_partition_tags(partitions_def: dg.PartitionsDefinition, tags: dict) -> dict[str, str]:
    """The tags a run of a job partitioned by `partitions_def` lacks, or {} when it has a partition.

    The partition is the last one as of the logical time (run tag analytics/as_of, else
    $ANALYTICS_AS_OF, else now): today for the daily feeds (they end a day ahead), the last complete
    month or week for a report. A partition still in progress at that time is as of it (the tag
    keeps it), not as of its end."""
    if PARTITION_TAG in tags or any(tag in tags for tag in RANGE_TAGS) or not isinstance(
            partitions_def, dg.TimeWindowPartitionsDefinition):
        return {}
    as_of = _as_of(tags)
    with partition_loading_context(effective_dt=as_of):
        key = partitions_def.get_last_partition_key()
    if key is None:
        raise dg.DagsterInvariantViolationError(
            f"no partition as of {as_of.isoformat()}: the first one starts {partitions_def.start.isoformat()}")
    added = {PARTITION_TAG: key}
    if AS_OF_TAG not in tags and as_of < partitions_def.time_window_for_partition_key(key).end:
        added[AS_OF_TAG] = as_of.isoformat()
    return added


def _as_of(tags: dict):
    if AS_OF_TAG in tags:
        from analytics_assets.logical_time import parse_as_of

        return parse_as_of(tags[AS_OF_TAG], source=f"run tag {AS_OF_TAG}")
    return resolve_as_of(None).astimezone(timezone.utc).replace(microsecond=0)


class _DefaultPartitionExecutor(dg.Executor):
    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan):
        run = plan_context.dagster_run
        partitions_def = plan_context.job.get_definition().partitions_def
        added = default_partition_tags(partitions_def, dict(run.tags)) if partitions_def else {}
        if added:
            plan_context.instance.add_run_tags(run.run_id, added)
            # The steps of this process read the run held by the context (in-process executor).
            plan_context._plan_data = plan_context._plan_data._replace(  # noqa: SLF001
                dagster_run=run.with_tags({**run.tags, **added}))
            yield DagsterEvent.engine_event(
                plan_context, f"No partition given: running for {added[PARTITION_TAG]}"
                + (f" as of {added[AS_OF_TAG]}" if AS_OF_TAG in added else ""), EngineEventData())
        yield from self._inner.execute(plan_context, execution_plan)


def with_default_partition(executor_def: dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    """`executor_def`, giving a partitioned job's run without a partition the logical day's."""

    def create(init_context):
        return _DefaultPartitionExecutor(executor_def.executor_creation_fn(init_context))

    return dg.ExecutorDefinition(
        name=executor_def.name, config_schema=executor_def.config_schema,
        requirements=executor_def._requirements_fn,  # noqa: SLF001
        executor_creation_fn=create, description=executor_def.description)
