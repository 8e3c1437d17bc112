"""The less travelled paths of the signer-certificate trust check (gateway.tiss.signatures.trust):
unreadable trust material and names, signatures that carry no leaf or only CAs, forged and
renewed issuers, certificates trusted directly, over-long paths, issuers that may not issue,
unknown critical extensions, weak hashes, stale CRLs; and two refusals the check still misses.

tests.pki cannot make every shape needed here (no basicConstraints, a path length, unknown or
malformed extensions, a broken name), so `build` and `resign` below make them."""

from datetime import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import SignatureMethod

from gateway.tiss.samples import lote_guias_ws
from gateway.tiss.signatures import (
    TrustMaterialError,
    TrustStore,
    check_certificates,
    verify_signature,
)
from gateway.tiss.signatures.trust import MAX_PATH_LENGTH, describe
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.pki import (
    DAY,
    HOSPITAL_A_CNPJ,
    KEY_USAGES,
    Issued,
    Pki,
    issue,
    make_ca,
    make_holder,
    sign_as_provider,
)
from tests.tissclient import envelope, sample_lot

CHAIN_INVALID, CERTIFICATE_INVALID, EXPIRED, REVOKED = "5021", "5018", "5019", "5020"
ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")  # AlgorithmIdentifier, no parameters
SHA256_WITH_RSA = bytes.fromhex("06092a864886f70d01010b")  # the OIDs, as DER
SHA1_WITH_RSA = bytes.fromhex("06092a864886f70d010105")


def key_usage(*names: str) -> x509.KeyUsage:
    return x509.KeyUsage(**{usage: usage in names for usage in KEY_USAGES})


IS_CA = (x509.BasicConstraints(ca=True, path_length=None), True)
NOT_CA = (x509.BasicConstraints(ca=False, path_length=None), True)
SIGNS_CERTIFICATES = (key_usage("key_cert_sign", "crl_sign"), True)
SIGNS_DOCUMENTS = (key_usage("digital_signature", "content_commitment"), True)
UNKNOWN_CRITICAL = (
    x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.5"), b"\x05\x00"),
    True,
)


