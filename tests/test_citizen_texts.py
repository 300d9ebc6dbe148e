"""What the kiosk tells and asks citizens, read against the seeds (issue 13): every
Japanese text a citizen sees (the screens, the slip, the service's reasons, the catalog's
notices) in one list, checked for what must never be said and what must be said.

Seed references are ``file:line`` in ``../shared/seeds/``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from kiosk.catalog.queries import Catalog
from kiosk.catalog.store import Freshness, Source
from kiosk.i18n import en, ja
from kiosk.settings import KioskSettings
from mynapoint.packaged_catalog import packaged_document
from mynapoint.reasons import R
from receipts.messages import MESSAGES as SLIP
from receipts.model import Contact

if TYPE_CHECKING:
    pass

CATALOG = Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "test"))


def citizen_texts_ja() -> dict[str, str]:
    """Every Japanese text a citizen may read, by where it comes from."""
    texts = {f"screen {key}": value for key, value in ja.MESSAGES.items()}
    texts |= {f"slip {key}": value[0] for key, value in SLIP.items()}
    texts |= {f"reason {r.name}": r.value.message_ja for r in R}
    for service in CATALOG.services:
        for channel in ("convenience_store", "city_hall"):
            for day in (service.selectable_from, service.selectable_from.replace(year=2000)):
                availability = CATALOG.availability(service, channel, day)
                texts[f"catalog {service.code} {channel} {day}"] = availability.message_ja
        notice = CATALOG.pre_registration_notice(service)
        if notice is not None:
            texts[f"catalog {service.code} pre-registration"] = notice.text("ja")
        texts[f"catalog {service.code} grant"] = CATALOG.grant_notice(service).text("ja")
    return texts


# One form of each word (the list): the noun 申込 (not 申し込み or 申込み), the verb
# 申し込む (not 申込む), 手続き and the official name 手続スポット (seed 000 line 47), お子さま.
FORMS = {
    "申し込み as a noun (use 申込)": re.compile(r"申し込み(?![まくな])"),
    "申込み (use 申込)": re.compile(r"申込み"),
    "申込む as a verb (use 申し込む)": re.compile(r"申込[むんめまも]"),
    "手続 without き (use 手続き)": re.compile(r"手続(?![きス])"),
    "手続きスポット (use 手続スポット)": re.compile(r"手続きスポット"),
    "子ども, 子供, お子様 (use お子さま)": re.compile(r"子ども|子供|お子様"),
}


def test_japanese_forms_are_one_each_everywhere() -> None:
    found = [
        f"{where}: {name}: {text}"
        for where, text in citizen_texts_ja().items()
        for name, pattern in FORMS.items()
        if pattern.search(text.replace("\n", ""))
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("form", list(FORMS))
def test_each_form_rule_catches_the_wrong_form(form: str) -> None:
    wrong = {
        "申し込み as a noun (use 申込)": "申し込み済みです",
        "申込み (use 申込)": "申込みの受付",
        "申込む as a verb (use 申し込む)": "改めて申込めます",
        "手続 without き (use 手続き)": "手続を完了",
        "手続きスポット (use 手続スポット)": "マイナポイント手続きスポット",
        "子ども, 子供, お子様 (use お子さま)": "子どもの手続き",
    }[form]
    assert FORMS[form].search(wrong)
    right = "お申し込みください。申し込みます。申込済み。手続き。手続スポット。お子さま"
    assert not FORMS[form].search(right)


def test_re_applying_is_never_said_to_be_limited_to_the_day() -> None:
    """Seed 000 lines 43-54 limit the *cancellation* to the day, not the new application."""
    for where, text in citizen_texts_ja().items():
        assert not re.search(r"本日中[^。]*改めて", text), where
    for key, value in en.MESSAGES.items():
        assert "apply again today" not in value, key
    assert "apply again today" not in SLIP["cancelled.again"][1]


def test_the_phone_digits_are_not_said_to_check_identity() -> None:
    """No seed says the last 4 digits of a phone are for 本人確認 (000:149 only lists them
    as optional), and the service never sends them to the operator."""
    assert "本人確認" not in ja.MESSAGES["enter_phone.body"]
    assert "任意" in ja.MESSAGES["enter_phone.body"]
    assert "confirm it is you" not in en.MESSAGES["enter_phone.body"]


SCAM_WORDS = [
    "マイナンバー",
    "口座番号",
    "口座の暗証番号",
    "資産",
    "家族構成",
    "通帳",
    "キャッシュカード",
    "手数料",
]


@pytest.mark.parametrize("text", [SLIP["note.scam"][0], ja.MESSAGES["help.scam"]])
def test_the_fraud_warning_names_everything_the_seeds_name(text: str) -> None:
    """Seed 000 line 316, seed 002 lines 235-241; 口座の暗証番号, because the kiosk itself
    asks for the card's 暗証番号."""
    missing = [word for word in SCAM_WORDS if word not in text]
    assert not missing
    assert "、暗証番号" not in text  # never the bare word


