"""Client certificates: what the gateway keeps of the certificate a provider may use instead of
its web-service login and password, by agreement (Segurança e Privacidade, item 3).

Pure: reads bytes, nothing about TLS servers, files or databases. A certificate is known by the
SHA-256 of its DER encoding; its subject, issuer, serial and validity are kept for people.
"""

import hashlib
import string
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

PEM_MARKER = b"-----BEGIN"


class CertificateError(ValueError):
    """The bytes are not exactly one readable X.509 certificate."""


@dataclass(frozen=True)
class CertificateInfo:
    sha256: str  # lowercase hex of the SHA-256 of the DER encoding
    subject: str  # RFC 4514
    issuer: str
    serial: str  # uppercase hex
    not_before: datetime  # UTC
    not_after: datetime
    is_ca: bool

    def describe(self) -> str:
        """For logs and the archive: the fingerprint and the subject, nothing else."""
        return f"SHA-256 {self.sha256}, {self.subject}"


def read_certificate(data: bytes) -> CertificateInfo:
    """One certificate, PEM or DER. A PEM holding several (a chain) is refused: the agreement is
    about the provider's own certificate, not about its CAs."""
    try:
        if PEM_MARKER in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise CertificateError("não é um certificado X.509 legível (PEM ou DER)") from None
    if len(certs) != 1:
        raise CertificateError(
            f"o arquivo tem {len(certs)} certificados; informe só o do prestador"
        )
    return describe_certificate(certs[0])


def describe_certificate(cert: x509.Certificate) -> CertificateInfo:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return CertificateInfo(
        sha256=hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        serial=f"{cert.serial_number:X}",
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        is_ca=is_ca,
    )


def normalize_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as people copy it (`AB:CD:...`, spaces, any case) in the form the
    gateway stores: 64 lowercase hex digits."""
    cleaned = "".join(c for c in text.strip().lower() if c not in ": ")
    if len(cleaned) != 64 or any(c not in string.hexdigits for c in cleaned):
        raise CertificateError("a impressão digital SHA-256 tem 64 dígitos hexadecimais")
    return cleaned


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:
        return "(nome ilegível)"
