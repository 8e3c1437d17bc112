"""After the pre-approval: Identificação Complementar (establishment, network, complexity, the
qualification questionnaire, cities served), the Responsável Técnico, and the final submission.
Documents are in documents.py."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.services.credentialing import catalog, records
from gateway.services.validation import Fields, InvalidInput
from storage.db import Database
from storage.models import Account
from storage.portal_models import CredentialingCity, TechnicalRepresentative

STEPS = (
    "Identificação Principal",
    "Identificação Complementar",
    "Responsável Técnico",
    "Documentos",
    "Envio para análise",
    "Concluído",
)


@dataclass(frozen=True)
class Complementary:
    """The complementary-data form: single values plus the multi-valued ones."""

    values: Mapping[str, str]
    rede: Sequence[str]
    answers: Sequence[str]  # questionnaire codes answered "yes"


def save_complementary(db: Database, account_id: int, form: Complementary, now: datetime) -> None:
    fields = Fields(form.values)
    tipo = fields.choice("tipo_estabelecimento", catalog.TIPO_ESTABELECIMENTO)
    subtipo = fields.text("subtipo_estabelecimento", required=False, max_len=60)
    rede = fields.choices("rede", list(form.rede), catalog.REDE)
    if not rede:
        fields.fail("rede", "Escolha ao menos uma rede operacional.")
    grau = fields.choice("grau_complexidade", catalog.GRAU_COMPLEXIDADE)
    answers = fields.choices("questionario", list(form.answers), catalog.QUESTIONARIO)
    fields.check()
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_final(row)
        row.tipo_estabelecimento = tipo
        row.subtipo_estabelecimento = subtipo
        row.rede = ";".join(rede)
        row.grau_complexidade = grau
        row.questionario = json.dumps({code: code in answers for code in catalog.QUESTIONARIO})
        row.updated_at = now


def add_city(db: Database, account_id: int, data: Mapping[str, str], now: datetime) -> None:
    fields = Fields(data)
    municipio = fields.text("municipio", max_len=100)
    uf = fields.uf("uf")
    fields.check()
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_final(row)
        if any(c.municipio.lower() == municipio.lower() and c.uf == uf for c in row.cities):
            raise InvalidInput({"municipio": "Esta cidade já está na lista."})
        row.cities.append(CredentialingCity(municipio=municipio, uf=uf))
        row.updated_at = now


def remove_city(db: Database, account_id: int, city_id: int, now: datetime) -> None:
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_final(row)
        row.cities[:] = [c for c in row.cities if c.id != city_id]
        row.updated_at = now


def save_representative(
    db: Database, account_id: int, data: Mapping[str, str], now: datetime
) -> None:
    fields = Fields(data)
    values = dict(
        nome=fields.text("nome"),
        conselho=fields.choice("conselho", catalog.CONSELHOS),
        numero_conselho=fields.digits("numero_conselho", length=(1, 15), what="o número tem"),
        uf_conselho=fields.uf("uf_conselho"),
        cpf=fields.cpf("cpf"),
        rg=fields.text("rg", max_len=20),
    )
    fields.check()
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_final(row)
        if row.representative is None:
            row.representative = TechnicalRepresentative(**values)
        else:
            for key, value in values.items():
                setattr(row.representative, key, value)
        row.updated_at = now


def missing_before_final(row) -> list[str]:
    missing = []
    if not (row.rede and row.grau_complexidade and row.questionario):
        missing.append("Preencha a Identificação Complementar.")
    if not row.cities:
        missing.append("Informe ao menos uma cidade de atuação.")
    if row.representative is None:
        missing.append("Informe o Responsável Técnico.")
    sent = {d.doc_type for d in row.documents}
    absent = [t for t in catalog.REQUIRED_DOCUMENTS[row.person_kind] if t not in sent]
    if absent:
        names = "; ".join(catalog.DOCUMENT_TYPES[t] for t in absent)
        missing.append(f"Envie os documentos: {names}.")
    return missing


def submit_final(db: Database, account_id: int, now: datetime) -> None:
    with db.transaction() as session:
        row = records.own_request(session, account_id, lock=True)
        records.require_final(row)
        missing = missing_before_final(row)
        if missing:
            raise InvalidInput({"submit": " ".join(missing)})
        row.complement_phase = None
        records.record(
            session, row, session.get(Account, account_id), "submit", "final_review", now
        )
