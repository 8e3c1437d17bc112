"""The back-office API under the input an operator's script really sends: windows that are empty,
reversed or at the ends of the calendar, pages walked one row at a time while lots keep arriving,
cursors past the end, values at the limits of st_valor, several glosas summing to exactly the
processed value (and one cent more), glosa codes in other scripts' digits, texts at their maximum
lengths with characters outside ISO-8859-1, blank-looking reasons, beneficiaries loaded by the
thousand and updated, and every credentialing decision on a request in every status.

Each answer must be right or a clear fault (valid under the project's XSD, tests/backoffice_client
checks every envelope), never ErroInesperadoServidor; a refusal writes nothing; and the provider's
TISS answers built from what the operator wrote stay valid under the official XSD."""

import copy
import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from zeep.exceptions import Fault

from gateway.tiss.samples import (
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_demonstrativo_pagamento_ws,
)
from storage import models
from storage.portal_models import CredentialingDecision, CredentialingRequest
from tests import portal_support as ps
from tests.backoffice_client import (
    NS,
    STAFF,
    envelope,
    fault_detail,
    fault_of,
    force_status,
    make_client,
    raw_post,
    send_lot,
    stored_protocol,
)
from tests.conftest import PROVIDER_A, PROVIDER_B
from tests.test_backoffice_beneficiaries import beneficiario, registry
from tests.test_soap_queries import query_for, statement, status_of
from tests.tissclient import NS as TISS_NS
from tests.tissclient import post

D = Decimal
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
BRT = timezone(timedelta(hours=-3))
# Characters a script copies from a spreadsheet or a web form: accents (ISO-8859-1), a euro sign,
# Greek, CJK, an emoji outside the BMP, a typographic apostrophe.
UNICODE = "Ação ÇÃÕ ü € Ωμέγα 診療 🩺 d’Ávila"


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


@pytest.fixture
def api(server_url, staff):
    return make_client(server_url)


@pytest.fixture
def bo(api):
    return api[0].service


def count(gw, model) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model))


def not_a_server_error(call, **kwargs):
    """The answer, or the (categoria, mensagem) of a clean client fault; a server fault fails."""
    try:
        return call(**kwargs)
    except Fault as fault:
        detail = fault.detail.find("bo:backOfficeFault", NS)
        category = detail.findtext("bo:categoria", namespaces=NS)
        assert category != "ErroInesperadoServidor", fault.message
        return category, fault.message


def snapshot(gw, numero):
    """What the operator's analysis and moves write on a protocol."""
    p = stored_protocol(gw, numero)
    guides = [
        (
            g.valor_processado,
            g.valor_liberado,
            [(i.valor_processado, i.valor_liberado) for i in g.items],
            sorted((gl.codigo, gl.valor, gl.item_id) for gl in g.glosas),
        )
        for g in p.lot.guides
    ]
    return p.status, p.analyzed_at, [(h.status, h.reason) for h in p.history], guides


# --- listings ------------------------------------------------------------------------------------


@pytest.fixture
def lots(gw, client):
    """Three lots of A and one of B, and the ids of their messages."""
    numbers = [send_lot(client, PROVIDER_A, f"EXT{n}", count=1) for n in range(3)]
    numbers.append(send_lot(client, PROVIDER_B, "EXTB", count=1))
    with gw.db.reading() as s:
        ids = list(s.scalars(select(models.Message.id).order_by(models.Message.id)))
    return numbers, ids


def test_empty_and_far_windows_answer_empty_pages_not_faults(gw, bo, lots):
    numbers, ids = lots
    now = datetime.now(UTC)
    # A window of no length (desde inclusive, ate exclusive) holds nothing.
    empty = bo.listarMensagens(desde=now, ate=now)
    assert empty.mensagem == [] and empty.proximoCursor is None
    empty = bo.listarLotes(desde=now, ate=now)
    assert empty.lote == [] and empty.proximoCursor is None
    # From the first instant the calendar has to its last: everything, in id order.
    first, last = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)
    assert [m.id for m in bo.listarMensagens(desde=first, ate=last).mensagem] == ids
    assert [lot.numeroProtocolo for lot in bo.listarLotes(desde=first, ate=last).lote] == numbers
    # Far in the future: nothing.
    assert bo.listarMensagens(desde=last).mensagem == []
    assert bo.listarLotes(desde=datetime(9999, 1, 1, tzinfo=UTC)).lote == []
    # Reversed: a clear refusal for lots too.
    category, message = fault_of(bo.listarLotes, desde=now, ate=now - timedelta(seconds=1))
    assert category == "RequisicaoInvalida" and "anterior ao início" in message


@pytest.mark.parametrize(
    "field, value",
    [
        ("ate", datetime.max.replace(tzinfo=BRT)),
        ("desde", datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))),
    ],
    ids=["ate-max-brt", "desde-min-plus-one"],
)
def test_instants_at_the_ends_of_the_calendar_with_a_time_zone(gw, bo, lots, field, value):
    kwargs = {"desde": datetime(1, 1, 2, tzinfo=UTC), field: value}
    answer = not_a_server_error(bo.listarMensagens, **kwargs)
    if isinstance(answer, tuple):
        assert answer[0] == "RequisicaoInvalida" and field in answer[1], answer
    else:
        assert [m.id for m in answer.mensagem] == lots[1]


