"""Place the card: where the reader is (the kiosk's ``reader_location`` setting, which
the flow puts in the view as ``reader``), said in the title and drawn (the screen, the
reader beside or below it, the card on it, an arrow to it); the reading guidance (keep
it still, it can take more than 5 seconds, no cover; not on metal only for a handheld
reader, which may lie on a metal desk); for a child's procedure, that it is the child's
own card (and PIN)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kivy.graphics import Color, Line, Rectangle, RoundedRectangle, Triangle
from kivy.properties import StringProperty
from kivy.uix.widget import Widget

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv, ui
from kiosk.ui.screens.base import Action, Para, StandardScreen

Box = tuple[float, float, float, float]  # x, y, width, height
Point = tuple[float, float]

# --- The drawing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """Where things are in the drawing, in units of its height; it is 3 units wide."""

    reader: Box
    screen: Box | None = None  # None: the reader alone (its place is not set)
    arrow: tuple[Point, Point] | None = None  # from, to (the head, at the reader)
    cable: bool = False  # a handheld reader, on its cable to the kiosk

    def mirrored(self) -> Scene:
        """The same scene seen in a mirror: right becomes left."""

        def box(b: Box) -> Box:
            return (3 - b[0] - b[2], b[1], b[2], b[3])

        arrow = None
        if self.arrow is not None:
            (x1, y1), (x2, y2) = self.arrow
            arrow = ((3 - x1, y1), (3 - x2, y2))
        screen = box(self.screen) if self.screen is not None else None
        return Scene(box(self.reader), screen, arrow, self.cable)


_RIGHT = Scene(reader=(2.05, 0.12, 0.75, 0.4), screen=(0.2, 0.05, 1.35, 0.9),
               arrow=((1.62, 0.32), (1.98, 0.32)))  # fmt: skip
SCENES: dict[str, Scene] = {
    "right_of_screen": _RIGHT,
    "left_of_screen": _RIGHT.mirrored(),
    "below_screen": Scene(reader=(1.12, 0.0, 0.75, 0.3), screen=(0.82, 0.45, 1.35, 0.55),
                          arrow=((2.6, 0.62), (1.9, 0.16))),
    "handheld": Scene(reader=(2.0, 0.0, 0.6, 0.32), screen=(0.2, 0.3, 1.35, 0.7),
                      arrow=((2.85, 0.9), (2.4, 0.37)), cable=True),
    "": Scene(reader=(0.95, 0.0, 1.1, 0.5)),  # no place set: the card on a reader
}  # fmt: skip


class ReaderPlace(Widget):
    """The kiosk as a citizen facing it sees it: the screen, the card reader where
    ``location`` says (a ``KioskSettings.reader_location``), the card on the reader and
    an arrow to it. With no location, the card on a reader alone.

    ``screen_box``, ``reader_box`` and ``arrow`` are what was last drawn, in window
    coordinates."""

    location = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        self.screen_box: Box | None = None
        self.reader_box: Box = (0.0, 0.0, 0.0, 0.0)
        self.arrow: tuple[Point, Point] | None = None
        super().__init__(**kwargs)
        for name in ("pos", "size", "location"):
            self.fbind(name, self.redraw)
        self.redraw()

    def redraw(self, *_args: Any) -> None:
        scene = SCENES.get(self.location, SCENES[""])
        unit = max(0.0, min(self.height, self.width / 3))
        left, bottom = self.center_x - 1.5 * unit, self.center_y - 0.5 * unit

        def box(b: Box) -> Box:
            return (left + b[0] * unit, bottom + b[1] * unit, b[2] * unit, b[3] * unit)

        def point(p: Point) -> Point:
            return (left + p[0] * unit, bottom + p[1] * unit)

        self.screen_box = box(scene.screen) if scene.screen is not None else None
        self.reader_box = box(scene.reader)
        self.arrow = (point(scene.arrow[0]), point(scene.arrow[1])) if scene.arrow else None
        self.canvas.clear()
        with self.canvas:
            if self.screen_box is not None:
                self._draw_screen(self.screen_box)
            if scene.cable and self.screen_box is not None:
                x, y, _w, h = self.reader_box
                sx, sy, sw, _sh = self.screen_box
                Color(*ui.border_color)
                Line(points=[x, y + h / 2, sx + sw * 0.8, y + h / 2, sx + sw * 0.8, sy],
                     width=ui.border)  # fmt: skip
            self._draw_reader(self.reader_box)
            if self.arrow is not None:
                self._draw_arrow(*self.arrow, head=0.16 * unit)

    @staticmethod
    def _draw_screen(b: Box) -> None:
        x, y, w, h = b
        Color(*ui.surface_color)
        Rectangle(pos=(x, y), size=(w, h))
        Color(*ui.border_color)
        Line(rectangle=(x, y, w, h), width=ui.border)
        inset = min(w, h) * 0.08
        Line(rectangle=(x + inset, y + inset, w - 2 * inset, h - 2 * inset),
             width=max(1.0, ui.border / 2))  # fmt: skip

    @staticmethod
    def _draw_reader(b: Box) -> None:
        x, y, w, h = b
        Color(*ui.border_color)
        Rectangle(pos=(x, y), size=(w, h))
        # the card, lying on it (its chip in the text colour)
        card_w = w * 0.6
        card_h = card_w * 54 / 85.6  # a card's shape (ID-1)
        card_x, card_y = x + (w - card_w) / 2, y + h * 0.3
        Color(*ui.accent_color)
        RoundedRectangle(pos=(card_x, card_y), size=(card_w, card_h), radius=[card_h * 0.1])
        Color(*ui.text_on_accent_color)
        Rectangle(pos=(card_x + card_w * 0.12, card_y + card_h * 0.35),
                  size=(card_w * 0.18, card_h * 0.3))  # fmt: skip

    @staticmethod
    def _draw_arrow(start: Point, end: Point, head: float) -> None:
        (x1, y1), (x2, y2) = start, end
        angle = math.atan2(y2 - y1, x2 - x1)
        back = (x2 - head * math.cos(angle), y2 - head * math.sin(angle))
        side = (-math.sin(angle) * head * 0.6, math.cos(angle) * head * 0.6)
        Color(*ui.accent_color)
        Line(points=[x1, y1, *back], width=max(2.0, ui.border * 2))
        Triangle(points=[x2, y2, back[0] + side[0], back[1] + side[1],
                         back[0] - side[0], back[1] - side[1]])  # fmt: skip


# --- The screen -------------------------------------------------------------------------------


class PlaceCardScreen(StandardScreen):
    kind = "place_card"
    steps = (Step.PLACE_CARD,)

    def fill(self, view: View, same_step: bool) -> None:
        child = view.data.get("for_whom", "self") != "self"
        where = view.data.get("reader")  # None: the kiosk's settings do not say
        reader = self.text(f"place_card.reader.{where}" if where else "place_card.reader")
        fixed = where is not None and where != "handheld"  # built in: no metal desk under it
        self.present(
            self.text("place_card.child" if child else "place_card.title", reader=reader),
            [
                Para(self.text("for_whom.card_note"), "strong") if child else "",
                Para(self.text("place_card.tips_fixed" if fixed else "place_card.tips"), "strong"),
            ],
            actions=[Action("button.quit", ev.Quit())],
        )
        self.ids.drawing.location = where or ""


load_kv(Path(__file__).with_suffix(".kv"))
