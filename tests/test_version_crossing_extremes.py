"""TISS versions crossing each other: what a provider's system, half-migrated from 4.02.00 to
4.03.00, really sends, and what the operator then reads back.

Attacked here:
- a message's `Padrao` against the endpoint's version (4.02.00 to /v40300 and the reverse): the
  message's own version must pick the schema and the answer's version, on every service;
- `Padrao` values that are official but not accepted (3.05.00, 4.00.01, 4.01.00), misspelt,
  padded with blanks, empty or missing: 5028 VersaoInvalida (README row 3, TISS.md table 38),
  a fault valid under the official XSD, never a stack trace, nothing stored;
- elements and values that exist in one version only (4.03.00's `centroConsumo` and
  alphanumeric CNPJ) sent under the other version's `Padrao`: refused by that version's XSD
  (5001), never validated against the endpoint's;
- data recorded through one version and queried in the other: 4.03.00-only glosa codes
  (3169-3312) recorded by the operator, an operator whose own CNPJ is alphanumeric, lots of a
  provider with an alphanumeric CNPJ: every answer must still validate against the official XSD
  of the version the query declared;
- the hash, which covers `Padrao` itself;
- namespace tricks: default namespace, two prefixes for the TISS namespace, `Padrao` or the root
  in a WSDL namespace, `xsi:schemaLocation` pointing at a server the gateway must never fetch;
- real SOAP toolkits: zeep with the official 4.03.00 WSDLs and with the gateway's 4.02.00 WSDLs,
  on all four services.

What a user checks: the code and fault category, the answer's `Padrao`, that the answer
validates against the official ANS XSD of that version (tests/tissclient.read_answer does it for
every answer, with the hash recomputed independently) and what the archive kept.
"""

import hashlib
import http.server
import re
import threading
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import zeep
import zeep.transports
from lxml import etree
from sqlalchemy import select
from werkzeug.test import Client
from zeep.plugins import HistoryPlugin

from gateway.app import build_app
from gateway.services.admin import add_provider, set_operator
from gateway.services.backoffice.analysis import (
    GlosaInput,
    GuideAnalysis,
    ItemAnalysis,
    record_analysis,
)
from gateway.services.backoffice.errors import BackOfficeError
from gateway.services.backoffice.payments import PaymentInput, ProtocolPayment, record_payment
from gateway.services.backoffice.protocols import change_status
from gateway.services.backoffice.staff import StaffPrincipal
from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.tiss.hashing import message_hash
from gateway.tiss.header import Party
from gateway.tiss.namespaces import ANS, service_namespace, version_slug
from gateway.tiss.samples import (
    SampleQuery,
    lote_guias_ws,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_demonstrativo_pagamento_ws,
    solicitacao_status_ws,
)
from storage import models
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.tissclient import (
    NS,
    Provider,
    SoapAnswer,
    assert_official,
    envelope,
    leaf_md5,
    official_schema,
    post,
    read_answer,
    sample_lot,
    sample_query,
)

V402, V403 = "4.02.00", "4.03.00"
VERSIONS = [V402, V403]
LOTE = "tissLoteGuias"
STATUS = "tissSolicitacaoStatusProtocolo"
ELEGIBILIDADE = "tissVerificaElegibilidade"
DEMONSTRATIVO = "tissSolicitacaoDemonstrativoRetorno"
ANALISTA = StaffPrincipal(0, "analista.versoes")
OFFICIAL_WSDL_403 = Path(__file__).resolve().parents[2] / "shared" / "tiss" / "wsdl" / V403
# A provider whose CNPJ is alphanumeric (Receita Federal's own example; valid check digits).
# 4.03.00's st_CNPJ accepts it, 4.02.00's ([0-9]{14}) does not.
ALNUM_CNPJ = "12ABC34501DE35"
PROVIDER_C = Provider(cnpj=ALNUM_CNPJ, code="PRESTC", name="Clinica C", password="Senha@C789")
OPERATOR_ALNUM_CNPJ = "TISS2026AB0104"
# Codes 3169-3312 of table 38 exist in 4.03.00's dm_tipoGlosa only.
GLOSA_ONLY_403 = "3169"
ZEEP_SETTINGS = zeep.Settings(forbid_entities=False)  # xmldsig-core-schema.xsd has a DTD


# --- building and sending ---------------------------------------------------------------------


def lot_element(provider=PROVIDER_A, numero="L1", count=2, *, padrao=V403, **kw):
    """A schema-valid loteGuiasWS (for either version) with a correct hash."""
    lot = sample_lot(provider, numero, count, registro_ans=REGISTRO_ANS, version=padrao, **kw)
    return lote_guias_ws(lot)


