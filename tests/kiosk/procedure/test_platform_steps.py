"""The MyKey platform's branch of the flow, step by step (pure: the events a screen and
the runner would send, the commands the flow gives back). The same paths run with the
real card, service and printer in ``test_platform_kiosk.py``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kiosk.procedure import commands as do
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Flow, Step

NOW = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
CHIYODA, YOKOHAMA = "131016", "141003"
PAGE: dict[str, Any] = {
    "mykey_id": "ABCD2345",
    "balances": [
        {
            "municipality_code": CHIYODA,
            "points": 1500,
            "expiring": [
                {"expires_on": "2026-12-31", "points": 300},
                {"expires_on": "2027-03-31", "points": 1200},
            ],
        },
        {"municipality_code": YOKOHAMA, "points": 0, "expiring": []},
    ],
    "vouchers": [],
    "links": [
        {
            "facility_code": "chiyoda_library",
            "municipality_code": CHIYODA,
            "number_last4": "8765",
            "linked_at": "2026-12-01T01:00:00+00:00",
        }
    ],
}


class Catalog:
    """The payment-service catalog the flow is given (unused by this branch)."""

    services: tuple[Any, ...] = ()

    def get(self, code: str) -> None:
        return None


def flow(channel: str = "city_hall") -> Flow:
    return Flow(channel=channel, catalog=Catalog(), clock=lambda: NOW)  # type: ignore[arg-type]


def signed_in(page: dict[str, Any] | None = PAGE) -> Flow:
    """A city-hall flow past the card and the PIN, with the platform's answer (None:
    the service did not answer)."""
    f = flow()
    assert f.handle(ev.Start("platform")) == [do.WaitForCard()]
    assert f.step == Step.PLACE_CARD
    assert f.handle(ev.CardPlaced()) == [do.ReadCard(), do.WatchPresence()]
    f.handle(ev.CardRead("01", NOW - dt.timedelta(days=400), NOW + dt.timedelta(days=400), 3))
    assert f.step == Step.PIN
    assert f.handle(ev.PinTyped("4827")) == [do.VerifyPin("4827")]
    assert f.handle(ev.PinAccepted()) == [do.LookUpPlatform()]
    f.handle(ev.PlatformFound(page) if page is not None else ev.PlatformUnavailable("down"))
    return f


def test_a_convenience_store_kiosk_says_where_to_go_instead() -> None:
    f = flow("convenience_store")
    assert f.handle(ev.Start("platform")) == []
    assert f.step == Step.PLATFORM_ELSEWHERE and f.view.data["reason_code"] == "NOT_AT_CITY_HALL"
    assert "市区町村" in f.view.data["message_ja"]
    assert f.handle(ev.Continue()) == [do.Wipe()]
    assert f.step == Step.WELCOME


def test_the_page_shows_each_municipalitys_points_with_its_names() -> None:
    f = signed_in()
    assert f.step == Step.PLATFORM_HOME
    chiyoda = f.view.data["balances"][0]
    assert chiyoda["points"] == 1500 and chiyoda["municipality"].name_ja == "千代田区"
    assert chiyoda["expiring"][0] == {"expires_on": "2026-12-31", "points": 300}
    assert f.view.data["links"][0]["facility"].name_ja == "千代田区立千代田図書館"


def test_a_voucher_is_issued_only_for_what_the_balance_holds_and_printed_once_held() -> None:
    f = signed_in()
    assert f.handle(ev.ChooseAction("voucher")) == []
    assert f.step == Step.VOUCHER_AMOUNT
    # Yokohama has no points: only Chiyoda is offered, and chosen already.
    assert [c["code"] for c in f.view.data["choices"]] == [CHIYODA]
    assert (f.view.data["chosen"], f.view.data["most"]) == (CHIYODA, 1500)
    for wrong in ("1501", "0", "", "abc", "１００"):
        f.handle(ev.PointsTyped(wrong))
        assert (f.step, f.view.data.get("error")) == (Step.VOUCHER_AMOUNT, "voucher.points_range")
    f.handle(ev.PointsTyped("500"))
    assert f.step == Step.VOUCHER_CONFIRM and f.view.data["points"] == 500
    commands = f.handle(ev.Submit())
    assert f.step == Step.ISSUING
    [issue] = commands
    assert isinstance(issue, do.IssueVoucher)
    assert (issue.municipality_code, issue.points) == (CHIYODA, 500)
    assert f.handle(ev.Submit()) == []  # a second touch issues nothing more
    voucher = {
        "number": "1234567890123450",
        "points": 500,
        "code": "MKV1.x.y",
        "municipality_code": CHIYODA,
    }
    named = {**voucher, "municipality_name_ja": "千代田区", "municipality_name_en": "Chiyoda City"}
    assert f.handle(ev.VoucherIssued(voucher)) == [do.PrintVoucher(named, "ja")]
    assert f.step == Step.VOUCHER_SLIP and f.view.data["printing"] is True
    assert f.handle(ev.Continue()) == []  # not while printing
    f.handle(ev.SlipIssued(printed=True))
    assert f.handle(ev.Continue()) == [do.WatchForRemoval()]
    assert f.step == Step.TAKE_CARD


def test_each_voucher_confirmed_is_a_new_request_and_a_retry_is_the_same() -> None:
    f = signed_in()
    f.handle(ev.ChooseAction("voucher"))
    f.handle(ev.PointsTyped("100"))
    first = f.session.voucher_request
    f.handle(ev.Back())
    assert f.step == Step.VOUCHER_AMOUNT
    f.handle(ev.PointsTyped("200"))
    assert f.session.voucher_request != first
    [issue] = f.handle(ev.Submit())
    assert isinstance(issue, do.IssueVoucher) and issue.request_uuid == f.session.voucher_request


@pytest.mark.parametrize("unknown", [False, True])
def test_a_voucher_not_issued_is_never_printed(unknown: bool) -> None:
    f = signed_in()
    f.handle(ev.ChooseAction("voucher"))
    f.handle(ev.PointsTyped("100"))
    f.handle(ev.Submit())
    refusal = ev.VoucherNotIssued("POINTS_NOT_ENOUGH", "ポイントが足りません。", "Not enough.")
    answer = ev.VoucherNotIssued(unknown=True) if unknown else refusal
    commands = f.handle(answer)
    assert not [c for c in commands if isinstance(c, do.PrintVoucher)]
    assert f.step == Step.NOTICE
    if unknown:  # the points may be held: the page shows the voucher, to print or cancel
        assert f.view.data["problem"] == "voucher.unknown"
    else:
        assert f.view.data["reason_code"] == "POINTS_NOT_ENOUGH"


def test_with_no_points_there_is_no_voucher_to_make() -> None:
    f = signed_in({**PAGE, "balances": []})
    f.handle(ev.ChooseAction("voucher"))
    assert f.step == Step.PLATFORM_HOME and f.view.data["no_points"] is True


def test_offline_a_library_card_is_still_linked_and_queued_but_no_voucher_is_issued() -> None:
    f = signed_in(None)
    assert f.step == Step.PLATFORM_OFFLINE
    assert f.handle(ev.ChooseAction("voucher")) == [] and f.step == Step.PLATFORM_OFFLINE
    assert f.handle(ev.ChooseAction("revoke")) == [] and f.step == Step.PLATFORM_OFFLINE
    f.handle(ev.ChooseAction("link"))
    assert f.step == Step.CHOOSE_FACILITY
    codes = [x["facility"].code for x in f.view.data["facilities"]]
    assert "chiyoda_library" in codes and "osaka_central_library" in codes
    f.handle(ev.ChooseFacility("chiyoda_library"))
    assert f.step == Step.ENTER_SERVICE_NUMBER
    f.handle(ev.ServiceNumberTyped("12345"))
    assert f.view.data["error"] == "link.number_format"
    f.handle(ev.ServiceNumberTyped("１３００ ０９８７６５"))  # full width, a space
    assert f.step == Step.LINK_CONFIRM and f.view.data["number_last4"] == "8765"
    [submit] = f.handle(ev.Submit())
    assert submit == do.SignAndSubmit((do.LinkService("chiyoda_library", "1300098765"),))
    assert f.session.service_number is None  # handed to the signer, not kept
    assert "1300098765" not in repr(submit) + repr(f.session)
    pending = ev.Outcome("service_link", "pending", "K7QM-3XPA-9TRD")
    f.handle(ev.Submitted((pending,)))
    assert f.step == Step.LINK_DONE and f.view.data["state"] == "pending"
    assert f.view.data["receipt_number"] == "K7QM-3XPA-9TRD"
    assert f.handle(ev.Continue()) == [do.WatchForRemoval()]


def test_a_scanned_library_card_is_checked_like_a_typed_one() -> None:
    f = signed_in()
    f.handle(ev.ChooseAction("link"))
    f.handle(ev.ChooseFacility("yokohama_central_library"))
    f.handle(ev.BarcodeScanned("1300098765"))  # a Chiyoda card at the Yokohama library
    assert (f.view.data["error"], f.view.data["scanned"]) == ("link.number_format", True)
    f.handle(ev.BarcodeScanned("140000123456"))
    assert f.step == Step.LINK_CONFIRM and f.view.data["number_last4"] == "3456"


def test_revoking_takes_the_consequences_and_two_yeses_and_a_no_stops_it() -> None:
    f = signed_in()
    f.handle(ev.ChooseAction("revoke"))
    assert f.step == Step.REVOKE_TERMS and f.view.data["mykey_id"] == "ABCD2345"
    assert f.handle(ev.Submit()) is not None and f.step == Step.REVOKE_TERMS  # terms first
    f.handle(ev.Agree())
    assert (f.step, f.view.data["asked"]) == (Step.REVOKE_CONFIRM, 1)
    f.handle(ev.Back())  # "no": nothing happens
    assert f.step == Step.PLATFORM_HOME
    f.handle(ev.ChooseAction("revoke"))
    f.handle(ev.Agree())
    assert f.handle(ev.Submit()) == [] and f.view.data["asked"] == 2
    f.handle(ev.Back())
    assert f.step == Step.PLATFORM_HOME  # "no" at the last question too
    f.handle(ev.ChooseAction("revoke"))
    f.handle(ev.Agree())
    f.handle(ev.Submit())
    assert f.handle(ev.Submit()) == [do.Revoke(confirmations=2)]
    assert f.step == Step.REVOKING
    f.handle(ev.Revoked({"mykey_id": "ABCD2345", "points_lapsed": 1500}))
    assert f.step == Step.REVOKED and f.view.data["result"]["points_lapsed"] == 1500
    assert f.handle(ev.Continue()) == [do.WatchForRemoval()]


def test_a_card_taken_away_ends_the_platform_session_and_forgets_it() -> None:
    f = signed_in()
    f.handle(ev.ChooseAction("link"))
    f.handle(ev.ChooseFacility("chiyoda_library"))
    f.handle(ev.ServiceNumberTyped("1300098765"))
    assert f.handle(ev.CardRemoved()) == [do.Wipe()]
    assert f.step == Step.CARD_REMOVED
    assert f.session.platform_page is None and f.session.service_number is None


def test_a_refused_card_or_mykey_id_is_told_why() -> None:
    f = flow()
    f.handle(ev.Start("platform"))
    f.handle(ev.CardPlaced())
    f.handle(ev.CardRead("01", NOW - dt.timedelta(days=400), NOW + dt.timedelta(days=400), 3))
    f.handle(ev.PinTyped("4827"))
    f.handle(ev.PinAccepted())
    f.handle(ev.PlatformRefused("MYKEY_REVOKED", "このマイキーIDは失効しています。", "Revoked."))
    assert f.step == Step.NOTICE and f.view.data["reason_code"] == "MYKEY_REVOKED"


# --- cancelling an unused voucher -----------------------------------------------------------

HELD = [
    {"number": "1234567890123450", "municipality_code": CHIYODA, "points": 500,
     "expires_on": "2027-03-31"},
    {"number": "2234567890123451", "municipality_code": CHIYODA, "points": 300,
     "expires_on": "2027-06-30"},
]  # fmt: skip
WITH_VOUCHERS: dict[str, Any] = {**PAGE, "vouchers": HELD}


def test_an_unused_voucher_is_cancelled_and_the_page_shows_the_points_back() -> None:
    f = signed_in(WITH_VOUCHERS)
    assert f.handle(ev.ChooseAction("cancel_voucher")) == []
    assert f.step == Step.VOUCHER_CANCEL_CHOOSE
    offered = f.view.data["vouchers"]
    assert [v["number"] for v in offered] == [v["number"] for v in HELD]
    assert offered[0]["municipality"].name_ja == "千代田区"
    f.handle(ev.ChooseVoucher("9999999999999999"))  # not one of theirs
    assert f.step == Step.VOUCHER_CANCEL_CHOOSE
    f.handle(ev.ChooseVoucher(HELD[1]["number"]))
    assert f.step == Step.VOUCHER_CANCEL_CONFIRM and f.view.data["voucher"]["points"] == 300
    f.handle(ev.Back())  # another one, after all
    assert f.step == Step.VOUCHER_CANCEL_CHOOSE
    f.handle(ev.ChooseVoucher(HELD[0]["number"]))
    assert f.handle(ev.Submit()) == [do.CancelVoucher(HELD[0]["number"])]
    assert f.step == Step.CANCELLING_VOUCHER
    assert f.handle(ev.Submit()) == []  # a second touch asks nothing more
    result = {"number": HELD[0]["number"], "state": "cancelled", "points_returned": 500,
              "municipality_code": CHIYODA, "already": False}  # fmt: skip
    after = {**PAGE, "balances": [{**PAGE["balances"][0], "points": 2000}], "vouchers": HELD[1:]}
    f.handle(ev.VoucherCancelled(result, after))
    assert f.step == Step.VOUCHER_CANCELLED
    data = f.view.data
    assert (data["state"], data["points"], data["balance"]) == ("cancelled", 500, 2000)
    assert data["municipality"].name_ja == "千代田区"
    f.handle(ev.Back())  # to the page, as the service now tells it
    assert f.step == Step.PLATFORM_HOME
    assert f.view.data["vouchers"] == HELD[1:] and f.view.data["balances"][0]["points"] == 2000


def test_when_the_page_cannot_be_asked_again_the_old_one_is_not_shown() -> None:
    f = signed_in(WITH_VOUCHERS)
    f.handle(ev.ChooseAction("cancel_voucher"))
    f.handle(ev.ChooseVoucher(HELD[0]["number"]))
    f.handle(ev.Submit())
    result = {"number": HELD[0]["number"], "state": "cancelled", "points_returned": 500,
              "municipality_code": CHIYODA, "already": False}  # fmt: skip
    f.handle(ev.VoucherCancelled(result, None))
    assert f.step == Step.VOUCHER_CANCELLED and f.view.data["balance"] is None
    f.handle(ev.Back())  # no page with the old balance: only "finish"
    assert f.step == Step.VOUCHER_CANCELLED
    assert f.session.platform_page is not None
    assert [v["number"] for v in f.session.platform_page["vouchers"]] == [HELD[1]["number"]]
    assert f.handle(ev.Continue()) == [do.WatchForRemoval()]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (ev.VoucherNotCancelled("OFFLINE"), "voucher_cancel.offline"),
        (ev.VoucherNotCancelled(unknown=True), "voucher_cancel.unknown"),
        (ev.VoucherNotCancelled("VOUCHER_ALREADY_USED", "使用済みです。", "Used."), None),
    ],
)
def test_a_voucher_not_cancelled_is_told_why(answer: ev.Event, problem: str | None) -> None:
    f = signed_in(WITH_VOUCHERS)
    f.handle(ev.ChooseAction("cancel_voucher"))
    f.handle(ev.ChooseVoucher(HELD[0]["number"]))
    f.handle(ev.Submit())
    f.handle(answer)
    assert f.step == Step.NOTICE
    if problem:
        assert f.view.data["problem"] == problem
    else:
        assert f.view.data["reason_code"] == "VOUCHER_ALREADY_USED"
        assert f.view.data["message_ja"] == "使用済みです。"


def test_with_no_unused_voucher_there_is_nothing_to_cancel() -> None:
    f = signed_in()
    f.handle(ev.ChooseAction("cancel_voucher"))
    assert f.step == Step.PLATFORM_HOME


# --- unlinking a card -----------------------------------------------------------------------


def test_a_linked_card_is_unlinked_as_a_submission_of_its_own() -> None:
    f = signed_in()
    f.handle(ev.ChooseAction("unlink"))
    assert f.step == Step.CHOOSE_UNLINK
    [link] = f.view.data["links"]
    assert (link["facility"].name_ja, link["number_last4"]) == ("千代田区立千代田図書館", "8765")
    f.handle(ev.ChooseFacility("yokohama_central_library"))  # not linked: nothing to unlink
    assert f.step == Step.CHOOSE_UNLINK
    f.handle(ev.ChooseFacility("chiyoda_library"))
    assert f.step == Step.UNLINK_CONFIRM and f.view.data["municipality"].name_ja == "千代田区"
    f.handle(ev.Back())
    assert f.step == Step.CHOOSE_UNLINK
    f.handle(ev.ChooseFacility("chiyoda_library"))
    assert f.handle(ev.Submit()) == [do.SignAndSubmit((do.UnlinkService("chiyoda_library"),))]
    assert f.step == Step.SUBMITTING
    done = ev.Outcome("service_unlink", "confirmed", "K7QM-3XPA-9TRD",
                      {"result": {"number_last4": "8765", "unlinked": True}})  # fmt: skip
    f.handle(ev.Submitted((done,)))
    assert f.step == Step.LINK_DONE
    assert (f.view.data["state"], f.view.data["unlinking"]) == ("confirmed", True)
    assert f.handle(ev.Continue()) == [do.WatchForRemoval()]


def test_with_no_card_linked_there_is_nothing_to_unlink() -> None:
    f = signed_in({**PAGE, "links": []})
    f.handle(ev.ChooseAction("unlink"))
    assert f.step == Step.PLATFORM_HOME
