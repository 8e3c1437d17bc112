"""Protocol status, eligibility and statements over SOAP: what a provider sees, and that it never
sees another provider's data. Every answer is validated against the official XSD."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.tiss.samples import (
    SampleQuery,
    lote_guias_ws,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_demonstrativo_pagamento_ws,
    solicitacao_status_ws,
)
from storage import models
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.tissclient import NS, post, sample_lot, sample_query


def query_for(provider, **kw) -> SampleQuery:
    return sample_query(provider, **{"registro_ans": REGISTRO_ANS, **kw})


def send_lot(client, provider, numero, count=2, guide_type="guiaSP-SADT"):
    lot = sample_lot(provider, numero, count, registro_ans=REGISTRO_ANS, guide_type=guide_type)
    return post(client, lote_guias_ws(lot)).protocol


def status_of(client, provider, numero, service="tissSolicitacaoStatusProtocolo", **kw):
    return post(client, solicitacao_status_ws(query_for(provider, **kw), numero), service=service)


def analyse(gw, numero, *, item_glosa=("1801", Decimal("20.00")), guide_glosa=None, status=5):
    """What the operator's analysis writes (the back office does this through its own API)."""
    now = datetime.now(UTC)
    with gw.db.transaction() as s:
        protocol = s.scalar(select(models.Protocol).where(models.Protocol.numero == numero))
        for n, guide in enumerate(protocol.lot.guides):
            glosa_total = Decimal("0.00")
            for item in guide.items:
                item.valor_processado = item.valor_informado
                item.valor_liberado = item.valor_informado
                if n == 0 and item.sequencial == 1 and item_glosa:
                    code, value = item_glosa
                    item.valor_liberado -= value
                    glosa_total += value
                    s.add(
                        models.Glosa(
                            protocol_id=protocol.id,
                            guide_id=guide.id,
                            item_id=item.id,
                            codigo=code,
                            valor=value,
                            recorded_at=now,
                            actor="analista",
                        )
                    )
            if n == 1 and guide_glosa:
                code, value = guide_glosa
                glosa_total += value
                s.add(
                    models.Glosa(
                        protocol_id=protocol.id,
                        guide_id=guide.id,
                        codigo=code,
                        valor=value,
                        recorded_at=now,
                        actor="analista",
                    )
                )
            guide.valor_processado = guide.valor_informado
            guide.valor_liberado = guide.valor_informado - glosa_total
        protocol.analyzed_at = now
        protocol.status = status
        s.add(
            models.ProtocolStatusChange(
                protocol_id=protocol.id,
                status=status,
                changed_at=now,
                actor="analista",
                reason="análise",
            )
        )


def pay(gw, numero, provider_code, when=date(2026, 11, 30), competencia="202611"):
    now = datetime.now(UTC)
    with gw.db.transaction() as s:
        protocol = s.scalar(select(models.Protocol).where(models.Protocol.numero == numero))
        provider = s.scalar(
            select(models.Provider).where(models.Provider.codigo_na_operadora == provider_code)
        )
        payment = models.Payment(
            provider_id=provider.id,
            data_pagamento=when,
            competencia=competencia,
            forma_pagamento="1",
            banco="341",
            agencia="1234",
            conta="99887",
            recorded_at=now,
            actor="tesouraria",
        )
        payment.lines = [
            models.PaymentLine(protocol_id=protocol.id, guide_id=g.id, valor_pago=g.valor_liberado)
            for g in protocol.lot.guides
        ]
        payment.adjustments = [
            models.PaymentAdjustment(
                indicador="1", tipo="02", descricao="ISS", valor=Decimal("10.00")
            )
        ]
        s.add(payment)
        protocol.status = 6


# --- status ----------------------------------------------------------------------------------


