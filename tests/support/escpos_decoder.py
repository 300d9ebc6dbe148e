"""Read an ESC/POS byte stream back into text lines, images, QR codes and cuts, for the tests.

``decode(data)`` parses every byte of the stream and returns a :class:`Decoded`. It is strict on
purpose: a byte it does not know raises :class:`UnknownCommand`, a stream that stops inside a
command raises :class:`TruncatedCommand`, and a known command with a parameter out of range, or
sent where an Epson printer would ignore it, raises :class:`InvalidCommand`. Each error carries
the offset and a hex dump around it. ``image_of(decoded)`` stacks the raster images as the paper
would show them (text and native QR codes are not drawn).

Commands covered (Epson ESC/POS, as python-escpos 3.1 sends them):

- ``LF`` print the line; ``CR`` (no effect); ``HT`` (kept as ``"\\t"`` in the text).
- ``ESC @`` initialise (all modes back to the power-on state, described below).
- ``ESC a n`` align (0/48 left, 1/49 centre, 2/50 right; only at the start of a line).
- ``ESC E n`` bold; ``ESC - n`` underline (0-2); ``ESC ! n`` print modes (bold, double
  width/height, underline; single-byte characters only); ``GS ! n`` character size 1-8 x 1-8
  (single-byte and Kanji characters); ``ESC M n`` font (recorded only).
- ``ESC d n`` / ``ESC J n`` print the line and feed; ``ESC 2`` / ``ESC 3 n`` line spacing
  (recorded only).
- ``ESC t n`` code page of single-byte characters >= 0x80 (0 PC437, 1 Katakana, 2 PC850,
  3 PC860, 4 PC863, 5 PC865, 16 WPC1252, 17 PC866, 18 PC852, 19 PC858; others give U+FFFD);
  ``ESC R n`` international set (0 USA; 8 Japan, where 0x5C prints as "¥").
- ``FS &`` / ``FS .`` enter / leave Kanji mode; ``FS C n`` Kanji code system (0/48 JIS,
  1/49 Shift_JIS decoded as cp932, 2/50 Shift_JIS-2004); ``FS ! n`` Kanji print mode
  (double width/height, underline); ``FS - n`` Kanji underline; ``FS W n`` Kanji quadruple size.
- ``GS v 0 m xL xH yL yH d...`` raster bit image (m 0-3 / 48-51).
- ``ESC * m nL nH d...`` column bit image (m 0, 1, 32, 33): the 8- or 24-dot stripes python-escpos
  sends one per line are joined into one image.
- ``GS ( L`` graphics: function 112 (store raster graphics, monochrome) and 50 / 2 (print).
- ``GS ( k`` QR code (cn 49): functions 65 (model), 67 (module size), 69 (error level),
  80 (store data), 81 (print), 82 (size request).
- ``GS V m [n]`` cut (m 0/48 full, 1/49 partial, 65/66 feed n then cut; only at a line start).
- ``DLE EOT n`` real-time status request (n 1-4).

Model of the printer, where Epson's manuals leave room:

- Power-on state, also after ``ESC @``: left aligned, no bold or underline, size 1x1, Kanji mode
  off, Kanji code system Shift_JIS, code page 0 (PC437), international set 0 (USA), QR model 2,
  module size 3, error level L.
- Text stays in the line buffer until ``LF``, ``ESC d`` or ``ESC J``; text left at the end of the
  stream is reported in ``Decoded.unprinted``. ``ESC @`` with text in the buffer would discard
  it, and ``ESC a``, ``GS v 0``, ``GS ( L`` print, ``GS ( k`` print and ``GS V`` are ignored by
  the printer unless at the start of a line: all of these raise :class:`InvalidCommand`.
- ``GS !`` and ``FS !`` / ``FS W`` share the size of Kanji characters (the last one received
  wins); ``ESC !`` sets the size of single-byte characters only.
- Outside Kanji mode every byte >= 0x80 is reported in ``Decoded.non_ascii_single_byte``
  (python-escpos's ``text()`` sends kanji there as GB18030, which a Japanese printer prints as
  half-width katakana or box-drawing garbage).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from PIL import Image

__all__ = [
    "Command",
    "Cut",
    "Decoded",
    "EscposDecodeError",
    "InvalidCommand",
    "Line",
    "NonAsciiText",
    "QrCode",
    "Raster",
    "Run",
    "Style",
    "TruncatedCommand",
    "UnknownCommand",
    "decode",
    "hexdump",
    "image_of",
]

Align = Literal["left", "center", "right"]

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT = 0x0A, 0x0D, 0x09

_ALIGN: dict[int, Align] = {0: "left", 1: "center", 2: "right"}
_QR_MODELS = {49: 1, 50: 2, 51: 3}  # 3 = Micro QR
_QR_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}
_KANJI_CODES = {0: "jis", 1: "cp932", 2: "shift_jis_2004"}
_CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865"}
_CODE_PAGES |= {16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858"}
_KATAKANA_PAGE = 1
_JAPAN = 8
_INVERT = bytes(255 - i for i in range(256))  # ESC/POS 1 = black, Pillow "1" mode 1 = white


# --- errors -----------------------------------------------------------------------------------


def hexdump(data: bytes, offset: int, context: int = 16) -> str:
    """The bytes around ``offset``, the one at ``offset`` in brackets."""
    lo, hi = max(0, offset - context), min(len(data), offset + context + 1)
    cells = [f"[{data[i]:02x}]" if i == offset else f"{data[i]:02x}" for i in range(lo, hi)]
    if offset >= len(data):
        cells.append("[end]")
    return f"{lo:#06x}: {' '.join(cells)}{' ...' if hi < len(data) else ''}"


class EscposDecodeError(ValueError):
    """The stream is not what a printer would print cleanly; ``offset`` says where."""

    def __init__(self, reason: str, data: bytes, offset: int) -> None:
        self.reason = reason
        self.offset = offset
        self.dump = hexdump(data, offset)
        super().__init__(f"{reason} at offset {offset} ({offset:#x}):\n  {self.dump}")


class UnknownCommand(EscposDecodeError):
    """Bytes this decoder does not cover: an unsupported command, or bytes that are not text."""


class TruncatedCommand(EscposDecodeError):
    """The stream ends inside a command or a two-byte character."""


class InvalidCommand(EscposDecodeError):
    """A known command with a bad parameter, or sent where the printer would ignore it."""


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """The attributes a character was printed with."""

    bold: bool = False
    underline: int = 0
    width: int = 1
    height: int = 1
    kanji: bool = False  # sent in Kanji mode


class Run(NamedTuple):
    text: str
    style: Style


@dataclass(frozen=True)
class Line:
    """One printed line: runs of text with one style each (a blank line has one empty run).

    ``bold``, ``underline``, ``width``, ``height`` and ``kanji`` are those of the whole line and
    raise ValueError when the runs differ: look at ``runs`` then.
    """

    runs: tuple[Run, ...]
    align: Align

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)

    @property
    def style(self) -> Style:
        styles = {run.style for run in self.runs}
        if len(styles) != 1:
            raise ValueError(f"line {self.text!r} mixes styles {sorted(map(str, styles))}")
        return styles.pop()

    @property
    def bold(self) -> bool:
        return self.style.bold

    @property
    def underline(self) -> int:
        return self.style.underline

    @property
    def width(self) -> int:
        return self.style.width

    @property
    def height(self) -> int:
        return self.style.height

    @property
    def kanji(self) -> bool:
        return self.style.kanji


@dataclass(frozen=True)
class Raster:
    """One printed image: dots as stored (1-bit, black = 0), ``scale`` the printer's enlargement."""

    image: Image.Image
    command: str  # "GS v 0", "GS ( L" or "ESC *"
    offset: int
    scale: tuple[int, int]  # (horizontal, vertical)
    align: Align


