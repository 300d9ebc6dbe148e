"""The MyKey platform at a city-hall kiosk (``kiosk/procedure/platform_steps.py``): the
points per municipality with their expiry dates, vouchers (printed, or cancelled while
unused), library cards, and revoking
the MyKey ID after its consequences (read here and heard) and two questions. A
convenience-store kiosk says where to go instead. Only what the view holds is shown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, Para, StandardScreen
from mynapoint.dates import date_text

QUIT = Action("button.quit", ev.Quit())
BACK = Action("button.back", ev.Back())
FINISH = Action("button.finish", ev.Continue(), primary=True)
# The points a voucher may be made of, as large buttons (and the whole balance).
AMOUNTS = (100, 500, 1000, 3000, 5000)


class PlatformScreen(StandardScreen):
    kind = "platform"
    steps = (
        Step.PLATFORM_ELSEWHERE, Step.PLATFORM_HOME, Step.PLATFORM_OFFLINE,
        Step.VOUCHER_AMOUNT, Step.VOUCHER_CONFIRM, Step.CHOOSE_FACILITY, Step.LINK_CONFIRM,
        Step.LINK_DONE, Step.REVOKE_TERMS, Step.REVOKE_CONFIRM, Step.REVOKED,
        Step.VOUCHER_CANCEL_CHOOSE, Step.VOUCHER_CANCEL_CONFIRM, Step.VOUCHER_CANCELLED,
        Step.CHOOSE_UNLINK, Step.UNLINK_CONFIRM,
    )  # fmt: skip

    def fill(self, view: View, same_step: bool) -> None:
        filled = {
            Step.PLATFORM_ELSEWHERE: self._elsewhere,
            Step.PLATFORM_HOME: self._home,
            Step.PLATFORM_OFFLINE: self._offline,
            Step.VOUCHER_AMOUNT: self._amount,
            Step.VOUCHER_CONFIRM: self._voucher_confirm,
            Step.CHOOSE_FACILITY: self._facilities,
            Step.LINK_CONFIRM: self._link_confirm,
            Step.LINK_DONE: self._link_done,
            Step.REVOKE_TERMS: self._revoke_terms,
            Step.REVOKE_CONFIRM: self._revoke_confirm,
            Step.REVOKED: self._revoked,
            Step.VOUCHER_CANCEL_CHOOSE: self._cancel_choose,
            Step.VOUCHER_CANCEL_CONFIRM: self._cancel_confirm,
            Step.VOUCHER_CANCELLED: self._cancelled,
            Step.CHOOSE_UNLINK: self._choose_unlink,
            Step.UNLINK_CONFIRM: self._unlink_confirm,
        }
        title, paragraphs, choices, actions = filled[view.step](view.data)
        self.present(title, paragraphs, choices, actions)

    # --- helpers ------------------------------------------------------------------------

    def _name(self, thing: Any, fallback: str = "") -> str:
        return str(thing.name(self.language)) if thing is not None else fallback

    def _date(self, iso: str) -> str:
        return date_text(dt.date.fromisoformat(iso), self.language)

    # --- one method per step: (title, paragraphs, choices, buttons) -----------------------

    def _elsewhere(self, data: dict[str, Any]) -> tuple:
        paragraphs = [Para(self.text("platform_elsewhere.body"), "strong")]
        return self.text("platform_elsewhere.title"), paragraphs, [], [FINISH]

    def _home(self, data: dict[str, Any]) -> tuple:
        paragraphs: list[Para | str] = []
        if data.get("no_points"):
            paragraphs.append(Para(self.text("platform_home.no_points"), "error"))
        for balance in data.get("balances") or []:
            name = self._name(balance.get("municipality"), balance["municipality_code"])
            points = f"{balance['points']:,}"
            line = self.text("platform_home.balance", name=name, points=points)
            paragraphs.append(Para(line, "strong"))
            for expiring in balance.get("expiring") or []:
                paragraphs.append(self.text("platform_home.expiring",
                                            points=f"{expiring['points']:,}",
                                            date=self._date(expiring["expires_on"])))  # fmt: skip
        if not data.get("balances"):
            paragraphs.append(self.text("platform_home.no_balance"))
        held = data.get("vouchers") or []
        if held:
            paragraphs.append(self.text("platform_home.vouchers", count=len(held),
                                        points=f"{sum(v['points'] for v in held):,}"))  # fmt: skip
        for link in data.get("links") or []:
            paragraphs.append(self.text("platform_home.link", last4=link["number_last4"],
                                        name=self._name(link.get("facility"),
                                                        link["facility_code"])))  # fmt: skip
        choices = [Action("button.issue_voucher", ev.ChooseAction("voucher"), primary=True)]
        if held:
            choices.append(Action("button.cancel_voucher", ev.ChooseAction("cancel_voucher")))
        choices.append(Action("button.link_library", ev.ChooseAction("link")))
        if data.get("links"):
            choices.append(Action("button.unlink_library", ev.ChooseAction("unlink")))
        choices.append(Action("button.revoke_mykey", ev.ChooseAction("revoke")))
        return self.text("platform_home.title"), paragraphs, choices, [FINISH]

    def _offline(self, data: dict[str, Any]) -> tuple:
        paragraphs = [Para(self.text("platform_offline.body"), "strong")]
        choices = [Action("button.link_library", ev.ChooseAction("link"))]
        return self.text("platform_offline.title"), paragraphs, choices, [FINISH]

    def _amount(self, data: dict[str, Any]) -> tuple:
        paragraphs: list[Para | str] = []
        if data.get("error"):
            paragraphs.append(Para(self.text(data["error"]), "error"))
        choices: list[Action] = []
        chosen, most = data.get("chosen"), int(data.get("most") or 0)
        if chosen is None or len(data.get("choices") or []) > 1:
            paragraphs.append(Para(self.text("voucher_amount.choose"), "strong"))
            choices += [
                Action("button.municipality", ev.ChooseMunicipality(c["code"]),
                       primary=c["code"] == chosen,
                       values={"name": self._name(c.get("municipality"), c["code"]),
                               "points": f"{c['points']:,}"})
                for c in data.get("choices") or []
            ]  # fmt: skip
        if chosen is not None:
            paragraphs.append(Para(self.text("voucher_amount.points", most=f"{most:,}"), "strong"))
            amounts = [a for a in AMOUNTS if a < most] + [most]
            choices += [
                Action("button.voucher_points", ev.PointsTyped(str(points)),
                       values={"points": f"{points:,}"})
                for points in amounts
            ]  # fmt: skip
        return self.text("voucher_amount.title"), paragraphs, choices, [BACK, QUIT]

    def _voucher_confirm(self, data: dict[str, Any]) -> tuple:
        name = self._name(data.get("municipality"))
        points, balance = int(data["points"]), int(data["balance"])
        paragraphs = [
            Para(self.text("voucher_confirm.what", name=name, points=f"{points:,}"), "strong"),
            self.text("voucher_confirm.after", left=f"{balance - points:,}"),
            self.text("voucher_confirm.rules"),
        ]
        actions = [BACK, QUIT, Action("button.issue", ev.Submit(), primary=True)]
        return self.text("voucher_confirm.title"), paragraphs, [], actions

    def _voucher_values(self, voucher: dict[str, Any]) -> dict[str, str]:
        """What tells one voucher from another: its municipality, points, the number's last
        four digits (the number is printed large on the voucher) and its last day."""
        return {"name": self._name(voucher.get("municipality"), voucher["municipality_code"]),
                "points": f"{voucher['points']:,}", "last4": voucher["number"][-4:],
                "date": self._date(voucher["expires_on"])}  # fmt: skip

    def _cancel_choose(self, data: dict[str, Any]) -> tuple:
        paragraphs = [Para(self.text("voucher_cancel_choose.body"), "strong")]
        choices = [
            Action("button.held_voucher", ev.ChooseVoucher(voucher["number"]),
                   values=self._voucher_values(voucher))
            for voucher in data.get("vouchers") or []
        ]  # fmt: skip
        return self.text("voucher_cancel_choose.title"), paragraphs, choices, [BACK, QUIT]

    def _cancel_confirm(self, data: dict[str, Any]) -> tuple:
        values = self._voucher_values(data["voucher"])
        paragraphs = [
            Para(self.text("voucher_cancel_confirm.what", **values), "strong"),
            self.text("voucher_cancel_confirm.after", **values),
            Para(self.text("voucher_cancel_confirm.paper"), "strong"),
        ]
        actions = [BACK, QUIT, Action("button.cancel_it", ev.Submit(), primary=True)]
        return self.text("voucher_cancel_confirm.title"), paragraphs, [], actions

    def _cancelled(self, data: dict[str, Any]) -> tuple:
        name = self._name(data.get("municipality"), data.get("municipality_code", ""))
        points = f"{int(data.get('points') or 0):,}"
        expired = data.get("state") == "expired"  # closed on its last day, before now
        paragraphs: list[Para | str] = [
            Para(self.text("voucher_cancelled.expired" if expired
                           else "voucher_cancelled.returned", name=name, points=points),
                 "strong"),
        ]  # fmt: skip
        balance = data.get("balance")
        if balance is not None:
            paragraphs.append(self.text("voucher_cancelled.balance", name=name,
                                        points=f"{int(balance):,}"))  # fmt: skip
        paragraphs.append(Para(self.text("voucher_cancelled.paper"), "strong"))
        actions = [FINISH] if balance is None else [Action("button.to_page", ev.Back()), FINISH]
        return self.text("voucher_cancelled.title"), paragraphs, [], actions

    def _facilities(self, data: dict[str, Any]) -> tuple:
        paragraphs: list[Para | str] = [self.text("choose_facility.body")]
        if data.get("online") is False:
            paragraphs.append(Para(self.text("link_confirm.offline"), "strong"))
        choices = [
            Action("button.facility_linked" if f["linked"] else "button.facility",
                   ev.ChooseFacility(f["facility"].code),
                   values={"name": self._name(f["facility"]),
                           "municipality": self._name(f.get("municipality"))})
            for f in data.get("facilities") or []
        ]  # fmt: skip
        return self.text("choose_facility.title"), paragraphs, choices, [BACK, QUIT]

    def _link_confirm(self, data: dict[str, Any]) -> tuple:
        what = self.text("link_confirm.what", name=self._name(data.get("facility")),
                         municipality=self._name(data.get("municipality")),
                         last4=data.get("number_last4", ""))  # fmt: skip
        paragraphs: list[Para | str] = [Para(what, "strong"), self.text("link_confirm.note")]
        if data.get("online") is False:
            paragraphs.append(Para(self.text("link_confirm.offline"), "strong"))
        actions = [BACK, QUIT, Action("button.link", ev.Submit(), primary=True)]
        return self.text("link_confirm.title"), paragraphs, [], actions

    def _choose_unlink(self, data: dict[str, Any]) -> tuple:
        paragraphs = [Para(self.text("choose_unlink.body"), "strong")]
        choices = [
            Action("button.linked_card", ev.ChooseFacility(link["facility_code"]),
                   values={"name": self._name(link.get("facility"), link["facility_code"]),
                           "last4": link["number_last4"]})
            for link in data.get("links") or []
        ]  # fmt: skip
        return self.text("choose_unlink.title"), paragraphs, choices, [BACK, QUIT]

    def _unlink_confirm(self, data: dict[str, Any]) -> tuple:
        what = self.text("link_confirm.what", name=self._name(data.get("facility")),
                         municipality=self._name(data.get("municipality")),
                         last4=data["link"]["number_last4"])  # fmt: skip
        paragraphs: list[Para | str] = [Para(what, "strong"), self.text("unlink_confirm.note")]
        actions = [BACK, QUIT, Action("button.unlink", ev.Submit(), primary=True)]
        return self.text("unlink_confirm.title"), paragraphs, [], actions

    def _link_done(self, data: dict[str, Any]) -> tuple:
        state = data.get("state", "pending")
        done = "unlink_done" if data.get("unlinking") else "link_done"
        paragraphs: list[Para | str] = [
            Para(self.text("link_done.receipt", name=self._name(data.get("facility")),
                           receipt=data.get("receipt_number", "")), "strong"),
        ]  # fmt: skip
        if state == "pending":
            paragraphs.append(self.text("link_done.later"))
        if state == "rejected":
            message = data.get("message_ja" if self.language == "ja" else "message_en") or ""
            paragraphs.append(Para(message, "error"))
        return self.text(f"{done}.{state}"), paragraphs, [], [FINISH]

    def _revoke_terms(self, data: dict[str, Any]) -> tuple:
        paragraphs = [
            Para(self.text("revoke_terms.undo"), "alert"),
            Para(self.text("revoke_terms.mynapoint"), "strong"),
            Para(self.text("revoke_terms.points"), "strong"),
            Para(self.text("revoke_terms.links"), "strong"),
        ]
        actions = [BACK, Action("button.understood", ev.Agree(), primary=True)]
        return self.text("revoke_terms.title"), paragraphs, [], actions

    def _revoke_confirm(self, data: dict[str, Any]) -> tuple:
        asked = int(data.get("asked", 1))
        paragraphs = [Para(self.text("revoke_confirm.body.2"), "alert")] if asked == 2 else []
        # "Do not revoke" is the primary, larger choice: the safe one.
        actions = [Action("button.revoke_yes", ev.Submit()),
                   Action("button.revoke_no", ev.Back(), primary=True)]  # fmt: skip
        return self.text(f"revoke_confirm.title.{asked}"), paragraphs, [], actions

    def _revoked(self, data: dict[str, Any]) -> tuple:
        result = data.get("result") or {}
        paragraphs = [
            Para(self.text("revoked.body", mykey_id=result.get("mykey_id", "")), "strong"),
            self.text("revoked.lost", points=f"{int(result.get('points_lapsed') or 0):,}",
                      vouchers=int(result.get("vouchers_void") or 0)),
        ]  # fmt: skip
        return self.text("revoked.title"), paragraphs, [], [FINISH]


load_kv(Path(__file__).with_suffix(".kv"))
