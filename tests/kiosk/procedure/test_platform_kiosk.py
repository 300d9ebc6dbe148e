"""The MyKey platform at a city-hall kiosk with the real parts: the virtual card through
its APDUs, a grant-service process, the kiosk's queue and its slip printer. A citizen sees
their municipal points, prints a voucher a shop can check with no network, and links a
library card (queued while the service is away)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step
from mynapoint import vouchers
from tests.conftest import run_cli
from tests.support.escpos_decoder import decode
from tests.support.flow_harness import CARD_PIN, KioskUnderTest, issue_rig_card
from tests.support.kiosk_harness import KioskRig, make_card_and_ca, make_rig

pytestmark = pytest.mark.timeout(180)
CHIYODA = "131016"


@pytest.fixture
def city_hall(private_data_home: Path) -> Iterator[KioskRig]:
    rig = make_rig(
        private_data_home,
        make_card_and_ca(),
        kiosk_id="kiosk-city-hall",
        channel="city_hall",
        printer_kanji=True,
    )
    yield rig
    rig.service.stop()


def token(rig: KioskRig, role: str, scope: str, label: str) -> str:
    made = rig.service.cli(
        "credential", "create", "--role", role, "--scope", scope, "--label", label
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[0]


def post(rig: KioskRig, bearer: str, path: str, body: dict[str, object]) -> dict[str, object]:
    reply = httpx.post(
        f"{rig.service.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    result: dict[str, object] = reply.json()
    return result


def linked(rig: KioskRig, mykey_id: str, number: str) -> bool:
    """The Chiyoda library's question to the service, with its own token."""
    library = token(rig, "facility", "chiyoda_library", "千代田図書館")
    answer = post(rig, library, "/v1/facility-links/check",
                  {"mykey_id": mykey_id, "user_number": number})  # fmt: skip
    assert set(answer) == {"linked"}  # yes or no, and nothing more
    return answer["linked"] is True


def grant(rig: KioskRig, mykey_id: str, points: int) -> None:
    """Chiyoda grants ``points`` to the MyKey ID, with its own token, to 31 March 2099."""
    chiyoda = token(rig, "municipality", CHIYODA, "千代田区")
    one = {"grant_id": f"g-{points}", "mykey_id": mykey_id, "points": points,
           "expires_on": "2099-03-31"}  # fmt: skip
    post(rig, chiyoda, "/v1/municipal-points/grants", {"grants": [one]})


def print_voucher(kiosk: KioskUnderTest, points: int) -> dict[str, Any]:
    """From the page: a voucher of ``points``, printed; the voucher as the screen has it."""
    kiosk.send(ev.ChooseAction("voucher"))
    kiosk.send(ev.PointsTyped(str(points)))
    kiosk.send(ev.Submit())
    kiosk.settle_until(lambda: kiosk.step == Step.VOUCHER_SLIP and not kiosk.data["printing"])
    voucher: dict[str, Any] = kiosk.data["voucher"]
    return voucher


def reserve(kiosk: KioskUnderTest) -> str:
    """The citizen's MyKey ID, set on this kiosk the usual way."""
    kiosk.up_to_service()
    kiosk.send(ev.ReservationOnly())
    kiosk.send(ev.Submit())
    kiosk.settle_until(lambda: kiosk.step == Step.SLIP and not kiosk.data.get("printing"))
    mykey = kiosk.flow.session.mykey_id
    kiosk.send(ev.Continue())
    kiosk.take_card()
    assert mykey
    return mykey


def signed_in(kiosk: KioskUnderTest) -> None:
    kiosk.send(ev.Start("platform"))
    assert kiosk.step == Step.PLACE_CARD
    kiosk.place_card()
    assert kiosk.step == Step.PIN, (kiosk.step, kiosk.data)
    kiosk.send(ev.PinTyped(CARD_PIN))
    kiosk.settle_until(lambda: kiosk.step != Step.CHECKING)


