"""Dates and times at the edges a real operator meets: Brazilian civil time (America/Sao_Paulo,
UTC-3 all year since 2019) against the UTC the database keeps.

Attacked: a lot received at the last and the first second of a Brasília day (02:59:59 and
03:00:00 UTC) and how its day reads in the receipt, the status query, the statements, the
portal's listings and its PDF and Excel exports; payments on 29 February 2028 and on the first
of March under competência 202802; a beneficiary whose card or coverage ends today or tomorrow
in Brasília while UTC is already the next day, and one joining tomorrow; the sender's
dataRegistroTransacao at the exact second Fernando de Noronha (UTC-2) turns the day, and
horaRegistroTransacao/dataRegistroTransacao values the XSD does or does not take (24:00:00,
23:59:60, 2026-02-29, 2028-02-29); the portal's idle timeout and "último acesso" across
midnight, the 90-day access-log retention to the second; and a server whose TZ is Asia/Tokyo.

What a user checks: the Brazilian day and hour on every answer and page, the right table-38
code (never a stack trace), and every SOAP answer valid under the OFFICIAL XSD of its version
(tests/tissclient.py validates each one and recomputes its hash)."""

import io
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from gateway.services.accounts.access_log import prune
from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.tiss.namespaces import q
from gateway.tiss.samples import (
    SampleQuery,
    lote_guias_ws,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_demonstrativo_pagamento_ws,
    solicitacao_status_ws,
)
from storage import models
from storage.portal_models import AccessLogEntry
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.test_query_extremes import analyse, pay
from tests.tissclient import NS, SoapAnswer, leaf_md5, post, sample_lot, sample_query

BRASILIA = ZoneInfo("America/Sao_Paulo")
AREA = pa.AREA
STATUS = "tissSolicitacaoStatusProtocolo"
ELEGIBILIDADE = "tissVerificaElegibilidade"
DEMONSTRATIVO = "tissSolicitacaoDemonstrativoRetorno"

# The last and the first second of 21/22 November 2026 in Brasília, as UTC instants.
LAST_SECOND = datetime(2026, 11, 22, 2, 59, 59, tzinfo=UTC)  # 21/11 23:59:59 in Brasília
FIRST_SECOND = datetime(2026, 11, 22, 3, 0, 0, tzinfo=UTC)  # 22/11 00:00:00 in Brasília


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


@dataclass
class Clock:
    now: datetime | None


@pytest.fixture
def clock(gw, monkeypatch) -> Clock:
    """The gateway's clock (Gateway.utcnow: SOAP services and the portal alike), set by the test."""
    moment = Clock(LAST_SECOND)
    # None: the real clock again.
    monkeypatch.setattr(gw, "utcnow", lambda: moment.now or datetime.now(UTC))
    return moment


@pytest.fixture
def tokyo(monkeypatch):
    """A server whose TZ is Asia/Tokyo (UTC+9): naive local clocks would be 12 hours off
    Brasília. time.tzset() is called again after the variable is restored."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    assert time.localtime(0).tm_hour == 9
    yield
    monkeypatch.undo()
    time.tzset()


# --- the provider's side ------------------------------------------------------------------------


def query(when: datetime = datetime(2026, 11, 21, 10, 30)) -> SampleQuery:
    return sample_query(PROVIDER_A, registro_ans=REGISTRO_ANS, when=when)


def lot(numero: str, *, when: datetime = datetime(2026, 11, 21, 10, 30), count: int = 1):
    return lote_guias_ws(
        sample_lot(
            PROVIDER_A,
            numero,
            count,
            registro_ans=REGISTRO_ANS,
            guide_type="guiaSP-SADT",
            when=when,
        )
    )


def accepted(answer: SoapAnswer) -> str:
    assert not answer.is_fault, answer.faultstring
    assert answer.code is None, answer.text(".//ans:descricaoGlosa")
    assert answer.protocol
    return answer.protocol


def header(answer: SoapAnswer, name: str) -> str:
    return answer.text(f"ans:cabecalho/ans:identificacaoTransacao/ans:{name}")


def texts(answer: SoapAnswer, path: str) -> list[str]:
    return [el.text for el in answer.payload.iterfind(path, NS)]


def with_header_value(message, name: str, value: str):
    """The message as a sender's system that wrote `value` in its cabecalho would send it: the
    hash recomputed by the tests' own implementation."""
    message.find(f"{q('cabecalho')}/{q('identificacaoTransacao')}/{q(name)}").text = value
    message.find(q("hash")).text = leaf_md5(message)
    return message


