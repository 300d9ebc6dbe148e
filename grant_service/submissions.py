"""Taking in envelopes: checked, exactly once, in kiosk order, every outcome audited.

Idempotency follows the IETF Idempotency-Key draft, with the envelope's UUID as the key:
a replay of a finished UUID gets the stored first result; the same UUID with another
envelope is refused (422); a UUID being processed by another request is 409. However many
copies of a UUID arrive at once, on however many service processes, exactly one is
processed: the request first *claims* its UUIDs in a short transaction of its own
(``claims.py``), then applies the rules in a second transaction that locks its claims,
then the people it is about, and stores each final result with the changes it made
(``locking.py`` has the one lock order). Pending outcomes (an operator or CRL that cannot
answer now) give their claim back, so the kiosk's retry is processed afresh.

Items of one card apply in kiosk order (the envelope's ``sequence``): inside one batch,
once an item of a card is pending, that card's later items wait too; across requests, an
item waits (BLOCKED_BY_EARLIER_ITEM) while an earlier item of its card from the same
kiosk is unsettled, also when the request holding it died between its claim and its
apply (the claim was committed, so the service knows the earlier item exists).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from grant_service import audit, claims, envelope_time, locking, rules, service_links
from grant_service.catalog import Catalog, CatalogCache
from grant_service.keys import ServiceKeys
from grant_service.ledger import Ledger
from grant_service.operators import OperatorRegistry
from grant_service.pki import CardIdentity, CardTrust
from grant_service.refusals import Refused, validation_detail
from grant_service.settings import Settings
from mynapoint.envelope import (
    ApplicationEnvelope,
    CancellationEnvelope,
    Envelope,
    ReservationEnvelope,
    ServiceLinkEnvelope,
    ServiceUnlinkEnvelope,
    parse_envelope,
)
from mynapoint.payment_ids import normalise_payment_id
from mynapoint.platform_catalog import PlatformCatalog
from mynapoint.reasons import R

log = logging.getLogger(__name__)

Status = Literal["accepted", "rejected", "pending", "error"]


class ItemResult(BaseModel):
    """The answer for one envelope (also the body of ``POST /v1/submissions``)."""

    uuid: str | None
    status: Status
    http_status: int
    receipt_number: str | None = None
    reason_code: str | None = None
    message_ja: str | None = None
    message_en: str | None = None
    detail: str | None = None
    result: dict[str, Any] | None = None
    replayed: bool = False

    @classmethod
    def accepted(cls, envelope: Envelope, result: dict[str, Any]) -> ItemResult:
        return cls(
            uuid=envelope.uuid,
            status="accepted",
            http_status=200,
            receipt_number=envelope.receipt_number,
            result=result,
        )

    @classmethod
    def refused(
        cls, refusal: Refused, uuid: str | None = None, receipt_number: str | None = None
    ) -> ItemResult:
        reason = refusal.reason.value
        return cls(
            uuid=uuid,
            status=reason.outcome,
            http_status=reason.http_status,
            receipt_number=receipt_number,
            reason_code=reason.code,
            message_ja=reason.message_ja,
            message_en=reason.message_en,
            detail=refusal.detail,
        )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


_ENVELOPE_TYPES = (
    ReservationEnvelope,
    ApplicationEnvelope,
    CancellationEnvelope,
    ServiceLinkEnvelope,
    ServiceUnlinkEnvelope,
)


@dataclass
class _Candidate:
    index: int
    envelope: Envelope
    identity: CardIdentity
    fingerprint: str

    @property
    def uuid(self) -> str:
        return self.envelope.uuid

    @property
    def card(self) -> tuple[str, str]:
        return self.identity.issuer, self.identity.serial_hex


# Errors after which the whole apply transaction is simply done again: a clash of random
# MyKey IDs or of two cards of one person on a unique index (IntegrityError), and what
# PostgreSQL reports when it had to break a circle of waits or a serialisation conflict
# (which the lock order should make impossible: retried rather than failed if it happens).
_RETRIED_SQLSTATES = {"40P01", "40001"}
APPLY_ATTEMPTS = 3


def _retried(error: Exception) -> bool:
    if isinstance(error, IntegrityError):
        return True
    return (
        isinstance(error, OperationalError)
        and getattr(error.orig, "sqlstate", None) in _RETRIED_SQLSTATES
    )


@dataclass
class SubmissionProcessor:
    sessions: sessionmaker[Session]
    settings: Settings
    trust: CardTrust
    registry: OperatorRegistry
    catalogs: CatalogCache
    keys: ServiceKeys
    platform: PlatformCatalog
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    # For the claim: on PostgreSQL each of its statements is atomic on its own, so it runs
    # without a transaction around it (one round trip in the common case).
    single_writes: sessionmaker[Session] | None = None

    def process(self, device: rules.Device, items: list[Any]) -> list[ItemResult]:
        """A result per item, in order; an item is an envelope's JSON, or an envelope."""
        now = self.clock()
        results: list[ItemResult | None] = [None] * len(items)
        candidates = []
        for index, raw in enumerate(items):
            outcome = self._authenticate(device, raw, now)
            if isinstance(outcome, ItemResult):
                results[index] = outcome
            else:
                envelope, identity, signed = outcome
                candidates.append(
                    _Candidate(index, envelope, identity, self._fingerprint(envelope, signed))
                )
        # Items refused before the claim (malformed, wrong kiosk, bad signature).
        events = [self._event(device.kiosk_id, None, r) for r in results if r is not None]
        token = secrets.token_hex(16)
        with (self.single_writes or self.sessions).begin() as session:
            claimed = self._claim(session, candidates, results, now, token)
        for candidate in candidates:
            if candidate not in claimed:
                answer = results[candidate.index]
                assert answer is not None, "_claim answers every candidate it leaves"
                events.append(self._event(device.kiosk_id, candidate.envelope, answer))
        if events:  # errors, replays, conflicts: recorded too
            with self.sessions.begin() as session:
                audit.append_many(session, self.keys.audit_hmac, events, now)
        if claimed:
            self._apply_claimed(device, claimed, results, now, token)
        return [r for r in results if r is not None]

    # --- step 1: is it a real envelope from a real card? --------------------------------

    def _authenticate(
        self, device: rules.Device, raw: Any, now: dt.datetime
    ) -> ItemResult | tuple[Envelope, CardIdentity, bytes]:
        if isinstance(raw, _ENVELOPE_TYPES):  # parsed already (the one-envelope route)
            envelope = raw
        else:
            uuid = raw.get("uuid") if isinstance(raw, dict) else None
            uuid = uuid if isinstance(uuid, str) else None
            try:
                envelope = parse_envelope(raw)
            except ValidationError as exc:
                refusal = Refused(R.MALFORMED, describe_validation_error(exc))
                return ItemResult.refused(refusal, uuid)
        if envelope.kiosk_id != device.kiosk_id:
            return ItemResult.refused(
                Refused(R.KIOSK_MISMATCH, f"sent by {device.kiosk_id}"), envelope.uuid
            )
        skew = dt.timedelta(seconds=self.settings.clock_skew_seconds)
        signed = envelope.signed_bytes()
        try:
            identity = self.trust.authenticate(envelope, now, skew, signed)
        except Refused as refusal:
            return ItemResult.refused(refusal, envelope.uuid, envelope.receipt_number)
        return envelope, identity, signed

    def _fingerprint(self, envelope: Envelope, signed: bytes) -> str:
        # Keyed, because the signed bytes include the security code.
        message = signed + b"\x00" + envelope.signature.encode("ascii")
        return hmac.new(self.keys.account_hmac, message, "sha256").hexdigest()

    # --- step 2: claim the UUIDs (committed before any rule runs) ----------------------

    def _claim(
        self,
        session: Session,
        candidates: list[_Candidate],
        results: list[ItemResult | None],
        now: dt.datetime,
        token: str,
    ) -> list[_Candidate]:
        """Claim every UUID this request may process; answer the others from their row."""
        first: dict[str, _Candidate] = {}
        for candidate in candidates:
            if candidate.uuid in first:  # the same UUID twice in one batch: it waits its turn
                refusal = Refused(R.IN_FLIGHT, "sent twice in this batch")
                results[candidate.index] = self._refused(refusal, candidate)
            else:
                first[candidate.uuid] = candidate
        lease = now + dt.timedelta(seconds=self.settings.in_flight_lease_seconds)
        rows = [self._claim_row(c) for c in first.values()]
        claimed, found = claims.claim(session, rows, token=token, now=now, lease=lease)
        for uuid, candidate in first.items():
            if uuid not in claimed:
                results[candidate.index] = self._answer_from(found.get(uuid), candidate)
        return [c for c in first.values() if c.uuid in claimed]

    @staticmethod
    def _claim_row(candidate: _Candidate) -> claims.ClaimRow:
        envelope = candidate.envelope
        return claims.ClaimRow(
            uuid=envelope.uuid,
            fingerprint=candidate.fingerprint,
            kind=envelope.kind,
            kiosk_id=envelope.kiosk_id,
            receipt_number=envelope.receipt_number,
            card_issuer=candidate.identity.issuer,
            card_serial_hex=candidate.identity.serial_hex,
            sequence=envelope.sequence,
            kiosk_time=envelope.time,
        )

    def _answer_from(self, found: claims.Found | None, candidate: _Candidate) -> ItemResult:
        """The answer for a UUID another request holds or has finished."""
        if found is not None and not hmac.compare_digest(found.fingerprint, candidate.fingerprint):
            return self._refused(Refused(R.IDEMPOTENCY_KEY_REUSED), candidate)
        if found is not None and found.state == "done":
            stored = ItemResult.model_validate_json(found.result_json or "{}")
            return stored.model_copy(update={"replayed": True})
        return self._refused(Refused(R.IN_FLIGHT), candidate)

    @staticmethod
    def _refused(refusal: Refused, candidate: _Candidate) -> ItemResult:
        envelope = candidate.envelope
        return ItemResult.refused(refusal, envelope.uuid, envelope.receipt_number)

    # --- step 3: apply the rules, in kiosk order ------------------------------------------

    def _apply_claimed(
        self,
        device: rules.Device,
        claimed: list[_Candidate],
        results: list[ItemResult | None],
        now: dt.datetime,
        token: str,
    ) -> None:
        try:
            for attempt in range(1, APPLY_ATTEMPTS + 1):
                try:
                    outcomes = self._apply_batch(device, claimed, now, token)
                    break
                except (IntegrityError, OperationalError) as error:
                    if not _retried(error) or attempt == APPLY_ATTEMPTS:
                        raise
                    log.warning("apply redone (%s, attempt %d)", type(error.orig).__name__,
                                attempt)  # fmt: skip
        except Exception:
            self._release(claimed, token)
            raise
        for candidate, result in outcomes:
            results[candidate.index] = result

    def _apply_batch(
        self,
        device: rules.Device,
        claimed: list[_Candidate],
        now: dt.datetime,
        token: str,
    ) -> list[tuple[_Candidate, ItemResult]]:
        with self.sessions.begin() as session:
            owned = claims.lock_owned(session, [c.uuid for c in claimed], token)
            mine = [c for c in claimed if c.uuid in owned]
            # A claim taken over after its lease ended is the other request's now.
            outcomes = [
                (c, self._refused(Refused(R.IN_FLIGHT, "taken over"), c))
                for c in claimed
                if c.uuid not in owned
            ]
            accounts = {a for c in mine if (a := self._account_of(c.envelope))}
            service_ids = {
                service_links.lock_key_of(self.keys.account_hmac, c.envelope.payload)
                for c in mine
                if isinstance(c.envelope, ServiceLinkEnvelope)
            }
            locking.lock_people(session, [c.card for c in mine], accounts, service_ids)
            earlier = claims.unsettled_before(
                session, {c.card for c in mine}, device.kiosk_id, owned
            )
            catalog = self.catalogs.get(session)
            applying = [c for c in mine if isinstance(c.envelope, ApplicationEnvelope)]
            failure_keys = [("account", f) for _, f in accounts]
            failure_keys += [("card", card_failure_key(c.identity)) for c in applying]
            ledger = Ledger(
                session,
                cards=[c.identity for c in mine],
                accounts=accounts,
                failure_keys=failure_keys,
            )
            self._prepare_budget(ledger, mine)
            skew = dt.timedelta(seconds=self.settings.clock_skew_seconds)
            times = envelope_time.inconsistent(
                session, device.kiosk_id,
                [envelope_time.Stamp(c.uuid, c.envelope.sequence, c.envelope.time) for c in mine],
                enrolled_at=device.enrolled_at, request_time=device.request_time, skew=skew,
            )  # fmt: skip
            waiting_cards: set[tuple[str, str]] = set()
            for candidate in sorted(mine, key=lambda c: c.envelope.sequence):
                card, sequence = candidate.card, candidate.envelope.sequence
                if card in waiting_cards or earlier.get(card, sequence) < sequence:
                    result = self._refused(Refused(R.BLOCKED_BY_EARLIER_ITEM), candidate)
                elif candidate.uuid in times:
                    refusal = Refused(R.ENVELOPE_TIME_INCONSISTENT, times[candidate.uuid])
                    result = self._refused(refusal, candidate)
                else:
                    result = self._apply_one(ledger, device, candidate, catalog, now)
                if result.status == "pending":
                    waiting_cards.add(card)
                outcomes.append((candidate, result))
            ledger.flush()
            self._store(session, [(c, r) for c, r in outcomes if c.uuid in owned], now)
            events = [self._event(device.kiosk_id, c.envelope, r) for c, r in outcomes]
            audit.append_many(session, self.keys.audit_hmac, events, now)  # last: see locking
        return outcomes

    def _prepare_budget(self, ledger: Ledger, mine: list[_Candidate]) -> None:
        """Hold budget for every MyKey ID this batch could issue (a new card's reservation)."""
        new_cards = {
            c.card
            for c in mine
            if isinstance(c.envelope, ReservationEnvelope)
            and ledger.person_of_card(c.identity) is None
        }
        if new_cards:
            ledger.prepare_budget(len(new_cards), self.settings.reservation_cap)

    def _account_of(self, envelope: Envelope) -> tuple[str, str] | None:
        if not isinstance(envelope, ApplicationEnvelope):
            return None
        payload = envelope.payload
        normalised = normalise_payment_id(payload.payment_id)
        fingerprint = rules.account_fingerprint(
            self.keys.account_hmac, payload.service_code, normalised
        )
        return payload.service_code, fingerprint

    def _apply_one(
        self,
        ledger: Ledger,
        device: rules.Device,
        candidate: _Candidate,
        catalog: Catalog,
        now: dt.datetime,
    ) -> ItemResult:
        envelope, identity = candidate.envelope, candidate.identity
        try:
            result = self._rule(ledger, device, envelope, identity, catalog, now)
        except Refused as refusal:
            return ItemResult.refused(refusal, envelope.uuid, envelope.receipt_number)
        return ItemResult.accepted(envelope, result)

    def _rule(
        self,
        ledger: Ledger,
        device: rules.Device,
        envelope: Envelope,
        identity: CardIdentity,
        catalog: Catalog,
        now: dt.datetime,
    ) -> dict[str, Any]:
        settings = self.settings
        at = envelope.time
        rules.check_validity(
            ledger,
            identity,
            at,
            now,
            max_queue_age=dt.timedelta(days=settings.max_queue_age_days),
            crl_max_age=dt.timedelta(hours=settings.crl_max_age_hours),
        )
        if isinstance(envelope, ReservationEnvelope):
            return rules.reserve(
                ledger,
                identity,
                device=device,
                at=at,
                now=now,
                receipt_number=envelope.receipt_number,
                catalog=catalog,
            )
        if isinstance(envelope, ApplicationEnvelope):
            return rules.apply(
                ledger,
                identity,
                envelope.payload,
                device=device,
                at=at,
                now=now,
                receipt_number=envelope.receipt_number,
                submission_uuid=envelope.uuid,
                for_whom=envelope.for_whom,
                catalog=catalog,
                registry=self.registry,
                account_key=self.keys.account_hmac,
                attempts=rules.CodeAttemptPolicy.of(settings),
                card_key=card_failure_key(identity),
            )
        if isinstance(envelope, CancellationEnvelope):
            return rules.cancel(
                ledger,
                identity,
                envelope.payload,
                device=device,
                at=at,
                now=now,
                receipt_number=envelope.receipt_number,
            )
        if isinstance(envelope, ServiceLinkEnvelope):
            return service_links.link(
                ledger, identity, envelope.payload, device=device, catalog=self.platform,
                key=self.keys.account_hmac, now=now,
            )  # fmt: skip
        if isinstance(envelope, ServiceUnlinkEnvelope):
            return service_links.unlink(
                ledger, identity, envelope.payload, device=device, catalog=self.platform
            )
        raise Refused(R.KIND_NOT_SUPPORTED, envelope.kind)

    def _store(
        self, session: Session, outcomes: list[tuple[_Candidate, ItemResult]], now: dt.datetime
    ) -> None:
        """Final results are kept for replays; pending ones give their claim back."""
        claims.settle(
            session,
            done=[
                {
                    "uuid": c.uuid,
                    "outcome": r.status,
                    "reason_code": r.reason_code,
                    "http_status": r.http_status,
                    "result_json": json.dumps(r.to_json()),
                    "completed_at": now,
                }
                for c, r in outcomes
                if r.status != "pending"
            ],
            pending=[c.uuid for c, r in outcomes if r.status == "pending"],
        )

    def _release(self, claimed: list[_Candidate], token: str) -> None:
        try:
            with self.sessions.begin() as session:
                claims.release(session, [c.uuid for c in claimed], token)
        except Exception:  # the leases expire anyway
            log.exception("could not release claims")

    @staticmethod
    def _event(kiosk_id: str, envelope: Envelope | None, result: ItemResult) -> audit.Event:
        actor = "guardian" if envelope is not None and envelope.for_whom == "minor" else "citizen"
        kind = envelope.kind if envelope is not None else "unknown"
        # "I did not make this application": an investigator must see it, whatever came of it.
        flagged = (
            isinstance(envelope, CancellationEnvelope)
            and envelope.payload.reason == "not_made_by_me"
        )
        return audit.Event(
            actor=actor,
            action=f"submission.{kind}" + (".replay" if result.replayed else ""),
            subject=result.uuid or "-",
            outcome=result.status,
            kiosk_id=kiosk_id,
            reason_code=result.reason_code,
            flagged=flagged,
        )


def card_failure_key(identity: CardIdentity) -> str:
    """The key wrong codes are counted under for a card (its certificate, hashed)."""
    return hashlib.sha256(f"{identity.issuer}\x1f{identity.serial_hex}".encode()).hexdigest()


def describe_validation_error(error: ValidationError) -> str:
    """Where and what, never the input value (it may be a security code)."""
    return validation_detail(error.errors(include_input=False, include_context=False,
                                          include_url=False))  # fmt: skip
