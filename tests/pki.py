"""A throw-away PKI for the tests, made with `cryptography`, and the provider-side signing
software.

One function, `issue`, makes every key and certificate; the others are its usual shapes:
- `make_ca`: a root or intermediate CA;
- `make_holder`: an end entity like ICP-Brasil's A1/A3 (signing key usage, client auth), for the
  XML signatures and as a TLS client certificate, naming its holder's CNPJ (e-CNPJ) or CPF
  (e-CPF) in the otherName fields of `icp_brasil_names`;
- `make_server`: a TLS server certificate with subject alternative names;
- `make_crl`: a CA's certificate revocation list;
- `Pki`: the ICP-Brasil-shaped set the signature tests use (root, intermediate CA, holders);
- `make_tls_files`: a CA, a server certificate for 127.0.0.1 and localhost and a client
  certificate, written as PEM files for the deployment tests (nginx);
- `sign_as_provider`: signxml, with the signature renamed to the TISS element as the official
  schema wants it."""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, SignatureMethod
from signxml.xades import XAdESSigner

from gateway.tiss.namespaces import ANS, DS

DAY = timedelta(days=1)
HOSPITAL_A_CNPJ = "11222333000181"  # tests.conftest.PROVIDER_A
CLINICA_B_CNPJ = "45723174000110"  # tests.conftest.PROVIDER_B
MEDICA_PF_CPF = "52998224725"
RESPONSIBLE_CPF = "11144477735"  # the person responsible for an e-CNPJ
# Tags of the DER strings an otherName value may be (DOC-ICP-04: OCTET or PRINTABLE STRING).
OCTET_STRING, UTF8_STRING, PRINTABLE_STRING = 0x04, 0x0C, 0x13
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


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
    key: PrivateKey

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


def issue(
    subject: str,
    issuer: Issued | None = None,
    *,
    now: datetime,
    key: PrivateKey | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    ca: bool = False,
    usage: Iterable[str] = (),
    extended_usage: Iterable[ObjectIdentifier] = (),
    sans: Iterable[x509.GeneralName] = (),
) -> Issued:
    """The one certificate builder: `subject` (a common name) with `key` (a new P-256 key when
    not given), signed by `issuer` (self-signed when None), valid from `not_before` to
    `not_after` (30 days before `now` to a year after it when not given). `usage` names the
    `x509.KeyUsage` bits to set (none: no key usage extension), `extended_usage` the extended key
    usages and `sans` the subject alternative names."""
    if key is None:
        key = ec.generate_private_key(ec.SECP256R1())
    usage = frozenset(usage)
    if unknown := usage - set(KEY_USAGES):
        raise ValueError(f"unknown key usages: {sorted(unknown)}")
    extended_usage, sans = list(extended_usage), list(sans)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.cert.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - 30 * DAY)
        .not_valid_after(not_after or now + 365 * DAY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    if usage:
        builder = builder.add_extension(
            x509.KeyUsage(**{name: name in usage for name in KEY_USAGES}), critical=True
        )
    if extended_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_usage), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Issued(cert, key)


def der_string(text: str, tag: int = OCTET_STRING) -> bytes:
    """A DER string of `text` (up to 255 bytes), as an otherName value is encoded."""
    data = text.encode()
    if len(data) > 255:
        raise ValueError("up to 255 bytes")
    length = bytes([len(data)]) if len(data) < 0x80 else bytes([0x81, len(data)])
    return bytes([tag]) + length + data


def icp_brasil_names(
    *,
    cnpj: str | None = None,
    cpf: str | None = None,
    birth_date: str = "01011980",
    tag: int = OCTET_STRING,
) -> list[x509.GeneralName]:
    """The otherName fields of an ICP-Brasil holder (DOC-ICP-04, 7.1.2.3), each value a DER
    string of `tag`. e-CNPJ (`cnpj`): the responsible person's birth date and CPF (2.16.76.1.3.4,
    the layout of 2.16.76.1.3.1), their name (.2), the CNPJ (.3), the CEI (.7). e-CPF (`cpf`):
    birth date, CPF, NIS, RG and its issuer (.1), CEI (.6), título de eleitor (.5). Fields not
    informed are zeros, as ICP-Brasil fills them."""

    def other(oid: str, text: str) -> x509.OtherName:
        return x509.OtherName(ObjectIdentifier(oid), der_string(text, tag))

    names: list[x509.GeneralName] = []
    if cnpj is not None:
        names += [
            other("2.16.76.1.3.4", f"{birth_date}{RESPONSIBLE_CPF}{'0' * 11}{'0' * 15}SSPSP"),
            other("2.16.76.1.3.2", "RESPONSAVEL TESTE"),
            other("2.16.76.1.3.3", cnpj),
            other("2.16.76.1.3.7", "0" * 12),
        ]
    if cpf is not None:
        names += [
            other("2.16.76.1.3.1", f"{birth_date}{cpf}{'0' * 11}000000012345678SSPSP"),
            other("2.16.76.1.3.6", "0" * 12),
            other("2.16.76.1.3.5", "0" * 19),
        ]
    return names


