"""Digital signatures end to end through the WSGI app, on SQLite and PostgreSQL: signed lots
accepted or refused with the table-38 code of each failure, providers that must sign, the
archive of every outcome, and answers signed by the gateway (valid under the official XSD, and
verified by stock signxml against the test CA)."""

import copy
import hashlib
from dataclasses import replace

import pytest
from lxml import etree
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier
from sqlalchemy import select

from gateway.cli import main
from gateway.config import ConfigError, Settings
from gateway.services.admin import add_provider, set_require_signature
from gateway.services.client_certificates import add_certificate
from gateway.services.signatures import SignatureSetup, load_signature_setup
from gateway.tiss.header import Party
from gateway.tiss.namespaces import DS, q
from gateway.tiss.samples import (
    SampleQuery,
    lote_guias_ws,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_pagamento_ws,
    solicitacao_status_ws,
)
from storage import models
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.pki import MEDICA_PF_CPF, Pki, make_holder, sign_as_provider
from tests.portal_support import DELEGATE_CPF, DELEGATE_PASSWORD, make_delegate
from tests.tissclient import Provider, leaf_md5, post, sample_lot

PF = Provider(cnpj="", code="PRESTPF", name="Médica PF", password="Senha@PF789")


@pytest.fixture(scope="module")
def trust_files(pki, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("trust")
    (folder / "crls").mkdir()
    (folder / "ca.pem").write_bytes(pki.root.cert_pem)
    (folder / "crls" / "raiz.crl").write_bytes(pki.root_crl)  # DER, as CAs publish it
    (folder / "gateway.key").write_bytes(pki.gateway.key_pem)
    (folder / "gateway.pem").write_bytes(pki.gateway.cert_pem + pki.root.cert_pem)
    return dict(
        signature_ca_file=folder / "ca.pem",
        signature_crl_dir=folder / "crls",
        sign_key_file=folder / "gateway.key",
        sign_cert_file=folder / "gateway.pem",
    )


@pytest.fixture
def settings_overrides(trust_files) -> dict:
    return trust_files


@pytest.fixture
def gw(gw):
    # Gateway.start loads the trust material once per process; the shared fixture builds the
    # gateway directly, so load it the same way here.
    return replace(gw, signatures=load_signature_setup(gw.settings))


def lot_a(numero: str, version: str = "4.03.00") -> etree._Element:
    return lote_guias_ws(sample_lot(PROVIDER_A, numero, registro_ans=REGISTRO_ANS, version=version))


def last_message(gw) -> models.Message:
    with gw.db.reading() as s:
        return s.scalars(select(models.Message).order_by(models.Message.id.desc())).first()


def verify_answer(payload: etree._Element, pki: Pki, tmp_path) -> None:
    """Verify a signed answer as a provider would, with stock signxml: the TISS element renamed
    to ds:Signature (the enveloped transform removes it either way), the chain checked against
    the CA file."""
    ca = tmp_path / "ca-for-signxml.pem"
    ca.write_bytes(pki.root.cert_pem)
    standard = copy.deepcopy(payload)
    signature = standard[-1]
    assert etree.QName(signature).localname in ("Signature", "Signatures")
    signature.tag = f"{{{DS}}}Signature"
    results = XAdESVerifier().verify(
        standard,
        ca_pem_file=str(ca),
        expect_config=XAdESSignatureConfiguration(expect_references=3),
    )
    assert results[0].signed_xml.tag == payload.tag  # the whole answer is what was signed


@pytest.mark.parametrize("version", ["4.03.00", "4.02.00"])
def test_signed_lot_is_accepted_and_the_answer_is_signed(client, gw, pki, version, tmp_path):
    answer = post(client, sign_as_provider(lot_a("S1", version), pki.provider), version=version)

    assert not answer.is_fault, answer.faultstring
    assert answer.protocol
    # post() validated the signed answer against the official XSD and its hash.
    signature = answer.payload.find(q("Signature"))
    assert signature is not None and answer.payload[-1] is signature
    verify_answer(answer.payload, pki, tmp_path)
    record = last_message(gw)
    assert (record.outcome, record.signature_status) == ("accepted", "verified")
    assert "XAdES" in record.signature_detail
    assert "HOSPITAL A:11222333000181" in record.signature_detail
    assert "documento do signatário CNPJ 11222333000181" in record.signature_detail
    assert "signatário é o prestador (o certificado traz o seu CNPJ)" in record.signature_detail
    assert "LCR verificada" in record.signature_detail


def test_plain_xmldsig_is_accepted(client, gw, pki):
    answer = post(client, sign_as_provider(lot_a("S2"), pki.provider, xades=False))
    assert not answer.is_fault, answer.faultstring
    assert last_message(gw).signature_detail.startswith("XMLDSig")


@pytest.mark.parametrize(
    ("holder", "code", "fault", "words"),
    [
        ("expired", "5019", "RemetenteInvalido", "CERTIFICADO DIGITAL VENCIDO"),
        ("revoked", "5020", "RemetenteInvalido", "CERTIFICADO DIGITAL REVOGADO"),
        ("stranger", "5021", "RemetenteInvalido", "CADEIA DE CERTIFICAÇÃO INVÁLIDA"),
        ("not_for_signing", "5018", "RemetenteInvalido", "CERTIFICADO DIGITAL INVÁLIDO"),
    ],
)
def test_untrusted_certificates_are_refused_with_their_code(
    client, gw, pki, holder, code, fault, words
):
    answer = post(client, sign_as_provider(lot_a("S3"), getattr(pki, holder)))

    assert answer.is_fault
    assert (answer.code, answer.tiss_fault) == (code, fault)
    assert answer.faultcode.endswith("Client")
    assert answer.faultstring.startswith(f"{code} - {words}: ")
    record = last_message(gw)
    assert (record.outcome, record.codes, record.signature_status) == ("rejected", code, "rejected")
    assert record.fault == fault
    with gw.db.reading() as s:
        assert s.scalar(select(models.Lot).where(models.Lot.numero_lote == "S3")) is None


def test_content_changed_after_signing_is_refused(client, gw, pki):
    signed = sign_as_provider(lot_a("S4"), pki.provider)
    signed.find(f".//{q('numeroCarteira')}").text = "00012345678999"
    signed.find(q("hash")).text = leaf_md5(signed)  # the MD5 hash still matches

    answer = post(client, signed)

    assert (answer.code, answer.tiss_fault) == ("5022", "HashInvalido")
    assert answer.faultstring.startswith("5022 - ASSINATURA DIGITAL NÃO CONFERE")
    assert last_message(gw).signature_status == "rejected"


def test_missing_intermediate_is_an_invalid_chain_and_present_one_is_accepted(client, pki):
    holder, intermediate = pki.provider_via_intermediate, pki.intermediate
    assert post(client, sign_as_provider(lot_a("S5"), holder)).code == "5021"
    answer = post(client, sign_as_provider(lot_a("S5"), holder, chain=(intermediate,)))
    assert not answer.is_fault, answer.faultstring


def test_provider_that_must_sign_is_refused_without_signature(client, gw, pki):
    set_require_signature(gw.db, PROVIDER_A.code, True)

    unsigned = post(client, lot_a("S6"))
    assert (unsigned.code, unsigned.tiss_fault) == ("3168", "RemetenteInvalido")
    assert unsigned.faultstring.startswith("3168 - ASSINATURA DIGITAL INVÁLIDA OU NÃO ENVIADA")
    record = last_message(gw)
    assert (record.outcome, record.signature_status) == ("rejected", "missing")

    signed = post(client, sign_as_provider(lot_a("S6"), pki.provider))
    assert not signed.is_fault, signed.faultstring

    # Other providers are not affected, and the requirement can be lifted.
    lot_b = lote_guias_ws(sample_lot(PROVIDER_B, "S6", registro_ans=REGISTRO_ANS))
    assert not post(client, lot_b).is_fault
    set_require_signature(gw.db, PROVIDER_A.code, False)
    assert not post(client, lot_a("S7")).is_fault
    assert last_message(gw).signature_status is None


def test_other_failures_answer_before_the_signature(client, gw, pki):
    signed = sign_as_provider(lot_a("S8"), pki.expired)
    signed.find(q("hash")).text = "0" * 32
    assert post(client, signed).code == "5014"  # the hash is checked first
    set_require_signature(gw.db, PROVIDER_A.code, True)
    wrong_password = lote_guias_ws(
        sample_lot(PROVIDER_A, "S8", registro_ans=REGISTRO_ANS, senha_md5="0" * 32)
    )
    assert post(client, wrong_password).tiss_fault == "LoginInvalido"


def query_a() -> SampleQuery:
    return SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", PROVIDER_A.cnpj),
        codigo_prestador=PROVIDER_A.code,
        login=PROVIDER_A.cnpj,
        senha_md5=PROVIDER_A.senha_md5,
    )