def rehash(root: etree._Element) -> etree._Element:
    """Recompute the hash after a change, as the sender's system does."""
    root.find("ans:hash", NS).text = message_hash(root)
    return root


def set_padrao(root: etree._Element, value: str | None) -> etree._Element:
    """Change (or, with None, remove) cabecalho/Padrao and reseal the message."""
    padrao = root.find("ans:cabecalho/ans:Padrao", NS)
    if value is None:
        padrao.getparent().remove(padrao)
    else:
        padrao.text = value
    return rehash(root)


def query(provider=PROVIDER_A, version=V403, **kw) -> SampleQuery:
    return sample_query(provider, **{"registro_ans": REGISTRO_ANS, "version": version, **kw})


def send(client, element, *, endpoint=V403, service=LOTE) -> SoapAnswer:
    """POST to /tiss/<endpoint>/<service>; tissclient validates the answer (a body against the
    official XSD of the Padrao it declares, a fault's detail against the endpoint's)."""
    return post(client, element, version=endpoint, service=service)


def send_raw(client, raw: bytes, *, endpoint=V403, service=LOTE) -> SoapAnswer:
    return post(client, None, version=endpoint, service=service, raw=raw)


def padrao_of(answer: SoapAnswer) -> str | None:
    return answer.text("ans:cabecalho/ans:Padrao")


def last_message(gw) -> models.Message:
    with gw.db.reading() as s:
        return s.scalars(select(models.Message).order_by(models.Message.id.desc())).first()


def lot_count(gw) -> int:
    with gw.db.reading() as s:
        return len(s.scalars(select(models.Lot.id)).all())


def other(version: str) -> str:
    return V402 if version == V403 else V403


# --- the operator's side: analysis and payment, through the back office's use cases -----------


def analyse(gw, numero, *, guide_code="1705", item_code="1801"):
    """Move the protocol to 2 and record an analysis with a glosa on the first guide as a whole
    and one on its first item."""
    change_status(gw.db, ANALISTA, numero, 2)
    guides = [
        GuideAnalysis(
            "G000001",
            glosas=[GlosaInput(guide_code, Decimal("10.00"), "glosa na guia")],
            items=(ItemAnalysis(1, glosas=[GlosaInput(item_code, Decimal("5.00"))]),),
        )
    ]
    record_analysis(gw.db, ANALISTA, numero, guides, glosa_tables=gw.glosa_tables())


def pay(gw, numero, provider=PROVIDER_A):
    record_payment(
        gw.db,
        ANALISTA,
        PaymentInput(
            provider_code=provider.code,
            data_pagamento=date(2026, 11, 30),
            competencia="202611",
            forma_pagamento="1",
            protocols=[ProtocolPayment(numero)],
            banco="341",
            agencia="1234",
            conta="99887",
        ),
    )


def accepted_lot(client, *, padrao=V403, guide_type="guiaSP-SADT", provider=PROVIDER_A, **kw):
    answer = send(
        client, lot_element(provider, "LV1", 2, padrao=padrao, guide_type=guide_type, **kw)
    )
    assert not answer.is_fault, answer.faultstring
    assert answer.protocol, answer.raw
    return answer.protocol


# === 1. The message's Padrao decides, whatever the endpoint ===================================


@pytest.mark.parametrize("endpoint", VERSIONS)
@pytest.mark.parametrize("padrao", VERSIONS)
def test_lot_is_validated_and_answered_in_its_own_padrao_on_any_endpoint(
    client, gw, padrao, endpoint
):
    answer = send(client, lot_element(padrao=padrao), endpoint=endpoint)

    assert not answer.is_fault, answer.faultstring
    assert padrao_of(answer) == padrao
    assert_official(answer.payload, padrao)  # valid in the version it declares
    record = last_message(gw)
    assert (record.version, record.endpoint_version, record.outcome) == (
        padrao,
        endpoint,
        "accepted",
    )
    with gw.db.reading() as s:
        lot = s.scalars(select(models.Lot)).one()
        assert lot.version == padrao


@pytest.mark.parametrize("endpoint", VERSIONS)
@pytest.mark.parametrize("padrao", VERSIONS)
def test_every_query_service_answers_in_the_padrao_of_the_query(client, gw, padrao, endpoint):
    numero = accepted_lot(client, padrao=other(padrao))  # the lot came in the other version
    upsert_beneficiaries(
        gw.db, [BeneficiaryData("00012345678901", "Maria", "Ouro", "ativo", date(2020, 1, 1))]
    )
    q = query(version=padrao)
    asked = {
        STATUS: solicitacao_status_ws(q, numero),
        ELEGIBILIDADE: pedido_elegibilidade_ws(q, "00012345678901"),
        DEMONSTRATIVO: solicitacao_demonstrativo_analise_ws(q, [numero]),
    }
    for service, element in asked.items():
        answer = send(client, element, endpoint=endpoint, service=service)
        assert not answer.is_fault, (service, answer.faultstring)
        assert padrao_of(answer) == padrao, service
        assert answer.code is None, (service, answer.code)
    status = send(client, solicitacao_status_ws(q, numero), endpoint=endpoint, service=STATUS)
    assert status.text(".//ans:detalheLote/ans:numeroProtocolo") == numero


