"""The kiosk's look as numbers: the high-contrast palette, contrast ratios, and sizes in px.

Pure Python (no Kivy), so the rules can be read and tested on their own. ``style.py``
turns them into Kivy properties that follow the window.

Sizes follow two rules at once (see docs/ui.md):

- type and spacing scale with the window, from a 1920x1080 reference
  (``scale = min(width / 1920, height / 1080)``);
- nothing gets smaller than a physical floor in millimetres at the panel's DPI, so the
  touch targets stay at least 20 mm wide and tall on a small, dense panel too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

REFERENCE_SIZE = (1920, 1080)
MIN_TOUCH_MM = 20.0  # the rule for every touch target, both ways
MM_PER_INCH = 25.4

# Readable blocks of text (JIS X 8341-3 / the Japanese plain-language guides for elderly
# readers): lines 1.5 times the type size apart, and a column of about 35 full-width
# characters, so the eye finds the next line.
LINE_HEIGHT = 1.5  # em, baseline to baseline
HEADING_LINE_HEIGHT = 1.25  # a heading is one or two short lines
COLUMN_CHARACTERS = 35
# "文字を大きく": the text of every screen 25 % bigger for one session. Touch targets keep
# their floor of 20 mm (they only grow with their label).
LARGER_TEXT = 1.25
# The sizes that grow with "文字を大きく": type, not spacing or touch targets.
TEXT_SIZES = ("body", "heading", "button_text", "key_text", "mark")


# --- Panels and DPI ----------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """A touchscreen the kiosk is built with: resolution and visible diagonal."""

    name: str
    size: tuple[int, int]
    diagonal_inches: float

    @property
    def dpi(self) -> float:
        width, height = self.size
        return math.hypot(width, height) / self.diagonal_inches


# The two panels the kiosk ships with. A 21.5" 1920x1080 panel is ~102.5 dpi,
# a 10.1" 1280x800 panel ~149.4 dpi.
PANELS = (
    Panel('21.5" 1920x1080 kiosk touchscreen', (1920, 1080), 21.5),
    Panel('10.1" 1280x800 tablet-size touchscreen', (1280, 800), 10.1),
)
# An unknown panel is assumed as dense as the densest one we know: a wrong guess then makes
# buttons larger than 20 mm, never smaller.
FALLBACK_DPI = max(panel.dpi for panel in PANELS)


def dpi_for(size: tuple[int, int], diagonal_inches: float | None = None) -> float:
    """The DPI of a panel showing ``size`` px: from its diagonal if given, else a known panel
    with that resolution, else ``FALLBACK_DPI``."""
    if diagonal_inches:
        return math.hypot(*size) / diagonal_inches
    for panel in PANELS:
        if tuple(size) == panel.size:
            return panel.dpi
    return FALLBACK_DPI


def mm_to_px(mm: float, dpi: float) -> int:
    """Whole pixels covering at least ``mm`` millimetres (rounded up: a floor is a floor)."""
    return math.ceil(mm * dpi / MM_PER_INCH - 1e-9)


def px_to_mm(px: float, dpi: float) -> float:
    return px * MM_PER_INCH / dpi


# --- Sizes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """Every size the widgets use, in window pixels."""

    body: int  # font size of running text, help bar, banner
    heading: int  # font size of a screen's title
    button_text: int  # font size on buttons and letter keys
    key_text: int  # font size of the PIN pad digits
    mark: int  # font size of the ● in the PIN display
    touch_min: int  # 20 mm: the smallest width and height of anything touchable
    button_height: int  # primary / secondary buttons, banner and help-bar buttons
    key_height: int  # a key of the PIN pad or the letter pad
    key_width: int  # a PIN pad key (wider than tall: easier to hit with a shaky finger)
    spacing: int  # gap between keys and between blocks
    border: int  # outline width of keys, slots and secondary buttons


# name: (px at 1920x1080, floor in mm). The px values are the minimums or above;
# the mm floors keep text readable on a small dense panel (4.5 mm ≈ 13 pt body text).
_RULES: dict[str, tuple[int, float]] = {
    "body": (36, 4.5),
    "heading": (48, 6.5),
    "button_text": (36, 5.0),
    "key_text": (48, 6.5),
    "mark": (56, 7.0),
    "touch_min": (0, MIN_TOUCH_MM),
    "button_height": (104, MIN_TOUCH_MM),
    "key_height": (104, MIN_TOUCH_MM),
    "key_width": (146, MIN_TOUCH_MM * 1.4),
    "spacing": (12, 1.5),
    "border": (3, 0.5),
}


def layout_scale(size: tuple[int, int]) -> float:
    """How much of the 1920x1080 reference layout fits in ``size``."""
    return min(size[0] / REFERENCE_SIZE[0], size[1] / REFERENCE_SIZE[1])


def sizes_for(size: tuple[int, int], dpi: float | None = None, text_scale: float = 1.0) -> Sizes:
    """The sizes for a window of ``size`` px on a panel of ``dpi`` (default: ``dpi_for``),
    with the type ``text_scale`` times its usual size (``LARGER_TEXT``)."""
    dpi = dpi or dpi_for(size)
    scale = layout_scale(size)
    values = {
        name: max(round(reference * scale), mm_to_px(floor_mm, dpi))
        for name, (reference, floor_mm) in _RULES.items()
    }
    for name in TEXT_SIZES:
        values[name] = round(values[name] * text_scale)
    return Sizes(**values)


# --- Colours -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Palette:
    """The high-contrast theme: near-black on white, one strong blue accent."""

    background: str = "#FFFFFF"
    text: str = "#111111"
    surface: str = "#EEF1F5"  # keys, the help bar
    accent: str = "#003C8F"  # primary buttons, pressed keys, secondary-button text
    accent_pressed: str = "#00275E"
    text_on_accent: str = "#FFFFFF"
    border: str = "#4D4D4D"  # key and slot outlines
    muted: str = "#4D4D4D"  # disabled key text: still readable (AAA)
    warning: str = "#FFF1C2"  # the countdown banner
    error: str = "#A4001D"


PALETTE = Palette()

AAA_TEXT = 7.0  # WCAG 1.4.6 (enhanced) for normal text
AA_TEXT = 4.5
NON_TEXT = 3.0  # WCAG 1.4.11: outlines of controls against what surrounds them

# Every foreground/background pair the widgets draw, with the ratio it must reach.
CONTRAST_PAIRS: tuple[tuple[str, str, float], ...] = (
    ("text", "background", AAA_TEXT),
    ("text", "surface", AAA_TEXT),
    ("text", "warning", AAA_TEXT),
    ("text_on_accent", "accent", AAA_TEXT),
    ("text_on_accent", "accent_pressed", AAA_TEXT),
    ("accent", "background", AAA_TEXT),  # secondary button label
    ("accent", "surface", AAA_TEXT),
    ("accent", "warning", AAA_TEXT),
    ("muted", "background", AAA_TEXT),
    ("muted", "surface", AAA_TEXT),
    ("error", "background", AAA_TEXT),
    ("error", "warning", AAA_TEXT),  # the PIN screen's last-try warning
    ("border", "background", NON_TEXT),
    ("border", "surface", NON_TEXT),
    ("border", "warning", NON_TEXT),
    ("accent", "surface", NON_TEXT),  # pressed key against its neighbours
)


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"expected #RRGGBB, got {colour!r}")
    red, green, blue = (int(value[index : index + 2], 16) for index in (0, 2, 4))
    return red, green, blue


def hex_to_rgba(colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """A Kivy colour (floats 0-1) from ``#RRGGBB``."""
    red, green, blue = hex_to_rgb(colour)
    return red / 255, green / 255, blue / 255, alpha


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in hex_to_rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours, 1.0 to 21.0, order-independent."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)


def palette_colours(palette: Palette = PALETTE) -> dict[str, str]:
    return {field.name: getattr(palette, field.name) for field in fields(palette)}
