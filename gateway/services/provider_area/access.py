"""Who may do what in the provider area.

A credentialed provider's own account may use every page for its provider. A Secretária/o
(delegate) acts for the providers that delegated roles to it (active and within the period), and
on each page only with the role that page needs:

- Início: any role;
- Meus Dados: Comercial (dados cadastrais);
- Envio de Arquivo XML, Consultar Arquivos, Capa de Lote, Demonstrativos, Digitação de Guias:
  Faturamento;
- Status do Protocolo: Faturamento or Atendimento;
- Elegibilidade: Atendimento.

Everything is checked again on every request, so a delegation ended or expired a minute ago no
longer opens any page.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from gateway.services.accounts.delegation import ROLES, effective_status, roles_of
from gateway.services.inbound import Principal
from storage.db import Database
from storage.models import Account, Provider
from storage.portal_models import Delegation

ATENDIMENTO = "atendimento"
FATURAMENTO = "faturamento"
COMERCIAL = "comercial"
ALL_ROLES = frozenset(ROLES)

HOME = "home"
MY_DATA = "my_data"
UPLOAD = "upload"
FILES = "files"
STATUS = "status"
CAPA = "capa"
STATEMENTS = "statements"
ELIGIBILITY = "eligibility"
TYPING = "typing"

FEATURE_ROLES: dict[str, frozenset[str]] = {
    HOME: ALL_ROLES,
    MY_DATA: frozenset({COMERCIAL}),
    UPLOAD: frozenset({FATURAMENTO}),
    FILES: frozenset({FATURAMENTO}),
    STATUS: frozenset({FATURAMENTO, ATENDIMENTO}),
    CAPA: frozenset({FATURAMENTO}),
    STATEMENTS: frozenset({FATURAMENTO}),
    ELIGIBILITY: frozenset({ATENDIMENTO}),
    TYPING: frozenset({FATURAMENTO}),
}


@dataclass(frozen=True)
class Acting:
    """One provider an account may act for, and with which roles."""

    account_id: int
    provider_id: int
    provider_name: str
    provider_code: str
    roles: frozenset[str]
    own: bool  # the provider's own account (not a delegate)
    account_login: str = ""  # who acts: archived as the sender of what the area sends

    def may(self, feature: str) -> bool:
        return bool(self.roles & FEATURE_ROLES[feature])

    @property
    def role_labels(self) -> list[str]:
        return [ROLES[r] for r in sorted(self.roles)]

    @property
    def principal(self) -> Principal:
        return Principal(
            account_id=self.account_id, provider_id=self.provider_id, login=self.account_login
        )


def acting_choices(db: Database, account_id: int, now: datetime) -> tuple[Acting, ...]:
    """Every credentialed provider this account may act for in the provider area."""
    with db.reading() as session:
        account = session.get(Account, account_id)
        if account is None or not account.active:
            return ()
        found: list[Acting] = []
        own = account.provider
        if account.kind == "provider" and own is not None and own.status == "approved":
            found.append(_acting(account, own, ALL_ROLES, own=True))
        if account.kind == "delegate":
            rows = session.execute(
                select(Delegation, Provider)
                .join(Provider, Provider.id == Delegation.provider_id)
                .where(
                    Delegation.delegate_account_id == account.id,
                    Delegation.status == "active",
                    Provider.status == "approved",
                )
                .order_by(Provider.name, Delegation.id)
            ).all()
            for delegation, provider in rows:
                if effective_status(delegation, now) == "active":
                    roles = frozenset(roles_of(delegation)) & ALL_ROLES
                    found.append(_acting(account, provider, roles, own=False))
        return tuple(found)


def _acting(account: Account, provider: Provider, roles: frozenset[str], *, own: bool) -> Acting:
    return Acting(
        account_id=account.id,
        provider_id=provider.id,
        provider_name=provider.name,
        provider_code=provider.codigo_na_operadora,
        roles=roles,
        own=own,
        account_login=account.login,
    )


def pick(choices: tuple[Acting, ...], wanted: int | None) -> Acting | None:
    """The provider chosen earlier when it is still allowed; with none chosen yet, the only one
    there is. A choice no longer allowed (its delegation just ended) is not replaced by the one
    left: a page opened for A would act for B, and a file meant for A be B's; the person
    chooses again."""
    for choice in choices:
        if choice.provider_id == wanted:
            return choice
    return choices[0] if wanted is None and len(choices) == 1 else None