@pytest.mark.parametrize(
    ("service", "build", "element"),
    [
        (
            "tissSolicitacaoStatusProtocolo",
            lambda: solicitacao_status_ws(query_a(), "999999"),
            "Signature",
        ),
        (
            "tissVerificaElegibilidade",
            lambda: pedido_elegibilidade_ws(query_a(), "00099999999999"),
            "Signatures",
        ),
        (
            "tissSolicitacaoDemonstrativoRetorno",
            lambda: solicitacao_demonstrativo_pagamento_ws(query_a(), competencia="202611"),
            "Signature",
        ),
    ],
)
def test_every_service_signs_its_answers_and_verifies_signed_queries(
    client, gw, pki, service, build, element, tmp_path
):
    answer = post(client, sign_as_provider(build(), pki.provider), service=service)

    assert not answer.is_fault, answer.faultstring
    assert etree.QName(answer.payload[-1]).localname == element
    verify_answer(answer.payload, pki, tmp_path)
    assert last_message(gw).signature_status == "verified"


def test_faults_are_not_signed(client, pki):
    answer = post(client, sign_as_provider(lot_a("S9"), pki.stranger))
    assert answer.is_fault
    assert b"SignatureValue" not in answer.raw


def test_without_trusted_cas_signatures_are_not_verified(client, gw, pki):
    gw.signatures = SignatureSetup()  # TISS_SIGNATURE_CA_FILE and the signing key unset

    answer = post(client, sign_as_provider(lot_a("T1"), pki.stranger))
    assert not answer.is_fault
    assert answer.payload.find(q("Signature")) is None  # not signed either
    record = last_message(gw)
    assert record.signature_status == "unverified"

    set_require_signature(gw.db, PROVIDER_A.code, True)
    required = post(client, sign_as_provider(lot_a("T2"), pki.provider))
    assert (required.code, required.tiss_fault) == ("5021", "RemetenteInvalido")