# === 2. Padrao values that are not an accepted version =======================================

NOT_ACCEPTED = [
    "3.05.00",  # official, two versions ago
    "4.00.00",
    "4.00.01",  # in 4.02.00's and 4.03.00's dm_versao enumeration, not accepted
    "4.01.00",  # official, late adopters; not accepted by default
    "4.03.0",
    "4.3.0",
    "04.03.00",
    "4.03.00.00",
    "V4.03.00",
    "4.03,00",
    "403",
    "4.04.00",  # a future version
    "",
]


@pytest.mark.parametrize("endpoint", VERSIONS)
@pytest.mark.parametrize("padrao", NOT_ACCEPTED)
def test_padrao_not_accepted_is_5028_versao_invalida(client, gw, padrao, endpoint):
    answer = send(client, set_padrao(lot_element(), padrao), endpoint=endpoint)

    assert answer.is_fault and answer.status == 500
    assert (answer.code, answer.tiss_fault) == ("5028", "VersaoInvalida"), answer.faultstring
    assert "Traceback" not in answer.raw.decode("iso-8859-1")
    record = last_message(gw)
    assert (record.outcome, record.codes) == ("rejected", "5028")
    assert lot_count(gw) == 0


@pytest.mark.parametrize("service", [LOTE, STATUS, ELEGIBILIDADE, DEMONSTRATIVO])
def test_missing_padrao_is_5028_on_every_service(client, gw, service):
    q = query()
    element = {
        LOTE: lot_element(),
        STATUS: solicitacao_status_ws(q, "000000000001"),
        ELEGIBILIDADE: pedido_elegibilidade_ws(q, "00012345678901"),
        DEMONSTRATIVO: solicitacao_demonstrativo_analise_ws(q, ["000000000001"]),
    }[service]
    answer = send(client, set_padrao(element, None), service=service)

    assert (answer.code, answer.tiss_fault) == ("5028", "VersaoInvalida"), answer.faultstring
    assert last_message(gw).codes == "5028"


@pytest.mark.parametrize("padrao", [" 4.03.00 ", "4.03.00\n", "\t4.02.00", "4.02.00\u00a0"])
def test_padrao_padded_with_blanks_is_refused_not_read_as_the_version(client, gw, padrao):
    # dm_versao is an xs:string enumeration: its blanks are part of the value, so no version's
    # schema accepts it. Refused either as a version the gateway does not accept (5028) or by
    # the schema (5001), the fault naming Padrao; never accepted, never a server error.
    answer = send(client, set_padrao(lot_element(), padrao))

    assert answer.is_fault
    assert (answer.code, answer.tiss_fault) in {
        ("5028", "VersaoInvalida"),
        ("5001", "SchemaInvalido"),
    }, answer.faultstring
    if answer.code == "5001":
        assert "Padrao" in answer.faultstring
    assert lot_count(gw) == 0


@pytest.mark.parametrize(
    "written",
    [
        "4&#46;03&#x2E;00",  # character references
        "<![CDATA[4.03.00]]>",
        "4.03<!-- versao -->.00",  # a comment is not part of the value (nor of the hash)
        "4.03<?tiss x?>.00",
    ],
)
def test_padrao_written_with_xml_constructs_is_read_as_its_value(client, gw, written):
    raw = envelope(lot_element()).replace(
        b"<ans:Padrao>4.03.00</ans:Padrao>", f"<ans:Padrao>{written}</ans:Padrao>".encode()
    )
    assert written.encode() in raw

    answer = send_raw(client, raw, endpoint=V402)

    assert not answer.is_fault, answer.faultstring
    assert padrao_of(answer) == V403
    assert last_message(gw).version == V403


# === 3. Elements and values of one version sent under the other's Padrao =====================


