"""A real browser for the console's tests: Debian's Chromium, headless, driven by Selenium
through Debian's chromium-driver, and axe-core (tests/browser/node_modules, installed by
scripts/bootstrap from the pinned package-lock.json) injected to check accessibility.

The flags are those that work on this closed network (no background connections, no
component updates: ../shared/ENVIRONMENT.md); each browser gets a new, empty profile.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.support.paths import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = REPO / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = REPO / "test-artifacts" / "browser"

FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--window-size=1366,900",
    "--lang=ja",
)


@contextmanager
def chromium(profile: Path) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with an empty profile in ``profile``."""
    for needed in (CHROMIUM, CHROMEDRIVER, AXE):
        assert needed.exists(), f"{needed} is missing: run ./scripts/bootstrap"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """axe-core's violations on the page now (WCAG 2.x A and AA rules)."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
          .then(r => done(JSON.stringify(r.violations)))
          .catch(e => done(JSON.stringify([{id: 'axe-error', help: String(e), nodes: []}])));
        """
    )
    violations: list[dict[str, Any]] = json.loads(result)
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """The violations, a line each with the elements they are on (for an assertion)."""
    return "\n".join(
        f"{v['id']}: {v['help']} on {[n.get('target') for n in v.get('nodes', [])][:5]}"
        for v in violations
    )


def screenshot(driver: WebDriver, name: str) -> Path:
    """Keep the page as a test artefact (test-artifacts/browser/NAME.png)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