def test_require_signature_from_the_command_line(gw, database_url, monkeypatch, capsys):
    monkeypatch.setenv("TISS_DATABASE_URL", database_url)
    monkeypatch.delenv("TISS_SIGNATURE_CA_FILE", raising=False)

    assert main(["provider", "require-signature", "--code", PROVIDER_A.code, "--on"]) == 0
    out = capsys.readouterr().out
    assert f"provider {PROVIDER_A.code} must sign every message" in out
    assert "TISS_SIGNATURE_CA_FILE is not set" in out
    with gw.db.reading() as s:
        provider = s.scalar(
            select(models.Provider).where(models.Provider.codigo_na_operadora == PROVIDER_A.code)
        )
        assert provider.require_signature is True

    assert main(["provider", "require-signature", "--code", PROVIDER_A.code, "--off"]) == 0
    # The provider named by CNPJ (punctuated as people type it), as the certificate commands do.
    cnpj = "11.222.333/0001-81"
    assert cnpj.replace(".", "").replace("/", "").replace("-", "") == PROVIDER_A.cnpj
    assert main(["provider", "require-signature", "--code", cnpj, "--on"]) == 0
    assert f"provider {PROVIDER_A.code} must sign every message" in capsys.readouterr().out
    with gw.db.reading() as s:
        assert s.scalar(
            select(models.Provider.require_signature).where(
                models.Provider.codigo_na_operadora == PROVIDER_A.code
            )
        )
    assert main(["provider", "require-signature", "--code", PROVIDER_A.cnpj, "--off"]) == 0
    assert main(["provider", "require-signature", "--code", "NOPE", "--on"]) == 2
    with pytest.raises(SystemExit):
        main(["provider", "require-signature", "--code", PROVIDER_A.code])
    with gw.db.reading() as s:
        assert not s.scalar(
            select(models.Provider.require_signature).where(
                models.Provider.codigo_na_operadora == PROVIDER_A.code
            )
        )