@dataclass
class QrCode:
    """A QR code stored with GS ( k; the settings are those in force when it was printed."""

    data: bytes
    model: int  # 1, 2, or 3 for Micro QR
    size: int  # module size in dots, 1-16
    error_level: str  # "L", "M", "Q" or "H"
    offset: int
    prints: int = 0

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")

    @property
    def printed(self) -> bool:
        return self.prints > 0


@dataclass(frozen=True)
class Cut:
    partial: bool
    feed: int  # dots fed before the cut (GS V 65/66), else 0
    offset: int


@dataclass(frozen=True)
class NonAsciiText:
    """Bytes >= 0x80 sent outside Kanji mode: they print through the single-byte code page."""

    offset: int
    raw: bytes
    code_page: int
    text: str  # as the code page prints it
    # A hint: the same bytes read as GB18030 when that gives CJK text (python-escpos sends kanji
    # that way). Half-width katakana bytes often read as GB18030 too.
    as_gb18030: str | None


class Command(NamedTuple):
    """One command (or run of text, named "text") and its bytes; together they make the stream."""

    name: str
    raw: bytes


@dataclass
class Decoded:
    lines: list[Line] = field(default_factory=list)
    rasters: list[Raster] = field(default_factory=list)
    qr_codes: list[QrCode] = field(default_factory=list)
    cuts: int = 0
    status_requests: list[int] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    non_ascii_single_byte: list[NonAsciiText] = field(default_factory=list)
    unprinted: str = ""  # text still in the line buffer at the end of the stream
    flow: list[Line | Raster | QrCode | Cut] = field(default_factory=list)  # in paper order

    @property
    def images(self) -> list[Image.Image]:
        return [raster.image for raster in self.rasters]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


