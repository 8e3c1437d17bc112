"""Consultar Arquivos: every TISS message a provider sent, by web service or by upload in the
portal, newest first, with what was sent, what was answered and every occurrence.

Only the provider's own messages are ever read: another provider's message id is answered
exactly like an id that does not exist (None).
"""

from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.services.answers import ACCEPTED, DUPLICATE, ERROR, REJECTED, SERVER_ERROR
from gateway.services.gateway import Gateway
from gateway.services.provider_area.paging import PAGE_SIZE, Page, offset
from gateway.tiss import codes as table38
from gateway.tiss.friendly import explain_line
from gateway.tiss.namespaces import q
from gateway.tiss.redaction import file_charset, redact_password
from gateway.tiss.xmlsafe import UnsafeXml, parse_untrusted
from storage.db import Database
from storage.models import Lot, Message, Protocol, Provider

OUTCOMES = {
    ACCEPTED: "Processado",
    DUPLICATE: "Reenvio: protocolo original",
    REJECTED: "Recusado",
    ERROR: "Erro no servidor",
}
CHANNELS = {"soap": "Web service", "upload": "Envio pelo portal"}
SERVICES = {
    "tissLoteGuias": "ENVIO_LOTE_GUIAS",
    "tissSolicitacaoStatusProtocolo": "SOLIC_STATUS_PROTOCOLO",
    "tissVerificaElegibilidade": "VERIFICA_ELEGIBILIDADE",
    "tissSolicitacaoDemonstrativoRetorno": "SOLIC_DEMONSTRATIVO_RETORNO",
}
REQUEST = "enviado"
RESPONSE = "retorno"


@dataclass(frozen=True)
class FileRow:
    id: int
    received_at: datetime
    tipo_transacao: str
    channel: str
    outcome: str
    protocol: str | None
    file_name: str

    @property
    def outcome_label(self) -> str:
        return OUTCOMES.get(self.outcome, self.outcome)

    @property
    def channel_label(self) -> str:
        return CHANNELS.get(self.channel, self.channel)


@dataclass(frozen=True)
class FileDetail:
    row: FileRow
    sequencial: str | None
    numero_lote: str | None
    codigo_prestador: str
    prestador: str
    registro_ans: str | None
    version: str | None
    has_response: bool
    response_name: str
    occurrences: tuple[str, ...]
    # False for a file refused unread (above the size limit): only its size was kept.
    request_kept: bool = True
    request_size: int = 0


def _file_name(message: Message) -> str:
    return message.file_name or f"mensagem-{message.id}.xml"


def _row(message: Message, protocol: str | None) -> FileRow:
    return FileRow(
        id=message.id,
        received_at=message.received_at,
        tipo_transacao=message.tipo_transacao or SERVICES.get(message.service, message.service),
        channel=message.channel,
        outcome=message.outcome,
        protocol=protocol,
        file_name=_file_name(message),
    )


def list_files(db: Database, provider_id: int, number: int) -> Page:
    """One page (20) of the provider's messages, newest first."""
    with db.reading() as session:
        total = session.scalar(
            select(func.count()).select_from(Message).where(Message.provider_id == provider_id)
        )
        rows = session.execute(
            select(Message, Protocol.numero)
            .outerjoin(Protocol, Protocol.id == Message.protocol_id)
            .where(Message.provider_id == provider_id)
            .order_by(Message.id.desc())
            .offset(offset(number))
            .limit(PAGE_SIZE)
        ).all()
        return Page(tuple(_row(m, numero) for m, numero in rows), number, total or 0)


def _own(session: Session, provider_id: int, message_id: int) -> Message | None:
    message = session.get(Message, message_id)
    return message if message is not None and message.provider_id == provider_id else None


def file_detail(gw: Gateway, provider_id: int, message_id: int) -> FileDetail | None:
    with gw.db.reading() as session:
        message = _own(session, provider_id, message_id)
        if message is None:
            return None
        protocol = session.get(Protocol, message.protocol_id) if message.protocol_id else None
        lot = session.get(Lot, protocol.lot_id) if protocol is not None else None
        provider = session.get(Provider, provider_id)
        # A lot's message named this operator (it was checked); others are read as they came.
        if lot is not None:
            numero_lote, registro_ans = lot.numero_lote, gw.registro_ans()
        else:
            numero_lote, registro_ans = _from_request(gw, message)
        return FileDetail(
            row=_row(message, protocol.numero if protocol else None),
            sequencial=message.sequencial,
            numero_lote=numero_lote,
            codigo_prestador=provider.codigo_na_operadora,
            prestador=provider.name,
            registro_ans=registro_ans or gw.registro_ans(),
            version=message.version,
            has_response=message.raw_response is not None,
            response_name=f"retorno-{message.id}.xml",
            occurrences=occurrences(message),
            request_kept=_kept(message),
            request_size=message.request_size,
        )


def _kept(message: Message) -> bool:
    """Whether the request's bytes were archived: not for one refused unread, whose digest is
    absent (answers.record_values)."""
    return message.request_sha256 is not None


def _from_request(gw: Gateway, message: Message) -> tuple[str | None, str | None]:
    """numeroLote and destino/registroANS as the message wrote them (for messages that never
    became a lot), read with the same hardened parser as everything received, in the charset it
    was read in when it arrived (the HTTP charset of a document that names none)."""
    try:
        raw, limits = message.raw_request, gw.settings.xml_limits
        root = parse_untrusted(raw, limits, message.request_charset).root
    except UnsafeXml:
        return None, None
    lote = next(root.iter(q("numeroLote")), None)
    destino = next(root.iter(q("destino")), None)
    registro = destino.find(q("registroANS")) if destino is not None else None
    return _text(lote), _text(registro)


def _text(el: etree._Element | None) -> str | None:
    return el.text.strip() if el is not None and el.text and el.text.strip() else None


def occurrences(message: Message) -> tuple[str, ...]:
    """What the answer reported, in words a billing clerk understands: each table-38 code with
    its description, then every detail line (schema errors explained field by field)."""
    if message.outcome == ERROR:
        return (SERVER_ERROR[0].upper() + SERVER_ERROR[1:] + ".",)
    found = [f"{c} - {table38.describe(c)}" for c in (message.codes or "").split(",") if c]
    for line in (message.detail or "").splitlines():
        if line.strip():
            found.append(explain_line(line) if line.startswith("linha ") else line.strip())
    return tuple(found)


@dataclass(frozen=True)
class RawFile:
    content: bytes
    charset: str
    file_name: str


def raw_file(db: Database, provider_id: int, message_id: int, which: str) -> RawFile | None:
    """The bytes the provider sent (REQUEST, with senhaPrestador masked) or the answer it got
    (RESPONSE), as archived."""
    with db.reading() as session:
        message = _own(session, provider_id, message_id)
        if message is None:
            return None
        if which == REQUEST and _kept(message):
            raw = message.raw_request
            charset = file_charset(raw, message.request_charset or "UTF-8")
            return RawFile(redact_password(raw, charset), charset, _file_name(message))
        if which == RESPONSE and message.raw_response is not None:
            return RawFile(
                message.raw_response,
                message.response_charset or "UTF-8",
                f"retorno-{message.id}.xml",
            )
        return None