def with_centro_consumo(root: etree._Element) -> etree._Element:
    """An SP/SADT guide with an `outrasDespesas` item carrying 4.03.00's `centroConsumo`
    (ct_procedimentoExecutadoOutras, "INCLUÍDO NA VERSÃO 4.03"), placed where the schema wants
    it: after procedimentosExecutados, before valorTotal."""
    guia = root.find(".//ans:guiaSP-SADT", NS)
    valor_total = guia.find("ans:valorTotal", NS)
    despesas = etree.Element(f"{{{ANS}}}outrasDespesas")
    valor_total.addprevious(despesas)
    despesa = etree.SubElement(despesas, f"{{{ANS}}}despesa")
    for name, text in (("sequencialItem", "3"), ("codigoDespesa", "03")):
        etree.SubElement(despesa, f"{{{ANS}}}{name}").text = text
    servico = etree.SubElement(despesa, f"{{{ANS}}}servicosExecutados")
    for name, text in (
        ("dataExecucao", "2026-11-03"),
        ("codigoTabela", "19"),
        ("codigoProcedimento", "90000001"),
        ("quantidadeExecutada", "1.0000"),
        ("unidadeMedida", "036"),
        ("reducaoAcrescimo", "1.00"),
        ("valorUnitario", "0.00"),
        ("valorTotal", "0.00"),
        ("centroConsumo", "5"),
        ("descricaoProcedimento", "SERINGA DESCARTAVEL"),
    ):
        etree.SubElement(servico, f"{{{ANS}}}{name}").text = text
    return rehash(root)


def test_centro_consumo_is_valid_only_in_4_03_00(client, gw):
    lot_403 = with_centro_consumo(lot_element(padrao=V403, guide_type="guiaSP-SADT"))
    lot_402 = with_centro_consumo(lot_element(padrao=V402, guide_type="guiaSP-SADT"))
    # The yardstick: the official sets disagree exactly on this element.
    assert official_schema(V403).validate(lot_403), official_schema(V403).error_log
    assert not official_schema(V402).validate(lot_402)

    # 4.02.00 posted to the 4.03.00 endpoint: checked against 4.02.00, not the endpoint's set.
    refused = send(client, lot_402, endpoint=V403)
    assert (refused.code, refused.tiss_fault) == ("5001", "SchemaInvalido"), refused.faultstring
    assert "centroConsumo" in refused.faultstring
    assert lot_count(gw) == 0

    # The same lot declaring 4.03.00, posted to the 4.02.00 endpoint: accepted.
    accepted = send(client, lot_403, endpoint=V402)
    assert not accepted.is_fault, accepted.faultstring
    assert padrao_of(accepted) == V403


@pytest.fixture
def provider_c(gw):
    """An approved provider whose CNPJ is alphanumeric (issued from July 2026)."""
    add_provider(
        gw.db,
        cnpj=PROVIDER_C.cnpj,
        code=PROVIDER_C.code,
        name=PROVIDER_C.name,
        password=PROVIDER_C.password,
    )
    return PROVIDER_C


@pytest.mark.parametrize("endpoint", VERSIONS)
def test_alphanumeric_cnpj_is_a_schema_error_in_4_02_00_whatever_the_endpoint(
    client, gw, provider_c, endpoint
):
    refused = send(client, lot_element(provider_c, padrao=V402), endpoint=endpoint)
    assert (refused.code, refused.tiss_fault) == ("5001", "SchemaInvalido"), refused.faultstring
    assert lot_count(gw) == 0

    accepted = send(client, lot_element(provider_c, padrao=V403), endpoint=endpoint)
    assert not accepted.is_fault, accepted.faultstring
    assert accepted.text("ans:cabecalho/ans:destino/ans:identificacaoPrestador/ans:CNPJ") == (
        ALNUM_CNPJ
    )


def test_4_03_00_padrao_is_unknown_to_the_4_02_00_set_and_the_reverse_is_not(client, gw):
    # 4.03.00's dm_versao lists 4.02.00; 4.02.00's does not list 4.03.00. Either way the
    # message's own Padrao picks its set, so both are accepted.
    for padrao, endpoint in ((V402, V403), (V403, V402)):
        answer = send(client, lot_element(numero=f"P{padrao}", padrao=padrao), endpoint=endpoint)
        assert not answer.is_fault, answer.faultstring
        assert padrao_of(answer) == padrao


# === 4. Received in one version, queried in the other ========================================


@pytest.mark.parametrize("lot_version", VERSIONS)
def test_lot_of_one_version_is_reported_in_the_other_after_analysis(client, gw, lot_version):
    numero = accepted_lot(client, padrao=lot_version)
    analyse(gw, numero)
    asked = other(lot_version)
    q = query(version=asked)

    status = send(client, solicitacao_status_ws(q, numero), service=STATUS)
    assert padrao_of(status) == asked
    assert status.text(".//ans:detalheLote/ans:statusProtocolo") == "5"
    assert status.text(".//ans:valorTotalLote/ans:valorGlosa") == "15.00"

    statement = send(
        client, solicitacao_demonstrativo_analise_ws(q, [numero]), service=DEMONSTRATIVO
    )
    assert padrao_of(statement) == asked
    conta = statement.payload.find(".//ans:demonstrativoAnaliseConta", NS)
    assert conta is not None, statement.raw
    assert conta.findtext("ans:valorGlosaGeral", namespaces=NS) == "15.00"