# --- decoder ----------------------------------------------------------------------------------


@dataclass
class _State:
    align: Align = "left"
    bold: bool = False
    underline: int = 0
    size: tuple[int, int] = (1, 1)
    kanji_size: tuple[int, int] = (1, 1)
    kanji_underline: int = 0
    kanji_mode: bool = False
    kanji_code: str = "cp932"
    code_page: int = 0
    intl: int = 0
    qr_model: int = 2
    qr_size: int = 3
    qr_level: str = "L"


@dataclass
class _Stripe:
    image: Image.Image
    mode: int
    offset: int


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.out = Decoded()
        self.st = _State()
        self.pending: list[tuple[str, Style]] = []
        self.stripe_on_line = False  # an ESC * stripe waits for its LF
        self.stripes: list[_Stripe] = []
        self.stripes_align: Align = "left"
        self.graphics: Raster | None = None  # stored by GS ( L, not yet printed
        self.qr: QrCode | None = None

    # byte access

    def fail(self, kind: type[EscposDecodeError], reason: str, offset: int) -> EscposDecodeError:
        return kind(reason, self.data, offset)

    def take(self, n: int, start: int, name: str) -> bytes:
        if self.pos + n > len(self.data):
            missing = self.pos + n - len(self.data)
            raise self.fail(TruncatedCommand, f"{name}: stream ends {missing} bytes short", start)
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self, start: int, name: str) -> int:
        return self.take(1, start, name)[0]

    def record(self, name: str, start: int) -> None:
        self.out.commands.append(Command(name, self.data[start : self.pos]))

    # main loop

    def run(self) -> Decoded:
        while self.pos < len(self.data):
            start = self.pos
            b = self.data[start]
            if b in _PREFIXED:
                self.pos += 1
                second = self.byte(start, _PREFIX_NAMES[b])
                entry = _PREFIXED[b].get(second)
                if entry is None:
                    raise self.fail(UnknownCommand, f"unknown command {self.name_at(start)}", start)
                name, handler = entry
                if name != "ESC *":
                    self.finish_stripes()
                handler(self, start)
                self.record(name, start)
            elif b == LF:
                self.pos += 1
                self.end_line()
                self.record("LF", start)
            elif b == CR:
                self.pos += 1
                self.record("CR", start)
            elif _is_text_byte(b):
                self.finish_stripes()
                self.text(start)
                self.record("text", start)
            else:
                raise self.fail(UnknownCommand, f"unknown control byte {b:#04x}", start)
        self.finish_stripes()
        self.out.unprinted = "".join(char for char, _ in self.pending)
        return self.out

    def name_at(self, start: int) -> str:
        first, second = self.data[start], self.data[start + 1]
        shown = chr(second) if 0x21 <= second <= 0x7E else f"{second:#04x}"
        return f"{_PREFIX_NAMES[first]} {shown}"

    # lines

    def style(self, *, two_byte: bool = False) -> Style:
        width, height = self.st.kanji_size if two_byte else self.st.size
        underline = self.st.kanji_underline if two_byte else self.st.underline
        return Style(self.st.bold, underline, width, height, self.st.kanji_mode)

    def end_line(self, *, blank: bool = True) -> None:
        """Print the line buffer (LF prints a blank line when it is empty, ESC d / J do not)."""
        if self.stripe_on_line:
            self.stripe_on_line = False
            return
        if not self.pending and not blank:
            return
        runs: list[Run] = []
        for char, style in self.pending or [("", self.style())]:
            if runs and runs[-1].style == style:
                runs[-1] = Run(runs[-1].text + char, style)
            else:
                runs.append(Run(char, style))
        line = Line(tuple(runs), self.st.align)
        self.out.lines.append(line)
        self.out.flow.append(line)
        self.pending = []

    def at_line_start(self, start: int, what: str) -> None:
        if self.pending or self.stripe_on_line:
            buffered = "".join(char for char, _ in self.pending) or "a bit image"
            raise self.fail(
                InvalidCommand,
                f"{what} with {buffered!r} in the line buffer (the printer would not do it)",
                start,
            )

    # text

    def text(self, start: int) -> None:
        if self.stripe_on_line:
            raise self.fail(InvalidCommand, "text on the same line as an ESC * image", start)
        if self.st.kanji_mode:
            self.kanji_text(start)
        else:
            self.single_byte_text(start)

    def single_char(self, b: int) -> str:
        if b == HT:
            return "\t"
        if b < 0x80:
            return "¥" if b == 0x5C and self.st.intl == _JAPAN else chr(b)
        if self.st.code_page == _KATAKANA_PAGE:
            return chr(0xFF61 + b - 0xA1) if 0xA1 <= b <= 0xDF else "\ufffd"
        codec = _CODE_PAGES.get(self.st.code_page)
        return bytes([b]).decode(codec) if codec else "\ufffd"

    def single_byte_text(self, start: int) -> None:
        data, style = self.data, self.style()
        while self.pos < len(data) and _is_text_byte(data[self.pos]):
            self.pending.append((self.single_char(data[self.pos]), style))
            self.pos += 1
        i = start
        while i < self.pos:  # report each run of bytes >= 0x80
            if data[i] < 0x80:
                i += 1
                continue
            j = i
            while j < self.pos and data[j] >= 0x80:
                j += 1
            raw = data[i:j]
            self.out.non_ascii_single_byte.append(
                NonAsciiText(
                    offset=i,
                    raw=raw,
                    code_page=self.st.code_page,
                    text="".join(map(self.single_char, raw)),
                    as_gb18030=_gb18030(raw),
                )
            )
            i = j

    def kanji_text(self, start: int) -> None:
        data, code = self.data, self.st.kanji_code
        while self.pos < len(data) and _is_text_byte(data[self.pos]):
            at, b = self.pos, data[self.pos]
            if code == "jis":
                pair = self.take(2, at, "JIS kanji")
                if not all(0x21 <= c <= 0x7E for c in pair):
                    raise self.fail(UnknownCommand, "not a JIS kanji (two bytes 21-7e)", at)
                char = _decode_or_none(bytes(c | 0x80 for c in pair), "euc_jp")
            elif b == HT or 0x20 <= b <= 0x7E or 0xA1 <= b <= 0xDF:
                self.pos += 1
                char = self.single_char(b) if b < 0x80 else bytes([b]).decode("cp932")
                self.pending.append((char, self.style()))
                continue
            elif 0x81 <= b <= 0x9F or 0xE0 <= b <= 0xFC:
                char = _decode_or_none(self.take(2, at, "Shift_JIS kanji"), code)
            else:
                char = None
            if char is None:
                raise self.fail(UnknownCommand, f"not {code} text in Kanji mode", at)
            self.pending.append((char, self.style(two_byte=True)))

    # images

    def add_raster(self, raster: Raster) -> None:
        self.out.rasters.append(raster)
        self.out.flow.append(raster)

    def finish_stripes(self) -> None:
        """Join the ESC * stripes sent so far into one image."""
        if not self.stripes:
            return
        first = self.stripes[0]
        width = first.image.width
        image = Image.new("1", (width, sum(s.image.height for s in self.stripes)), 1)
        y = 0
        for stripe in self.stripes:
            image.paste(stripe.image, (0, y))
            y += stripe.image.height
        scale = ((1 if first.mode & 1 else 2), (1 if first.mode & 32 else 3))
        self.add_raster(Raster(image, "ESC *", first.offset, scale, self.stripes_align))
        self.stripes = []


