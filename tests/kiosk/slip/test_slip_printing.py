"""The slip on its way to paper: the ESC/POS bytes read back with the decoder in
``tests/support/escpos_decoder.py`` (Kanji-mode lines, raster images, QR payloads), golden bytes,
and printing through the loopback network printer, the slip desk and ``kiosk-slip``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from kiosk.devices.printer import PaperOut
from kiosk.devices.sim.escpos_printer import LoopbackPrinter, PrinterState
from kiosk.settings import KioskSettings
from kiosk.slip.archive import SlipArchive
from kiosk.slip.desk import SlipDesk
from receipts.escpos_library import Dummy
from receipts.escpos_output import COLUMNS, columns_of, kanji_bytes, raster_bytes, wrap_columns
from receipts.layout import Block, Rule, Text, layout
from receipts.messages import text as message
from receipts.model import Slip
from receipts.render import slip_bytes, slip_image
from receipts.sample import sample_slip
from tests.conftest import CardFactory, run_cli
from tests.receipts.test_slip import (
    APPLICATION_RECEIPT,
    DATA,
    RESERVATION_RECEIPT,
    SECRETS,
    ocr,
    qr_codes,
    read_back,
    reference_slip,
    session_slip,
)
from tests.support.escpos_decoder import Decoded, decode, image_of
from tests.support.service_harness import TestCard

GOLDEN_KANJI = DATA / "slip-kanji-ja-80.bin"
STATUS_1, STATUS_4 = b"\x10\x04\x01", b"\x10\x04\x04"
TIMEOUT = 0.3
DOTS_PER_POINT = 203 / 72  # a 203-dpi thermal head

needs_tools = pytest.mark.usefixtures("slip_reading_tools")


# Characters across per style, normal and large type (multiples of the 12-dot font).
CHARACTER_WIDTH = {"title": (2, 3), "heading": (1, 2), "body": (1, 1), "small": (1, 1)}


def expected_lines(blocks: list[Block], paper_mm: int, large: bool) -> list[str]:
    """The lines the printer should print for ``blocks``: each text wrapped to the
    columns its character width leaves, a rule of dashes, nothing for a QR code."""
    lines = []
    for block in blocks:
        if isinstance(block, Rule):
            lines.append("-" * COLUMNS[paper_mm])
        elif isinstance(block, Text):
            width = CHARACTER_WIDTH[block.style][large]
            lines += wrap_columns(block.text, COLUMNS[paper_mm] // width)
    # As Shift_JIS reads back: the wave dash of "9:30〜20:00" is the printer's 0x8160,
    # which cp932 reads as "～" (the same glyph on paper).
    return [line.encode("cp932").decode("cp932") for line in lines]


def all_text(decoded: Decoded) -> str:
    """The printed text with the line breaks taken out: a secret split by a wrap shows."""
    return "".join(line.text for line in decoded.lines)


# --- Kanji-mode bytes ---------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("paper", [58, 80])
@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize("pending", [False, True])
def test_kanji_mode_bytes_print_every_line_and_no_secret(
    make_card: CardFactory, language: str, paper: int, large: bool, pending: bool
) -> None:
    slip = session_slip(TestCard(make_card()), language=language, pending=pending)
    blocks = layout(slip)
    decoded = decode(kanji_bytes(blocks, paper_mm=paper, large=large))

    assert [line.text for line in decoded.lines] == expected_lines(blocks, paper, large)
    printed = all_text(decoded)
    for words in [message("title", "ja"), message("subtitle", "ja"),
                  f"受付番号 {RESERVATION_RECEIPT}", f"受付番号 {APPLICATION_RECEIPT}",
                  "決済サービス PayPay", "0120-95-0178", "ローソン 霞が関店",
                  "2026年11月22日 14:30"]:  # fmt: skip
        assert words.replace(" ", "") in printed.replace(" ", ""), words
    if pending:
        assert "送信待ち（未確定）" in printed and "K7QM3XPA" not in printed
    else:
        assert "マイキーIDK7QM3XPA" in printed.replace(" ", "") and "受付完了" in printed
    if language == "en":
        assert "PaymentserviceIDending2468" in printed.replace(" ", "")
    assert not [secret for secret in SECRETS if secret in printed]

    # Every character went through the Kanji font: none through a single-byte code page.
    assert decoded.non_ascii_single_byte == []
    assert all(line.kanji for line in decoded.lines if not line.text.isascii())
    # No line is wider than the paper.
    for line in decoded.lines:
        assert sum(columns_of(c) for c in line.text) * line.width <= COLUMNS[paper], line.text
    # The QR codes hold the receipt numbers, and are printed.
    assert [(qr.text, qr.printed) for qr in decoded.qr_codes] == [
        (RESERVATION_RECEIPT, True),
        (APPLICATION_RECEIPT, True),
    ]
    assert decoded.cuts == 1 and decoded.unprinted == ""


def test_kanji_mode_headings_are_large_enough(make_card: CardFactory) -> None:
    """Large type: headings twice the 24-dot font's height, 17 pt, at least 14 pt."""
    blocks = layout(session_slip(TestCard(make_card())))
    decoded = decode(kanji_bytes(blocks, large=True))
    title = decoded.lines[0]
    assert title.text == "マイナポイント"
    headings = [line for line in decoded.lines if line.text.startswith("受付番号")]
    for line in [title, *headings]:
        assert 24 * line.height >= 14 * DOTS_PER_POINT, line.text
    text_lines = [line for line in decoded.lines if line.text.strip("-")]  # not the rules
    assert all(24 * line.height >= 12 * DOTS_PER_POINT for line in text_lines)


