"""The kiosk's payment-service catalog: what the service publishes for it, the cache that
keeps the kiosk working offline, and what the touchscreen asks of it (search,
availability on each channel, ID and security-code checks)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from grant_service.catalog import ENTRY_FIELDS, CatalogData, ServiceData
from grant_service.operators import OperatorRegistry
from grant_service.settings import PACKAGE_DATA
from kiosk.catalog import kana
from kiosk.catalog.model import CatalogFormatError, CatalogService, parse_catalog
from kiosk.catalog.queries import Catalog
from kiosk.catalog.store import CATALOG_FILE, CatalogStore, Freshness, Source, load_catalog
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.enrollment import load_identity, service_client
from kiosk.link.service_client import ServiceClient
from kiosk.settings import KioskSettings
from mynapoint.availability import Unavailable
from mynapoint.packaged_catalog import PACKAGED_CATALOG, packaged_document
from mynapoint.reasons import R
from tests.support.kiosk_harness import KioskRig, free_port
from tests.support.paths import REPO

SERVICE_DOC = REPO / "docs" / "service.md"  # its demo-account table
PACKAGED = CatalogData.from_file(PACKAGED_CATALOG)
BY_CODE = {s.code: s for s in PACKAGED.services}
OPERATORS = json.loads((PACKAGE_DATA / "operators.json").read_text())["operators"]
CODES = [s.code for s in PACKAGED.services]
T0 = dt.datetime(2020, 9, 1, 1, 0, tzinfo=dt.UTC)  # 10:00 in Japan


class Clock:
    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "test"))


# --- what the catalog file publishes ----------------------------------------------------------


def test_the_published_id_formats_are_the_simulated_operators() -> None:
    assert set(OPERATORS) == set(CODES)
    for service in PACKAGED.services:
        assert service.id_pattern == OPERATORS[service.code]["id_pattern"], service.code


def test_every_new_value_cites_its_seed_or_says_what_it_is() -> None:
    marks = ("seed 0", "default", "inferred", "brand knowledge", "fictional")
    for service in PACKAGED.services:
        cited = {"reading_ja", "id_label", "id_hint", "id_pattern", "id_example"}
        cited |= {"code_label", "code_hint", "code_pattern", "card_credentials"}
        assert cited <= set(service.sources), service.code
        for name in cited:
            assert any(mark in service.sources[name] for mark in marks), (service.code, name)


def test_a_service_entry_is_checked_when_the_catalog_is_loaded() -> None:
    good = PACKAGED.services[0].model_dump()
    for bad in (
        {"reading_ja": "Suica"},
        {"id_pattern": "(["},
        {"id_example": "JE1"},
        {"id_example": "je12345678901234"},
    ):
        with pytest.raises(ValueError):
            ServiceData.model_validate({**good, **bad})


# Services whose ID is a payment card's number but whose security code is one the service
# gives for the programme, not the one printed on the card: a kiosk may take those. Each is
# named here with why, so that no card number with its card's code slips in unnoticed.
CARD_NUMBER_WITH_PROGRAMME_CODE = {
    "au_pay": "the prepaid card's number, with a 4-digit code from the au PAY app or website",
}


def _id_is_a_card_number(service: ServiceData) -> bool:
    return (
        service.kind == "credit"
        or "カード番号" in service.id_label_ja
        or "card number" in service.id_label_en.lower()
    )


def _code_is_printed_on_the_card(service: ServiceData) -> bool:
    hint_ja, hint_en = service.code_hint_ja, service.code_hint_en.lower()
    printed_en = "back of the card" in hint_en or "signature strip" in hint_en
    return bool(re.search("裏面|署名欄", hint_ja)) or printed_en


def test_no_card_number_with_its_security_code_can_be_entered_at_a_kiosk() -> None:
    """Every credit card, every service whose ID is a card number and every service whose
    code is the one printed on the card is flagged ``card_credentials`` (no kiosk offers
    it, the service refuses it from kiosks), but for the few named above: a new credit
    card added to the catalog cannot slip in."""
    flagged = {s.code for s in PACKAGED.services if s.card_credentials}
    assert {"rakuten_card", "d_card", "aeon_card"} <= flagged
    card_numbers = {s.code for s in PACKAGED.services if _id_is_a_card_number(s)}
    assert card_numbers - flagged == set(CARD_NUMBER_WITH_PROGRAMME_CODE)
    for code in CARD_NUMBER_WITH_PROGRAMME_CODE:
        assert BY_CODE[code].kind != "credit" and not _code_is_printed_on_the_card(BY_CODE[code])
    printed = {s.code for s in PACKAGED.services if _code_is_printed_on_the_card(s)}
    assert printed and printed <= flagged
    for service in PACKAGED.services:  # flagged or not, the flag cites why
        source = service.sources["card_credentials"]
        if service.code in flagged:
            assert "PCI DSS" in source and "seed 004 line 46" in source, service.code


# The demo accounts docs/service.md lists ("demo accounts") and those it does not list:
# app-only services, and services no kiosk takes (card number with its security code).
# Recovered from operators.json's digests.
UNLISTED_DEMO_ACCOUNTS = [
    ("rakuten_pay", "1000000000001", "1234"),
    ("rakuten_card", "5200000000000001", "123"),
    ("d_card", "5300000000000001", "123"),
    ("aeon_card", "5400000000000001", "123"),
]


def readme_demo_accounts() -> list[tuple[str, str, str]]:
    """(service code, payment-service ID, security code) for each account in the
    demo-account table of docs/service.md."""
    text = SERVICE_DOC.read_text()
    start = text.lower().index("demo accounts for trying the service")
    rows: list[list[str]] = []
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("service", "") or set(cells[0]) <= set("-: "):
            continue
        rows.append(cells)
    by_name = {name: s.code for s in PACKAGED.services for name in (s.name_ja, s.name_en)}
    accounts = []
    for name_cell, id_cell, code_cell in rows:
        ids_cell = re.sub(r"\([^)]*\)", "", id_cell)
        backticked = re.findall(r"`([a-z0-9_]+)`", name_cell)
        if backticked:
            codes = backticked * len(ids_cell.split(","))
            ids = [i.strip() for i in ids_cell.split(",")]
        elif "fictional" in name_cell:
            codes = [s.code for s in PACKAGED.services if s.fictional]
            ids = [ids_cell.strip()] * len(codes)
        else:
            codes = [by_name[n.strip()] for n in name_cell.split(" / ")]
            ids = [i.strip() for i in ids_cell.split(" / ")]
        assert len(codes) == len(ids), name_cell
        pairs = zip(codes, ids, strict=True)
        accounts += [(code, payment_id, code_cell.strip()) for code, payment_id in pairs]
    assert len(accounts) >= 15, "docs/service.md's demo-account table was not found"
    return accounts


def test_the_demo_accounts_fit_the_published_formats(catalog: Catalog) -> None:
    """Every demo account (docs/service.md) exists at the simulated operator, and the kiosk's
    format checks accept its ID and its security code."""
    registry = OperatorRegistry.from_file(PACKAGE_DATA / "operators.json")
    accounts = readme_demo_accounts() + UNLISTED_DEMO_ACCOUNTS
    assert {code for code, _, _ in accounts} == set(CODES)
    for code, payment_id, security_code in accounts:
        assert registry.verify(code, payment_id, security_code).valid, (code, payment_id)
        assert catalog.check_id(code, payment_id).ok, (code, payment_id)
        assert catalog.check_code(code, security_code).ok, (code, security_code)


def test_the_examples_are_no_demo_account_and_no_real_card() -> None:
    demo_ids = {re.sub(r"\D", "", i) for _, i, _ in readme_demo_accounts()}
    demo_ids |= {i for _, i, _ in UNLISTED_DEMO_ACCOUNTS}
    registry = OperatorRegistry.from_file(PACKAGE_DATA / "operators.json")
    for service in PACKAGED.services:
        assert service.id_example not in demo_ids
        for code in ("1234", "123"):
            assert not registry.verify(service.code, service.id_example, code).valid
        if service.kind in ("credit", "debit", "prepaid") and service.id_example.isdigit():
            assert not _luhn_valid(service.id_example), service.code


def _luhn_valid(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return total % 10 == 0


# --- search ------------------------------------------------------------------------------


def codes(services: list[CatalogService]) -> list[str]:
    return [s.code for s in services]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("PayPay", "paypay"),
        ("paypay", "paypay"),
        ("ｐａｙｐａｙ", "paypay"),
        ("ＰＡＹＰＡＹ", "paypay"),
        ("waon", "waon"),
        ("ＷＡＯＮ", "waon"),
        ("楽天カード", "rakuten_card"),
        ("d払い", "d_barai"),
        ("au pay", "au_pay"),
        ("aupay", "au_pay"),
        ("Rakuten Edy", "rakuten_edy"),
        ("イオン", "aeon_card"),
    ],
)
def test_search_by_name_ignores_case_and_width(catalog: Catalog, query: str, first: str) -> None:
    assert codes(catalog.search(query))[0] == first


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("すいか", ["suica"]),
        ("スイカ", ["suica"]),
        ("ｽｲｶ", ["suica"]),
        ("ぺいぺい", ["paypay"]),
        ("わおん", ["waon"]),
        ("ななこ", ["nanaco"]),
        ("きゃっしゅ", ["kyash"]),
        ("らくてん", ["rakuten_edy", "rakuten_pay", "rakuten_card"]),
        ("でぃーばらい", ["d_barai"]),
        ("みらい", ["fictional_future_pay"]),
    ],
)
def test_search_by_reading_takes_hiragana_and_katakana(
    catalog: Catalog, query: str, found: list[str]
) -> None:
    assert codes(catalog.search(query)) == found


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("へいへい", ["paypay"]),
        ("きやつしゆ", ["kyash"]),
        ("ていーはらい", ["d_barai"]),
        ("ﾃﾞｨｰﾊﾞﾗｲ", ["d_barai"]),
        ("すいか", ["suica"]),
    ],
)
def test_search_by_reading_without_voiced_marks_or_small_kana(
    catalog: Catalog, query: str, found: list[str]
) -> None:
    """The kana pad types plain kana; a citizen who never finds the ゛゜小 key still
    finds the service."""
    assert codes(catalog.search(query)) == found


def test_the_kana_pad_variant_key_cycles_through_the_forms_of_the_last_kana() -> None:
    assert kana.variants("は") == ["は", "ば", "ぱ"]
    assert kana.variants("つ") == ["つ", "っ", "づ"]
    assert kana.variants("や") == ["や", "ゃ"]
    assert kana.variants("ん") == ["ん"]
    cycle = ["へ"]
    for _ in range(3):
        cycle.append(kana.next_variant(cycle[-1]))
    assert cycle == ["へ", "べ", "ぺ", "へ"]
    assert kana.next_variant("ー") == "ー" and kana.next_variant("A") == "A"
    assert kana.plain("パッケージ") == "ハツケーシ"
    assert sum(len(row) for row in kana.ROWS.values()) == 46  # every plain kana, once


def test_search_by_kind_and_nothing_found(catalog: Catalog) -> None:
    e_money = ["suica", "waon", "nanaco", "rakuten_edy"]
    assert codes(catalog.search("電子マネー")) == e_money
    assert codes(catalog.search("でんしまねー")) == e_money
    assert codes(catalog.search("クレジット")) == ["rakuten_card", "d_card", "aeon_card"]
    assert codes(catalog.search("QRコード")) == codes(catalog.by_kind("qr"))
    assert codes(catalog.search("")) == CODES
    assert catalog.search("存在しないペイ") == []
    assert catalog.search("zzz") == []


def test_by_kind_takes_the_code_or_its_name(catalog: Catalog) -> None:
    assert codes(catalog.by_kind("e_money")) == ["suica", "waon", "nanaco", "rakuten_edy"]
    for name in ("電子マネー", "E-money", "e-money", "ｅ－ｍｏｎｅｙ"):
        assert codes(catalog.by_kind(name)) == codes(catalog.by_kind("e_money"))
    assert codes(catalog.by_kind("デビットカード")) == ["fictional_test_debit"]
    assert codes(catalog.by_kind("Prepaid card")) == ["kyash"]
    assert len(catalog.by_kind("QRコード決済")) == 6
    with pytest.raises(ValueError, match="unknown kind"):
        catalog.by_kind("bitcoin")
    assert [k for k, _ in catalog.kinds()] == ["qr", "e_money", "credit", "debit", "prepaid"]
    assert catalog.service("kyash").kind_label.text("ja") == "プリペイドカード"


# --- availability -------------------------------------------------------------------------


def test_availability_on_each_channel(catalog: Catalog) -> None:
    day = dt.date(2020, 9, 1)
    for channel in ("convenience_store", "city_hall"):
        for code in ("rakuten_pay", "rakuten_card"):
            refused = catalog.availability(code, channel, day)
            assert refused.reason is Unavailable.APP_ONLY and refused.key == "SERVICE_APP_ONLY"
            assert "アプリからのみ" in refused.message_ja and "own app" in refused.message_en
        assert catalog.availability("paypay", channel, day).available
    konbini = catalog.availability("fictional_konbini_ng_pay", "convenience_store", day)
    assert konbini.reason is Unavailable.NOT_AT_CONVENIENCE_STORE
    assert "手続スポット" in konbini.message_ja and "municipal office" in konbini.message_en
    assert catalog.availability("fictional_konbini_ng_pay", "city_hall", day).available


def test_a_card_number_with_its_security_code_is_not_selectable_on_either_channel(
    catalog: Catalog,
) -> None:
    """A public terminal never asks for a card number with its security code: the kiosk
    says so and where to apply instead (the card company's own app or member website, or
    one's own phone or PC), on both channels, naming no site it cannot vouch for."""
    day = dt.date(2020, 9, 1)
    for code in ("d_card", "aeon_card"):
        service = catalog.service(code)
        assert service.card_credentials and not service.app_only
        for channel in ("convenience_store", "city_hall"):
            refused = catalog.availability(code, channel, day)  # type: ignore[arg-type]
            assert refused.reason is Unavailable.CARD_CREDENTIALS, (code, channel)
            assert refused.key == R.SERVICE_CARD_CREDENTIALS.value.code
            ja, en = refused.text("ja"), refused.text("en")
            assert service.name_ja in ja and service.name_en in en
            assert "カード番号とセキュリティコード" in ja and "card number" in en
            assert "カード会社のアプリや会員向けWebサイト" in ja
            assert "app or member website of the company that issued" in en
            assert "ご自身のスマートフォン・パソコン" in ja and "own smartphone or PC" in en
            assert not re.search(r"https?:|www\.|\.jp|\.com", ja + en)
    # Rakuten Card is flagged too; its first reason is that only its own app takes it.
    assert catalog.service("rakuten_card").card_credentials
    assert catalog.availability("rakuten_card", "city_hall", day).reason is Unavailable.APP_ONLY
    assert not any(catalog.service(c).card_credentials for c in ("paypay", "au_pay", "waon"))


def test_a_catalog_from_before_the_flag_counts_every_credit_card_as_flagged() -> None:
    """An older service's catalog, or an old cached copy, does not say: every credit card
    in it took the card's number and code, so the kiosk does not offer them."""
    document = packaged_document()
    for service in document["services"]:
        del service["card_credentials"]
    old = Catalog.from_document(document, Freshness(Source.CACHED, "old"))
    assert (
        {s.code for s in old.services if s.card_credentials}
        == {s.code for s in old.services if s.kind == "credit"}
        == {"rakuten_card", "d_card", "aeon_card"}
    )
    day = dt.date(2020, 9, 1)
    assert old.availability("d_card", "city_hall", day).reason is Unavailable.CARD_CREDENTIALS
    assert old.availability("paypay", "city_hall", day).available


def test_a_service_is_not_selectable_before_its_date(catalog: Catalog) -> None:
    for channel in ("convenience_store", "city_hall"):
        early = catalog.availability("fictional_future_pay", channel, dt.date(2020, 9, 30))
        assert early.reason is Unavailable.NOT_YET_SELECTABLE
        assert early.selectable_from == dt.date(2020, 10, 1)
        assert "2020年10月1日から" in early.message_ja
        assert "from 1 October 2020" in early.message_en
        assert catalog.availability("fictional_future_pay", channel, dt.date(2020, 10, 1)).available


def test_notices_for_pre_registration_and_the_grant(catalog: Catalog) -> None:
    needing = [s.code for s in catalog.services if catalog.pre_registration_notice(s)]
    assert needing == ["suica", "kyash"]
    notice = catalog.pre_registration_notice("kyash")
    assert notice is not None and "事前の登録" in notice.message_ja
    charge, purchase = catalog.grant_notice("waon"), catalog.grant_notice("fictional_test_debit")
    assert charge.key == "GRANT_ON_CHARGE" and "チャージ" in charge.message_ja
    assert purchase.key == "GRANT_ON_PURCHASE" and "お買い物" in purchase.message_ja
    for message in (charge, purchase):
        assert "決済サービスにより異なります" in message.message_ja
        assert "depends on the payment service" in message.message_en


# --- ID and security-code checks ---------------------------------------------------------------


def _spaced(value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def _full_width(value: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)


@pytest.mark.parametrize("code", CODES)
def test_each_service_accepts_its_example_however_it_is_typed(catalog: Catalog, code: str) -> None:
    service = catalog.service(code)
    example = service.id_example
    assert example is not None and service.id_pattern is not None
    for typed in (
        example,
        _spaced(example),
        "-".join(_spaced(example).split()),
        _full_width(example),
        example.lower(),
        f"  {example}\n",
    ):
        checked = catalog.check_id(service, typed)
        assert checked.ok and checked.value == example, typed


@pytest.mark.parametrize("code", CODES)
def test_each_service_refuses_a_wrong_id_with_its_own_label(catalog: Catalog, code: str) -> None:
    service = catalog.service(code)
    example = service.id_example or ""
    wrong = [example[:-1], example + "7", example[:-2] + "#7", example[:-1] + "é"]
    if "A-Z" not in (service.id_pattern or ""):
        wrong += [example[:-1] + "A", "X" + example[1:]]  # a letter where digits are
    for typed in wrong:
        checked = catalog.check_id(service, typed)
        assert not checked.ok and checked.value is None, typed
        assert checked.error is not None and checked.error.key == "ID_FORMAT"
        assert service.id_label_ja in checked.error.message_ja
        assert service.id_label_en in checked.error.message_en
        assert f"（例：{example}）" in checked.error.message_ja
        shown = (checked.error.message_ja + checked.error.message_en).replace(example, "")
        assert typed not in shown, typed  # only the published example is shown
    empty = catalog.check_id(service, " - ")
    assert empty.error is not None and empty.error.key == "ID_EMPTY"
    assert service.id_label_ja in empty.error.message_ja


# Distinctive wrong codes: found in an error message only if it repeated them.
WRONG_CODES = ["97531", "975", "9753a", "97 5 3 1 8", "٩٧٥٣", "97531864"]


@pytest.mark.parametrize("code", CODES)
def test_each_service_checks_its_security_code(catalog: Catalog, code: str) -> None:
    service = catalog.service(code)
    digits = int(re.fullmatch(r"\^\\d\{(\d)\}\$", service.code_pattern or "").group(1))  # type: ignore[union-attr]
    right = "9753186"[:digits]
    for typed in (right, f" {right} ", _full_width(right)):
        checked = catalog.check_code(service, typed)
        assert checked.ok and checked.value == right
        assert right not in repr(checked)  # a log of the result does not show the code
    for typed in [*WRONG_CODES, right + "8", right[:-1]]:
        if typed.replace(" ", "") == right:
            continue
        checked = catalog.check_code(service, typed)
        assert not checked.ok and checked.value is None, typed
        assert checked.error is not None and checked.error.key == "CODE_FORMAT"
        assert service.name_ja in checked.error.message_ja
        assert service.code_label_ja in checked.error.message_ja
        shown = checked.error.message_ja + checked.error.message_en + repr(checked)
        assert typed not in shown and typed.replace(" ", "") not in shown, typed
    empty = catalog.check_code(service, "  ")
    assert empty.error is not None and empty.error.key == "CODE_EMPTY"


def test_an_older_catalog_without_entry_fields_still_works() -> None:
    """A service that publishes no formats yet (its database loaded before they existed):
    generic labels, and the operator alone judges the format."""
    document = packaged_document()
    for service in document["services"]:
        for name in ENTRY_FIELDS:
            service.pop(name)
    old = Catalog.from_document(document, Freshness(Source.FRESH, "old"))
    paypay = old.service("paypay")
    assert (paypay.id_label_ja, paypay.id_pattern, paypay.reading) == ("決済サービスID", None, "")
    assert old.check_id(paypay, "090-1234-5678").value == "09012345678"
    assert old.check_id(paypay, "090 12#4").error.key == "ID_FORMAT"  # type: ignore[union-attr]
    assert old.check_code(paypay, "１２３４").value == "1234"
    assert codes(old.search("paypay")) == ["paypay"]


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {"version": "x"},
        {"version": "x", "services": []},
        {"raw": "<html>"},
        {"version": "x", "services": [{"code": "a"}]},
    ],
)
def test_a_document_that_is_no_catalog_is_refused(document: Any) -> None:
    with pytest.raises(CatalogFormatError):
        parse_catalog(document)


