"""Use case: receive a lot of guides (tissLoteGuias / ENVIO_LOTE_GUIAS)."""

from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from lxml import etree
from sqlalchemy import Connection, String, bindparam, func, insert, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from gateway import metrics
from gateway.services.answers import ACCEPTED, DUPLICATE, REJECTED, Answer
from gateway.services.backoffice import transitions
from gateway.services.gateway import Gateway
from gateway.services.inbound import Inbound, Principal, Rejected, ServiceSpec
from gateway.services.pipeline import Exchange, run_service
from gateway.services.protocol_numbers import protocol_number
from gateway.services.senders import ProviderRef
from gateway.tiss import codes
from gateway.tiss import lote as tiss_lote
from gateway.tiss.codes import FaultKind
from gateway.tiss.dates import DateOutOfRange
from gateway.tiss.namespaces import q
from gateway.tiss.responses import (
    ProtocolReceipt,
    protocolo_recebimento,
    protocolo_recebimento_erro,
)
from storage import models
from storage.db import core, insert_rows

LOTE_GUIAS = ServiceSpec(
    name="tissLoteGuias",
    request_root="loteGuiasWS",
    tipo_transacao="ENVIO_LOTE_GUIAS",
    response_root="protocoloRecebimentoWS",
    response_tipo="PROTOCOLO_RECEBIMENTO",
)

# The same lot as an XML file (mensagemTISS with prestadorParaOperadora/loteGuias and the hash in
# epilogo), as hospital systems export it for the portal's upload.
LOTE_GUIAS_FILE = replace(LOTE_GUIAS, request_root="mensagemTISS")

STATUS_RECEBIDO = 1


def receive_lot(
    gw: Gateway,
    inbound: Inbound,
    message: etree._Element,
    principal: Principal | None = None,
    *,
    spec: ServiceSpec = LOTE_GUIAS,
) -> Answer:
    """Check a `loteGuiasWS` (or, with spec LOTE_GUIAS_FILE, a `mensagemTISS` file), store it
    with a new protocol in one transaction, and answer with `protocoloRecebimentoWS`."""
    lote_el = lote_guias_of(message)
    count = tiss_lote.count_guides(lote_el) if lote_el is not None else 0
    too_many = count > tiss_lote.MAX_GUIDES_PER_LOT

    def handle(ex: Exchange) -> Answer:
        if lote_el is None:  # a valid ENVIO_LOTE_GUIAS file may still carry another body
            raise Rejected(
                FaultKind.SCHEMA_INVALIDO,
                codes.MESSAGE_OUT_OF_STANDARD,
                "a mensagem não contém um lote de guias (loteGuias)",
            )
        if too_many:
            return _lot_error(
                ex,
                codes.TOO_MANY_GUIDES,
                f"o lote tem {count} guias; o máximo é {tiss_lote.MAX_GUIDES_PER_LOT}",
            )
        try:
            lot = tiss_lote.read_lot(lote_el)
        except DateOutOfRange as exc:
            return _lot_error(ex, codes.DATE_INVALID, str(exc))
        problem = tiss_lote.lot_problem(lot, ex.gw.registro_ans() or "")
        if problem is None:
            problem = tiss_lote.registration_date_problem(
                lot, ex.facts.header.data_registro, ex.received_at
            )
        if problem is not None:
            return _lot_error(ex, *problem)
        return _receive(ex, lot)

    # Retried once: a concurrent resend of the same lot can win the unique (provider,
    # numeroLote) race; the second try then finds it and answers as a resend.
    answer = run_service(
        gw,
        spec,
        inbound,
        message,
        handle,
        principal=principal,
        schema_view=_first_guides(tiss_lote.MAX_GUIDES_PER_LOT) if too_many else None,
        retry_on_conflict=True,
    )
    if answer.outcome in (ACCEPTED, DUPLICATE):  # committed: a protocol exists for it
        metrics.observe_lot(answer.version, _guide_type(lote_el), count, answer.outcome)
    return answer