def test_settings_and_trust_material_errors(trust_files, tmp_path, monkeypatch):
    for name, key in (
        ("TISS_SIGNATURE_CA_FILE", "signature_ca_file"),
        ("TISS_SIGNATURE_CRL_DIR", "signature_crl_dir"),
        ("TISS_SIGN_KEY_FILE", "sign_key_file"),
        ("TISS_SIGN_CERT_FILE", "sign_cert_file"),
    ):
        monkeypatch.setenv(name, str(trust_files[key]))
    settings = Settings.from_env()
    assert settings.signature_ca_file == trust_files["signature_ca_file"]
    setup = load_signature_setup(settings)
    assert setup.trust is not None and len(setup.trust.crls) == 1
    assert setup.signer is not None and len(setup.signer.chain) == 2

    def refused(match, **changes):
        with pytest.raises(ConfigError, match=match):
            load_signature_setup(replace(settings, **changes))

    refused("TISS_SIGNATURE_CA_FILE: cannot read", signature_ca_file=tmp_path / "absent.pem")
    refused("no CA certificate", signature_ca_file=trust_files["sign_key_file"])
    refused("is not a folder", signature_crl_dir=trust_files["signature_ca_file"])
    refused("needs TISS_SIGNATURE_CA_FILE", signature_ca_file=None)
    refused("go together", sign_cert_file=None)
    refused("not the signing key", sign_cert_file=trust_files["signature_ca_file"])
    (tmp_path / "bad.crl").write_bytes(b"not a CRL")
    refused("unreadable CRL", signature_crl_dir=tmp_path)


# The signer must be the provider the message is sent for.

NOT_THE_PROVIDERS = (
    "5018 - CERTIFICADO DIGITAL INVÁLIDO: o certificado do assinante não pertence ao prestador "
    "CNPJ 11222333000181: "
)


def assert_signer_refused(answer, gw, named: str) -> None:
    assert (answer.code, answer.tiss_fault) == ("5018", "RemetenteInvalido")
    assert answer.faultcode.endswith("Client")
    assert answer.faultstring.startswith(NOT_THE_PROVIDERS + named), answer.faultstring
    assert answer.faultstring.endswith("e não está cadastrado para o prestador")
    record = last_message(gw)
    assert (record.outcome, record.codes, record.signature_status) == (
        "rejected",
        "5018",
        "rejected",
    )
    assert "recusada: o certificado do assinante não pertence" in record.signature_detail


def lots_of(gw, numero: str) -> int:
    with gw.db.reading() as s:
        return len(s.scalars(select(models.Lot).where(models.Lot.numero_lote == numero)).all())


def test_certificate_of_another_cnpj_is_refused(client, gw, pki):
    answer = post(client, sign_as_provider(lot_a("P1"), pki.provider_b))

    assert_signer_refused(answer, gw, "ele identifica o CNPJ 45723174000110")
    assert "documento do signatário CNPJ 45723174000110" in last_message(gw).signature_detail
    assert lots_of(gw, "P1") == 0
    # The same certificate signs Clínica B's own lots.
    lot_b = lote_guias_ws(sample_lot(PROVIDER_B, "P1", registro_ans=REGISTRO_ANS))
    assert not post(client, sign_as_provider(lot_b, pki.provider_b)).is_fault


def test_the_rule_holds_for_queries_and_providers_that_must_sign(client, gw, pki):
    query = post(
        client,
        sign_as_provider(solicitacao_status_ws(query_a(), "999999"), pki.provider_b),
        service="tissSolicitacaoStatusProtocolo",
    )
    assert_signer_refused(query, gw, "ele identifica o CNPJ 45723174000110")
    set_require_signature(gw.db, PROVIDER_A.code, True)
    required = post(client, sign_as_provider(lot_a("P2"), pki.provider_b))
    assert_signer_refused(required, gw, "ele identifica o CNPJ 45723174000110")