def received_at(gw, numero: str) -> datetime:
    with gw.db.reading() as s:
        protocol = s.scalar(select(models.Protocol).where(models.Protocol.numero == numero))
        return protocol.lot.received_at


def login_portal(client, gw=None):
    """The provider's portal login. With `gw`, the password counts as changed at the gateway's
    clock: a test set in 2028 is past the 180-day change the policy rightly demands."""
    if gw is not None:
        with gw.db.transaction() as s:
            account = s.scalar(
                select(models.Account).where(models.Account.login == PROVIDER_A.cnpj)
            )
            account.password_changed_at = gw.utcnow()
    response = ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    assert response.status_code == 302, ps.text(response)[:300]
    return response


def brazilian(moment: datetime) -> datetime:
    return moment.astimezone(BRASILIA)


# --- a lot at the edges of the Brazilian day ------------------------------------------------------


@pytest.mark.parametrize("instant", [LAST_SECOND, FIRST_SECOND], ids=["23h59m59s", "00h00m00s"])
def test_a_lot_is_dated_its_brazilian_day_in_every_answer_page_and_document(
    client, gw, clock, instant
):
    """One second apart, two Brazilian days: the receipt, the status query, both statements, the
    portal's listings, its protocol page and the PDFs say the same day, Brasília's."""
    clock.now = instant
    local = brazilian(instant)
    iso, shown = local.date().isoformat(), local.strftime("%d/%m/%Y")
    numero = accepted(post(client, lot("BORDA")))
    receipt = post(client, lot("BORDA"))  # a resend gets the original receipt, same day
    assert receipt.protocol == numero
    for answer in (post(client, lot("BORDA")), receipt):
        assert answer.text(".//ans:protocoloRecebimento/ans:dataEnvioLote") == iso
        assert header(answer, "dataRegistroTransacao") == iso
        assert header(answer, "horaRegistroTransacao") == local.strftime("%H:%M:%S")
    assert received_at(gw, numero) == instant

    status = post(client, solicitacao_status_ws(query(), numero), service=STATUS)
    assert status.text(".//ans:detalheLote/ans:dataEnvioLote") == iso
    analyse(gw, numero, now=instant)
    pay(gw, [numero], when=local.date(), competencia=local.strftime("%Y%m"))
    analise = post(
        client, solicitacao_demonstrativo_analise_ws(query(), [numero]), service=DEMONSTRATIVO
    )
    assert analise.text(".//ans:dadosProtocolo/ans:dataProtocolo") == iso
    assert analise.text(".//ans:cabecalhoDemonstrativo/ans:dataEmissao") == iso
    pagamento = post(
        client,
        solicitacao_demonstrativo_pagamento_ws(query(), data_pagamento=iso),
        service=DEMONSTRATIVO,
    )
    assert texts(pagamento, ".//ans:relacaoProtocolos/ans:numeroProtocolo") == [numero]
    assert pagamento.text(".//ans:relacaoProtocolos/ans:dataProtocolo") == iso

    login_portal(client)
    stamp = local.strftime("%d/%m/%Y %H:%M")
    assert stamp in ps.text(client.get(f"{AREA}/arquivos"))
    assert stamp in ps.text(client.get(f"{AREA}/status", query_string={"protocolo": numero}))
    capa = ps.text(client.get(f"{AREA}/capa-de-lote"))
    assert shown in capa
    other_day = (local + timedelta(days=1 if instant == LAST_SECOND else -1)).strftime("%d/%m/%Y")
    assert other_day not in capa
    capa_pdf = pa.pdf_text(client.get(f"{AREA}/capa-de-lote/{numero}.pdf").data)
    assert stamp in capa_pdf
    statement = client.get(
        f"{AREA}/demonstrativos/pagamento",
        query_string={"tipo": "medico", "periodo": "data", "data": shown},
    )
    assert statement.status_code == 200, ps.text(statement)[:300]
    assert numero in pa.pdf_text(statement.data)


