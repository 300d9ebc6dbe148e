"""Before the procedure, the terms in plain words, in a panel that scrolls (by a finger,
or with the 「上へ」「下へ」 buttons beside it: ``ScrollingText``): what the kiosk uses and
never reads, what is sent to whom, what this kiosk keeps (where, and until when), the
programme's main rules, the fraud warning (seed 002 lines 235-241); agree or stop.

What is sent to whom is what the code does: the kiosk sends its envelope to the grant
service (``mynapoint/envelope.py``: the certificate, for whom, the service, its ID, the
security code, the phone digits if typed); the grant service asks the payment operator
about the ID and the security code only (``grant_service/rules.py``
``check_with_operator``), and keeps the phone digits on the application, never sending
them to the operator (``rules.apply``, ``models.Application.phone_last4``)."""

from __future__ import annotations

from pathlib import Path

from kiosk import i18n
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, Para, StandardScreen


class ConsentScreen(StandardScreen):
    kind = "consent"
    steps = (Step.CONSENT,)

    def terms(self) -> list[Para]:
        """The terms, section by section (a heading, then its paragraphs)."""
        own_name = i18n.sentences(
            self.language,  # type: ignore[arg-type]
            self.text("help.own_name"),
            self.text("help.own_name_child"),
            self.text("for_whom.one_child_rule"),
        )
        return [
            Para(self.text("consent.intro")),
            Para(self.text("consent.h_read"), "strong"),
            Para(self.text("consent.body")),
            Para(self.text("consent.h_sent"), "strong"),
            Para(self.text("consent.sent_system")),
            Para(self.text("consent.sent_operator")),
            Para(self.text("consent.sent_stored")),
            Para(self.text("consent.sent_points")),
            Para(self.text("consent.h_kept"), "strong"),
            Para(
                self.text(
                    "consent.kept",
                    days=f"{self.context.retention_days:g}",
                    slips=self.context.slips_kept,
                )
            ),
            Para(self.text("consent.h_rules"), "strong"),
            Para(self.text("consent.rules_mykey")),
            Para(self.text("consent.rules_one")),
            Para(own_name),
            *self._points(),
            Para(self.text("consent.rules_revoke")),
            Para(self.text("help.scam"), "strong"),
            Para(self.text("consent.terms")),
        ]

    def _points(self) -> list[Para]:
        """The rate and the cap as the catalog's programme states them (as on the confirm
        screen); left out if this catalog does not state them."""
        catalog = self.context.catalog
        programme = catalog.programme if catalog is not None else {}
        rate, cap = programme.get("grant_rate_percent"), programme.get("grant_cap_yen")
        if rate is None or cap is None:
            return []
        return [Para(self.text("consent.rules_points", rate=rate, cap=f"{cap:,}"))]

    def fill(self, view: View, same_step: bool) -> None:
        self.present(
            self.text("consent.title"),
            self.terms(),
            actions=[
                Action("button.quit", ev.Quit()),
                Action("button.agree", ev.Agree(), primary=True),
            ],
        )


load_kv(Path(__file__).with_suffix(".kv"))
