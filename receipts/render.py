"""One slip, three outputs: the raster image (and its PNG preview), the ESC/POS bytes of
that image, or Kanji-mode text for printers that have the Kanji font."""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image

from receipts import escpos_output, raster
from receipts.layout import layout
from receipts.model import Slip

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
    if kanji:
        try:
            return escpos_output.kanji_bytes(layout(slip), paper_mm=paper_mm, large=large)
        except escpos_output.NotInShiftJis as exc:
            log.warning("slip printed as an image: %s", exc)
    return escpos_output.raster_bytes(image or slip_image(slip, paper_mm=paper_mm, large=large))
