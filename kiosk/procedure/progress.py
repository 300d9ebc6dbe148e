"""Where a citizen is in the procedure: the stages the step bar names (「3/8 暗証番号」).

A stage is what the citizen does, not a screen: reading the card is part of "card", the
wait while the PIN is checked part of "PIN". Steps outside the procedure (the start
screen, a notice that ends the session, the technician's) have no stage and no step bar.
Checking one's status (``my_page``) is a shorter procedure with its own count.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.procedure.flow import Step

# (stage key, the steps that belong to it), in the order they come.
_APPLY: tuple[tuple[str, frozenset[Step]], ...] = (
    ("consent", frozenset({Step.CONSENT})),
    ("card", frozenset({Step.FOR_WHOM, Step.PLACE_CARD, Step.READING, Step.CARD_PROBLEM,
                        Step.CERT_EXPIRED, Step.CERT_TOO_RECENT})),
    ("pin", frozenset({Step.PIN, Step.VERIFYING, Step.PIN_LOCKED})),
    ("service", frozenset({Step.CHECKING, Step.OFFLINE_NOTICE, Step.CHOOSE_SERVICE,
                           Step.ALREADY_APPLIED, Step.NOT_ME, Step.CANCELLED,
                           Step.RESERVATIONS_CLOSED})),
    ("payment_id", frozenset({Step.ENTER_ID})),
    ("code", frozenset({Step.ENTER_CODE, Step.ENTER_PHONE})),
    ("confirm", frozenset({Step.CONFIRM, Step.SUBMITTING, Step.REFUSED})),
    ("slip", frozenset({Step.SLIP, Step.TAKE_CARD})),
)  # fmt: skip
_MY_PAGE: tuple[tuple[str, frozenset[Step]], ...] = (
    ("consent", frozenset({Step.CONSENT})),
    ("card", frozenset({Step.PLACE_CARD, Step.READING, Step.CARD_PROBLEM, Step.CERT_EXPIRED,
                        Step.CERT_TOO_RECENT})),
    ("pin", frozenset({Step.PIN, Step.VERIFYING, Step.PIN_LOCKED})),
    ("status", frozenset({Step.CHECKING, Step.MY_PAGE, Step.TAKE_CARD})),
)  # fmt: skip
# The MyKey platform (city hall): the card, the PIN, what is done, its end.
_PLATFORM: tuple[tuple[str, frozenset[Step]], ...] = (
    ("card", frozenset({Step.PLACE_CARD, Step.READING, Step.CARD_PROBLEM, Step.CERT_EXPIRED,
                        Step.CERT_TOO_RECENT})),
    ("pin", frozenset({Step.PIN, Step.VERIFYING, Step.PIN_LOCKED})),
    ("platform", frozenset({Step.CHECKING, Step.PLATFORM_HOME, Step.PLATFORM_OFFLINE,
                            Step.VOUCHER_AMOUNT, Step.VOUCHER_CONFIRM, Step.ISSUING,
                            Step.CHOOSE_FACILITY, Step.ENTER_SERVICE_NUMBER,
                            Step.LINK_CONFIRM, Step.SUBMITTING, Step.REVOKE_TERMS,
                            Step.REVOKE_CONFIRM, Step.REVOKING, Step.VOUCHER_CANCEL_CHOOSE,
                            Step.VOUCHER_CANCEL_CONFIRM, Step.CANCELLING_VOUCHER,
                            Step.VOUCHER_CANCELLED, Step.CHOOSE_UNLINK,
                            Step.UNLINK_CONFIRM})),
    ("finish", frozenset({Step.VOUCHER_SLIP, Step.LINK_DONE, Step.REVOKED, Step.TAKE_CARD})),
)  # fmt: skip
STAGES = {"apply": _APPLY, "my_page": _MY_PAGE, "platform": _PLATFORM}
# Steps of the platform's procedure only (the application's stages do not count them).
PLATFORM_ONLY = frozenset().union(*(s for _stage, s in _PLATFORM)) - frozenset().union(
    *(s for _stage, s in _APPLY)
)


@dataclass(frozen=True)
class Progress:
    number: int  # 1-based
    total: int
    stage: str  # the i18n key "progress.<stage>" names it


def progress_of(step: Step, purpose: str = "apply") -> Progress | None:
    """The stage of ``step`` in the procedure of ``purpose``; None outside the procedure."""
    stages = STAGES.get(purpose, _APPLY)
    for number, (stage, steps) in enumerate(stages, start=1):
        if step in steps:
            return Progress(number, len(stages), stage)
    return None
