"""xs:base64Binary checked strictly after the official schema (gateway.tiss.base64binary and
SchemaSet.validate): libxml2 skips characters outside base64, XML Schema does not."""

import base64

import pytest
from lxml import etree

from gateway.tiss.base64binary import is_base64binary
from gateway.tiss.header import Party
from gateway.tiss.namespaces import ANS, DS, q
from gateway.tiss.samples import SampleQuery, lote_guias_ws, pedido_elegibilidade_ws
from gateway.tiss.schemas import builtin_sets
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.pki import sign_as_provider
from tests.tissclient import envelope, sample_lot

VERSIONS = ["4.02.00", "4.03.00"]


@pytest.fixture(scope="module")
def sets():
    return {s.version: s for s in builtin_sets()}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "QUJD",
        "QUJDRA==",
        "QUJDREU=",
        "QU JD RA =\n=",  # whitespace between any two characters (collapse leaves one space)
        "\n  QUJD\r\n\tRA==\n",
        base64.encodebytes(bytes(range(256)) * 40).decode(),  # lines of 76, as MIME writes
    ],
)
def test_base64_lexical_space(text):
    assert is_base64binary(text)


@pytest.mark.parametrize(
    "text",
    [
        "!!!!",
        "não é base64!",
        "QUJD!",
        "QUJ",  # not a multiple of four
        "QR==",  # padding bits that are not zero
        "QUI==",
        "QUJDRA=",
        "=QUJ",
        "QQ==QUJD",  # padding before the end
        "QUJD\u00a0RA==",  # a no-break space is no XML whitespace
        "QUJD-_==",  # the URL-safe alphabet is another one
    ],
)
def test_outside_base64_lexical_space(text):
    assert not is_base64binary(text)


@pytest.mark.parametrize("version", VERSIONS)
def test_base64binary_elements_of_the_official_sets(sets, version):
    names = set(sets[version].base64_elements)
    assert {
        q("identificadorBeneficiario"),
        q("documento"),
        f"{{{DS}}}SignatureValue",  # simple content extending base64Binary
        f"{{{DS}}}DigestValue",  # a restriction of it
        f"{{{DS}}}X509Certificate",
        f"{{{DS}}}Modulus",  # ds:CryptoBinary
    } <= names
    # Commented out of the 4.x files (TISS 4 took it out); typed otherwise.
    assert q("templateBiometrico") not in names
    assert q("numeroCarteira") not in names and q("hash") not in names


def eligibility(version: str, identificador: str) -> etree._Element:
    query = SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", PROVIDER_A.cnpj),
        codigo_prestador=PROVIDER_A.code,
        login=PROVIDER_A.cnpj,
        senha_md5=PROVIDER_A.senha_md5,
        version=version,
    )
    element = pedido_elegibilidade_ws(query, "00012345678900")
    carteira = element.find(f".//{{{ANS}}}numeroCarteira")
    el = etree.Element(q("identificadorBeneficiario"))
    el.text = identificador
    carteira.addnext(el)
    # Written and read again, as the gateway receives it (line numbers included).
    return etree.fromstring(envelope(element))[0][0]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("value", ["!!!!", "não é base64!"])
def test_characters_libxml2_skips_are_a_schema_error_naming_the_element(sets, version, value):
    errors = sets[version].validate(eligibility(version, value))
    assert len(errors) == 1
    assert "identificadorBeneficiario" in errors[0].message
    assert "base64Binary" in errors[0].message
    assert f"'{value}'" in errors[0].message  # quoted, as libxml2 quotes values


def test_a_long_value_is_quoted_by_its_start(sets):
    """libxml2 quotes a value whole; a biometric template is 48 KiB: its start is enough."""
    value = "!" + base64.b64encode(bytes(range(256)) * 192).decode()
    errors = sets["4.03.00"].validate(eligibility("4.03.00", value))
    assert len(errors) == 1
    assert f"'{value[:40]}...'" in errors[0].message and len(errors[0].message) < 200


@pytest.mark.parametrize("version", VERSIONS)
def test_base64_with_line_breaks_is_valid(sets, version):
    value = base64.encodebytes(b"template biometrico " * 100).decode()
    assert sets[version].validate(eligibility(version, value)) == []


def test_an_error_libxml2_reports_itself_is_not_reported_twice(sets):
    """'QUJ' is refused by libxml2 (a length that is not a multiple of four): one error."""
    errors = sets["4.03.00"].validate(eligibility("4.03.00", "QUJ"))
    assert len(errors) == 1 and "identificadorBeneficiario" in errors[0].message


def test_base64_errors_come_with_the_other_schema_errors(sets):
    """Every error, not only the first: a card too long and an identifier not base64."""
    element = eligibility("4.03.00", "!!!!")
    element.find(f".//{{{ANS}}}numeroCarteira").text = "1" * 21
    messages = [e.message for e in sets["4.03.00"].validate(element)]
    assert len(messages) == 2
    assert any("numeroCarteira" in m for m in messages)
    assert any("identificadorBeneficiario" in m for m in messages)


def wrapped(text: str, width: int, newline: str) -> str:
    return newline.join(text[i : i + width] for i in range(0, len(text), width))


@pytest.mark.parametrize("version", VERSIONS)
def test_signature_values_with_line_breaks_are_valid(sets, pki, version):
    """Java's and .NET's signers and xmlsec write ds:SignatureValue and ds:X509Certificate in
    lines of 64 or 76 characters (often CR LF, kept as a character reference): legal."""
    lot = lote_guias_ws(sample_lot(PROVIDER_A, "B64", registro_ans=REGISTRO_ANS, version=version))
    signed = sign_as_provider(lot, pki.provider)
    value = signed.find(f".//{{{DS}}}SignatureValue")
    certificate = signed.find(f".//{{{DS}}}X509Certificate")
    value.text = "\n" + wrapped(value.text, 76, "\n") + "\n"
    certificate.text = wrapped(certificate.text, 64, "\r\n")
    received = etree.fromstring(envelope(signed))[0][0]
    assert sets[version].validate(received) == []
    # One character libxml2 skips, among the others: refused, and only that.
    received.find(f".//{{{DS}}}SignatureValue").text = value.text[:10] + "!" + value.text[10:]
    errors = sets[version].validate(received)
    assert len(errors) == 1 and "SignatureValue" in errors[0].message