def test_e_cpf_of_a_pessoa_fisica_provider_is_accepted(client, gw, pki):
    add_provider(gw.db, cpf=MEDICA_PF_CPF, code="PRESTPF", name="Médica PF", password=PF.password)
    lot = sample_lot(
        PF, "P3", registro_ans=REGISTRO_ANS, origem=Party("CPF", MEDICA_PF_CPF), login=MEDICA_PF_CPF
    )

    answer = post(client, sign_as_provider(lote_guias_ws(lot), pki.physician))

    assert not answer.is_fault, answer.faultstring
    record = last_message(gw)
    assert (record.outcome, record.signature_status) == ("accepted", "verified")
    assert "documento do signatário CPF 52998224725" in record.signature_detail
    assert "signatário é o prestador (o certificado traz o seu CPF)" in record.signature_detail
    # Her e-CPF does not sign for Hospital A, nor Hospital A's e-CNPJ for her.
    assert_signer_refused(
        post(client, sign_as_provider(lot_a("P3"), pki.physician)),
        gw,
        "ele identifica o CPF 52998224725",
    )
    lot = sample_lot(
        PF, "P4", registro_ans=REGISTRO_ANS, origem=Party("CPF", MEDICA_PF_CPF), login=MEDICA_PF_CPF
    )
    refused = post(client, sign_as_provider(lote_guias_ws(lot), pki.provider))
    assert refused.faultstring.startswith(
        "5018 - CERTIFICADO DIGITAL INVÁLIDO: o certificado do assinante não pertence ao "
        "prestador CPF 52998224725: ele identifica o CNPJ 11222333000181"
    )


def test_certificate_without_icp_brasil_names_but_registered_for_the_provider(client, gw, pki):
    registered = add_certificate(gw.db, PROVIDER_A.code, pki.no_document.cert_pem)

    answer = post(client, sign_as_provider(lot_a("P5"), pki.no_document))

    assert not answer.is_fault, answer.faultstring
    detail = last_message(gw).signature_detail
    assert "signatário sem CNPJ/CPF ICP-Brasil" in detail
    assert (
        f"signatário é o prestador (certificado cadastrado para ele, SHA-256 {registered.sha256})"
        in detail
    )


def test_certificate_without_icp_brasil_names_and_not_registered_is_refused(client, gw, pki):
    answer = post(client, sign_as_provider(lot_a("P6"), pki.no_document))
    assert_signer_refused(answer, gw, "ele não traz CNPJ nem CPF ICP-Brasil")
    assert lots_of(gw, "P6") == 0

    # Registered for another provider is not registered for this one.
    add_certificate(gw.db, PROVIDER_B.code, pki.no_document.cert_pem)
    again = post(client, sign_as_provider(lot_a("P6"), pki.no_document))
    assert_signer_refused(again, gw, "ele não traz CNPJ nem CPF ICP-Brasil")


def test_a_delegate_sends_with_the_providers_signature_not_its_own(client, gw, pki):
    # The Secretária/o acts for the provider: the message is the provider's, so is the signature.
    make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    delegate_md5 = hashlib.md5(DELEGATE_PASSWORD.encode()).hexdigest()

    def lot_by_delegate(numero: str) -> etree._Element:
        lot = sample_lot(
            PROVIDER_A,
            numero,
            registro_ans=REGISTRO_ANS,
            login=DELEGATE_CPF,
            senha_md5=delegate_md5,
        )
        return lote_guias_ws(lot)

    own = make_holder(
        "ANA SECRETARIA:62819482112", pki.root, now=pki.now, key=pki.provider.key, cpf=DELEGATE_CPF
    )
    refused = post(client, sign_as_provider(lot_by_delegate("P7"), own))
    assert_signer_refused(refused, gw, f"ele identifica o CPF {DELEGATE_CPF}")

    accepted = post(client, sign_as_provider(lot_by_delegate("P7"), pki.provider))
    assert not accepted.is_fault, accepted.faultstring
    assert last_message(gw).signature_status == "verified"
