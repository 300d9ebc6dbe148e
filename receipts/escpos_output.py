"""The slip as ESC/POS bytes, in one of two ways.

- ``raster_bytes``: the slip image (``receipts.raster``), sent with the raster command
  (GS v 0). Any ESC/POS printer prints it, whatever fonts it has.
- ``kanji_bytes``: text in the printer's Kanji mode (FS C 1 selects Shift_JIS, FS &
  enters Kanji mode, FS . leaves it), with the printer's own QR command (GS ( k). Only
  Japanese-model printers have the Kanji font; their profile says so (``printer_kanji``).
  python-escpos's ``text()`` is not used for Japanese: it encodes kanji as GB18030,
  which a Japanese printer prints as garbage.

Both start with ESC @ (initialise) and end with a partial cut after a feed.
"""

from __future__ import annotations

from PIL import Image

from receipts.escpos_library import QR_ECLEVEL_M, Dummy
from receipts.layout import Block, Qr, Rule, Style, Text
from receipts.raster import DOTS_ACROSS, qr_module_dots

INIT = b"\x1b@"
SHIFT_JIS = b"\x1cC\x01"  # FS C 1: the Kanji code system is Shift_JIS
KANJI_ON, KANJI_OFF = b"\x1c&", b"\x1c."
BOLD = {True: b"\x1bE\x01", False: b"\x1bE\x00"}
ALIGN = {"left": b"\x1ba\x00", "center": b"\x1ba\x01"}
FEED_AND_CUT = b"\x1bd\x04\x1dV\x01"  # feed 4 lines, partial cut
# Columns of half-width characters (Font A, 12 x 24 dots) across the printable width.
COLUMNS = {58: 32, 80: 48}


class NotInShiftJis(ValueError):
    """A character the printer's Kanji font does not have: print the raster slip."""


def raster_bytes(image: Image.Image) -> bytes:
    printer = Dummy()
    # The image is as wide as the paper; without the width python-escpos prints a notice.
    printer.profile.profile_data["media"]["width"]["pixels"] = image.width
    printer._raw(INIT)
    printer.image(image, impl="bitImageRaster", center=False)
    printer._raw(FEED_AND_CUT)
    return bytes(printer.output)


def kanji_bytes(blocks: list[Block], *, paper_mm: int = 80, large: bool = False) -> bytes:
    """The slip as Kanji-mode text; ``NotInShiftJis`` if some character cannot be."""
    printer = Dummy()
    printer._raw(INIT + SHIFT_JIS)
    for block in blocks:
        if isinstance(block, Rule):
            printer._raw(ALIGN["left"] + _size(1, 1) + b"-" * COLUMNS[paper_mm] + b"\n")
        elif isinstance(block, Qr):
            printer._raw(ALIGN["center"])
            size = qr_module_dots(block.payload, DOTS_ACROSS[paper_mm], 8 if large else 6)
            printer.qr(block.payload, ec=QR_ECLEVEL_M, size=size, native=True)
        else:
            _text(printer, block, paper_mm, large)
    printer._raw(ALIGN["left"] + FEED_AND_CUT)
    return bytes(printer.output)


def _scale(style: Style, large: bool) -> tuple[int, int]:
    """(width, height) multipliers of the printer's 24-dot font, near the raster sizes."""
    if style == "title":
        return (2, 2) if not large else (3, 3)
    if style == "heading":
        return (1, 2) if not large else (2, 2)
    return (1, 1) if not large else (1, 2)


def _size(width: int, height: int) -> bytes:
    bits = (width - 1) << 4 | (height - 1)
    kanji = (0x04 if width > 1 else 0) | (0x08 if height > 1 else 0)
    return b"\x1d!" + bytes([bits]) + b"\x1c!" + bytes([kanji])  # GS ! (ANK), FS ! (Kanji)


def _text(printer: Dummy, block: Text, paper_mm: int, large: bool) -> None:
    width, height = _scale(block.style, large)
    printer._raw(ALIGN[block.align] + BOLD[block.bold] + _size(width, height))
    for line in wrap_columns(block.text, COLUMNS[paper_mm] // width):
        try:
            encoded = line.encode("cp932")
        except UnicodeEncodeError as exc:
            raise NotInShiftJis(f"{line[exc.start]!r} is not in Shift_JIS") from exc
        printer._raw(KANJI_ON + encoded + KANJI_OFF + b"\n")
    printer._raw(BOLD[False])


def columns_of(char: str) -> int:
    """A one-byte Shift_JIS character takes one column, a two-byte one two."""
    try:
        return len(char.encode("cp932"))
    except UnicodeEncodeError:
        return 2


def wrap_columns(text: str, columns: int) -> list[str]:
    """Lines of at most ``columns``; English breaks between words where it can."""
    lines, line, used = [], "", 0
    for char in text:
        need = columns_of(char)
        if used + need > columns:
            head, space, tail = line.rpartition(" ")
            if space and char != " " and tail.isascii() and head:
                lines.append(head)
                line, used = tail, sum(columns_of(c) for c in tail)
            else:
                lines.append(line.rstrip())
                line, used = "", 0
            if char == " ":
                continue
        line += char
        used += need
    lines.append(line.rstrip())
    return lines