def test_status_of_a_received_protocol(client, gw):
    numero = send_lot(client, PROVIDER_A, "S1", count=3)
    answer = status_of(client, PROVIDER_A, numero)
    assert answer.text(".//ans:detalheLote/ans:statusProtocolo") == "1"
    assert answer.text(".//ans:detalheLote/ans:numeroProtocolo") == numero
    assert answer.text(".//ans:detalheLote/ans:numeroLote") == "S1"
    assert len(answer.payload.findall(".//ans:guiasMedicas", NS)) == 3
    assert answer.text(".//ans:valorTotalLote/ans:valorLiberado") == "0.00"


def test_status_after_analysis_shows_glosas_and_values(client, gw):
    numero = send_lot(client, PROVIDER_A, "S2", count=2)  # 2 guides of 150.00
    analyse(gw, numero, guide_glosa=("1705", Decimal("30.00")))
    answer = status_of(client, PROVIDER_A, numero)
    assert answer.text(".//ans:statusProtocolo") == "5"
    assert answer.text(".//ans:valorTotalLote/ans:valorProcessado") == "300.00"
    assert answer.text(".//ans:valorTotalLote/ans:valorGlosa") == "50.00"
    assert answer.text(".//ans:valorTotalLote/ans:valorLiberado") == "250.00"
    codes = [
        e.text
        for e in answer.payload.iterfind(".//ans:glosaGuia/ans:motivoGlosa/ans:codigoGlosa", NS)
    ]
    assert codes == ["1801", "1705"]


def test_unknown_and_other_providers_protocols_are_answered_alike(client, gw):
    numero_b = send_lot(client, PROVIDER_B, "SB")
    other = status_of(client, PROVIDER_A, numero_b)
    unknown = status_of(client, PROVIDER_A, "999999999999")
    for answer in (other, unknown):
        assert answer.code == "3291"
        assert answer.payload.find(".//ans:situacaoDoProtocolo", NS) is None
    assert other.text(".//ans:mensagemErro/ans:descricaoGlosa") == unknown.text(
        ".//ans:mensagemErro/ans:descricaoGlosa"
    )
    assert b"SB" not in other.raw and PROVIDER_B.code.encode() not in other.raw


def test_status_query_naming_another_provider_in_the_body_is_refused(client, gw):
    answer = status_of(client, PROVIDER_A, "1", codigo_prestador=PROVIDER_B.code)
    assert answer.tiss_fault == "RemetenteInvalido"


def test_status_query_goes_through_the_same_checks(client, gw):
    assert status_of(client, PROVIDER_A, "1", senha_md5="0" * 32).tiss_fault == "LoginInvalido"
    assert (
        status_of(client, PROVIDER_A, "1", registro_ans="999999").tiss_fault
        == "DestinatarioInvalido"
    )
    assert status_of(client, PROVIDER_A, "1", version="4.02.00").tiss_fault is None


def test_status_message_posted_to_lot_service_is_refused(client, gw):
    answer = status_of(client, PROVIDER_A, "1", service="tissLoteGuias")
    assert answer.tiss_fault == "SchemaInvalido" and answer.code == "5001"


def _driver_autocommit(dbapi_connection) -> bool:
    """psycopg says so itself; Python 3.11's sqlite3 is in autocommit when isolation_level is
    None."""
    if hasattr(dbapi_connection, "autocommit"):
        return dbapi_connection.autocommit
    return dbapi_connection.isolation_level is None


def _statements(gw):
    """Records (kind, autocommit) of each statement sent; a SELECT of nextval() is kind NEXTVAL."""
    from sqlalchemy import event

    seen: list[tuple[str, bool]] = []

    def before(conn, _cursor, statement, *_args):
        kind = "NEXTVAL" if statement.startswith("SELECT nextval(") else statement.split()[0]
        seen.append((kind.upper(), _driver_autocommit(conn.connection)))

    event.listen(gw.db.engine, "before_cursor_execute", before)
    return seen, lambda: event.remove(gw.db.engine, "before_cursor_execute", before)


