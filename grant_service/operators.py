"""Simulated payment operators: does this payment-service ID and security code exist?

In production each operator answers over its own interface; here a registry loaded from
data plays every operator: an ID format per service, the valid ID/code pairs (stored as
SHA-256 digests, so the data file holds no usable code), which IDs are pre-registered,
and which operators are down. An operator that cannot answer is not the citizen's fault:
the item stays pending.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from mynapoint.payment_ids import normalise_payment_id


class OperatorUnavailable(Exception):
    pass


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verification:
    valid: bool
    pre_registered: bool


@dataclass
class Operator:
    service_code: str
    id_pattern: str
    accounts: dict[str, dict[str, object]] = field(default_factory=dict)  # id digest -> entry
    available: bool = True

    def verify(self, payment_id: str, security_code: str) -> Verification:
        normalised = normalise_payment_id(payment_id)
        if not re.fullmatch(self.id_pattern, normalised):
            return Verification(valid=False, pre_registered=False)
        entry = self.accounts.get(_digest(self.service_code, normalised))
        if entry is None:
            return Verification(valid=False, pre_registered=False)
        code_ok = entry["code_sha256"] == _digest(
            self.service_code, normalised, security_code.strip()
        )
        return Verification(valid=code_ok, pre_registered=bool(entry["pre_registered"]))


class OperatorRegistry:
    def __init__(self, operators: dict[str, Operator], unavailable: set[str] | None = None):
        self.operators = operators
        self.unavailable = unavailable or set()

    @classmethod
    def from_file(cls, path: Path, unavailable: list[str] | None = None) -> OperatorRegistry:
        data = json.loads(path.read_text())
        operators = {
            code: Operator(
                service_code=code,
                id_pattern=spec["id_pattern"],
                accounts={a["id_sha256"]: a for a in spec.get("accounts", [])},
                available=spec.get("available", True),
            )
            for code, spec in data["operators"].items()
        }
        return cls(operators, set(unavailable or []))

    def verify(self, service_code: str, payment_id: str, security_code: str) -> Verification:
        operator = self.operators.get(service_code)
        if operator is None or not operator.available or service_code in self.unavailable:
            raise OperatorUnavailable(service_code)
        return operator.verify(payment_id, security_code)


def account_entry(
    service_code: str, payment_id: str, security_code: str, *, pre_registered: bool = False
) -> dict[str, object]:
    """One valid account for a registry file (used to write test and demo data)."""
    normalised = normalise_payment_id(payment_id)
    return {
        "id_sha256": _digest(service_code, normalised),
        "code_sha256": _digest(service_code, normalised, security_code),
        "pre_registered": pre_registered,
    }
