"""A test CA that mirrors the JPKI user-authentication CA, for virtual cards.

Certificates look like real user-authentication certificates where it matters to the
kiosk and the grant service: issuer names like the real CA's but marked TEST, an opaque
subject CN (no name, no My Number), RSA-2048, sha256WithRSAEncryption, critical
digitalSignature key usage, and a CRL. Options give expired certificates, certificates
issued less than 24 hours ago (just renewed), and revoked serials.

A CA directory holds ``ca-key.pem``, ``ca-cert.pem``, ``revoked.json`` and the CRL as
``crl.der`` / ``crl.pem`` (user authentication), and ``signature-ca-*.pem`` for the
digital-signature side of the card. It is test material: the keys are not encrypted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# Names shaped like the real JPKI user-authentication CA's, marked TEST.
CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI TEST"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for user authentication TEST"),
        x509.NameAttribute(
            NameOID.ORGANIZATIONAL_UNIT_NAME,
            "Japan Agency for Local Authority Information Systems (TEST)",
        ),
    ]
)
# A policy OID under the UUID arc (2.25), so a test certificate can never pass for a real one.
TEST_POLICY_OID = x509.ObjectIdentifier("2.25.187405718391285925862651232914711394626")
POLICY_NOTICE = (
    "TEST certificate for the Mynapoint kiosk. Not valid for any real procedure. "
    "テスト用の利用者証明用電子証明書です。実際の手続には使用できません。"
)
CRL_URL = "http://crl.jpki-test.invalid/user-authentication.crl"
# Real certificates name the issuer again in Japanese (issuerAltName) and give the CRL
# both as a directory entry and by URL; the test CA does the same, so its certificates
# have the size of real ones (over 1,500 bytes) and exercise chunked reading.
ISSUER_ALT_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "東京都"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "千代田区"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "地方公共団体情報システム機構（テスト）"),
        x509.NameAttribute(
            NameOID.ORGANIZATIONAL_UNIT_NAME, "公的個人認証サービス 利用者証明用（テスト）"
        ),
    ]
)
CRL_DIRECTORY_NAME = x509.Name(
    [
        *CA_NAME,
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "CRL Distribution Points"),
        x509.NameAttribute(NameOID.COMMON_NAME, "CRL-USER-AUTHENTICATION-TEST"),
    ]
)
OCSP_URL = "http://ocsp.jpki-test.invalid/"
CRL_LIFETIME = dt.timedelta(days=7)

SIGNATURE_CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI TEST"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for digital signature TEST"),
        x509.NameAttribute(
            NameOID.ORGANIZATIONAL_UNIT_NAME,
            "Japan Agency for Local Authority Information Systems (TEST)",
        ),
    ]
)

KEY_FILE = "ca-key.pem"
CERT_FILE = "ca-cert.pem"
SIGNATURE_KEY_FILE = "signature-ca-key.pem"
SIGNATURE_CERT_FILE = "signature-ca-cert.pem"
REVOKED_FILE = "revoked.json"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class Validity:
    not_before: dt.datetime
    not_after: dt.datetime

    @classmethod
    def usable(cls, now: dt.datetime | None = None) -> Validity:
        """Issued 30 days ago, valid for 5 years: usable for every procedure."""
        now = now or utcnow()
        return cls(now - dt.timedelta(days=30), now + dt.timedelta(days=5 * 365))

    @classmethod
    def expired(cls, now: dt.datetime | None = None) -> Validity:
        now = now or utcnow()
        return cls(now - dt.timedelta(days=5 * 365), now - dt.timedelta(days=1))

    @classmethod
    def just_renewed(cls, now: dt.datetime | None = None) -> Validity:
        """Issued one hour ago: the 24-hour rule after renewal forbids procedures."""
        now = now or utcnow()
        return cls(now - dt.timedelta(hours=1), now + dt.timedelta(days=5 * 365))


@dataclass
class JpkiTestCa:
    """The user-authentication CA (what the grant service trusts), plus a digital-signature
    CA for the other side of the card, which the kiosk never uses."""

    directory: Path
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    signature_key: rsa.RSAPrivateKey
    signature_certificate: x509.Certificate

    @classmethod
    def create(cls, directory: Path) -> JpkiTestCa:
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / KEY_FILE).exists():
            raise FileExistsError(f"{directory} already holds a CA")
        key, certificate = _make_ca(CA_NAME)
        signature_key, signature_certificate = _make_ca(SIGNATURE_CA_NAME)
        for key_file, cert_file, k, c in (
            (KEY_FILE, CERT_FILE, key, certificate),
            (SIGNATURE_KEY_FILE, SIGNATURE_CERT_FILE, signature_key, signature_certificate),
        ):
            _write_private(directory / key_file, _pem_key(k))
            (directory / cert_file).write_bytes(c.public_bytes(serialization.Encoding.PEM))
        ca = cls(directory, key, certificate, signature_key, signature_certificate)
        ca.write_crl()
        return ca

    @classmethod
    def load(cls, directory: Path) -> JpkiTestCa:
        return cls(
            directory,
            _load_key(directory / KEY_FILE),
            _load_cert(directory / CERT_FILE),
            _load_key(directory / SIGNATURE_KEY_FILE),
            _load_cert(directory / SIGNATURE_CERT_FILE),
        )

    @classmethod
    def load_or_create(cls, directory: Path) -> JpkiTestCa:
        if (directory / KEY_FILE).exists():
            return cls.load(directory)
        return cls.create(directory)

    def issue_signature(
        self, key: rsa.RSAPrivateKey, validity: Validity | None = None
    ) -> x509.Certificate:
        """A digital-signature certificate (署名用電子証明書) for the card's other side.

        On a real card it names the holder; this one names nobody."""
        validity = validity or Validity.usable()
        return (
            x509.CertificateBuilder()
            .subject_name(_opaque_subject())
            .issuer_name(self.signature_certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity.not_before)
            .not_valid_after(validity.not_after)
            .add_extension(_key_usage(digital_signature=True, non_repudiation=True), critical=True)
            .sign(self.signature_key, hashes.SHA256())
        )

    def issue(self, key: rsa.RSAPrivateKey, validity: Validity | None = None) -> x509.Certificate:
        """A user-authentication certificate for ``key``."""
        validity = validity or Validity.usable()
        return (
            x509.CertificateBuilder()
            .subject_name(_opaque_subject())
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity.not_before)
            .not_valid_after(validity.not_after)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.CertificatePolicies(
                    [
                        x509.PolicyInformation(
                            TEST_POLICY_OID,
                            [
                                "http://www.jpki-test.invalid/cps/",
                                x509.UserNotice(None, POLICY_NOTICE),
                            ],
                        )
                    ]
                ),
                critical=True,
            )
            .add_extension(
                x509.IssuerAlternativeName([x509.DirectoryName(ISSUER_ALT_NAME)]),
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [
                                x509.DirectoryName(CRL_DIRECTORY_NAME),
                                x509.UniformResourceIdentifier(CRL_URL),
                            ],
                            None,
                            None,
                            None,
                        )
                    ]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(OCSP_URL),
                        )
                    ]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )

    # --- revocation ------------------------------------------------------------------

    def revoked_serials(self) -> dict[int, str]:
        path = self.directory / REVOKED_FILE
        if not path.exists():
            return {}
        return {int(serial): when for serial, when in json.loads(path.read_text()).items()}

    def revoke(
        self, serial: int, when: dt.datetime | None = None
    ) -> x509.CertificateRevocationList:
        revoked = self.revoked_serials()
        revoked[serial] = (when or utcnow()).isoformat()
        path = self.directory / REVOKED_FILE
        path.write_text(json.dumps({str(s): w for s, w in revoked.items()}, indent=2))
        return self.write_crl()

    def write_crl(self, now: dt.datetime | None = None) -> x509.CertificateRevocationList:
        now = now or utcnow()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now)
            .next_update(now + CRL_LIFETIME)
        )
        for serial, when in sorted(self.revoked_serials().items()):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(dt.datetime.fromisoformat(when))
                .build()
            )
        crl = builder.sign(self.key, hashes.SHA256())
        (self.directory / "crl.der").write_bytes(crl.public_bytes(serialization.Encoding.DER))
        (self.directory / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        return crl


def _make_ca(name: x509.Name) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = new_rsa_key()
    now = utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=365))
        .not_valid_after(now + dt.timedelta(days=20 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _opaque_subject() -> x509.Name:
    # As on real user-authentication certificates: nothing about the person is in it.
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.COMMON_NAME, secrets.token_hex(16).upper()),
        ]
    )


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA key")
    return key


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _key_usage(
    *, digital_signature: bool = False, non_repudiation: bool = False, key_cert_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
