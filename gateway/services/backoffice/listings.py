"""Use cases that read the archive: messages and lots received since a time, one message with
its raw bytes. Pages are keyed on the row id (ascending), so a page never repeats or skips rows
already listed, whatever arrives meanwhile; the cursor is the last id of the previous page."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from gateway.services.answers import ACCEPTED, DUPLICATE, ERROR, REJECTED
from gateway.services.backoffice import transitions
from gateway.services.backoffice.errors import BackOfficeError, not_found
from storage.db import Database
from storage.models import Lot, Message, Protocol, Provider

MAX_LIMIT = 500
MAX_ID = 2**63 - 1  # the largest BIGINT: ids never go past it
DEFAULT_LIMIT = 100
OUTCOMES = (ACCEPTED, DUPLICATE, REJECTED, ERROR)


@dataclass(frozen=True)
class Window:
    """What every listing takes: since (required), until, a provider, page size and cursor."""

    since: datetime
    until: datetime | None = None
    provider_code: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


@dataclass(frozen=True)
class MessageSummary:
    id: int
    received_at: datetime
    service: str
    channel: str
    version: str | None
    provider_code: str | None
    outcome: str
    codes: tuple[str, ...]
    protocol: str | None
    request_id: str


@dataclass(frozen=True)
class MessageRecord:
    summary: MessageSummary
    endpoint_version: str | None
    login: str | None
    remote_addr: str | None
    fault: str | None
    detail: str | None
    request_sha256: str | None  # None: refused unread, above the size limit
    request_charset: str | None
    raw_request: bytes
    response_charset: str | None
    raw_response: bytes | None
    auth_method: str | None  # password | certificate | portal; None when never authenticated
    client_cert_sha256: str | None  # the verified client certificate presented, registered or not


@dataclass(frozen=True)
class LotSummary:
    id: int
    protocol: str
    status: int
    numero_lote: str
    provider_code: str
    guide_type: str
    guide_count: int
    total_informado: Decimal
    received_at: datetime
    version: str


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_cursor: str | None


def list_messages(
    db: Database, window: Window, *, outcome: str | None = None, service: str | None = None
) -> Page[MessageSummary]:
    if outcome is not None and outcome not in OUTCOMES:
        raise BackOfficeError(f"resultado {outcome!r} inválido; use {', '.join(OUTCOMES)}")
    with db.reading() as session:
        query = _message_query().where(*_range(Message.received_at, window))
        if window.provider_code:
            query = query.where(Message.provider_id == _provider_id(session, window))
        if outcome:
            query = query.where(Message.outcome == outcome)
        if service:
            query = query.where(Message.service == service.strip())
        rows = _page(session, query, Message.id, window)
        return Page(tuple(_message_summary(*r) for r in rows[0]), rows[1])


def get_message(db: Database, message_id: int) -> MessageRecord:
    with db.reading() as session:
        row = session.execute(_message_query().where(Message.id == message_id)).first()
        if row is None:
            raise not_found(f"mensagem {message_id} não encontrada")
        message = row[0]
        return MessageRecord(
            summary=_message_summary(*row),
            endpoint_version=message.endpoint_version,
            login=message.login,
            remote_addr=message.remote_addr,
            fault=message.fault,
            detail=message.detail,
            request_sha256=message.request_sha256,
            request_charset=message.request_charset,
            raw_request=bytes(message.raw_request),
            response_charset=message.response_charset,
            raw_response=None if message.raw_response is None else bytes(message.raw_response),
            auth_method=message.auth_method,
            client_cert_sha256=message.client_cert_sha256,
        )


def list_lots(db: Database, window: Window, *, statuses: Sequence[int] = ()) -> Page[LotSummary]:
    for status in statuses:
        transitions.check_status_value(status)
    with db.reading() as session:
        query = (
            select(Lot, Protocol.numero, Protocol.status, Provider.codigo_na_operadora)
            .join(Protocol, Protocol.lot_id == Lot.id)
            .join(Provider, Provider.id == Lot.provider_id)
            .where(*_range(Lot.received_at, window))
        )
        if window.provider_code:
            query = query.where(Lot.provider_id == _provider_id(session, window))
        if statuses:
            query = query.where(Protocol.status.in_(sorted(set(statuses))))
        rows, cursor = _page(session, query, Lot.id, window)
        return Page(
            tuple(
                LotSummary(
                    id=lot.id,
                    protocol=numero,
                    status=status,
                    numero_lote=lot.numero_lote,
                    provider_code=code,
                    guide_type=lot.guide_type,
                    guide_count=lot.guide_count,
                    total_informado=lot.total_value,
                    received_at=lot.received_at,
                    version=lot.version,
                )
                for lot, numero, status, code in rows
            ),
            cursor,
        )


def _message_query() -> Select:
    return (
        select(Message, Provider.codigo_na_operadora, Protocol.numero)
        .outerjoin(Provider, Provider.id == Message.provider_id)
        .outerjoin(Protocol, Protocol.id == Message.protocol_id)
    )


def _message_summary(message: Message, provider_code: str | None, protocol: str | None):
    return MessageSummary(
        id=message.id,
        received_at=message.received_at,
        service=message.service,
        channel=message.channel,
        version=message.version,
        provider_code=provider_code,
        outcome=message.outcome,
        codes=tuple(c for c in (message.codes or "").split(",") if c),
        protocol=protocol,
        request_id=message.request_id,
    )


def _range(column, window: Window) -> list:
    conditions = [column >= window.since]
    if window.until is not None:
        if window.until < window.since:
            raise BackOfficeError("o fim do período (ate) é anterior ao início (desde)")
        conditions.append(column < window.until)
    return conditions


def _provider_id(session: Session, window: Window) -> int:
    code = window.provider_code.strip()
    provider_id = session.scalar(select(Provider.id).where(Provider.codigo_na_operadora == code))
    if provider_id is None:
        raise not_found(f"prestador {code} não encontrado")
    return provider_id


def _page(session: Session, query: Select, id_column, window: Window) -> tuple[list, str | None]:
    """One page of rows after the cursor, and the cursor of the next page (None at the end)."""
    if not 1 <= window.limit <= MAX_LIMIT:
        raise BackOfficeError(f"limite deve estar entre 1 e {MAX_LIMIT}")
    if window.cursor is not None:
        if not (window.cursor.isascii() and window.cursor.isdigit()):
            raise BackOfficeError("cursor inválido: use o proximoCursor da página anterior")
        after = int(window.cursor)
        if after >= MAX_ID:  # no row lies beyond: the last page (and no overflow in the driver)
            return [], None
        query = query.where(id_column > after)
    rows = list(session.execute(query.order_by(id_column).limit(window.limit + 1)))
    more = len(rows) > window.limit
    rows = rows[: window.limit]
    return rows, str(rows[-1][0].id) if more else None
