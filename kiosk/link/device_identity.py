"""The kiosk's device identity: its ECDSA P-256 key and the certificate the grant service
gave it at enrollment. The key never leaves the kiosk; it signs every request."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mynapoint.private_files import write_private

KEY_FILE = "device-key.pem"
CERT_FILE = "device-cert.pem"
CA_FILE = "device-ca-cert.pem"
ID_FILE = "kiosk-id"
IMPORT_KEY_FILE = "service-import-key.b64"
CHANNEL_FILE = "channel"


@dataclass
class DeviceIdentity:
    kiosk_id: str
    key: ec.EllipticCurvePrivateKey
    certificate_pem: str = ""
    ca_certificate_pem: str = ""
    # The grant service's X25519 key (base64): exported queue files are sealed to it.
    import_public_key: str = ""
    # Where the kiosk stands, as the enrollment token said: "convenience_store" or
    # "city_hall" (what the kiosk may offer follows from it, e.g. same-day cancellation).
    channel: str = ""

    @classmethod
    def generate(cls, kiosk_id: str) -> DeviceIdentity:
        return cls(kiosk_id, ec.generate_private_key(ec.SECP256R1()))

    @property
    def enrolled(self) -> bool:
        return bool(self.certificate_pem)

    def csr_pem(self) -> str:
        """A CSR for this key (the service names the certificate, not the CSR)."""
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.kiosk_id)]))
            .sign(self.key, hashes.SHA256())
        )
        return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def save(self, directory: Path) -> None:
        """Every file private (0600) and replaced whole; the key last, so that a key on
        disk means an enrolled kiosk (``load_identity`` looks for it)."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name, text in (
            (ID_FILE, self.kiosk_id + "\n"),
            (CERT_FILE, self.certificate_pem),
            (CA_FILE, self.ca_certificate_pem),
            (IMPORT_KEY_FILE, self.import_public_key),
            (CHANNEL_FILE, self.channel + "\n"),
        ):
            write_private(directory / name, text.encode())
        write_private(directory / KEY_FILE, self.key_pem())

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def load(cls, directory: Path) -> DeviceIdentity:
        key = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{directory / KEY_FILE} is not an EC key")

        def text(name: str) -> str:
            path = directory / name
            return path.read_text() if path.exists() else ""

        return cls(
            text(ID_FILE).strip(),
            key,
            text(CERT_FILE),
            text(CA_FILE),
            text(IMPORT_KEY_FILE).strip(),
            text(CHANNEL_FILE).strip(),
        )
