"""The slip: "printing", then "take your slip" with what was done (receipt numbers,
pending when the network was down), or, when the paper did not come out, the reason,
"tell the staff", and the slip itself on the screen with its QR codes, large enough to
photograph (in two columns: its top half and its bottom half)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from kivy.graphics.texture import Texture
from kivy.uix.image import Image as ImageWidget
from PIL import Image

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, Para, StandardScreen
from mynapoint.dates import date_text


def texture_of(image: Image.Image) -> Texture:
    """A Kivy texture of a PIL image, pixels kept sharp (QR codes)."""
    rgba = image.convert("RGBA")
    texture = Texture.create(size=rgba.size, colorfmt="rgba")
    texture.blit_buffer(rgba.tobytes(), colorfmt="rgba", bufferfmt="ubyte")
    texture.flip_vertical()  # PIL's rows run top down, OpenGL's bottom up
    texture.mag_filter = "nearest"
    texture.min_filter = "linear"
    return texture


def halves(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The slip cut in two at the blank row nearest its middle (never through a line of
    text or a QR code, when there is a blank row)."""
    grey = image.convert("L")
    width, height = grey.size
    middle = height // 2
    cut = middle
    for offset in range(height // 4):
        for row in (middle - offset, middle + offset):
            if grey.crop((0, row, width, row + 1)).getextrema()[0] >= 250:
                cut = row
                break
        else:
            continue
        break
    return image.crop((0, 0, width, cut)), image.crop((0, cut, width, height))


SHELF = 0.52  # of the width, for the slip's picture


class SlipScreen(StandardScreen):
    kind = "slip"
    steps = (Step.SLIP, Step.VOUCHER_SLIP)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._image: Any = None
        super().__init__(*args, **kwargs)

    def _outcomes(self, outcomes: tuple[ev.Outcome, ...]) -> list[Para | str]:
        lines: list[Para | str] = []
        for outcome in outcomes:
            what = self.text(f"slip.what.{outcome.kind}")
            state = self.text(f"slip.state.{outcome.state}")
            lines.append(
                Para(
                    self.text(
                        "slip.outcome", what=what, state=state, receipt=outcome.receipt_number
                    ),
                    "error" if outcome.state == "rejected" else "body",
                )
            )
        return lines

    def _voucher(self, voucher: dict[str, Any]) -> list[Para | str]:
        """What the voucher is: the municipality, the points, the last day."""
        name = voucher.get(f"municipality_name_{self.language}", voucher["municipality_code"])
        when = date_text(dt.date.fromisoformat(voucher["expires_on"]), self.language)
        what = self.text("voucher_slip.what", name=name, points=f"{voucher['points']:,}",
                         date=when)  # fmt: skip
        return [Para(what, "strong")]

    def fill(self, view: View, same_step: bool) -> None:
        data = view.data
        voucher = view.step == Step.VOUCHER_SLIP
        outcomes = (
            self._voucher(data["voucher"])
            if voucher
            else self._outcomes(tuple(data.get("outcomes") or ()))
        )
        if data.get("printing"):
            self._show_image(None)
            printing = "voucher_slip.printing" if voucher else "slip.printing"
            self.present(self.text(printing), [self.text("busy.wait")])
            return
        finish = [Action("button.finish", ev.Continue(), primary=True)]
        if data.get("printed"):
            self._show_image(None)
            printed = "voucher_slip.printed" if voucher else "slip.printed"
            self.present(self.text(printed), outcomes, actions=finish)
            return
        # A voucher that did not come out is not drawn: a photo of its code would be the
        # voucher. The citizen is told to cancel it on the kiosk, and its points come back.
        if voucher:
            self._show_image(None)
            problem = data.get("problem")
            lost = Para(self.text("voucher_slip.not_printed"), "error")
            paragraphs = [self.text(problem) if problem else "", lost, *outcomes]
            self.present(self.text("slip.not_printed_title"), paragraphs, actions=finish)
            return
        problem = data.get("problem")
        self._show_image(data.get("image"))
        self.present(
            self.text("slip.not_printed_title"),
            [
                self.text(problem) if problem else "",
                Para(self.text("slip.not_printed"), "error"),
                *outcomes,
            ],
            actions=finish,
        )

    def _show_image(self, image: Image.Image | None) -> None:
        shelf = self.ids.image
        if image is self._image and (image is None or shelf.children):
            return
        self._image = image
        shelf.clear_widgets()
        shelf.width = 0
        if image is None:
            return
        for part in halves(image):
            shelf.add_widget(ImageWidget(texture=texture_of(part), fit_mode="contain"))
        self.fit_shelf()

    def fit_shelf(self) -> None:
        shelf = self.ids.image
        shelf.width = shelf.parent.width * SHELF if shelf.children and shelf.parent else 0

    def leave(self) -> None:
        super().leave()
        self._show_image(None)  # the slip is the citizen's: not kept on a hidden screen


load_kv(Path(__file__).with_suffix(".kv"))
