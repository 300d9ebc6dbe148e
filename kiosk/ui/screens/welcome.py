"""The start screen: what the kiosk does, how long it takes, what to have ready (and where
each payment service shows its ID and security code), whether the network is down, and
the two ways in (apply, or check one's status); at city hall, which counter handles a
locked PIN or a certificate. The technician's gesture is the app's (an invisible corner),
not this screen's."""

from __future__ import annotations

from pathlib import Path

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, Para, StandardScreen

SERVICES_PER_PAGE = 3  # a page of "where to find the ID" fits a 1280x800 panel in large text


class WelcomeScreen(StandardScreen):
    kind = "welcome"
    steps = (Step.WELCOME,)

    def fill(self, view: View, same_step: bool) -> None:
        offline = view.data.get("online") is False
        self.present(
            self.text("welcome.title"),
            [
                self.text("welcome.body"),
                Para(self.text("welcome.offline"), "alert") if offline else "",
                self.text("welcome.duration"),
                Para(self.text("welcome.bring"), "strong"),
                self.text("welcome.bring_card"),
                self.text("welcome.bring_pin"),
                self.text("welcome.bring_ids"),
                self.context.counter_line(self.language) if self.context.city_hall else "",
            ],
            choices=[
                Action("button.start", ev.Start("apply"), primary=True),
                Action("button.my_page", ev.Start("my_page")),
                # the MyKey platform: at city hall; a store kiosk says where to go
                Action("button.platform", ev.Start("platform")),
            ],
            actions=[Action("button.where_ids", self.show_where_ids)],
        )

    def show_where_ids(self) -> None:
        self.open_pages("welcome.where_title", self.where_ids_pages())

    def where_ids_pages(self) -> list[list[Para]]:
        """Each service that takes applications here (``Catalog.taken_on``), with where
        its ID and security code are shown (the catalog's hints), a few to a page."""
        catalog = self.context.catalog
        services = catalog.taken_on(self.context.channel) if catalog is not None else []
        en = self.language == "en"
        lines = [
            Para(self.text("welcome.where_service",
                           service=s.name_en if en else s.name_ja,
                           id_hint=(s.id_hint_en if en else s.id_hint_ja) or "-",
                           code_hint=(s.code_hint_en if en else s.code_hint_ja) or "-"))
            for s in services
        ]  # fmt: skip
        return [
            lines[start : start + SERVICES_PER_PAGE]
            for start in range(0, len(lines), SERVICES_PER_PAGE)
        ] or [[]]


load_kv(Path(__file__).with_suffix(".kv"))