def _is_text_byte(b: int) -> bool:
    return b == HT or 0x20 <= b <= 0x7E or b >= 0x80


def _decode_or_none(raw: bytes, codec: str) -> str | None:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        return None


def _gb18030(raw: bytes) -> str | None:
    text = _decode_or_none(raw, "gb18030")
    return text if text and any(ord(c) >= 0x2E80 for c in text) else None


def _bitmap(width: int, height: int, data: bytes) -> Image.Image:
    """A 1-bit image from raster data (rows of bytes, MSB left, 1 = black)."""
    return Image.frombytes("1", (width, height), data.translate(_INVERT))


# --- command handlers: each reads its parameters after the two command bytes ----------------

Handler = Callable[[_Decoder, int], None]


def _param(d: _Decoder, start: int, name: str, allowed: Container[int] | None = None) -> int:
    n = d.byte(start, name)
    if allowed is not None and n not in allowed:
        raise d.fail(InvalidCommand, f"{name} {n} is out of range", start)
    return n


def _esc_init(d: _Decoder, start: int) -> None:
    d.at_line_start(start, "ESC @ (initialise)")
    d.st = _State()
    d.graphics = None
    d.qr = None


def _esc_print_mode(d: _Decoder, start: int) -> None:
    n = _param(d, start, "ESC !")
    d.st.bold = bool(n & 0x08)
    d.st.size = (2 if n & 0x20 else 1, 2 if n & 0x10 else 1)
    d.st.underline = 1 if n & 0x80 else 0


