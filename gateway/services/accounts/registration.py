"""New portal accounts: the candidate's (created by credentialing) and the Secretária/o's, who
registers alone, with CPF and e-mail as login, and acts for providers once invited (seed 003)."""

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.services.accounts import access_log
from gateway.services.accounts.access_log import Origin
from gateway.services.accounts.credentials import check_new_password, store_password
from gateway.services.validation import Fields, InvalidInput
from storage.db import Database
from storage.models import Account

DELEGATE = "delegate"


CPF_IS_A_PROVIDERS_LOGIN = (
    "Este CPF já é o login de um prestador pessoa física: um usuário por CPF. Entre com ele."
)
CPF_IS_A_DELEGATES = "Este CPF já é de uma conta de Secretária/o: um usuário por CPF."


def read_account_fields(fields: Fields) -> tuple[str | None, str | None, str]:
    """Name, e-mail (typed twice) and the password (typed twice) of a new account."""
    name = fields.text("name", max_len=200)
    email = fields.email("email")
    if email and (fields.raw("email_confirm") or "").lower() != email:
        fields.fail("email_confirm", "A confirmação não confere com o e-mail.")
    password = fields.data.get("password") or ""
    try:
        check_new_password(password, fields.data.get("password_confirm") or "")
    except InvalidInput as exc:
        for key, message in exc.errors.items():
            fields.fail(key, message)
    if fields.data.get("terms") not in ("on", "1", "true", "sim"):
        fields.fail("terms", "É preciso aceitar os termos de uso para criar a conta.")
    return name, email, password


def new_account(
    session: Session,
    *,
    login: str,
    kind: str,
    password: str,
    now: datetime,
    name: str | None,
    email: str | None,
    cpf: str | None = None,
    login_field: str = "login",
) -> Account:
    if session.scalar(select(Account.id).where(Account.login == login)) is not None:
        raise InvalidInput(
            {login_field: "Já existe uma conta com este login. Use “Já tenho conta”."}
        )
    # Item 41, one user per CPF: a pessoa física provider's login is its CPF, and a Secretária/o
    # logs in to the web service with hers. Both on one CPF, the web service would find the
    # provider's account for the Secretária/o and count her password against it.
    if cpf is not None and session.scalar(select(Account.id).where(Account.login == cpf)):
        raise InvalidInput({"cpf": CPF_IS_A_PROVIDERS_LOGIN})
    if session.scalar(select(Account.id).where(Account.cpf == login, Account.kind == DELEGATE)):
        raise InvalidInput({login_field: CPF_IS_A_DELEGATES})
    account = Account(
        login=login,
        kind=kind,
        provider_id=None,
        password_hash="",
        active=True,
        failed_attempts=0,
        password_changed_at=now,
        created_at=now,
        name=name,
        email=email,
        cpf=cpf,
        must_change_password=False,
        terms_accepted_at=now,
    )
    session.add(account)
    session.flush()
    store_password(session, account, password, now)
    return account


def register_delegate(db: Database, data: Mapping[str, str], now: datetime, origin: Origin) -> int:
    fields = Fields(data)
    cpf = fields.cpf("cpf")
    name, email, password = read_account_fields(fields)
    if email and len(email) > 60:
        fields.fail("email", "O e-mail é o login: use um e-mail de até 60 caracteres.")
    fields.check()
    with db.transaction() as session:
        taken = session.scalar(
            select(Account.id).where(Account.cpf == cpf, Account.kind == DELEGATE)
        )
        if taken is not None:  # item 41: one user per CPF
            raise InvalidInput({"cpf": "Já existe uma conta de Secretária/o com este CPF."})
        account = new_account(
            session,
            login=email,
            kind=DELEGATE,
            password=password,
            now=now,
            name=name,
            email=email,
            cpf=cpf,
            login_field="email",
        )
        access_log.record(session, "account_created", now, origin, account_id=account.id)
        return account.id