def test_queries_run_without_a_transaction_and_lots_inside_one(client, gw):
    """A status query only reads, then writes its archive record: it spares the BEGIN and COMMIT
    round trips. A lot, which writes many rows, is stored in one transaction."""
    seen, stop = _statements(gw)
    try:
        numero = send_lot(client, PROVIDER_A, "T1")
        lot_statements = list(seen)
        seen.clear()
        assert status_of(client, PROVIDER_A, numero).protocol == numero
        query_statements = [s for s in seen if s[0] != "NEXTVAL"]
        seen.clear()
        # The pooled connection the query used goes back to transactions for the next lot.
        send_lot(client, PROVIDER_A, "T1B")
    finally:
        stop()
    assert {autocommit for _, autocommit in lot_statements} == {False}
    # Account, protocol, then the archive record: written once with its answer where the id can
    # be taken first (PostgreSQL), else inserted for its id and completed by an UPDATE.
    written = ["INSERT"] if gw.db.message_ids is not None else ["INSERT", "UPDATE"]
    assert [kind for kind, _ in query_statements] == ["SELECT", "SELECT", *written]
    assert {autocommit for _, autocommit in query_statements} == {True}
    assert seen and {autocommit for _, autocommit in seen} == {False}
    with gw.db.reading() as s:
        record = s.scalars(
            select(models.Message).where(models.Message.service == "tissSolicitacaoStatusProtocolo")
        ).one()
    assert record.outcome == "accepted" and record.protocol_id is not None
    assert b"situacaoProtocoloWS" in record.raw_response


def test_record_ids_are_taken_ahead_and_keep_the_arrival_order(client, gw, monkeypatch):
    """PostgreSQL: a record's INSERT reserves the next id for the process's next record, so in
    steady use no statement is spent on ids; a reserved id left unused for a while is dropped
    (listings sort by id, so ids must follow the order messages arrive in)."""
    from storage import ids

    if gw.db.message_ids is None:
        pytest.skip("SQLite has no sequence: the record is inserted for its id (test above)")
    numero = send_lot(client, PROVIDER_A, "T3")
    monkeypatch.setattr(ids, "FRESH_SECONDS", 60.0)  # a slow test machine is still "steady use"
    seen, stop = _statements(gw)
    try:
        answers = [status_of(client, PROVIDER_A, numero) for _ in range(3)]
        steady = list(seen)
        seen.clear()
        monkeypatch.setattr(ids, "FRESH_SECONDS", 0.0)  # whatever was held is now stale
        answers.append(status_of(client, PROVIDER_A, numero))
        after_a_pause = list(seen)
    finally:
        stop()
    assert "NEXTVAL" not in [kind for kind, _ in steady]
    assert [kind for kind, _ in after_a_pause] == ["SELECT", "SELECT", "NEXTVAL", "INSERT"]
    sequencial = [int(a.text(".//ans:sequencialTransacao")) for a in answers]
    assert sequencial == sorted(sequencial) and len(set(sequencial)) == 4
    with gw.db.reading() as s:
        stored = s.scalars(
            select(models.Message.id)
            .where(models.Message.service == "tissSolicitacaoStatusProtocolo")
            .order_by(models.Message.id)
        ).all()
    assert stored == sequencial  # each answer's sequencialTransacao is its record's id


def test_query_failing_after_its_record_was_written_keeps_one_record(client, gw, monkeypatch):
    """Without a transaction nothing rolls the record back: the failure rewrites it."""
    from sqlalchemy import func

    from gateway.services import status

    numero = send_lot(client, PROVIDER_A, "T2")

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(status, "situacao_protocolo", boom)
    with gw.db.reading() as s:
        before = s.scalar(select(func.count()).select_from(models.Message))
    answer = status_of(client, PROVIDER_A, numero)
    assert answer.tiss_fault == "ErroInesperadoServidor"
    assert "disk on fire" not in answer.faultstring
    with gw.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(models.Message)) == before + 1
        record = s.scalars(select(models.Message).order_by(models.Message.id.desc())).first()
    assert record.service == "tissSolicitacaoStatusProtocolo"
    assert record.outcome == "error" and record.fault == "ErroInesperadoServidor"
    assert b"ErroInesperadoServidor" in record.raw_response
    assert record.raw_request and record.login == PROVIDER_A.cnpj


