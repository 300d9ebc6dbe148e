"""One slip, three outputs: the raster image (and its PNG preview), the ESC/POS bytes of
that image, or Kanji-mode text for printers that have the Kanji font. The point voucher
(``receipts.voucher``) is printed the same ways."""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image

from receipts import escpos_output, raster
from receipts.layout import Block, layout
from receipts.model import Slip
from receipts.voucher import VoucherSlip
from receipts.voucher import layout as voucher_layout

log = logging.getLogger(__name__)


def slip_image(slip: Slip, *, paper_mm: int = 80, large: bool = False) -> Image.Image:
    return raster.render(layout(slip), paper_mm=paper_mm, large=large)


def save_preview(slip: Slip, path: Path, *, paper_mm: int = 80, large: bool = False) -> Image.Image:
    """The PNG preview: the very image the printer would print."""
    image = slip_image(slip, paper_mm=paper_mm, large=large)
    image.save(path, format="PNG")
    return image


def slip_bytes(
    slip: Slip,
    *,
    paper_mm: int = 80,
    large: bool = False,
    kanji: bool = False,
    image: Image.Image | None = None,
) -> bytes:
    """What the printer is sent: Kanji-mode text if it has the Kanji font and every
    character is in Shift_JIS, the raster image otherwise (``image``, if drawn already)."""
    return _printed(layout(slip), "slip", paper_mm=paper_mm, large=large, kanji=kanji, image=image)


def voucher_image(voucher: VoucherSlip, *, paper_mm: int = 80, large: bool = False) -> Image.Image:
    """The voucher as the printer prints it (and its PNG preview)."""
    return raster.render(voucher_layout(voucher), paper_mm=paper_mm, large=large)


def voucher_bytes(
    voucher: VoucherSlip,
    *,
    paper_mm: int = 80,
    large: bool = False,
    kanji: bool = False,
    image: Image.Image | None = None,
) -> bytes:
    """What the printer is sent for a voucher, chosen as for a slip (``slip_bytes``)."""
    blocks = voucher_layout(voucher)
    return _printed(blocks, "voucher", paper_mm=paper_mm, large=large, kanji=kanji, image=image)


def _printed(
    blocks: list[Block],
    what: str,
    *,
    paper_mm: int,
    large: bool,
    kanji: bool,
    image: Image.Image | None,
) -> bytes:
    if kanji:
        try:
            return escpos_output.kanji_bytes(blocks, paper_mm=paper_mm, large=large)
        except escpos_output.NotInShiftJis as exc:
            log.warning("%s printed as an image: %s", what, exc)
    drawn = image or raster.render(blocks, paper_mm=paper_mm, large=large)
    return escpos_output.raster_bytes(drawn)
