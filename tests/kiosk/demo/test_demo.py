"""`.venv/bin/kiosk-demo` (README): the kiosk end to end on its embedded defaults, in text."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.conftest import run_cli
from tests.support.escpos_decoder import decode


def test_the_demo_runs_end_to_end_and_again() -> None:
    first = run_cli("kiosk-demo")
    assert first.returncode == 0, first.stderr
    assert "3. Kiosk enrolled" in first.stdout
    assert "5. Reservation" in first.stdout and "MyKey ID" in first.stdout
    # The network goes down: the application is queued, then sent when it is back.
    assert "pending, queued on the kiosk" in first.stdout
    # The slip, printed once both are durable: to the file printer, and as a PNG.
    [slip_line] = [line for line in first.stdout.splitlines() if "Slip: printed to" in line]
    preview = Path(slip_line.rsplit("as a PNG: ", 1)[1])
    assert Image.open(preview).width == 576
    printer_file = Path(slip_line.split("printed to ", 1)[1].split(" (ESC/POS")[0])
    assert decode(printer_file.read_bytes()).cuts == 1
    assert "the sync sent 1 queued item(s), 1 accepted" in first.stdout
    assert "PayPay, account ****0001: accepted" in first.stdout
    assert "8. Queue: 0 unsent" in first.stdout
    assert "9. My Page: MyKey ID" in first.stdout and "application active (paypay)" in first.stdout
    assert "10. Audit trail: intact" in first.stdout
    again = run_cli("kiosk-demo")  # the same card: reserved already, applied for good
    assert again.returncode == 0, again.stderr
    assert "already reserved earlier" in again.stdout
    assert "ALREADY_APPLIED" in again.stdout and "既に申込済み" in again.stdout
    assert "application  rejected ALREADY_APPLIED" in again.stdout  # shown on My Page
    assert decode(printer_file.read_bytes()).cuts == 2  # the second slip, appended
    assert "Traceback" not in first.stderr + again.stderr
