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

from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from grant_service import audit, pki, rules
from grant_service.catalog import Catalog, CatalogCache
from grant_service.keys import ServiceKeys
from grant_service.models import Submission
from grant_service.operators import OperatorRegistry
from grant_service.pki import CardIdentity, CardTrust
from grant_service.refusals import Refused
from grant_service.settings import Settings
from mynapoint.envelope import ApplicationEnvelope, Envelope, ReservationEnvelope, parse_envelope
from mynapoint.reasons import R

log = logging.getLogger(__name__)

Status = Literal["accepted", "rejected", "pending", "error"]


@dataclass
class ItemResult:
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
        return cls(envelope.uuid, "accepted", 200, envelope.receipt_number, result=result)

    @classmethod
    def refused(
        cls, refusal: Refused, uuid: str | None = None, receipt_number: str | None = None
    ) -> ItemResult:
        reason = refusal.reason.value
        return cls(
            uuid,
            reason.outcome,
            reason.http_status,
            receipt_number,
            reason.code,
            reason.message_ja,
            reason.message_en,
            refusal.detail,
        )

    def to_json(self) -> dict[str, Any]:
        body = {k: v for k, v in self.__dict__.items() if v is not None}
        body["replayed"] = self.replayed
        return body


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
                envelope, identity = outcome
                candidates.append(
                    _Candidate(index, envelope, identity, self._fingerprint(envelope))
                )
        with self.sessions.begin() as session:
            for result in results:
                if result is not None:
                    self._audit(session, device, None, result, now)
            self._claim(session, candidates, results, device, now)
        claimed = [c for c in candidates if c.claimed]
        if claimed:
            self._apply_claimed(device, claimed, results, now)
        return [r for r in results if r is not None]

    # --- step 1: is it a real envelope from a real card? --------------------------------

    def _authenticate(
        self, device: rules.Device, raw: Any, now: dt.datetime
    ) -> ItemResult | tuple[Envelope, CardIdentity]:
        uuid = (
            raw.get("uuid") if isinstance(raw, dict) and isinstance(raw.get("uuid"), str) else None
        )
        try:
            envelope = parse_envelope(raw)
        except ValidationError as exc:
            return ItemResult.refused(Refused(R.MALFORMED, describe_validation_error(exc)), uuid)
        if envelope.kiosk_id != device.kiosk_id:
            return ItemResult.refused(
                Refused(R.KIOSK_MISMATCH, f"sent by {device.kiosk_id}"), envelope.uuid
            )
        skew = dt.timedelta(seconds=self.settings.clock_skew_seconds)
        try:
            identity = self.trust.authenticate(envelope, now, skew)
        except Refused as refusal:
            return ItemResult.refused(refusal, envelope.uuid, envelope.receipt_number)
        return envelope, identity

    def _fingerprint(self, envelope: Envelope) -> str:
        # Keyed, because the signed bytes include the security code.
        message = envelope.signed_bytes() + b"\x00" + envelope.signature.encode("ascii")
        return hmac.new(self.keys.account_hmac, message, "sha256").hexdigest()

    # --- step 2: claim the UUIDs ------------------------------------------------------

    def _claim(
        self,
        session: Session,
        candidates: list[_Candidate],
        results: list[ItemResult | None],
        device: rules.Device,
        now: dt.datetime,
    ) -> None:
        lease = now + dt.timedelta(seconds=self.settings.in_flight_lease_seconds)
        for candidate in candidates:
            envelope = candidate.envelope
            existing = session.get(Submission, envelope.uuid, with_for_update=True)
            if existing is None:
                try:
                    with session.begin_nested():
                        session.add(
                            Submission(
                                uuid=envelope.uuid,
                                fingerprint=candidate.fingerprint,
                                kind=envelope.kind,
                                kiosk_id=envelope.kiosk_id,
                                receipt_number=envelope.receipt_number,
                                card_issuer=candidate.identity.issuer,
                                card_serial_hex=candidate.identity.serial_hex,
                                state="in_flight",
                                lease_until=lease,
                                received_at=now,
                            )
                        )
                    candidate.claimed = True
                    continue
                except IntegrityError:
                    existing = session.get(Submission, envelope.uuid, populate_existing=True)
                    if existing is None:
                        raise
            result = self._existing(existing, candidate, now, lease)
            if result is None:
                candidate.claimed = True
            else:
                results[candidate.index] = result
                self._audit(session, device, envelope, result, now)

    def _existing(
        self, existing: Submission, candidate: _Candidate, now: dt.datetime, lease: dt.datetime
    ) -> ItemResult | None:
        envelope = candidate.envelope
        if not hmac.compare_digest(existing.fingerprint, candidate.fingerprint):
            return ItemResult.refused(
                Refused(R.IDEMPOTENCY_KEY_REUSED), envelope.uuid, envelope.receipt_number
            )
        if existing.state == "done":
            stored = ItemResult(**json.loads(existing.result_json or "{}"))
            stored.replayed = True
            return stored
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
            with self.sessions.begin() as session:
                catalog = self.catalogs.get(session)
                waiting_cards: set[tuple[str, str]] = set()
                for candidate in sorted(claimed, key=lambda c: c.envelope.sequence):
                    card = (candidate.identity.issuer, candidate.identity.serial_hex)
                    if card in waiting_cards:
                        result = ItemResult.refused(
                            Refused(R.BLOCKED_BY_EARLIER_ITEM),
                            candidate.envelope.uuid,
                            candidate.envelope.receipt_number,
                        )
                    else:
                        result = self._apply_one(session, device, candidate, catalog, now)
                    if result.status == "pending":
                        waiting_cards.add(card)
                        session.execute(delete(Submission).where(Submission.uuid == result.uuid))
                    else:
                        self._store(session, candidate, result, now)
                    results[candidate.index] = result
                    self._audit(session, device, candidate.envelope, result, now)
        except Exception:
            self._release(claimed)
            raise

    def _apply_one(
        self,
        session: Session,
        device: rules.Device,
        candidate: _Candidate,
        catalog: Catalog,
        now: dt.datetime,
    ) -> ItemResult:
        envelope, identity = candidate.envelope, candidate.identity
        for attempt in (1, 2):
            try:
                with session.begin_nested():
                    return ItemResult.accepted(
                        envelope, self._rule(session, device, envelope, identity, catalog, now)
                    )
            except Refused as refusal:
                return ItemResult.refused(refusal, envelope.uuid, envelope.receipt_number)
            except IntegrityError:
                # A concurrent request for the same card or account won the race: once
                # more, and the rule now sees what the other one committed.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _rule(
        self,
        session: Session,
        device: rules.Device,
        envelope: Envelope,
        identity: CardIdentity,
        catalog: Catalog,
        now: dt.datetime,
    ) -> dict[str, Any]:
        settings = self.settings
        pki.check_validity(
            session,
            identity,
            envelope.time,
            now,
            max_queue_age=dt.timedelta(days=settings.max_queue_age_days),
            crl_max_age=dt.timedelta(hours=settings.crl_max_age_hours),
        )
        if isinstance(envelope, ReservationEnvelope):
            return rules.reserve(
                session,
                identity,
                device=device,
                at=envelope.time,
                now=now,
                receipt_number=envelope.receipt_number,
                cap=settings.reservation_cap,
            )
        if isinstance(envelope, ApplicationEnvelope):
            return rules.apply(
                session,
                identity,
                envelope.payload,
                device=device,
                at=envelope.time,
                now=now,
                receipt_number=envelope.receipt_number,
                submission_uuid=envelope.uuid,
                for_whom=envelope.for_whom,
                catalog=catalog,
                registry=self.registry,
                account_key=self.keys.account_hmac,
            )
        raise Refused(R.KIND_NOT_SUPPORTED, f"{envelope.kind} is not taken by this service yet")

    def _store(
        self, session: Session, candidate: _Candidate, result: ItemResult, now: dt.datetime
    ) -> None:
        row = session.get(Submission, candidate.envelope.uuid)
        if row is None:  # cannot happen: the claim is ours
            raise RuntimeError(f"lost the claim on {candidate.envelope.uuid}")
        row.state = "done"
        row.lease_until = None
        row.outcome = result.status
        row.reason_code = result.reason_code
        row.http_status = result.http_status
        row.result_json = json.dumps(result.to_json())
        row.completed_at = now

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

    def _audit(
        self,
        session: Session,
        device: rules.Device,
        envelope: Envelope | None,
        result: ItemResult,
        now: dt.datetime,
    ) -> None:
        actor = "guardian" if envelope is not None and envelope.for_whom == "minor" else "citizen"
        kind = envelope.kind if envelope is not None else "unknown"
        audit.append(
            session,
            self.keys.audit_hmac,
            at=now,
            kiosk_id=device.kiosk_id,
            actor=actor,
            action=f"submission.{kind}" + (".replay" if result.replayed else ""),
            subject=result.uuid or "-",
            outcome=result.status,
            reason_code=result.reason_code,
        )


def describe_validation_error(error: ValidationError) -> str:
    """Where and what, never the input value (it may be a security code)."""
    parts = []
    for item in error.errors(include_input=False, include_context=False, include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts[:5])