def test_kanji_mode_golden_bytes() -> None:
    """The exact bytes for a fixed slip. A change shows up here; if it is meant,
    regenerate: ``python -c "from tests.kiosk.slip.test_slip_printing import write_golden;
    write_golden()"`` and look at the decoded lines."""
    assert kanji_bytes(layout(reference_slip())) == GOLDEN_KANJI.read_bytes()


def write_golden() -> None:
    GOLDEN_KANJI.write_bytes(kanji_bytes(layout(reference_slip())))


def test_python_escpos_text_would_garble_kanji() -> None:
    """Why the Kanji-mode bytes are made by hand: python-escpos's ``text()`` sends kanji
    through a single-byte code page (GB18030), and the decoder catches it."""
    printer = Dummy()
    printer.text("受付番号\n")
    decoded = decode(printer.output)
    assert decoded.non_ascii_single_byte
    assert "受付番号" not in decoded.text


def test_a_character_outside_shift_jis_falls_back_to_the_raster_slip() -> None:
    slip = reference_slip().model_copy(update={"store_name": "𠮷野家 霞が関店"})
    decoded = decode(slip_bytes(slip, kanji=True))
    assert decoded.lines == [] and decoded.rasters
    assert image_of(decoded).size == slip_image(slip).size


# --- Raster bytes -------------------------------------------------------------------------


@pytest.mark.parametrize("paper", [58, 80])
def test_raster_bytes_carry_the_preview_image_dot_for_dot(paper: int) -> None:
    image = slip_image(reference_slip(), paper_mm=paper)
    decoded = decode(raster_bytes(image))
    assert image.width == {58: 384, 80: 576}[paper]
    printed = image_of(decoded, paper_width=image.width)
    assert printed.size == image.size
    assert ImageChops.difference(printed.convert("L"), image.convert("L")).getbbox() is None
    assert decoded.lines == [] and decoded.qr_codes == [] and decoded.cuts == 1


# --- Through the loopback network printer -------------------------------------------------


@pytest.fixture
def loopback() -> Iterator[LoopbackPrinter]:
    with LoopbackPrinter(port=0) as printer:
        yield printer


def network_settings(tmp_path: Path, loopback: LoopbackPrinter, **more: Any) -> KioskSettings:
    return KioskSettings(
        data_dir=tmp_path / "data",
        printer_backend="network",
        printer_port=loopback.port,
        printer_timeout_seconds=TIMEOUT,
        store_name="ローソン 霞が関店",
        **more,
    )


def without_status_requests(received: bytes) -> tuple[bytes, bytes]:
    """(the status requests before the slip, the slip and the delivery check)."""
    assert received.startswith(STATUS_1 + STATUS_4), received[:16]
    return received[:6], received[6:]


def test_a_kanji_slip_reaches_the_network_printer_line_for_line(
    tmp_path: Path, loopback: LoopbackPrinter
) -> None:
    slip = reference_slip()
    desk = SlipDesk(network_settings(tmp_path, loopback, printer_kanji=True))
    with desk.printer:
        issued = desk.issue(slip)
    assert issued.printed and not issued.tell_staff
    _, sent = without_status_requests(loopback.received)
    decoded = decode(sent)
    assert decoded.status_requests == [1]  # the delivery check after the slip
    assert [line.text for line in decoded.lines] == expected_lines(layout(slip), 80, False)
    assert [qr.text for qr in decoded.qr_codes] == [RESERVATION_RECEIPT, APPLICATION_RECEIPT]


def test_a_raster_slip_reaches_the_network_printer_dot_for_dot(
    tmp_path: Path, loopback: LoopbackPrinter
) -> None:
    slip = reference_slip()
    desk = SlipDesk(network_settings(tmp_path, loopback, paper_width_mm=58))
    with desk.printer:
        issued = desk.issue(slip)
    assert issued.printed
    decoded = decode(without_status_requests(loopback.received)[1])
    printed = image_of(decoded, paper_width=384)
    assert ImageChops.difference(printed.convert("L"), issued.image.convert("L")).getbbox() is None