def _esc_bold(d: _Decoder, start: int) -> None:
    d.st.bold = bool(_param(d, start, "ESC E") & 1)


def _esc_underline(d: _Decoder, start: int) -> None:
    d.st.underline = _param(d, start, "ESC -", {0, 1, 2, 48, 49, 50}) % 48


def _esc_align(d: _Decoder, start: int) -> None:
    n = _param(d, start, "ESC a", {0, 1, 2, 48, 49, 50}) % 48
    if _ALIGN[n] != d.st.align:
        d.at_line_start(start, "ESC a (align)")
    d.st.align = _ALIGN[n]


def _esc_feed(d: _Decoder, start: int) -> None:
    _param(d, start, "ESC d / ESC J")
    d.end_line(blank=False)


def _esc_code_page(d: _Decoder, start: int) -> None:
    d.st.code_page = _param(d, start, "ESC t")


def _esc_intl(d: _Decoder, start: int) -> None:
    d.st.intl = _param(d, start, "ESC R (only 0 USA and 8 Japan are modelled)", {0, _JAPAN})


def _esc_font(d: _Decoder, start: int) -> None:
    _param(d, start, "ESC M", {0, 1, 2, 48, 49, 50})


def _esc_line_spacing(d: _Decoder, start: int) -> None:
    _param(d, start, "ESC 3")


def _nothing(d: _Decoder, start: int) -> None:
    pass


def _esc_bit_image(d: _Decoder, start: int) -> None:
    mode = _param(d, start, "ESC * mode", {0, 1, 32, 33})
    low, high = d.take(2, start, "ESC *")
    columns = low + 256 * high
    if columns == 0:
        raise d.fail(InvalidCommand, "ESC * with no columns", start)
    depth = 3 if mode & 32 else 1  # bytes per column
    data = d.take(columns * depth, start, "ESC * data")
    if d.pending or d.stripe_on_line:
        raise d.fail(InvalidCommand, "ESC * image on a line that already holds something", start)
    # Each column is a row of the transposed image: MSB = top dot.
    stripe = _bitmap(8 * depth, columns, data).transpose(Image.Transpose.TRANSPOSE)
    previous = d.stripes[-1] if d.stripes else None
    if previous and (previous.mode != mode or previous.image.width != columns):
        d.finish_stripes()
    if not d.stripes:
        d.stripes_align = d.st.align
    d.stripes.append(_Stripe(stripe, mode, start))
    d.stripe_on_line = True


def _gs_size(d: _Decoder, start: int) -> None:
    n = _param(d, start, "GS !")
    if n & 0x88:
        raise d.fail(InvalidCommand, f"GS ! {n:#04x}: sizes go up to 8", start)
    d.st.size = d.st.kanji_size = ((n >> 4) + 1, (n & 7) + 1)


def _gs_cut(d: _Decoder, start: int) -> None:
    m = _param(d, start, "GS V", {0, 1, 48, 49, 65, 66})
    feed = d.byte(start, "GS V") if m in (65, 66) else 0
    d.at_line_start(start, "GS V (cut)")
    d.out.cuts += 1
    d.out.flow.append(Cut(partial=m in (1, 49, 66), feed=feed, offset=start))


