"""My Page (利用者マイページ) at the kiosk: the card proves its holder is present by
signing a fresh challenge from the service; the service answers with the reservation,
the application, the points, and every submission made with this card.

The kiosk asks ``POST /v1/challenge`` for a challenge, has the card sign
``StatusQuery.signed_bytes()`` (after the PIN), and sends the query to ``POST /v1/status``.
A challenge works once, for a short time, at the kiosk that asked for it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, Final, Literal

import rfc8785
from pydantic import Field

from mynapoint.envelope import KIOSK_ID_PATTERN, CardSigned

PURPOSE: Final = "mynapoint-mypage-status-v1"


class StatusQuery(CardSigned):
    purpose: Literal["mynapoint-mypage-status-v1"] = PURPOSE
    challenge: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{32,64}$")]
    kiosk_id: Annotated[str, Field(pattern=KIOSK_ID_PATTERN)]

    def signed_bytes(self) -> bytes:
        """What the card signs: RFC 8785 canonical JSON of everything but the signature."""
        return rfc8785.dumps(
            {
                "purpose": self.purpose,
                "challenge": self.challenge,
                "kiosk_id": self.kiosk_id,
                "certificate": self.certificate,
            }
        )


def build_status_query(
    challenge: str, *, kiosk_id: str, certificate_der: bytes, sign: Callable[[bytes], bytes]
) -> StatusQuery:
    """A status query signed by the card (``sign`` is ``JpkiCard.sign``)."""
    unsigned = StatusQuery(
        challenge=challenge,
        kiosk_id=kiosk_id,
        certificate=base64.b64encode(certificate_der).decode("ascii"),
    )
    signature = base64.b64encode(sign(unsigned.signed_bytes())).decode("ascii")
    return unsigned.model_copy(update={"signature": signature})
