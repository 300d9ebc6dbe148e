"""Trust in cards: the JPKI user-authentication CAs, card certificates, signatures, CRLs.

``CardTrust.authenticate``: is this an envelope a JPKI card really signed? A parsed
certificate from a trusted user-authentication CA, for digital signatures, the signature
matching, a time not in the future. Failing these is an *error*: nothing is kept under the
envelope's UUID. ``import_crl`` verifies a CA's CRL and makes it the current one.

Whether the card may do a procedure at the envelope's time (not queued too long, the
certificate valid then, the 24-hour wait after a renewal, not revoked by then per a CRL
fresh enough) is a rule of the programme: ``rules.check_validity``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import delete
from sqlalchemy.orm import Session

from grant_service import audit
from grant_service.models import CrlState, RevokedCertificate
from grant_service.refusals import Refused
from mynapoint.envelope import Envelope
from mynapoint.reasons import R

CHECKED_CERTIFICATES_KEPT = 10_000


@dataclass(frozen=True)
class CardIdentity:
    """Who the envelope is from: the certificate's issuer and serial number."""

    issuer: str
    serial_hex: str
    not_before: dt.datetime
    not_after: dt.datetime


def issuer_key(name: x509.Name) -> str:
    return name.rfc4514_string()


class CardTrust:
    """The JPKI user-authentication CAs that card certificates must chain to."""

    def __init__(self, ca_certificates: list[x509.Certificate]) -> None:
        self._by_subject = {issuer_key(c.subject): c for c in ca_certificates}
        self._checked: dict[bytes, tuple[rsa.RSAPublicKey, CardIdentity]] = {}

    @classmethod
    def from_files(cls, paths: list[Path]) -> CardTrust:
        certificates = []
        for path in paths:
            if path.exists():
                data = path.read_bytes()
                load = (
                    x509.load_pem_x509_certificates
                    if b"-----BEGIN" in data
                    else lambda d: [x509.load_der_x509_certificate(d)]
                )
                certificates.extend(load(data))
        return cls(certificates)

    @property
    def issuers(self) -> list[str]:
        return sorted(self._by_subject)

    def ca_for(self, issuer: str) -> x509.Certificate | None:
        return self._by_subject.get(issuer)

    def authenticate(
        self,
        envelope: Envelope,
        now: dt.datetime,
        skew: dt.timedelta,
        signed_bytes: bytes | None = None,
    ) -> CardIdentity:
        """The card behind a genuine envelope; ``signed_bytes`` may be passed when the
        caller has them already (they cost a canonical-JSON serialisation)."""
        identity = self.verify_signed(
            envelope.certificate_der,
            envelope.signature_bytes,
            signed_bytes if signed_bytes is not None else envelope.signed_bytes(),
        )
        if envelope.time > now + skew:
            raise Refused(R.ENVELOPE_IN_FUTURE, f"envelope time {envelope.kiosk_time}")
        return identity

    def verify_signed(
        self, certificate_der: bytes, signature: bytes, message: bytes
    ) -> CardIdentity:
        """The card whose trusted certificate's key made ``signature`` over ``message``."""
        public_key, identity = self._certificate(certificate_der)
        try:
            public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise Refused(R.SIGNATURE_INVALID) from exc
        return identity

    def certificate_identity(self, der: bytes) -> CardIdentity:
        """The identity in a trusted certificate (``Refused`` if it is not one)."""
        return self._certificate(der)[1]

    def _certificate(self, der: bytes) -> tuple[rsa.RSAPublicKey, CardIdentity]:
        """A trusted card certificate's key and identity. Remembered: the same card comes
        back for its application, and in every retry."""
        known = self._checked.get(der)
        if known is not None:
            return known
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise Refused(R.CERT_MALFORMED) from exc
        issuer = issuer_key(certificate.issuer)
        ca = self._by_subject.get(issuer)
        if ca is None:
            raise Refused(R.CERT_UNTRUSTED, f"unknown issuer {issuer}")
        try:
            certificate.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise Refused(R.CERT_UNTRUSTED, "not signed by the trusted CA of that name") from exc
        if not _for_digital_signature(certificate):
            raise Refused(R.CERT_UNTRUSTED, "the certificate is not for digital signatures")
        public_key = certificate.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise Refused(R.CERT_UNTRUSTED, "JPKI card keys are RSA")
        identity = CardIdentity(
            issuer=issuer,
            serial_hex=f"{certificate.serial_number:X}",
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
        )
        if len(self._checked) >= CHECKED_CERTIFICATES_KEPT:
            self._checked.pop(next(iter(self._checked)))  # forget the oldest
        self._checked[der] = (public_key, identity)
        return public_key, identity


def _for_digital_signature(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return usage.digital_signature


def import_crl(
    session: Session, audit_key: bytes, trust: CardTrust, crl_bytes: bytes, now: dt.datetime
) -> tuple[str, int]:
    """Verify a CRL against its trusted CA and make it the current one for that CA.

    Returns the issuer and the number of revoked serials. An older CRL than the one
    already imported is refused (a replayed CRL could hide a revocation)."""
    try:
        crl = (
            x509.load_pem_x509_crl(crl_bytes)
            if b"-----BEGIN" in crl_bytes
            else x509.load_der_x509_crl(crl_bytes)
        )
    except ValueError as exc:
        raise ValueError("not a CRL (PEM or DER)") from exc
    issuer = issuer_key(crl.issuer)
    ca = trust.ca_for(issuer)
    if ca is None:
        raise ValueError(f"the CRL's issuer is not a trusted CA: {issuer}")
    public_key = ca.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or not crl.is_signature_valid(public_key):
        raise ValueError("the CRL's signature does not verify with its CA")
    this_update = crl.last_update_utc
    current = session.get(CrlState, issuer)
    if current is not None and this_update < current.this_update:
        raise ValueError(
            f"this CRL ({this_update:%Y-%m-%d %H:%M}) is older than the imported one "
            f"({current.this_update:%Y-%m-%d %H:%M})"
        )
    session.execute(delete(RevokedCertificate).where(RevokedCertificate.issuer == issuer))
    count = 0
    for entry in crl:
        session.add(
            RevokedCertificate(
                issuer=issuer,
                serial_hex=f"{entry.serial_number:X}",
                revoked_at=entry.revocation_date_utc,
            )
        )
        count += 1
    if current is None:
        current = CrlState(issuer=issuer)
        session.add(current)
    current.this_update = this_update
    current.next_update = crl.next_update_utc
    current.imported_at = now
    audit.append(
        session, audit_key, at=now, actor="operator", action="crl.import",
        subject=issuer[:128], outcome="accepted",
    )  # fmt: skip
    return issuer, count
