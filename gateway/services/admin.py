"""Operator set-up: this operator's identity and its credentialed providers."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.forms import has_invisible_characters, is_digits
from gateway.services.accounts.policy import password_problem
from gateway.services.documents import normalize, valid_cnpj, valid_cpf
from gateway.services.passwords import hash_password
from storage.db import Database
from storage.models import Account, Operator, Provider


class AdminError(ValueError):
    """A clear, user-facing reason why an operator command cannot be done."""


def set_operator(db: Database, registro_ans: str, name: str, cnpj: str | None = None) -> Operator:
    if not is_digits(registro_ans, 6):
        raise AdminError("o registro ANS tem 6 dígitos")
    if not name.strip():
        raise AdminError("informe o nome da operadora")
    if cnpj is not None:
        cnpj = normalize(cnpj)
        if not valid_cnpj(cnpj):
            raise AdminError(f"CNPJ {cnpj} inválido (dígitos verificadores não conferem)")
    now = datetime.now(UTC)
    with db.transaction() as session:
        operator = session.scalar(select(Operator).limit(1))
        if operator is None:
            operator = Operator(registro_ans=registro_ans, name=name.strip(), updated_at=now)
            session.add(operator)
        else:
            operator.registro_ans, operator.name, operator.updated_at = (
                registro_ans,
                name.strip(),
                now,
            )
        if cnpj is not None:  # left as it was when not given
            operator.cnpj = cnpj
    return operator


@dataclass(frozen=True)
class NewProvider:
    provider_id: int
    login: str
    codigo_na_operadora: str


def add_provider(
    db: Database,
    *,
    code: str,
    name: str,
    password: str,
    cnpj: str | None = None,
    cpf: str | None = None,
    cnes: str | None = None,
) -> NewProvider:
    """An approved provider whose web-service login is its CNPJ/CPF (digits, or the letters and
    digits of an alphanumeric CNPJ)."""
    if bool(cnpj) == bool(cpf):
        raise AdminError("informe --cnpj ou --cpf (um dos dois)")
    if cnpj is not None:
        doc = normalize(cnpj)
        if not valid_cnpj(doc):
            raise AdminError(f"CNPJ {cnpj} inválido (dígitos verificadores não conferem)")
    else:
        doc = normalize(cpf)
        if not valid_cpf(doc):
            raise AdminError(f"CPF {cpf} inválido (dígitos verificadores não conferem)")
    code = code.strip()
    if not code or len(code) > 14:
        raise AdminError("o código do prestador na operadora tem de 1 a 14 caracteres")
    cnes = (cnes or "9999999").strip()
    if not is_digits(cnes, 7):
        raise AdminError("o CNES tem 7 dígitos (9999999 quando não houver)")
    name = " ".join(name.split())
    if not name or len(name) > 200 or has_invisible_characters(name):
        raise AdminError(
            "o nome do prestador tem de 1 a 200 caracteres, sem caracteres de controle"
        )
    if len(password) < 8:  # said first, as before: the commonest mistake
        raise AdminError("a senha deve ter ao menos 8 caracteres")
    # Item 67, as for every other account: the same password opens the portal.
    if problem := password_problem(password):
        raise AdminError(problem)
    now = datetime.now(UTC)
    with db.transaction() as session:
        clash = session.scalar(
            select(Provider).where(
                or_(
                    Provider.codigo_na_operadora == code,
                    Provider.cnpj == doc if cnpj else Provider.cpf == doc,
                )
            )
        )
        if clash is not None or session.scalar(select(Account).where(Account.login == doc)):
            raise AdminError("já existe prestador com esse documento ou código")
        if cpf and session.scalar(select(Account.id).where(Account.cpf == doc)):
            # Item 41, one user per CPF: the web service would take the Secretária/o's CPF login
            # for this provider's.
            raise AdminError(f"o CPF {doc} já é de uma conta de Secretária/o: um usuário por CPF")
        provider = Provider(
            person_kind="PJ" if cnpj else "PF",
            cnpj=doc if cnpj else None,
            cpf=doc if cpf else None,
            codigo_na_operadora=code,
            name=name,
            cnes=cnes,
            status="approved",
            created_at=now,
        )
        session.add(provider)
        session.flush()
        session.add(
            Account(
                login=doc,
                kind="provider",
                provider_id=provider.id,
                password_hash=hash_password(password),
                active=True,
                failed_attempts=0,
                password_changed_at=now,
                created_at=now,
            )
        )
        return NewProvider(provider.id, doc, code)


def find_provider(session: Session, ref: str) -> Provider:
    """The provider an operator names in a command: by codigoPrestadorNaOperadora, else by CNPJ
    or CPF (with or without punctuation)."""
    ref = ref.strip()
    found = session.scalar(select(Provider).where(Provider.codigo_na_operadora == ref))
    if found is None and (doc := normalize(ref)):
        found = session.scalar(
            select(Provider).where(or_(Provider.cnpj == doc, Provider.cpf == doc))
        )
    if found is None:
        raise AdminError(f"não há prestador com o CNPJ, CPF ou código {ref}")
    return found


def set_require_signature(db: Database, provider: str, required: bool) -> Provider:
    """Whether every message of the provider (code, CNPJ or CPF) must carry a valid digital
    signature (agreed with the provider beforehand)."""
    with db.transaction() as session:
        found = find_provider(session, provider)
        found.require_signature = required
    return found