@pytest.mark.parametrize(
    "desde",
    ["10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z", "2026-11-21T24:00:00Z"],
    ids=["year-10000", "year-minus-1", "hour-24"],
)
def test_schema_valid_instants_python_cannot_read_are_refused_by_name(gw, server_url, staff, desde):
    body = envelope(f"<bo:listarMensagens><bo:desde>{desde}</bo:desde></bo:listarMensagens>")
    category, message = fault_detail(raw_post(server_url, body))
    assert category == "RequisicaoInvalida" and "desde" in message, message


@pytest.mark.parametrize("limite", [-1, 2**31, 10**12], ids=["negative", "int-overflow", "huge"])
def test_page_sizes_outside_1_to_500_are_refused(gw, bo, lots, limite):
    for call in (bo.listarMensagens, bo.listarLotes):
        category, message = fault_of(call, desde=EPOCH, limite=limite)
        assert category == "RequisicaoInvalida" and "limite" in message, message


def test_walking_one_row_a_page_while_lots_arrive_sees_each_once(gw, bo, client, lots):
    numbers, ids = lots
    walks = {bo.listarLotes: ("lote", "numeroProtocolo"), bo.listarMensagens: ("mensagem", "id")}
    seen = {call: [] for call in walks}
    cursors = dict.fromkeys(walks)
    pending = set(walks)
    for step in range(20):
        for call in list(pending):
            rows, key = walks[call]
            page = call(desde=EPOCH, limite=1, cursor=cursors[call])
            assert len(getattr(page, rows)) == 1
            seen[call] += [getattr(row, key) for row in getattr(page, rows)]
            cursors[call] = page.proximoCursor
            if page.proximoCursor is None:
                pending.discard(call)
        if step == 1:  # a provider sends a lot and resends another mid-walk
            numbers.append(send_lot(client, PROVIDER_B, "EXTLATE", count=2))
            send_lot(client, PROVIDER_A, "EXT0", count=1)
        if not pending:
            break
    with gw.db.reading() as s:
        all_ids = list(s.scalars(select(models.Message.id).order_by(models.Message.id)))
    assert seen[bo.listarLotes] == numbers  # the resend added no lot
    assert seen[bo.listarMensagens] == all_ids and len(all_ids) == len(ids) + 2
    # One page of 500 says the same.
    assert [lot.numeroProtocolo for lot in bo.listarLotes(desde=EPOCH, limite=500).lote] == numbers


@pytest.mark.parametrize(
    "cursor",
    [
        "past-the-end",
        "9223372036854775807",
        "9223372036854775808",
        "9" * 40,
    ],
    ids=["last-id-plus-1000", "int64-max", "int64-max-plus-1", "forty-nines"],
)
def test_a_cursor_past_the_end_is_an_empty_last_page(gw, bo, lots, cursor):
    if cursor == "past-the-end":
        cursor = str(lots[1][-1] + 1000)
    for call, rows in ((bo.listarMensagens, "mensagem"), (bo.listarLotes, "lote")):
        answer = not_a_server_error(call, desde=EPOCH, cursor=cursor)
        assert not isinstance(answer, tuple), answer
        assert getattr(answer, rows) == [] and answer.proximoCursor is None


def test_filters_with_padding_repeats_and_unknown_values(gw, bo, lots):
    numbers, ids = lots
    padded = bo.listarLotes(desde=EPOCH, codigoPrestador=f"  {PROVIDER_A.code}\t")
    assert [lot.numeroProtocolo for lot in padded.lote] == numbers[:3]
    force_status(gw, numbers[1], 2)
    twice = bo.listarLotes(desde=EPOCH, statusProtocolo=[2, 2])
    assert [lot.numeroProtocolo for lot in twice.lote] == [numbers[1]]
    both = bo.listarLotes(desde=EPOCH, statusProtocolo=[1, 2], codigoPrestador=PROVIDER_B.code)
    assert [lot.numeroProtocolo for lot in both.lote] == [numbers[3]]
    assert bo.listarLotes(desde=EPOCH, statusProtocolo=[9]).lote == []
    # A provider is named by its code: its CNPJ is an unknown code, said so.
    category, message = fault_of(bo.listarLotes, desde=EPOCH, codigoPrestador=PROVIDER_A.cnpj)
    assert (category, message) == ("NaoEncontrado", f"prestador {PROVIDER_A.cnpj} não encontrado")
    category, message = fault_of(bo.listarLotes, desde=EPOCH, statusProtocolo=[7])
    assert category == "RequisicaoInvalida" and "statusProtocolo" in message
    assert bo.listarMensagens(desde=EPOCH, servico=" tissLoteGuias ").mensagem[0].id == ids[0]
    category, message = fault_of(bo.obterProtocolo, numeroProtocolo="000000000000")
    assert (category, message) == ("NaoEncontrado", "protocolo 000000000000 não encontrado")


