"""The pure signature layer: every verification outcome and its table-38 code, the refusal of
signatures that point outside the message, and the gateway's own signing, checked against the
official XSD and by stock signxml."""

import copy
import hashlib
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, SignatureMethod
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

from gateway.tiss.eligibility import resposta_elegibilidade
from gateway.tiss.hashing import message_hash
from gateway.tiss.header import Party
from gateway.tiss.namespaces import DS, q
from gateway.tiss.responses import AnswerHeader
from gateway.tiss.samples import lote_guias_ws
from gateway.tiss.signatures import (
    XADES_FORM,
    XMLDSIG_FORM,
    MessageSigner,
    TrustMaterialError,
    TrustStore,
    load_crls,
    signature_tag,
    verify_signature,
)
from gateway.tiss.signatures.elements import NS
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.pki import DAY, Issued, make_crl, make_holder, sign_as_provider
from tests.tissclient import assert_official, envelope, leaf_md5, sample_lot


def lot(version="4.03.00") -> etree._Element:
    return lote_guias_ws(sample_lot(PROVIDER_A, "9001", registro_ans=REGISTRO_ANS, version=version))


def received(element: etree._Element) -> etree._Element:
    """The message as the gateway gets it: inside a SOAP envelope, written and parsed again."""
    return etree.fromstring(envelope(element))[0][0]


def verify(element, trust, pki, *, at=None):
    return verify_signature(received(element), trust, at or pki.now)


def test_unsigned_message_has_no_result(trust, pki):
    assert verify(lot(), trust, pki) is None


@pytest.mark.parametrize("version", ["4.03.00", "4.02.00"])
def test_xades_signature_of_the_provider_verifies(trust, pki, version):
    signed = sign_as_provider(lot(version), pki.provider)
    assert_official(signed, version)  # ans:Signature with ds content, as the schema wants
    result = verify(signed, trust, pki)
    assert result.ok, result
    assert result.form == XADES_FORM
    assert "HOSPITAL A:11222333000181" in result.signer
    assert result.revocation == "LCR verificada"


def test_the_result_names_the_signers_document_and_fingerprint(trust, pki):
    # Whether the signer is the sending provider is the service's rule; the verifier reports
    # what the trusted certificate names.
    result = verify(sign_as_provider(lot(), pki.provider_b), trust, pki)
    assert result.ok, result
    assert result.certificate.holder == Party("CNPJ", "45723174000110")
    expected = hashlib.sha256(pki.provider_b.cert.public_bytes(Encoding.DER)).hexdigest()
    assert result.certificate.sha256 == expected
    assert "documento do signatário CNPJ 45723174000110" in result.summary()

    plain = verify(sign_as_provider(lot(), pki.no_document), trust, pki)
    assert plain.ok and plain.certificate.holder is None
    assert "signatário sem CNPJ/CPF ICP-Brasil" in plain.summary()
    # An untrusted certificate is not described: what it claims proves nothing.
    assert verify(sign_as_provider(lot(), pki.stranger), trust, pki).certificate is None


@pytest.mark.parametrize(
    "c14n",
    [
        CanonicalizationMethod.CANONICAL_XML_1_0,
        CanonicalizationMethod.CANONICAL_XML_1_1,
        CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    ],
)
def test_plain_xmldsig_verifies_with_each_canonicalization(trust, pki, c14n):
    result = verify(sign_as_provider(lot(), pki.provider, xades=False, c14n=c14n), trust, pki)
    assert result.ok, result
    assert result.form == XMLDSIG_FORM


def test_envelope_namespaces_do_not_disturb_inclusive_canonicalization(trust, pki):
    signed = sign_as_provider(lot(), pki.provider)
    env = etree.fromstring(envelope(signed))
    env.set("{http://www.w3.org/2001/XMLSchema-instance}type", "x")  # one more declaration
    message = etree.fromstring(etree.tostring(env))[0][0]
    assert verify_signature(message, trust, pki.now).ok


def test_chain_through_an_intermediate_carried_in_the_signature(trust, pki):
    holder = pki.provider_via_intermediate
    result = verify(sign_as_provider(lot(), holder, chain=(pki.intermediate,)), trust, pki)
    assert result.ok, result
    assert "sem LCR de CN=AC Final Teste TISS" in result.revocation


