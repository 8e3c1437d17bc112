"""Trust in a signer's certificate: a path to a trusted CA, validity dates, revocation by CRL.

Pure: the trust anchors (e.g. the ICP-Brasil roots) and the CRLs are values the caller loaded
once; nothing is fetched (no AIA, no CRL distribution points, no OCSP). The path is built from
the certificates the signature carries (KeyInfo/X509Data) to an anchor, checking each link's
signature with `cryptography`. Each failure names the table-38 code it answers with.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes

from gateway.tiss import codes

# ICP-Brasil paths are root -> intermediate CA -> issuing CA -> holder; leave room, bound loops.
MAX_PATH_LENGTH = 8
_WEAK_HASHES = (hashes.MD5, hashes.SHA1)
_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.DOTALL)


class TrustMaterialError(ValueError):
    """CA certificates or CRLs that cannot be read."""


@dataclass(frozen=True)
class TrustStore:
    anchors: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] = ()

    @classmethod
    def from_bytes(cls, ca_bundle: bytes, crls: Iterable[bytes] = ()) -> "TrustStore":
        anchors = load_certificates(ca_bundle)
        if not anchors:
            raise TrustMaterialError("no CA certificate in the bundle")
        return cls(tuple(anchors), tuple(crl for data in crls for crl in load_crls(data)))


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle."""
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        return []
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TrustMaterialError(f"unreadable certificate: {exc}") from None


def load_crls(data: bytes) -> list[x509.CertificateRevocationList]:
    """The CRLs of a file: one or more PEM blocks, or one DER CRL (as CAs publish them)."""
    try:
        blocks = _PEM_CRL.findall(data)
        if blocks:
            return [x509.load_pem_x509_crl(block) for block in blocks]
        return [x509.load_der_x509_crl(data)]
    except ValueError as exc:
        raise TrustMaterialError(f"unreadable CRL: {exc}") from None


def describe(cert: x509.Certificate) -> str:
    """Subject and serial number, for messages and the archive."""
    try:
        subject = cert.subject.rfc4514_string()
    except ValueError:
        subject = "(nome ilegível)"
    return f"{subject} (série {cert.serial_number:X})"


@dataclass(frozen=True)
class CertificateCheck:
    """The outcome for a signer's certificate. `code` is None when it is trusted."""

    code: str | None
    reason: str
    leaf: x509.Certificate | None = None
    path: tuple[x509.Certificate, ...] = ()  # leaf first, trust anchor last
    revocation: str | None = None  # what the revocation check found (CRLs used or missing)


def check_certificates(
    certs: Sequence[x509.Certificate], trust: TrustStore, at: datetime
) -> CertificateCheck:
    """Check the certificates a signature carries at time `at`, in this order: a path to a
    trusted CA (5021), the leaf usable for signing (5018), validity dates (5019 expired, 5018
    not yet valid), revocation by CRL (5020)."""
    leaf = None
    try:
        leaf = signer_certificate(certs)
        if leaf is None:
            return CertificateCheck(codes.CERTIFICATE_INVALID, "nenhum certificado do signatário")
        path = _build_path(leaf, tuple(certs), trust.anchors, (leaf,))
        if path is None:
            return CertificateCheck(
                codes.CERTIFICATION_CHAIN_INVALID,
                f"{describe(leaf)} não tem cadeia até uma AC confiável",
                leaf,
            )
        problem = _chain_problem(path) or _leaf_problem(leaf) or _date_problem(path, at)
        if problem is not None:
            return CertificateCheck(problem[0], problem[1], leaf, path)
        revoked, note = _revocation(path, trust.crls, at)
    # Malformed names and extensions surface only when read; a repeated extension is its own
    # exception, not a ValueError.
    except (ValueError, x509.DuplicateExtension) as exc:
        return CertificateCheck(codes.CERTIFICATE_INVALID, f"certificado malformado: {exc}", leaf)
    if revoked is not None:
        return CertificateCheck(codes.CERTIFICATE_REVOKED, revoked, leaf, path, note)
    return CertificateCheck(None, "certificado confiável", leaf, path, note)


def signer_certificate(certs: Sequence[x509.Certificate]) -> x509.Certificate | None:
    """The end-entity certificate among those of X509Data, which implies no order: the first one
    that issued none of the others."""
    for cert in certs:
        if not any(other.issuer == cert.subject and other != cert for other in certs):
            return cert
    return certs[0] if certs else None


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _build_path(
    cert: x509.Certificate,
    pool: tuple[x509.Certificate, ...],
    anchors: tuple[x509.Certificate, ...],
    path: tuple[x509.Certificate, ...],
) -> tuple[x509.Certificate, ...] | None:
    """A path from `path`'s last certificate to an anchor, through certificates of `pool`.
    Depth-first, because renewed CAs can share a name with different keys."""
    if cert in anchors:  # the operator trusts this very certificate
        return path
    if len(path) > MAX_PATH_LENGTH:
        return None
    for anchor in anchors:
        if _issued_by(cert, anchor):
            return path + (anchor,)
    for candidate in pool:
        if candidate not in path and _issued_by(cert, candidate):
            found = _build_path(candidate, pool, anchors, path + (candidate,))
            if found is not None:
                return found
    return None