@pytest.mark.parametrize(
    "ident", [0, -1, 2**31, 2**63 - 1], ids=["zero", "minus-1", "2-31", "long-max"]
)
def test_ids_that_name_nothing_are_not_found(gw, bo, lots, ident):
    assert fault_of(bo.obterMensagem, id=ident) == (
        "NaoEncontrado",
        f"mensagem {ident} não encontrada",
    )
    assert fault_of(bo.obterSolicitacaoCredenciamento, idSolicitacao=ident) == (
        "NaoEncontrado",
        "Solicitação não encontrada.",
    )
    assert fault_of(bo.obterDocumentoCredenciamento, idDocumento=ident) == (
        "NaoEncontrado",
        "Documento não encontrado.",
    )


# --- protocol moves: reasons at their limits -----------------------------------------------------


@pytest.fixture
def numero(client):
    return send_lot(client, PROVIDER_A, "EXTREMO", count=2)


def test_a_reason_of_500_characters_outside_latin1_comes_back_intact(gw, bo, client, numero):
    body = (UNICODE + "\n") * 40
    reason = body[: 500 - 4].rstrip() + " fim"
    assert len(reason) <= 500
    answer = bo.alterarStatusProtocolo(numeroProtocolo=numero, novoStatus=8, motivo=reason)
    assert answer.historico.alteracao[-1].motivo == reason
    assert bo.obterProtocolo(numeroProtocolo=numero).historico.alteracao[-1].motivo == reason
    assert stored_protocol(gw, numero).history[-1].reason == reason
    # Surrounding white space is trimmed, not kept.
    answer = bo.alterarStatusProtocolo(numeroProtocolo=numero, novoStatus=2, motivo="\n  ok \t")
    assert answer.historico.alteracao[-1].motivo == "ok"
    # The provider's status query still validates against the official XSD.
    assert status_of(client, PROVIDER_A, numero).text(".//ans:statusProtocolo") == "2"


@pytest.mark.parametrize(
    "motivo, category, expected",
    [
        ("\u00a0\u2003\u3000", "RequisicaoInvalida", "informe o motivo"),
        ("   ", "RequisicaoInvalida", "motivo"),
        ("x" * 501, "RequisicaoInvalida", "motivo"),
        ("🩺" * 501, "RequisicaoInvalida", "motivo"),
    ],
    ids=["unicode-spaces", "spaces", "501-chars", "501-emoji"],
)
def test_a_blank_looking_or_long_reason_moves_nothing(gw, bo, numero, motivo, category, expected):
    before = snapshot(gw, numero)
    got, message = fault_of(
        bo.alterarStatusProtocolo, numeroProtocolo=numero, novoStatus=9, motivo=motivo
    )
    assert got == category and expected in message, message
    assert snapshot(gw, numero) == before


def test_control_characters_are_refused_as_unreadable_xml(gw, server_url, staff, numero):
    before = snapshot(gw, numero)
    for reference in ("&#1;", "&#x1B;", "&#xFFFE;"):
        body = envelope(
            f"<bo:alterarStatusProtocolo><bo:numeroProtocolo>{numero}</bo:numeroProtocolo>"
            f"<bo:novoStatus>9</bo:novoStatus><bo:motivo>a{reference}b</bo:motivo>"
            "</bo:alterarStatusProtocolo>"
        )
        category, _ = fault_detail(raw_post(server_url, body))
        assert category == "RequisicaoInvalida"
    assert snapshot(gw, numero) == before


def test_the_same_move_twice_is_refused_the_second_time(gw, bo, numero):
    bo.alterarStatusProtocolo(numeroProtocolo=numero, novoStatus=9, motivo="lote em duplicidade")
    before = snapshot(gw, numero)
    category, message = fault_of(
        bo.alterarStatusProtocolo, numeroProtocolo=numero, novoStatus=9, motivo="de novo"
    )
    assert category == "OperacaoNaoPermitida" and "situação final" in message, message
    for call, kwargs in (
        (bo.registrarAnalise, {}),
        (bo.alterarStatusProtocolo, {"novoStatus": 2}),
    ):
        assert fault_of(call, numeroProtocolo=numero, **kwargs)[0] == "OperacaoNaoPermitida"
    assert snapshot(gw, numero) == before


# --- analysis ------------------------------------------------------------------------------------


@pytest.fixture
def in_analysis(gw, numero):
    force_status(gw, numero, 2)
    return numero


def glosa(code, valor, descricao=None):
    value = {"codigoGlosa": code, "valor": D(valor)}
    if descricao is not None:
        value["descricao"] = descricao
    return value