def test_the_workbooks_record_when_they_were_made_as_the_instant_it_was(client, gw, clock):
    clock.now = LAST_SECOND
    numero = accepted(post(client, lot("XLS")))
    analyse(gw, numero, now=LAST_SECOND)
    login_portal(client)
    for kind in ("analitico", "sintetico"):
        response = client.get(f"{AREA}/relatorios/{numero}/{kind}.xlsx")
        assert response.status_code == 200
        created = load_workbook(io.BytesIO(response.data)).properties.created
        # openpyxl reads the W3CDTF "…Z" value as a naive UTC datetime.
        assert created.replace(tzinfo=UTC) == LAST_SECOND, (kind, created)


# --- 29 February 2028 and the competência around it -----------------------------------------------


def test_payments_on_29_february_2028_and_on_1_march_under_competencia_202802(client, gw, clock):
    """February's production paid on its leap day and, just after midnight, on 1 March: both
    belong to competência 202802; each date finds only its own payment; the portal reads
    29/02/2028 and refuses 29/02/2027 without an error page."""
    clock.now = datetime(2028, 3, 1, 2, 30, tzinfo=UTC)  # 29/02/2028 23:30 in Brasília
    leap = accepted(post(client, lot("BISSEXTO", when=datetime(2028, 2, 29, 23, 30))))
    clock.now = datetime(2028, 3, 1, 3, 30, tzinfo=UTC)  # 01/03/2028 00:30 in Brasília
    march = accepted(post(client, lot("MARCO", when=datetime(2028, 3, 1, 0, 30))))
    for numero in (leap, march):
        analyse(gw, numero, now=clock.now)
    pay(gw, [leap], when=date(2028, 2, 29), competencia="202802")
    pay(gw, [march], when=date(2028, 3, 1), competencia="202802")

    def statement(**period) -> SoapAnswer:
        message = solicitacao_demonstrativo_pagamento_ws(
            query(datetime(2028, 3, 1, 0, 30)), **period
        )
        return post(client, message, service=DEMONSTRATIVO)

    february = statement(competencia="202802")
    assert texts(february, ".//ans:dadosPagamento/ans:dataPagamento") == [
        "2028-02-29",
        "2028-03-01",
    ]
    assert texts(february, ".//ans:relacaoProtocolos/ans:numeroProtocolo") == [leap, march]
    assert texts(february, ".//ans:relacaoProtocolos/ans:dataProtocolo") == [
        "2028-02-29",
        "2028-03-01",
    ]
    by_leap_day = statement(data_pagamento="2028-02-29")
    assert texts(by_leap_day, ".//ans:relacaoProtocolos/ans:numeroProtocolo") == [leap]
    by_first = statement(data_pagamento="2028-03-01")
    assert texts(by_first, ".//ans:relacaoProtocolos/ans:numeroProtocolo") == [march]
    # March's own competência has nothing paid yet, and March has only begun in Brasília.
    nothing = statement(competencia="202803")
    assert nothing.payload.find(".//ans:demonstrativoPagamento", NS) is None
    assert nothing.text(".//ans:situacaoDemonstrativoRetorno/ans:situacaoDemonstrativo") == "2"
    assert nothing.text(".//ans:dataSituacaoDemonstrativo") == "2028-03-01"

    login_portal(client, gw)
    pdf = client.get(
        f"{AREA}/demonstrativos/pagamento",
        query_string={"tipo": "medico", "periodo": "data", "data": "29/02/2028"},
    )
    assert pdf.status_code == 200, ps.text(pdf)[:300]
    text = pa.pdf_text(pdf.data)
    assert "29/02/2028" in text and leap in text and march not in text
    by_month = client.get(
        f"{AREA}/demonstrativos/pagamento",
        query_string={"tipo": "medico", "periodo": "competencia", "competencia": "02/2028"},
    )
    assert by_month.status_code == 200, ps.text(by_month)[:300]
    assert leap in pa.pdf_text(by_month.data) and march in pa.pdf_text(by_month.data)
    no_such_day = client.get(
        f"{AREA}/demonstrativos/pagamento",
        query_string={"tipo": "medico", "periodo": "data", "data": "29/02/2027"},
    )
    assert no_such_day.status_code == 422
    assert "Informe a data do pagamento" in ps.text(no_such_day)


