"""The point voucher (``receipts/voucher.py``), read back as a citizen, a shop's staff and a
shop's scanner would: OCR (tesseract, Japanese) of the raster image, its QR code decoded by
zbarimg and verified against the signing key, its Kanji-mode bytes decoded. The readers
are those of ``test_slip.py``."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import qrcode
from cryptography.hazmat.primitives.asymmetric import ed25519
from PIL import ImageOps
from pydantic import ValidationError
from qrcode.constants import ERROR_CORRECT_M
from stdnum import damm

from mynapoint import vouchers
from mynapoint.vouchers import VoucherCodeInvalid, VoucherFace
from receipts import raster
from receipts.escpos_output import kanji_bytes
from receipts.layout import Qr, Style, Text
from receipts.layout import layout as slip_layout
from receipts.messages import MESSAGES, text
from receipts.model import Language
from receipts.render import voucher_bytes, voucher_image
from receipts.sample import sample_slip
from receipts.voucher import RULES, VoucherSlip, layout
from tests.receipts.test_slip import needs_tools, ocr, qr_codes, read_back, squeeze
from tests.support.escpos_decoder import Decoded, decode

NOW = dt.datetime(2026, 12, 10, 5, 30, tzinfo=dt.UTC)  # 14:30 JST
EXPIRES_ON = dt.date(2027, 1, 15)
NUMBER = "123456789012345" + damm.calc_check_digit("123456789012345")
CHIYODA = {"code": "131016", "ja": "千代田区", "en": "Chiyoda City"}


def face(*, points: int = 500, number: str = NUMBER) -> VoucherFace:
    return VoucherFace(number, CHIYODA["code"], points, EXPIRES_ON)


def voucher_slip(
    key: ed25519.Ed25519PrivateKey,
    *,
    language: Language = "ja",
    points: int = 500,
    name_ja: str = CHIYODA["ja"],
    **changes: object,
) -> VoucherSlip:
    """A voucher of 500 points of Chiyoda, as the service issued it: its code signed by ``key``."""
    fields = fields_of(key, language=language, points=points, name_ja=name_ja)
    return VoucherSlip.model_validate(fields | changes)


def fields_of(
    key: ed25519.Ed25519PrivateKey,
    *,
    language: Language = "ja",
    points: int = 500,
    name_ja: str = CHIYODA["ja"],
) -> dict[str, object]:
    return {
        "language": language,
        "issued_at": NOW,
        "store_name": "千代田区役所 1階",
        "kiosk_id": "kiosk-0001",
        "municipality_code": CHIYODA["code"],
        "municipality_name_ja": name_ja,
        "municipality_name_en": CHIYODA["en"],
        "points": points,
        "number": NUMBER,
        "expires_on": EXPIRES_ON,
        "code": vouchers.encode(face(points=points), key),
    }


def texts(voucher: VoucherSlip) -> list[str]:
    return [block.text for block in layout(voucher) if isinstance(block, Text)]


# --- read back from paper -----------------------------------------------------------------

# What the voucher is worth and where and until when: read back exactly, character for
# character (a misread 500 is another voucher). Its labels and rules: allowing for a
# misread character or two, as ``read_back`` does.
FACE_JA = ["千代田区 自治体ポイント", "500ポイント", "2027年1月15日まで", vouchers.grouped(NUMBER)]
FACE_EN = ["Chiyoda City municipal points", "500 points", "15 January 2027"]
WORDS_JA = [
    "ポイント券",
    "有効期限",
    "千代田区でのみご利用いただけます。",
    "おつりは出ません",
    "現金との交換はできません。",
]
WORDS_EN = ["Point voucher", "Valid until", "It can be used only in Chiyoda City."]


@needs_tools
@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "paper", "large"),
    [("ja", 80, True), ("ja", 58, False), ("en", 80, False), ("en", 58, True)],
)
def test_the_voucher_reads_back_with_municipality_points_number_and_expiry(
    tmp_path: Path, language: Language, paper: int, large: bool
) -> None:
    voucher = voucher_slip(ed25519.Ed25519PrivateKey.generate(), language=language)
    path = tmp_path / "voucher.png"
    voucher_image(voucher, paper_mm=paper, large=large).save(path)
    read = ocr(path, language)

    english = language == "en"
    face_lines = FACE_JA + (FACE_EN if english else [])
    misread = [line for line in face_lines if squeeze(line) not in read]
    assert not misread, f"not read back exactly: {misread}\n{read}"
    words = WORDS_JA + (WORDS_EN if english else [])
    missing = [line for line in words if not read_back(line, read)]
    assert not missing, f"not read back: {missing}\n{read}"
    assert read_back("Point voucher", read) == english


@needs_tools
@pytest.mark.parametrize(("paper", "large"), [(80, False), (80, True), (58, False), (58, True)])
def test_the_qr_code_is_the_signed_code_and_a_shop_verifies_it_offline(
    tmp_path: Path, paper: int, large: bool
) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    voucher = voucher_slip(key, language="en")
    path = tmp_path / "voucher.png"
    voucher_image(voucher, paper_mm=paper, large=large).save(path)

    assert qr_codes(path) == [voucher.code]
    assert vouchers.verify(qr_codes(path)[0], key.public_key()) == face()
    # Signed by the service's key, not by just any key.
    with pytest.raises(VoucherCodeInvalid):
        vouchers.verify(voucher.code, ed25519.Ed25519PrivateKey.generate().public_key())


def modules_across(payload: str) -> int:
    """The modules across ``payload``'s QR code (ECC level M), without its quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    code.make(fit=True)
    return int(code.modules_count)