def _gs_raster(d: _Decoder, start: int) -> None:
    if d.byte(start, "GS v 0") != 0x30:
        raise d.fail(UnknownCommand, "GS v other than GS v 0", start)
    m = _param(d, start, "GS v 0 mode", {0, 1, 2, 3, 48, 49, 50, 51}) % 48
    xl, xh, yl, yh = d.take(4, start, "GS v 0")
    width_bytes, height = xl + 256 * xh, yl + 256 * yh
    if not width_bytes or not height:
        raise d.fail(InvalidCommand, "GS v 0 with an empty image", start)
    data = d.take(width_bytes * height, start, "GS v 0 data")
    d.at_line_start(start, "GS v 0 (raster image)")
    image = _bitmap(8 * width_bytes, height, data)
    d.add_raster(Raster(image, "GS v 0", start, (1 + (m & 1), 1 + (m >> 1)), d.st.align))


def _gs_paren(d: _Decoder, start: int) -> None:
    kind = d.byte(start, "GS (")
    low, high = d.take(2, start, "GS (")
    body = d.take(low + 256 * high, start, "GS ( data")
    if kind == ord("L"):
        _graphics(d, start, body)
    elif kind == ord("k"):
        _qr(d, start, body)
    else:
        raise d.fail(UnknownCommand, f"GS ( {chr(kind)!r} is not covered", start)


