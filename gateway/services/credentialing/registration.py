"""Auto Cadastro: the candidate creates its account (login = CPF/CNPJ), fills the provider data,
addresses, contact persons, bank data and tax regime, and submits them for the operator's
analysis. The data may be changed until submitted, and again if the operator asks for it."""

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import or_, select

from gateway.services.accounts import access_log
from gateway.services.accounts.access_log import Origin
from gateway.services.accounts.registration import new_account, read_account_fields
from gateway.services.credentialing import catalog, records
from gateway.services.validation import Fields, InvalidInput
from storage.db import Database
from storage.models import Account, Provider
from storage.portal_models import (
    CredentialingAddress,
    CredentialingContact,
    CredentialingRequest,
)

PROVIDER = "provider"


def start(db: Database, data: Mapping[str, str], now: datetime, origin: Origin) -> int:
    """Create the candidate's account and its request; returns the account id."""
    fields = Fields(data)
    kind = fields.choice("person_kind", catalog.PERSON_KINDS)
    document = None
    if kind == "PJ":
        document = fields.cnpj("document")
    elif kind == "PF":
        document = fields.cpf("document")
    name, email, password = read_account_fields(fields)
    fields.check()
    with db.transaction() as session:
        known = session.scalar(
            select(Provider.id).where(or_(Provider.cnpj == document, Provider.cpf == document))
        )
        if known is not None:
            message = "Este CPF/CNPJ já é de um prestador credenciado. Use “Já tenho conta”."
            raise InvalidInput({"document": message})
        account = new_account(
            session,
            login=document,
            kind=PROVIDER,
            password=password,
            now=now,
            name=name,
            email=email,
            login_field="document",
        )
        row = CredentialingRequest(
            account_id=account.id,
            person_kind=kind,
            document=document,
            status="draft",
            email=email,
            razao_social=name,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        records.record(session, row, account, "create", "draft", now)
        access_log.record(session, "account_created", now, origin, account_id=account.id)
        return account.id


def save_provider_data(db: Database, account_id: int, data: Mapping[str, str], now: datetime):
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_pre(row)
        fields = Fields(data)
        values = dict(
            tipo_cnpj=fields.choice(
                "tipo_cnpj", catalog.TIPO_CNPJ, required=row.person_kind == "PJ"
            ),
            razao_social=fields.text("razao_social"),
            nome_fantasia=fields.text("nome_fantasia", required=False),
            segmento=fields.choice("segmento", catalog.SEGMENTO),
            tipo_estabelecimento=fields.choice(
                "tipo_estabelecimento", catalog.TIPO_ESTABELECIMENTO
            ),
            inscricao_estadual=fields.text("inscricao_estadual", required=False, max_len=20),
            site=fields.text("site", required=False),
            email=fields.email("email"),
            celular=fields.digits("celular", length=(10, 11), required=False, what="o celular tem"),
            banco=fields.choice("banco", catalog.BANCOS),
            agencia=fields.text("agencia", max_len=10),
            conta=fields.text("conta", max_len=20),
            regime_tributario=fields.choice("regime_tributario", catalog.REGIME_TRIBUTARIO),
        )
        fields.check()
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = now


def add_address(db: Database, account_id: int, data: Mapping[str, str], now: datetime) -> None:
    fields = Fields(data)
    address = CredentialingAddress(
        cep=fields.digits("cep", length=8, what="o CEP tem"),
        logradouro=fields.text("logradouro"),
        numero=fields.text("numero", max_len=20),
        complemento=fields.text("complemento", required=False, max_len=100),
        bairro=fields.text("bairro", required=False, max_len=100),
        municipio=fields.text("municipio", max_len=100),
        uf=fields.uf("uf"),
        cnes=fields.digits("cnes", length=7, what="o CNES tem") or "",
    )
    fields.check()
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_pre(row)
        row.addresses.append(address)
        row.updated_at = now


def add_contact(db: Database, account_id: int, data: Mapping[str, str], now: datetime) -> None:
    fields = Fields(data)
    contact = CredentialingContact(
        nome=fields.text("nome"),
        cargo=fields.text("cargo", required=False, max_len=100),
        email=fields.email("email"),
        telefone=fields.digits("telefone", length=(10, 11), what="o telefone tem"),
    )
    fields.check()
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_pre(row)
        row.contacts.append(contact)
        row.updated_at = now


def remove_item(db: Database, account_id: int, kind: str, item_id: int, now: datetime) -> None:
    """Remove one of the candidate's addresses or contacts (kind 'address' | 'contact')."""
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_pre(row)
        items = row.addresses if kind == "address" else row.contacts
        for item in list(items):
            if item.id == item_id:
                items.remove(item)
        row.updated_at = now


def missing_before_submit(row: CredentialingRequest) -> list[str]:
    missing = []
    required = ["razao_social", "segmento", "tipo_estabelecimento", "email", "banco", "agencia"]
    required += ["conta", "regime_tributario"] + (["tipo_cnpj"] if row.person_kind == "PJ" else [])
    if any(not getattr(row, name) for name in required):
        missing.append("Preencha e salve os dados do prestador (campos com *).")
    if not row.addresses:
        missing.append("Informe ao menos um endereço.")
    if not row.contacts:
        missing.append("Informe ao menos uma pessoa de contato.")
    return missing


def submit(db: Database, account_id: int, now: datetime) -> None:
    """Send the pre-registration for the operator's analysis."""
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_pre(row)
        missing = missing_before_submit(row)
        if missing:
            raise InvalidInput({"submit": " ".join(missing)})
        account = session.get(Account, account_id)
        row.submitted_at = now
        row.complement_phase = None
        records.record(session, row, account, "submit", "submitted", now)
