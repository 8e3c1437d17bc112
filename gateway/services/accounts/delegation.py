"""Relacionamentos (seed 003): a credentialed provider invites a Secretária/o account with roles;
the invitee accepts for a period or indefinitely (or declines); the provider, or the delegate,
ends it. A delegate with Faturamento may send TISS messages for that provider."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.services.documents import normalize
from gateway.services.gateway import BRAZIL
from gateway.services.validation import InvalidInput, invalid
from storage.db import Database
from storage.models import Account, Provider
from storage.portal_models import Delegation

ROLES = {
    "atendimento": "Atendimento (autorizações)",
    "faturamento": "Faturamento",
    "comercial": "Comercial (dados cadastrais)",
    "relacionamentos": "Gerenciar relacionamentos",
}
FATURAMENTO = "faturamento"
MANAGE = "relacionamentos"
OPEN = ("invited", "active")
STATUS_LABELS = {
    "invited": "Convite enviado",
    "active": "Ativo",
    "declined": "Recusado",
    "revoked": "Encerrado",
    "expired": "Expirado",
}


@dataclass(frozen=True)
class DelegationView:
    id: int
    provider_id: int
    provider_name: str
    provider_code: str
    delegate_name: str | None
    delegate_login: str
    roles: tuple[str, ...]
    status: str  # invited | active | declined | revoked | expired
    invited_at: datetime
    valid_until: datetime | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def role_labels(self) -> list[str]:
        return [ROLES[r] for r in self.roles if r in ROLES]

    @property
    def last_day(self) -> date | None:
        """The final date the invitee chose: the day in Brazil of the last instant before
        valid_until (the midnight after it there; 21:00 there for periods accepted before the
        date was read as Brazil's)."""
        if self.valid_until is None:
            return None
        return (self.valid_until.astimezone(BRAZIL) - timedelta(microseconds=1)).date()


def effective_status(d: Delegation, now: datetime) -> str:
    if d.status == "active" and d.valid_until is not None and d.valid_until <= now:
        return "expired"
    return d.status


def roles_of(d: Delegation) -> tuple[str, ...]:
    return tuple(r for r in d.roles.split(",") if r)


def providers_for(session: Session, account: Account, role: str, now: datetime) -> list[Provider]:
    """The approved providers an account may act for with `role`: its own, and those that
    delegated that role to it (active and within its period)."""
    found = []
    if account.provider is not None and account.provider.status == "approved":
        found.append(account.provider)
    if account.kind == "delegate":
        rows = session.execute(
            select(Delegation, Provider)
            .join(Provider, Provider.id == Delegation.provider_id)
            .where(Delegation.delegate_account_id == account.id, Delegation.status == "active")
        ).all()
        found += [
            p
            for d, p in rows
            if effective_status(d, now) == "active"
            and role in roles_of(d)
            and p.status == "approved"
        ]
    return found


def can_manage(session: Session, account_id: int, provider_id: int, now: datetime) -> bool:
    account = session.get(Account, account_id)
    return account is not None and any(
        p.id == provider_id for p in providers_for(session, account, MANAGE, now)
    )


def _view(session: Session, d: Delegation, now: datetime) -> DelegationView:
    provider = session.get(Provider, d.provider_id)
    return DelegationView(
        d.id,
        provider.id,
        provider.name,
        provider.codigo_na_operadora,
        d.delegate.name,
        d.delegate.login,
        roles_of(d),
        effective_status(d, now),
        d.invited_at,
        d.valid_until,
    )


def list_for_provider(db: Database, provider_id: int, now: datetime) -> list[DelegationView]:
    with db.reading() as session:
        rows = session.scalars(
            select(Delegation)
            .where(Delegation.provider_id == provider_id)
            .order_by(Delegation.id.desc())
        )
        return [_view(session, d, now) for d in rows]


def list_for_delegate(db: Database, account_id: int, now: datetime) -> list[DelegationView]:
    with db.reading() as session:
        rows = session.scalars(
            select(Delegation)
            .where(Delegation.delegate_account_id == account_id)
            .order_by(Delegation.id.desc())
        )
        return [_view(session, d, now) for d in rows]


def invite(
    db: Database,
    actor_id: int,
    provider_id: int,
    who: str,
    roles: list[str],
    now: datetime,
) -> int:
    """Invite the Secretária/o account found by its e-mail (login) or CPF."""
    roles = [r for r in dict.fromkeys(roles) if r in ROLES]
    if not roles:
        raise invalid("roles", "Escolha ao menos um papel.")
    with db.transaction() as session:
        if not can_manage(session, actor_id, provider_id, now):
            raise invalid("who", "Você não pode gerenciar os relacionamentos deste prestador.")
        who = (who or "").strip()
        delegate = session.scalar(
            select(Account).where(
                Account.kind == "delegate",
                Account.active.is_(True),
                or_(Account.login == who.lower(), Account.cpf == (normalize(who) or None)),
            )
        )
        if delegate is None:
            raise invalid(
                "who",
                "Nenhuma conta de Secretária/o ativa com esse e-mail ou CPF. "
                "Peça que a pessoa crie a conta primeiro.",
            )
        existing = session.scalars(
            select(Delegation).where(
                Delegation.provider_id == provider_id,
                Delegation.delegate_account_id == delegate.id,
                Delegation.status.in_(OPEN),
            )
        ).all()
        if any(effective_status(d, now) in OPEN for d in existing):
            raise invalid("who", "Já existe um relacionamento com essa pessoa; encerre-o antes.")
        row = Delegation(
            provider_id=provider_id,
            delegate_account_id=delegate.id,
            roles=",".join(roles),
            status="invited",
            invited_by=actor_id,
            invited_at=now,
        )
        session.add(row)
        session.flush()
        return row.id


def respond(
    db: Database,
    account_id: int,
    delegation_id: int,
    accept: bool,
    until: date | None,
    now: datetime,
) -> None:
    """The invitee accepts (until a date, inclusive, or indefinitely: until None) or declines."""
    with db.transaction() as session:
        d = session.get(Delegation, delegation_id, with_for_update=True)
        if d is None or d.delegate_account_id != account_id or d.status != "invited":
            raise InvalidInput({"delegation": "Convite não encontrado ou já respondido."})
        if accept and until is not None:
            # The date is the provider's, in Brazil: valid until the midnight that ends it there.
            # Midnight UTC would end it at 21:00 there, and refuse "today" after 21:00.
            local_end = datetime.combine(until + timedelta(days=1), time(), tzinfo=BRAZIL)
            valid_until = local_end.astimezone(UTC)
            if valid_until <= now:
                raise invalid("until", "A data final deve ser hoje ou depois.")
            d.valid_until = valid_until
        d.status = "active" if accept else "declined"
        d.responded_at = now


def revoke(db: Database, actor_id: int, delegation_id: int, now: datetime) -> None:
    """Ended by whoever manages the provider's relationships, or by the delegate."""
    with db.transaction() as session:
        d = session.get(Delegation, delegation_id, with_for_update=True)
        if d is None or d.status not in OPEN:
            raise InvalidInput({"delegation": "Relacionamento não encontrado ou já encerrado."})
        if d.delegate_account_id != actor_id and not can_manage(
            session, actor_id, d.provider_id, now
        ):
            raise InvalidInput({"delegation": "Relacionamento não encontrado ou já encerrado."})
        d.status, d.revoked_at, d.revoked_by = "revoked", now, actor_id