def test_missing_intermediate_is_an_invalid_chain(trust, pki):
    result = verify(sign_as_provider(lot(), pki.provider_via_intermediate), trust, pki)
    assert result.code == "5021"


def test_unknown_ca_is_an_invalid_chain(trust, pki):
    result = verify(sign_as_provider(lot(), pki.stranger), trust, pki)
    assert (result.code, result.form) == ("5021", XADES_FORM)
    assert "não tem cadeia até uma AC confiável" in result.reason


def test_expired_certificate(trust, pki):
    result = verify(sign_as_provider(lot(), pki.expired), trust, pki)
    assert result.code == "5019"
    assert "venceu em" in result.reason


def test_certificate_not_yet_valid_is_invalid(trust, pki):
    future = make_holder(
        "HOSPITAL A FUTURO",
        pki.root,
        now=pki.now,
        key=pki.provider.key,
        not_before=pki.now + DAY,
        not_after=pki.now + 30 * DAY,
    )
    assert verify(sign_as_provider(lot(), future), trust, pki).code == "5018"


def test_revoked_certificate(trust, pki):
    result = verify(sign_as_provider(lot(), pki.revoked), trust, pki)
    assert result.code == "5020"
    assert "revogado em" in result.reason


def test_revocation_is_checked_only_against_crls_signed_by_the_issuer(pki):
    # A CRL bearing the root's name but signed by another key must not be believed.
    impostor = Issued(pki.root.cert, pki.unknown_ca.key)
    forged = make_crl(impostor, [pki.provider], now=pki.now)
    trust = TrustStore((pki.root.cert,), tuple(load_crls(forged)))
    result = verify(sign_as_provider(lot(), pki.provider), trust, pki)
    assert result.ok, result
    assert result.revocation.startswith("sem LCR de CN=AC Raiz Teste TISS")


def test_certificate_without_signing_usage_is_invalid(trust, pki):
    assert verify(sign_as_provider(lot(), pki.not_for_signing), trust, pki).code == "5018"


def test_validity_is_judged_at_the_given_time(trust, pki):
    signed = sign_as_provider(lot(), pki.provider)
    assert verify(signed, trust, pki, at=pki.now + 400 * DAY).code == "5019"
    assert verify(signed, trust, pki, at=pki.now - 31 * DAY).code == "5018"  # before notBefore
    assert verify(signed, trust, pki, at=pki.now + timedelta(minutes=1)).ok


def test_content_changed_after_signing_does_not_match(trust, pki):
    signed = sign_as_provider(lot(), pki.provider)
    signed.find(f".//{q('numeroCarteira')}").text = "00012345678999"
    signed.find(q("hash")).text = message_hash(signed)  # the MD5 still matches
    result = verify(signed, trust, pki)
    assert result.code == "5022"


def test_changed_signature_value_does_not_match(trust, pki):
    signed = sign_as_provider(lot(), pki.provider)
    value = signed.find(".//ds:SignatureValue", namespaces=NS)
    value.text = ("A" if value.text[0] != "A" else "B") + value.text[1:]
    assert verify(signed, trust, pki).code == "5022"


def test_changed_xades_signed_properties_do_not_match(trust, pki):
    signed = sign_as_provider(lot(), pki.provider)
    signed.find(".//xades:SigningTime", namespaces=NS).text = "2020-01-01T00:00:00+00:00"
    assert verify(signed, trust, pki).code == "5022"


@pytest.mark.parametrize(
    "uri", ["http://attacker.example/x.xml", "file:///etc/passwd", "#xpointer(/)", "lote.xml"]
)
def test_references_outside_the_message_are_refused_before_anything_is_read(trust, pki, uri):
    signed = sign_as_provider(lot(), pki.provider)
    reference = signed.find(".//ds:SignedInfo/ds:Reference", namespaces=NS)
    reference.set("URI", uri)
    result = verify(signed, trust, pki)
    assert result.code == "5018"
    assert "fora da mensagem" in result.reason


def test_xslt_transforms_are_refused(trust, pki):
    signed = sign_as_provider(lot(), pki.provider)
    transforms = signed.find(".//ds:Reference/ds:Transforms", namespaces=NS)
    etree.SubElement(
        transforms, f"{{{DS}}}Transform", Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"
    )
    result = verify(signed, trust, pki)
    assert result.code == "5018"
    assert "transformação" in result.reason