@pytest.mark.parametrize(("paper", "large"), [(80, False), (80, True), (58, False), (58, True)])
def test_the_qr_code_and_its_quiet_zone_fit_the_paper(paper: int, large: bool) -> None:
    """The signed code is long (53 modules across): in large type on 58 mm paper its modules
    are made smaller, so that neither the code nor its quiet zone (4 modules each side) is
    cut off at the paper's edge, in the image and in Kanji mode (the printer's own QR)."""
    voucher = voucher_slip(ed25519.Ed25519PrivateKey.generate())
    across = modules_across(voucher.code)
    image = raster.render([Qr(voucher.code)], paper_mm=paper, large=large)
    left, _top, right, _bottom = ImageOps.invert(image.convert("L")).getbbox() or (0, 0, 0, 0)
    module = (right - left) / across
    assert module >= raster.SMALLEST_MODULE and module == int(module)
    assert left >= raster.MARGIN + 4 * module
    assert right <= image.width - raster.MARGIN - 4 * module
    [printed_qr] = decode(kanji_bytes([Qr(voucher.code)], paper_mm=paper, large=large)).qr_codes
    assert (across + 8) * printed_qr.size <= raster.DOTS_ACROSS[paper]
    # As large as fits: the module a size larger would not.
    assert (across + 8) * (printed_qr.size + 1) > raster.DOTS_ACROSS[paper] or (
        printed_qr.size == (8 if large else 6)
    )


# --- Kanji mode -----------------------------------------------------------------------------


def printed(decoded: Decoded) -> str:
    return "".join(line.text for line in decoded.lines).replace(" ", "")


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize(("paper", "large"), [(80, False), (58, True)])
def test_kanji_mode_bytes_are_made_for_both_languages(
    language: Language, paper: int, large: bool
) -> None:
    voucher = voucher_slip(ed25519.Ed25519PrivateKey.generate(), language=language)
    # kanji_bytes raises NotInShiftJis rather than fall back to the image.
    kanji_bytes(layout(voucher), paper_mm=paper, large=large)
    decoded = decode(voucher_bytes(voucher, paper_mm=paper, large=large, kanji=True))

    assert decoded.rasters == []  # text, not the image
    said = printed(decoded)
    for words in FACE_JA + WORDS_JA:
        assert words.replace(" ", "") in said, words
    for words in FACE_EN + WORDS_EN:
        assert (words.replace(" ", "") in said) == (language == "en"), words
    assert decoded.non_ascii_single_byte == []
    assert [(qr.text, qr.printed) for qr in decoded.qr_codes] == [(voucher.code, True)]
    assert decoded.cuts == 1 and decoded.unprinted == ""


def test_every_voucher_message_is_in_shift_jis() -> None:
    """Kanji mode sends Shift_JIS; the voucher's own words must all be in it."""
    keys = [key for key in MESSAGES if key.startswith("voucher.")]
    assert len(keys) >= len(RULES) + 6
    for key in keys:
        for language in ("ja", "en"):
            text(key, language, name="千代田区", points="500", date="2027年1月15日",
                 municipality="千代田区").encode("cp932")  # fmt: skip


def test_a_name_outside_shift_jis_prints_the_voucher_as_an_image(
    caplog: pytest.LogCaptureFixture,
) -> None:
    voucher = voucher_slip(ed25519.Ed25519PrivateKey.generate(), name_ja="𠮷田町")
    with caplog.at_level(logging.WARNING, logger="receipts.render"):
        decoded = decode(voucher_bytes(voucher, kanji=True))
    assert decoded.lines == [] and len(decoded.rasters) >= 1
    assert "voucher printed as an image" in caplog.text


# --- large type -----------------------------------------------------------------------------


def style_of(voucher: VoucherSlip, wanted: str) -> Style:
    [block] = [b for b in layout(voucher) if isinstance(b, Text) and b.text == wanted]
    return block.style


