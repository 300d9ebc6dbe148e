"""The demo's operators' console: the demo operator's key signs in to the local service's
console, and the demo kiosk's reports (heartbeat, a call for staff) are on its pages."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from kiosk.demo.environment import CONSOLE_USER, demo_environment
from kiosk.health.alerts import AlertOutbox
from kiosk.health.reporter import Reporter
from mynapoint.fleet import AlertKind


def test_the_demo_operator_signs_in_and_sees_the_demo_kiosk_and_its_call_for_staff(
    tmp_path: Path,
) -> None:
    with demo_environment(tmp_path / "demo") as env, Reporter.opened(env.kiosk) as reporter:
        AlertOutbox(reporter.store).raise_alert(
            AlertKind.STAFF_CALLED, detail="help asked on the pin screen"
        )
        reporter.once()
        with httpx.Client(base_url=env.service.url, follow_redirects=True) as browser:
            form = browser.get("/console/sign-in").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
            fleet = browser.post(
                "/console/sign-in",
                data={"csrf": csrf, "name": CONSOLE_USER, "key": env.console_key},
            )
            assert fleet.url.path in ("/console/", "/console/fleet"), fleet.text[-500:]
            assert "kiosk-demo" in fleet.text
            alerts = browser.get("/console/alerts").text
    assert "係員呼び出し" in alerts and "help asked on the pin screen" in alerts
