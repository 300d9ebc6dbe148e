"""Choosing the payment service: the catalog's services in pages of large buttons, filtered
by kind (one tap) or found by name or reading (the kana pad: "ぺいぺい"; the letter pad:
"PAY", "WAON"). A service this kiosk
cannot take is greyed with its reason in short; a tap on it shows the catalog's full
reason (the flow refuses it and says which). A service that needs registering with its
operator first is marked. A citizen without a MyKey ID may set it alone, and choose later.

Whether a service can be chosen is the catalog's (``data["services"]``: its
``availability``); which are shown is the flow's (``data["shown"]`` after a search).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.properties import BooleanProperty, ObjectProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from kiosk import i18n
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View, shown_services
from kiosk.ui.kit import theme
from kiosk.ui.kit.buttons import PrimaryButton, SecondaryButton
from kiosk.ui.kit.labels import BodyLabel
from kiosk.ui.kit.pads import AlphaPad, KanaPad
from kiosk.ui.kit.style import load_kv, ui
from kiosk.ui.screens.base import Action, FlowScreen, ToolButton
from mynapoint.availability import Unavailable
from mynapoint.dates import date_text
from mynapoint.linebreak import break_lines

SEARCH_LENGTH = 12
FOUND_NAMES = 8  # the names the search panel lists as the citizen types


class ServiceItem(ButtonBehavior, BoxLayout):
    """One service: its name, and its kind with a mark or the reason it cannot be chosen."""

    available = BooleanProperty(True)
    service = ObjectProperty(None)


class ServiceName(BodyLabel):
    pass


class ServiceDetail(BodyLabel):
    pass


class ServiceStatus(BodyLabel):
    pass


def _width_of(buttons: list[Any]) -> float:
    """The width a row of ``buttons`` (sized to their words) takes."""
    for button in buttons:
        button.texture_update()
        button._fit()
    return sum(b.width for b in buttons) + ui.spacing * len(buttons)


class KindButton(SecondaryButton):
    """A kind filter: outlined, or filled when it is the one applied."""

    chosen = BooleanProperty(False)


class SearchPanel(BoxLayout):
    """The pad over the screen, for a name: kana (its reading; first in Japanese) or
    letters, one tap apart, the text typed carried over; every key searches at once;
    "show" closes it on the services found."""

    def __init__(self, screen: ChooseServiceScreen, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.screen = screen
        self.closing = False
        self.names = ""
        self.pad: AlphaPad = self._new_pad(kana=screen.language == "ja")
        self.ids.switch.bind(on_release=lambda _b: self.switch_pad())
        self.bind(height=self._fit_names)
        self.ids.names.bind(width=self._fit_names)

    def _new_pad(self, *, kana: bool, text: str = "") -> AlphaPad:
        pad = KanaPad(max_length=SEARCH_LENGTH) if kana else AlphaPad(max_length=SEARCH_LENGTH)
        pad.load(text)
        pad.bind(on_change=self._typed)
        self.ids.display.pad = pad
        self.ids.switch.key = "choose_service.letter_pad" if kana else "choose_service.kana_pad"
        self.add_widget(pad)
        return pad

    def switch_pad(self) -> None:
        """Kana to letters or back, keeping what was typed."""
        old = self.pad
        self.remove_widget(old)
        old.unbind(on_change=self._typed)
        self.pad = self._new_pad(kana=not isinstance(old, KanaPad), text=old.value())
        old.wipe()
        self._fit_names()

    def show_names(self, names: str) -> None:
        self.names = names
        self._fit_names()

    def _fit_names(self, *_args: Any) -> None:
        """The names found, if they fit between the header and the pad (the letter pad
        leaves no room on a 10.1" panel: then the count alone)."""
        label = self.ids.names
        label.text = self.names
        label.texture_update()
        needed = (self.padding[1] + self.padding[3] + self.ids.header.height
                  + label.texture_size[1] + self.pad.height + 3 * self.spacing)  # fmt: skip
        if needed > self.height:
            label.text = ""

    def wipe(self) -> None:
        self.closing = True  # the pad wiped on closing does not search for ""
        self.pad.wipe()

    def _typed(self, _pad: Any) -> None:
        if not self.closing:
            self.screen.search(self.pad.value())

    def on_touch_down(self, touch: Any) -> bool:  # modal: nothing under it is pressed
        super().on_touch_down(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        super().on_touch_up(touch)
        return True


class ChooseServiceScreen(FlowScreen):
    kind = "choose_service"
    steps = (Step.CHOOSE_SERVICE,)
    compact = False  # the kinds behind one button (they do not fit in a row)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.page = 0
        self.search_panel: SearchPanel | None = None
        self._asked: str | None = None  # a service tapped: the flow may say it is unavailable
        self._filters: tuple[Any, ...] = ()
        super().__init__(*args, **kwargs)
        self.ids.grid.bind(size=self._grid_resized)
        self.ids.help.bind(top=self._place_search)
        self.bind(height=self._place_search)

    # --- what to show ---------------------------------------------------------------------

    def _entries(self) -> list[dict[str, Any]]:
        return shown_services(self.data)

    def _per_page(self) -> tuple[int, int, float, bool]:
        """(columns, rows, tile height, with the kind) that fit the grid's box: three
        columns of tiles with a name and under it its kind and whether it can be chosen
        (in as many lines as the longest of those needs); where not even one row of those
        fits (larger text, a search, on a 10-inch panel), tiles without the kind line
        (the kinds' button names it)."""
        grid = self.ids.grid
        columns = 3 if grid.width >= 3 * 12 * ui.body else 2
        inner = (grid.width - (columns - 1) * ui.spacing) / columns - 3 * ui.spacing
        status = max([self._lines(self._status(e), inner) for e in self._entries()] or [1])

        def tile(lines: int) -> int:
            """The name and ``lines`` lines under it, the tile's padding (a spacing above
            and below) and the half spacings between its parts (ServiceItem's kv), and a
            few pixels for the labels' rounding."""
            words = (ui.button_text + lines * ui.body) * theme.LINE_HEIGHT  # em
            room = 2 * ui.spacing + (lines + 2) * ui.spacing / 2 + 4
            return max(ui.touch_min, math.ceil(words + room))

        with_kind = tile(1 + status) <= grid.height
        height = tile(1 + status) if with_kind else tile(status)
        rows = max(1, int((grid.height + ui.spacing) // (height + ui.spacing)))
        return columns, rows, height, with_kind

    @staticmethod
    def _lines(text: str, width: float) -> int:
        """How many lines of body text ``text`` takes at ``width`` (at least one)."""
        if not text or width <= 0:
            return 1
        label = CoreLabel(font_name=ui.font_name, font_size=ui.body)
        label.resolve_font_name()
        broken = break_lines(text, int(width), lambda part: label.get_extents(part)[0])
        return broken.count("\n") + 1

    def _status(self, entry: dict[str, Any]) -> str:
        """Why it cannot be chosen, in short; or the pre-registration mark."""
        service, availability = entry["service"], entry["availability"]
        if availability.reason is Unavailable.NOT_YET_SELECTABLE:
            day = date_text(availability.selectable_from, self.language)
            return self.text("choose_service.from_date", date=day)
        if availability.reason is Unavailable.APP_ONLY:
            return self.text("choose_service.app_only")
        if availability.reason is Unavailable.CARD_CREDENTIALS:
            return self.text("choose_service.card_credentials")
        if not availability.available:
            return self.text("choose_service.unavailable")
        if service.pre_registration:
            return self.text("choose_service.pre_registration")
        return ""

    def _kind_name(self, code: str, label: Any) -> str:
        """A kind's short name on its filter button (the catalog's for a kind this kiosk
        has no short name for)."""
        key = f"choose_service.kind.{code}"
        return self.text(key) if key in i18n.TABLES[self.language] else label.text(self.language)  # type: ignore[index]

    # --- showing ---------------------------------------------------------------------------

    def fill(self, view: View, same_step: bool) -> None:
        data = view.data
        if not same_step:
            self.page = 0
            self._asked = None
        self.ids.title.text = self.text("choose_service.title")
        search = data.get("search") or ""
        self.ids.search_state.text = (
            self.text("choose_service.searching", text=search) if search else ""
        )
        self._fill_filters(data.get("kind"), search)
        if self.compact and search:  # the search's own button says it (no room up top)
            self.ids.search_state.text = ""
        self._fill_page()
        self.ids.actions.show([Action("button.quit", ev.Quit())], self.run)
        # Apart from "stop" (below the list; with larger text on a 10-inch panel, beside
        # the kinds above it), and saying that no points are applied for: skipping the
        # application must not be a slip of the finger.
        self.ids.reserve_only.clear_widgets()
        if not data.get("reserved"):
            button = ToolButton(key="button.reserve_only", fit_text=True)  # two lines
            button.bind(on_release=lambda _b: self.send(ev.ReservationOnly()))
            if self.compact:
                self.ids.filters.add_widget(button, index=2)  # after the kinds' button
            else:
                self.ids.reserve_only.add_widget(button)
        self._show_found()
        asked, self._asked = self._asked, None
        if asked is not None and data.get("unavailable") == asked:
            entry = next(e for e in data["services"] if e["service"].code == asked)
            name = entry["service"].name_ja if self.language == "ja" else entry["service"].name_en
            self.open_panel(name, [entry["availability"].text(self.language)])

    def _fill_filters(self, chosen: str | None, search: str) -> None:
        """すべて (everything: no kind, no name), then one button per kind, then the search."""
        catalog = self.context.catalog
        kinds = [(None, self.text("choose_service.all_kinds"))]
        if catalog is not None:
            kinds += [(code, self._kind_name(code, label)) for code, label in catalog.kinds()]
        row = self.ids.filters
        row.clear_widgets()
        buttons = []
        for code, label in kinds:
            button = KindButton(
                text=label,
                fit_text=True,
                chosen=code == chosen and not (code is None and search),
            )
            button.bind(on_release=lambda _b, c=code: self.filter(c))
            buttons.append(button)
        by_name = SecondaryButton(key="choose_service.search", fit_text=True)
        by_name.bind(on_release=lambda _b: self.open_search())
        room = ui.window_size[0] - 2 * ui.spacing  # the row spans the screen's frame
        self.compact = _width_of([*buttons, by_name]) > room
        if self.compact:  # larger text on a 10-inch panel: the kinds in a message
            shown = dict(kinds).get(chosen) or self.text("choose_service.all_kinds")
            menu = SecondaryButton(key="choose_service.kind_menu", values={"kind": shown},
                                   fit_text=True)  # fmt: skip
            menu.bind(on_release=lambda _b: self.open_kinds(buttons))
            row.add_widget(menu)
            if search:
                by_name.key, by_name.values = "choose_service.search_for", {"text": search}
        else:
            for button in buttons:
                row.add_widget(button)
        row.add_widget(BoxLayout())
        row.add_widget(by_name)

    def open_kinds(self, buttons: list[KindButton]) -> None:
        """The kinds as large choices over the screen, two to a row; one closes it."""
        panel = self.open_panel(self.text("choose_service.kind_menu_title"), [], "button.back")
        grid = GridLayout(cols=2, spacing=ui.spacing, size_hint_y=None,
                          row_force_default=True, row_default_height=ui.button_height)  # fmt: skip
        grid.bind(minimum_height=grid.setter("height"))
        for button in buttons:
            if button.parent is not None:
                button.parent.remove_widget(button)
            button.fit_text = False
            button.size_hint_x = 1
            button.bind(on_release=lambda _b: self.close_panel())
            grid.add_widget(button)
        panel.add_widget(grid, index=2)  # under the title, above the button

    def _fill_page(self) -> None:
        entries = self._entries()
        columns, rows, item_height, with_kind = self._per_page()
        per_page = columns * rows
        pages = max(1, math.ceil(len(entries) / per_page))
        self.page = min(self.page, pages - 1)
        grid = self.ids.grid
        grid.clear_widgets()
        grid.cols = columns
        grid.row_default_height = item_height
        for entry in entries[self.page * per_page : (self.page + 1) * per_page]:
            service, availability = entry["service"], entry["availability"]
            item = ServiceItem(
                service=service, available=availability.available, height=item_height
            )
            item.ids.name.text = service.name_ja if self.language == "ja" else service.name_en
            item.ids.kind.text = service.kind_label.text(self.language)
            if not with_kind:
                item.remove_widget(item.ids.kind)
            item.ids.status.text = self._status(entry)
            item.bind(on_release=lambda _i, code=service.code: self.choose(code))
            grid.add_widget(item)
        if not entries:
            grid.add_widget(BodyLabel(text=self.text("choose_service.none_found")))
        pager = self.ids.pager
        pager.clear_widgets()
        if pages > 1:
            back = SecondaryButton(
                key="choose_service.previous", fit_text=True, disabled=self.page == 0
            )
            back.bind(on_release=lambda _b: self.turn(-1))
            where = BodyLabel(
                text=self.text("choose_service.page", page=self.page + 1, pages=pages),
                size_hint_x=None,
            )
            where.width = 5 * ui.body
            where.halign = "center"
            forward = PrimaryButton(
                key="choose_service.next_page", fit_text=True, disabled=self.page >= pages - 1
            )
            forward.bind(on_release=lambda _b: self.turn(1))
            for widget in (back, where, forward):
                widget.pos_hint = {"center_y": 0.5}
                pager.add_widget(widget)

    def _grid_resized(self, *_args: Any) -> None:
        if self.view is not None:
            self._fill_page()

    # --- touches ---------------------------------------------------------------------------

    def choose(self, code: str) -> None:
        self._asked = code
        self.send(ev.ChooseService(code))

    def filter(self, kind: str | None) -> None:
        """A kind; or, for すべて, everything (the name searched for is dropped too)."""
        self.page = 0
        self.send(ev.Search((self.data.get("search") or "") if kind else "", kind))

    def search(self, text: str) -> None:
        self.page = 0
        self.send(ev.Search(text, self.data.get("kind")))

    def turn(self, pages: int) -> None:
        self.page += pages
        self._fill_page()

    def open_search(self) -> None:
        self.close_search()
        self.search_panel = SearchPanel(self)
        self._show_found()
        self.search_panel.ids.done.bind(on_release=lambda _b: self.close_search())
        self.add_widget(self.search_panel)
        self._place_search()

    def _show_found(self) -> None:
        """On the search panel: how many services match, and the first names, as they
        change with each key."""
        panel = self.search_panel
        if panel is None:
            return
        entries = self._entries()
        panel.ids.found.text = self.text("choose_service.found", count=len(entries))
        names = [e["service"].name_ja if self.language == "ja" else e["service"].name_en
                 for e in entries[:FOUND_NAMES]]  # fmt: skip
        more = "…" if len(entries) > FOUND_NAMES else ""
        panel.show_names(("、" if self.language == "ja" else ", ").join(names) + more)

    def _place_search(self, *_args: Any) -> None:
        """Over the screen but not over its help bar: the language switch and "call staff"
        stay within reach."""
        panel = self.search_panel
        if panel is not None:
            panel.size_hint = (1, None)
            panel.pos = (0, self.ids.help.top)
            panel.height = self.height - self.ids.help.top

    def close_search(self) -> None:
        if self.search_panel is not None:
            self.search_panel.wipe()
            self.remove_widget(self.search_panel)
            self.search_panel = None

    def reset(self) -> None:
        self.close_search()
        self.page = 0


load_kv(Path(__file__).with_suffix(".kv"))
