"""Notices: something to read, then OK (or "read the card again", "type again"). One
screen for the card's problems, the certificate's dates, the locked PIN, the network
being down, reservations closed, the service's refusals, and the end of a session
("take your card", a card left behind, a card taken away too early)."""

from __future__ import annotations

from pathlib import Path

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, Para, StandardScreen
from mynapoint.dates import date_text, time_text

OK = Action("button.ok", ev.Continue(), primary=True)
QUIT = Action("button.quit", ev.Quit())


class NoticeScreen(StandardScreen):
    kind = "notice"
    steps = (
        Step.CARD_PROBLEM,
        Step.CERT_EXPIRED,
        Step.CERT_TOO_RECENT,
        Step.PIN_LOCKED,
        Step.OFFLINE_NOTICE,
        Step.RESERVATIONS_CLOSED,
        Step.NOTICE,
        Step.REFUSED,
        Step.CARD_REMOVED,
        Step.CARD_LEFT,
        Step.TAKE_CARD,
    )

    def fill(self, view: View, same_step: bool) -> None:
        notice_of = {
            Step.CARD_PROBLEM: self._card_problem,
            Step.CERT_EXPIRED: self._cert_expired,
            Step.CERT_TOO_RECENT: self._cert_too_recent,
            Step.PIN_LOCKED: self._pin_locked,
            Step.OFFLINE_NOTICE: self._offline_notice,
            Step.RESERVATIONS_CLOSED: self._reservations_closed,
            Step.NOTICE: self._notice,
            Step.REFUSED: self._refused,
            Step.CARD_REMOVED: self._card_removed,
            Step.CARD_LEFT: self._card_left,
            Step.TAKE_CARD: self._take_card,
        }
        title, paragraphs, actions = notice_of[view.step](view.data)
        self.present(self.text(title), paragraphs, actions=actions)

    def _counter(self) -> list[Para]:
        """Where to go about a locked PIN or a certificate (city-hall terminals)."""
        if not self.context.city_hall:
            return []
        return [Para(self.context.counter_line(self.language), "strong")]

    def _message(self, data: dict) -> list[Para]:
        """The service's own words for a refusal, and its code for the staff."""
        message = data.get("message_ja" if self.language == "ja" else "message_en") or ""
        code = data.get("reason_code")
        return [
            Para(message, "strong"),
            Para(self.text("notice.code", code=code) if code else "", "muted"),
        ]

    # --- one method per step: (title key, paragraphs, buttons) -------------------------

    def _card_problem(self, data: dict) -> tuple:
        actions = [QUIT, Action("button.try_again", ev.TryAgain(), primary=True)]
        return "card_problem.title", [Para(self.text(data["problem"]), "strong")], actions

    def _cert_expired(self, data: dict) -> tuple:
        date = date_text(data["expired_on"], self.language)
        return (
            "cert_expired.title",
            [self.text("cert_expired.body", date=date), *self._counter()],
            [OK],
        )

    def _cert_too_recent(self, data: dict) -> tuple:
        when = time_text(data["usable_from"], self.language)
        return "cert_too_recent.title", [self.text("cert_too_recent.body", time=when)], [OK]

    def _pin_locked(self, data: dict) -> tuple:
        return "pin_locked.title", [self.text("pin_locked.body"), *self._counter()], [OK]

    def _offline_notice(self, data: dict) -> tuple:
        if data.get("purpose") == "my_page":
            return "offline_notice.title", [self.text("offline_notice.my_page")], [OK]
        actions = [QUIT, Action("button.next", ev.Continue(), primary=True)]
        return "offline_notice.title", [self.text("offline_notice.body")], actions

    def _reservations_closed(self, data: dict) -> tuple:
        return "reservations_closed.title", [self.text("reservations_closed.body")], [OK]

    def _notice(self, data: dict) -> tuple:
        if data.get("problem"):
            return "notice.title", [Para(self.text(data["problem"]), "strong")], [OK]
        return "notice.title", self._message(data), [OK]

    def _refused(self, data: dict) -> tuple:
        if not data.get("correctable"):
            # Typing again cannot help: register with the payment service first (and
            # where), then apply again; what was done gets its slip.
            catalog, service = self.context.catalog, data.get("service")
            notice = catalog.pre_registration_notice(service) if catalog and service else None
            where = Para(notice.text(self.language), "strong") if notice else ""
            finish = Action("button.finish", ev.Continue(), primary=True)
            return "refused.title", [*self._message(data), where], [finish]
        actions = [QUIT, Action("button.correct", ev.TryAgain(), primary=True)]
        return "refused.title", [*self._message(data), self.text("refused.body")], actions

    def _card_removed(self, data: dict) -> tuple:
        return "card_removed.title", [self.text("card_removed.body")], [OK]

    def _card_left(self, data: dict) -> tuple:
        where = (
            "card_left.city_hall"
            if data.get("channel") == "city_hall"
            else ("card_left.convenience_store")
        )
        return "card_left.title", [Para(self.text(where), "strong")], []

    def _take_card(self, data: dict) -> tuple:
        return "take_card.title", [Para(self.text("take_card.body"), "strong")], []


load_kv(Path(__file__).with_suffix(".kv"))
