"""The submission envelope: one citizen's reservation, application or cancellation, or a
library card linked to (or unlinked from) the MyKey ID.

The kiosk builds it, the card signs it, the grant service checks it. The same envelope
is sent online and after an outage: offline is just "later". Its ``uuid`` is the
idempotency key; its signature is the card's RSA PKCS#1 v1.5 SHA-256 signature over
``signed_bytes``: the RFC 8785 canonical JSON of every field but the signature. The card
signing it (PIN-protected key) is the holder's consent; the card read is always the
beneficiary's card, also when a guardian acts for a minor (``for_whom = "minor"``).

Every field keeps its JSON form when parsed (times and binary values are strings), so
the canonical bytes the service computes are the ones the kiosk signed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal, Self, TypedDict, assert_never

import rfc8785
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PrivateAttr,
    TypeAdapter,
    field_validator,
    model_validator,
)

from mynapoint import receipt_numbers

ENVELOPE_VERSION: Final = 1
MAX_CERTIFICATE_BYTES = 4096
MAX_SIGNATURE_BYTES = 512

RECEIPT_PATTERN = receipt_numbers.PATTERN
KIOSK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$"
# Times are UTC, whole seconds, in the years 2000-2999: far enough for any edition of the
# programme, and far from year 9999, where date arithmetic (the JST day) overflows.
FIRST_YEAR, LAST_YEAR = 2000, 2999
TIME_PATTERN = r"^2[0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
_TIME_FORM = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"
# The largest integer JSON carries exactly (RFC 8785 refuses larger ones).
JSON_SAFE_INTEGER_MAX = 2**53 - 1
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
BASE64_PATTERN = r"^[A-Za-z0-9+/]+={0,2}$"


def _check_receipt_number(number: str) -> str:
    if not receipt_numbers.is_valid(number):
        raise ValueError("not a receipt number (its check character does not match)")
    return number


ReceiptNumber = Annotated[
    str, Field(pattern=RECEIPT_PATTERN), AfterValidator(_check_receipt_number)
]


def format_time(moment: dt.datetime) -> str:
    """The envelope's time format: UTC, whole seconds, ``Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    """Parse the envelope's time format, strictly (see ``TIME_PATTERN``); the message
    says what is wrong, never repeating the text."""
    if not re.fullmatch(_TIME_FORM, text):
        raise ValueError("not a time of the form YYYY-MM-DDTHH:MM:SSZ")
    moment = dt.datetime.fromisoformat(text)  # "Z" is UTC; 2026-02-30 is refused here
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"the year must be from {FIRST_YEAR} to {LAST_YEAR}")
    return moment


def _check_time(text: str) -> str:
    parse_time(text)
    return text


# A time as sent (its JSON form): checked by ``parse_time``, whose messages are clearer
# than a pattern's; the pattern is published in the schema.
TimeText = Annotated[
    str,
    Field(min_length=20, max_length=20, json_schema_extra={"pattern": TIME_PATTERN}),
    AfterValidator(_check_time),
]


def _check_storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


# Text the service stores: PostgreSQL text cannot hold NUL. (Lone surrogates, which no
# UTF-8 database holds, are refused by every pydantic string already.)
StorableText = Annotated[str, AfterValidator(_check_storable)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ReservationPayload(_Strict):
    """Setting a MyKey ID. The card's certificate says who; nothing else is needed."""

    terms_version: Annotated[str, Field(min_length=1, max_length=32)]


class ApplicationPayload(_Strict):
    """Choosing one cashless payment service."""

    service_code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
    payment_id: Annotated[str, Field(min_length=1, max_length=64)]
    # Checked with the operator, then dropped: never stored, never logged.
    security_code: Annotated[str, Field(min_length=1, max_length=16, repr=False)]
    phone_last4: Annotated[str | None, Field(pattern=r"^\d{4}$")] = None


class CancellationPayload(_Strict):
    """Cancelling an application made today (city-hall terminals only)."""

    application_receipt_number: ReceiptNumber
    reason: Literal["wrong_entry", "not_made_by_me"]


class ServiceLinkPayload(_Strict):
    """Linking a library card (or another facility's user number) to the MyKey ID (seed
    004 #3002, #3006): the facility from the platform's catalog, and the number as typed or
    scanned. Linking another number at the same facility replaces the first."""

    facility_code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
    user_number: Annotated[str, Field(min_length=1, max_length=32, repr=False)]


class ServiceUnlinkPayload(_Strict):
    """Unlinking the card of one facility."""

    facility_code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]


class CardSigned(_Strict):
    """A message signed by a My Number Card: its user-authentication certificate and the
    card's signature, both base64."""

    certificate: Annotated[str, Field(pattern=BASE64_PATTERN, max_length=6000)]
    signature: Annotated[str, Field(pattern=BASE64_PATTERN, max_length=700)] = ""

    @field_validator("certificate", "signature")
    @classmethod
    def _real_base64(cls, value: str) -> str:
        if value:
            try:
                base64.b64decode(value, validate=True)
            except binascii.Error as exc:
                raise ValueError("not valid base64") from exc
        return value

    @property
    def certificate_der(self) -> bytes:
        return base64.b64decode(self.certificate)

    @property
    def signature_bytes(self) -> bytes:
        return base64.b64decode(self.signature)


