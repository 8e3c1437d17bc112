"""A throw-away PKI for the signature tests, shaped like ICP-Brasil's (root, intermediate CA,
holders with signing key usage), and the provider-side signing software: signxml, with the
signature renamed to the TISS element as the official schema wants it."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, SignatureMethod
from signxml.xades import XAdESSigner

from gateway.tiss.namespaces import ANS, DS

DAY = timedelta(days=1)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ICP-Teste"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _builder(subject: str, issuer: Issued | None, public_key, not_before, not_after):
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.cert.subject if issuer else _name(subject))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return builder


def make_ca(name: str, issuer: Issued | None = None, *, now: datetime) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(name, issuer, key.public_key(), now - 365 * DAY, now + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(issuer.key if issuer else key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_holder(
    name: str,
    issuer: Issued,
    *,
    now: datetime,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    signing: bool = True,
) -> Issued:
    """An end-entity certificate like an ICP-Brasil A1/A3 (digitalSignature, nonRepudiation)."""
    cert = (
        _builder(
            name,
            issuer,
            key.public_key(),
            not_before or now - 30 * DAY,
            not_after or now + 365 * DAY,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=signing,
                content_commitment=signing,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            critical=False,
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_crl(issuer: Issued, revoked: list[Issued], *, now: datetime) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(now - DAY)
        .next_update(now + 7 * DAY)
    )
    for holder in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(holder.cert.serial_number)
            .revocation_date(now - DAY)
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@dataclass
class Pki:
    """Everything the tests need, generated once per module."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        now = self.now
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.root = make_ca("AC Raiz Teste TISS", now=now)
        self.intermediate = make_ca("AC Final Teste TISS", self.root, now=now)
        self.provider = make_holder("HOSPITAL A:11222333000181", self.root, now=now, key=rsa_key)
        self.provider_via_intermediate = make_holder(
            "HOSPITAL A SUB:11222333000181", self.intermediate, now=now, key=rsa_key
        )
        self.expired = make_holder(
            "HOSPITAL A VENCIDO",
            self.root,
            now=now,
            key=rsa_key,
            not_before=now - 400 * DAY,
            not_after=now - DAY,
        )
        self.revoked = make_holder("HOSPITAL A REVOGADO", self.root, now=now, key=rsa_key)
        self.not_for_signing = make_holder(
            "HOSPITAL A CIFRAGEM", self.root, now=now, key=rsa_key, signing=False
        )
        self.unknown_ca = make_ca("AC Desconhecida", now=now)
        self.stranger = make_holder("ESTRANHO", self.unknown_ca, now=now, key=rsa_key)
        self.gateway = make_holder(
            "OPERADORA TESTE", self.root, now=now, key=ec.generate_private_key(ec.SECP256R1())
        )
        self.root_crl = make_crl(self.root, [self.revoked], now=now)


def sign_as_provider(
    message: etree._Element,
    holder: Issued,
    *,
    chain: tuple[Issued, ...] = (),
    xades: bool = True,
    signature_algorithm: SignatureMethod = SignatureMethod.RSA_SHA256,
    c14n: CanonicalizationMethod = CanonicalizationMethod.CANONICAL_XML_1_0,
    reference_uri: str | None = None,
) -> etree._Element:
    """What a provider's system does: sign the whole *WS element, enveloped, and put the
    signature where the schema wants it (`ans:Signature`)."""
    signer_type = XAdESSigner if xades else XMLSigner
    signer = signer_type(signature_algorithm=signature_algorithm, c14n_algorithm=c14n)
    signed = signer.sign(
        message,
        key=holder.key,
        cert=[holder.cert, *(c.cert for c in chain)],
        reference_uri=reference_uri,
        always_add_key_value=False,
    )
    signed.find(f"{{{DS}}}Signature").tag = f"{{{ANS}}}Signature"
    return signed
