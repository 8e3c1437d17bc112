"""What the use cases hand out: plain, frozen copies of a request and everything attached to it,
readable after the database session is closed."""

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime

from gateway.services.credentialing import catalog
from storage.portal_models import CredentialingRequest


def _copy(cls, row):
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class AddressView:
    id: int
    cep: str
    logradouro: str
    numero: str
    complemento: str | None
    bairro: str | None
    municipio: str
    uf: str
    cnes: str


@dataclass(frozen=True)
class ContactView:
    id: int
    nome: str
    cargo: str | None
    email: str
    telefone: str


@dataclass(frozen=True)
class CityView:
    id: int
    municipio: str
    uf: str


@dataclass(frozen=True)
class RepresentativeView:
    nome: str
    conselho: str
    numero_conselho: str
    uf_conselho: str
    cpf: str
    rg: str


@dataclass(frozen=True)
class DocumentView:
    id: int
    doc_type: str
    file_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime

    @property
    def type_label(self) -> str:
        return catalog.DOCUMENT_TYPES.get(self.doc_type, self.doc_type)


@dataclass(frozen=True)
class DecisionView:
    id: int
    action: str
    from_status: str
    to_status: str
    actor_login: str
    actor_kind: str
    decided_at: datetime
    reason: str | None

    @property
    def to_label(self) -> str:
        return catalog.STATUS.get(self.to_status, self.to_status)


@dataclass(frozen=True)
class RequestView:
    id: int
    account_id: int
    login: str
    account_name: str | None
    person_kind: str
    document: str
    status: str
    complement_phase: str | None
    tipo_cnpj: str | None
    razao_social: str | None
    nome_fantasia: str | None
    segmento: str | None
    tipo_estabelecimento: str | None
    inscricao_estadual: str | None
    site: str | None
    email: str | None
    celular: str | None
    banco: str | None
    agencia: str | None
    conta: str | None
    regime_tributario: str | None
    subtipo_estabelecimento: str | None
    rede: tuple[str, ...]
    grau_complexidade: str | None
    questionario: dict
    provider_id: int | None
    provider_code: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    addresses: tuple[AddressView, ...]
    contacts: tuple[ContactView, ...]
    cities: tuple[CityView, ...]
    representative: RepresentativeView | None
    documents: tuple[DocumentView, ...]
    decisions: tuple[DecisionView, ...]

    @property
    def status_label(self) -> str:
        return catalog.STATUS[self.status]

    @property
    def editing_pre(self) -> bool:
        """The candidate may change the provider data (before the pre-approval)."""
        return self.status == "draft" or (
            self.status == "complement_requested" and self.complement_phase == "pre"
        )

    @property
    def editing_final(self) -> bool:
        """The candidate may fill the steps that follow the pre-approval."""
        return self.status == "pre_approved" or (
            self.status == "complement_requested" and self.complement_phase == "final"
        )

    @property
    def past_pre_approval(self) -> bool:
        return self.status in ("pre_approved", "final_review", "approved") or (
            self.status == "complement_requested" and self.complement_phase == "final"
        )

    @property
    def display_name(self) -> str:
        return self.razao_social or self.account_name or self.document

    @property
    def operator_message(self) -> DecisionView | None:
        """The operator's last word with a message, shown in the "Atenção!" box."""
        last = self.decisions[-1] if self.decisions else None
        return last if last is not None and last.actor_kind == "staff" and last.reason else None

    @property
    def answered_yes(self) -> list[str]:
        return [code for code, yes in self.questionario.items() if yes]

    @property
    def missing_documents(self) -> list[str]:
        sent = {d.doc_type for d in self.documents}
        return [t for t in catalog.REQUIRED_DOCUMENTS[self.person_kind] if t not in sent]


def request_view(row: CredentialingRequest, provider_code: str | None = None) -> RequestView:
    rep = row.representative
    return RequestView(
        **{
            f.name: getattr(row, f.name)
            for f in dataclasses.fields(RequestView)
            if f.name
            not in {
                "login",
                "account_name",
                "rede",
                "questionario",
                "provider_code",
                "addresses",
                "contacts",
                "cities",
                "representative",
                "documents",
                "decisions",
                "created_at",
                "updated_at",
                "submitted_at",
            }
        },
        login=row.account.login,
        account_name=row.account.name,
        rede=tuple(r for r in (row.rede or "").split(";") if r),
        questionario=json.loads(row.questionario or "{}"),
        provider_code=provider_code,
        created_at=row.created_at,
        updated_at=row.updated_at,
        submitted_at=row.submitted_at,
        addresses=tuple(_copy(AddressView, a) for a in row.addresses),
        contacts=tuple(_copy(ContactView, c) for c in row.contacts),
        cities=tuple(_copy(CityView, c) for c in row.cities),
        representative=_copy(RepresentativeView, rep) if rep is not None else None,
        documents=tuple(_copy(DocumentView, d) for d in row.documents),
        decisions=tuple(_copy(DecisionView, d) for d in row.decisions),
    )