def _graphics(d: _Decoder, start: int, body: bytes) -> None:
    if len(body) < 2 or body[0] != 48:
        raise d.fail(InvalidCommand, "GS ( L needs m = 48 and a function", start)
    fn = body[1]
    if fn == 112:
        if len(body) < 10:
            raise d.fail(InvalidCommand, "GS ( L function 112 header is short", start)
        tone, bx, by, color = body[2:6]
        width, height = body[6] + 256 * body[7], body[8] + 256 * body[9]
        if tone != 48 or color != 49 or bx not in (1, 2) or by not in (1, 2):
            raise d.fail(UnknownCommand, "GS ( L graphics that are not plain monochrome", start)
        if not width or not height or len(body) - 10 != (width + 7) // 8 * height:
            raise d.fail(InvalidCommand, "GS ( L data length does not match its size", start)
        image = _bitmap((width + 7) // 8 * 8, height, body[10:]).crop((0, 0, width, height))
        d.graphics = Raster(image, "GS ( L", start, (bx, by), d.st.align)
    elif fn in (2, 50):
        d.at_line_start(start, "GS ( L print")
        if d.graphics is None:
            raise d.fail(InvalidCommand, "GS ( L print with no graphics stored", start)
        d.add_raster(dataclasses.replace(d.graphics, align=d.st.align))
        d.graphics = None
    else:
        raise d.fail(UnknownCommand, f"GS ( L function {fn} is not covered", start)


def _qr(d: _Decoder, start: int, body: bytes) -> None:
    if len(body) < 3 or body[0] != 49:
        raise d.fail(UnknownCommand, "GS ( k for a 2D code other than QR (cn 49)", start)
    fn, args = body[1], body[2:]

    def arg(allowed: Container[int]) -> int:
        if len(args) != 1 or args[0] not in allowed:
            raise d.fail(InvalidCommand, f"GS ( k function {fn} parameter {args.hex()}", start)
        return args[0]

    if fn == 65:  # model: n1 n2
        if len(args) != 2 or args[0] not in _QR_MODELS or args[1] != 0:
            raise d.fail(InvalidCommand, f"GS ( k model parameters {args.hex()}", start)
        d.st.qr_model = _QR_MODELS[args[0]]
    elif fn == 67:
        d.st.qr_size = arg(range(1, 17))
    elif fn == 69:
        d.st.qr_level = _QR_LEVELS[arg(_QR_LEVELS)]
    elif fn == 80:
        if args[:1] != b"0" or len(args) < 2:
            raise d.fail(InvalidCommand, "GS ( k store needs m = 48 and data", start)
        d.qr = QrCode(args[1:], d.st.qr_model, d.st.qr_size, d.st.qr_level, start)
        d.out.qr_codes.append(d.qr)
    elif fn in (81, 82):  # print, or ask for the symbol size
        arg({48})
        if fn == 81:
            d.at_line_start(start, "GS ( k print")
            if d.qr is None:
                raise d.fail(InvalidCommand, "GS ( k print with no data stored", start)
            d.qr.model, d.qr.size, d.qr.error_level = d.st.qr_model, d.st.qr_size, d.st.qr_level
            d.qr.prints += 1
            d.out.flow.append(d.qr)
    else:
        raise d.fail(UnknownCommand, f"GS ( k function {fn} is not covered", start)


def _fs_kanji_on(d: _Decoder, start: int) -> None:
    d.st.kanji_mode = True


def _fs_kanji_off(d: _Decoder, start: int) -> None:
    d.st.kanji_mode = False


def _fs_code_system(d: _Decoder, start: int) -> None:
    d.st.kanji_code = _KANJI_CODES[_param(d, start, "FS C", {0, 1, 2, 48, 49, 50}) % 48]


def _fs_print_mode(d: _Decoder, start: int) -> None:
    n = _param(d, start, "FS !")
    d.st.kanji_size = (2 if n & 0x04 else 1, 2 if n & 0x08 else 1)
    d.st.kanji_underline = 1 if n & 0x80 else 0


def _fs_underline(d: _Decoder, start: int) -> None:
    d.st.kanji_underline = _param(d, start, "FS -", {0, 1, 2, 48, 49, 50}) % 48


def _fs_quadruple(d: _Decoder, start: int) -> None:
    d.st.kanji_size = (2, 2) if _param(d, start, "FS W") & 1 else (1, 1)


def _dle_status(d: _Decoder, start: int) -> None:
    d.out.status_requests.append(_param(d, start, "DLE EOT", range(1, 5)))


_PREFIX_NAMES = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE"}
_PREFIXED: dict[int, dict[int, tuple[str, Handler]]] = {
    ESC: {
        ord("@"): ("ESC @", _esc_init),
        ord("!"): ("ESC !", _esc_print_mode),
        ord("E"): ("ESC E", _esc_bold),
        ord("-"): ("ESC -", _esc_underline),
        ord("a"): ("ESC a", _esc_align),
        ord("d"): ("ESC d", _esc_feed),
        ord("J"): ("ESC J", _esc_feed),
        ord("t"): ("ESC t", _esc_code_page),
        ord("R"): ("ESC R", _esc_intl),
        ord("M"): ("ESC M", _esc_font),
        ord("2"): ("ESC 2", _nothing),
        ord("3"): ("ESC 3", _esc_line_spacing),
        ord("*"): ("ESC *", _esc_bit_image),
    },
    GS: {
        ord("!"): ("GS !", _gs_size),
        ord("V"): ("GS V", _gs_cut),
        ord("v"): ("GS v 0", _gs_raster),
        ord("("): ("GS (", _gs_paren),
    },
    FS: {
        ord("&"): ("FS &", _fs_kanji_on),
        ord("."): ("FS .", _fs_kanji_off),
        ord("C"): ("FS C", _fs_code_system),
        ord("!"): ("FS !", _fs_print_mode),
        ord("-"): ("FS -", _fs_underline),
        ord("W"): ("FS W", _fs_quadruple),
    },
    DLE: {0x04: ("DLE EOT", _dle_status)},
}


# --- public API -------------------------------------------------------------------------------


def decode(data: bytes) -> Decoded:
    """Decode a whole ESC/POS stream; raise EscposDecodeError at the first byte not understood."""
    return _Decoder(bytes(data)).run()


def image_of(decoded: Decoded, paper_width: int | None = None) -> Image.Image:
    """The raster images stacked top to bottom, enlarged as printed (mode "1", black = 0).

    With ``paper_width`` (dots) each image is placed by its alignment, else at the left edge.
    Text and native QR codes are not drawn.
    """
    if not decoded.rasters:
        raise ValueError("the stream holds no raster image")
    images = [
        r.image.resize(
            (r.image.width * r.scale[0], r.image.height * r.scale[1]), Image.Resampling.NEAREST
        )
        for r in decoded.rasters
    ]
    width = paper_width or max(image.width for image in images)
    paper = Image.new("1", (width, sum(image.height for image in images)), 1)
    y = 0
    for raster, image in zip(decoded.rasters, images, strict=True):
        free = max(0, width - image.width) if paper_width else 0
        x = {"left": 0, "center": free // 2, "right": free}[raster.align]
        paper.paste(image, (x, y))
        y += image.height
    return paper
