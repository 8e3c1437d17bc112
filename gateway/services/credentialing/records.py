"""Shared by the credentialing use cases: finding a candidate's request, checking what may be
changed in its current status, and recording every change of status (who, when, why)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.services.credentialing.views import RequestView, request_view
from gateway.services.validation import InvalidInput
from storage.db import Database
from storage.models import Account, Provider
from storage.portal_models import CredentialingDecision, CredentialingRequest


class NotAllowed(InvalidInput):
    """The request is not in a status where this can be done."""

    def __init__(self, message: str) -> None:
        super().__init__({"status": message})


class NotFound(InvalidInput):
    """The request or document named does not exist (or is not the viewer's to see)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__({field: message})


def own_request(session: Session, account_id: int, *, lock: bool = False) -> CredentialingRequest:
    query = select(CredentialingRequest).where(CredentialingRequest.account_id == account_id)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotAllowed("Não há solicitação de credenciamento para esta conta.")
    return row


def load(db: Database, account_id: int) -> RequestView | None:
    with db.reading() as session:
        row = session.scalar(
            select(CredentialingRequest).where(CredentialingRequest.account_id == account_id)
        )
        return view(session, row) if row is not None else None


def view(session: Session, row: CredentialingRequest) -> RequestView:
    code = None
    if row.provider_id is not None:
        code = session.scalar(
            select(Provider.codigo_na_operadora).where(Provider.id == row.provider_id)
        )
    return request_view(row, code)


def editing_pre(row: CredentialingRequest) -> bool:
    return row.status == "draft" or (
        row.status == "complement_requested" and row.complement_phase == "pre"
    )


def editing_final(row: CredentialingRequest) -> bool:
    return row.status == "pre_approved" or (
        row.status == "complement_requested" and row.complement_phase == "final"
    )


def require_pre(row: CredentialingRequest) -> None:
    if not editing_pre(row):
        raise NotAllowed("Os dados do prestador não podem ser alterados nesta etapa.")


def require_final(row: CredentialingRequest) -> None:
    if editing_final(row):
        return
    if row.status in ("approved", "rejected"):
        raise NotAllowed("A solicitação de credenciamento já foi concluída: não pode mais mudar.")
    if row.status == "final_review":
        raise NotAllowed(
            "A solicitação está em análise final pela operadora: aguarde o resultado ou um "
            "pedido de complementação para alterar documentos e dados."
        )
    raise NotAllowed("Esta etapa só fica disponível após a aprovação do pré-cadastro.")


def record(
    session: Session,
    row: CredentialingRequest,
    actor: Account,
    action: str,
    to_status: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    session.add(
        CredentialingDecision(
            request_id=row.id,
            action=action,
            from_status=row.status,
            to_status=to_status,
            actor_account_id=actor.id,
            actor_login=actor.login,
            actor_kind=actor.kind,
            decided_at=now,
            reason=reason,
        )
    )
    row.status = to_status
    row.updated_at = now


@dataclass(frozen=True)
class ProviderCard:
    """A credentialed provider as its own account sees it (also those added by the CLI, which
    never went through the portal's credentialing)."""

    name: str
    codigo_na_operadora: str
    person_kind: str
    document: str
    cnes: str
    status: str


def provider_card(db: Database, provider_id: int) -> ProviderCard | None:
    with db.reading() as session:
        p = session.get(Provider, provider_id)
        if p is None:
            return None
        return ProviderCard(
            p.name, p.codigo_na_operadora, p.person_kind, p.cnpj or p.cpf, p.cnes, p.status
        )
