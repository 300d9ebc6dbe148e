"""Taking in envelopes: checked, idempotent, in kiosk order, every outcome audited.

Idempotency follows the IETF Idempotency-Key draft, with the envelope's UUID as the key:
a replay of a finished UUID gets the stored first result; the same UUID with another
envelope is refused (422); a UUID still being processed elsewhere is 409. Processing
runs in two transactions: the first *claims* each UUID (an ``in_flight`` row with a
lease, so a crashed worker's claims expire), the second applies the rules and stores
each final result. Pending outcomes (an operator or CRL that cannot answer now) release
their claim, so the kiosk's retry is processed afresh.

Items of one card apply in kiosk order (the envelope's ``sequence``), also inside one
batch: once an item of a card is pending, that card's later items wait too.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from grant_service import audit, pki, rules
from grant_service.catalog import Catalog, CatalogCache
from grant_service.keys import ServiceKeys
from grant_service.ledger import Ledger
from grant_service.models import Submission
from grant_service.operators import OperatorRegistry
from grant_service.pki import CardIdentity, CardTrust
from grant_service.refusals import Refused
from grant_service.settings import Settings
from mynapoint.envelope import (
    ApplicationEnvelope,
    CancellationEnvelope,
    Envelope,
    ReservationEnvelope,
    parse_envelope,
)
from mynapoint.payment_ids import normalise_payment_id
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


@dataclass
class _Candidate:
    index: int
    envelope: Envelope
    identity: CardIdentity
    fingerprint: str
    claimed: bool = False


@dataclass
class SubmissionProcessor:
    sessions: sessionmaker[Session]
    settings: Settings
    trust: CardTrust
    registry: OperatorRegistry
    catalogs: CatalogCache
    keys: ServiceKeys
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))

    def process(self, device: rules.Device, items: list[Any]) -> list[ItemResult]:
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
        with self.sessions.begin() as session:
            events = [self._event(device.kiosk_id, None, r) for r in results if r is not None]
            events += self._claim(session, candidates, results, now)
            audit.append_many(session, self.keys.audit_hmac, events, now)
        claimed = [c for c in candidates if c.claimed]
        if claimed:
            self._apply_claimed(device, claimed, results, now)
        return [r for r in results if r is not None]

    # --- step 1: is it a real envelope from a real card? --------------------------------

    def _authenticate(
        self, device: rules.Device, raw: Any, now: dt.datetime
    ) -> ItemResult | tuple[Envelope, CardIdentity, bytes]:
        uuid = raw.get("uuid") if isinstance(raw, dict) else None
        uuid = uuid if isinstance(uuid, str) else None
        try:
            envelope = parse_envelope(raw)
        except ValidationError as exc:
            return ItemResult.refused(Refused(R.MALFORMED, describe_validation_error(exc)), uuid)
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

    # --- step 2: claim the UUIDs ------------------------------------------------------

    def _claim(
        self,
        session: Session,
        candidates: list[_Candidate],
        results: list[ItemResult | None],
        now: dt.datetime,
    ) -> list[audit.Event]:
        """Claim every new UUID with one insert; answer replays and conflicts."""
        lease = now + dt.timedelta(seconds=self.settings.in_flight_lease_seconds)
        uuids = [c.envelope.uuid for c in candidates]
        existing = {
            row.uuid: row
            for start in range(0, len(uuids), 500)
            for row in session.scalars(
                select(Submission).where(Submission.uuid.in_(uuids[start : start + 500]))
                .with_for_update()
            )
        }  # fmt: skip
        new_rows, seen, events = [], set(), []
        for candidate in candidates:
            envelope = candidate.envelope
            row = existing.get(envelope.uuid)
            if row is None and envelope.uuid not in seen:
                seen.add(envelope.uuid)
                candidate.claimed = True
                new_rows.append(self._claim_row(candidate, now, lease))
                continue
            if row is None:  # the same UUID twice in one batch: the second waits its turn
                result = ItemResult.refused(
                    Refused(R.IN_FLIGHT), envelope.uuid, envelope.receipt_number
                )
            else:
                result = self._existing(row, candidate, now, lease)
            if result is None:
                candidate.claimed = True
            else:
                results[candidate.index] = result
                events.append(self._event(envelope.kiosk_id, envelope, result))
        if new_rows:
            try:
                with session.begin_nested():
                    session.execute(insert(Submission), new_rows)
            except IntegrityError:
                # Another request claimed one of these UUIDs meanwhile: claim one by one.
                events += self._claim_one_by_one(session, candidates, results, now, lease)
        return events

    def _claim_row(
        self, candidate: _Candidate, now: dt.datetime, lease: dt.datetime
    ) -> dict[str, Any]:
        envelope = candidate.envelope
        return {
            "uuid": envelope.uuid,
            "fingerprint": candidate.fingerprint,
            "kind": envelope.kind,
            "kiosk_id": envelope.kiosk_id,
            "receipt_number": envelope.receipt_number,
            "card_issuer": candidate.identity.issuer,
            "card_serial_hex": candidate.identity.serial_hex,
            "state": "in_flight",
            "lease_until": lease,
            "received_at": now,
        }

    def _claim_one_by_one(
        self,
        session: Session,
        candidates: list[_Candidate],
        results: list[ItemResult | None],
        now: dt.datetime,
        lease: dt.datetime,
    ) -> list[audit.Event]:
        events = []
        for candidate in candidates:
            if not candidate.claimed or session.get(Submission, candidate.envelope.uuid):
                continue
            try:
                with session.begin_nested():
                    session.execute(insert(Submission), [self._claim_row(candidate, now, lease)])
            except IntegrityError:
                row = session.get(Submission, candidate.envelope.uuid, populate_existing=True)
                result = self._existing(row, candidate, now, lease) if row else None
                if result is not None:
                    candidate.claimed = False
                    results[candidate.index] = result
                    events.append(
                        self._event(candidate.envelope.kiosk_id, candidate.envelope, result)
                    )
        return events

    def _existing(
        self, existing: Submission, candidate: _Candidate, now: dt.datetime, lease: dt.datetime
    ) -> ItemResult | None:
        envelope = candidate.envelope
        if not hmac.compare_digest(existing.fingerprint, candidate.fingerprint):
            return ItemResult.refused(
                Refused(R.IDEMPOTENCY_KEY_REUSED), envelope.uuid, envelope.receipt_number
            )
        if existing.state == "done":
            stored = ItemResult.model_validate_json(existing.result_json or "{}")
            return stored.model_copy(update={"replayed": True})
        if existing.lease_until is not None and existing.lease_until > now:
            return ItemResult.refused(Refused(R.IN_FLIGHT), envelope.uuid, envelope.receipt_number)
        existing.lease_until = lease  # the earlier worker died: take the item over
        return None

    # --- step 3: apply the rules, in kiosk order ------------------------------------------

    def _apply_claimed(
        self,
        device: rules.Device,
        claimed: list[_Candidate],
        results: list[ItemResult | None],
        now: dt.datetime,
    ) -> None:
        try:
            for attempt in (1, 2):
                try:
                    self._apply_batch(device, claimed, results, now)
                    return
                except IntegrityError:
                    # Only a clash of random MyKey IDs can get here (the audit lock makes
                    # batches take turns): redo the batch with fresh IDs.
                    if attempt == 2:
                        raise
        except Exception:
            self._release(claimed)
            raise

    def _apply_batch(
        self,
        device: rules.Device,
        claimed: list[_Candidate],
        results: list[ItemResult | None],
        now: dt.datetime,
    ) -> None:
        with self.sessions.begin() as session:
            audit.lock_head(session)  # first: batches that record people take turns
            catalog = self.catalogs.get(session)
            ledger = Ledger(
                session,
                cards=[c.identity for c in claimed],
                accounts=[a for c in claimed if (a := self._account_of(c.envelope))],
            )
            waiting_cards: set[tuple[str, str]] = set()
            outcomes: list[tuple[_Candidate, ItemResult]] = []
            for candidate in sorted(claimed, key=lambda c: c.envelope.sequence):
                envelope = candidate.envelope
                card = (candidate.identity.issuer, candidate.identity.serial_hex)
                if card in waiting_cards:
                    refusal = Refused(R.BLOCKED_BY_EARLIER_ITEM)
                    result = ItemResult.refused(refusal, envelope.uuid, envelope.receipt_number)
                else:
                    result = self._apply_one(ledger, device, candidate, catalog, now)
                if result.status == "pending":
                    waiting_cards.add(card)
                outcomes.append((candidate, result))
            ledger.flush()
            self._store(session, outcomes, now)
            events = [self._event(device.kiosk_id, c.envelope, r) for c, r in outcomes]
            audit.append_many(session, self.keys.audit_hmac, events, now)
        for candidate, result in outcomes:
            results[candidate.index] = result

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
        pki.check_validity(
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
                cap=settings.reservation_cap,
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
        raise Refused(R.KIND_NOT_SUPPORTED, envelope.kind)

    def _store(
        self, session: Session, outcomes: list[tuple[_Candidate, ItemResult]], now: dt.datetime
    ) -> None:
        """Final results are kept for replays; pending ones release their claim."""
        pending = [c.envelope.uuid for c, r in outcomes if r.status == "pending"]
        for start in range(0, len(pending), 500):
            session.execute(
                delete(Submission).where(Submission.uuid.in_(pending[start : start + 500]))
            )
        done = [
            {
                "uuid": c.envelope.uuid,
                "state": "done",
                "lease_until": None,
                "outcome": r.status,
                "reason_code": r.reason_code,
                "http_status": r.http_status,
                "result_json": json.dumps(r.to_json()),
                "completed_at": now,
            }
            for c, r in outcomes
            if r.status != "pending"
        ]
        if done:
            session.execute(update(Submission), done)  # bulk update by primary key

    def _release(self, claimed: list[_Candidate]) -> None:
        try:
            with self.sessions.begin() as session:
                session.execute(
                    delete(Submission).where(
                        Submission.uuid.in_([c.envelope.uuid for c in claimed]),
                        Submission.state == "in_flight",
                    )
                )
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


def describe_validation_error(error: ValidationError) -> str:
    """Where and what, never the input value (it may be a security code)."""
    parts = []
    for item in error.errors(include_input=False, include_context=False, include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts[:5])