def test_a_citizen_sees_their_points_and_prints_a_voucher_a_shop_checks_offline(
    city_hall: KioskRig, tmp_path: Path
) -> None:
    card = issue_rig_card(tmp_path, "citizen")
    with KioskUnderTest.build(city_hall, card) as kiosk:
        mykey = reserve(kiosk)
        grant(city_hall, mykey, 1000)
        signed_in(kiosk)
        assert kiosk.step == Step.PLATFORM_HOME, (kiosk.step, kiosk.data)
        [balance] = kiosk.data["balances"]
        assert (balance["points"], balance["municipality"].name_ja) == (1000, "千代田区")
        voucher = print_voucher(kiosk, 300)
        assert kiosk.data["printed"] is True
        kiosk.send(ev.Continue())
        kiosk.take_card()
    printed = decode(city_hall.settings.printer_output_file.read_bytes())
    text = " ".join(line.text for line in printed.lines)
    assert vouchers.grouped(voucher["number"]) in text and "300" in text and "千代田区" in text
    [code] = [q.data.decode("ascii") for q in printed.qr_codes if q.data.startswith(b"MKV1.")]
    key = vouchers.load_public_key(
        httpx.get(f"{city_hall.service.url}/v1/platform/voucher-key").content
    )
    face = vouchers.verify(code, key)  # what a shop with no network does
    assert (face.number, face.points, face.municipality_code) == (voucher["number"], 300, CHIYODA)
    shop = token(city_hall, "shop", CHIYODA, "神田パン店")
    used = post(
        city_hall, shop, "/v1/vouchers/redeem", {"redemption_id": "sale-1", "vouchers": [code]}
    )
    assert (used["outcome"], used["points"]) == ("accepted", 300)


def test_offline_no_voucher_is_printed_but_a_library_card_is_queued_and_linked_later(
    city_hall: KioskRig, tmp_path: Path
) -> None:
    card = issue_rig_card(tmp_path, "citizen")
    with KioskUnderTest.build(city_hall, card) as kiosk:
        mykey = reserve(kiosk)
        city_hall.service.stop()  # the network is down
        signed_in(kiosk)
        assert kiosk.step == Step.PLATFORM_OFFLINE
        kiosk.send(ev.ChooseAction("voucher"))
        assert kiosk.step == Step.PLATFORM_OFFLINE  # no voucher without the service
        kiosk.send(ev.ChooseAction("link"))
        kiosk.send(ev.ChooseFacility("chiyoda_library"))
        kiosk.send(ev.ServiceNumberTyped("1300098765"))
        kiosk.send(ev.Submit())
        kiosk.settle_until(lambda: kiosk.step == Step.LINK_DONE, timeout=60)
        assert kiosk.data["state"] == "pending" and kiosk.data["receipt_number"]
        kiosk.send(ev.Continue())
        kiosk.take_card()
    assert b"MKV1." not in city_hall.settings.printer_output_file.read_bytes()
    city_hall.service.start()
    synced = run_cli("kiosk-sync", "--once", env=city_hall.env)
    assert synced.returncode == 0, synced.stderr
    assert linked(city_hall, mykey, "1300098765")


def test_a_voucher_the_service_could_not_confirm_is_never_printed(
    city_hall: KioskRig, tmp_path: Path
) -> None:
    card = issue_rig_card(tmp_path, "citizen")
    with KioskUnderTest.build(city_hall, card) as kiosk:
        mykey = reserve(kiosk)
        grant(city_hall, mykey, 100)
        signed_in(kiosk)
        kiosk.send(ev.ChooseAction("voucher"))
        kiosk.send(ev.PointsTyped("100"))
        city_hall.service.stop()  # gone between the page and the voucher
        kiosk.send(ev.Submit())
        kiosk.settle_until(lambda: kiosk.step != Step.ISSUING, timeout=60)
        assert kiosk.step == Step.NOTICE
        kiosk.send(ev.Continue())
        kiosk.take_card()
    assert b"MKV1." not in city_hall.settings.printer_output_file.read_bytes()


def test_a_library_card_scanned_by_the_kiosks_scanner_is_linked(
    city_hall: KioskRig, tmp_path: Path
) -> None:
    """The scanner the settings name (here a fake serial scanner on a pseudo-terminal,
    read by the real reader) fills the number on the library step; a scan elsewhere is
    ignored."""
    from kiosk.devices.sim.fake_scanner import FakeScanner

    card = issue_rig_card(tmp_path, "citizen")
    with FakeScanner() as scanner:
        setting = f"serial:{scanner.path}"
        with KioskUnderTest.build(city_hall, card, barcode_scanner=setting) as kiosk:
            assert kiosk.scanner.wait_connected(5)  # a port opened later drops what came
            mykey = reserve(kiosk)
            signed_in(kiosk)
            assert kiosk.step == Step.PLATFORM_HOME
            scanner.scan("1300098765", codabar=True)  # not the library step: ignored
            assert scanner.wait_read(5)
            kiosk.settle_until(lambda: not kiosk.dispatcher.pump(), timeout=5)
            assert kiosk.step == Step.PLATFORM_HOME
            kiosk.send(ev.ChooseAction("link"))
            kiosk.send(ev.ChooseFacility("chiyoda_library"))
            assert kiosk.step == Step.ENTER_SERVICE_NUMBER
            scanner.scan("1300098765", codabar=True)  # A1300098765B on the wire
            kiosk.settle_until(lambda: kiosk.step == Step.LINK_CONFIRM)
            assert kiosk.data["number_last4"] == "8765"
            kiosk.send(ev.Submit())
            kiosk.settle_until(lambda: kiosk.step == Step.LINK_DONE, timeout=60)
            assert kiosk.data["state"] == "confirmed"
            kiosk.send(ev.Continue())
            kiosk.take_card()
    assert linked(city_hall, mykey, "1300098765")


