"""``ui``: the theme's sizes, colours and font as Kivy properties that follow the window,
read by every kv rule as a global (with the process's translator in ``ui.translator``).

Call ``ui.follow_window(Window)`` once when the app starts. Importing this module
registers the kiosk font; kit and screen modules load their kv rules with ``load_kv``,
after ``ui`` is a kv global.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from kivy.event import EventDispatcher
from kivy.lang import Builder, global_idmap
from kivy.properties import (
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)

from kiosk.ui.kit import theme
from kiosk.ui.kit.fonts import FONT_NAME, font_files, register_fonts


class KioskUi(EventDispatcher):
    """The theme as Kivy properties, for kv rules (``font_size: ui.body``), plus the
    process's current translator. One instance: ``ui``."""

    translator = ObjectProperty(None, allownone=True)
    font_name = StringProperty(FONT_NAME)
    window_size = ListProperty(list(theme.REFERENCE_SIZE))
    dpi = NumericProperty(theme.dpi_for(theme.REFERENCE_SIZE))

    # theme.Sizes, in px
    body = NumericProperty(0)
    heading = NumericProperty(0)
    button_text = NumericProperty(0)
    key_text = NumericProperty(0)
    mark = NumericProperty(0)
    touch_min = NumericProperty(0)
    button_height = NumericProperty(0)
    key_height = NumericProperty(0)
    key_width = NumericProperty(0)
    spacing = NumericProperty(0)
    border = NumericProperty(0)

    # Readable text: Kivy's line_height for lines theme.LINE_HEIGHT em apart (and for a
    # heading's tighter lines), and the widest a block of text may be.
    line_height = NumericProperty(theme.LINE_HEIGHT / font_files().natural_line)
    heading_line_height = NumericProperty(theme.HEADING_LINE_HEIGHT / font_files().natural_line)
    column_width = NumericProperty(0)
    # 1.0, or theme.LARGER_TEXT while a citizen has asked for larger text.
    text_scale = NumericProperty(1.0)

    # theme.Palette, as "<name>_color"
    background_color = ColorProperty()
    text_color = ColorProperty()
    surface_color = ColorProperty()
    accent_color = ColorProperty()
    accent_pressed_color = ColorProperty()
    text_on_accent_color = ColorProperty()
    border_color = ColorProperty()
    muted_color = ColorProperty()
    warning_color = ColorProperty()
    error_color = ColorProperty()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fixed_dpi: float | None = None
        self._diagonal: float | None = None
        self._followed: Any = None
        self.use_palette(theme.PALETTE)
        self.apply(theme.REFERENCE_SIZE)
        self.fbind("text_scale", lambda *_a: self.apply(tuple(self.window_size)))

    def use_palette(self, palette: theme.Palette) -> None:
        for name, colour in theme.palette_colours(palette).items():
            setattr(self, f"{name}_color", colour)

    def apply(self, size: tuple[int, int], dpi: float | None = None) -> theme.Sizes:
        """Set every size for a window of ``size`` px on a panel of ``dpi``."""
        dpi = dpi or self._fixed_dpi or theme.dpi_for(tuple(size), self._diagonal)
        sizes = theme.sizes_for(tuple(size), dpi, self.text_scale)
        for field in fields(sizes):
            setattr(self, field.name, getattr(sizes, field.name))
        self.column_width = theme.COLUMN_CHARACTERS * sizes.body
        self.dpi = dpi
        self.window_size = list(size)
        return sizes

    def follow_window(
        self, window: Any, dpi: float | None = None, diagonal_inches: float | None = None
    ) -> None:
        """Resize everything whenever ``window`` changes size. Give the panel's ``dpi`` or
        ``diagonal_inches`` if it is not one of ``theme.PANELS``."""
        self._fixed_dpi = dpi
        self._diagonal = diagonal_inches
        if self._followed is not None:
            self._followed.unbind(size=self._window_resized)
        self._followed = window
        window.bind(size=self._window_resized)
        window.clearcolor = self.background_color
        self.apply(window.size)

    def _window_resized(self, _window: Any, size: tuple[int, int]) -> None:
        self.apply(size)


ui = KioskUi()


def load_kv(path: Path | str) -> None:
    """Load a module's kv rules once."""
    if str(path) not in Builder.files:
        Builder.load_file(str(path))


register_fonts()
# kv rules read sizes and colours as `ui.<name>` (an #:import of this module would be circular).
global_idmap["ui"] = ui