def make_ca(name: str, issuer: Issued | None = None, *, now: datetime) -> Issued:
    """A CA (root when `issuer` is None) that signs certificates and CRLs."""
    return issue(
        name,
        issuer,
        now=now,
        not_before=now - 365 * DAY,
        not_after=now + 3650 * DAY,
        ca=True,
        usage={"key_cert_sign", "crl_sign"},
    )


def make_holder(
    name: str,
    issuer: Issued,
    *,
    now: datetime,
    key: PrivateKey | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    signing: bool = True,
    cnpj: str | None = None,
    cpf: str | None = None,
    sans: Iterable[x509.GeneralName] = (),
) -> Issued:
    """An end-entity certificate like an ICP-Brasil A1/A3 (digitalSignature, nonRepudiation;
    client auth, so it is a TLS client certificate too). `key`: a new P-256 key when not
    given. `cnpj` or `cpf`: an e-CNPJ or e-CPF of that holder (`icp_brasil_names`); `sans`: more
    subject alternative names."""
    return issue(
        name,
        issuer,
        now=now,
        key=key,
        not_before=not_before,
        not_after=not_after,
        usage={"key_encipherment"}
        | ({"digital_signature", "content_commitment"} if signing else set()),
        extended_usage=[ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION],
        sans=[*icp_brasil_names(cnpj=cnpj, cpf=cpf), *sans],
    )


def make_server(
    issuer: Issued, *, now: datetime, hosts: Iterable[str] = ("localhost", "127.0.0.1")
) -> Issued:
    """A TLS server certificate for `hosts` (names or IP addresses), the first one its common
    name."""
    hosts = list(hosts)
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    return issue(
        hosts[0],
        issuer,
        now=now,
        usage={"digital_signature"},
        extended_usage=[ExtendedKeyUsageOID.SERVER_AUTH],
        sans=sans,
    )


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
    """Everything the signature tests need, generated once per module."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        now = self.now
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.root = make_ca("AC Raiz Teste TISS", now=now)
        self.intermediate = make_ca("AC Final Teste TISS", self.root, now=now)
        # Hospital A's e-CNPJ certificates (tests.conftest.PROVIDER_A), good and bad.
        a = dict(now=now, key=rsa_key, cnpj=HOSPITAL_A_CNPJ)
        self.provider = make_holder("HOSPITAL A:11222333000181", self.root, **a)
        self.provider_via_intermediate = make_holder(
            "HOSPITAL A SUB:11222333000181", self.intermediate, **a
        )
        self.expired = make_holder(
            "HOSPITAL A VENCIDO", self.root, not_before=now - 400 * DAY, not_after=now - DAY, **a
        )
        self.revoked = make_holder("HOSPITAL A REVOGADO", self.root, **a)
        self.not_for_signing = make_holder("HOSPITAL A CIFRAGEM", self.root, signing=False, **a)
        self.unknown_ca = make_ca("AC Desconhecida", now=now)
        self.stranger = make_holder("ESTRANHO", self.unknown_ca, **a)
        # Trusted certificates of other holders.
        self.provider_b = make_holder(
            "CLINICA B:45723174000110", self.root, now=now, key=rsa_key, cnpj=CLINICA_B_CNPJ
        )
        self.physician = make_holder(
            "MEDICA PF:52998224725", self.root, now=now, key=rsa_key, cpf=MEDICA_PF_CPF
        )
        self.no_document = make_holder("HOSPITAL A SEM DOCUMENTO", self.root, now=now, key=rsa_key)
        self.gateway = make_holder("OPERADORA TESTE", self.root, now=now)
        self.root_crl = make_crl(self.root, [self.revoked], now=now)


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A CA, a server certificate for localhost and 127.0.0.1 and a client certificate, as PEM
    files in `directory`."""
    now = datetime.now(UTC)
    ca = make_ca("tiss-gateway test CA", now=now)
    server = make_server(ca, now=now)
    client = make_holder("PRESTADOR TESTE", ca, now=now)
    files = TlsFiles(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )
    files.ca.write_bytes(ca.cert_pem)
    files.server_cert.write_bytes(server.cert_pem)
    files.server_key.write_bytes(server.key_pem)
    files.client_cert.write_bytes(client.cert_pem)
    files.client_key.write_bytes(client.key_pem)
    return files


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
