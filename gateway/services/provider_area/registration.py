"""Meus Dados (seed 004, 2.1): the registration data of the provider, as the operator keeps it.
Read-only: changes to bank or registration data go through the operator, which checks them."""

from dataclasses import dataclass

from sqlalchemy import select

from gateway.services.credentialing import catalog
from gateway.services.credentialing.views import AddressView
from storage.db import Database
from storage.models import Operator, Provider
from storage.portal_models import CredentialingRequest


@dataclass(frozen=True)
class ProviderData:
    name: str
    codigo: str
    person_kind: str  # PJ | PF
    document: str
    cnes: str
    tipo: str | None  # tipo do prestador: segment and kind of establishment
    conselho: str | None
    uf_conselho: str | None
    email: str | None
    celular: str | None
    banco: str | None
    agencia: str | None
    agencia_dv: str | None
    conta: str | None
    conta_dv: str | None
    addresses: tuple[AddressView, ...]
    credentialed_in_portal: bool


def _split_dv(value: str | None) -> tuple[str | None, str | None]:
    """'56789-0' -> ('56789', '0'): the check digit is shown in its own field, as in seed 004."""
    if not value:
        return None, None
    number, _, dv = value.partition("-")
    return number.strip() or None, dv.strip() or None


def provider_data(db: Database, provider_id: int) -> ProviderData | None:
    with db.reading() as session:
        provider = session.get(Provider, provider_id)
        if provider is None:
            return None
        request = session.scalar(
            select(CredentialingRequest)
            .where(CredentialingRequest.provider_id == provider_id)
            .order_by(CredentialingRequest.id.desc())
            .limit(1)
        )
        agencia, agencia_dv = _split_dv(request.agencia if request else None)
        conta, conta_dv = _split_dv(request.conta if request else None)
        representative = request.representative if request else None
        tipo = None
        if request is not None and (request.segmento or request.tipo_estabelecimento):
            parts = [
                catalog.SEGMENTO.get(request.segmento or "", ""),
                catalog.TIPO_ESTABELECIMENTO.get(request.tipo_estabelecimento or "", ""),
            ]
            tipo = " · ".join(p for p in parts if p) or None
        return ProviderData(
            name=provider.name,
            codigo=provider.codigo_na_operadora,
            person_kind=provider.person_kind,
            document=provider.cnpj or provider.cpf or "",
            cnes=provider.cnes,
            tipo=tipo,
            conselho=representative.conselho if representative else None,
            uf_conselho=representative.uf_conselho if representative else None,
            email=request.email if request else None,
            celular=request.celular if request else None,
            banco=catalog.BANCOS.get(request.banco, request.banco) if request else None,
            agencia=agencia,
            agencia_dv=agencia_dv,
            conta=conta,
            conta_dv=conta_dv,
            addresses=tuple(
                AddressView(
                    a.id,
                    a.cep,
                    a.logradouro,
                    a.numero,
                    a.complemento,
                    a.bairro,
                    a.municipio,
                    a.uf,
                    a.cnes,
                )
                for a in (request.addresses if request else ())
            ),
            credentialed_in_portal=request is not None,
        )


def operator_label(db: Database, registro_ans: str | None) -> str:
    """How documents name the operator that issues them."""
    with db.reading() as session:
        name = session.scalar(select(Operator.name).limit(1))
    return f"{name or 'Operadora'} · Registro ANS {registro_ans or '—'}"
