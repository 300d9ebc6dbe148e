"""Before sending: what will be done, said plainly. The MyKey ID to set, the service and
the end of the ID; that the service cannot be changed afterwards; on what the points are
granted (charge or purchase) and that the timing depends on the operator; that one
account serves one child; and when the network is down, that it will be pending. The
irreversible part is the loud one; the pending note is calm (nothing is wrong)."""

from __future__ import annotations

from pathlib import Path

from kiosk import i18n
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, Para, StandardScreen


class ConfirmScreen(StandardScreen):
    kind = "confirm"
    steps = (Step.CONFIRM,)

    def fill(self, view: View, same_step: bool) -> None:
        data = view.data
        service = data.get("service")
        paragraphs: list[Para | str] = []
        if data.get("reserve"):
            paragraphs.append(Para(self.text("confirm.reserve"), "strong"))
        if service is not None:
            name = service.name_ja if self.language == "ja" else service.name_en
            chosen = i18n.sentences(
                self.language,  # type: ignore[arg-type]
                self.text("confirm.service", service=name),
                self.text("confirm.account", last4=data.get("account_last4") or "----"),
            )
            grant = i18n.sentences(
                self.language,  # type: ignore[arg-type]
                *self._grant_terms(service.grant_on),
                self.text("confirm.timing"),
            )
            paragraphs += [
                Para(chosen, "strong"),
                Para(self.text("confirm.no_change"), "alert"),  # the one thing not to miss
                grant,
            ]
            if data.get("for_whom", "self") != "self":
                paragraphs.append(self.text("for_whom.one_child_rule"))
        if data.get("online") is False:
            paragraphs.append(Para(self.text("confirm.offline"), "strong"))
        self.present(
            self.text("confirm.title"),
            paragraphs,
            actions=[
                Action("button.back", ev.Back()),
                Action("button.quit", ev.Quit()),
                Action("button.submit", ev.Submit(), primary=True),
            ],
        )

    def _grant_terms(self, grant_on: str) -> list[str]:
        """The rate and the cap as the catalog's programme states them (the service's
        rule, not a copy of it); left out if this catalog does not state them."""
        catalog = self.context.catalog
        programme = catalog.programme if catalog is not None else {}
        rate, cap = programme.get("grant_rate_percent"), programme.get("grant_cap_yen")
        if rate is None or cap is None:
            return []
        return [self.text(f"confirm.grant_on_{grant_on}", rate=rate, cap=f"{cap:,}")]


load_kv(Path(__file__).with_suffix(".kv"))
