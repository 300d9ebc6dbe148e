"""The kiosk's voice (issue 14, first part): a script for every step in both languages,
written for the ear, read right by Open JTalk (checked with its own g2p), made into real
speech (not silence) offline, and never a digit of the PIN, the security code or the
payment-service ID, over every path of the procedure."""

from __future__ import annotations

import datetime as dt
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from kiosk.catalog.queries import Catalog
from kiosk.catalog.store import Freshness, Source
from kiosk.i18n import LANGUAGES
from kiosk.i18n import text as screen_text
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Flow, Step, View
from kiosk.voice import lexicon
from kiosk.voice.scripts import SCRIPTS, script_for, typed
from kiosk.voice.synth import Synthesizer
from mynapoint.packaged_catalog import packaged_document
from tests.kiosk.ui.test_screens import every_view

CATALOG = Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "test"))
NOW = dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)
PIN, CODE, PAYMENT_ID, PHONE = "4827", "8642", "090-7351-2468", "5396"
SECRETS = [PIN, CODE, "07351", "2468", PHONE]  # the ID's digits in runs, and its last 4
SYMBOLS = re.compile(r"[（）()「」『』【】・：:／/%〜~]")


def views_in_both_languages() -> list[View]:
    views = [view for _name, view in every_view()]
    return [View(v.step, language, v.data) for v in views for language in ("ja", "en")]


def test_every_step_has_a_script_in_both_languages() -> None:
    assert SCRIPTS["ja"].keys() == SCRIPTS["en"].keys()
    silent = {Step.TECHNICIAN_PIN, Step.TECHNICIAN}  # the technician's, not the citizen's
    for view in views_in_both_languages():
        script = script_for(view, CATALOG)
        assert bool(script) == (view.step not in silent), (view.step, view.language)


def test_scripts_are_written_for_the_ear() -> None:
    """No brackets or symbols once the lexicon has done its work, no Latin letters left
    for Open JTalk to skip, and no unfilled placeholder."""
    for view in views_in_both_languages():
        spoken = lexicon.for_the_ear(script_for(view, CATALOG), view.language)
        assert not SYMBOLS.search(spoken), (view.step, view.language, spoken)
        assert "{" not in spoken, (view.step, spoken)


def test_a_notice_the_kiosk_raises_says_its_problem_aloud() -> None:
    """A notice with no words of the service (the kiosk's own problem: offline, no answer)
    is heard whole, not only its "could not be done"."""
    for language in LANGUAGES:
        view = View(Step.NOTICE, language, {"problem": "voucher_cancel.offline"})
        lead = script_for(View(Step.NOTICE, language, {}), CATALOG)
        said = script_for(view, CATALOG)
        problem = screen_text("voucher_cancel.offline", language)
        assert said.startswith(lead) and said.endswith(problem)


def test_a_receipt_number_is_spelled_a_character_at_a_time() -> None:
    assert lexicon.spelled("K7QM-3XPA-9TRZ", "en") == "K, 7, Q, M. 3, X, P, A. 9, T, R, Z."
    ja = lexicon.spelled("K7QM-3XPA-9TRZ", "ja")
    assert ja.startswith("ケー、7、キュー、エム。") and not re.search(r"[A-Z]", ja)


def walk(flow: Flow, events: list[ev.Event]) -> list[View]:
    views = [flow.view]
    for event in events:
        flow.handle(event)
        views.append(flow.view)
    return views


def card_read(tries: int = 3) -> ev.CardRead:
    return ev.CardRead("0a", NOW - dt.timedelta(days=30), NOW + dt.timedelta(days=900), tries)


def applied_page() -> dict:
    return {"reservation": {"reserved": True, "mykey_id": "K7QM3XPA"},
            "application": {"state": "active", "service_code": "paypay",
                            "account_last4": "2468", "receipt_number": "Q394-Q5AN-ZWWD",
                            "cancellable_here": True}}  # fmt: skip


def outcome(kind: str, state: str, receipt: str, **result: object) -> ev.Outcome:
    return ev.Outcome(kind, state, receipt, dict(result) or None)  # type: ignore[arg-type]


PATHS: dict[str, list[ev.Event]] = {
    "apply, a wrong PIN, a wrong ID, a refused code, then done": [
        ev.Start(), ev.Agree(), ev.ForWhom("self"), ev.CardPlaced(), card_read(),
        ev.PinTyped("1111"), ev.PinRejected(2), ev.PinTyped(PIN), ev.PinAccepted(),
        ev.StatusFound({"reservation": {"reserved": False}, "application": {"state": "none"}}),
        ev.ChooseService("paypay"), ev.IdTyped("12"), ev.IdTyped(PAYMENT_ID),
        ev.CodeTyped(CODE), ev.PhoneTyped(PHONE), ev.Submit(),
        ev.Submitted((outcome("reservation", "confirmed", "K7QM-3XPA-9TRZ"),
                      outcome("application", "rejected", "WHEN-V23Z-5QD7",
                              reason_code="MKCZ374E", message_ja="申込が完了できませんでした。",
                              message_en="The application was not completed."))),
        ev.TryAgain(), ev.IdTyped(PAYMENT_ID), ev.CodeTyped(CODE), ev.PhoneTyped(None),
        ev.Submit(), ev.Submitted((outcome("application", "confirmed", "Q394-Q5AN-ZWWD"),)),
        ev.SlipIssued(printed=True), ev.Continue(),
    ],
    "offline, a child, pending": [
        ev.Start(), ev.Agree(), ev.ForWhom("child_under_15"), ev.CardPlaced(), card_read(1),
        ev.PinTyped(PIN), ev.PinAccepted(), ev.StatusUnavailable("down"), ev.Continue(),
        ev.ChooseService("paypay"), ev.IdTyped(PAYMENT_ID), ev.CodeTyped(CODE),
        ev.PhoneTyped(PHONE), ev.Submit(),
        ev.Submitted((outcome("reservation", "pending", "K7QM-3XPA-9TRZ"),
                      outcome("application", "pending", "WHEN-V23Z-5QD7"))),
        ev.SlipIssued(printed=False, problem="printer.paper_out"), ev.Continue(),
    ],
    "already applied, a wrong entry cancelled": [
        ev.Start(), ev.Agree(), ev.ForWhom("self"), ev.CardPlaced(), card_read(),
        ev.PinTyped(PIN), ev.PinAccepted(), ev.StatusFound(applied_page()),
        ev.NotMe("wrong_entry"), ev.CancelApplication(),
        ev.Submitted((outcome("cancellation", "confirmed", "WHEN-V23Z-5QD7"),)), ev.Continue(),
        ev.ChooseService("paypay"), ev.IdTyped(PAYMENT_ID), ev.Back(), ev.Quit(),
    ],
}  # fmt: skip


