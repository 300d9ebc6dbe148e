"""Issuing the slip: archived, rendered for this kiosk's printer, printed, or shown.

The flow calls ``issue`` only once its submissions are durable (``Submitter.submit`` has
returned): a slip never promises what the kiosk could still lose. When the printer has
no paper or cannot be reached, nothing is lost either: the slip is archived before it is
printed, the flow shows it on the screen (``SlipIssued.image``, with its QR code) and
tells the store's staff, and a technician can reprint it (``kiosk-slip reprint``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from PIL import Image

from kiosk.devices.printer import PrinterError, PrinterStatus, SlipPrinter, open_printer
from kiosk.settings import KioskSettings
from kiosk.slip.archive import SlipArchive
from receipts.model import Slip
from receipts.render import slip_bytes, slip_image, voucher_bytes, voucher_image
from receipts.voucher import VoucherSlip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlipIssued:
    slip: Slip | VoucherSlip
    image: Image.Image  # what the screen shows when the paper did not come out
    status: PrinterStatus | None  # the printer's, when it said (near end: tell staff)
    problem: PrinterError | None = None  # not printed: its message_key for the screen

    @property
    def printed(self) -> bool:
        return self.problem is None

    @property
    def tell_staff(self) -> bool:
        return self.problem is not None or (
            self.status is not None and self.status.paper == "near_end"
        )


class SlipDesk:
    def __init__(
        self,
        settings: KioskSettings,
        *,
        printer: SlipPrinter | None = None,
        archive: SlipArchive | None = None,
    ) -> None:
        self.settings = settings
        self.printer = printer or open_printer(settings)
        self.archive = archive or SlipArchive(settings.data_dir / "slips")

    def close(self) -> None:
        self.printer.close()

    def issue(self, slip: Slip) -> SlipIssued:
        """Archive ``slip``, then print it (or say why not)."""
        self.archive.save(slip)
        return self.print(slip)

    def reprint(self, count: int = 1) -> list[SlipIssued]:
        """The last ``count`` slips again, oldest first, marked as reprints."""
        return [self.print(slip.reprinted()) for slip in reversed(self.archive.last(count))]

    def _keep_png(self, slip: Slip, image: Image.Image) -> None:
        directory = self.settings.slip_png_dir
        if directory is None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        first = next((p.receipt_number for p in slip.procedures if p.receipt_number), "status")
        stamp = slip.issued_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S")
        image.save(directory / f"slip-{stamp}-{first}.png")

    def print(self, slip: Slip) -> SlipIssued:
        """Print ``slip`` as it is (not archived: ``issue`` is for citizens' slips)."""
        paper, large = self.settings.paper_width_mm, self.settings.slip_large_type
        image = slip_image(slip, paper_mm=paper, large=large)
        data = slip_bytes(
            slip, paper_mm=paper, large=large, kanji=self.settings.printer_kanji, image=image
        )
        self._keep_png(slip, image)
        return self._send(slip, image, data)

    def print_voucher(self, voucher: VoucherSlip) -> SlipIssued:
        """Print a point voucher. It is not archived: the service keeps it, and one that
        did not come out shows on the citizen's page (and on the screen now)."""
        paper, large = self.settings.paper_width_mm, self.settings.slip_large_type
        image = voucher_image(voucher, paper_mm=paper, large=large)
        data = voucher_bytes(
            voucher, paper_mm=paper, large=large, kanji=self.settings.printer_kanji, image=image
        )
        return self._send(voucher, image, data)

    def _send(self, printed: Slip | VoucherSlip, image: Image.Image, data: bytes) -> SlipIssued:
        try:
            status = self.printer.print_slip(data)
        except PrinterError as problem:
            log.warning("slip not printed: %s", problem.detail)
            return SlipIssued(printed, image, problem.status, problem)
        if status.paper == "near_end":
            log.warning("slip printer: %s", status.detail)
        return SlipIssued(printed, image, status)
