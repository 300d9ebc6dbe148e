"""The citizen's status as the service knows it: the MyKey ID, the application, the points
granted, and why the last submission was refused if it was. A slip of it on request."""

from __future__ import annotations

from pathlib import Path

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, Para, StandardScreen


class MyPageScreen(StandardScreen):
    kind = "my_page"
    steps = (Step.MY_PAGE,)

    def fill(self, view: View, same_step: bool) -> None:
        page = view.data.get("page") or {}
        reservation = page.get("reservation") or {}
        application = page.get("application") or {}
        paragraphs: list[Para | str] = []
        if reservation.get("reserved"):
            paragraphs.append(
                Para(self.text("my_page.reserved", mykey_id=reservation.get("mykey_id")), "strong")
            )
        else:
            paragraphs.append(Para(self.text("my_page.not_reserved"), "strong"))
        state = application.get("state", "none")
        if state in ("active", "cancelled"):
            service = self.context.service_name(application.get("service_code"), self.language)
            paragraphs.append(
                Para(
                    self.text(
                        "my_page.application",
                        service=service,
                        last4=application.get("account_last4") or "----",
                    ),
                    "strong",
                )
            )
            if state == "cancelled":
                paragraphs.append(self.text("my_page.cancelled"))
        else:
            paragraphs.append(self.text("my_page.no_application"))
        points = (page.get("points") or {}).get("points", 0)
        paragraphs.append(self.text("my_page.points", points=f"{points:,}"))
        latest = next(iter(page.get("submissions") or []), None)  # newest first
        if latest is not None and latest.get("state") == "rejected":
            message = latest.get("message_ja" if self.language == "ja" else "message_en", "")
            paragraphs.append(Para(self.text("my_page.refused", message=message), "error"))
        self.present(
            self.text("my_page.title"),
            paragraphs,
            choices=[Action("button.status_slip", ev.StatusSlip())],
            actions=[Action("button.finish", ev.Continue(), primary=True)],
        )


load_kv(Path(__file__).with_suffix(".kv"))
