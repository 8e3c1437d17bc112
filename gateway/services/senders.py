"""Who sends a message, as its checks and its use case read it: plain snapshots of the provider
and of the web-service account, not ORM objects.

Every message looks up the account of loginSenhaPrestador with its provider. Loaded as two ORM
entities, that lookup was the largest single cost of a status query: one Core statement and these
snapshots take 11-12% off the CPU a status query spends in the application (measured alternating
the two, request by request, in one process). Nothing of a message's handling writes through
these objects: writes go by id (ws_login, the lot's INSERTs)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from gateway.services.accounts.authentication import canonical_login
from storage.db import core
from storage.models import Account, Provider

PROVIDER_ACCOUNT = "provider"
DELEGATE = "delegate"  # Secretária/o: acts for providers that delegated a role to it


@dataclass(frozen=True)
class ProviderRef:
    """A provider's identity and settings at the time the message is handled."""

    id: int
    person_kind: str
    cnpj: str | None
    cpf: str | None
    codigo_na_operadora: str
    name: str
    cnes: str
    status: str
    require_signature: bool

    @classmethod
    def of(cls, provider: Provider) -> "ProviderRef":
        return cls(**{name: getattr(provider, name) for name in _PROVIDER_FIELDS})


_PROVIDER_FIELDS = tuple(ProviderRef.__dataclass_fields__)


@dataclass(frozen=True)
class WsAccount:
    """The account loginSenhaPrestador names: what the login check and the sender check read."""

    id: int
    kind: str  # provider | delegate
    provider_id: int | None
    password_hash: str
    active: bool
    failed_attempts: int
    locked_until: datetime | None
    provider: ProviderRef | None  # its own provider; a delegate has none


_ACCOUNT_FIELDS = tuple(name for name in WsAccount.__dataclass_fields__ if name != "provider")
_ACCOUNTS, _PROVIDERS = Account.__table__, Provider.__table__


def _account_by(column):
    # Account and provider in one statement, Core rows only; built once per lookup column.
    # `or_`, not `in_`: a constant IN list is an "expanding" parameter, rendered again on every
    # execution.
    return (
        select(
            *(_ACCOUNTS.c[name] for name in _ACCOUNT_FIELDS),
            *(_PROVIDERS.c[name].label(f"p_{name}") for name in _PROVIDER_FIELDS),
        )
        .select_from(_ACCOUNTS.outerjoin(_PROVIDERS, _ACCOUNTS.c.provider_id == _PROVIDERS.c.id))
        .where(
            column == bindparam("login"),
            or_(_ACCOUNTS.c.kind == PROVIDER_ACCOUNT, _ACCOUNTS.c.kind == DELEGATE),
        )
    )


_BY_LOGIN = _account_by(_ACCOUNTS.c.login)
# A delegate's portal login is an e-mail, often longer than loginPrestador's 20 characters: on
# the web service it logs in with its CPF.
_DELEGATE_BY_CPF = _account_by(_ACCOUNTS.c.cpf).where(_ACCOUNTS.c.kind == DELEGATE)


def find_ws_account(session: Session, login: str) -> WsAccount | None:
    """The provider or delegate account whose login (or, for a delegate, CPF) is `login`; an
    e-mail login in any case, as the portal takes it."""
    login = canonical_login(login)
    connection = core(session)
    row = connection.execute(_BY_LOGIN, {"login": login}).first()
    if row is None:
        row = connection.execute(_DELEGATE_BY_CPF, {"login": login}).first()
    if row is None:
        return None
    # The row is the account's columns, then the provider's (see _account_by).
    split = len(_ACCOUNT_FIELDS)
    provider = ProviderRef(*row[split:]) if row.provider_id is not None else None
    return WsAccount(*row[:split], provider=provider)