# --- eligibility -----------------------------------------------------------------------------


@pytest.fixture
def beneficiaries(gw):
    upsert_beneficiaries(
        gw.db,
        [
            BeneficiaryData(
                "1111", "Maria Ativa", "Ouro", "ativo", date(2020, 1, 1), None, date(2030, 1, 1)
            ),
            BeneficiaryData(
                "2222",
                "João Desligado",
                "Prata",
                "cancelado",
                date(2019, 1, 1),
                date(2025, 1, 31),
                date(2025, 1, 31),
            ),
            BeneficiaryData(
                "3333",
                "Ana Suspensa",
                "Prata",
                "suspenso",
                date(2021, 1, 1),
                None,
                date(2030, 1, 1),
            ),
        ],
    )


def eligibility(client, card):
    return post(
        client,
        pedido_elegibilidade_ws(query_for(PROVIDER_A), card),
        service="tissVerificaElegibilidade",
    )


def test_active_card_is_eligible(client, gw, beneficiaries):
    answer = eligibility(client, "1111")
    assert answer.text(".//ans:respostaSolicitacao") == "S"
    assert answer.text(".//ans:nomeBeneficiario") == "Maria Ativa"
    assert answer.payload.find(".//ans:motivosNegativa", NS) is None
    assert (
        answer.text("ans:cabecalho/ans:identificacaoTransacao/ans:tipoTransacao")
        == "SITUACAO_ELEGIBILIDADE"
    )


def test_unknown_card_is_1001(client, gw, beneficiaries):
    answer = eligibility(client, "0000")
    assert answer.text(".//ans:respostaElegibilidade/ans:codigoGlosa/ans:codigoGlosa") == "1001"


def test_card_after_termination_is_1006_and_expired_1017(client, gw, beneficiaries):
    answer = eligibility(client, "2222")
    assert answer.text(".//ans:respostaSolicitacao") == "N"
    codes = [e.text for e in answer.payload.iterfind(".//ans:motivoNegativa/ans:codigoGlosa", NS)]
    assert codes == ["1006", "1017"]


def test_suspended_card_is_1016(client, gw, beneficiaries):
    answer = eligibility(client, "3333")
    assert answer.text(".//ans:motivoNegativa/ans:codigoGlosa") == "1016"


# --- statements ------------------------------------------------------------------------------


def statement(client, provider, element_builder, **kw):
    return post(
        client,
        element_builder(query_for(provider), **kw),
        service="tissSolicitacaoDemonstrativoRetorno",
    )


def test_analysis_statement_of_an_analysed_protocol(client, gw):
    numero = send_lot(client, PROVIDER_A, "D1", count=2)
    analyse(gw, numero, guide_glosa=("1705", Decimal("30.00")))
    answer = statement(
        client, PROVIDER_A, solicitacao_demonstrativo_analise_ws, protocolos=[numero]
    )
    conta = answer.payload.find(".//ans:demonstrativoAnaliseConta", NS)
    assert conta is not None
    assert (
        answer.text("ans:cabecalho/ans:identificacaoTransacao/ans:tipoTransacao")
        == "DEMONSTRATIVO_ANALISE_CONTA"
    )
    assert conta.findtext("ans:valorInformadoGeral", namespaces=NS) == "300.00"
    assert conta.findtext("ans:valorLiberadoGeral", namespaces=NS) == "250.00"
    assert conta.findtext("ans:valorGlosaGeral", namespaces=NS) == "50.00"
    item_codes = [e.text for e in conta.iterfind(".//ans:relacaoGlosa/ans:tipoGlosa", NS)]
    guide_codes = [e.text for e in conta.iterfind(".//ans:motivoGlosaGuia/ans:codigoGlosa", NS)]
    assert item_codes == ["1801"] and guide_codes == ["1705"]
    assert conta.findtext(".//ans:numeroCNPJ", namespaces=NS)