def test_the_points_are_as_large_as_the_slips_title_and_the_face_is_large_type() -> None:
    """At 203 dpi a point is 2.82 dots: 14 pt is 39.5 dots of type."""
    voucher = voucher_slip(ed25519.Ed25519PrivateKey.generate(), language="en")
    slip_title = slip_layout(sample_slip())[0]
    assert isinstance(slip_title, Text) and slip_title.text == "マイナポイント"
    for large in (False, True):
        sizes = raster.LARGE if large else raster.NORMAL
        for points in ("500ポイント", "500 points"):
            assert sizes.of(style_of(voucher, points)) >= sizes.of(slip_title.style), points
    for line in ["千代田区 自治体ポイント", vouchers.grouped(NUMBER), "2027年1月15日まで"]:
        assert raster.LARGE.of(style_of(voucher, line)) >= 14 * 203 / 72, line

    # Kanji mode, large: the points line's characters as tall as the slip's title.
    def heights(decoded: Decoded, line_text: str) -> list[int]:
        [line] = [line for line in decoded.lines if line.text == line_text]
        return [run.style.height for run in line.runs]

    slip_title_heights = heights(decode(kanji_bytes(slip_layout(sample_slip()), large=True)),
                                 "マイナポイント")  # fmt: skip
    voucher_lines = decode(kanji_bytes(layout(voucher), large=True))
    assert min(heights(voucher_lines, "500ポイント")) >= min(slip_title_heights)
    assert min(heights(voucher_lines, "500 points")) >= min(slip_title_heights)


# --- the layout -----------------------------------------------------------------------------


def test_the_face_says_the_points_number_and_last_day_then_the_rules_each_a_line() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    japanese = texts(voucher_slip(key))
    assert japanese[:6] == [
        "ポイント券",
        "千代田区 自治体ポイント",
        "500ポイント",
        "券番号",
        "1234 5678 9012 3450",
        "有効期限",
    ]
    assert "発行 2026年12月10日 14:30" in japanese
    assert "千代田区役所 1階 端末 kiosk-0001" in japanese
    rules = [text(key, "ja", municipality="千代田区") for key in RULES]
    assert japanese[-len(rules) :] == rules
    assert "譲渡はできません" in rules[1] and "複数枚" in rules[2] and "取り消す" in rules[4]

    english = texts(voucher_slip(key, language="en"))
    # Each Japanese line, then its English line.
    assert english[english.index("500ポイント") + 1] == "500 points"
    assert english[english.index("2027年1月15日まで") + 1] == "15 January 2027"
    assert english[-2:] == ["現金との交換はできません。", "It cannot be exchanged for cash."]
    assert english.count("1234 5678 9012 3450") == 1  # the number in no language
    one = texts(voucher_slip(key, language="en", points=1))
    assert "1 point" in one and "1 points" not in one
    [qr] = [block for block in layout(voucher_slip(key)) if isinstance(block, Qr)]
    assert qr.payload == voucher_slip(key).code


def test_a_sample_and_a_reprint_are_marked() -> None:
    voucher = voucher_slip(ed25519.Ed25519PrivateKey.generate())
    assert "【見本】" not in texts(voucher) and "（再発行）" not in texts(voucher)
    assert "【見本】" in texts(voucher.model_copy(update={"sample": True}))
    assert "（再発行）" in texts(voucher.reprinted())


# --- the model ------------------------------------------------------------------------------


def test_a_voucher_number_with_a_wrong_check_digit_is_refused() -> None:
    wrong = NUMBER[:-1] + str((int(NUMBER[-1]) + 1) % 10)
    with pytest.raises(ValidationError) as refused:
        voucher_slip(ed25519.Ed25519PrivateKey.generate(), number=wrong)
    assert [error["loc"] for error in refused.value.errors()] == [("number",)]


def test_a_voucher_holds_nothing_of_the_person() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    for field, value in [("mykey_id", "K7QM3XPA"), ("name", "山田 太郎"), ("holder", "x")]:
        with pytest.raises(ValidationError) as refused:
            VoucherSlip.model_validate(fields_of(key) | {field: value})
        assert [(e["type"], e["loc"]) for e in refused.value.errors()] == [
            ("extra_forbidden", (field,))
        ]
    # What it holds, all of it: the voucher, where and when it was printed.
    assert set(VoucherSlip.model_fields) == {
        "language", "issued_at", "store_name", "kiosk_id", "municipality_code",
        "municipality_name_ja", "municipality_name_en", "points", "number", "expires_on",
        "code", "reprint", "sample",
    }  # fmt: skip


def test_the_code_must_be_this_vouchers_and_a_signed_one() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    other = vouchers.encode(face(points=5000), key)  # signed, but another voucher's
    with pytest.raises(ValidationError, match="not this voucher's"):
        voucher_slip(key, code=other)
    with pytest.raises(ValidationError):
        voucher_slip(key, code=vouchers.grouped(NUMBER))  # not a code at all
    with pytest.raises(ValidationError):
        voucher_slip(key, points=0)
    with pytest.raises(ValidationError):
        voucher_slip(key, issued_at=NOW.replace(tzinfo=None))
