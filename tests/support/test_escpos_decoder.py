"""The ESC/POS decoder the printer tests rely on, checked against python-escpos's own output."""

from __future__ import annotations

import pytest
import qrcode
from escpos.constants import QR_ECLEVEL_M, RT_STATUS_ONLINE, RT_STATUS_PAPER
from escpos.printer import Dummy
from PIL import Image, ImageChops

from tests.support.escpos_decoder import (
    Cut,
    InvalidCommand,
    Line,
    QrCode,
    Raster,
    TruncatedCommand,
    UnknownCommand,
    decode,
    image_of,
)

ESC_AT = b"\x1b@"
KANJI_ON, KANJI_OFF = b"\x1c&", b"\x1c."


def printer() -> Dummy:
    # A profile with a known paper width, so that image() does not print a warning.
    return Dummy(profile="TM-T88V")


def sjis(text: str) -> bytes:
    return text.encode("cp932")


def pattern(width: int, height: int) -> Image.Image:
    """A 1-bit image with an irregular pattern (black = 0), so that any shift shows."""
    image = Image.new("1", (width, height), 1)
    for x in range(width):
        for y in range(height):
            if x == y or (3 * x + 7 * y) % 11 == 0:
                image.putpixel((x, y), 0)
    return image


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and not ImageChops.difference(a.convert("L"), b.convert("L")).getbbox()


def all_white(image: Image.Image) -> bool:
    return image.convert("L").getextrema() == (255, 255)


def test_text_and_attributes_from_python_escpos() -> None:
    p = printer()
    p.hw("INIT")
    p.set(align="center", bold=True, double_height=True)
    p.textln("Mynapoint")
    p.set(align="left", bold=False, normal_textsize=True, underline=1)
    p.textln("R-0001")
    p.set(custom_size=True, width=3, height=2, underline=0)
    p.textln("12")
    p.ln()
    p.cut()

    decoded = decode(p.output)

    assert [line.text for line in decoded.lines] == ["Mynapoint", "R-0001", "12", ""]
    title, number, big, blank = decoded.lines
    assert (title.align, title.bold, title.width, title.height) == ("center", True, 1, 2)
    assert (number.align, number.bold, number.underline, number.height) == ("left", False, 1, 1)
    assert (big.width, big.height, big.kanji) == (3, 2, False)
    assert blank.runs[0].text == ""
    assert decoded.cuts == 1
    assert decoded.flow[-1] == Cut(partial=False, feed=0, offset=len(p.output) - 3)
    assert decoded.non_ascii_single_byte == []
    assert decoded.unprinted == ""
    # The commands split the whole stream, in order.
    assert b"".join(raw for _, raw in decoded.commands) == p.output
    assert [name for name, _ in decoded.commands][:4] == ["ESC @", "ESC !", "ESC !", "ESC !"]
    assert [name for name, _ in decoded.commands][-2:] == ["ESC d", "GS V"]


def test_feeds_and_unprinted_text() -> None:
    decoded = decode(b"a\n\nb\x1bd\x03\x1bJ\x10c")
    assert [line.text for line in decoded.lines] == ["a", "", "b"]  # ESC d/J add no blank lines
    assert decoded.unprinted == "c"


