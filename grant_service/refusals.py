"""The one exception the service's checks and rules raise: a reason from the shared table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mynapoint.reasons import R


class Refused(Exception):
    def __init__(self, reason: R, detail: str = "") -> None:
        self.reason = reason
        # For technicians and the audit trail; never holds a secret.
        self.detail = detail or reason.value.message_en
        super().__init__(f"{reason.value.code}: {self.detail}")


ECHO_LIMIT = 64


def echoed(value: str, limit: int = ECHO_LIMIT) -> str:
    """Caller input quoted in a detail, cut to ``limit`` characters: details go back to
    callers and into logs, and must not carry whatever a caller sent."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def validation_detail(errors: Iterable[Any]) -> str:
    """A validation error's detail: where and what, never the input value (it may be a
    security code), and each name in the location cut short (an unknown field's name is
    the caller's)."""
    parts = []
    for error in list(errors)[:5]:
        where = ".".join(echoed(str(p)) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)