@pytest.mark.parametrize("lot_version", VERSIONS)
def test_protocol_not_found_code_follows_the_query_version(client, gw, lot_version):
    # 3291 PROTOCOLO NÃO LOCALIZADO exists from 4.03.00 only; 4.02.00 gets 5052.
    accepted_lot(client, padrao=lot_version)
    for asked, code in ((V403, "3291"), (V402, "5052")):
        answer = send(
            client,
            solicitacao_status_ws(query(version=asked), "000000000999"),
            endpoint=other(asked),
            service=STATUS,
        )
        assert (padrao_of(answer), answer.code) == (asked, code)


@pytest.mark.parametrize("where", ["guide", "item"])
def test_a_glosa_code_4_02_00_lacks_is_refused_while_4_02_00_is_accepted(client, gw, where):
    """Status answers and statements carry the code in dm_tipoGlosa of the version the provider
    asks in: 3169 (4.03.00's table 38 only) would make every 4.02.00 answer about the protocol
    invalid, so the analysis that gives it is refused, naming the version, and nothing is kept."""
    numero = accepted_lot(client)
    codes_given = {"guide_code": GLOSA_ONLY_403} if where == "guide" else {"item_code": "3169"}
    with pytest.raises(
        BackOfficeError, match=r"3169 .*versão 4\.02\.00, que o gateway ainda aceita"
    ):
        analyse(gw, numero, **codes_given)
    with gw.db.reading() as s:
        assert s.scalars(select(models.Glosa)).all() == []
        assert s.scalar(select(models.Protocol.status).where(models.Protocol.numero == numero)) == 2

    status = send(client, solicitacao_status_ws(query(version=V402), numero), service=STATUS)
    assert padrao_of(status) == V402
    assert status.text(".//ans:detalheLote/ans:statusProtocolo") == "2"


@pytest.fixture
def only_4_03_00(gw):
    """The operator has retired 4.02.00 (TISS_ACCEPTED_VERSIONS=4.03.00)."""
    retired = replace(gw, settings=replace(gw.settings, accepted_versions=(V403,)))
    return retired, Client(build_app(retired))


def test_4_03_00_only_glosa_once_4_02_00_is_retired(only_4_03_00):
    gw, client = only_4_03_00
    numero = accepted_lot(client)
    analyse(gw, numero, guide_code=GLOSA_ONLY_403, item_code="3291")
    q = query(version=V403)

    status = send(client, solicitacao_status_ws(q, numero), service=STATUS)
    codes = [e.text for e in status.payload.iterfind(".//ans:codigoGlosa", NS)]
    assert GLOSA_ONLY_403 in codes
    statement = send(
        client, solicitacao_demonstrativo_analise_ws(q, [numero]), service=DEMONSTRATIVO
    )
    conta = statement.payload.find(".//ans:demonstrativoAnaliseConta", NS)
    assert GLOSA_ONLY_403 in [e.text for e in conta.iterfind(".//ans:codigoGlosa", NS)]
    # And a 4.02.00 question is now a version the gateway does not accept.
    old = send(client, solicitacao_status_ws(query(version=V402), numero), service=STATUS)
    assert old.code == "5028"


def test_4_03_00_only_glosa_in_an_odonto_payment_statement_once_4_02_00_is_retired(only_4_03_00):
    gw, client = only_4_03_00
    numero = accepted_lot(client, guide_type="guiaOdonto")
    analyse(gw, numero, guide_code="1705", item_code=GLOSA_ONLY_403)
    change_status(gw.db, ANALISTA, numero, 3)
    pay(gw, numero)

    statement = send(
        client,
        solicitacao_demonstrativo_pagamento_ws(
            query(version=V403), data_pagamento="2026-11-30", tipo="3"
        ),
        service=DEMONSTRATIVO,
    )
    odonto = statement.payload.find(".//ans:demonstrativoPagamentoOdonto", NS)
    assert GLOSA_ONLY_403 in [e.text for e in odonto.iterfind(".//ans:codigosGlosa", NS)]


@pytest.fixture
def paid_protocol(client, gw):
    numero = accepted_lot(client)
    analyse(gw, numero)
    change_status(gw.db, ANALISTA, numero, 3)
    pay(gw, numero)
    set_operator(gw.db, REGISTRO_ANS, "Operadora Teste", cnpj=OPERATOR_ALNUM_CNPJ)
    return numero


