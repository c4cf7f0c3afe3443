"""Figures the operations suites measure (fault recovery, concurrency, bad input, security),
printed in one table at the end of the session: `pytest analytics_assets_tests/operations -q`
shows them, and the README quotes them."""

from __future__ import annotations

import pytest

_FIGURES: list[tuple[str, str, str]] = []


class Figures:
    """`figures.record(suite, what, value)`: one line of the table printed after the tests."""

    def record(self, suite: str, what: str, value) -> None:
        _FIGURES.append((suite, what, str(value)))


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures()


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("operations figures")
    width = max(len(f"{suite}: {what}") for suite, what, _ in _FIGURES)
    for suite, what, value in _FIGURES:
        terminalreporter.write_line(f"{f'{suite}: {what}':<{width}}  {value}")
