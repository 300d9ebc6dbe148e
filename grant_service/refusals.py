"""The one exception the service's checks and rules raise: a reason from the shared table."""

from __future__ import annotations

from mynapoint.reasons import R


class Refused(Exception):
    def __init__(self, reason: R, detail: str = "") -> None:
        self.reason = reason
        # For technicians and the audit trail; never holds a secret.
        self.detail = detail or reason.value.message_en
        super().__init__(f"{reason.value.code}: {self.detail}")
