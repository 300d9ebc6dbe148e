"""The slip drawn as a 1-bit image with the bundled Japanese font (IPAexGothic): what any
ESC/POS printer prints with its raster command, and the PNG preview, pixel for pixel.

Thermal printers print 203 dots per inch (8 dots per mm): 384 dots across 58 mm paper,
576 across 80 mm. Sizes are in dots; at 203 dpi a point is 2.8 dots, so the large-type
headings (44 dots) are 15.6 pt and its body (34 dots) 12 pt, for elderly readers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from mynapoint.linebreak import break_paragraph, units
from receipts.layout import Block, Qr, Rule, Style, Text

FONT = Path(__file__).parent / "fonts" / "ipaexg.ttf"
DOTS_ACROSS = {58: 384, 80: 576}
MARGIN = 8  # dots each side: printers lose a little at the edges
QUIET_ZONE = 4  # modules of white around a QR code, as the standard asks
# The smallest QR module printed: 3 dots is 0.375 mm, what shop scanners and phones read.
SMALLEST_MODULE = 3


@dataclass(frozen=True)
class Sizes:
    title: int
    heading: int
    body: int
    small: int
    qr_module: int  # dots per QR module
    gap: int

    def of(self, style: Style) -> int:
        return int(getattr(self, style))


NORMAL = Sizes(title=40, heading=30, body=24, small=21, qr_module=5, gap=10)
LARGE = Sizes(title=52, heading=44, body=34, small=30, qr_module=7, gap=14)


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size)


def render(blocks: list[Block], *, paper_mm: int = 80, large: bool = False) -> Image.Image:
    """The slip as a 1-bit image (black = 0), as wide as the paper's printable dots."""
    sizes = LARGE if large else NORMAL
    width = DOTS_ACROSS[paper_mm]
    pieces = [_piece(block, width - 2 * MARGIN, sizes) for block in blocks]
    height = sum(p.height + sizes.gap for p in pieces) + 2 * MARGIN
    canvas = Image.new("L", (width, height), 255)
    y = MARGIN
    for block, piece in zip(blocks, pieces, strict=True):
        centred = isinstance(block, Qr) or (isinstance(block, Text) and block.align == "center")
        x = (width - piece.width) // 2 if centred else MARGIN
        canvas.paste(piece, (x, y))
        y += piece.height + sizes.gap
    # A fixed threshold, not dithering: thermal dots are on or off, and text stays crisp.
    return canvas.point(lambda value: 255 if value >= 160 else 0, mode="1")


def _piece(block: Block, width: int, sizes: Sizes) -> Image.Image:
    if isinstance(block, Rule):
        piece = Image.new("L", (width, 3), 255)
        ImageDraw.Draw(piece).line([(0, 1), (width, 1)], fill=0, width=2)
        return piece
    if isinstance(block, Qr):
        return _qr(block.payload, qr_module_dots(block.payload, width, sizes.qr_module))
    return _text(block, width, sizes)


def _text(block: Text, width: int, sizes: Sizes) -> Image.Image:
    size = sizes.of(block.style)
    # A word (a receipt number, say) wider than the paper: a smaller size, not a break.
    while size > sizes.small and any(
        font(size).getlength(piece.strip()) > width for piece in units(block.text)
    ):
        size -= 2
    face = font(size)
    lines = wrap(block.text, face, width)
    ascent, descent = face.getmetrics()
    line_height = ascent + descent + max(2, size // 8)
    piece_width = width if block.align == "left" else max(int(face.getlength(x)) for x in lines)
    piece = Image.new("L", (max(1, piece_width), line_height * len(lines)), 255)
    draw = ImageDraw.Draw(piece)
    for number, line in enumerate(lines):
        # Bold: the same text drawn twice, a dot apart (the font has no bold face).
        for dx in (0, 1) if block.bold else (0,):
            draw.text((dx, number * line_height), line, font=face, fill=0)
    return piece


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines that fit ``width`` dots, broken as the kiosk's screens break them
    (``mynapoint.linebreak``): Japanese between any two characters, English between
    words, no closing punctuation at a line's start."""
    return break_paragraph(text, width, face.getlength)


def qr_module_dots(payload: str, width: int, preferred: int) -> int:
    """Dots per module for ``payload``'s code: ``preferred`` unless the code and its quiet
    zone would then be wider than ``width`` dots (a voucher's signed code in large type on
    58 mm paper), and then the largest that fits."""
    across = _code(payload, 1).modules_count + 2 * QUIET_ZONE
    fits = width // across
    if fits < SMALLEST_MODULE:
        raise ValueError(f"a QR code of {across} modules does not fit {width} dots")
    return min(preferred, fits)


def _code(payload: str, module: int) -> qrcode.QRCode[Any]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=module, border=QUIET_ZONE)
    code.add_data(payload)
    code.make(fit=True)
    return code


def _qr(payload: str, module: int) -> Image.Image:
    image = _code(payload, module).make_image(fill_color="black", back_color="white")
    drawn: Image.Image = image.get_image()
    return drawn.convert("L")