def test_a_catalog_with_a_broken_pattern_is_refused() -> None:
    document = packaged_document()
    document["services"][0]["id_pattern"] = "(["
    with pytest.raises(CatalogFormatError, match="not a pattern"):
        parse_catalog(document)


# --- the store, against a real grant service ----------------------------------------------------


@pytest.fixture
def client(kiosk_rig: KioskRig) -> Iterator[ServiceClient]:
    made = service_client(kiosk_rig.settings, load_identity(kiosk_rig.settings))
    yield made
    made.close()


def _store(rig: KioskRig, client: ServiceClient | None, clock: Clock) -> CatalogStore:
    return CatalogStore(rig.settings, client, clock=clock)


def _cache(rig: KioskRig) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads((rig.settings.data_dir / CATALOG_FILE).read_text())
    return stored


def test_the_catalog_is_fetched_cached_and_revalidated(
    kiosk_rig: KioskRig, client: ServiceClient
) -> None:
    clock = Clock()
    fresh = _store(kiosk_rig, client, clock).load()
    assert fresh.freshness.source is Source.FRESH and fresh.freshness.describe() == "fresh"
    assert codes(list(fresh.services)) == sorted(CODES)  # the service sends them by code
    # What the service publishes is what the catalog file says (through its database).
    published = httpx.get(f"{kiosk_rig.service.url}/v1/payment-services").json()["services"]
    for data in PACKAGED.services:
        entry = next(s for s in published if s["code"] == data.code)
        assert {name: entry[name] for name in ENTRY_FIELDS} == data.entry()
        assert fresh.service(data.code).id_pattern == data.id_pattern
    cache = _cache(kiosk_rig)
    etag = client.payment_services().headers["ETag"]
    assert cache["etag"] == etag and cache["catalog"]["services"] == published
    assert cache["fetched_at"] == cache["confirmed_at"] == T0.isoformat()
    # No file left aside by the atomic write.
    assert sorted(p.name for p in kiosk_rig.settings.data_dir.glob(".catalog*")) == []

    clock.now = T0 + dt.timedelta(hours=1)
    again = _store(kiosk_rig, client, clock).load()
    assert again.freshness.source is Source.FRESH and again.freshness.revalidated
    assert again.freshness.describe() == "fresh (revalidated)"
    assert again.services == fresh.services
    cache = _cache(kiosk_rig)
    assert cache["fetched_at"] == T0.isoformat()
    assert cache["confirmed_at"] == clock.now.isoformat()