def test_operator_with_alphanumeric_cnpj_issues_4_03_00_statements(client, gw, paid_protocol):
    q = query(version=V403)
    for element in (
        solicitacao_demonstrativo_analise_ws(q, [paid_protocol]),
        solicitacao_demonstrativo_pagamento_ws(q, data_pagamento="2026-11-30"),
    ):
        answer = send(client, element, service=DEMONSTRATIVO)
        assert padrao_of(answer) == V403
        assert answer.text(".//ans:cabecalhoDemonstrativo/ans:numeroCNPJ") == OPERATOR_ALNUM_CNPJ


@pytest.mark.parametrize("kind", ["analise", "pagamento"])
def test_operator_with_alphanumeric_cnpj_does_not_break_4_02_00_statements(
    client, gw, paid_protocol, kind
):
    q = query(version=V402)
    element = (
        solicitacao_demonstrativo_analise_ws(q, [paid_protocol])
        if kind == "analise"
        else solicitacao_demonstrativo_pagamento_ws(q, data_pagamento="2026-11-30")
    )
    answer = send(client, element, service=DEMONSTRATIVO)  # validated against 4.02.00
    assert padrao_of(answer) == V402
    # No valid 4.02.00 statement can carry it: mensagemErro 5001 saying to ask in 4.03.00.
    assert answer.code == "5001"
    assert "4.03.00" in answer.text(".//ans:mensagemErro/ans:descricaoGlosa")


def test_alphanumeric_cnpj_provider_queries_in_4_02_00_by_its_code(client, gw, provider_c):
    # The lot came in 4.03.00 under the alphanumeric CNPJ; in 4.02.00 the provider can only name
    # itself by its code (st_CNPJ has digits only there), and its login stays the CNPJ.
    numero = accepted_lot(client, provider=provider_c, guide_type="guiaConsulta")
    analyse(gw, numero)
    q = query(provider_c, V402, origem=Party("codigoPrestadorNaOperadora", provider_c.code))

    status = send(client, solicitacao_status_ws(q, numero), service=STATUS)
    assert padrao_of(status) == V402
    assert status.text(".//ans:detalheLote/ans:numeroProtocolo") == numero
    assert ALNUM_CNPJ.encode() not in status.raw

    statement = send(
        client, solicitacao_demonstrativo_analise_ws(q, [numero]), service=DEMONSTRATIVO
    )
    assert padrao_of(statement) == V402
    assert statement.payload.find(".//ans:demonstrativoAnaliseConta", NS) is not None


# === 5. The hash covers Padrao ================================================================


@pytest.mark.parametrize("padrao", VERSIONS)
def test_changing_padrao_without_rehashing_is_5014(client, gw, padrao):
    # A system "migrated" by rewriting Padrao in the XML, not in the data it hashes.
    element = lot_element(padrao=other(padrao))
    element.find("ans:cabecalho/ans:Padrao", NS).text = padrao

    answer = send(client, element, endpoint=other(padrao))

    assert (answer.code, answer.tiss_fault) == ("5014", "HashInvalido"), answer.faultstring
    assert last_message(gw).version == padrao


@pytest.mark.parametrize("padrao", VERSIONS)
def test_answer_hash_covers_its_own_padrao_in_iso_8859_1(client, gw, padrao):
    answer = send(client, lot_element(padrao=padrao), endpoint=other(padrao))
    payload = answer.payload

    texts = "".join(
        el.text or ""
        for child in payload
        if etree.QName(child).localname != "hash"
        for el in child.iter()
        if len(el) == 0
    )
    assert padrao in texts
    expected = hashlib.md5(texts.encode("iso-8859-1")).hexdigest()
    assert payload.findtext("ans:hash", namespaces=NS) == expected == leaf_md5(payload)
    # The same answer claiming the other version no longer matches its hash.
    payload.find("ans:cabecalho/ans:Padrao", NS).text = other(padrao)
    assert leaf_md5(payload) != expected


# === 6. Namespace tricks ======================================================================


def test_default_namespace_instead_of_the_ans_prefix(client, gw):
    raw = envelope(lot_element(padrao=V402)).decode("iso-8859-1")
    raw = raw.replace(f'xmlns:ans="{ANS}"', f'xmlns="{ANS}"')
    raw = raw.replace("<ans:", "<").replace("</ans:", "</")
    assert "ans:" not in raw

    answer = send_raw(client, raw.encode("iso-8859-1"))

    assert not answer.is_fault, answer.faultstring
    assert padrao_of(answer) == V402