def test_glosas_summing_to_exactly_the_processed_value_and_one_cent_more(gw, bo, in_analysis):
    # Guide G000001 informs 150.00: items 1 and 2 of 75.00 each.
    exact = [
        {
            "numeroGuiaPrestador": "G000001",
            "glosa": [glosa("1705", "0.01"), glosa("1705", "59.99")],
            "item": [
                {"sequencialItem": 1, "glosa": [glosa("1801", "0.33"), glosa("1801", "74.67")]},
                {"sequencialItem": 2, "glosa": [glosa("1705", "15.00")]},
            ],
        }
    ]
    answer = bo.registrarAnalise(numeroProtocolo=in_analysis, guia=exact)
    guia = answer.guia[0]
    assert (guia.valorProcessado, guia.valorLiberado) == (D("150.00"), D("0.00"))
    assert (guia.item[0].valorLiberado, guia.item[1].valorLiberado) == (D("0.00"), D("60.00"))
    assert answer.valorGlosa == D("150.00")
    assert answer.valorProcessado == D("300.00") and answer.valorLiberado == D("150.00")
    # Totals are the sums of what is listed.
    listed = [g.valor for gu in answer.guia for g in gu.glosa] + [
        g.valor for gu in answer.guia for i in gu.item for g in i.glosa
    ]
    assert sum(listed) == answer.valorGlosa
    assert sum(g.valorLiberado for g in answer.guia) == answer.valorLiberado
    assert sum(g.valorProcessado for g in answer.guia) == answer.valorProcessado

    force_status(gw, in_analysis, 2)
    before = snapshot(gw, in_analysis)
    one_cent_more = [dict(exact[0], glosa=[glosa("1705", "0.02"), glosa("1705", "59.99")])]
    category, message = fault_of(
        bo.registrarAnalise, numeroProtocolo=in_analysis, guia=one_cent_more
    )
    assert category == "RequisicaoInvalida"
    assert "guia G000001: as glosas somam 150.01, acima do valor processado 150.00" in message
    assert snapshot(gw, in_analysis) == before


def test_a_refused_analysis_of_a_protocol_in_8_stays_in_8(gw, bo, numero):
    """From 8 the analysis moves twice (8 -> 2 -> 5): a refusal must undo neither half-way."""
    bo.alterarStatusProtocolo(numeroProtocolo=numero, novoStatus=8, motivo="falta o laudo")
    before = snapshot(gw, numero)
    category, message = fault_of(
        bo.registrarAnalise,
        numeroProtocolo=numero,
        guia=[
            {"numeroGuiaPrestador": "G000001", "glosa": [glosa("1705", "1.00")]},
            {"numeroGuiaPrestador": "G000002", "valorLiberado": D("150.01")},
        ],
    )
    assert category == "RequisicaoInvalida" and "guia G000002" in message, message
    assert snapshot(gw, numero) == before and before[0] == 8
    assert count(gw, models.Glosa) == 0


@pytest.mark.parametrize(
    "code",
    ["\uff11\uff18\uff10\uff11", "\u0661\u0668\u0660\u0661", "0000", "18O1"],
    ids=["full-width-1801", "arabic-indic-1801", "zeros", "letter-o"],
)
def test_glosa_codes_not_in_table_38_are_refused(gw, bo, in_analysis, code):
    before = snapshot(gw, in_analysis)
    category, message = fault_of(
        bo.registrarAnalise,
        numeroProtocolo=in_analysis,
        guia=[{"numeroGuiaPrestador": "G000001", "glosa": [glosa(code, "1.00")]}],
    )
    assert category == "RequisicaoInvalida", message
    assert "codigoGlosa" in message or "não consta da tabela 38" in message, message
    assert snapshot(gw, in_analysis) == before


def test_glosa_on_a_guide_of_another_protocol_is_refused(gw, bo, client, in_analysis):
    other = send_lot(client, PROVIDER_A, "OUTRO", count=3)  # it has a G000003
    force_status(gw, other, 2)
    before = snapshot(gw, in_analysis), snapshot(gw, other)
    category, message = fault_of(
        bo.registrarAnalise,
        numeroProtocolo=in_analysis,
        guia=[{"numeroGuiaPrestador": "G000003", "glosa": [glosa("1705", "1.00")]}],
    )
    assert (category, message) == (
        "RequisicaoInvalida",
        f"guia G000003 não faz parte do protocolo {in_analysis}",
    )
    category, message = fault_of(
        bo.registrarAnalise,
        numeroProtocolo=in_analysis,
        guia=[{"numeroGuiaPrestador": "G000001", "item": [{"sequencialItem": 2147483647}]}],
    )
    assert category == "RequisicaoInvalida" and "sequencial 2147483647" in message
    assert (snapshot(gw, in_analysis), snapshot(gw, other)) == before


@pytest.mark.parametrize(
    "guia",
    [
        [
            {
                "numeroGuiaPrestador": "G000001",
                "item": [{"sequencialItem": 1, "valorProcessado": D("9999999999.99")}],
            }
        ],
        [
            {"numeroGuiaPrestador": "G000001", "valorProcessado": D("9999999999.99")},
            {"numeroGuiaPrestador": "G000002", "valorProcessado": D("9999999999.99")},
        ],
    ],
    ids=["item-at-max", "two-guides-at-max"],
)
def test_processed_values_at_the_top_of_st_valor(gw, bo, in_analysis, guia):
    """A guide's value derived from its items, or the protocol's sum of its guides, beyond
    st_valor is refused by name and nothing is written; just below the top is accepted."""
    before = snapshot(gw, in_analysis)
    category, message = fault_of(bo.registrarAnalise, numeroProtocolo=in_analysis, guia=guia)
    assert category == "RequisicaoInvalida" and "acima do máximo (9999999999.99)" in message
    assert snapshot(gw, in_analysis) == before
    lower = copy.deepcopy(guia)  # the parameters are shared by both databases' runs
    for plan in lower:
        if "valorProcessado" in plan:
            plan["valorProcessado"] = D("4000000000.00")
        for item in plan.get("item", []):
            item["valorProcessado"] = D("9999999000.00")
    answer = bo.registrarAnalise(numeroProtocolo=in_analysis, guia=lower)
    assert answer.valorProcessado == sum(g.valorProcessado for g in answer.guia)
    assert bo.obterProtocolo(numeroProtocolo=in_analysis).valorProcessado == answer.valorProcessado