def _extension(cert: x509.Certificate, kind: type) -> object | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


# Critical extensions cryptography parses but this verifier does not enforce: to RFC 5280 they
# are as unknown as the ones nobody parses (a CA's name constraints would otherwise be read and
# ignored, and a holder outside them trusted). ICP-Brasil's CAs carry none of them.
_NOT_ENFORCED = (x509.NameConstraints,)


def _unknown_critical(cert: x509.Certificate) -> bool:
    # RFC 5280 4.2: a critical extension the verifier does not understand makes it unusable.
    return any(
        e.critical and isinstance(e.value, (x509.UnrecognizedExtension, *_NOT_ENFORCED))
        for e in cert.extensions
    )


def _chain_problem(path: tuple[x509.Certificate, ...]) -> tuple[str, str] | None:
    """Every issuer on the path must be a CA allowed to sign certificates this deep, and no link
    may rest on a broken hash."""
    chain = codes.CERTIFICATION_CHAIN_INVALID
    for depth, issuer in enumerate(path[1:]):
        constraints = _extension(issuer, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            return chain, f"{describe(issuer)} não é uma AC"
        if constraints.path_length is not None and depth > constraints.path_length:
            return chain, f"{describe(issuer)} não pode emitir cadeias desse comprimento"
        usage = _extension(issuer, x509.KeyUsage)
        if usage is not None and not usage.key_cert_sign:
            return chain, f"{describe(issuer)} não pode assinar certificados"
        if _unknown_critical(issuer):
            return chain, f"{describe(issuer)} tem extensão crítica não suportada"
    for cert in path[:-1]:
        if isinstance(cert.signature_hash_algorithm, _WEAK_HASHES):
            return chain, f"{describe(cert)} foi assinado com {cert.signature_hash_algorithm.name}"
    return None


def _leaf_problem(leaf: x509.Certificate) -> tuple[str, str] | None:
    usage = _extension(leaf, x509.KeyUsage)
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        return codes.CERTIFICATE_INVALID, f"{describe(leaf)} não é de assinatura digital"
    if _unknown_critical(leaf):
        return codes.CERTIFICATE_INVALID, f"{describe(leaf)} tem extensão crítica não suportada"
    return None


def _date_problem(path: tuple[x509.Certificate, ...], at: datetime) -> tuple[str, str] | None:
    # The anchor's own dates are the operator's concern (RFC 5280 6.1: an anchor is a name and a
    # key), unless the anchor is the signer's certificate itself.
    for cert in path[:-1] or path:
        if at > cert.not_valid_after_utc:
            when = cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")
            return codes.CERTIFICATE_EXPIRED, f"{describe(cert)} venceu em {when}"
        if at < cert.not_valid_before_utc:
            when = cert.not_valid_before_utc.strftime("%Y-%m-%d %H:%M UTC")
            return codes.CERTIFICATE_INVALID, f"{describe(cert)} só é válido a partir de {when}"
    return None


def _revocation(
    path: tuple[x509.Certificate, ...],
    crls: tuple[x509.CertificateRevocationList, ...],
    at: datetime,
) -> tuple[str | None, str]:
    """(why a certificate of the path is revoked, or None; what was checked). A certificate
    whose issuer has no CRL among those loaded is not refused: the note says so, and the note is
    archived with the message."""
    if len(path) == 1:
        return None, "certificado confiado diretamente; sem LCR"
    notes = []
    for cert, issuer in zip(path, path[1:], strict=False):
        relevant = [crl for crl in crls if crl.issuer == cert.issuer and _signed_by(crl, issuer)]
        if not relevant:
            notes.append(f"sem LCR de {describe(issuer)}")
            continue
        for crl in relevant:
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                when = entry.revocation_date_utc.strftime("%Y-%m-%d %H:%M UTC")
                return f"{describe(cert)} revogado em {when}", "revogado na LCR"
        newest = max(relevant, key=lambda crl: crl.last_update_utc)
        if newest.next_update_utc is not None and newest.next_update_utc < at:
            when = newest.next_update_utc.strftime("%Y-%m-%d %H:%M UTC")
            notes.append(f"LCR de {describe(issuer)} desatualizada desde {when}")
    return None, "; ".join(notes) or "LCR verificada"


def _signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(issuer.public_key())
    except (TypeError, ValueError, UnsupportedAlgorithm):
        return False
