"""Bearer tokens for the people and systems that are not kiosks.

``admin``: technicians and programme operators (revoke a kiosk, suspend a MyKey ID,
import a kiosk's queue file); ``operator``: a payment operator, for its own service's
transactions; ``jlis_feed``: the feed of re-issued certificates; ``console``: an operator
signing in to the fleet console (/console). The MyKey platform's (seed 004), each scoped:
``municipality``: a municipality granting its points (scope: its code); ``shop``: a shop
redeeming point vouchers (scope: its municipality's code; the label names the shop, and
is what a second use of a voucher is told); ``facility``: a library or other facility
asking whether a card is linked (scope: its facility code). Only a token's SHA-256 is
kept; the token is printed once, when it is made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from grant_service import audit
from grant_service.models import ApiCredential
from grant_service.refusals import Refused
from mynapoint.reasons import R

Role = Literal["admin", "operator", "jlis_feed", "console", "municipality", "shop", "facility"]
SCOPED_ROLES = ("municipality", "shop", "facility")
ROLES: tuple[str, ...] = get_args(Role)


@dataclass(frozen=True)
class Caller:
    role: str
    label: str
    service_code: str | None = None
    scope: str | None = None


def token_digest(token: str) -> str:
    """What is kept of a secret handed out once (a token, a console session id)."""
    return hashlib.sha256(token.encode()).hexdigest()


def live(session: Session, token: str) -> ApiCredential | None:
    """The unrevoked credential behind ``token``, whatever its role, or None."""
    row = session.get(ApiCredential, token_digest(token.strip()))
    return row if row is not None and row.revoked_at is None else None


def create(
    session: Session,
    audit_key: bytes,
    role: str,
    label: str,
    now: dt.datetime,
    service_code: str | None = None,
    scope: str | None = None,
) -> str:
    """A new token (returned once). The caller checks a scope names a real municipality or
    facility (``platform_catalog``)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "operator") != (service_code is not None):
        raise ValueError("an operator token is for exactly one payment service")
    if (role in SCOPED_ROLES) != (scope is not None):
        raise ValueError(f"a {' or '.join(SCOPED_ROLES)} token has a scope, and only they do")
    token = secrets.token_urlsafe(32)
    session.add(
        ApiCredential(
            token_sha256=token_digest(token), role=role, service_code=service_code, scope=scope,
            label=label, created_at=now,
        )
    )  # fmt: skip
    audit.append(
        session, audit_key, at=now, actor="operator", action="credential.create",
        subject=f"{role}:{label}"[:128], outcome="accepted",
    )  # fmt: skip
    return token


def revoke(session: Session, audit_key: bytes, label: str, now: dt.datetime) -> int:
    rows = session.scalars(
        select(ApiCredential).where(
            ApiCredential.label == label, ApiCredential.revoked_at.is_(None)
        )
    ).all()
    for row in rows:
        row.revoked_at = now
    if rows:
        audit.append(
            session, audit_key, at=now, actor="operator", action="credential.revoke",
            subject=label[:128], outcome="accepted",
        )  # fmt: skip
    return len(rows)


def authenticate(
    session: Session, authorization: str | None, role: str, *, bootstrap_admin_sha256: str = ""
) -> Caller:
    """The caller behind ``Authorization: Bearer <token>``, if it holds ``role``."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Refused(R.CREDENTIAL_INVALID, "expected Authorization: Bearer <token>")
    # The admin token in the settings lets a new installation make its first credentials.
    if (
        role == "admin"
        and bootstrap_admin_sha256
        and hmac.compare_digest(token_digest(token.strip()), bootstrap_admin_sha256.lower())
    ):
        return Caller("admin", "bootstrap")
    row = live(session, token)
    if row is None or row.role != role:
        raise Refused(R.CREDENTIAL_INVALID, f"not a valid {role} token")
    return Caller(row.role, row.label, row.service_code, row.scope)