def test_a_new_catalog_on_the_service_replaces_the_cached_one(
    kiosk_rig: KioskRig, client: ServiceClient, tmp_path: Path
) -> None:
    """A changed hint changes the ETag: the kiosk gets the new catalog, not a 304."""
    store = _store(kiosk_rig, client, Clock())
    assert store.load().service("waon").id_hint_en.startswith("The 16 digits")
    edition = json.loads((PACKAGED_CATALOG).read_text())
    edition["version"] = "2021-02-01"
    waon = next(s for s in edition["services"] if s["code"] == "waon")
    waon["id_hint_en"] = "The 16 digits on the back of your WAON card."
    (tmp_path / "edition.json").write_text(json.dumps(edition, ensure_ascii=False))
    loaded = kiosk_rig.service.cli("load-catalog", str(tmp_path / "edition.json"))
    assert loaded.returncode == 0, loaded.stderr
    newer = store.load()
    assert newer.freshness.source is Source.FRESH and not newer.freshness.revalidated
    assert newer.version == _cache(kiosk_rig)["catalog"]["version"] == "2021-02-01"
    assert newer.service("waon").id_hint_en == "The 16 digits on the back of your WAON card."


def test_the_cached_copy_is_used_while_the_service_is_down(
    kiosk_rig: KioskRig, client: ServiceClient, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    fetched = _store(kiosk_rig, client, clock).load()
    kiosk_rig.service.stop()
    clock.now = T0 + dt.timedelta(hours=2, minutes=5)
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog.store"):
        cached = _store(kiosk_rig, client, clock).load()
    assert cached.freshness.source is Source.CACHED
    assert cached.freshness.age == dt.timedelta(hours=2, minutes=5)
    assert cached.freshness.describe().startswith("cached (2 h 5 min old); service unreachable")
    assert cached.services == fetched.services and cached.version == fetched.version
    assert any("cached (2 h 5 min old)" in r.getMessage() for r in caplog.records)
    # Offline on purpose, or without a client: the same copy, no network.
    assert _store(kiosk_rig, None, clock).load().freshness.source is Source.CACHED
    assert _store(kiosk_rig, client, clock).load(online=False).services == fetched.services

    kiosk_rig.service.start()  # back: fresh again, by a 304
    back = _store(kiosk_rig, client, clock).load()
    assert back.freshness.source is Source.FRESH and back.freshness.revalidated


def test_the_cached_copy_is_used_when_the_service_answers_5xx(
    kiosk_rig: KioskRig, client: ServiceClient
) -> None:
    clock = Clock()
    _store(kiosk_rig, client, clock).load()
    database = kiosk_rig.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:  # the service's database loses its catalog
        db.execute("ALTER TABLE catalog_meta RENAME TO catalog_meta_away")
    try:
        assert client.payment_services().status_code == 503
        cached = _store(kiosk_rig, client, clock).load()
        assert cached.freshness.source is Source.CACHED
        assert cached.freshness.problem == "service answered HTTP 503"
    finally:
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE catalog_meta_away RENAME TO catalog_meta")
    assert _store(kiosk_rig, client, clock).load().freshness.source is Source.FRESH


def test_cache_troubles_never_cost_the_fresh_catalog(
    kiosk_rig: KioskRig, client: ServiceClient, caplog: pytest.LogCaptureFixture
) -> None:
    path = kiosk_rig.settings.data_dir / CATALOG_FILE
    path.write_text('{"format": 1, "etag": "\\"x\\"", "catalog": {"services": [')  # cut short
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog.store"):
        fresh = _store(kiosk_rig, client, Clock()).load()
    assert fresh.freshness.source is Source.FRESH and fresh.freshness.cache == "corrupt"
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"the cached catalog {path} is unreadable" in m for m in messages), messages
    assert _cache(kiosk_rig)["etag"] == client.payment_services().headers["ETag"]

    # A cache that cannot be written (here: its directory is a file) is logged, once per
    # load; the catalog is still the service's.
    blocked = kiosk_rig.settings.data_dir / "not-a-directory"
    blocked.write_text("")
    store = CatalogStore(kiosk_rig.settings, client, path=blocked / CATALOG_FILE)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="kiosk.catalog.store"):
        unsaved = store.load()
    assert unsaved.freshness.source is Source.FRESH and unsaved.freshness.cache == "unwritable"
    assert any("cannot save the catalog" in r.getMessage() for r in caplog.records)


