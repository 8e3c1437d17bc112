"""dm_statusProtocolo and the transitions the operator may make between its values.

7 (Não localizado) is an answer to a status query, never a stored state. 4, 6 and 9 are final.
Every change appends a ProtocolStatusChange, so that each consecutive pair in a protocol's
history is one of the transitions below.
"""

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import object_session

from gateway.services.backoffice.errors import BackOfficeError, not_allowed
from storage.models import Protocol, ProtocolStatusChange

RECEBIDO = 1
EM_ANALISE = 2
LIBERADO = 3
ENCERRADO_SEM_PAGAMENTO = 4
ANALISADO = 5
PAGO = 6
NAO_LOCALIZADO = 7
AGUARDANDO_INFORMACAO = 8
CANCELADO = 9

STATUS_NAMES = {
    RECEBIDO: "Recebido",
    EM_ANALISE: "Em análise",
    LIBERADO: "Liberado para pagamento",
    ENCERRADO_SEM_PAGAMENTO: "Encerrado sem pagamento",
    ANALISADO: "Analisado e aguardando liberação para pagamento",
    PAGO: "Pagamento efetuado",
    AGUARDANDO_INFORMACAO: "Aguardando informação complementar",
    CANCELADO: "Cancelado",
}

TRANSITIONS: dict[int, frozenset[int]] = {
    RECEBIDO: frozenset({EM_ANALISE, ENCERRADO_SEM_PAGAMENTO, AGUARDANDO_INFORMACAO, CANCELADO}),
    EM_ANALISE: frozenset(
        {LIBERADO, ENCERRADO_SEM_PAGAMENTO, ANALISADO, AGUARDANDO_INFORMACAO, CANCELADO}
    ),
    AGUARDANDO_INFORMACAO: frozenset({EM_ANALISE, ENCERRADO_SEM_PAGAMENTO, CANCELADO}),
    ANALISADO: frozenset({EM_ANALISE, LIBERADO, ENCERRADO_SEM_PAGAMENTO}),
    LIBERADO: frozenset({PAGO}),
    ENCERRADO_SEM_PAGAMENTO: frozenset(),
    PAGO: frozenset(),
    CANCELADO: frozenset(),
}

# The provider reads these states in its status query; it is owed the reason.
REASON_REQUIRED = frozenset({ENCERRADO_SEM_PAGAMENTO, AGUARDANDO_INFORMACAO, CANCELADO})
# Statements are built from the analysed values: no release without an analysis.
NEEDS_ANALYSIS = frozenset({ANALISADO, LIBERADO})


def describe(status: int) -> str:
    return STATUS_NAMES.get(status, f"situação {status}")


def label(status: int) -> str:
    return f"{status} ({describe(status)})"


def check_status_value(status: int) -> None:
    if status == NAO_LOCALIZADO:
        raise BackOfficeError("7 (Não localizado) é uma resposta à consulta, não uma situação")
    if status not in STATUS_NAMES:
        raise BackOfficeError(f"situação de protocolo {status} inexistente (dm_statusProtocolo)")


def check_allowed(protocol: Protocol, new_status: int) -> None:
    check_status_value(new_status)
    current = protocol.status
    allowed = TRANSITIONS.get(current, frozenset())
    if new_status not in allowed:
        options = ", ".join(label(s) for s in sorted(allowed)) or "nenhuma (situação final)"
        raise not_allowed(
            f"protocolo {protocol.numero}: transição de {label(current)} para "
            f"{label(new_status)} não permitida; a partir de {current}: {options}"
        )


def transition(
    protocol: Protocol, new_status: int, actor: str, reason: str | None, now: datetime
) -> None:
    """Move `protocol` to `new_status` if the table allows it, appending to its history.

    The UPDATE names the status it moves from: if another request moved the protocol since it
    was read, nothing matches and the change is refused. The row lock taken when reading
    (FOR UPDATE) already prevents that on PostgreSQL; on SQLite, whose driver only begins the
    transaction at the first write, this condition is what does.
    """
    check_allowed(protocol, new_status)
    session = object_session(protocol)
    moved = session.execute(
        update(Protocol)
        .where(Protocol.id == protocol.id, Protocol.status == protocol.status)
        .values(status=new_status, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if moved.rowcount != 1:
        raise not_allowed(
            f"protocolo {protocol.numero} mudou de situação durante esta operação; "
            "consulte-o e tente de novo"
        )
    session.add(
        ProtocolStatusChange(
            protocol_id=protocol.id, status=new_status, changed_at=now, actor=actor, reason=reason
        )
    )
