"""Session hygiene (the idle timer, the wipe, no secret in a repr) and the kiosk's words
(both languages complete, every device problem has its text)."""

from __future__ import annotations

import re
import string

import pytest

from kiosk.devices import errors, printer
from kiosk.i18n import TABLES, text
from kiosk.procedure import events as ev
from kiosk.procedure.commands import Apply, VerifyPin
from kiosk.procedure.session import WARNING_SECONDS, IdleTimer, Session
from tests.support.paths import REPO

KIOSK = REPO / "kiosk"


# --- The idle timer -----------------------------------------------------------------------


def test_the_idle_timer_warns_for_the_last_20_seconds_and_a_touch_extends() -> None:
    timer = IdleTimer(90, now=0.0)
    assert timer.tick(69.0) is None  # 21 s left: nothing shown yet
    assert timer.tick(70.0) == 20  # the countdown starts at 20 s (WCAG 2.2.1)
    assert timer.tick(89.5) == 1  # never "0" while time is left
    timer.touch(89.5)  # one touch anywhere
    assert timer.tick(100.0) is None
    assert timer.tick(179.5) == 0  # time is up


def test_an_idle_timeout_too_short_to_warn_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than 20"):
        IdleTimer(WARNING_SECONDS, now=0.0)


# --- The session ----------------------------------------------------------------------------


def test_a_wiped_session_holds_nothing_of_the_citizen() -> None:
    session = Session(language="en", service_code="paypay", payment_id="090-0000-0001",
                      security_code="8642", phone_last4="5678", mykey_id="K7QM3XPA",
                      reserved=True)  # fmt: skip
    session.wipe()
    assert session == Session()


def test_no_secret_shows_in_a_repr() -> None:
    """A log line that formats a session, an event or a command cannot carry a secret."""
    secrets = ["4827", "090-0000-0001", "8642", "5678"]
    session = Session(payment_id=secrets[1], security_code=secrets[2], phone_last4=secrets[3])
    shown = " ".join(map(repr, [
        session, VerifyPin("4827"), ev.PinTyped("4827"), ev.IdTyped(secrets[1]),
        ev.CodeTyped("8642"), ev.PhoneTyped("5678"), Apply("paypay", *secrets[1:]),
    ]))  # fmt: skip
    assert not [s for s in secrets if s in shown], shown
    assert "4827" in repr(("planted", "4827"))  # (the check can see a secret)


# --- The words --------------------------------------------------------------------------------


def test_both_languages_have_every_key_and_the_same_placeholders() -> None:
    ja, en = TABLES["ja"], TABLES["en"]
    assert sorted(set(ja) - set(en)) == [] and sorted(set(en) - set(ja)) == []
    fields = string.Formatter()
    for key in ja:
        names = {name for _, name, _, _ in fields.parse(ja[key]) if name}
        assert names == {name for _, name, _, _ in fields.parse(en[key]) if name}, key


def every_subclass(base: type) -> list[type]:
    found = []
    for sub in base.__subclasses__():
        found += [sub, *every_subclass(sub)]
    return found


def test_every_card_and_printer_problem_has_words_in_both_languages() -> None:
    keys = {cls.message_key for cls in [*every_subclass(errors.CardError),
                                        *every_subclass(printer.PrinterError)]}  # fmt: skip
    missing = {lang: sorted(keys - set(table)) for lang, table in TABLES.items()}
    assert missing == {"ja": [], "en": []}


def test_every_text_key_the_code_uses_exists() -> None:
    """Keys written in the kiosk's code ("xxx.yyy" strings passed as a problem or looked
    up) are in the tables."""
    used = set()
    for path in KIOSK.rglob("*.py"):
        used |= set(re.findall(r'problem="([a-z_]+\.[a-z_.]+)"', path.read_text()))
        used |= set(re.findall(r'\btext\("([a-z_]+\.[a-z_.]+)"', path.read_text()))
        used |= set(re.findall(r'\bAction\(\s*"([a-z_]+\.[a-z_.]+)"', path.read_text()))
        used |= set(re.findall(r'\bkey="([a-z_]+\.[a-z_.]+)"', path.read_text()))
    for path in KIOSK.rglob("*.kv"):
        used |= set(re.findall(r'\bkey: "([a-z_]+\.[a-z_.]+)"', path.read_text()))
    assert used, "the search found no keys: it is looking in the wrong place"
    assert sorted(used - set(TABLES["ja"])) == []


def test_a_missing_key_shows_the_key_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    assert text("no.such.key", "en") == "no.such.key"
    assert "no en text for 'no.such.key'" in caplog.text
    assert text("pin.tries", "en", tries=2) == "2 more wrong entries will lock the PIN."