# --- the store without a service ----------------------------------------------------------------


@pytest.fixture
def nowhere(tmp_path: Path) -> Iterator[tuple[KioskSettings, ServiceClient]]:
    """A kiosk whose service is not there: nothing listens on its port."""
    settings = KioskSettings(
        data_dir=tmp_path / "kiosk", service_url=f"http://127.0.0.1:{free_port()}"
    )
    made = service_client(settings, DeviceIdentity.generate("kiosk-0009"), timeout=2)
    yield settings, made
    made.close()


def test_no_cache_and_no_service_falls_back_to_the_packaged_catalog(
    nowhere: tuple[KioskSettings, ServiceClient], caplog: pytest.LogCaptureFixture
) -> None:
    settings, client = nowhere
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog.store"):
        packaged = CatalogStore(settings, client).load()
    assert packaged.freshness.source is Source.PACKAGED
    assert packaged.freshness.cache == "missing"
    assert packaged.version == PACKAGED.version and codes(list(packaged.services)) == CODES
    assert packaged.freshness.describe().startswith(
        f"missing (cache missing): using the packaged catalog {PACKAGED.version}; "
        "service unreachable (ConnectError"
    )
    assert any("using the packaged catalog" in r.getMessage() for r in caplog.records)
    assert not (settings.data_dir / CATALOG_FILE).exists()  # nothing to cache
    assert packaged.service("suica").id_pattern == OPERATORS["suica"]["id_pattern"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\xff garbage",
        b"[]",
        b'{"format": 99}',
        b'{"format": 1, "etag": null}',
        b'{"format": 1, "etag": 5, "fetched_at": "2020-09-01T00:00:00+00:00",'
        b' "confirmed_at": "2020-09-01T00:00:00+00:00", "catalog": {"version": "x"}}',
    ],
)
def test_a_corrupt_cache_without_a_service_gives_the_packaged_catalog(
    nowhere: tuple[KioskSettings, ServiceClient],
    caplog: pytest.LogCaptureFixture,
    content: bytes,
) -> None:
    settings, client = nowhere
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / CATALOG_FILE).write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog.store"):
        catalog = CatalogStore(settings, client).load()
    assert catalog.freshness.source is Source.PACKAGED and catalog.freshness.cache == "corrupt"
    messages = [r.getMessage() for r in caplog.records]
    assert any("is unreadable" in m and "packaged catalog" in m for m in messages), messages
    assert catalog.freshness.describe().startswith("missing (cache corrupt)")


def test_load_catalog_for_an_enrolled_and_an_unenrolled_kiosk(
    kiosk_rig: KioskRig, nowhere: tuple[KioskSettings, ServiceClient]
) -> None:
    assert load_catalog(kiosk_rig.settings).freshness.source is Source.FRESH
    assert load_catalog(kiosk_rig.settings, online=False).freshness.source is Source.CACHED
    unenrolled, _ = nowhere
    assert load_catalog(unenrolled).freshness.source is Source.PACKAGED