# --- eligibility at the turn of the Brazilian day -------------------------------------------------

TODAY = date(2026, 11, 21)  # Brasília's day at LAST_SECOND; UTC's is already the 22nd


def beneficiary(card: str, *, joined=date(2020, 1, 1), left=None, valid=date(2030, 1, 1)):
    return BeneficiaryData(card, f"Beneficiário {card}", "Ouro", "ativo", joined, left, valid)


def eligibility(client, card: str) -> tuple[str, list[str]]:
    answer = post(client, pedido_elegibilidade_ws(query(), card), service=ELEGIBILIDADE)
    assert not answer.is_fault, answer.faultstring
    return (
        answer.text(".//ans:respostaSolicitacao"),
        texts(answer, ".//ans:motivosNegativa/ans:motivoNegativa/ans:codigoGlosa"),
    )


def portal_verdict(client, card: str) -> str:
    page = ps.text(ps.post(client, f"{AREA}/elegibilidade", {"carteira": card}))
    return "Inelegível" if "<strong>Inelegível</strong>" in page else "Elegível"


@pytest.mark.parametrize(
    "instant, expected",
    [
        (
            LAST_SECOND,
            {"VALIDA-HOJE": ("S", []), "SAI-HOJE": ("S", []), "SAIU-ONTEM": ("N", ["1006"])},
        ),
        (
            FIRST_SECOND,
            {
                "VALIDA-HOJE": ("N", ["1017"]),
                "SAI-HOJE": ("N", ["1006"]),
                "SAIU-ONTEM": ("N", ["1006"]),
            },
        ),
    ],
    ids=["23h59m59s", "00h00m00s"],
)
def test_card_validity_and_leaving_day_end_at_brasilia_midnight_to_the_second(
    client, gw, clock, instant, expected
):
    """The card valid until today and the beneficiary leaving today are covered until the last
    second of Brasília's day, though UTC turned the day three hours before; the web service and
    the portal's Elegibilidade agree."""
    upsert_beneficiaries(
        gw.db,
        [
            beneficiary("VALIDA-HOJE", valid=TODAY),
            beneficiary("SAI-HOJE", left=TODAY),
            beneficiary("SAIU-ONTEM", left=TODAY - timedelta(days=1)),
        ],
    )
    clock.now = instant
    login_portal(client)
    for card, (answer, reasons) in expected.items():
        assert eligibility(client, card) == (answer, reasons), card
        assert portal_verdict(client, card) == ("Elegível" if answer == "S" else "Inelegível")


def test_a_beneficiary_joining_tomorrow_is_not_covered_yet(client, gw, clock):
    # 23:59:59 in Brasília: UTC is already on the joining day, Brazil is not.
    upsert_beneficiaries(
        gw.db,
        [
            beneficiary("ENTRA-AMANHA", joined=TODAY + timedelta(days=1)),
            beneficiary("ENTRA-MES-QUE-VEM", joined=date(2026, 12, 1)),
        ],
    )
    clock.now = LAST_SECOND
    assert eligibility(client, "ENTRA-AMANHA") == ("N", ["3308"])
    assert eligibility(client, "ENTRA-MES-QUE-VEM") == ("N", ["3308"])
    clock.now = FIRST_SECOND
    assert eligibility(client, "ENTRA-AMANHA") == ("S", [])


def test_before_joining_in_4_02_00_is_its_own_code(client, gw, clock):
    """4.02.00's table 38 has no 3308: the same refusal is its 1005, so that the answer stays
    valid under the official 4.02.00 schema (post() validates it)."""
    upsert_beneficiaries(gw.db, [beneficiary("ENTRA-AMANHA", joined=TODAY + timedelta(days=1))])
    clock.now = LAST_SECOND
    asked = replace(query(), version="4.02.00")
    answer = post(
        client,
        pedido_elegibilidade_ws(asked, "ENTRA-AMANHA"),
        service=ELEGIBILIDADE,
        version="4.02.00",
    )
    assert answer.text(".//ans:respostaSolicitacao") == "N"
    assert texts(answer, ".//ans:motivoNegativa/ans:codigoGlosa") == ["1005"]