class _EnvelopeBase(CardSigned):
    version: Literal[1] = ENVELOPE_VERSION
    uuid: Annotated[str, Field(pattern=UUID_PATTERN)]
    receipt_number: ReceiptNumber
    kiosk_id: Annotated[str, Field(pattern=KIOSK_ID_PATTERN)]
    kiosk_time: TimeText
    # Per kiosk, increasing: kiosk order.
    sequence: Annotated[int, Field(ge=0, le=JSON_SAFE_INTEGER_MAX)]
    for_whom: Literal["self", "minor"]

    # The canonical bytes, computed once (a pure-Python RFC 8785 encoding of a 3 KB envelope
    # is a good part of the cost of checking it).
    _signed: bytes | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _canonical(self) -> Self:
        # The service must compute the very bytes the card signed: what RFC 8785 cannot
        # canonicalise is refused here, as invalid input, and never fails later.
        try:
            self.signed_bytes()
        except rfc8785.CanonicalizationError as exc:
            raise ValueError(f"not representable as canonical JSON (RFC 8785): {exc}") from exc
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        if update and set(update) - {"signature"}:  # the signed fields changed
            copy._signed = None
        return copy

    @property
    def time(self) -> dt.datetime:
        return parse_time(self.kiosk_time)

    def to_json(self) -> dict[str, JsonValue]:
        """The envelope as sent, and as received: exactly the fields that were given, so that
        an optional field left out is also left out of the signed bytes."""
        return self.model_dump(mode="json", exclude_unset=True)

    def signed_bytes(self) -> bytes:
        """RFC 8785 canonical JSON of everything but the signature: what the card signs."""
        if self._signed is None:
            body = self.to_json()
            body.pop("signature", None)
            self._signed = rfc8785.dumps(body)
        return self._signed


class ReservationEnvelope(_EnvelopeBase):
    kind: Literal["reservation"]
    payload: ReservationPayload


class ApplicationEnvelope(_EnvelopeBase):
    kind: Literal["application"]
    payload: ApplicationPayload


class CancellationEnvelope(_EnvelopeBase):
    kind: Literal["cancellation"]
    payload: CancellationPayload


class ServiceLinkEnvelope(_EnvelopeBase):
    kind: Literal["service_link"]
    payload: ServiceLinkPayload


class ServiceUnlinkEnvelope(_EnvelopeBase):
    kind: Literal["service_unlink"]
    payload: ServiceUnlinkPayload


Envelope = Annotated[
    ReservationEnvelope
    | ApplicationEnvelope
    | CancellationEnvelope
    | ServiceLinkEnvelope
    | ServiceUnlinkEnvelope,
    Field(discriminator="kind"),
]
ENVELOPE_ADAPTER: TypeAdapter[Envelope] = TypeAdapter(Envelope)

Payload = (
    ReservationPayload
    | ApplicationPayload
    | CancellationPayload
    | ServiceLinkPayload
    | ServiceUnlinkPayload
)


class _EnvelopeFields(TypedDict):
    """The fields every kind of envelope has, but its kind, payload and signature."""

    version: Literal[1]
    uuid: str
    receipt_number: str
    kiosk_id: str
    kiosk_time: str
    sequence: int
    for_whom: Literal["self", "minor"]
    certificate: str


def parse_envelope(data: object) -> Envelope:
    """Validate a JSON object (already decoded) as an envelope; raises ``ValidationError``."""
    return ENVELOPE_ADAPTER.validate_python(data)


def build_envelope(
    payload: Payload,
    *,
    kiosk_id: str,
    sequence: int,
    certificate_der: bytes,
    sign: Callable[[bytes], bytes],
    for_whom: Literal["self", "minor"] = "self",
    now: dt.datetime | None = None,
    receipt_number: str | None = None,
) -> Envelope:
    """Build an envelope and have the card sign it (``sign`` is ``JpkiCard.sign``)."""
    fields = _EnvelopeFields(
        version=ENVELOPE_VERSION,
        uuid=str(uuid.uuid4()),
        receipt_number=receipt_number or receipt_numbers.new_receipt_number(),
        kiosk_id=kiosk_id,
        kiosk_time=format_time(now or dt.datetime.now(dt.UTC)),
        sequence=sequence,
        for_whom=for_whom,
        certificate=base64.b64encode(certificate_der).decode("ascii"),
    )
    unsigned: Envelope
    match payload:
        case ReservationPayload():
            unsigned = ReservationEnvelope(kind="reservation", payload=payload, **fields)
        case ApplicationPayload():
            unsigned = ApplicationEnvelope(kind="application", payload=payload, **fields)
        case CancellationPayload():
            unsigned = CancellationEnvelope(kind="cancellation", payload=payload, **fields)
        case ServiceLinkPayload():
            unsigned = ServiceLinkEnvelope(kind="service_link", payload=payload, **fields)
        case ServiceUnlinkPayload():
            unsigned = ServiceUnlinkEnvelope(kind="service_unlink", payload=payload, **fields)
        case _:
            assert_never(payload)
    signature = sign(unsigned.signed_bytes())
    return unsigned.model_copy(update={"signature": base64.b64encode(signature).decode("ascii")})
