"""The console in a real browser: Debian's Chromium driven by Selenium, against a real
``grant-service serve`` process, with axe-core checking every page (WCAG 2.1 A and AA).

Three kiosks report over the device-signed API (one out of paper, one silent for an hour,
one fine) and a re-issued card opened a conflict. An operator signs in with the keyboard,
sees the three kiosks in their order of attention, acknowledges the paper alert, resolves
the conflict, switches to English and signs out. The same pages without a session lead to
the sign-in page, and a POST without its CSRF token changes nothing. Screenshots are kept
in test-artifacts/browser/.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from grant_service import credentials, people
from grant_service.models import FleetAlert
from tests.grant_service.console.conftest import raise_alert, report
from tests.support.browser import ARTEFACTS, axe_violations, chromium, describe, screenshot
from tests.support.service_cluster import running_cluster
from tests.support.service_harness import Kiosk, ServiceEnv, jlis_entry

OPERATOR = "山田 太郎"
PAGES = ("/console/fleet", "/console/alerts", "/console/programme", "/console/conflicts",
         "/console/kiosks/kiosk-fine")  # fmt: skip


@dataclass
class World:
    service: ServiceEnv
    fine: Kiosk  # the kiosk that reports "all well", until the test says otherwise


@pytest.fixture
def world(make_service: Callable[..., ServiceEnv]) -> World:
    """Three kiosks and a conflict; the service's clock is the real one, as the served
    process's is (the silent kiosk reported an hour ago)."""
    service = make_service(now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    silent = service.kiosk("city_hall", "kiosk-silent")
    report(silent, store_name="区役所 本庁舎", municipality="中野区")
    service.clock.advance(hours=1)
    service.clock.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fine = service.kiosk("convenience_store", "kiosk-fine")
    report(fine)
    paperless = service.kiosk("convenience_store", "kiosk-paper-out")
    report(paperless, paper="out", store_name="ローソン 駅前店")
    raise_alert(paperless, "paper_out")
    lost, renewed = service.card(), service.card()
    assert fine.reserve(lost).status_code == 200
    assert fine.reserve(renewed).status_code == 200  # before J-LIS linked the two cards
    feed = service.as_role(service.credential("jlis_feed"))
    reply = service.http.post(
        "/v1/jlis/reissues", json={"entries": [jlis_entry(lost, renewed)]}, headers=feed
    )
    assert reply.json()["results"][0]["outcome"] == "conflict"
    return World(service, fine)


@pytest.fixture
def served(world: World, tmp_path: Path) -> Iterator[str]:
    with running_cluster(world.service, tmp_path, processes=1) as cluster:
        yield cluster.urls[0]


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[WebDriver]:
    shutil.rmtree(ARTEFACTS, ignore_errors=True)  # this run's screenshots only
    with chromium(tmp_path / "profile") as browser:
        yield browser


def accessible(driver: WebDriver, name: str) -> None:
    """Keep the page as an artefact, and fail on any axe-core violation."""
    screenshot(driver, name)
    violations = axe_violations(driver)
    assert not violations, f"{name}:\n{describe(violations)}"


# What a look at a page that is being replaced can raise: looked at again.
MID_NAVIGATION = (StaleElementReferenceException, WebDriverException)


def shown(driver: WebDriver, css: str) -> WebElement:
    """The element once the page that has it is there (a click's navigation takes time)."""
    element: WebElement = WebDriverWait(driver, 10, ignored_exceptions=MID_NAVIGATION).until(
        seen.presence_of_element_located((By.CSS_SELECTOR, css))
    )
    return element


def wait_for(driver: WebDriver, text: str) -> None:
    main = (By.TAG_NAME, "main")
    WebDriverWait(driver, 10, ignored_exceptions=MID_NAVIGATION).until(
        seen.text_to_be_present_in_element(main, text)
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_operator_runs_the_fleet_from_the_console(
    world: World, served: str, driver: WebDriver
) -> None:
    service = world.service
    with service.sessions.begin() as session:
        key = credentials.create(session, service.audit_key, "console", OPERATOR, service.clock())

    # Without a session every page leads to the sign-in page.
    for page in PAGES:
        driver.get(served + page)
        assert driver.current_url.startswith(f"{served}/console/sign-in"), page
    accessible(driver, "01-sign-in")

    # Signed in with the keyboard alone: the skip link comes first, Enter submits.
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("class") == "skip"
    driver.find_element(By.ID, "name").send_keys(OPERATOR)
    driver.find_element(By.ID, "access_key").send_keys(key, Keys.ENTER)
    wait_for(driver, "kiosk-paper-out")
    assert driver.current_url.startswith(f"{served}/console/")

    # The fleet: what needs attention first, each condition in words.
    rows = driver.find_elements(By.CSS_SELECTOR, "#fleet-rows tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == [
        "kiosk-silent", "kiosk-paper-out", "kiosk-fine",
    ]  # fmt: skip
    conditions = [r.find_element(By.CSS_SELECTOR, ".condition").text for r in rows]
    assert conditions == ["応答なし", "用紙切れ", "正常"], conditions
    silent_row = rows[0]
    assert "stale" in (silent_row.get_attribute("class") or "")
    assert "時点" in silent_row.text  # its figures are "as of" an hour ago, not current
    accessible(driver, "02-fleet")

    # The table refreshes itself: the fine kiosk runs out of paper, and its row says so
    # without a reload (the page's script fetches the rows every 15 seconds).
    driver.execute_script("window.notReloaded = true;")
    later = dt.datetime.now(dt.UTC).replace(microsecond=0)
    service.clock.now = max(later, service.clock.now + dt.timedelta(seconds=1))
    report(world.fine, paper="out")

    def fine_is_out_of_paper(driver: WebDriver) -> bool:
        rows = driver.find_elements(By.CSS_SELECTOR, "#fleet-rows tr")
        row = next(r for r in rows if r.find_element(By.TAG_NAME, "th").text == "kiosk-fine")
        return row.find_element(By.CSS_SELECTOR, ".condition").text == "用紙切れ"

    WebDriverWait(driver, 25, ignored_exceptions=MID_NAVIGATION).until(fine_is_out_of_paper)
    assert driver.execute_script("return window.notReloaded === true;")

    # A CSRF-less POST with the operator's own session cookie is refused; nothing changes.
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    with service.sessions() as session:
        (alert,) = session.query(FleetAlert).all()
    refused = httpx.post(f"{served}/console/alerts/{alert.id}/acknowledge", cookies=cookies)
    assert refused.status_code == 403
    with service.sessions() as session:
        assert session.get(FleetAlert, alert.id).state == "open"  # type: ignore[union-attr]

    # The kiosk out of paper: its page, with its charts and its alert.
    driver.find_element(By.LINK_TEXT, "kiosk-paper-out").click()
    shown(driver, "svg[role=img]")  # the fleet page has no chart: this is the kiosk's page
    assert "用紙切れ" in driver.find_element(By.TAG_NAME, "main").text
    accessible(driver, "03-kiosk")

    # Its revocation asks first (not confirmed here); a technician's token is shown once.
    driver.find_element(By.LINK_TEXT, "この端末を失効させる").click()
    shown(driver, "form[action$='/revoke'] button.danger")
    accessible(driver, "03-revoke-confirm")
    driver.get(f"{served}/console/kiosks/kiosk-paper-out")
    driver.find_element(By.CSS_SELECTOR, "form[action$='/enrollment-token'] button").click()
    token = shown(driver, "code.token").text
    assert len(token) >= 24
    accessible(driver, "03-enrollment-token")

    # The alert acknowledged, in the operator's name.
    driver.find_element(By.LINK_TEXT, "アラート").click()
    shown(driver, f"form[action$='/alerts/{alert.id}/acknowledge'] button").click()
    wait_for(driver, OPERATOR)
    with service.sessions() as session:
        handled = session.get(FleetAlert, alert.id)
        assert handled is not None and handled.state == "acknowledged"
        assert handled.acknowledged_by == OPERATOR
    accessible(driver, "04-alerts")

    # The conflict resolved from its page: the person keeps the new MyKey ID.
    driver.get(f"{served}/console/conflicts")
    accessible(driver, "05-conflict-open")
    driver.find_element(By.CSS_SELECTOR, "input[name=keep][value=new]").click()
    driver.find_element(By.CSS_SELECTOR, "form[action*='/conflicts/'] button").click()
    wait_for(driver, "を解決しました")
    with service.sessions() as session:
        assert people.open_conflicts(session) == []
    accessible(driver, "06-conflict-resolved")

    driver.get(f"{served}/console/kiosks/no-such-kiosk")  # the error page, signed in
    wait_for(driver, "見つかりません")
    accessible(driver, "07-not-found")

    driver.get(f"{served}/console/programme")
    assert driver.find_elements(By.CSS_SELECTOR, "svg[role=img]")
    accessible(driver, "08-programme")

    # English, then signed out: the pages are closed again.
    driver.find_element(By.CSS_SELECTOR, "button[name=language][value=en]").click()
    # (the old page's element goes stale while the new one loads: looked up again)
    WebDriverWait(driver, 10, ignored_exceptions=MID_NAVIGATION).until(
        lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    )
    accessible(driver, "09-programme-english")
    driver.find_element(By.CSS_SELECTOR, "form[action$='/sign-out'] button").click()
    WebDriverWait(driver, 10).until(lambda d: "/console/sign-in" in d.current_url)
    for page in PAGES:
        driver.get(served + page)
        assert driver.current_url.startswith(f"{served}/console/sign-in"), page
