"""The operator's side: the queue of requests and the decisions on them (pre-approve, ask for a
complement, reject, give final approval). Each decision is recorded with the staff account, the
time and the reason, and the candidate is told by e-mail. Final approval makes the candidate a
credentialed provider whose login and password then also work on the TISS web services.

These are the use cases the back-office SOAP API can expose as they are."""

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from gateway.forms import CONTROL_MESSAGE, has_invisible_characters
from gateway.services.credentialing import catalog, records
from gateway.services.credentialing.views import RequestView
from gateway.services.mail import Mailer
from gateway.services.validation import invalid
from storage.db import Database
from storage.models import Account, Provider
from storage.portal_models import CredentialingRequest

log = logging.getLogger(__name__)

ACTIONS = {
    # action: (statuses it applies to, status it leads to, reason required)
    "pre_approve": (("submitted",), "pre_approved", False),
    "request_complement": (("submitted", "pre_approved", "final_review"), "complement", True),
    "reject": (catalog.OPEN_STATUSES, "rejected", True),
    "approve": (("final_review",), "approved", False),
}
ACTION_LABELS = catalog.ACTIONS
CODE = re.compile(r"^[A-Za-z0-9]{1,14}$")


@dataclass(frozen=True)
class QueueItem:
    id: int
    person_kind: str
    document: str
    name: str | None
    status: str
    submitted_at: datetime | None
    updated_at: datetime

    @property
    def status_label(self) -> str:
        return catalog.STATUS[self.status]


def queue(db: Database, status: str | None = None) -> list[QueueItem]:
    """Requests waiting for the operator first (oldest first), or those of one status."""
    with db.reading() as session:
        query = select(CredentialingRequest)
        if status:
            query = query.where(CredentialingRequest.status == status)
        else:
            query = query.where(CredentialingRequest.status.in_(("submitted", "final_review")))
        rows = session.scalars(
            query.order_by(CredentialingRequest.updated_at, CredentialingRequest.id)
        )
        return [
            QueueItem(
                r.id,
                r.person_kind,
                r.document,
                r.razao_social,
                r.status,
                r.submitted_at,
                r.updated_at,
            )
            for r in rows
        ]


def counts(db: Database) -> dict[str, int]:
    with db.reading() as session:
        rows = session.execute(
            select(CredentialingRequest.status, func.count()).group_by(CredentialingRequest.status)
        ).all()
    return {status: 0 for status in catalog.STATUS} | dict(rows)


def detail(db: Database, request_id: int) -> RequestView:
    with db.reading() as session:
        row = session.get(CredentialingRequest, request_id)
        if row is None:
            raise records.NotFound("request", "Solicitação não encontrada.")
        return records.view(session, row)


def suggested_code(db: Database, request_id: int) -> str:
    """A codigoPrestadorNaOperadora proposal: CRD + the request number, unused so far."""
    with db.reading() as session:
        code, n = f"CRD{request_id:06d}", 0
        while session.scalar(select(Provider.id).where(Provider.codigo_na_operadora == code)):
            n += 1
            code = f"CRD{request_id:06d}{n}"
        return code


def decide(
    db: Database,
    staff_account_id: int,
    request_id: int,
    action: str,
    reason: str | None,
    now: datetime,
    *,
    code: str | None = None,
    mailer: Mailer | None = None,
) -> str:
    """Apply a staff decision; returns the new status."""
    if action not in ACTIONS:
        raise invalid("action", "Decisão desconhecida.")
    applies_to, target, reason_required = ACTIONS[action]
    reason = (reason or "").replace("\r\n", "\n").strip() or None
    if reason_required and not reason:
        raise invalid("reason", "Escreva o motivo; o candidato verá esta mensagem.")
    if reason and len(reason) > 4000:
        raise invalid("reason", "No máximo 4000 caracteres.")
    if reason and has_invisible_characters(reason, multiline=True):
        raise invalid("reason", CONTROL_MESSAGE[0].upper() + CONTROL_MESSAGE[1:] + ".")
    with db.transaction() as session:
        staff = session.get(Account, staff_account_id)
        if staff is None or staff.kind != "staff" or not staff.active:
            raise invalid("action", "Somente a equipe da operadora decide solicitações.")
        row = session.get(CredentialingRequest, request_id, with_for_update=True)
        if row is None:
            raise records.NotFound("request", "Solicitação não encontrada.")
        if row.status not in applies_to:
            raise records.NotAllowed(
                f"Esta decisão não se aplica a uma solicitação “{catalog.STATUS[row.status]}”."
            )
        if target == "complement":
            row.complement_phase = "pre" if row.status == "submitted" else "final"
            target = "complement_requested"
        if action == "approve":
            code = _credential(session, row, code, now)  # the mail says the code as stored
        records.record(session, row, staff, action, target, now, reason)
        email, login = row.email or row.account.email, row.account.login
        provider_code = code if action == "approve" else None
    if mailer is not None and email:
        # The decision is committed: a mail server that fails now is logged, and whoever decided
        # is still told what was recorded (trying again would be refused as not applicable).
        try:
            _tell_candidate(mailer, email, login, action, reason, provider_code)
        except Exception:
            log.exception(
                "credentialing: decision on request %s recorded, but the mail to the candidate "
                "failed",
                request_id,
            )
    return target


CODE_TAKEN = "Já existe prestador com este código ou com este CPF/CNPJ."


def _credential(session, row: CredentialingRequest, code: str | None, now: datetime) -> str:
    """Creates the provider; returns its code as stored (trimmed, in capitals)."""
    code = (code or "").strip().upper()
    if not CODE.match(code):
        raise invalid("code", "O código do prestador na operadora tem de 1 a 14 letras ou dígitos.")
    clash = session.scalar(
        select(Provider.id).where(
            or_(
                Provider.codigo_na_operadora == code,
                Provider.cnpj == row.document
                if row.person_kind == "PJ"
                else Provider.cpf == row.document,
            )
        )
    )
    if clash is not None:
        raise invalid("code", CODE_TAKEN)
    cnes = next((a.cnes for a in row.addresses if a.cnes), "9999999")
    provider = Provider(
        person_kind=row.person_kind,
        cnpj=row.document if row.person_kind == "PJ" else None,
        cpf=row.document if row.person_kind == "PF" else None,
        codigo_na_operadora=code,
        name=(row.razao_social or row.document)[:200],
        cnes=cnes,
        status="approved",
        created_at=now,
    )
    try:
        # Another analyst may be approving another candidate with the same code right now: the
        # check above cannot see an insert not yet committed, the unique index can.
        with session.begin_nested():
            session.add(provider)
            session.flush()
    except IntegrityError:
        raise invalid("code", CODE_TAKEN) from None
    row.provider_id = provider.id
    # The candidate's account becomes the provider's: same login, same password, now also
    # accepted in loginSenhaPrestador.
    row.account.provider_id = provider.id
    return code


def _tell_candidate(
    mailer: Mailer, email: str, login: str, action: str, reason: str | None, code: str | None
) -> None:
    lines = [f"Sua solicitação de credenciamento (login {login}) foi atualizada:", ""]
    lines.append(ACTION_LABELS[action] + ".")
    if code:
        lines.append(f"Código do prestador na operadora: {code}.")
        lines.append(
            "O mesmo login e senha do portal valem no envio de mensagens TISS "
            "(loginSenhaPrestador)."
        )
    if reason:
        lines += ["", "Mensagem da operadora:", reason]
    lines += ["", "Acesse o Portal do Prestador para ver os detalhes e os próximos passos."]
    mailer.send(email, "Credenciamento: " + ACTION_LABELS[action], "\n".join(lines) + "\n")