def name(common_name: str, organization: str = "ICP-Teste") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def build(
    subject: str, issuer: Issued, *extensions: tuple[x509.ExtensionType, bool], now: datetime
) -> Issued:
    """A certificate signed by `issuer` with exactly `extensions` ((value, critical) pairs)."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - 30 * DAY)
        .not_valid_after(now + 365 * DAY)
    )
    for value, critical in extensions:
        builder = builder.add_extension(value, critical=critical)
    return Issued(builder.sign(issuer.key, hashes.SHA256()), key)


def der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def resign(
    cert: x509.Certificate, old: bytes, new: bytes, key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    """`cert` with the bytes `old` of its to-be-signed part replaced by `new` and signed again by
    `key` (ECDSA with SHA-256): what `cryptography` refuses to build, validly signed."""
    tbs = cert.tbs_certificate_bytes
    assert tbs.count(old) == 1
    tbs = tbs.replace(old, new)
    signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return x509.load_der_x509_certificate(
        der(0x30, tbs + ECDSA_SHA256 + der(0x03, b"\x00" + signature))
    )


def test_a_bundle_with_an_unreadable_certificate_is_refused_as_trust_material(pki):
    broken = b"-----BEGIN CERTIFICATE-----\nTUlJQ2Fr\n-----END CERTIFICATE-----\n"
    with pytest.raises(TrustMaterialError, match="^unreadable certificate: "):
        TrustStore.from_bytes(pki.root.cert_pem + broken)


def test_a_name_that_cannot_be_read_is_described_and_refused_as_malformed(pki, trust):
    # Latin-1 "É" in a UTF8String, as old CA software writes it; validly signed by the root.
    made = build("JOSZ", pki.root, NOT_CA, SIGNS_DOCUMENTS, now=pki.now)
    latin1 = resign(made.cert, b"JOSZ", b"JOS\xc9", pki.root.key)
    assert describe(latin1) == f"(nome ilegível) (série {latin1.serial_number:X})"
    check = check_certificates([latin1], trust, pki.now)
    assert (check.code, check.leaf) == (CERTIFICATE_INVALID, None)
    assert check.reason.startswith("certificado malformado: ")


def test_a_malformed_extension_of_a_signer_answers_5018_naming_the_signer(pki, trust):
    garbage_usage = (x509.UnrecognizedExtension(x509.ExtensionOID.KEY_USAGE, b"\x01\x02"), True)
    holder = build("HOSPITAL A MALFORMADO", pki.root, NOT_CA, garbage_usage, now=pki.now)
    lot = lote_guias_ws(sample_lot(PROVIDER_A, "9101", registro_ans=REGISTRO_ANS))
    received = etree.fromstring(
        envelope(sign_as_provider(lot, holder, signature_algorithm=SignatureMethod.ECDSA_SHA256))
    )[0][0]
    result = verify_signature(received, trust, pki.now)
    assert result.code == CERTIFICATE_INVALID
    assert result.reason.startswith("certificado malformado: ")
    assert result.signer == describe(holder.cert)


def test_no_certificate_at_all_is_an_invalid_certificate(pki, trust):
    check = check_certificates([], trust, pki.now)
    assert (check.code, check.reason) == (CERTIFICATE_INVALID, "nenhum certificado do signatário")


def test_when_every_certificate_issued_another_the_first_is_taken_as_signer_and_refused(pki, trust):
    # The intermediate and a cross-certificate of the root issued by the intermediate: each
    # "issued" the other, so there is no end entity; the first is judged, and it cannot sign.
    cross = issue(
        "AC Raiz Teste TISS",
        pki.intermediate,
        now=pki.now,
        key=pki.root.key,
        ca=True,
        usage={"key_cert_sign", "crl_sign"},
    )
    check = check_certificates([pki.intermediate.cert, cross.cert], trust, pki.now)
    assert check.leaf == pki.intermediate.cert
    assert check.code == CERTIFICATE_INVALID
    assert check.reason == f"{describe(pki.intermediate.cert)} não é de assinatura digital"


def test_a_certificate_forged_in_a_trusted_cas_name_has_no_chain(pki, trust):
    forger = Issued(pki.root.cert, pki.unknown_ca.key)
    forged = make_holder("HOSPITAL A FORJADO", forger, now=pki.now, cnpj=HOSPITAL_A_CNPJ)
    check = check_certificates([forged.cert], trust, pki.now)
    assert check.code == CHAIN_INVALID
    assert check.reason == f"{describe(forged.cert)} não tem cadeia até uma AC confiável"


def test_a_renewed_ca_is_told_from_the_old_one_of_the_same_name_by_its_key(pki, trust):
    old = make_ca("AC Final Teste TISS", pki.root, now=pki.now)
    new = make_ca("AC Final Teste TISS", pki.root, now=pki.now)
    holder = make_holder("HOSPITAL A RENOVADO", new, now=pki.now, cnpj=HOSPITAL_A_CNPJ)
    check = check_certificates([holder.cert, old.cert, new.cert], trust, pki.now)
    assert check.code is None, check.reason
    assert check.path == (holder.cert, new.cert, pki.root.cert)


def test_a_certificate_the_operator_trusts_directly_needs_no_issuer_nor_crl(pki):
    check = check_certificates([pki.provider.cert], TrustStore((pki.provider.cert,)), pki.now)
    assert (check.code, check.path) == (None, (pki.provider.cert,))
    assert check.revocation == "certificado confiado diretamente; sem LCR"


def test_a_certificate_the_operator_trusts_directly_still_expires(pki):
    check = check_certificates([pki.expired.cert], TrustStore((pki.expired.cert,)), pki.now)
    assert check.code == EXPIRED
    assert check.reason.startswith(f"{describe(pki.expired.cert)} venceu em ")


def chain_of(intermediates: int, pki: Pki) -> tuple[Issued, list[x509.Certificate]]:
    """A holder under `intermediates` CAs below the root, and every certificate it carries."""
    issuer, carried = pki.root, []
    for level in range(intermediates):
        issuer = make_ca(f"AC Nivel {level}", issuer, now=pki.now)
        carried.append(issuer.cert)
    holder = make_holder("HOSPITAL A PROFUNDO", issuer, now=pki.now, cnpj=HOSPITAL_A_CNPJ)
    return holder, [holder.cert, *carried]


@pytest.mark.parametrize(
    ("intermediates", "code"), [(MAX_PATH_LENGTH - 1, None), (MAX_PATH_LENGTH, CHAIN_INVALID)]
)
def test_paths_longer_than_the_limit_are_not_followed(pki, trust, intermediates, code):
    holder, carried = chain_of(intermediates, pki)
    check = check_certificates(carried, trust, pki.now)
    assert check.code == code, check.reason
    if code is not None:
        assert check.reason == f"{describe(holder.cert)} não tem cadeia até uma AC confiável"


def no_basic_constraints(pki):
    return build("AC SEM RESTRICOES BASICAS", pki.root, SIGNS_CERTIFICATES, now=pki.now)


def end_entity(pki):
    return pki.provider_b  # a holder's certificate used to issue another


def no_cert_sign(pki):
    return build("AC SO DE LCR", pki.root, IS_CA, (key_usage("crl_sign"), True), now=pki.now)


def unknown_critical(pki):
    return build("AC ESTRANHA", pki.root, IS_CA, SIGNS_CERTIFICATES, UNKNOWN_CRITICAL, now=pki.now)


@pytest.mark.parametrize(
    ("make_issuer", "why"),
    [
        (no_basic_constraints, "não é uma AC"),
        (end_entity, "não é uma AC"),
        (no_cert_sign, "não pode assinar certificados"),
        (unknown_critical, "tem extensão crítica não suportada"),
    ],
)
def test_an_issuer_that_may_not_issue_breaks_the_chain(pki, trust, make_issuer, why):
    issuer = make_issuer(pki)
    holder = make_holder("HOSPITAL A", issuer, now=pki.now, cnpj=HOSPITAL_A_CNPJ)
    check = check_certificates([holder.cert, issuer.cert], trust, pki.now)
    assert (check.code, check.reason) == (CHAIN_INVALID, f"{describe(issuer.cert)} {why}")


@pytest.mark.parametrize("sub_ca", [False, True])
def test_a_ca_with_path_length_zero_may_issue_holders_but_not_cas(pki, trust, sub_ca):
    no_sub_ca = (x509.BasicConstraints(ca=True, path_length=0), True)
    last = limited = build(
        "AC SEM SUBORDINADAS", pki.root, no_sub_ca, SIGNS_CERTIFICATES, now=pki.now
    )
    carried = [limited.cert]
    if sub_ca:
        last = make_ca("AC SUBORDINADA", limited, now=pki.now)
        carried.append(last.cert)
    holder = make_holder("HOSPITAL A", last, now=pki.now, cnpj=HOSPITAL_A_CNPJ)
    check = check_certificates([holder.cert, *carried], trust, pki.now)
    if sub_ca:
        expected = f"{describe(limited.cert)} não pode emitir cadeias desse comprimento"
        assert (check.code, check.reason) == (CHAIN_INVALID, expected)
    else:
        assert check.code is None, check.reason


def test_a_signer_with_an_unknown_critical_extension_is_invalid(pki, trust):
    holder = build(
        "HOSPITAL A EXOTICO", pki.root, NOT_CA, SIGNS_DOCUMENTS, UNKNOWN_CRITICAL, now=pki.now
    )
    check = check_certificates([holder.cert], trust, pki.now)
    expected = f"{describe(holder.cert)} tem extensão crítica não suportada"
    assert (check.code, check.reason) == (CERTIFICATE_INVALID, expected)


def test_a_sha1_signed_certificate_from_a_trusted_ca_has_no_chain(pki):
    # cryptography cannot sign with SHA-1 any more: sign the to-be-signed part by hand.
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = issue("AC RSA", now=pki.now, key=ca_key, ca=True, usage={"key_cert_sign", "crl_sign"})
    holder = make_holder("HOSPITAL A SHA1", ca, now=pki.now, cnpj=HOSPITAL_A_CNPJ)
    tbs = holder.cert.tbs_certificate_bytes.replace(SHA256_WITH_RSA, SHA1_WITH_RSA)
    signature = ca_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    algorithm = der(0x30, SHA1_WITH_RSA + b"\x05\x00")
    sha1 = x509.load_der_x509_certificate(der(0x30, tbs + algorithm + der(0x03, b"\0" + signature)))
    trust = TrustStore((ca.cert,))
    assert check_certificates([holder.cert], trust, pki.now).code is None
    check = check_certificates([sha1], trust, pki.now)
    assert (check.code, check.leaf) == (CHAIN_INVALID, sha1)


@pytest.mark.parametrize(
    ("window", "code", "says"),
    [
        ((-400, -1), EXPIRED, "venceu em"),
        ((1, 400), CERTIFICATE_INVALID, "só é válido a partir de"),
    ],
)
def test_an_intermediate_out_of_its_validity_refuses_the_holder(pki, trust, window, code, says):
    intermediate = issue(
        "AC FORA DO PRAZO",
        pki.root,
        now=pki.now,
        not_before=pki.now + window[0] * DAY,
        not_after=pki.now + window[1] * DAY,
        ca=True,
        usage={"key_cert_sign", "crl_sign"},
    )
    holder = make_holder("HOSPITAL A", intermediate, now=pki.now, cnpj=HOSPITAL_A_CNPJ)
    check = check_certificates([holder.cert, intermediate.cert], trust, pki.now)
    assert check.code == code
    assert check.reason.startswith(f"{describe(intermediate.cert)} {says} ")


def test_a_stale_crl_is_still_used_and_the_note_says_since_when(pki, trust):
    later = pki.now + 8 * DAY  # the root's CRL is due a week after pki.now
    stale_since = (pki.now + 7 * DAY).strftime("%Y-%m-%d %H:%M UTC")
    check = check_certificates([pki.provider.cert], trust, later)
    assert check.code is None, check.reason
    assert check.revocation == f"LCR de {describe(pki.root.cert)} desatualizada desde {stale_since}"
    assert check_certificates([pki.revoked.cert], trust, later).code == REVOKED


def test_a_duplicated_extension_is_answered_as_malformed_not_raised(pki, trust):
    first = (x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.1"), b"\x05\x00"), False)
    second = (x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.2"), b"\x05\x00"), False)
    made = build(
        "HOSPITAL A DUPLICADO", pki.root, NOT_CA, SIGNS_DOCUMENTS, first, second, now=pki.now
    )
    # Give the second extension the first one's OID (both DER-encoded as 06 04 2A 03 04 0n).
    twice = resign(
        made.cert, bytes.fromhex("06042a030402"), bytes.fromhex("06042a030401"), pki.root.key
    )
    check = check_certificates([twice], trust, pki.now)
    assert check.code == CERTIFICATE_INVALID
    assert check.reason.startswith("certificado malformado: ")


def test_a_holder_outside_its_cas_critical_name_constraints_is_refused(pki, trust):
    only_clinica_b = x509.NameConstraints(
        permitted_subtrees=[
            x509.DirectoryName(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CLINICA B"),
                    ]
                )
            )
        ],
        excluded_subtrees=None,
    )
    ca = build(
        "AC DA CLINICA B", pki.root, IS_CA, SIGNS_CERTIFICATES, (only_clinica_b, True), now=pki.now
    )
    holder = make_holder("HOSPITAL A:11222333000181", ca, now=pki.now, cnpj=HOSPITAL_A_CNPJ)
    assert holder.cert.subject == name("HOSPITAL A:11222333000181")  # O=ICP-Teste: not permitted
    check = check_certificates([holder.cert, ca.cert], trust, pki.now)
    # Name constraints are not enforced here: a CA that imposes them is not relied on at all.
    assert check.code == CHAIN_INVALID, check.reason
    assert check.reason == f"{describe(ca.cert)} tem extensão crítica não suportada"
