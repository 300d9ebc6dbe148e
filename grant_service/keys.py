"""The service's own secrets and its device CA, kept in the data directory (mode 0600).

- the account key: HMAC key for payment-account fingerprints (one account, one person)
  and for the idempotency fingerprints of envelopes;
- the audit key: HMAC key of the audit chains, so a rewritten chain cannot be re-sealed;
- the checkpoint key (``audit-checkpoint-key.pem``): Ed25519 key that signs audit
  checkpoints (the heads of every chain, kept outside the database: ``grant-service
  audit-checkpoint``); auditors pin its public half (``audit-checkpoint --public-key``);
- the voucher key (``voucher-key.pem``): Ed25519 key that signs point vouchers' QR codes;
  shops check them offline with its public half (``GET /v1/platform/voucher-key``);
- the device CA: the ECDSA P-256 CA that certifies kiosk device keys at enrollment.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.x509.oid import NameOID

from mynapoint.private_files import create_private_once

K = TypeVar("K", x25519.X25519PrivateKey, ed25519.Ed25519PrivateKey)


def load_or_create_secret(path: Path, size: int = 32) -> bytes:
    """A random secret kept in ``path``; made on first use, never printed."""
    create_private_once(path, secrets.token_bytes(size))
    secret = path.read_bytes()
    if len(secret) < 16:
        raise ValueError(f"{path} holds too short a secret")
    return secret


@dataclass(frozen=True)
class ServiceKeys:
    account_hmac: bytes
    audit_hmac: bytes
    # X25519: kiosks seal exported queue files to it (mynapoint/queue_export.py).
    import_key: x25519.X25519PrivateKey
    # Ed25519: signs audit checkpoints (grant_service/audit.py make_checkpoint).
    checkpoint_key: ed25519.Ed25519PrivateKey
    # Ed25519: signs point vouchers' QR codes (mynapoint/vouchers.py); shops hold its
    # public half and check vouchers with no network.
    voucher_key: ed25519.Ed25519PrivateKey

    @classmethod
    def load(cls, data_dir: Path) -> ServiceKeys:
        return cls(
            load_or_create_secret(data_dir / "account-hmac.key"),
            load_or_create_secret(data_dir / "audit-hmac.key"),
            # mypy wants a concrete class for type[K] (python/mypy#4717); these key classes
            # are abstract, and _load_or_create_key only calls generate() and isinstance().
            _load_or_create_key(
                data_dir / "import-key.pem",
                x25519.X25519PrivateKey,  # type: ignore[type-abstract]  # see above
            ),
            _load_or_create_key(
                data_dir / "audit-checkpoint-key.pem",
                ed25519.Ed25519PrivateKey,  # type: ignore[type-abstract]  # see above
            ),
            _load_or_create_key(
                data_dir / "voucher-key.pem",
                ed25519.Ed25519PrivateKey,  # type: ignore[type-abstract]  # see above
            ),
        )


def _load_or_create_key(path: Path, kind: type[K]) -> K:
    """The private key in ``path`` (PEM, 0600); made on first use, the first one kept."""
    if not path.exists():
        create_private_once(
            path,
            kind.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    # The file's key, also when another process made it first.
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, kind):
        raise ValueError(f"{path} is not an {kind.__name__.removesuffix('PrivateKey')} key")
    return key


def public_key_base64(key: ed25519.Ed25519PrivateKey) -> str:
    """The checkpoint key's public half as checkpoints carry it and auditors pin it:
    raw Ed25519, base64."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def fingerprint(public_key_b64: str) -> str:
    """A short name for a public key, OpenSSH style: SHA256 of the raw key, base64."""
    digest = hashlib.sha256(base64.b64decode(public_key_b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


DEVICE_CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mynapoint grant service"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Mynapoint kiosk device CA"),
    ]
)


class CsrRejected(ValueError):
    pass


@dataclass(frozen=True)
class DeviceCa:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def load_or_create(cls, directory: Path) -> DeviceCa:
        key_path, cert_path = directory / "device-ca-key.pem", directory / "device-ca-cert.pem"
        if key_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path} is not an EC key")
            return cls(key, x509.load_pem_x509_certificate(cert_path.read_bytes()))
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(DEVICE_CA_NAME)
            .issuer_name(DEVICE_CA_NAME)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=20 * 365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        # The certificate first, the key last: a key file means the CA is complete.
        # (``serve`` makes the CA before it starts workers, so they never race here.)
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        create_private_once(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return cls(key, certificate)

    def issue(self, csr_pem: str, kiosk_id: str, channel: str, days: int) -> x509.Certificate:
        """Certify the device key in a CSR. The name is ours, not the CSR's: the channel
        and kiosk id come from the enrollment, never from the kiosk."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise CsrRejected("not a PEM certificate signing request") from exc
        if not csr.is_signature_valid:
            raise CsrRejected("the CSR's signature does not match its key")
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256R1
        ):
            raise CsrRejected("device keys must be ECDSA P-256")
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, channel),
                        x509.NameAttribute(NameOID.COMMON_NAME, kiosk_id),
                    ]
                )
            )
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