def test_two_prefixes_for_the_tiss_namespace(client, gw):
    raw = envelope(lot_element(padrao=V402)).decode("iso-8859-1")

    def rebind(match):
        inner = match.group(1).replace("<ans:", "<b:").replace("</ans:", "</b:")
        return f'<b:cabecalho xmlns:b="{ANS}">{inner}</b:cabecalho>'

    raw = re.sub(r"<ans:cabecalho>(.*?)</ans:cabecalho>", rebind, raw, flags=re.S)
    assert "<b:Padrao>4.02.00</b:Padrao>" in raw

    answer = send_raw(client, raw.encode("iso-8859-1"))

    assert not answer.is_fault, answer.faultstring
    assert padrao_of(answer) == V402


@pytest.mark.parametrize(
    "foreign",
    [
        service_namespace(LOTE, V403),  # the WSDL's namespace, as a confused client writes it
        f"{ANS}/v40200",
        "",
    ],
)
def test_padrao_outside_the_tiss_namespace_is_no_padrao(client, gw, foreign):
    raw = envelope(lot_element(padrao=V402))
    replacement = (
        f'<x:Padrao xmlns:x="{foreign}">4.02.00</x:Padrao>'
        if foreign
        else ('<Padrao xmlns="">4.02.00</Padrao>')
    )
    raw = raw.replace(b"<ans:Padrao>4.02.00</ans:Padrao>", replacement.encode())

    answer = send_raw(client, raw)

    assert (answer.code, answer.tiss_fault) == ("5028", "VersaoInvalida"), answer.faultstring
    assert lot_count(gw) == 0


def test_request_root_in_the_wsdl_namespace_is_refused_saying_which_namespace(client, gw):
    wsdl_ns = service_namespace(LOTE, V403)
    raw = envelope(lot_element()).decode("iso-8859-1")
    raw = raw.replace("ans:loteGuiasWS", "w:loteGuiasWS").replace(
        "<w:loteGuiasWS ", f'<w:loteGuiasWS xmlns:w="{wsdl_ns}" ', 1
    )

    answer = send_raw(client, raw.encode("iso-8859-1"))

    assert (answer.code, answer.tiss_fault) == ("5001", "SchemaInvalido")
    assert wsdl_ns in answer.faultstring and ANS in answer.faultstring, answer.faultstring


@pytest.fixture
def trap_server():
    """A local HTTP server that records every request: nothing may ever reach it."""
    hits: list[str] = []

    class Trap(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            # A schema that would accept anything, were it ever used.
            self.wfile.write(
                b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
                b'targetNamespace="http://www.ans.gov.br/padroes/tiss/schemas">'
                b'<xs:element name="loteGuiasWS"/></xs:schema>'
            )

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Trap)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("padrao", VERSIONS)
def test_schema_location_elsewhere_is_never_fetched_nor_obeyed(client, gw, trap_server, padrao):
    base, hits = trap_server
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    attrs = (
        f'xmlns:xsi="{xsi}" xsi:schemaLocation="{ANS} {base}/tissV4_03_00.xsd" '
        f'xsi:noNamespaceSchemaLocation="{base}/none.xsd" '
    )
    good = envelope(lot_element(padrao=padrao)).replace(
        b"<ans:loteGuiasWS ", f"<ans:loteGuiasWS {attrs}".encode()
    )
    # The same, but schema-invalid for the official set (a guide without its beneficiary): the
    # permissive schema at schemaLocation must not be what decides.
    broken_el = lot_element(numero="L2", padrao=padrao)
    guia = broken_el.find(".//ans:guiaConsulta", NS)
    guia.remove(guia.find("ans:dadosBeneficiario", NS))
    broken = envelope(rehash(broken_el)).replace(
        b"<ans:loteGuiasWS ", f"<ans:loteGuiasWS {attrs}".encode()
    )

    accepted = send_raw(client, good, endpoint=other(padrao))
    refused = send_raw(client, broken, endpoint=other(padrao))

    assert not accepted.is_fault, accepted.faultstring
    assert padrao_of(accepted) == padrao
    assert (refused.code, refused.tiss_fault) == ("5001", "SchemaInvalido"), refused.faultstring
    assert hits == []


# === 7. Real SOAP toolkits, every service, both versions ======================================

OPERATION_INPUT = {
    LOTE: ("loteGuiasWS", "loteGuias"),
    STATUS: ("solicitacaoStatusProtocoloWS", "solicitacaoStatusProtocolo"),
    ELEGIBILIDADE: ("pedidoElegibilidadeWS", "pedidoElegibilidade"),
    DEMONSTRATIVO: ("solicitacaoDemonstrativoRetornoWS", "solicitacaoDemonstrativoRetorno"),
}


