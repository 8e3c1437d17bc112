"""Providers' certificates: what the gateway keeps of the certificate a provider may use instead
of its web-service login and password, by agreement (Segurança e Privacidade, item 3), and the
CNPJ or CPF an ICP-Brasil certificate names (checked against the provider who signs a message).

Pure: reads bytes, nothing about TLS servers, files or databases. A certificate is known by the
SHA-256 of its DER encoding; its subject, issuer, serial and validity are kept for people.
"""

import hashlib
import re
import string
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.tiss.header import CNPJ, CPF, Party

PEM_MARKER = b"-----BEGIN"

# DOC-ICP-04 (item 7.1.2.3): ICP-Brasil puts the holder's identity in otherName fields of the
# subject alternative name. e-CPF: 2.16.76.1.3.1 = birth date (ddmmaaaa, 8) + CPF (11) + NIS,
# RG and its issuer. e-CNPJ: 2.16.76.1.3.3 = the CNPJ (14); it also carries 2.16.76.1.3.4, the
# same layout as 2.16.76.1.3.1 for the person responsible, whose CPF is not the holder's.
ICP_BRASIL_CPF = x509.ObjectIdentifier("2.16.76.1.3.1")
ICP_BRASIL_CNPJ = x509.ObjectIdentifier("2.16.76.1.3.3")
# The value is an OCTET STRING or PRINTABLE STRING by DOC-ICP-04; UTF8String, IA5String and
# VisibleString are seen in the field too. Their tags, as the otherName's DER value starts:
_STRING_TAGS = frozenset({0x04, 0x0C, 0x13, 0x16, 0x1A})
_CNPJ_TEXT = re.compile(r"[A-Z0-9]{12}[0-9]{2}")  # alphanumeric since July 2026
_DIGITS = re.compile(r"[0-9]+")
_BIRTH_DATE_LENGTH = 8


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
    holder: Party | None = None  # the CNPJ or CPF an ICP-Brasil certificate names

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
        holder=holder_document(cert),
    )


def holder_document(cert: x509.Certificate) -> Party | None:
    """The CNPJ (e-CNPJ) or else the CPF (e-CPF) an ICP-Brasil certificate names in its subject
    alternative name, as Party(CNPJ | CPF, value); None when it names neither, readably. Never
    raises: a certificate from the outside may carry anything in its extensions."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        other_names = names.get_values_for_type(x509.OtherName)
    except (x509.ExtensionNotFound, ValueError):
        return None
    found: dict[str, str] = {}
    for name in other_names:
        text = _other_name_text(name.value)
        if text is None:
            continue
        if name.type_id == ICP_BRASIL_CNPJ:
            cnpj = text.strip().upper()
            if _CNPJ_TEXT.fullmatch(cnpj) and cnpj.strip("0"):
                found.setdefault(CNPJ, cnpj)
        elif name.type_id == ICP_BRASIL_CPF:
            fields = text.strip()
            cpf = fields[_BIRTH_DATE_LENGTH : _BIRTH_DATE_LENGTH + 11]
            if (
                _DIGITS.fullmatch(fields[:_BIRTH_DATE_LENGTH] + cpf)
                and len(cpf) == 11
                and cpf.strip("0")  # zeros: "not informed", as DOC-ICP-04 fills absent fields
            ):
                found.setdefault(CPF, cpf)
    for kind in (CNPJ, CPF):
        if kind in found:
            return Party(kind, found[kind])
    return None


def _other_name_text(value: bytes) -> str | None:
    """The text of an otherName's value: one DER string (tag, length, content) and nothing
    after it; None for anything else."""
    if len(value) < 2 or value[0] not in _STRING_TAGS:
        return None
    length, start = value[1], 2
    if length & 0x80:  # long form: the next (length & 0x7F) bytes hold the length
        size = length & 0x7F
        if not 1 <= size <= 2 or len(value) < 2 + size:
            return None
        length, start = int.from_bytes(value[2 : 2 + size], "big"), 2 + size
    if len(value) != start + length:
        return None
    return value[start:].decode("latin-1")


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