def _guide_type(lote_el: etree._Element) -> str:
    first = next(tiss_lote.guides_element(lote_el).iterchildren(etree.Element), None)
    return etree.QName(first).localname if first is not None else ""


def lote_guias_of(message: etree._Element) -> etree._Element | None:
    body = message.find(q("prestadorParaOperadora"))
    return (body if body is not None else message).find(q("loteGuias"))


def _first_guides(limit: int):
    """A view of the message with at most `limit` guides, so that a lot that is too large is
    still checked for everything else and answered with 5015 rather than a schema error."""

    def view(message: etree._Element) -> etree._Element:
        # Copy the message without the guides past `limit` (detached for the copy, then put back
        # in place): copying a lot at the size limit whole would double the worker's memory.
        guias = tiss_lote.guides_element(lote_guias_of(message))
        extra = list(guias.iterchildren(etree.Element))[limit:]
        for el in extra:
            guias.remove(el)
        try:
            return deepcopy(message)
        finally:
            guias.extend(extra)

    return view


# Whether the provider sent this lot number before, and with what content: plain columns, on
# every lot (loading a Lot entity cost a tenth of a one-guide lot); the entity is loaded only for
# a resend.
_LOTS = models.Lot.__table__
_LOT_BY_NUMBER = select(_LOTS.c.id, _LOTS.c.content_digest).where(
    _LOTS.c.provider_id == bindparam("provider"),
    _LOTS.c.numero_lote == bindparam("numero_lote"),
)

# Taken by each new lot, released at the transaction's end. The first key says what it is for.
_PROVIDER_LOTS_LOCK = select(func.pg_advisory_xact_lock(0x7155, bindparam("provider")))


@dataclass(frozen=True)
class StoredProtocol:
    """A lot's protocol as the receipt needs it (whether just stored or found on a resend)."""

    id: int
    numero: str
    numero_lote: str
    received_at: datetime
    total_value: Decimal


def _receive(ex: Exchange, lot: tiss_lote.Lot) -> Answer:
    connection = core(ex.session)
    if connection.dialect.name == "postgresql":
        # Lots of one provider are received one at a time, from here to the commit (SQLite
        # writes one transaction at a time anyway): two lots carrying the same guide, arriving
        # together, would otherwise both find it new; and a resend waits for its first copy,
        # then finds it, rather than reading the guides of a lot it does not yet see.
        connection.execute(_PROVIDER_LOTS_LOCK, {"provider": ex.provider.id})
    found = connection.execute(
        _LOT_BY_NUMBER, {"provider": ex.provider.id, "numero_lote": lot.numero_lote}
    ).first()
    if found is not None:
        if found.content_digest != lot.content_digest:
            return _lot_error(
                ex,
                codes.IDENTIFIER_ALREADY_SENT,
                f"o lote {lot.numero_lote} já foi enviado com outro conteúdo",
            )
        existing = ex.session.get(models.Lot, found.id)
        protocol = ex.session.scalar(
            select(models.Protocol).where(models.Protocol.lot_id == existing.id)
        )
        stored = StoredProtocol(
            protocol.id,
            protocol.numero,
            existing.numero_lote,
            existing.received_at,
            existing.total_value,
        )
        return _receipt(ex, stored, DUPLICATE, receipt_guides(existing))
    if ex.gw.settings.refuse_presented_guides:
        presented = _already_presented(connection, ex.provider.id, lot)
        if presented is not None:
            return _lot_error(ex, codes.GUIDE_ALREADY_PRESENTED, presented)
    stored = _store_lot(ex.session, ex.provider, lot, ex.facts.version, ex.received_at)
    # The receipt lists the guides just read: they are what was stored, no need to load them.
    return _receipt(ex, stored, ACCEPTED, lot.guides)