@pytest.mark.parametrize("channel", ["convenience_store", "city_hall"])
@pytest.mark.parametrize("path", list(PATHS))
def test_no_secret_digit_is_ever_in_a_script(path: str, channel: str) -> None:
    """Every view of every path, in both languages, and what each key press says."""
    for language in ("ja", "en"):
        flow = Flow(channel=channel, catalog=CATALOG, clock=lambda: NOW)  # type: ignore[arg-type]
        flow.handle(ev.ChooseLanguage(language))  # type: ignore[arg-type]
        views = walk(flow, PATHS[path])
        assert len({v.step for v in views}) > 8, [v.step for v in views]
        scripts = [script_for(v, CATALOG) for v in views]
        scripts += [typed(n, language) for n in range(17)]
        for script in scripts:
            digits_heard = re.sub(r"[、,.。\s]", "", lexicon.for_the_ear(script, language))
            leaked = [s for s in SECRETS if s in digits_heard]
            assert not leaked, (path, language, script)


# Each term the scripts use, as Open JTalk must read it (katakana, as g2p gives it).
READINGS = {
    "暗証番号": "アンショーバンゴー", "マイキーID": "マイキーアイディー", "申込": "モーシコミ",
    "決済サービスID": "ケッサイサービスアイディー", "電子証明書": "デンシショーメーショ",
    "受付番号": "ウケツケバンゴー", "手続き": "テツズキ", "市区町村": "シクチョーソン",
    "送信待ち": "ソーシンマチ", "控え": "ヒカエ", "お子さま": "オコサマ", "口座": "コーザ",
    "窓口": "マドグチ", "再設定": "サイセッテー", "受付完了": "ウケツケカンリョー",
    "数字4桁": "スージヨンケタ", "24時間": "ニジューヨジカン", "あと1回": "アトイッカイ",
    "セキュリティコード": "セキュリティコード", "マイナンバーカード": "マイナンバーカード",
}  # fmt: skip


@pytest.fixture(scope="module")
def g2p():  # type: ignore[no-untyped-def]
    import os

    from kiosk.voice.synth import DICTIONARY

    os.environ.setdefault("OPEN_JTALK_DICT_DIR", str(DICTIONARY))
    import pyopenjtalk

    return lambda text: pyopenjtalk.g2p(lexicon.for_the_ear(text, "ja"), kana=True)


def test_every_scripted_term_is_read_right(g2p) -> None:  # type: ignore[no-untyped-def]
    wrong = {term: g2p(term) for term, reading in READINGS.items() if g2p(term) != reading}
    assert not wrong
    for service in CATALOG.services:  # names as said: the catalog's own kana
        assert g2p(service.reading) == service.reading.replace("ヅ", "ズ"), service.code
    spelled = g2p(lexicon.spelled("K7QM-3XPA-9TRZ", "ja"))
    assert not re.search(r"[A-ZＡ-Ｚ]", spelled), spelled  # no letter left unread


def test_the_lexicon_is_needed_where_it_is_used(g2p) -> None:  # type: ignore[no-untyped-def]
    """Without the catalog's reading, PayPay is spelled out; without LETTERS, a receipt
    number's letters are not read at all: what the lexicon fixes was really wrong."""
    import pyopenjtalk

    assert pyopenjtalk.g2p("PayPay", kana=True) != "ペイペイ"
    assert re.search(r"[Ａ-Ｚ]", pyopenjtalk.g2p("K、7、Q", kana=True))


def rms_and_seconds(path: Path) -> tuple[float, float]:
    with wave.open(str(path)) as audio:
        frames = audio.readframes(audio.getnframes())
        seconds = audio.getnframes() / audio.getframerate()
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0, seconds


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_every_script_becomes_speech_once(tmp_path: Path) -> None:
    """Real synthesis, offline: every distinct script of every step, in both languages,
    is sound (not silence) of a sane length; the same script is made once."""
    synth = Synthesizer(tmp_path / "voice")
    scripts = {(script_for(v, CATALOG), v.language) for v in views_in_both_languages()}
    scripts = {(text, language) for text, language in scripts if text}
    for text, language in sorted(scripts):
        path = synth.wav(text, language)
        rms, seconds = rms_and_seconds(path)
        assert rms > 300, (text, rms)  # silence is about 0
        # Japanese at about 7 morae a second, English at 150 words a minute: never a
        # clipped word, never minutes of noise.
        assert 0.5 < seconds < 2 + len(text) * (0.35 if language == "ja" else 0.12), (text, seconds)
    made = sorted((tmp_path / "voice").iterdir())
    assert len(made) == len(scripts)
    again = synth.wav(*sorted(scripts)[0])
    assert sorted((tmp_path / "voice").iterdir()) == made and again in made
