"""The demo's partitions start with its data: the first day it records is the start-date default."""

from analytics_assets import settings
from analytics_assets.demo.run import _record_first_day


def test_the_recorded_first_day_starts_the_partitions_and_a_set_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path))
    for name in (settings.WEB.variable("START_DATE"), settings.EVENTS.variable("START_DATE")):
        monkeypatch.delenv(name, raising=False)
    assert settings.WEB.start_date() == "2024-01-01"  # no data recorded: the default
    _record_first_day(settings.WEB.variable("START_DATE"), "2025-10-30")
    _record_first_day(settings.EVENTS.variable("START_DATE"), "2026-09-05")
    assert (settings.WEB.start_date(), settings.EVENTS.start_date()) == ("2025-10-30", "2026-09-05")
    monkeypatch.setenv(settings.WEB.variable("START_DATE"), "2026-01-01")
    assert settings.WEB.start_date() == "2026-01-01"