def test_an_unused_voucher_is_cancelled_with_the_card_and_its_paper_is_void(
    city_hall: KioskRig, tmp_path: Path
) -> None:
    """What the voucher promises under its rules: cancelled where it was issued, with the
    card, its points come back; offline, nothing is cancelled and it still works."""
    card = issue_rig_card(tmp_path, "citizen")
    with KioskUnderTest.build(city_hall, card) as kiosk:
        mykey = reserve(kiosk)
        grant(city_hall, mykey, 1000)
        signed_in(kiosk)
        number = print_voucher(kiosk, 300)["number"]
        kiosk.send(ev.Continue())
        kiosk.take_card()

        signed_in(kiosk)
        assert [v["number"] for v in kiosk.data["vouchers"]] == [number]
        kiosk.send(ev.ChooseAction("cancel_voucher"))
        kiosk.send(ev.ChooseVoucher(number))
        city_hall.service.stop()  # offline: nothing is cancelled
        kiosk.send(ev.Submit())
        kiosk.settle_until(lambda: kiosk.step != Step.CANCELLING_VOUCHER, timeout=60)
        assert (kiosk.step, kiosk.data.get("problem")) == (Step.NOTICE, "voucher_cancel.offline")
        kiosk.send(ev.Continue())
        kiosk.take_card()
        city_hall.service.start()

        signed_in(kiosk)
        assert kiosk.data["balances"][0]["points"] == 700
        kiosk.send(ev.ChooseAction("cancel_voucher"))
        kiosk.send(ev.ChooseVoucher(number))
        assert kiosk.step == Step.VOUCHER_CANCEL_CONFIRM
        kiosk.send(ev.Submit())
        kiosk.settle_until(lambda: kiosk.step != Step.CANCELLING_VOUCHER, timeout=60)
        assert kiosk.step == Step.VOUCHER_CANCELLED, (kiosk.step, kiosk.data)
        assert (kiosk.data["state"], kiosk.data["points"], kiosk.data["balance"]) == (
            "cancelled", 300, 1000,
        )  # fmt: skip
        kiosk.send(ev.Back())
        assert kiosk.step == Step.PLATFORM_HOME
        assert kiosk.data["vouchers"] == [] and kiosk.data["balances"][0]["points"] == 1000
        kiosk.send(ev.Continue())
        kiosk.take_card()
    printed = decode(city_hall.settings.printer_output_file.read_bytes())
    [code] = [q.data.decode("ascii") for q in printed.qr_codes if q.data.startswith(b"MKV1.")]
    shop = token(city_hall, "shop", CHIYODA, "神田パン店")
    refused = post(
        city_hall, shop, "/v1/vouchers/redeem", {"redemption_id": "sale-1", "vouchers": [code]}
    )
    assert refused["outcome"] == "rejected" and refused["points"] == 0
    problems = refused["problems"]
    assert isinstance(problems, list)
    assert [problem["reason_code"] for problem in problems] == ["VOUCHER_CANCELLED"]


def test_a_linked_library_card_is_unlinked_and_the_library_is_told_no(
    city_hall: KioskRig, tmp_path: Path
) -> None:
    card = issue_rig_card(tmp_path, "citizen")
    with KioskUnderTest.build(city_hall, card) as kiosk:
        mykey = reserve(kiosk)
        signed_in(kiosk)
        kiosk.send(ev.ChooseAction("link"))
        kiosk.send(ev.ChooseFacility("chiyoda_library"))
        kiosk.send(ev.ServiceNumberTyped("1300098765"))
        kiosk.send(ev.Submit())
        kiosk.settle_until(lambda: kiosk.step == Step.LINK_DONE, timeout=60)
        assert kiosk.data["state"] == "confirmed"
        kiosk.send(ev.Continue())
        kiosk.take_card()
        assert linked(city_hall, mykey, "1300098765")

        signed_in(kiosk)
        assert [link["number_last4"] for link in kiosk.data["links"]] == ["8765"]
        kiosk.send(ev.ChooseAction("unlink"))
        kiosk.send(ev.ChooseFacility("chiyoda_library"))
        assert kiosk.step == Step.UNLINK_CONFIRM
        kiosk.send(ev.Submit())
        kiosk.settle_until(lambda: kiosk.step == Step.LINK_DONE, timeout=60)
        assert (kiosk.data["state"], kiosk.data["unlinking"]) == ("confirmed", True)
        kiosk.send(ev.Continue())
        kiosk.take_card()
    assert not linked(city_hall, mykey, "1300098765")
