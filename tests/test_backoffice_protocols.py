"""Moving a protocol through dm_statusProtocolo over the back-office API: every pair of states
is tried, only the allowed transitions pass, each one appends to the history (who, when, why),
and a refusal writes nothing."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from gateway.services.backoffice.transitions import TRANSITIONS
from storage import models
from tests.backoffice_client import (
    STAFF,
    fault_of,
    force_status,
    make_client,
    send_lot,
    stored_protocol,
)
from tests.conftest import PROVIDER_A

STATES = [1, 2, 3, 4, 5, 6, 8, 9]
# The table the provider-facing services rely on (dm_statusProtocolo), written out again here so
# that a change to the code's table cannot pass unnoticed.
ALLOWED = {
    (1, 2),
    (1, 4),
    (1, 8),
    (1, 9),
    (2, 3),
    (2, 4),
    (2, 5),
    (2, 8),
    (2, 9),
    (8, 2),
    (8, 4),
    (8, 9),
    (5, 2),
    (5, 3),
    (5, 4),
    (3, 6),
}


def test_code_table_is_the_documented_table():
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED


@pytest.fixture
def numero(client, gw):
    return send_lot(client, PROVIDER_A, "TRANS1")


@pytest.fixture
def bo(server_url, staff):
    client, _ = make_client(server_url, auth="basic")
    return client.service


def history_of(gw, numero):
    return [(h.status, h.actor, h.reason) for h in stored_protocol(gw, numero).history]


def test_every_pair_of_states(gw, numero, bo):
    """All 64 (from, to) pairs: allowed ones move (6 only through registrarPagamento), the
    rest are refused with the list of what is allowed, and leave the protocol untouched."""
    for source in STATES:
        for target in STATES:
            force_status(gw, numero, source, analysed=True)
            before = stored_protocol(gw, numero)
            if (source, target) in ALLOWED and target != 6:
                protocolo = bo.alterarStatusProtocolo(
                    numeroProtocolo=numero, novoStatus=target, motivo=f"{source}->{target}"
                )
                assert protocolo.status == target
                after = stored_protocol(gw, numero)
                assert after.status == target
                last = after.history[-1]
                assert (last.status, last.actor, last.reason) == (
                    target,
                    STAFF.login,
                    f"{source}->{target}",
                )
                assert len(after.history) == len(before.history) + 1
                assert after.updated_at >= before.updated_at
            else:
                category, message = fault_of(
                    bo.alterarStatusProtocolo,
                    numeroProtocolo=numero,
                    novoStatus=target,
                    motivo="tentativa",
                )
                assert category == "OperacaoNaoPermitida", (source, target, message)
                if (source, target) == (3, 6):
                    assert "registrarPagamento" in message
                else:
                    assert f"de {source} (" in message and f"para {target} (" in message
                after = stored_protocol(gw, numero)
                assert after.status == source
                assert len(after.history) == len(before.history)
                assert after.updated_at == before.updated_at


def test_a_walk_through_the_history(gw, numero, bo):
    bo.alterarStatusProtocolo(numeroProtocolo=numero, novoStatus=2)
    bo.alterarStatusProtocolo(numeroProtocolo=numero, novoStatus=8, motivo="falta laudo")
    protocolo = bo.alterarStatusProtocolo(
        numeroProtocolo=numero, novoStatus=2, motivo="laudo recebido"
    )

    steps = [(a.status, a.responsavel, a.motivo) for a in protocolo.historico.alteracao]
    assert steps == [
        (1, "gateway", "lote recebido"),
        (2, STAFF.login, None),
        (8, STAFF.login, "falta laudo"),
        (2, STAFF.login, "laudo recebido"),
    ]
    assert protocolo.descricaoStatus == "Em análise"
    assert history_of(gw, numero) == steps
    dates = [a.data for a in protocolo.historico.alteracao]
    assert dates == sorted(dates) and all(d.tzinfo is not None for d in dates)
    assert bo.obterProtocolo(numeroProtocolo=numero).historico.alteracao[-1].motivo == (
        "laudo recebido"
    )


@pytest.mark.parametrize("target", [4, 8, 9])
def test_closing_suspending_or_cancelling_needs_a_reason(gw, numero, bo, target):
    category, message = fault_of(
        bo.alterarStatusProtocolo, numeroProtocolo=numero, novoStatus=target
    )
    assert category == "RequisicaoInvalida" and "motivo" in message
    assert stored_protocol(gw, numero).status == 1


@pytest.mark.parametrize("target", [3, 5])
def test_release_needs_a_recorded_analysis(gw, numero, bo, target):
    force_status(gw, numero, 2)
    category, message = fault_of(
        bo.alterarStatusProtocolo, numeroProtocolo=numero, novoStatus=target
    )
    assert category == "OperacaoNaoPermitida" and "registrarAnalise" in message
    assert stored_protocol(gw, numero).status == 2


def test_status_7_is_not_a_state(gw, numero, bo):
    category, message = fault_of(bo.alterarStatusProtocolo, numeroProtocolo=numero, novoStatus=7)
    assert category == "RequisicaoInvalida"
    assert "novoStatus" in message  # refused by the schema's enumeration


def test_unknown_protocol_is_not_found(gw, bo):
    assert fault_of(bo.alterarStatusProtocolo, numeroProtocolo="999999999999", novoStatus=2) == (
        "NaoEncontrado",
        "protocolo 999999999999 não encontrado",
    )
    assert fault_of(bo.obterProtocolo, numeroProtocolo="999999999999")[0] == "NaoEncontrado"


def test_protocol_view_before_analysis(gw, numero, bo):
    protocolo = bo.obterProtocolo(numeroProtocolo=numero)

    assert protocolo.codigoPrestador == PROVIDER_A.code
    assert protocolo.numeroLote == "TRANS1"
    assert protocolo.tipoGuia == "guiaSP-SADT"
    assert protocolo.valorInformado == protocolo.guia[0].valorInformado * 2
    assert protocolo.valorProcessado is None and protocolo.valorLiberado is None
    assert protocolo.analisadoEm is None
    assert [len(g.item) for g in protocolo.guia] == [2, 2]
    assert protocolo.recebidoEm <= datetime.now(UTC)


def test_concurrent_moves_of_one_protocol_leave_one_history_entry(gw, numero, server_url, staff):
    """Two staff members move the same protocol at once (1 -> 2 twice): one wins, the other is
    refused, and the history has one entry, not two (the row is locked while it moves)."""
    from concurrent.futures import ThreadPoolExecutor

    from zeep.exceptions import Fault

    clients = [make_client(server_url, auth="basic")[0] for _ in range(2)]

    def move(client):
        try:
            return client.service.alterarStatusProtocolo(numeroProtocolo=numero, novoStatus=2)
        except Fault as fault:
            return fault

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(move, clients))

    faults = [r for r in results if isinstance(r, Fault)]
    assert len(faults) == 1, results
    # Refused by the table if it read the winner's status, by the conditional UPDATE otherwise.
    assert "não permitida" in faults[0].message or "mudou de situação" in faults[0].message
    with gw.db.reading() as s:
        entries = s.scalar(
            select(func.count())
            .select_from(models.ProtocolStatusChange)
            .where(models.ProtocolStatusChange.status == 2)
        )
    assert entries == 1
