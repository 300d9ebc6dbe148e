"""Who is using the console: sign-in with a credential, sessions, lockout and CSRF.

A user signs in with a credential's label (their name) and its token (their access key),
of role ``console`` or ``admin``. The session id goes to the browser once, in a cookie;
only its SHA-256 is kept (``ConsoleSession``). A session ends ``console_idle_minutes``
after its last use and ``console_session_hours`` after sign-in, whichever comes first.

Lockout: failed sign-ins are counted per name and per client address in a window of
``console_lockout_minutes`` (``ConsoleSignInFailures``, in the database, so that it holds
across the service's processes); at ``console_lockout_failures`` the name or address is
locked for ``console_lockout_minutes``, even with the right key, and a refusal never says
whether the name exists.

CSRF: every session has its own token, every form carries it, and a POST without it is
refused before anything changes. Sign-in itself, having no session yet, uses a pre-session
token: a cookie and the same value in the form (compared in constant time).

Every sign-in (accepted, refused, locked) and sign-out goes to the audit log under the
name typed, never the key.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from grant_service import audit, credentials
from grant_service.credentials import token_digest
from grant_service.models import ApiCredential, ConsoleSession, ConsoleSignInFailures
from grant_service.settings import Settings
from mynapoint.database import dialect_insert

SESSION_COOKIE = "console_session"
SIGN_IN_CSRF_COOKIE = "console_sign_in_csrf"
COOKIE_PATH = "/console"
CONSOLE_ROLES = ("console", "admin")
LANGUAGES = ("ja", "en")
MAX_NAME_LENGTH = 100  # ApiCredential.label
# A session's last use is written at most this often: a page view is not a write each time.
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class ConsoleUser:
    """A signed-in user, as a request sees them."""

    name: str
    role: str
    csrf_token: str
    language: str
    session_sha256: str


@dataclass(frozen=True)
class SignInResult:
    """``accepted`` with a new session id (for the cookie), else ``refused`` or ``locked``
    (until ``locked_until``)."""

    outcome: str  # accepted | refused | locked
    session_id: str | None = None
    locked_until: dt.datetime | None = None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str | None, given: str | None) -> bool:
    """A CSRF token check in constant time; a missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _failure_keys(name: str, address: str) -> list[str]:
    return [f"name:{name}"[:140], f"addr:{address}"[:140]]


def _locked_until(session: Session, keys: list[str], now: dt.datetime) -> dt.datetime | None:
    rows = session.scalars(
        select(ConsoleSignInFailures).where(ConsoleSignInFailures.key.in_(keys))
    ).all()
    until = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now]
    return max(until) if until else None


def _count_failure(
    session: Session, keys: list[str], settings: Settings, now: dt.datetime
) -> dt.datetime | None:
    """Count one failure for each key; the time the lock ends if this one locks."""
    window = dt.timedelta(minutes=settings.console_lockout_minutes)
    locked: dt.datetime | None = None
    # Two processes may count the first failure of a key at once: insert-or-nothing, then
    # lock the row.
    insert = dialect_insert(session.get_bind().dialect.name, ConsoleSignInFailures.__table__)
    session.execute(
        insert.on_conflict_do_nothing(),
        [{"key": key, "failures": 0, "window_start": now} for key in keys],
    )
    for key in keys:
        row = session.get(ConsoleSignInFailures, key, with_for_update=True, populate_existing=True)
        assert row is not None  # inserted above, and never deleted but on a sign-in
        if now - row.window_start > window:  # a new window
            row.failures, row.window_start, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= settings.console_lockout_failures:
            row.locked_until = now + window
            locked = row.locked_until
    return locked


def _holder(session: Session, name: str, key: str) -> ApiCredential | None:
    """The live console or admin credential with this label and token, if any."""
    row = credentials.live(session, key)
    return row if row is not None and row.role in CONSOLE_ROLES and row.label == name else None


def sign_in(
    session: Session,
    audit_key: bytes,
    settings: Settings,
    *,
    name: str,
    key: str,
    address: str,
    now: dt.datetime,
) -> SignInResult:
    """Check a sign-in and record it (the caller commits, whatever the outcome)."""
    name = name.strip()[:MAX_NAME_LENGTH]
    keys = _failure_keys(name, address)
    until = _locked_until(session, keys, now)
    if until is not None:
        result = SignInResult("locked", locked_until=until)
    elif (holder := _holder(session, name, key)) is None:
        until = _count_failure(session, keys, settings, now)
        result = SignInResult("locked" if until else "refused", locked_until=until)
    else:
        session.execute(delete(ConsoleSignInFailures).where(ConsoleSignInFailures.key.in_(keys)))
        sweep_expired(session, now)
        session_id = new_token()
        session.add(
            ConsoleSession(
                id_sha256=token_digest(session_id), label=name, role=holder.role,
                csrf_token=new_token(), language="ja", created_at=now, last_seen_at=now,
                expires_at=_expiry(settings, created=now, last_seen=now),
            )
        )  # fmt: skip
        result = SignInResult("accepted", session_id=session_id)
    record(session, audit_key, now, "console.sign_in", name, result.outcome)
    return result


def _expiry(settings: Settings, *, created: dt.datetime, last_seen: dt.datetime) -> dt.datetime:
    return min(
        created + dt.timedelta(hours=settings.console_session_hours),
        last_seen + dt.timedelta(minutes=settings.console_idle_minutes),
    )


def current_user(
    session: Session,
    settings: Settings,
    session_id: str | None,
    now: dt.datetime,
    *,
    touch: bool = True,
) -> ConsoleUser | None:
    """The user behind a session cookie, or None (no such session, or it has expired: then
    it is deleted). ``touch``: this request is the user's doing (not the page's own live
    refresh), so it keeps the session from going idle."""
    if not session_id:
        return None
    row = session.get(ConsoleSession, token_digest(session_id))
    if row is None:
        return None
    if now >= row.expires_at or not _still_held(session, row):
        session.delete(row)
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        row.expires_at = _expiry(settings, created=row.created_at, last_seen=now)
    return ConsoleUser(row.label, row.role, row.csrf_token, row.language, row.id_sha256)


def _still_held(session: Session, row: ConsoleSession) -> bool:
    """Whether the user still has a live credential of the session's role: revoking it
    ends their sessions at their next page."""
    live = select(ApiCredential.token_sha256).where(
        ApiCredential.label == row.label,
        ApiCredential.role == row.role,
        ApiCredential.revoked_at.is_(None),
    )
    return session.scalar(live.limit(1)) is not None


def sign_out(session: Session, audit_key: bytes, user: ConsoleUser, now: dt.datetime) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.id_sha256 == user.session_sha256))
    record(session, audit_key, now, "console.sign_out", user.name, "accepted")


def set_language(session: Session, user: ConsoleUser, language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    row = session.get(ConsoleSession, user.session_sha256)
    if row is not None:
        row.language = language


def sweep_expired(session: Session, now: dt.datetime) -> int:
    """Delete sessions past their end (a sign-in does it, so the table stays small)."""
    result = session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def record(
    session: Session,
    audit_key: bytes,
    now: dt.datetime,
    action: str,
    subject: str,
    outcome: str = "accepted",
    kiosk_id: str | None = None,
) -> None:
    """An audit entry for something done in the console: the name, never a key or token."""
    audit.append(
        session, audit_key, at=now, actor="operator", action=action[:40], subject=subject[:128],
        outcome=outcome, kiosk_id=kiosk_id,
    )  # fmt: skip