@pytest.mark.parametrize("impl", ["bitImageRaster", "graphics", "bitImageColumn"])
@pytest.mark.parametrize("width", [24, 10])
def test_image_pixel_for_pixel(impl: str, width: int) -> None:
    original = pattern(width, 30)
    p = printer()
    p.image(original, impl=impl)

    decoded = decode(p.output)

    (raster,) = decoded.rasters
    assert raster.command == {"bitImageRaster": "GS v 0", "graphics": "GS ( L"}.get(impl, "ESC *")
    assert raster.scale == (1, 1)
    image = raster.image
    assert image.mode == "1"
    assert same_pixels(image.crop((0, 0, width, 30)), original)
    # GS v 0 pads rows to whole bytes, ESC * pads to whole 24-dot stripes: with white.
    padded = {"bitImageRaster": (-(-width // 8) * 8, 30), "graphics": (width, 30)}
    assert image.size == padded.get(impl, (width, 48))
    if image.width > width:
        assert all_white(image.crop((width, 0, *image.size)))
    if image.height > 30:
        assert all_white(image.crop((0, 30, *image.size)))
    assert decoded.lines == []  # the LFs after ESC * stripes are not text lines
    assert decoded.images == [image]


@pytest.mark.parametrize(
    ("impl", "scale"),
    [("bitImageRaster", (2, 2)), ("graphics", (2, 2)), ("bitImageColumn", (2, 3))],
)
def test_low_density_images_are_enlarged(impl: str, scale: tuple[int, int]) -> None:
    p = printer()
    p.image(pattern(16, 24), impl=impl, high_density_vertical=False, high_density_horizontal=False)

    (raster,) = decode(p.output).rasters

    assert raster.scale == scale
    paper = image_of(decode(p.output))
    assert paper.size == (raster.image.width * scale[0], raster.image.height * scale[1])


def test_image_of_stacks_images_by_alignment() -> None:
    p = printer()
    p.image(pattern(16, 8))
    p.set(align="center")
    p.image(pattern(8, 4))

    decoded = decode(p.output)
    paper = image_of(decoded, paper_width=32)

    assert paper.size == (32, 12)
    assert same_pixels(paper.crop((0, 0, 16, 8)), pattern(16, 8))
    assert same_pixels(paper.crop((12, 8, 20, 12)), pattern(8, 4))
    assert all_white(paper.crop((16, 0, 32, 8)))
    assert [r.align for r in decoded.rasters] == ["left", "center"]
    assert image_of(decoded).size == (16, 12)
    with pytest.raises(ValueError, match="no raster"):
        image_of(decode(b"x\n"))


def test_native_qr_code() -> None:
    p = printer()
    p.qr("R-TEST", native=True, size=4, ec=QR_ECLEVEL_M)

    decoded = decode(p.output)

    store_at = p.output.index(b"1P0") - 5  # GS ( k pL pH, then cn fn m
    assert decoded.qr_codes == [QrCode(b"R-TEST", 2, 4, "M", offset=store_at, prints=1)]
    assert decoded.qr_codes[0].text == "R-TEST"
    assert [name for name, _ in decoded.commands] == ["GS ("] * 5
    assert isinstance(decoded.flow[0], QrCode)


def test_qr_code_stored_but_not_printed() -> None:
    store = b"\x1d(k\x05\x001P0AB"
    (qr,) = decode(store).qr_codes
    assert (qr.data, qr.printed, qr.model, qr.size, qr.error_level) == (b"AB", False, 2, 3, "L")


def test_qr_code_as_image_matches_the_qrcode_library() -> None:
    p = printer()
    p.qr("R-TEST")  # python-escpos draws it with qrcode: box 3, border 1, level L

    decoded = decode(p.output)

    assert decoded.qr_codes == []
    code = qrcode.QRCode(box_size=3, border=1, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data("R-TEST")
    expected = code.make_image().get_image().convert("1")
    (image,) = decoded.images
    assert same_pixels(image.crop((0, 0, *expected.size)), expected)


def test_kanji_mode_text() -> None:
    data = (
        ESC_AT
        + b"\x1cC\x01"  # Shift_JIS
        + b"\x1ba\x01"  # centre
        + b"\x1c!\x0c"  # Kanji double width and height
        + KANJI_ON
        + sjis("受付番号")
        + KANJI_OFF
        + b"\n"
        + b"\x1ba\x00"
        + KANJI_ON
        + sjis("番号：")
        + KANJI_OFF
        + b"A-12\n"
        + KANJI_ON
        + sjis("ｳｹﾂｹ")  # half-width katakana, one byte each in Kanji mode
        + KANJI_OFF
        + b"\n"
    )

    decoded = decode(data)

    title, number, kana = decoded.lines
    assert title.align == "center"
    assert (title.text, title.kanji, title.width, title.height) == ("受付番号", True, 2, 2)
    assert number.text == "番号：A-12"
    assert [(run.text, run.style.kanji, run.style.width) for run in number.runs] == [
        ("番号：", True, 2),
        ("A-12", False, 1),
    ]
    with pytest.raises(ValueError, match="mixes styles"):
        _ = number.width
    assert kana.text == "ｳｹﾂｹ"
    assert (kana.kanji, kana.width) == (True, 1)  # single-byte characters keep their own size
    assert decoded.non_ascii_single_byte == []


def test_kanji_mode_defaults_to_shift_jis() -> None:
    decoded = decode(b"\x1c&" + "受付番号".encode("cp932") + b"\x1c.\n")
    (line,) = decoded.lines
    assert (line.text, line.kanji, line.bold) == ("受付番号", True, False)
    assert (line.width, line.height) == (1, 1)
    assert [name for name, _ in decoded.commands] == ["FS &", "text", "FS .", "LF"]


def test_gs_size_applies_to_kanji_and_esc_size_does_not() -> None:
    data = b"\x1d!\x11" + KANJI_ON + sjis("受") + KANJI_OFF + b"\x1b!\x00" + KANJI_ON + sjis("付\n")
    (line,) = decode(data).lines
    assert line.text == "受付"
    assert line.width == line.height == 2


def test_kanji_jis_code_system() -> None:
    jis = bytes(b & 0x7F for b in "受付".encode("euc_jp"))
    (line,) = decode(b"\x1cC\x00" + KANJI_ON + jis + KANJI_OFF + b"\n").lines
    assert line.text == "受付"


def test_japan_international_set_prints_yen() -> None:
    assert decode(b"\x1bR\x08\\100\n").lines[0].text == "¥100"


def test_python_escpos_kanji_sent_as_gb18030_is_flagged() -> None:
    p = printer()
    p.textln("受付")

    decoded = decode(p.output)

    (flag,) = decoded.non_ascii_single_byte
    assert flag.raw == "受付".encode("gb18030")
    assert flag.as_gb18030 == "受付"
    assert flag.offset == 0
    assert decoded.lines[0].text != "受付"  # the printer shows code page 437 garbage
    assert decoded.lines[0].kanji is False


def test_code_page_text_is_flagged_too() -> None:
    p = printer()
    p.textln("café ｳｹ")

    flags = decode(p.output).non_ascii_single_byte

    assert [(f.text, f.code_page) for f in flags] == [("é", 0), ("ｳｹ", 1)]
    assert decode(p.output).lines[0].text == "café ｳｹ"


def test_status_requests() -> None:
    decoded = decode(RT_STATUS_ONLINE + b"ok\n" + RT_STATUS_PAPER)
    assert decoded.status_requests == [1, 4]
    assert [name for name, _ in decoded.commands] == ["DLE EOT", "text", "LF", "DLE EOT"]


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (ESC_AT + b"\x1b\x7f", 2),  # unknown ESC command
        (b"abc\x00", 3),  # NUL
        (b"ab\x7f", 2),  # DEL is not text
        (b"\x1d(k\x03\x000A\x00", 0),  # PDF417, not QR
        (b"\x1d(L\x02\x000\x30", 0),  # graphics function 48
        (b"\x1d\x76\x31", 0),  # GS v 1
        (KANJI_ON + b"\xa0", 2),  # not a Shift_JIS byte
        (KANJI_ON + b"\x88\x0a", 2),  # a lead byte without its trail byte
    ],
)
def test_unknown_bytes_raise(data: bytes, offset: int) -> None:
    with pytest.raises(UnknownCommand) as caught:
        decode(data)
    assert caught.value.offset == offset
    assert f"[{data[offset]:02x}]" in caught.value.dump
    assert f"offset {offset}" in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        b"\x1b",
        b"\x1ba",
        b"\x1dv0\x00\x02\x00\x02\x00\xff\xff\xff",  # 4 data bytes announced, 3 sent
        b"\x1d(k\x05\x001P0",
        KANJI_ON + b"\x81",  # half a kanji
    ],
)
def test_truncated_commands_raise(data: bytes) -> None:
    with pytest.raises(TruncatedCommand):
        decode(data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x1ba\x07", "out of range"),
        (b"\x1d!\x88", "up to 8"),
        (b"text\x1dV\x00", "line buffer"),  # a cut mid-line is ignored by the printer
        (b"text\x1ba\x01", "line buffer"),  # so is a change of alignment
        (b"text\x1b@", "line buffer"),  # ESC @ would throw the text away
        (b"x\x1dv0\x00\x01\x00\x01\x00\xff", "line buffer"),
        (b"\x1d(k\x03\x001Q0", "no data stored"),
        (b"\x1d(L\x02\x0002", "no graphics stored"),
        (b"\x1bR\x02", "out of range"),
    ],
)
def test_invalid_commands_raise(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidCommand, match=reason):
        decode(data)


def test_flow_keeps_paper_order() -> None:
    p = printer()
    p.textln("top")
    p.image(pattern(8, 2))
    p.qr("Q", native=True)
    p.cut()

    kinds = [type(item) for item in decode(p.output).flow]

    assert kinds == [Line, Raster, QrCode, Cut]
