"""Use cases of "Digitação de Guias" (seed 004, 6): open a protocol of a guide type (or continue
the open one), type guides into it, finish typing, and send it. Sending writes the typed guides
as a TISS lot file (gateway.tiss.typed_guides) and hands it to the portal's upload use case, so
it goes through every check of tissLoteGuias and lands exactly like an uploaded file.

Only the Guia de Consulta can be typed for now.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from gateway.services.beneficiaries import card_holder
from gateway.services.gateway import Gateway
from gateway.services.inbound import Principal
from gateway.services.provider_area.paging import PAGE_SIZE, Page, offset
from gateway.services.uploads import UploadResult, upload_lot_file
from gateway.services.validation import InvalidInput
from gateway.tiss.header import CNPJ, CODIGO_PRESTADOR, CPF, Party
from gateway.tiss.lote import MAX_GUIDES_PER_LOT, total_fits
from gateway.tiss.typed_guides import (
    ConsultaGuide,
    GuideInvalid,
    TypedLot,
    mensagem_tiss,
    read_consulta,
    to_bytes,
)
from storage.db import Database
from storage.models import Provider
from storage.typed_models import TypedGuide, TypedProtocol

OPEN = "open"
FINISHED = "finished"
# Between "Enviar" and its answer: not reopened meanwhile (another tab would change guides the
# lot being sent no longer matches); "Enviar" again is safe (the same lot, the same protocol).
SENDING = "sending"
SENT = "sent"
STATUS_LABELS = {
    OPEN: "Em digitação",
    FINISHED: "Digitação finalizada",
    SENDING: "Enviando",
    SENT: "Enviado",
}

SUPPORTED = {"guiaConsulta": "Guia de Consulta"}


class TypedNotFound(LookupError):
    """No such typed protocol or guide for this provider (another provider's looks the same)."""


@dataclass(frozen=True)
class TypedGuideRow:
    id: int
    numero_guia_prestador: str
    numero_carteira: str
    nome_beneficiario: str | None
    data_atendimento: date
    valor: Decimal


@dataclass(frozen=True)
class TypedProtocolView:
    id: int
    guide_type: str
    status: str
    numero_lote: str
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    protocol_numero: str | None
    message_id: int | None
    guides: tuple[TypedGuideRow, ...]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def guide_type_label(self) -> str:
        return SUPPORTED.get(self.guide_type, self.guide_type)

    @property
    def total(self) -> Decimal:
        return sum((g.valor for g in self.guides), Decimal("0.00"))


def _view(row: TypedProtocol) -> TypedProtocolView:
    return TypedProtocolView(
        id=row.id,
        guide_type=row.guide_type,
        status=row.status,
        numero_lote=row.numero_lote,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sent_at=row.sent_at,
        protocol_numero=row.protocol_numero,
        message_id=row.message_id,
        guides=tuple(
            TypedGuideRow(
                g.id,
                g.numero_guia_prestador,
                g.numero_carteira,
                g.nome_beneficiario,
                g.data_atendimento,
                g.valor,
            )
            for g in row.guides
        ),
    )


def _own(session: Session, provider_id: int, typed_id: int, *, lock: bool = False):
    query = select(TypedProtocol).where(
        TypedProtocol.id == typed_id, TypedProtocol.provider_id == provider_id
    )
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise TypedNotFound()
    return row


def _editable(row: TypedProtocol) -> None:
    if row.status != OPEN:
        raise InvalidInput({"status": "A digitação deste protocolo foi finalizada."})


def open_protocol(
    db: Database, principal: Principal, guide_type: str, now: datetime
) -> tuple[int, bool]:
    """A new protocol of `guide_type`, or the one of that type still being typed (True)."""
    if guide_type not in SUPPORTED:
        raise InvalidInput({"guide_type": "Escolha o tipo de guia."})
    with db.transaction() as session:
        existing = session.scalar(
            select(TypedProtocol.id)
            .where(
                TypedProtocol.provider_id == principal.provider_id,
                TypedProtocol.guide_type == guide_type,
                TypedProtocol.status == OPEN,
            )
            .order_by(TypedProtocol.id)
            .limit(1)
        )
        if existing is not None:
            return existing, True
        row = TypedProtocol(
            provider_id=principal.provider_id,
            guide_type=guide_type,
            status=OPEN,
            created_by=principal.account_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        # st_texto12, and unlike the numbers a provider's own system gives its lots.
        row.numero_lote = f"DIG{row.id:09d}"
        return row.id, False


def list_protocols(db: Database, provider_id: int, number: int) -> Page:
    with db.reading() as session:
        total = session.scalar(
            select(func.count())
            .select_from(TypedProtocol)
            .where(TypedProtocol.provider_id == provider_id)
        )
        rows = session.scalars(
            select(TypedProtocol)
            .where(TypedProtocol.provider_id == provider_id)
            .options(selectinload(TypedProtocol.guides))
            .order_by(TypedProtocol.id.desc())
            .offset(offset(number))
            .limit(PAGE_SIZE)
        ).all()
        return Page(tuple(_view(r) for r in rows), number, total or 0)


def protocol(db: Database, provider_id: int, typed_id: int) -> TypedProtocolView:
    with db.reading() as session:
        return _view(_own(session, provider_id, typed_id))


def guide_form(db: Database, provider_id: int, typed_id: int, guide_id: int) -> dict[str, str]:
    """A typed guide's fields, to show it again for correction."""
    with db.reading() as session:
        _own(session, provider_id, typed_id)
        guide = session.get(TypedGuide, guide_id)
        if guide is None or guide.typed_protocol_id != typed_id:
            raise TypedNotFound()
        return json.loads(guide.fields)


def new_guide_defaults(db: Database, provider_id: int) -> dict[str, str]:
    """What the form starts with: the provider as executante, the usual codes."""
    with db.reading() as session:
        provider = session.get(Provider, provider_id)
        return {
            "codigo_prestador": provider.codigo_na_operadora,
            "cnes": provider.cnes,
            "indicacao_acidente": "9",
            "regime_atendimento": "01",
            "codigo_tabela": "22",
        }


@dataclass(frozen=True)
class SavedGuide:
    id: int
    nome_beneficiario: str | None  # None: the card is not in the operator's registry


def save_guide(
    gw: Gateway,
    principal: Principal,
    typed_id: int,
    form: Mapping[str, str],
    now: datetime,
    guide_id: int | None = None,
) -> SavedGuide:
    """Check and keep a typed guide (a new one, or `guide_id` corrected)."""
    schema = gw.schemas.get(gw.newest_version)
    with gw.db.transaction() as session:
        row = _own(session, principal.provider_id, typed_id, lock=True)
        _editable(row)
        provider = session.get(Provider, principal.provider_id)
        # The executante is the provider the guide is typed for (fields 9 and 10).
        values = dict(form, codigo_prestador=provider.codigo_na_operadora)
        try:
            guide = read_consulta(values, schema.domain, gw.local(now).date())
        except GuideInvalid as exc:
            raise InvalidInput(exc.errors) from None
        holder = session.scalar(card_holder(guide.numero_carteira))
        nome = holder.name if holder is not None else None
        # valorTotalProtocolo is st_decimal10-2: a lot whose guides sum past 10 digits cannot
        # be stated, and would be refused when sent.
        others = sum((g.valor for g in row.guides if g.id != guide_id), Decimal("0"))
        if not total_fits(others + guide.valor_procedimento):
            raise InvalidInput(
                {
                    "valor_procedimento": "com esta guia o total do protocolo passaria de 10 "
                    "dígitos, o maior que um lote pode declarar: envie-a em outro protocolo"
                }
            )
        target = _target(row, guide, guide_id, now, principal.account_id)
        target.numero_guia_prestador = guide.numero_guia_prestador
        target.numero_carteira = guide.numero_carteira
        target.nome_beneficiario = nome
        target.data_atendimento = guide.data_atendimento
        target.valor = guide.valor_procedimento
        target.fields = json.dumps(guide.as_form(), ensure_ascii=False)
        target.updated_at = row.updated_at = now
        session.flush()
        return SavedGuide(target.id, nome)


def _target(
    row: TypedProtocol, guide: ConsultaGuide, guide_id: int | None, now: datetime, account_id: int
) -> TypedGuide:
    """The guide to write: `guide_id` of this protocol, or a new one (a number used once)."""
    clash = next(
        (
            g
            for g in row.guides
            if g.numero_guia_prestador == guide.numero_guia_prestador and g.id != guide_id
        ),
        None,
    )
    if clash is not None:
        raise InvalidInput(
            {"numero_guia_prestador": "Já há uma guia com este número neste protocolo."}
        )
    if guide_id is not None:
        target = next((g for g in row.guides if g.id == guide_id), None)
        if target is None:
            raise TypedNotFound()
        return target
    if len(row.guides) >= MAX_GUIDES_PER_LOT:
        raise InvalidInput(
            {
                "status": f"Um lote tem no máximo {MAX_GUIDES_PER_LOT} guias: finalize e envie "
                "este protocolo e abra outro."
            }
        )
    target = TypedGuide(created_by=account_id, created_at=now)
    row.guides.append(target)
    return target


def remove_guide(
    db: Database, provider_id: int, typed_id: int, guide_id: int, now: datetime
) -> None:
    with db.transaction() as session:
        row = _own(session, provider_id, typed_id, lock=True)
        _editable(row)
        guide = next((g for g in row.guides if g.id == guide_id), None)
        if guide is None:
            raise TypedNotFound()
        row.guides.remove(guide)
        row.updated_at = now


def finish(db: Database, provider_id: int, typed_id: int, now: datetime) -> None:
    """Finalizar digitação: the protocol can be sent (or reopened to type more)."""
    with db.transaction() as session:
        row = _own(session, provider_id, typed_id, lock=True)
        _editable(row)
        if not row.guides:
            raise InvalidInput({"status": "Digite ao menos uma guia antes de finalizar."})
        row.status, row.finished_at, row.updated_at = FINISHED, now, now


def reopen(db: Database, provider_id: int, typed_id: int, now: datetime) -> None:
    with db.transaction() as session:
        row = _own(session, provider_id, typed_id, lock=True)
        if row.status == SENDING:
            raise InvalidInput(
                {"status": "O protocolo está sendo enviado: aguarde o resultado do envio."}
            )
        if row.status != FINISHED:
            raise InvalidInput({"status": "Só um protocolo finalizado e não enviado é reaberto."})
        row.status, row.finished_at, row.updated_at = OPEN, None, now


def send(
    gw: Gateway,
    principal: Principal,
    typed_id: int,
    *,
    remote_addr: str | None = None,
    request_id: str | None = None,
) -> UploadResult:
    """Write the finished protocol as a mensagemTISS lot file and run it through the upload use
    case (every tissLoteGuias check). Accepted: the protocol is marked sent with its number.
    Sending again after a failure is safe: the same lot gets the same protocol."""
    with gw.db.transaction() as session:
        row = _own(session, principal.provider_id, typed_id, lock=True)
        _sendable(row)
        row.status = SENDING
    try:
        data, numero_lote = _lot_file(gw, principal.provider_id, typed_id)
        result = upload_lot_file(
            gw,
            data,
            principal,
            remote_addr=remote_addr,
            request_id=request_id,
            file_name=f"digitacao-{numero_lote}.xml",
        )
    except BaseException:
        # Nothing was received: the protocol is finished again, to be reopened or sent again.
        _set_status(gw.db, principal.provider_id, typed_id, FINISHED)
        raise
    now = gw.utcnow()
    with gw.db.transaction() as session:
        row = _own(session, principal.provider_id, typed_id, lock=True)
        row.message_id = result.answer.message_id
        row.updated_at = now
        if result.accepted:
            row.status, row.sent_at, row.protocol_numero = SENT, now, result.protocol
        else:  # refused: reopened to correct, or sent again
            row.status = FINISHED
    return result


def _set_status(db: Database, provider_id: int, typed_id: int, status: str) -> None:
    with db.transaction() as session:
        _own(session, provider_id, typed_id, lock=True).status = status


def _sendable(row: TypedProtocol) -> None:
    if row.status == SENT:
        raise InvalidInput(
            {"status": f"Este protocolo já foi enviado (protocolo {row.protocol_numero})."}
        )
    if row.status not in (FINISHED, SENDING):  # SENDING: a send that never answered
        raise InvalidInput({"status": "Finalize a digitação antes de enviar."})


def _lot_file(gw: Gateway, provider_id: int, typed_id: int) -> tuple[bytes, str]:
    schema = gw.schemas.get(gw.newest_version)
    now = gw.utcnow()
    with gw.db.reading() as session:
        row = _own(session, provider_id, typed_id)  # marked SENDING by send(), which checked it
        provider = session.get(Provider, provider_id)
        guides = []
        for typed in row.guides:
            try:  # checked again: the accepted codes may have changed since it was typed
                guides.append(
                    read_consulta(json.loads(typed.fields), schema.domain, gw.local(now).date())
                )
            except GuideInvalid as exc:
                problems = "; ".join(exc.errors.values())
                raise InvalidInput(
                    {
                        "status": f"Guia {typed.numero_guia_prestador}: {problems}. Reabra e "
                        "corrija a guia."
                    }
                ) from None
        lot = TypedLot(
            registro_ans=gw.registro_ans(),
            origem=_origem(provider),
            numero_lote=row.numero_lote,
            version=gw.newest_version,
            sequencial=str(row.id),
            when=gw.local(now).replace(tzinfo=None),
            guides=tuple(guides),
        )
        return to_bytes(mensagem_tiss(lot)), row.numero_lote


def _origem(provider: Provider) -> Party:
    if provider.cnpj:
        return Party(CNPJ, provider.cnpj)
    if provider.cpf:
        return Party(CPF, provider.cpf)
    return Party(CODIGO_PRESTADOR, provider.codigo_na_operadora)