def zeep_call(client: zeep.Client, service_proxy, service: str, element, history):
    """Send `element` through zeep: zeep's own type parses it into objects, zeep serializes
    them, and the hash is recomputed over exactly what zeep puts in the Body."""
    root, body = OPERATION_INPUT[service]
    obj = client.get_element(f"{{{ANS}}}{root}").parse(element, client.wsdl.types)
    parts = {"cabecalho": obj.cabecalho, body: getattr(obj, body), "hash": "0" * 32}
    operation = f"{service}_Operation"
    rendered = client.create_message(service_proxy, operation, **parts)
    parts["hash"] = message_hash(rendered.find(f".//{{{ANS}}}{root}"))
    getattr(service_proxy, operation)(**parts)
    sent = history.last_sent["envelope"].find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    assert sent.findtext("ans:hash", namespaces=NS) == leaf_md5(sent)
    return sent


def service_element(service: str, version: str, numero: str):
    q = query(version=version)
    return {
        LOTE: lot_element(numero=f"Z{version}", padrao=version),
        STATUS: solicitacao_status_ws(q, numero),
        ELEGIBILIDADE: pedido_elegibilidade_ws(q, "00012345678901"),
        DEMONSTRATIVO: solicitacao_demonstrativo_analise_ws(q, [numero]),
    }[service]


class WireTransport(zeep.transports.Transport):
    """zeep's transport, keeping every URL it loaded and the last HTTP answer as it crossed the
    wire."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.last = None

    def load(self, url):
        self.loaded.append(url)
        return super().load(url)

    def post(self, address, message, headers):
        self.last = super().post(address, message, headers)
        return self.last


@pytest.mark.parametrize("padrao", VERSIONS)
@pytest.mark.parametrize("service", list(OPERATION_INPUT))
def test_official_4_03_00_wsdl_client_on_every_service(client, gw, server_url, service, padrao):
    # The provider's system uses the official 4.03.00 WSDL (address overridden) and sends
    # messages of either version to the 4.03.00 endpoint.
    numero = accepted_lot(client)
    transport, history = WireTransport(), HistoryPlugin()
    soap = zeep.Client(
        str(OFFICIAL_WSDL_403 / f"{service}V4_03_00.wsdl"),
        settings=ZEEP_SETTINGS,
        transport=transport,
        plugins=[history],
    )
    binding = f"{{{service_namespace(service, V403)}}}{service}_Binding"
    proxy = soap.create_service(binding, f"{server_url}/tiss/{version_slug(V403)}/{service}")

    zeep_call(soap, proxy, service, service_element(service, padrao, numero), history)

    wire = transport.last
    answer = read_answer(wire.status_code, wire.headers["Content-Type"], wire.content, V403)
    assert not answer.is_fault, answer.faultstring
    assert padrao_of(answer) == padrao


@pytest.mark.parametrize("padrao", VERSIONS)
@pytest.mark.parametrize("service", list(OPERATION_INPUT))
def test_gateway_4_02_00_wsdl_client_on_every_service(client, gw, server_url, service, padrao):
    # zeep reads the gateway's own 4.02.00 WSDL and its schemas from the gateway.
    numero = accepted_lot(client)
    transport, history = WireTransport(), HistoryPlugin()
    wsdl = f"{server_url}/tiss/v40200/{service}?wsdl"
    soap = zeep.Client(wsdl, settings=ZEEP_SETTINGS, transport=transport, plugins=[history])
    port = soap.wsdl.services[service].ports[f"{service}_Port"]
    assert port.binding_options["address"] == f"{server_url}/tiss/v40200/{service}"
    schemas = f"{server_url}/tiss/v40200/schemas/"
    assert f"{schemas}tissWebServicesV4_02_00.xsd" in transport.loaded
    assert all(url.startswith(schemas) for url in transport.loaded[1:]), transport.loaded

    zeep_call(soap, soap.service, service, service_element(service, padrao, numero), history)

    wire = transport.last
    answer = read_answer(wire.status_code, wire.headers["Content-Type"], wire.content, V402)
    assert not answer.is_fault, answer.faultstring
    assert padrao_of(answer) == padrao


def test_a_lot_posted_under_a_version_not_published_here_is_read_by_its_padrao(only_4_03_00):
    """README: the URL's version only picks the WSDL. A provider still configured with the URL
    of an old or retired version gets a TISS answer by its message's Padrao, not an HTTP 404."""
    gw, client = only_4_03_00
    current = send(client, lot_element(padrao=V403), endpoint="4.01.00")
    assert current.protocol and padrao_of(current) == V403
    retired = send(client, lot_element(numero="LVOLD", padrao=V402), endpoint="4.02.00")
    assert (retired.code, retired.tiss_fault) == ("5028", "VersaoInvalida")
    assert lot_count(gw) == 1