def test_a_signature_must_cover_the_whole_message(trust, pki):
    signed = sign_as_provider(lot(), pki.provider)
    whole = signed.find(".//ds:SignedInfo/ds:Reference[@URI='']", namespaces=NS)
    whole.getparent().remove(whole)
    result = verify(signed, trust, pki)
    assert result.code == "5018"
    assert "mensagem inteira" in result.reason


def test_a_signature_without_certificate_is_invalid(trust, pki):
    signed = sign_as_provider(lot(), pki.provider)
    data = signed.find(".//ds:KeyInfo/ds:X509Data", namespaces=NS)
    data.getparent().remove(data)
    assert verify(signed, trust, pki).code == "5018"


def test_an_unreadable_certificate_is_invalid(trust, pki):
    signed = sign_as_provider(lot(), pki.provider)
    signed.find(".//ds:X509Certificate", namespaces=NS).text = "TUlJQ2Fr"  # not DER
    result = verify(signed, trust, pki)
    assert (result.code, result.reason) == ("5018", "certificado ilegível em KeyInfo")


def test_sha1_signatures_are_refused(trust, pki):
    class LegacySigner(XMLSigner):
        def check_deprecated_methods(self) -> None:  # what old signing software still does
            pass

    signed = LegacySigner(
        signature_algorithm=SignatureMethod.RSA_SHA1, digest_algorithm="sha1"
    ).sign(lot(), key=pki.provider.key, cert=[pki.provider.cert])
    signed.find(f"{{{DS}}}Signature").tag = q("Signature")
    result = verify(signed, trust, pki)
    assert result.code == "5018"
    assert "SHA1" in result.reason


def test_trust_material_loading(pki):
    assert len(load_crls(pki.root_crl)) == 1  # DER
    pem = load_crls(pki.root_crl)[0].public_bytes(Encoding.PEM)
    assert len(load_crls(pem + pem)) == 2
    with pytest.raises(TrustMaterialError):
        TrustStore.from_bytes(b"no certificates here")
    with pytest.raises(TrustMaterialError):
        load_crls(b"not a CRL")


def answer_header() -> AnswerHeader:
    return AnswerHeader(
        tipo_transacao="SITUACAO_ELEGIBILIDADE",
        sequencial="1",
        when=datetime(2026, 11, 21, 10, 30),
        registro_ans=REGISTRO_ANS,
        destino=Party("CNPJ", PROVIDER_A.cnpj),
        version="4.03.00",
    )


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: lot(), "Signature"),
        (lambda: resposta_elegibilidade(answer_header(), REGISTRO_ANS, None), "Signatures"),
    ],
)
def test_gateway_signing_keeps_schema_and_hash(pki, trust, build, name, tmp_path):
    signer = MessageSigner.from_pem(pki.gateway.key_pem, pki.gateway.cert_pem)
    signed = signer.sign(build())
    assert etree.QName(signed[-1]).localname == name
    assert signed.findtext(q("hash")) == leaf_md5(signed)
    assert_official(signed, "4.03.00")
    assert verify(signed, trust, pki).ok
    # And stock signxml, with its own chain verification against the CA, agrees.
    (tmp_path / "ca.pem").write_bytes(pki.root.cert_pem)
    standard = copy.deepcopy(signed)
    standard[-1].tag = f"{{{DS}}}Signature"
    XAdESVerifier().verify(
        standard,
        ca_pem_file=str(tmp_path / "ca.pem"),
        expect_config=XAdESSignatureConfiguration(expect_references=3),
    )


def test_signature_element_names_follow_the_schema():
    assert signature_tag(etree.Element(q("protocoloRecebimentoWS"))) == q("Signature")
    assert signature_tag(etree.Element(q("respostaElegibilidadeWS"))) == q("Signatures")
    assert signature_tag(etree.Element(q("mensagemTISS"))) == f"{{{DS}}}Signature"


def test_signing_key_must_match_its_certificate(pki):
    with pytest.raises(TrustMaterialError, match="not the signing key"):
        MessageSigner.from_pem(pki.gateway.key_pem, pki.provider.cert_pem)
    with pytest.raises(TrustMaterialError):
        MessageSigner.from_pem(b"garbage", pki.gateway.cert_pem)