def test_glosa_descriptions_at_500_characters_outside_latin1(gw, bo, client, in_analysis):
    text = (UNICODE + " / ") * 30
    descricao = text[:500]
    item_text = "  Cobrança em duplicidade: ver guia G000002; código TUSS 10101012  "
    answer = bo.registrarAnalise(
        numeroProtocolo=in_analysis,
        guia=[
            {
                "numeroGuiaPrestador": "G000001",
                "glosa": [glosa("1705", "10.00", descricao)],
                "item": [{"sequencialItem": 2, "glosa": [glosa("1801", "5.00", item_text)]}],
            }
        ],
    )
    assert answer.guia[0].glosa[0].descricao == descricao.strip()
    assert answer.guia[0].item[1].glosa[0].descricao == item_text.strip()
    fetched = bo.obterProtocolo(numeroProtocolo=in_analysis)
    assert fetched.guia[0].glosa[0].descricao == descricao.strip()
    with gw.db.reading() as s:
        stored = sorted(s.scalars(select(models.Glosa.descricao)))
    assert stored == sorted([descricao.strip(), item_text.strip()])

    # The provider's answers carry them, valid under the official XSD with a correct hash
    # (tests/tissclient.read_answer checks both): outside ISO-8859-1 becomes '?'.
    status = status_of(client, PROVIDER_A, in_analysis)
    texts = [
        el.text for el in status.payload.iterfind(".//ans:motivoGlosa/ans:descricaoGlosa", TISS_NS)
    ]
    assert item_text.strip() in texts
    long_one = next(t for t in texts if t.startswith("Ação"))
    assert len(long_one) <= 500 and "Ωμέγα" not in long_one and "Ação ÇÃÕ ü" in long_one
    analise = statement(
        client, PROVIDER_A, solicitacao_demonstrativo_analise_ws, protocolos=[in_analysis]
    )
    assert analise.payload.find(".//ans:demonstrativoAnaliseConta", TISS_NS) is not None


def test_a_glosa_description_with_an_ellipsis_at_500_characters(gw, bo, client, in_analysis):
    descricao = ("Procedimento não autorizado… aguardando laudo " * 20)[:499] + "…"
    assert len(descricao) == 500
    bo.registrarAnalise(
        numeroProtocolo=in_analysis,
        guia=[{"numeroGuiaPrestador": "G000001", "glosa": [glosa("1705", "1.00", descricao)]}],
    )
    status_of(client, PROVIDER_A, in_analysis)  # validated against the official XSD


# --- payments ------------------------------------------------------------------------------------


def payment(protocolos, **overrides):
    values = dict(
        codigoPrestador=PROVIDER_A.code,
        dataPagamento=date(2026, 12, 10),
        competencia="202612",
        formaPagamento="1",
        protocolo=protocolos,
    )
    values.update(overrides)
    return values


def analysed(gw, bo, client, lote, guia=()):
    numero = send_lot(client, PROVIDER_A, lote, count=3)
    force_status(gw, numero, 2)
    bo.registrarAnalise(numeroProtocolo=numero, guia=list(guia))
    return numero


