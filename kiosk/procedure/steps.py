"""The steps of the citizen's procedure (``flow.py``) and which are which: one place, so
that the flow and its MyKey platform branch (``platform_steps.py``) share them."""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    WELCOME = "welcome"
    CONSENT = "consent"
    FOR_WHOM = "for_whom"
    PLACE_CARD = "place_card"
    READING = "reading"
    CARD_PROBLEM = "card_problem"
    CERT_EXPIRED = "cert_expired"
    CERT_TOO_RECENT = "cert_too_recent"
    PIN = "pin"
    VERIFYING = "verifying"
    PIN_LOCKED = "pin_locked"
    CHECKING = "checking"
    OFFLINE_NOTICE = "offline_notice"
    ALREADY_APPLIED = "already_applied"
    NOT_ME = "not_me"
    CANCELLED = "cancelled"
    RESERVATIONS_CLOSED = "reservations_closed"
    NOTICE = "notice"  # a refusal or a problem to read, then the session ends
    CHOOSE_SERVICE = "choose_service"
    ENTER_ID = "enter_id"
    ENTER_CODE = "enter_code"
    ENTER_PHONE = "enter_phone"
    CONFIRM = "confirm"
    SUBMITTING = "submitting"
    REFUSED = "refused"  # the ID or security code was refused: correct and retry
    SLIP = "slip"
    MY_PAGE = "my_page"
    TAKE_CARD = "take_card"
    CARD_LEFT = "card_left"
    CARD_REMOVED = "card_removed"  # taken away mid-procedure: nothing was sent
    TECHNICIAN_PIN = "technician_pin"
    TECHNICIAN = "technician"
    # The MyKey platform (city hall): municipal points, vouchers, library cards.
    PLATFORM_ELSEWHERE = "platform_elsewhere"  # a convenience store: where to go instead
    PLATFORM_HOME = "platform_home"
    PLATFORM_OFFLINE = "platform_offline"
    VOUCHER_AMOUNT = "voucher_amount"
    VOUCHER_CONFIRM = "voucher_confirm"
    ISSUING = "issuing"
    VOUCHER_SLIP = "voucher_slip"
    VOUCHER_CANCEL_CHOOSE = "voucher_cancel_choose"  # an unused voucher, back to points
    VOUCHER_CANCEL_CONFIRM = "voucher_cancel_confirm"
    CANCELLING_VOUCHER = "cancelling_voucher"
    VOUCHER_CANCELLED = "voucher_cancelled"
    CHOOSE_FACILITY = "choose_facility"
    ENTER_SERVICE_NUMBER = "enter_service_number"
    LINK_CONFIRM = "link_confirm"
    LINK_DONE = "link_done"
    CHOOSE_UNLINK = "choose_unlink"  # a linked card, to unlink
    UNLINK_CONFIRM = "unlink_confirm"
    REVOKE_TERMS = "revoke_terms"
    REVOKE_CONFIRM = "revoke_confirm"
    REVOKING = "revoking"
    REVOKED = "revoked"


# The technician's steps: not a citizen's (no voice, no step bar, no citizen controls).
TECHNICIAN_STEPS = frozenset({Step.TECHNICIAN_PIN, Step.TECHNICIAN})
# Steps a card's removal does not interrupt: notices, and what was signed already (the
# submission goes on; what was sent gets its slip).
STAYS_WITHOUT_CARD = {
    Step.CARD_PROBLEM, Step.CERT_EXPIRED, Step.CERT_TOO_RECENT, Step.PIN_LOCKED,
    Step.NOTICE, Step.RESERVATIONS_CLOSED, Step.MY_PAGE, Step.SUBMITTING, Step.SLIP,
    Step.ISSUING, Step.VOUCHER_SLIP, Step.REVOKING, Step.REVOKED, Step.LINK_DONE,
    Step.CANCELLING_VOUCHER, Step.VOUCHER_CANCELLED,
}  # fmt: skip
# Steps while a command runs: no idle timeout (a read or a submission is not cut off).
BUSY = {
    Step.READING, Step.VERIFYING, Step.CHECKING, Step.SUBMITTING, Step.ISSUING, Step.REVOKING,
    Step.CANCELLING_VOUCHER,
}  # fmt: skip
# Steps during which a card is (or may be) on the reader: leaving them goes through
# "take your card".
WITH_CARD = {
    Step.READING, Step.CARD_PROBLEM, Step.CERT_EXPIRED, Step.CERT_TOO_RECENT, Step.PIN,
    Step.VERIFYING, Step.PIN_LOCKED, Step.CHECKING, Step.OFFLINE_NOTICE,
    Step.ALREADY_APPLIED, Step.NOT_ME, Step.CANCELLED, Step.RESERVATIONS_CLOSED, Step.NOTICE,
    Step.CHOOSE_SERVICE, Step.ENTER_ID, Step.ENTER_CODE, Step.ENTER_PHONE, Step.CONFIRM,
    Step.SUBMITTING, Step.REFUSED, Step.SLIP, Step.MY_PAGE,
    Step.PLATFORM_HOME, Step.PLATFORM_OFFLINE, Step.VOUCHER_AMOUNT, Step.VOUCHER_CONFIRM,
    Step.ISSUING, Step.VOUCHER_SLIP, Step.CHOOSE_FACILITY, Step.ENTER_SERVICE_NUMBER,
    Step.LINK_CONFIRM, Step.LINK_DONE, Step.REVOKE_TERMS, Step.REVOKE_CONFIRM, Step.REVOKING,
    Step.REVOKED, Step.VOUCHER_CANCEL_CHOOSE, Step.VOUCHER_CANCEL_CONFIRM,
    Step.CANCELLING_VOUCHER, Step.VOUCHER_CANCELLED, Step.CHOOSE_UNLINK, Step.UNLINK_CONFIRM,
}  # fmt: skip
