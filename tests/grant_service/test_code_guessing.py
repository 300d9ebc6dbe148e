"""A security code cannot be guessed at the kiosk: wrong codes are counted per payment
account and per card, and the operator is asked only when the application could
otherwise go through (so its answer tells nothing about someone else's account)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from grant_service.models import CodeFailures
from tests.support.service_cluster import at_once, outcome, running_cluster
from tests.support.service_harness import MY_SECRET_IDS, PAYPAY_ID, SECURITY_CODE, ServiceEnv


@pytest.fixture
def operator_calls(service: ServiceEnv, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The payment IDs the service asked the operator about (the registry still answers)."""
    registry = service.app.state.service.processor.registry
    calls: list[str] = []
    verify = registry.verify

    def counted(service_code: str, payment_id: str, security_code: str):  # type: ignore[no-untyped-def]
        calls.append(payment_id)
        return verify(service_code, payment_id, security_code)

    monkeypatch.setattr(registry, "verify", counted)
    return calls


def reason(reply: object) -> str | None:
    return reply.body.get("reason_code")  # type: ignore[attr-defined]


def test_wrong_codes_for_an_account_pause_it_then_the_window_ends(
    service: ServiceEnv, operator_calls: list[str]
) -> None:
    kiosk = service.kiosk()
    guessers = [service.card() for _ in range(5)]
    for card in guessers:
        assert kiosk.reserve(card).status_code == 200
        wrong = kiosk.apply(card, "paypay", PAYPAY_ID, security_code="000000")
        assert reason(wrong) == "MKCZ374E"
    holder = service.card()
    assert kiosk.reserve(holder).status_code == 200
    asked = len(operator_calls)
    paused = kiosk.apply(holder)  # the right code, but the account is paused
    assert (paused.status_code, reason(paused)) == (422, "TOO_MANY_CODE_FAILURES")
    assert "try again after" in paused.body["detail"]
    assert len(operator_calls) == asked, "the operator was asked while the account is paused"
    service.clock.advance(hours=24, seconds=1)
    service.import_crl()
    assert kiosk.apply(holder).status_code == 200


def test_wrong_codes_from_one_card_pause_the_card(make_service: Callable[..., ServiceEnv]) -> None:
    service = make_service(code_failures_per_card=3)
    kiosk, card = service.kiosk(), service.card()
    assert kiosk.reserve(card).status_code == 200
    for payment_id in MY_SECRET_IDS["paypay"]:  # a different account each time
        assert reason(kiosk.apply(card, "paypay", payment_id, security_code="0")) == "MKCZ374E"
    assert reason(kiosk.apply(card)) == "TOO_MANY_CODE_FAILURES"
    other = service.card()  # another person is not affected
    assert kiosk.reserve(other).status_code == 200
    assert kiosk.apply(other).status_code == 200


def test_an_account_in_use_is_refused_the_same_whatever_the_code(
    service: ServiceEnv, operator_calls: list[str]
) -> None:
    """Before, the operator was asked first: a right code got ACCOUNT_ALREADY_USED and a
    wrong one MKCZ374E, which told a guesser the code of someone else's account."""
    kiosk, holder, other = service.kiosk(), service.card(), service.card()
    for card in (holder, other):
        assert kiosk.reserve(card).status_code == 200
    assert kiosk.apply(holder).status_code == 200
    asked = len(operator_calls)
    right = kiosk.apply(other, "paypay", PAYPAY_ID, security_code=SECURITY_CODE)
    wrong = kiosk.apply(other, "paypay", PAYPAY_ID, security_code="999999")
    assert reason(right) == reason(wrong) == "ACCOUNT_ALREADY_USED"
    assert len(operator_calls) == asked, "the operator was asked about an account in use"


def test_probing_accounts_in_use_counts_against_the_card_not_the_account(
    make_service: Callable[..., ServiceEnv],
) -> None:
    service = make_service(code_failures_per_card=2, code_failures_per_account=1)
    kiosk, holder, prober = service.kiosk(), service.card(), service.card()
    for card in (holder, prober):
        assert kiosk.reserve(card).status_code == 200
    assert kiosk.apply(holder).status_code == 200
    for _ in range(2):
        assert reason(kiosk.apply(prober)) == "ACCOUNT_ALREADY_USED"
    assert reason(kiosk.apply(prober)) == "TOO_MANY_CODE_FAILURES"
    with service.sessions() as session:
        kinds = set(session.scalars(select(CodeFailures.kind)))
    assert kinds == {"card"}, "the account's holder did nothing wrong"


def test_wrong_codes_sent_at_once_are_all_counted(
    make_service: Callable[..., ServiceEnv], tmp_path: Path
) -> None:
    """Eight cards guess one account's code at the same instant, on two processes: every
    guess is counted (none lost to a race), and the account is paused after five."""
    service = make_service()
    kiosk = service.kiosk()
    cards = [service.card() for _ in range(8)]
    for card in cards:
        assert kiosk.reserve(card).status_code == 200
    guesses = [kiosk.application(card, "paypay", PAYPAY_ID, security_code="0") for card in cards]
    with running_cluster(service, tmp_path) as cluster:
        clients = [cluster.client(kiosk, i) for i in range(8)]
        replies = at_once(
            [lambda c=c, g=g: c.submit(g) for c, g in zip(clients, guesses, strict=True)]
        )
    reasons = sorted(str(outcome(r)[1]) for r in replies)
    assert reasons.count("MKCZ374E") == 5 and reasons.count("TOO_MANY_CODE_FAILURES") == 3
    with service.sessions() as session:
        account = session.scalar(select(CodeFailures).where(CodeFailures.kind == "account"))
    assert account.failures == 5