def test_payment_totals_with_cents_match_the_providers_statement(gw, bo, client):
    first = analysed(
        gw,
        bo,
        client,
        "CENT1",
        [{"numeroGuiaPrestador": "G000002", "glosa": [glosa("1705", "0.01")]}],
    )
    second = analysed(
        gw,
        bo,
        client,
        "CENT2",
        [
            {
                "numeroGuiaPrestador": "G000003",
                "item": [{"sequencialItem": 1, "glosa": [glosa("1801", "33.33")]}],
            }
        ],
    )
    result = bo.registrarPagamento(
        **payment(
            [
                {"numeroProtocolo": first},
                {
                    "numeroProtocolo": second,
                    "guia": [
                        {"numeroGuiaPrestador": "G000001", "valorPago": D("0.00")},
                        {"numeroGuiaPrestador": "G000003", "valorPago": D("116.67")},
                    ],
                },
            ],
            debitoCredito=[
                {
                    "indicador": "1",
                    "tipoDebitoCredito": "01",
                    "descricao": "IRRF 1,5%",
                    "valor": D("8.22"),
                },
                {
                    "indicador": "1",
                    "tipoDebitoCredito": "02",
                    "descricao": "ISS",
                    "valor": D("0.01"),
                },
                {
                    "indicador": "2",
                    "tipoDebitoCredito": "09",
                    "descricao": "Determinação judicial ⚖",
                    "valor": D("0.10"),
                },
            ],
        )
    )
    # first: 150 + 149.99 + 150; second: 0 + 150 + 116.67
    assert [p.valorPago for p in result.protocolo] == [D("449.99"), D("266.67")]
    assert result.valorBruto == D("716.66") == sum(p.valorPago for p in result.protocolo)
    assert (result.valorDebitos, result.valorCreditos) == (D("8.23"), D("0.10"))
    assert result.valorLiquido == result.valorBruto - result.valorDebitos + result.valorCreditos
    with gw.db.reading() as s:
        lines = s.scalar(
            select(func.sum(models.PaymentLine.valor_pago)).where(
                models.PaymentLine.payment_id == result.idPagamento
            )
        )
    assert lines == result.valorBruto

    answer = statement(
        client, PROVIDER_A, solicitacao_demonstrativo_pagamento_ws, data_pagamento="2026-12-10"
    )
    demo = answer.payload.find(".//ans:demonstrativoPagamento", TISS_NS)

    def total(path):
        return D(demo.findtext(path, namespaces=TISS_NS))

    assert total(".//ans:valorLiberadoBruto") == result.valorBruto
    assert total(".//ans:totalDebitosDemonstrativo") == result.valorDebitos
    assert total(".//ans:totalCreditosdemonstrativo") == result.valorCreditos
    assert total(".//ans:valorLiberadoDemonstrativo") == result.valorLiquido
    per_protocol = [
        D(el.text) for el in demo.iterfind(".//ans:relacaoProtocolos/ans:valorLiberado", TISS_NS)
    ]
    assert per_protocol == [p.valorPago for p in result.protocolo]
    per_guide = [
        D(el.text) for el in demo.iterfind(".//ans:guiasDoLote/ans:valorLiberadoGuia", TISS_NS)
    ]
    assert sum(per_guide) == result.valorBruto
    descricoes = [el.text for el in demo.iterfind(".//ans:descricaoDbCr", TISS_NS)]
    assert "Determinação judicial ?" in descricoes


def test_a_debit_description_with_an_ellipsis_at_40_characters(gw, bo, client):
    numero = analysed(gw, bo, client, "RET1")
    descricao = "Retenção s/ serviços prestados – ref. …"
    descricao = descricao + "x" * (40 - len(descricao))
    assert len(descricao) == 40
    bo.registrarPagamento(
        **payment(
            [{"numeroProtocolo": numero}],
            debitoCredito=[
                {
                    "indicador": "1",
                    "tipoDebitoCredito": "07",
                    "descricao": descricao,
                    "valor": D("1.00"),
                }
            ],
        )
    )
    statement(
        client, PROVIDER_A, solicitacao_demonstrativo_pagamento_ws, data_pagamento="2026-12-10"
    )


@pytest.mark.parametrize(
    "status, analysed_first",
    [(1, False), (2, False), (4, False), (8, False), (9, False), (6, True)],
)
def test_payment_of_a_protocol_not_payable_writes_nothing(gw, bo, client, status, analysed_first):
    ok = analysed(gw, bo, client, "PAGAVEL")
    other = send_lot(client, PROVIDER_A, "NAOPAGA", count=1)
    if analysed_first:
        force_status(gw, other, 2)
        bo.registrarAnalise(numeroProtocolo=other)
    force_status(gw, other, status)
    before = snapshot(gw, ok), snapshot(gw, other)
    category, message = fault_of(
        bo.registrarPagamento, **payment([{"numeroProtocolo": ok}, {"numeroProtocolo": other}])
    )
    assert category == "OperacaoNaoPermitida" and f"está em {status} (" in message, message
    assert (snapshot(gw, ok), snapshot(gw, other)) == before
    assert count(gw, models.Payment) == count(gw, models.PaymentLine) == 0


@pytest.mark.parametrize(
    "valor, expected",
    [("-0.01", "valorPago"), ("1.001", "valorPago"), ("12345678901.00", "12345678901.00")],
    ids=["negative", "three-decimals", "thirteen-digits"],
)
def test_values_paid_outside_st_valor_are_refused(gw, bo, client, valor, expected):
    numero = analysed(gw, bo, client, "VALOR")
    before = snapshot(gw, numero)
    category, message = fault_of(
        bo.registrarPagamento,
        **payment(
            [
                {
                    "numeroProtocolo": numero,
                    "guia": [{"numeroGuiaPrestador": "G000001", "valorPago": D(valor)}],
                }
            ]
        ),
    )
    assert category == "RequisicaoInvalida" and expected in message, message
    assert snapshot(gw, numero) == before and count(gw, models.Payment) == 0


def test_an_amount_too_large_is_refused_as_too_large(gw, bo, client):
    numero = analysed(gw, bo, client, "GRANDE")
    category, message = fault_of(
        bo.registrarAnalise,
        numeroProtocolo=numero,
        guia=[{"numeroGuiaPrestador": "G000001", "valorProcessado": D("12345678901.00")}],
    )
    assert category == "RequisicaoInvalida"
    assert "casas decimais" not in message and "9999999999.99" in message, message


