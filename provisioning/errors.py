"""The one error kiosk-provision's steps raise: what is wrong, and what to do about it."""

from __future__ import annotations


class ProvisioningError(Exception):
    """``detail`` is one line for the technician: the problem, then the next step."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)
