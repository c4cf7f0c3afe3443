"""The running Dagster webserver, through its GraphQL API: reload the code location (a new or
changed spec file becomes an asset), launch a datamart's refresh, start its schedule.

Every answer is reported as it is: a webserver that does not answer, a location that fails to
load, a launch that is refused each become a plain sentence in the API's response, never a
silent success.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

# The code location's name (workspace.yaml, pyproject's [tool.dagster]).
LOCATION = "analytics_assets"

WORKSPACE = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name } }
  ... on PythonError { message } } }"""
RELOAD = """mutation($location: String!) { reloadRepositoryLocation(repositoryLocationName: $location) {
  __typename
  ... on WorkspaceLocationEntry { locationOrLoadError { __typename
      ... on RepositoryLocation { repositories { name } } ... on PythonError { message } } }
  ... on Error { message } } }"""
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on Error { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
START_SCHEDULE = """mutation($selector: ScheduleSelector!) { startSchedule(scheduleSelector: $selector) {
  __typename ... on ScheduleStateResult { scheduleState { status } } ... on Error { message } } }"""
# The implicit job of every asset: what the UI's "Materialize" launches.
ASSET_JOB = "__ASSET_JOB"


class DagsterUnreachable(Exception):
    """No Dagster webserver answered at the URL."""


class DagsterRefused(Exception):
    """The webserver answered, and said no (the message says why)."""


class DagsterWebserver:
    def __init__(self, url: str, *, timeout: float = 180.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def run_url(self, run_id: str) -> str:
        return f"{self.url}/runs/{run_id}"

    def _post(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(f"{self.url}/graphql", method="POST",
                                         data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, timed out, not GraphQL
            reason = getattr(exc, "reason", None) or exc
            raise DagsterUnreachable(f"no Dagster webserver answered at {self.url} ({reason})") from None
        if body.get("errors"):
            raise DagsterRefused("; ".join(str(e.get("message", e)) for e in body["errors"])[:1000])
        return body["data"]

    def location(self) -> str:
        """Our code location's name: `analytics_assets`, or the workspace's only location."""
        found = self._post(WORKSPACE)["workspaceOrError"]
        if found["__typename"] != "Workspace":
            raise DagsterRefused(found.get("message", found["__typename"]))
        names = [entry["name"] for entry in found["locationEntries"]]
        if LOCATION in names:
            return LOCATION
        if len(names) == 1:
            return names[0]
        raise DagsterRefused(f"the workspace has no code location named {LOCATION} (it has: {', '.join(names)})")

    def reload(self, location: str) -> str:
        """Reload `location` (waits until it has loaded); the name of its repository."""
        entry = self._post(RELOAD, {"location": location})["reloadRepositoryLocation"]
        if entry["__typename"] != "WorkspaceLocationEntry":
            raise DagsterRefused(f"reload of {location} refused: {entry.get('message', entry['__typename'])}")
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") != "RepositoryLocation":
            message = (loaded.get("message") or "no answer").strip().splitlines()[0]
            raise DagsterRefused(f"code location {location} failed to load: {message}")
        return loaded["repositories"][0]["name"]

    def launch(self, location: str, repository: str, assets: list[str], tags: dict[str, str]) -> str:
        """Launch a run materializing `assets`; its run id."""
        params = {"selector": {"repositoryLocationName": location, "repositoryName": repository,
                               "jobName": ASSET_JOB, "assetSelection": [{"path": [a]} for a in assets]},
                  "runConfigData": {}, "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}}
        result = self._post(LAUNCH, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            reason = result.get("message") or "; ".join(e["message"] for e in result.get("errors", [])) \
                or result["__typename"]
            raise DagsterRefused(f"launch refused ({result['__typename']}): {reason}")
        return result["run"]["runId"]

    def start_schedule(self, location: str, repository: str, schedule: str) -> str:
        """Start `schedule`; its status afterwards (RUNNING)."""
        selector = {"repositoryLocationName": location, "repositoryName": repository, "scheduleName": schedule}
        result = self._post(START_SCHEDULE, {"selector": selector})["startSchedule"]
        if result["__typename"] != "ScheduleStateResult":
            raise DagsterRefused(f"schedule {schedule} not started: {result.get('message', result['__typename'])}")
        return result["scheduleState"]["status"]


def after_change(webserver: DagsterWebserver, *, launch: list[str] = (), schedule: str | None = None,
                 tags: dict[str, str] | None = None) -> dict[str, Any]:
    """Reload the code location, then launch a run of `launch` and/or start `schedule`: what
    happened, for the API's response (`reachable`, `reloaded`, `run_id`, `run_url`, `message`)."""
    report: dict[str, Any] = {"url": webserver.url, "reachable": False, "reloaded": False}
    try:
        location = webserver.location()
        report.update(reachable=True, location=location)
        repository = webserver.reload(location)
        report["reloaded"] = True
        if launch:
            run_id = webserver.launch(location, repository, list(launch), tags or {})
            report.update(run_id=run_id, run_url=webserver.run_url(run_id))
        if schedule:
            report.update(schedule=schedule, schedule_status=webserver.start_schedule(location, repository, schedule))
    except DagsterUnreachable as exc:
        report["message"] = (f"{exc}: nothing was reloaded or launched; reload the code location in the Dagster UI "
                             "(or restart dagster dev) and materialize the datamart there")
    except DagsterRefused as exc:
        report["message"] = str(exc)
    return report