def test_trailing_zeros_are_not_extra_decimals(gw, bo, client, server_url):
    """xs:decimal 10.500 is the value 10.5: two decimals, accepted as 10.50."""
    numero = analysed(gw, bo, client, "ZEROS")
    body = envelope(
        "<bo:registrarPagamento>"
        f"<bo:codigoPrestador>{PROVIDER_A.code}</bo:codigoPrestador>"
        "<bo:dataPagamento>2026-12-10</bo:dataPagamento><bo:competencia>202612</bo:competencia>"
        "<bo:formaPagamento>1</bo:formaPagamento>"
        f"<bo:protocolo><bo:numeroProtocolo>{numero}</bo:numeroProtocolo>"
        "<bo:guia><bo:numeroGuiaPrestador>G000001</bo:numeroGuiaPrestador>"
        "<bo:valorPago> 10.500 </bo:valorPago></bo:guia></bo:protocolo>"
        "</bo:registrarPagamento>"
    )
    response = raw_post(server_url, body)
    assert response.status_code == 200, response.content[:500]
    with gw.db.reading() as s:
        lines = sorted(s.scalars(select(models.PaymentLine.valor_pago)))
    assert lines == [D("10.50"), D("150.00"), D("150.00")]
    assert stored_protocol(gw, numero).status == 6


# --- beneficiaries -------------------------------------------------------------------------------


def test_unicode_names_at_200_characters_and_updates_of_a_card(gw, bo, client):
    long_name = (UNICODE + " ") * 10
    long_name = long_name[:200].strip()
    assert (
        bo.carregarBeneficiarios(
            beneficiario=[
                beneficiario("0001.2345.6789-00", nome=long_name, plano="P" * 100),
                beneficiario("A" * 20, nome="José", validadeCarteira=date(2099, 12, 31)),
            ]
        )
        == 2
    )
    # The card number is kept without the separators printed on cards (dots, hyphens, spaces).
    assert registry(gw)["00012345678900"][0] == long_name
    # Update of an existing card: every column changes, and a future adhesion on the same day
    # it ends is accepted (not before it).
    future = date.today() + timedelta(days=30)
    assert (
        bo.carregarBeneficiarios(
            beneficiario=[
                beneficiario(
                    " 0001.2345.6789-00 ",
                    nome="  Zoë Ñúñez 李  ",
                    plano="Plano Prata",
                    situacao="suspenso",
                    dataAdesao=future,
                    dataDesligamento=future,
                )
            ]
        )
        == 1
    )
    stored = registry(gw)
    assert stored["00012345678900"] == (
        "Zoë Ñúñez 李",
        "Plano Prata",
        "suspenso",
        future,
        future,
        None,
    )
    assert len(stored) == 2

    # Eligibility built from them stays valid under the official XSD (name clipped to 70).
    for card in ("0001.2345.6789-00", "A" * 20):
        answer = post(
            client,
            pedido_elegibilidade_ws(query_for(PROVIDER_A), card),
            service="tissVerificaElegibilidade",
        )
        assert answer.text(".//ans:numeroCarteira") == card
    bo.carregarBeneficiarios(beneficiario=[beneficiario("A" * 20, nome=long_name)])
    answer = post(
        client,
        pedido_elegibilidade_ws(query_for(PROVIDER_A), "A" * 20),
        service="tissVerificaElegibilidade",
    )
    assert len(answer.text(".//ans:nomeBeneficiario")) <= 70


@pytest.mark.parametrize(
    "items, expected",
    [
        (
            [beneficiario("00011112222333"), beneficiario("  00011112222333\t")],
            "carteira 00011112222333 informada mais de uma vez",
        ),
        (
            [beneficiario("00011112222333", nome="Nova"), beneficiario("X1", nome="\u00a0\u2003")],
            "carteira X1: nome obrigatório",
        ),
        ([beneficiario("00011112222333", nome="n" * 201)], "nome"),
        ([beneficiario("\u00a0")], "carteira"),
    ],
    ids=["same-card-padded", "unicode-blank-name", "name-201", "nbsp-card"],
)
def test_a_bad_batch_leaves_existing_cards_as_they_were(gw, bo, items, expected):
    bo.carregarBeneficiarios(beneficiario=[beneficiario("00011112222333", nome="Antiga")])
    before = registry(gw)
    category, message = fault_of(bo.carregarBeneficiarios, beneficiario=items)
    assert category == "RequisicaoInvalida" and expected in message, message
    assert registry(gw) == before


def test_five_thousand_beneficiaries_in_one_call_and_not_one_more(gw, api, server_url):
    client, _ = api
    items = [
        beneficiario(f"CART{n:016d}", nome=f"Beneficiário {n} — {UNICODE}") for n in range(5000)
    ]
    started = time.monotonic()
    assert client.service.carregarBeneficiarios(beneficiario=items) == 5000
    assert time.monotonic() - started < 120
    assert count(gw, models.Beneficiary) == 5000
    # zeep itself refuses to send 5001: the script that bypasses it gets the schema's refusal.
    one = (
        "<bo:beneficiario><bo:numeroCarteira>{}</bo:numeroCarteira><bo:nome>N</bo:nome>"
        "<bo:plano>P</bo:plano><bo:situacao>ativo</bo:situacao>"
        "<bo:dataAdesao>2020-01-01</bo:dataAdesao></bo:beneficiario>"
    )
    rows = "".join(one.format(f"NOVA{n:016d}") for n in range(5000)) + one.format("EXTRA")
    body = envelope(f"<bo:carregarBeneficiarios>{rows}</bo:carregarBeneficiarios>")
    category, message = fault_detail(raw_post(server_url, body))
    assert category == "RequisicaoInvalida" and "beneficiario" in message, message[:300]
    assert count(gw, models.Beneficiary) == 5000 and "EXTRA" not in registry(gw)


