"""The MyKey platform's branch of the procedure (city hall only): municipal points,
point vouchers, library cards, and revoking the MyKey ID (seed 004). Pure, like the flow
it belongs to (``flow.py`` hands these steps their events).

    welcome -> (place card -> PIN -> looking up) -> the platform's page
      -> voucher: municipality and points -> confirm -> issuing -> voucher slip
      -> cancel a voucher: which one -> confirm -> cancelling -> cancelled (-> the page)
      -> library card: library -> number (typed or scanned) -> confirm -> submitting -> done
      -> unlink a card: which one -> confirm -> submitting -> done
      -> revoke: the consequences (read and heard) -> sure? -> sure, last time? -> revoked

- A voucher is never printed unless the service held its points (``VoucherIssued``);
  offline, issuing is refused with a clear message, and nothing is held.
- An unused voucher is cancelled where it was issued, with the card (seed 004 #4024, and
  what the voucher itself says): its points go back, and the paper can no longer be used.
- Linking and unlinking are submissions like any other: queued when offline, sent later
  (unlinking is offered from the page, so online: the page says what is linked).
- Revoking needs the service, and is asked twice after the consequences.
- A convenience-store kiosk offers none of it: it says where to go instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.procedure import commands as do
from kiosk.procedure import events as ev
from kiosk.procedure.steps import Step
from mynapoint.platform_catalog import PlatformCatalog, normalise_user_number, offered_on
from mynapoint.platform_requests import MAX_VOUCHER_POINTS
from mynapoint.reasons import R

if TYPE_CHECKING:
    from kiosk.procedure.flow import Flow

Handler = Callable[[ev.Event], list[do.Command] | None]
OFFLINE = "OFFLINE"  # the runner's reason when nothing could be sent


class PlatformSteps:
    def __init__(self, flow: Flow, catalog: PlatformCatalog) -> None:
        self.flow = flow
        self.catalog = catalog

    def handlers(self) -> dict[Step, Handler]:
        return {
            Step.PLATFORM_ELSEWHERE: self._on_elsewhere,
            Step.PLATFORM_HOME: self._on_home,
            Step.PLATFORM_OFFLINE: self._on_offline,
            Step.VOUCHER_AMOUNT: self._on_voucher_amount,
            Step.VOUCHER_CONFIRM: self._on_voucher_confirm,
            Step.ISSUING: self._on_issuing,
            Step.VOUCHER_SLIP: self.flow._on_slip,  # printed as a slip is, and the same after
            Step.VOUCHER_CANCEL_CHOOSE: self._on_cancel_choose,
            Step.VOUCHER_CANCEL_CONFIRM: self._on_cancel_confirm,
            Step.CANCELLING_VOUCHER: self._on_cancelling,
            Step.VOUCHER_CANCELLED: self._on_cancelled,
            Step.CHOOSE_FACILITY: self._on_choose_facility,
            Step.ENTER_SERVICE_NUMBER: self._on_enter_number,
            Step.LINK_CONFIRM: self._on_link_confirm,
            Step.LINK_DONE: self._on_link_done,
            Step.CHOOSE_UNLINK: self._on_choose_unlink,
            Step.UNLINK_CONFIRM: self._on_unlink_confirm,
            Step.REVOKE_TERMS: self._on_revoke_terms,
            Step.REVOKE_CONFIRM: self._on_revoke_confirm,
            Step.REVOKING: self._on_revoking,
            Step.REVOKED: self._on_link_done,  # read, then the session ends
        }

    # --- helpers ----------------------------------------------------------------------

    def _go(self, step: Step, **data: Any) -> None:
        self.flow._go(step, **data)

    @property
    def _session(self) -> Any:
        return self.flow.session

    def start(self) -> list[do.Command]:  # the flow's commands are typed there
        """The welcome screen's button: at a convenience store, where to go instead."""
        if not offered_on(self.flow.channel):
            reason = R.NOT_AT_CITY_HALL.value
            self._go(Step.PLATFORM_ELSEWHERE, reason_code=reason.code,
                     message_ja=reason.message_ja, message_en=reason.message_en)  # fmt: skip
            return []
        return self.flow._place_card()

    def looked_up(self, event: ev.Event) -> list[do.Command] | None:
        """The answer to ``LookUpPlatform`` (the CHECKING step's, for this purpose)."""
        if isinstance(event, ev.PlatformFound):
            self.flow.session.online = self.flow.network_up = True
            self._session.platform_page = event.page
            return self._home()
        if isinstance(event, ev.PlatformUnavailable):
            self.flow.session.online = self.flow.network_up = False
            self._go(Step.PLATFORM_OFFLINE)
            return []
        if isinstance(event, ev.PlatformRefused):
            return self._refused(event.reason_code, event.message_ja, event.message_en)
        return None

    def _refused(
        self, reason_code: str | None, message_ja: str, message_en: str
    ) -> list[do.Command]:
        """The service's refusal, in its own words (and its code, for the staff)."""
        self._go(Step.NOTICE, reason_code=reason_code, message_ja=message_ja,
                 message_en=message_en)  # fmt: skip
        return []

    def _failed(self, event: ev.PlatformRequestFailed, what: str) -> list[do.Command]:
        """A request that did not go through: the kiosk's notice ``<what>.unknown`` (sent,
        no answer) or ``<what>.offline`` (nothing sent), else the service's refusal."""
        if event.unknown or event.reason_code == OFFLINE:
            self.flow.network_up = False
            self._go(Step.NOTICE, problem=f"{what}.unknown" if event.unknown else f"{what}.offline")
            return []
        return self._refused(event.reason_code, event.message_ja, event.message_en)

    def _home(self, **extra: Any) -> list[do.Command]:
        page = self._session.platform_page or {}
        self._go(Step.PLATFORM_HOME, balances=self._balances(page),
                 vouchers=page.get("vouchers", []), links=self._links(page), **extra)  # fmt: skip
        return []

    def _balances(self, page: dict[str, Any]) -> list[dict[str, Any]]:
        """Each municipality's balance, with its names (the catalog's)."""
        shown = []
        for balance in page.get("balances", []):
            municipality = self.catalog.municipality(balance["municipality_code"])
            shown.append({**balance, "municipality": municipality})
        return shown

    def _links(self, page: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**link, "facility": self.catalog.facility(link["facility_code"])}
                for link in page.get("links", [])]  # fmt: skip

    def _quit_or_back(
        self, event: ev.Event, back: Callable[[], list[do.Command]]
    ) -> list[do.Command] | None:
        if isinstance(event, ev.Quit):
            return self.flow._end()
        if isinstance(event, ev.Back):
            return back()
        return None

    # --- the page -----------------------------------------------------------------------

    def _on_elsewhere(self, event: ev.Event) -> list[do.Command] | None:
        return self.flow._end() if isinstance(event, ev.Continue | ev.Quit | ev.Back) else None

    def _on_home(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.ChooseAction):
            if event.action == "voucher":
                return self._voucher_amount()
            if event.action == "cancel_voucher":
                return self._cancel_choose()
            if event.action == "link":
                return self._choose_facility()
            if event.action == "unlink":
                return self._choose_unlink()
            return self._revoke_terms()
        if isinstance(event, ev.Continue | ev.Quit | ev.Back):
            return self.flow._end()
        return None

    def _on_offline(self, event: ev.Event) -> list[do.Command] | None:
        """Offline: no balances, no vouchers, no revocation; a library card can be linked
        (it is queued and sent later)."""
        if isinstance(event, ev.ChooseAction) and event.action == "link":
            return self._choose_facility()
        if isinstance(event, ev.Continue | ev.Quit | ev.Back):
            return self.flow._end()
        return None

    def _back_home(self) -> list[do.Command]:
        if self._session.platform_page is None:  # offline
            self._go(Step.PLATFORM_OFFLINE)
            return []
        return self._home()

    # --- vouchers -------------------------------------------------------------------------

    def _spendable(self) -> dict[str, int]:
        page = self._session.platform_page or {}
        return {
            b["municipality_code"]: b["points"] for b in page.get("balances", []) if b["points"] > 0
        }

    def _voucher_amount(self, **extra: Any) -> list[do.Command]:
        spendable = self._spendable()
        if not spendable:
            return self._home(no_points=True)
        chosen = self._session.voucher_municipality
        if chosen not in spendable:
            chosen = next(iter(spendable)) if len(spendable) == 1 else None
        self._session.voucher_municipality = chosen
        choices = [{"code": code, "points": points, "municipality": self.catalog.municipality(code)}
                   for code, points in spendable.items()]  # fmt: skip
        self._go(Step.VOUCHER_AMOUNT, choices=choices, chosen=chosen,
                 most=min(spendable.get(chosen or "", 0), MAX_VOUCHER_POINTS), **extra)  # fmt: skip
        return []

    def _on_voucher_amount(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.ChooseMunicipality) and event.code in self._spendable():
            self._session.voucher_municipality = event.code
            return self._voucher_amount()
        if isinstance(event, ev.PointsTyped):
            return self._points_typed(event.text)
        return self._quit_or_back(event, self._back_home)

    def _points_typed(self, text: str) -> list[do.Command]:
        code = self._session.voucher_municipality
        if code is None:
            return self._voucher_amount(error="voucher.choose_municipality")
        most = min(self._spendable().get(code, 0), MAX_VOUCHER_POINTS)
        digits = text.strip()
        if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) <= most:
            return self._voucher_amount(error="voucher.points_range")
        self._session.voucher_points = int(digits)
        self._session.voucher_request = str(uuid.uuid4())  # a new voucher: a new request
        self._go(Step.VOUCHER_CONFIRM, municipality=self.catalog.municipality(code),
                 points=int(digits), balance=self._spendable()[code])  # fmt: skip
        return []

    def _on_voucher_confirm(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Submit):
            session = self._session
            assert (
                session.voucher_municipality and session.voucher_points and session.voucher_request
            )
            self._go(Step.ISSUING)
            return [do.IssueVoucher(session.voucher_municipality, session.voucher_points,
                                    session.voucher_request)]  # fmt: skip
        return self._quit_or_back(event, self._voucher_amount)

    def _on_issuing(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.VoucherIssued):
            municipality = self.catalog.municipality(event.voucher["municipality_code"])
            code = event.voucher["municipality_code"]
            voucher = {
                **event.voucher,  # the names as printed: the catalog's, or the code
                "municipality_name_ja": municipality.name_ja if municipality else code,
                "municipality_name_en": municipality.name_en if municipality else code,
            }
            self._go(Step.VOUCHER_SLIP, printing=True, voucher=voucher)
            return [do.PrintVoucher(voucher, self._session.language)]
        if isinstance(event, ev.VoucherNotIssued):
            # No answer: the points may have been held, and then the voucher shows on the
            # citizen's page; nothing sent: nothing held.
            return self._failed(event, "voucher")
        if isinstance(event, ev.CardFailed):
            return self.flow._card_problem(event)
        return None

    # --- cancelling an unused voucher ---------------------------------------------------------

    def _held(self) -> list[dict[str, Any]]:
        """The citizen's unused vouchers, each with its municipality (the catalog's)."""
        return [{**voucher, "municipality": self.catalog.municipality(voucher["municipality_code"])}
                for voucher in (self._session.platform_page or {}).get("vouchers", [])]  # fmt: skip

    def _cancel_choose(self) -> list[do.Command]:
        held = self._held()
        if not held:
            return self._home()
        self._go(Step.VOUCHER_CANCEL_CHOOSE, vouchers=held)
        return []

    def _on_cancel_choose(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.ChooseVoucher):
            chosen = [v for v in self._held() if v["number"] == event.number]
            if not chosen:
                return None
            self._session.voucher_to_cancel = event.number
            self._go(Step.VOUCHER_CANCEL_CONFIRM, voucher=chosen[0])
            return []
        return self._quit_or_back(event, self._back_home)

    def _on_cancel_confirm(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Submit):
            number = self._session.voucher_to_cancel
            assert number is not None
            self._go(Step.CANCELLING_VOUCHER)
            return [do.CancelVoucher(number)]
        return self._quit_or_back(event, self._cancel_choose)

    def _on_cancelling(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.VoucherCancelled):
            return self._cancelled(event)
        if isinstance(event, ev.VoucherNotCancelled):
            return self._failed(event, "voucher_cancel")
        if isinstance(event, ev.CardFailed):
            return self.flow._card_problem(event)
        return None

    def _cancelled(self, event: ev.VoucherCancelled) -> list[do.Command]:
        """What came back, and the balance it went to (the page asked again, when it
        answered: the service's figures, not the kiosk's sums)."""
        session, result = self._session, event.result
        code = result["municipality_code"]
        if event.page is not None:
            session.platform_page = event.page
        elif session.platform_page is not None:  # at least not offered again
            held = [v for v in session.platform_page.get("vouchers", [])
                    if v["number"] != result["number"]]  # fmt: skip
            session.platform_page = {**session.platform_page, "vouchers": held}
        balance = None
        if event.page is not None:
            balance = next((b["points"] for b in event.page.get("balances", [])
                            if b["municipality_code"] == code), 0)  # fmt: skip
        session.voucher_to_cancel = None
        self._go(Step.VOUCHER_CANCELLED, state=result["state"], points=result["points_returned"],
                 municipality=self.catalog.municipality(code), municipality_code=code,
                 balance=balance)  # fmt: skip
        return []

    def _on_cancelled(self, event: ev.Event) -> list[do.Command] | None:
        # Back to the page only when it was asked again: an old one would show old figures.
        if isinstance(event, ev.Back) and self.flow.data.get("balance") is not None:
            return self._home()
        if isinstance(event, ev.Continue | ev.Quit):
            return self.flow._end()
        return None

    # --- library cards ----------------------------------------------------------------------

    def _choose_facility(self) -> list[do.Command]:
        linked = {
            link["facility_code"] for link in (self._session.platform_page or {}).get("links", [])
        }
        facilities = [{"facility": f, "linked": f.code in linked,
                       "municipality": self.catalog.municipality(f.municipality_code)}
                      for f in self.catalog.facilities]  # fmt: skip
        self._go(Step.CHOOSE_FACILITY, facilities=facilities, online=self._session.online)
        return []

    def _on_choose_facility(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.ChooseFacility) and self.catalog.facility(event.code):
            self._session.facility_code = event.code
            return self._enter_number()
        return self._quit_or_back(event, self._back_home)

    def _enter_number(self, **extra: Any) -> list[do.Command]:
        facility = self.catalog.facility(self._session.facility_code or "")
        self._go(Step.ENTER_SERVICE_NUMBER, facility=facility, **extra)
        return []

    def _on_enter_number(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.ServiceNumberTyped | ev.BarcodeScanned):
            facility = self.catalog.facility(self._session.facility_code or "")
            assert facility is not None
            number = normalise_user_number(event.text)
            if not facility.accepts(number):
                scanned = isinstance(event, ev.BarcodeScanned)
                return self._enter_number(error="link.number_format", scanned=scanned)
            self._session.service_number = number
            self._go(Step.LINK_CONFIRM, facility=facility, number_last4=number[-4:],
                     municipality=self.catalog.municipality(facility.municipality_code),
                     online=self._session.online)  # fmt: skip
            return []
        return self._quit_or_back(event, self._choose_facility)

    def _on_link_confirm(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Submit):
            session = self._session
            assert session.facility_code and session.service_number
            item = do.LinkService(session.facility_code, session.service_number)
            session.service_number = None  # signed and queued: not kept in memory
            self._go(Step.SUBMITTING, linking=True)
            return [do.SignAndSubmit((item,))]
        return self._quit_or_back(event, self._enter_number)

    # --- unlinking a card -----------------------------------------------------------------

    def _choose_unlink(self) -> list[do.Command]:
        links = self._links(self._session.platform_page or {})
        if not links:
            return self._home()
        self._go(Step.CHOOSE_UNLINK, links=links)
        return []

    def _on_choose_unlink(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.ChooseFacility):
            chosen = [link for link in self._links(self._session.platform_page or {})
                      if link["facility_code"] == event.code]  # fmt: skip
            if not chosen:
                return None
            self._session.facility_code = event.code
            facility = chosen[0]["facility"]
            municipality = self.catalog.municipality(chosen[0]["municipality_code"])
            self._go(Step.UNLINK_CONFIRM, link=chosen[0], facility=facility,
                     municipality=municipality)  # fmt: skip
            return []
        return self._quit_or_back(event, self._back_home)

    def _on_unlink_confirm(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Submit):
            code = self._session.facility_code
            assert code is not None
            self._go(Step.SUBMITTING, linking=True)
            return [do.SignAndSubmit((do.UnlinkService(code),))]
        return self._quit_or_back(event, self._choose_unlink)

    def submitted(self, outcomes: tuple[ev.Outcome, ...]) -> list[do.Command]:
        """A link's or an unlink's outcome (the SUBMITTING step's, for this purpose)."""
        outcome = outcomes[0]
        facility = self.catalog.facility(self._session.facility_code or "")
        result = outcome.result or {}
        self._go(Step.LINK_DONE, state=outcome.state, facility=facility,
                 unlinking=outcome.kind == "service_unlink",
                 receipt_number=outcome.receipt_number, reason_code=outcome.reason_code,
                 message_ja=result.get("message_ja", ""), message_en=result.get("message_en", ""),
                 number_last4=((result.get("result") or {}).get("number_last4")))  # fmt: skip
        return []

    def _on_link_done(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Continue | ev.Quit | ev.Back):
            return self.flow._end()
        return None

    # --- revoking ---------------------------------------------------------------------------

    def _revoke_terms(self) -> list[do.Command]:
        self._go(Step.REVOKE_TERMS, mykey_id=(self._session.platform_page or {}).get("mykey_id"))
        return []

    def _on_revoke_terms(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Agree):  # read and heard: now asked twice
            self._go(Step.REVOKE_CONFIRM, asked=1)
            return []
        return self._quit_or_back(event, self._back_home)

    def _on_revoke_confirm(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Submit):
            if self.flow.data.get("asked") == 1:
                self._go(Step.REVOKE_CONFIRM, asked=2)
                return []
            self._go(Step.REVOKING)
            return [do.Revoke(confirmations=2)]
        # "No" at either question: nothing happens, back to the page.
        return self._quit_or_back(event, self._back_home)

    def _on_revoking(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Revoked):
            self._go(Step.REVOKED, result=event.result)
            return []
        if isinstance(event, ev.RevocationFailed):
            if event.reason_code == OFFLINE:
                self._go(Step.NOTICE, problem="revoke.offline")
                return []
            return self._refused(event.reason_code, event.message_ja, event.message_en)
        if isinstance(event, ev.CardFailed):
            return self.flow._card_problem(event)
        return None