_PROTOCOLS = models.Protocol.__table__
_GUIDES = models.Guide.__table__
# A guide number the provider billed in a lot whose protocol is not cancelled.
_PRESENTED = (
    select(_GUIDES.c.numero_guia_prestador, _PROTOCOLS.c.numero)
    .join(_PROTOCOLS, _PROTOCOLS.c.lot_id == _GUIDES.c.lot_id)
    .where(
        _GUIDES.c.provider_id == bindparam("provider"),
        _GUIDES.c.numero_guia_prestador.in_(bindparam("numeros", expanding=True)),
        _PROTOCOLS.c.status != transitions.CANCELADO,
    )
    .limit(1)
)
# The same on PostgreSQL, one index lookup per number. psycopg prepares a statement run often,
# and PostgreSQL may keep a generic plan made while the tables were nearly empty: for the form
# above it read every guide of the provider and filtered them by number (8.6 ms at 30 000
# guides, growing; the benchmark's lots/s halved). The lateral form keeps both columns of
# ix_guides_provider_numero in the index condition in any plan (0.08 ms).
_NUMBERS = func.unnest(bindparam("numeros", type_=postgresql.ARRAY(String)))
_NUMBERS = _NUMBERS.table_valued("numero").render_derived(name="asked")
_BILLED = (
    select(_PROTOCOLS.c.numero)
    .select_from(_GUIDES.join(_PROTOCOLS, _PROTOCOLS.c.lot_id == _GUIDES.c.lot_id))
    .where(
        _GUIDES.c.provider_id == bindparam("provider"),
        _GUIDES.c.numero_guia_prestador == _NUMBERS.c.numero,
        _PROTOCOLS.c.status != transitions.CANCELADO,
    )
    .limit(1)
    .lateral("billed")
)
_PRESENTED_POSTGRESQL = (
    select(_NUMBERS.c.numero.label("numero_guia_prestador"), _BILLED.c.numero)
    .select_from(_NUMBERS.join(_BILLED, true()))
    .limit(1)
)


def _already_presented(connection: Connection, provider_id: int, lot: tiss_lote.Lot) -> str | None:
    """Why the lot bills a guide again (1308), or None: a guide number is billed once, unless its
    protocol was cancelled."""
    numeros = [g.numero_guia_prestador for g in lot.guides]
    query = _PRESENTED_POSTGRESQL if connection.dialect.name == "postgresql" else _PRESENTED
    found = connection.execute(query, {"provider": provider_id, "numeros": numeros}).first()
    if found is None:
        return None
    return (
        f"a guia {found.numero_guia_prestador} já foi apresentada no protocolo {found.numero}; "
        "para cobrá-la de novo, peça o cancelamento desse protocolo"
    )


_HISTORY = models.ProtocolStatusChange.__table__
# Built once: every lot runs them.
_INSERT_LOT = insert(_LOTS).returning(_LOTS.c.id)
_INSERT_PROTOCOL = insert(_PROTOCOLS).returning(_PROTOCOLS.c.id)
_INSERT_HISTORY = insert(_HISTORY)


def _store_lot(
    session: Session,
    provider: ProviderRef,
    lot: tiss_lote.Lot,
    version: str,
    received_at: datetime,
) -> StoredProtocol:
    """The lot, its protocol, the protocol's first status and the guides, as plain INSERTs: the
    ORM's unit of work cost more than everything else the gateway does for a lot. On the
    transaction's connection: these rows are new, no ORM object holds them."""
    connection = core(session)
    # The unique (provider, numeroLote) constraint fires here on a concurrent duplicate.
    lot_id = connection.execute(
        _INSERT_LOT,
        {
            "provider_id": provider.id,
            "numero_lote": lot.numero_lote,
            "content_digest": lot.content_digest,
            "version": version,
            "guide_type": lot.guide_type,
            "guide_count": len(lot.guides),
            "total_value": lot.total,
            "received_at": received_at,
        },
    ).scalar_one()
    numero = protocol_number(lot_id)
    protocol_id = connection.execute(
        _INSERT_PROTOCOL,
        {
            "numero": numero,
            "lot_id": lot_id,
            "provider_id": provider.id,
            "status": STATUS_RECEBIDO,
            "created_at": received_at,
            "updated_at": received_at,
        },
    ).scalar_one()
    connection.execute(
        _INSERT_HISTORY,
        {
            "protocol_id": protocol_id,
            "status": STATUS_RECEBIDO,
            "changed_at": received_at,
            "actor": "gateway",
            "reason": "lote recebido",
        },
    )
    _insert_guides(connection, provider.id, lot_id, lot.guides)
    return StoredProtocol(protocol_id, numero, lot.numero_lote, received_at, lot.total)


