"""What a citizen asks of the MyKey platform at a city-hall kiosk, signed by the card.

Each request signs a fresh one-time challenge from the service (``POST /v1/challenge``,
as My Page does), so that a signed request cannot be sent again later by someone else:

- ``balances``: the municipal points per municipality with their expiry dates, the
  vouchers not yet used, the linked library cards;
- ``issue_voucher``: a voucher of ``points`` of one municipality (online only: a voucher
  is never printed unless the service has held the points). ``request_uuid`` makes a
  retry get the same voucher;
- ``cancel_voucher``: an unused voucher back into points;
- ``revoke``: the MyKey ID revoked, for good, after the citizen has read and heard
  what it means (``REVOCATION_TERMS_VERSION`` names the text) and confirmed twice.

Linking a library card is not here: it is a submission (``envelope.py``), queued when
the kiosk is offline, like any other.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, Any, Final, Literal, TypeVar

import rfc8785
from pydantic import Field

from mynapoint.envelope import KIOSK_ID_PATTERN, UUID_PATTERN, CardSigned
from mynapoint.platform_catalog import MUNICIPALITY_CODE_PATTERN

PURPOSE: Final = "mykey-platform-v1"
# The consequences of revoking, as the kiosk shows and says them: the service refuses a
# revocation confirmed against any other text.
REVOCATION_TERMS_VERSION: Final = "2026-12-06"
MAX_VOUCHER_POINTS = 100_000


class _PlatformRequest(CardSigned):
    purpose: Literal["mykey-platform-v1"] = PURPOSE
    challenge: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{32,64}$")]
    kiosk_id: Annotated[str, Field(pattern=KIOSK_ID_PATTERN)]

    def signed_bytes(self) -> bytes:
        """What the card signs: RFC 8785 canonical JSON of everything but the signature."""
        return rfc8785.dumps(self.model_dump(mode="json", exclude={"signature"}))


class BalancesQuery(_PlatformRequest):
    action: Literal["balances"] = "balances"


class VoucherIssue(_PlatformRequest):
    action: Literal["issue_voucher"] = "issue_voucher"
    request_uuid: Annotated[str, Field(pattern=UUID_PATTERN)]
    municipality_code: Annotated[str, Field(pattern=MUNICIPALITY_CODE_PATTERN)]
    points: Annotated[int, Field(ge=1, le=MAX_VOUCHER_POINTS)]


class VoucherCancel(_PlatformRequest):
    action: Literal["cancel_voucher"] = "cancel_voucher"
    voucher_number: Annotated[str, Field(pattern=r"^[0-9]{16}$")]


class Revocation(_PlatformRequest):
    action: Literal["revoke"] = "revoke"
    terms_version: Annotated[str, Field(min_length=1, max_length=32)]
    # The kiosk asks twice; both answers are signed.
    confirmations: Literal[2]


PlatformRequest = BalancesQuery | VoucherIssue | VoucherCancel | Revocation
# Where each is sent (device-signed, like every kiosk request).
PATHS: Final = {
    "balances": "/v1/platform/balances",
    "issue_voucher": "/v1/platform/vouchers",
    "cancel_voucher": "/v1/platform/vouchers/cancel",
    "revoke": "/v1/platform/revocation",
}
T = TypeVar("T", bound=_PlatformRequest)


def signed_request(
    kind: type[T], *, certificate_der: bytes, sign: Callable[[bytes], bytes], **fields: Any
) -> T:
    """A request of ``kind`` signed by the card (``sign`` is ``JpkiCard.sign``)."""
    unsigned = kind(certificate=base64.b64encode(certificate_der).decode("ascii"), **fields)
    signature = base64.b64encode(sign(unsigned.signed_bytes())).decode("ascii")
    return unsigned.model_copy(update={"signature": signature})