def test_analysis_statement_not_ready_is_situacao(client, gw):
    numero = send_lot(client, PROVIDER_A, "D2")
    answer = statement(
        client, PROVIDER_A, solicitacao_demonstrativo_analise_ws, protocolos=[numero]
    )
    situacao = answer.payload.find(".//ans:situacaoDemonstrativoRetorno", NS)
    assert situacao.findtext("ans:numeroProtocolo", namespaces=NS) == numero
    assert situacao.findtext("ans:tipoDemonstrativo", namespaces=NS) == "2"
    assert situacao.findtext("ans:situacaoDemonstrativo", namespaces=NS) == "1"


def test_analysis_statement_mixing_analysed_and_waiting_protocols(client, gw):
    """ct_demonstrativoRetorno is a choice: statements or one situation, never both. The
    statements win, in the order asked; the protocol still waiting is asked again later."""
    waiting = send_lot(client, PROVIDER_A, "D5")
    analysed = send_lot(client, PROVIDER_A, "D6")
    analyse(gw, analysed)
    answer = statement(
        client, PROVIDER_A, solicitacao_demonstrativo_analise_ws, protocolos=[waiting, analysed]
    )
    numbers = [
        e.text for e in answer.payload.iterfind(".//ans:dadosProtocolo/ans:numeroProtocolo", NS)
    ]
    assert numbers == [analysed]
    assert answer.payload.find(".//ans:situacaoDemonstrativoRetorno", NS) is None
    status = status_of(client, PROVIDER_A, waiting)
    assert status.text(".//ans:detalheLote/ans:statusProtocolo") == "1"


def test_analysis_statement_never_includes_another_providers_protocol(client, gw):
    mine = send_lot(client, PROVIDER_A, "D3")
    theirs = send_lot(client, PROVIDER_B, "D3")
    analyse(gw, mine)
    analyse(gw, theirs)
    answer = statement(
        client, PROVIDER_A, solicitacao_demonstrativo_analise_ws, protocolos=[mine, theirs]
    )
    numbers = [
        e.text for e in answer.payload.iterfind(".//ans:dadosProtocolo/ans:numeroProtocolo", NS)
    ]
    assert numbers == [mine]
    only_theirs = statement(
        client, PROVIDER_A, solicitacao_demonstrativo_analise_ws, protocolos=[theirs]
    )
    assert only_theirs.code == "3291"


def test_payment_statement_by_date_and_by_competencia(client, gw):
    numero = send_lot(client, PROVIDER_A, "P1", count=2)
    analyse(gw, numero)
    pay(gw, numero, PROVIDER_A.code)
    by_date = statement(
        client, PROVIDER_A, solicitacao_demonstrativo_pagamento_ws, data_pagamento="2026-11-30"
    )
    by_month = statement(
        client, PROVIDER_A, solicitacao_demonstrativo_pagamento_ws, competencia="202611"
    )
    for answer in (by_date, by_month):
        demo = answer.payload.find(".//ans:demonstrativoPagamento", NS)
        assert demo is not None
        assert (
            demo.findtext(".//ans:relacaoProtocolos/ans:numeroProtocolo", namespaces=NS) == numero
        )
        assert demo.findtext(".//ans:valorLiberadoBruto", namespaces=NS) == "280.00"
        assert demo.findtext(".//ans:valorGlosaBruto", namespaces=NS) == "20.00"
        assert demo.findtext(".//ans:totalDebitosDemonstrativo", namespaces=NS) == "10.00"
        assert demo.findtext(".//ans:valorLiberadoDemonstrativo", namespaces=NS) == "270.00"


def test_payment_statement_of_another_provider_is_not_shown(client, gw):
    numero = send_lot(client, PROVIDER_B, "P2")
    analyse(gw, numero)
    pay(gw, numero, PROVIDER_B.code)
    answer = statement(
        client, PROVIDER_A, solicitacao_demonstrativo_pagamento_ws, competencia="202611"
    )
    assert answer.payload.find(".//ans:demonstrativoPagamento", NS) is None
    assert answer.payload.find(".//ans:situacaoDemonstrativoRetorno", NS) is not None
    assert numero.encode() not in answer.raw