@needs_tools
def test_paper_out_shows_the_slip_tells_staff_and_reprints_later(
    tmp_path: Path, loopback: LoopbackPrinter
) -> None:
    config = network_settings(tmp_path, loopback, printer_kanji=True)
    loopback.state = PrinterState.PAPER_OUT
    desk = SlipDesk(config)
    with desk.printer:
        issued = desk.issue(reference_slip())
    assert not issued.printed and issued.tell_staff
    assert isinstance(issued.problem, PaperOut)
    assert issued.problem.message_key == "printer.paper_out"
    assert decode(loopback.received).lines == []  # status requests only: no paper wasted
    # The screen's image carries the QR codes a phone or the staff's scanner can read.
    shown = tmp_path / "shown.png"
    issued.image.save(shown)
    assert qr_codes(shown) == sorted([RESERVATION_RECEIPT, APPLICATION_RECEIPT])
    # Kept, and reprinted once the roll is changed (the technician's command).
    assert SlipArchive(config.data_dir / "slips").last(5) == [reference_slip()]
    loopback.state = PrinterState.OK
    loopback.clear()
    desk = SlipDesk(config)
    with desk.printer:
        [again] = desk.reprint(1)
    assert again.printed
    decoded = decode(without_status_requests(loopback.received)[1])
    assert message("reprint", "ja") in [line.text for line in decoded.lines]
    assert [qr.text for qr in decoded.qr_codes] == [RESERVATION_RECEIPT, APPLICATION_RECEIPT]


@pytest.mark.parametrize(
    ("state", "message_key"),
    [(PrinterState.COVER_OPEN, "printer.offline"), (PrinterState.DOWN, "printer.unavailable")],
)
def test_a_printer_that_cannot_print_loses_nothing(
    tmp_path: Path, loopback: LoopbackPrinter, state: PrinterState, message_key: str
) -> None:
    config = network_settings(tmp_path, loopback)
    loopback.state = state
    desk = SlipDesk(config)
    with desk.printer:
        issued = desk.issue(reference_slip())
    assert not issued.printed and issued.tell_staff
    assert issued.problem is not None and issued.problem.message_key == message_key
    assert issued.image.size == slip_image(reference_slip()).size
    assert SlipArchive(config.data_dir / "slips").last(1) == [reference_slip()]


def test_near_end_prints_and_tells_staff(tmp_path: Path, loopback: LoopbackPrinter) -> None:
    loopback.state = PrinterState.NEAR_END
    desk = SlipDesk(network_settings(tmp_path, loopback, printer_kanji=True))
    with desk.printer:
        issued = desk.issue(reference_slip())
    assert issued.printed and issued.tell_staff
    assert issued.status is not None and issued.status.paper == "near_end"


# --- kiosk-slip, as a technician runs it ----------------------------------------------------


def kiosk_env(tmp_path: Path, loopback: LoopbackPrinter | None = None, **more: str) -> dict:
    env = {"KIOSK_DATA_DIR": str(tmp_path / "data"), "KIOSK_PRINTER_TIMEOUT_SECONDS": "0.3"}
    if loopback is not None:
        env |= {"KIOSK_PRINTER_BACKEND": "network", "KIOSK_PRINTER_PORT": str(loopback.port)}
    return env | more


RECEIPT = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
# The time as the slip writes it (``mynapoint.dates.time_text``): 2026年12月6日 15:17, or
# 15:17 on 6 December 2026.
WHEN = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d|\d{1,2}:\d\d on \d{1,2} [A-Z][a-z]+ \d{4}")