# --- credentialing -------------------------------------------------------------------------------

DECISIONS = ("aprovar_pre_cadastro", "pedir_complemento", "reprovar", "aprovar_credenciamento")
# The README's table: which decision applies in which status.
ALLOWED = {
    "draft": set(),
    "submitted": {"aprovar_pre_cadastro", "pedir_complemento", "reprovar"},
    "complement_requested": {"reprovar"},
    "pre_approved": {"pedir_complemento", "reprovar"},
    "final_review": {"pedir_complemento", "reprovar", "aprovar_credenciamento"},
    "approved": set(),
    "rejected": set(),
}


def candidate_in(gw, status: str) -> int:
    """A credentialing request in `status`, reached the way candidate and staff reach it."""
    from gateway.services.credentialing import queue, registration

    staff_id = ps.make_staff(gw)
    if status == "draft":
        account = registration.start(gw.db, ps.registration_form(), ps.now(), ps.ORIGIN)
        return ps.request_of(gw, account)
    if status in ("final_review", "approved"):
        request_id = ps.request_of(gw, ps.candidate_in_final_review(gw, staff_id))
    else:
        request_id = ps.request_of(gw, ps.candidate_submitted(gw))
    action = {
        "complement_requested": "request_complement",
        "pre_approved": "pre_approve",
        "approved": "approve",
        "rejected": "reject",
    }.get(status)
    if action is not None:
        queue.decide(
            gw.db, staff_id, request_id, action, "motivo do teste", ps.now(), code="CAND01"
        )
    with gw.db.reading() as s:
        assert s.get(CredentialingRequest, request_id).status == status
    return request_id


def decisions_of(gw, request_id):
    with gw.db.reading() as s:
        return s.scalar(
            select(func.count())
            .select_from(CredentialingDecision)
            .where(CredentialingDecision.request_id == request_id)
        )


@pytest.mark.parametrize("status", list(ALLOWED))
def test_every_decision_on_a_request_in_every_status(gw, bo, status):
    request_id = candidate_in(gw, status)
    shown = bo.obterSolicitacaoCredenciamento(idSolicitacao=request_id)
    assert set(shown.decisaoPermitida) == ALLOWED[status]
    providers, steps = count(gw, models.Provider), decisions_of(gw, request_id)
    for decisao in DECISIONS:
        if decisao in ALLOWED[status]:
            continue
        category, message = fault_of(
            bo.decidirSolicitacaoCredenciamento,
            idSolicitacao=request_id,
            decisao=decisao,
            motivo="não se aplica",
            codigoPrestadorNaOperadora="NOVO01" if decisao == "aprovar_credenciamento" else None,
        )
        assert category == "OperacaoNaoPermitida", (decisao, message)
        assert "não se aplica" in message
    with gw.db.reading() as s:
        assert s.get(CredentialingRequest, request_id).status == status
    assert (count(gw, models.Provider), decisions_of(gw, request_id)) == (providers, steps)
    # And an allowed one is taken, recorded with the caller and the reason as sent.
    for decisao in sorted(ALLOWED[status]):
        decided = bo.decidirSolicitacaoCredenciamento(
            idSolicitacao=request_id, decisao=decisao, motivo=f"{UNICODE} ({decisao})"
        )
        assert decided.historico.decisao[-1].motivo == f"{UNICODE} ({decisao})"
        assert decided.historico.decisao[-1].responsavel == STAFF.login
        assert decisions_of(gw, request_id) == steps + 1
        break


def test_a_reason_of_4000_characters_and_one_more(gw, bo):
    request_id = candidate_in(gw, "submitted")
    motivo = ((UNICODE + "\n") * 200)[:3999] + "!"
    assert len(motivo) == 4000
    decided = bo.decidirSolicitacaoCredenciamento(
        idSolicitacao=request_id, decisao="pedir_complemento", motivo=motivo
    )
    assert decided.situacao == "complement_requested"
    assert decided.historico.decisao[-1].motivo == motivo
    assert (
        bo.obterSolicitacaoCredenciamento(idSolicitacao=request_id).historico.decisao[-1].motivo
        == motivo
    )

    other = candidate_in_other(gw)
    steps = decisions_of(gw, other)
    for too_long in (motivo + "x", "\u00a0\u2003"):
        category, message = fault_of(
            bo.decidirSolicitacaoCredenciamento,
            idSolicitacao=other,
            decisao="reprovar",
            motivo=too_long,
        )
        assert category == "RequisicaoInvalida" and "motivo" in message, message
    assert decisions_of(gw, other) == steps
    with gw.db.reading() as s:
        assert s.get(CredentialingRequest, other).status == "submitted"


def candidate_in_other(gw) -> int:
    return ps.request_of(gw, ps.candidate_submitted(gw, "11444777000161"))