# --- the sender's date and hour -------------------------------------------------------------------


@pytest.mark.parametrize(
    "instant, code",
    [
        # 23:59:59 in Fernando de Noronha (UTC-2): its tomorrow is the 22nd, so the 23rd is 5025.
        (datetime(2026, 11, 22, 1, 59, 59, tzinfo=UTC), "5025"),
        # One second later Noronha's day is the 22nd, and a clock a day fast writes the 23rd.
        (datetime(2026, 11, 22, 2, 0, 0, tzinfo=UTC), None),
    ],
    ids=["noronha-23h59m59s", "noronha-00h00m00s"],
)
def test_a_registration_day_ahead_is_judged_at_noronhas_midnight_to_the_second(
    client, gw, clock, instant, code
):
    clock.now = instant
    answer = post(client, lot("ADIANTADO", when=datetime(2026, 11, 23, 0, 0, 1)))
    assert not answer.is_fault, answer.faultstring
    assert answer.code == code, answer.text(".//ans:descricaoGlosa")
    if code:
        assert answer.protocol is None
        assert "2026-11-23" in answer.text(".//ans:mensagemErro/ans:descricaoGlosa")
        with gw.db.reading() as s:
            assert s.scalar(select(func.count()).select_from(models.Lot)) == 0
    else:
        assert answer.protocol


@pytest.mark.parametrize(
    "name, value",
    [
        ("dataRegistroTransacao", "2026-02-29"),  # no such day: 2026 is not a leap year
        ("dataRegistroTransacao", "2100-02-29"),  # nor 2100 (a century not divisible by 400)
        ("horaRegistroTransacao", "23:59:60"),  # xs:time has no leap second
        ("horaRegistroTransacao", "24:00:01"),
    ],
)
def test_dates_and_hours_the_schema_refuses_are_a_schema_fault_naming_them(
    client, gw, clock, name, value
):
    clock.now = datetime(2026, 11, 21, 13, 30, tzinfo=UTC)
    for service, message in (
        ("tissLoteGuias", lot("SEM-DIA")),
        (STATUS, solicitacao_status_ws(query(), "1")),
        (ELEGIBILIDADE, pedido_elegibilidade_ws(query(), "00012345678901")),
    ):
        answer = post(client, with_header_value(message, name, value), service=service)
        assert answer.tiss_fault == "SchemaInvalido", (service, answer.faultstring)
        assert answer.faultcode.endswith("Client"), answer.faultcode
        assert value in answer.faultstring, answer.faultstring
    with gw.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(models.Lot)) == 0


def test_midnight_written_as_24_00_00_is_read_as_a_valid_hour(client, gw, clock):
    """xs:time takes 24:00:00 (the end of the day): a sender that writes it gets a receipt or a
    body answer with 5026, never a fault or a server error; the archive keeps it as sent."""
    clock.now = datetime(2026, 11, 21, 13, 30, tzinfo=UTC)
    message = with_header_value(lot("VINTE-QUATRO"), "horaRegistroTransacao", "24:00:00")
    answer = post(client, message)
    assert not answer.is_fault, answer.faultstring
    assert answer.protocol or answer.code == "5026", answer.text(".//ans:descricaoGlosa")
    with gw.db.reading() as s:
        archived = s.scalars(select(models.Message).order_by(models.Message.id.desc())).first()
        assert b"<ans:horaRegistroTransacao>24:00:00<" in archived.raw_request


def test_29_february_2028_is_a_registration_day_like_any_other(client, gw, clock):
    clock.now = datetime(2028, 2, 29, 13, 30, tzinfo=UTC)
    answer = post(client, lot("BISSEXTO", when=datetime(2028, 2, 29, 10, 30)))
    accepted(answer)
    assert answer.text(".//ans:protocoloRecebimento/ans:dataEnvioLote") == "2028-02-29"