_ITEMS = models.GuideItem.__table__
_GUIDE_IDS = select(_GUIDES.c.position, _GUIDES.c.id).where(_GUIDES.c.lot_id == bindparam("lot"))


def _insert_guides(
    connection: Connection, provider_id: int, lot_id: int, guides: list[tiss_lote.Guide]
) -> None:
    """Guides and items as bulk inserts (storage.db.insert_rows), not ORM objects: a 100-guide
    lot as ORM objects cost several times what parsing and validating it does."""
    if not guides:
        return
    insert_rows(
        connection,
        _GUIDES,
        [
            {
                "lot_id": lot_id,
                "provider_id": provider_id,
                "position": position,
                "guide_type": g.guide_type,
                "numero_guia_prestador": g.numero_guia_prestador,
                "numero_guia_operadora": g.numero_guia_operadora,
                "numero_carteira": g.numero_carteira,
                "atendimento_rn": g.atendimento_rn,
                "data_realizacao": g.data_realizacao,
                "valor_informado": g.valor_informado,
            }
            for position, g in enumerate(guides, 1)
        ],
    )
    # Ids by position in one query: RETURNING in parameter order costs one statement per row on
    # SQLite.
    ids = dict(connection.execute(_GUIDE_IDS, {"lot": lot_id}).all())
    items = [
        {
            "guide_id": ids[position],
            "sequencial": i.sequencial,
            "data_realizacao": i.data_realizacao,
            "codigo_tabela": i.codigo_tabela[:2],
            "codigo_procedimento": i.codigo_procedimento[:10],
            "descricao": i.descricao[:150],
            "quantidade": i.quantidade,
            "valor_informado": i.valor_informado,
        }
        for position, g in enumerate(guides, 1)
        for i in g.items  # sequencialItem unique per guide: lot_problem refuses a repeat
    ]
    insert_rows(connection, _ITEMS, items)


def receipt_guides(lot: models.Lot) -> list[tiss_lote.Guide]:
    return [
        tiss_lote.Guide(
            guide_type=g.guide_type,
            numero_guia_prestador=g.numero_guia_prestador,
            numero_guia_operadora=g.numero_guia_operadora,
            numero_carteira=g.numero_carteira,
            atendimento_rn=g.atendimento_rn,
            data_realizacao=g.data_realizacao,
            valor_informado=g.valor_informado,
        )
        for g in lot.guides
    ]


def _receipt(
    ex: Exchange, protocol: StoredProtocol, outcome: str, guides: list[tiss_lote.Guide]
) -> Answer:
    receipt = ProtocolReceipt(
        registro_ans=ex.gw.registro_ans(),
        codigo_prestador=ex.provider.codigo_na_operadora,
        numero_lote=protocol.numero_lote,
        data_envio=ex.gw.local(protocol.received_at),
        numero_protocolo=protocol.numero,
        valor_total=protocol.total_value,
        guides=guides,
    )
    return ex.reply(
        lambda header: protocolo_recebimento(header, receipt), outcome=outcome, protocol=protocol
    )


def _lot_error(ex: Exchange, code: str, description: str) -> Answer:
    """A lot rule failed on an authenticated, valid message: answer in the body (mensagemErro)."""
    text = f"{codes.describe(code)}: {description}"
    return ex.reply(
        lambda header: protocolo_recebimento_erro(header, code, text),
        outcome=REJECTED,
        codes=[code],
        detail=description,
    )
