"""A pytest plugin: the run's very last line lists every skip and its reason, so that a
skip is seen (here a skip is a defect: a tool the bootstrap installs was missing).

``skipped: none`` or ``skipped: 2: tests/a.py::test_x (reason); ...``. It is written when
pytest unconfigures, after pytest's own summary line."""

from __future__ import annotations

from typing import Any

import pytest


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def skip_line(reports: list[Any]) -> str:
    if not reports:
        return "skipped: none"
    listed = "; ".join(f"{report.nodeid} ({_reason(report)})" for report in reports)
    return f"skipped: {len(reports)}: {listed}"


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    reporter.write_line(skip_line(reporter.stats.get("skipped", [])))