def comparable(lines: list[str]) -> list[str]:
    """Lines with the receipt numbers and the time (new on every sample) blanked out."""
    return [WHEN.sub("<time>", RECEIPT.sub("<receipt>", line)) for line in lines]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_test_print_to_a_network_printer_decodes_to_the_sample_lines(
    tmp_path: Path, loopback: LoopbackPrinter, language: str
) -> None:
    """The issue's "done when": the sample slip, printed on a network printer on
    loopback, decodes to the same lines as the sample."""
    done = run_cli("kiosk-slip", "test-print", "--lang", language,
                   env=kiosk_env(tmp_path, loopback, KIOSK_PRINTER_KANJI="true"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("printed (")
    assert "online; paper ok" in done.stdout
    decoded = decode(without_status_requests(loopback.received)[1])
    sample = sample_slip(language=language, store_name=KioskSettings().store_name)  # type: ignore[arg-type]
    assert comparable([line.text for line in decoded.lines]) == comparable(
        expected_lines(layout(sample), 80, False)
    )
    printed_numbers = RECEIPT.findall(decoded.text)
    assert [qr.text for qr in decoded.qr_codes] == list(dict.fromkeys(printed_numbers))
    # A test print is not a citizen's slip: nothing to reprint.
    assert not (tmp_path / "data" / "slips").exists()


@needs_tools
def test_test_print_as_an_image_reads_back(tmp_path: Path, loopback: LoopbackPrinter) -> None:
    """The raster slip (any printer): the dots received read back by OCR and zbarimg."""
    done = run_cli("kiosk-slip", "test-print", env=kiosk_env(tmp_path, loopback))
    assert done.returncode == 0, done.stderr
    decoded = decode(without_status_requests(loopback.received)[1])
    received = tmp_path / "received.png"
    image_of(decoded, paper_width=576).save(received)
    text = ocr(received, "ja")
    lines = ["マイナポイント", "手続きの控え", "見本", "決済サービスID末尾0001", "0120-95-0178"]
    for line in lines:
        assert read_back(line, text), (line, text)
    numbers = qr_codes(received)
    assert len(numbers) == 2 and all(RECEIPT.fullmatch(n) for n in numbers)
    assert all(read_back(number, text) for number in numbers)


@pytest.mark.parametrize(
    ("state", "exit_code", "words"),
    [
        (PrinterState.OK, 0, "online; paper ok"),
        (PrinterState.NEAR_END, 0, "paper near end"),
        (PrinterState.PAPER_OUT, 1, "paper out"),
        (PrinterState.COVER_OPEN, 1, "cover open"),
        (PrinterState.SILENT, 2, "no reply"),
    ],
)
def test_status_command(
    tmp_path: Path, loopback: LoopbackPrinter, state: PrinterState, exit_code: int, words: str
) -> None:
    loopback.state = state
    done = run_cli("kiosk-slip", "status", env=kiosk_env(tmp_path, loopback))
    assert done.returncode == exit_code, done.stdout + done.stderr
    assert words in done.stdout


def test_status_of_a_printer_that_is_off(tmp_path: Path, loopback: LoopbackPrinter) -> None:
    loopback.state = PrinterState.DOWN
    done = run_cli("kiosk-slip", "status", env=kiosk_env(tmp_path, loopback))
    assert done.returncode == 1
    assert "Connection refused" in done.stderr and "Traceback" not in done.stderr


def test_test_print_on_paper_out_says_so(tmp_path: Path, loopback: LoopbackPrinter) -> None:
    loopback.state = PrinterState.PAPER_OUT
    done = run_cli("kiosk-slip", "test-print", env=kiosk_env(tmp_path, loopback))
    assert done.returncode == 1
    assert "not printed" in done.stderr and "load a new roll" in done.stderr


def test_reprint_the_last_slips_to_the_file_printer(tmp_path: Path, make_card: CardFactory) -> None:
    """The embedded default: the printer is a file the bytes are appended to."""
    env = kiosk_env(tmp_path)
    nothing = run_cli("kiosk-slip", "reprint", env=env)
    assert nothing.returncode == 1
    assert "no slip has been issued on this kiosk yet" in nothing.stderr

    archive = SlipArchive(tmp_path / "data" / "slips")
    first = session_slip(TestCard(make_card()))
    second = reference_slip().model_copy(update={"issued_at": first.issued_at.replace(hour=6)})
    archive.save(first)
    archive.save(second)
    done = run_cli("kiosk-slip", "reprint", "--last", "2", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("printed (") == 2
    decoded = decode((tmp_path / "data" / "printer.bin").read_bytes())
    assert len(decoded.rasters) >= 2 and decoded.cuts == 2  # oldest first, each cut off
    assert "status unknown" in done.stdout  # a file cannot say whether paper came out


def test_the_archive_keeps_slips_private(tmp_path: Path) -> None:
    archive = SlipArchive(tmp_path / "slips", keep=3)
    slips: list[Slip] = []
    for hour in range(5):
        slip = reference_slip().model_copy(
            update={"issued_at": reference_slip().issued_at.replace(hour=hour)}
        )
        path = archive.save(slip)
        slips.append(slip)
        assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "slips").stat().st_mode & 0o777 == 0o700
    assert archive.last(10) == slips[:1:-1]  # the newest three, newest first


def test_every_slip_can_also_be_kept_as_a_png(tmp_path: Path) -> None:
    """The demo's printer, and a technician's record of what came out."""
    config = KioskSettings(data_dir=tmp_path / "data", slip_png_dir=tmp_path / "slips-png")
    desk = SlipDesk(config)
    with desk.printer:
        issued = desk.issue(reference_slip())
    [png] = (tmp_path / "slips-png").glob("slip-*.png")
    assert RESERVATION_RECEIPT in png.name
    with Image.open(png) as kept:
        assert kept.size == issued.image.size
