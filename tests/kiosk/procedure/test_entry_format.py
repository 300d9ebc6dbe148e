"""How an entry shows while it is typed (``kiosk/procedure/entry_format.py``): an ID in the groups
its service shows it in, and how many characters of how many, from the catalog's format;
what is shown never changes what is sent."""

from __future__ import annotations

import pytest

from kiosk.catalog.queries import Catalog
from kiosk.catalog.store import Freshness, Source
from kiosk.procedure.entry_format import (
    PHONE_DIGITS,
    code_format,
    groups_for,
    id_format,
    pattern_length,
)
from mynapoint.packaged_catalog import packaged_document
from mynapoint.payment_ids import normalise_payment_id

CATALOG = Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "test"))


def test_a_phone_number_id_shows_as_a_phone_number_as_it_is_typed() -> None:
    paypay = id_format(CATALOG.service("paypay").id_pattern)
    typed = "09000000001"
    shown = [paypay.shown(typed[:n]) for n in range(len(typed) + 1)]
    assert shown == ["", "0", "09", "090", "090-0", "090-00", "090-000", "090-0000",
                     "090-0000-0", "090-0000-00", "090-0000-000", "090-0000-0001"]  # fmt: skip
    assert [paypay.count(typed[:n]) for n in (0, 3, 11)] == [0, 3, 11]
    assert (paypay.length, paypay.unit) == (11, "digits")


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("suica", "JE12 3456 7890 1234"),  # printed 4 by 4 on the card
        ("waon", "6900 1234 5678 9012"),
        ("rakuten_card", "5200 1234 5678 9013"),  # a card's number
        ("kyash", "KY12 3456 7890"),
        ("rakuten_pay", "123 456 789 0123"),  # 13: the longer group last
        ("d_barai", "D12 345 6789"),
        ("fictional_future_pay", "TEST 1234 5678"),
    ],
)
def test_every_service_with_a_format_shows_its_id_in_groups(code: str, shown: str) -> None:
    service = CATALOG.service(code)
    assert id_format(service.id_pattern).shown(service.id_example) == shown


def test_the_catalog_formats_are_read_for_their_length() -> None:
    """Against the real catalog: each service's published example has the length its
    pattern gives, and every security code its 3 or 4 digits."""
    for service in CATALOG.services:
        assert pattern_length(service.id_pattern) == len(service.id_example), service.code
        assert code_format(service.code_pattern).length in (3, 4), service.code
        assert code_format(service.code_pattern).unit == "digits", service.code


@pytest.mark.parametrize(
    "pattern", [r"^\d{10,12}$", r"^\d+$", r"^[A-Z]*\d{4}$", r"^(\d{4}|\d{6})$", None]
)
def test_a_format_of_several_lengths_shows_as_typed_and_counts_without_a_total(
    pattern: str | None,
) -> None:
    entry = id_format(pattern)
    assert entry.length is None and entry.groups == ()
    assert entry.shown("AB-12") == "AB-12"  # as typed
    assert entry.count("AB-12") == 4  # the hyphen is not a character of the ID


def test_groups_are_at_most_four_and_as_even_as_possible() -> None:
    assert {n: groups_for(n) for n in (3, 4, 5, 8, 10, 11, 12, 13, 16)} == {
        3: (3,), 4: (4,), 5: (2, 3), 8: (4, 4), 10: (3, 3, 4), 11: (3, 4, 4),
        12: (4, 4, 4), 13: (3, 3, 3, 4), 16: (4, 4, 4, 4),
    }  # fmt: skip


def test_too_many_characters_are_shown_apart_and_counted() -> None:
    paypay = id_format(CATALOG.service("paypay").id_pattern)
    assert paypay.shown("0900000000123") == "090-0000-0001-23"
    assert paypay.count("0900000000123") == 13  # "13/11桁": too many is plain to see


def test_what_is_shown_is_the_same_id_as_what_is_sent() -> None:
    """The groups are only for the eye: the shown text is the same ID to the catalog, and
    a hyphen typed on the letter pad is not shown twice."""
    for service in CATALOG.services:
        entry = id_format(service.id_pattern)
        example = service.id_example
        assert normalise_payment_id(entry.shown(example)) == normalise_payment_id(example)
        assert CATALOG.check_id(service, entry.shown(example)).value == example
    kyash = id_format(CATALOG.service("kyash").id_pattern)
    assert kyash.shown("KY12-34") == "KY12 34"


def test_the_security_code_and_the_phone_digits_are_counted_not_grouped() -> None:
    code = code_format(CATALOG.service("paypay").code_pattern)
    assert (code.length, code.groups, code.count("864")) == (4, (), 3)
    assert code.shown("8642") == "8642"  # the screen masks it; this is never shown
    assert (PHONE_DIGITS.length, PHONE_DIGITS.unit, PHONE_DIGITS.count("53")) == (4, "digits", 2)