def test_the_consent_says_what_is_kept_where_and_until_when() -> None:
    """A pending item keeps the security code, encrypted, until the service answers: the
    consent must not say it is never recorded, and must say for how long results stay."""
    assert "セキュリティコードは記録しません" not in ja.MESSAGES["consent.body"]
    kept = ja.MESSAGES["consent.kept"].format(days=30, slips=300)
    for said in ("暗号化して保管", "送信が終わった時点で消去", "30日間", "300件", "末尾4桁"):
        assert said in kept, said


def test_no_text_sends_a_citizen_to_my_page_with_a_receipt_number() -> None:
    """My Page opens with the card and its PIN (seed 000 lines 179-187)."""
    for where, text in citizen_texts_ja().items():
        assert not re.search(r"受付番号で[^。]*マイページ", text), where


def test_english_says_the_pin_locks_not_the_card_and_cancel_for_stop() -> None:
    assert not [
        key
        for key, value in en.MESSAGES.items()
        if "lock the card" in value or "locks the card" in value
    ]
    assert en.MESSAGES["button.quit"] == "Cancel"
    assert "Not on a metal surface." not in en.MESSAGES["place_card.tips"]
    assert "Do not place it on a metal surface." in en.MESSAGES["place_card.tips"]


def test_contacts_follow_the_newer_seed_and_give_every_number() -> None:
    """Seed 001 line 42 (2021): weekends 9:30-17:00; 000:26-28: three numbers; option 5."""
    contact = Contact()
    assert "土日祝 9:30〜17:00" in contact.hours_ja
    assert KioskSettings().contact_hours_ja == contact.hours_ja
    assert (contact.phone, contact.navi_dial, contact.ordinary) == (
        "0120-95-0178",
        "0570-783-578",
        "050-3818-1250",
    )
    with_the_line = [r for r in R if "0120-95-0178" in r.value.message_ja]
    assert with_the_line and all("5番" in r.value.message_ja for r in with_the_line)


def test_a_suspended_mykey_id_points_to_the_mykey_platform() -> None:
    """Seed 004 #1022: a leaked or misused MyKey ID is the MyKey Platform's desk."""
    message = R.MYKEY_SUSPENDED.value.message_ja
    assert "マイキープラットフォーム" in message and "0120-95-0178" not in message


def test_help_covers_what_a_citizen_cannot_ask_anyone() -> None:
    """A forgotten PIN (000:177), a lost card (000:298), an application made inside an
    app (000:44-45), the own-name rule (000:243) and a leaked MyKey ID (004 #1022)."""
    from kiosk.ui.screens.base import ScreenContext

    for channel in ("convenience_store", "city_hall"):
        context = ScreenContext(send=lambda _event: None, channel=channel)
        pages = context.help_pages("ja")
        said = "".join(p.text for page in pages for p in page)
        for needed in (
            "再設定",
            "機能を止めて",
            "アプリの中で申し込んだ",
            "ご本人名義",
            "マイキープラットフォーム",
            "0570-783-578",
            "050-3818-1250",
            "口座の暗証番号",
        ):
            assert needed in said, (channel, needed)
        assert ("市区町村のマイナンバーカード窓口" in said) == (channel == "city_hall")
        english = "".join(p.text for page in context.help_pages("en") for p in page)
        assert "family member" in english and "24 hours a day" in english


def test_the_slip_prints_no_grant_rule_of_its_own() -> None:
    """The rule is the chosen service's, from the catalog (charge or purchase): the slip's
    messages hold no rate and no cap."""
    for key, (ja_text, en_text) in SLIP.items():
        assert "25%" not in ja_text and "5,000" not in ja_text, key
        assert "25%" not in en_text and "5,000" not in en_text, key


def test_the_consent_says_what_goes_to_the_payment_company_as_the_service_does_it() -> None:
    """The consent (and the phone screen) say: the payment company receives the payment
    service ID and the security code only, to check them; the last 4 phone digits stay on
    the application and never go to it. That the service does so is
    ``tests/grant_service/test_privacy.py``'s
    ``test_the_operator_is_told_the_id_and_the_code_only_and_the_phone_digits_stay``."""
    said = ja.MESSAGES["consent.sent_operator"]
    assert "決済サービスIDとセキュリティコードだけが送られます" in said
    assert re.search(r"電話番号の下4桁[^。]*決済サービスの会社には送られません", said)
    assert (
        "only the payment service ID and the security code" in en.MESSAGES["consent.sent_operator"]
    )
    # No text, on a screen or spoken, says the phone digits go to the payment company.
    from kiosk.i18n import speech_ja

    for where, text in [*citizen_texts_ja().items(), *speech_ja.SCRIPTS.items()]:
        for sentence in re.split(r"[。\n]", text):
            if "電話番号" in sentence and re.search(r"決済サービスの会社|事業者", sentence):
                assert re.search(r"送られません|送られず|送りません", sentence), (where, sentence)
