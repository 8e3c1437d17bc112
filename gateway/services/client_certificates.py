"""Certificates instead of passwords, by agreement (Segurança e Privacidade, item 3).

The operator registers the certificate(s) a provider may present at the TLS handshake instead of
its web-service password; nginx verifies the certificate (chain, validity, CRL) and the gateway,
trusting nginx's headers (`TISS_CLIENT_CERT_HEADERS`), looks its SHA-256 up here. A certificate
belongs to one provider; removing it ends the agreement at once.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.services.admin import AdminError, find_provider
from gateway.tiss.client_certificates import (
    CertificateError,
    CertificateInfo,
    normalize_fingerprint,
    read_certificate,
)
from gateway.tiss.header import describe, documents
from storage.db import Database
from storage.models import Provider, ProviderCertificate

APPROVED = "approved"


class HolderMismatch(AdminError):
    """The certificate names (ICP-Brasil otherName) a CNPJ or CPF that is not the provider's:
    registering it anyway takes `force`."""


@dataclass(frozen=True)
class RegisteredCertificate:
    provider_code: str
    sha256: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    added_at: datetime


def add_certificate(
    db: Database,
    provider: str,
    data: bytes,
    now: datetime | None = None,
    *,
    force: bool = False,
) -> RegisteredCertificate:
    """Register the certificate in `data` (one PEM or DER certificate) for the provider named by
    `provider` (CNPJ, CPF or codigoPrestadorNaOperadora).

    A certificate whose ICP-Brasil fields name another CNPJ or CPF (`holder_document`) is most
    likely someone else's: refused with HolderMismatch unless `force`. One that names nobody
    (not ICP-Brasil) is the operator's word alone, as ever."""
    now = now or datetime.now(UTC)
    try:
        info = read_certificate(data)
    except CertificateError as exc:
        raise AdminError(str(exc)) from None
    if info.is_ca:
        raise AdminError(f"{info.subject} é uma AC, não o certificado de um prestador")
    if info.not_after <= now:
        raise AdminError(f"o certificado {info.subject} venceu em {info.not_after:%Y-%m-%d}")
    with db.transaction() as session:
        owner = find_provider(session, provider)
        if not force:
            _check_holder(info, owner)
        taken = session.scalar(
            select(ProviderCertificate).where(ProviderCertificate.sha256 == info.sha256)
        )
        if taken is not None:
            holder = session.get(Provider, taken.provider_id)
            raise AdminError(
                f"o certificado já está cadastrado para o prestador {holder.codigo_na_operadora}"
            )
        row = ProviderCertificate(
            provider_id=owner.id,
            sha256=info.sha256,
            subject=info.subject[:500],
            issuer=info.issuer[:500],
            serial=info.serial[:64],
            not_before=info.not_before,
            not_after=info.not_after,
            added_at=now,
        )
        session.add(row)
        return _view(owner, row)


def list_certificates(db: Database, provider: str) -> list[RegisteredCertificate]:
    with db.reading() as session:
        owner = find_provider(session, provider)
        rows = session.scalars(
            select(ProviderCertificate)
            .where(ProviderCertificate.provider_id == owner.id)
            .order_by(ProviderCertificate.id)
        )
        return [_view(owner, row) for row in rows]


def remove_certificate(db: Database, provider: str, fingerprint: str) -> RegisteredCertificate:
    """End the agreement for one certificate (given by its SHA-256, with or without colons)."""
    try:
        sha256 = normalize_fingerprint(fingerprint)
    except CertificateError as exc:
        raise AdminError(str(exc)) from None
    with db.transaction() as session:
        owner = find_provider(session, provider)
        row = session.scalar(
            select(ProviderCertificate).where(
                ProviderCertificate.provider_id == owner.id, ProviderCertificate.sha256 == sha256
            )
        )
        if row is None:
            raise AdminError(
                f"o prestador {owner.codigo_na_operadora} não tem certificado com essa impressão"
            )
        view = _view(owner, row)
        session.delete(row)
        return view


# Built once: every message that arrives with a trusted certificate runs it.
_PROVIDER_BY_CERTIFICATE = (
    select(Provider)
    .join(ProviderCertificate, ProviderCertificate.provider_id == Provider.id)
    .where(ProviderCertificate.sha256 == bindparam("sha256"), Provider.status == APPROVED)
)


def certificate_provider(session: Session, certificate: CertificateInfo) -> Provider | None:
    """The approved provider this certificate is registered for, or None (not registered, or its
    provider is not approved: both are refused alike)."""
    return session.scalar(_PROVIDER_BY_CERTIFICATE, {"sha256": certificate.sha256})


_REGISTERED_FOR = select(ProviderCertificate.id).where(
    ProviderCertificate.provider_id == bindparam("provider_id"),
    ProviderCertificate.sha256 == bindparam("sha256"),
)


def is_registered_for(session: Session, provider_id: int, sha256: str) -> bool:
    """Whether the certificate with this fingerprint is registered for this provider: the
    operator's word that it is the provider's, whatever CNPJ or CPF it names."""
    found = session.scalar(_REGISTERED_FOR, {"provider_id": provider_id, "sha256": sha256})
    return found is not None


def _check_holder(info: CertificateInfo, owner: Provider) -> None:
    holder = info.holder
    owned = documents(owner.cnpj, owner.cpf)
    if holder is None or holder in owned:
        return
    raise HolderMismatch(
        f"o certificado {info.subject} identifica o {holder.kind} {holder.value} (ICP-Brasil), "
        f"não o prestador {owner.codigo_na_operadora} ({describe(owned) or 'sem CNPJ nem CPF'})"
    )


def _view(owner: Provider, row: ProviderCertificate) -> RegisteredCertificate:
    return RegisteredCertificate(
        provider_code=owner.codigo_na_operadora,
        sha256=row.sha256,
        subject=row.subject,
        issuer=row.issuer,
        serial=row.serial,
        not_before=row.not_before,
        not_after=row.not_after,
        added_at=row.added_at,
    )