# --- the portal's sessions and access log across midnight -----------------------------------------


def test_idle_timeout_ultimo_acesso_and_access_log_across_midnight(client, gw, clock):
    """Logged in at 23:50 in Brasília, active at 00:19:59, idle 30 minutes and 1 second: the
    session ends. The next login shows as "último acesso" the previous login, 23:50 of the day
    before in Brasília's time, and Minha conta lists the log in Brasília's time."""
    clock.now = datetime(2026, 11, 22, 2, 50, tzinfo=UTC)  # 21/11 23:50 in Brasília
    login_portal(client)
    clock.now = datetime(2026, 11, 22, 3, 19, 59, tzinfo=UTC)  # 29m59s later: still in
    assert client.get(f"{AREA}/").status_code == 200
    clock.now += timedelta(minutes=30, seconds=1)  # 30m01s after the last request
    expired = client.get(f"{AREA}/")
    assert expired.status_code == 302, expired.status_code
    assert "login" in expired.headers["Location"] or "entrar" in expired.headers["Location"]
    with gw.db.reading() as s:
        events = s.scalars(select(AccessLogEntry.event).order_by(AccessLogEntry.id)).all()
    assert "session_expired" in events

    clock.now += timedelta(minutes=1)  # 22/11 00:51 in Brasília
    login_portal(client)
    landing = ps.text(client.get(f"{AREA}/"))
    assert "Último acesso em 21/11/2026 às 23:50" in landing
    account = ps.text(client.get("/portal/conta/"))
    assert "21/11/2026 23:50" in account and "22/11/2026 00:51" in account
    assert "22/11/2026 02:50" not in account  # the UTC wall clock of the first login


def test_access_log_is_kept_exactly_90_days(client, gw, clock):
    login_at = datetime(2026, 11, 22, 2, 50, tzinfo=UTC)  # 23:50 in Brasília, UTC's next day
    clock.now = login_at
    login_portal(client)

    def kept() -> int:
        with gw.db.reading() as s:
            return s.scalar(
                select(func.count())
                .select_from(AccessLogEntry)
                .where(AccessLogEntry.occurred_at == login_at)
            )

    assert kept() >= 1
    before = kept()
    prune(gw.db, login_at + timedelta(days=90))
    assert kept() == before, "an entry exactly 90 days old is still within the 90 days"
    prune(gw.db, login_at + timedelta(days=90, seconds=1))
    assert kept() == 0


# --- a server in another zone ---------------------------------------------------------------------


def test_a_server_whose_tz_is_tokyo_writes_the_same_dates(client, gw, clock, tokyo):
    """TZ=Asia/Tokyo is 12 hours ahead of Brasília: at 23:59:59 in Brasília it is already
    11:59:59 of the next day in Tokyo. Nothing the gateway writes may follow the server's zone."""
    clock.now = LAST_SECOND
    numero = accepted(answer := post(client, lot("TOQUIO")))
    assert answer.text(".//ans:protocoloRecebimento/ans:dataEnvioLote") == "2026-11-21"
    assert header(answer, "horaRegistroTransacao") == "23:59:59"
    assert received_at(gw, numero) == LAST_SECOND
    status = post(client, solicitacao_status_ws(query(), numero), service=STATUS)
    assert status.text(".//ans:detalheLote/ans:dataEnvioLote") == "2026-11-21"
    login_portal(client)
    assert "21/11/2026 23:59" in ps.text(client.get(f"{AREA}/arquivos"))
    assert "21/11/2026 23:59" in pa.pdf_text(client.get(f"{AREA}/capa-de-lote/{numero}.pdf").data)

    # And with the real clock: what is stored is the UTC instant, not Tokyo's wall clock.
    clock.now = None
    before = datetime.now(UTC)
    numero = accepted(post(client, lot("TOQUIO-AGORA")))
    after = datetime.now(UTC)
    assert before - timedelta(seconds=1) <= received_at(gw, numero) <= after + timedelta(seconds=1)
    with gw.db.reading() as s:
        entry = s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first()
    assert entry.occurred_at == LAST_SECOND  # the portal login, at the frozen instant
