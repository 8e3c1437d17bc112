"""Answers and the archive: every message is stored with the answer it got, in the same
transaction as whatever the message changed."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from gateway.services import ws_login
from gateway.services.gateway import Gateway
from gateway.services.inbound import Facts, Inbound, Rejected, ServiceSpec
from gateway.tiss.codes import FaultKind
from gateway.tiss.responses import AnswerHeader
from gateway.tiss.soap import tiss_soap_fault
from storage.db import Database, core
from storage.models import Message

log = logging.getLogger(__name__)

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"
ERROR = "error"

SERVER_ERROR = "erro inesperado no servidor: a mensagem não foi processada; reenvie-a mais tarde"


@dataclass(frozen=True)
class Answer:
    """What goes back to the sender: a TISS body (`payload`) or a tissFault."""

    outcome: str
    charset: str
    version: str
    message_id: int | None = None
    payload: etree._Element | None = None
    fault: FaultKind | None = None
    code: str | None = None
    description: str | None = None
    protocol: str | None = None
    # Every problem found, one per line (all schema errors, not just the first), for people.
    details: tuple[str, ...] = ()
    # How the sender authenticated (messages.auth_method), for the log; None if it never did.
    auth_method: str | None = None
    # A fault's whole SOAP envelope, as archived: the SOAP adapter sends these bytes unchanged.
    fault_document: bytes | None = None

    @property
    def fault_string(self) -> str:
        return fault_string(self.code, self.description)

    @property
    def is_server_error(self) -> bool:
        return self.fault is FaultKind.ERRO_INESPERADO


def fault_string(code: str | None, description: str | None) -> str:
    """A fault's faultstring: the table-38 code first ("5014 - CÓDIGO HASH INVÁLIDO...")."""
    return f"{code} - {description}" if code else str(description)


def fault_document(
    fault: FaultKind,
    code: str | None,
    description: str,
    charset: str,
    faultcode: str | None = None,
) -> bytes:
    """The SOAP fault answering a message, as bytes: archived and sent as they are."""
    return serialize(tiss_soap_fault(fault, fault_string(code, description), faultcode), charset)


def answer_version(gw: Gateway, inbound: Inbound, facts: Facts) -> str:
    """The version an answer is written in: the message's when accepted, else the endpoint's."""
    for candidate in (facts.version, inbound.endpoint_version):
        if gw.accepts(candidate):
            return candidate
    return gw.newest_version


def answer_header(
    gw: Gateway,
    spec: ServiceSpec,
    facts: Facts,
    message_id: int,
    received_at: datetime,
    tipo: str | None = None,
) -> AnswerHeader:
    return AnswerHeader(
        tipo_transacao=tipo or spec.response_tipo,
        sequencial=str(message_id),
        when=gw.local(received_at).replace(tzinfo=None),
        registro_ans=gw.registro_ans() or "000000",
        destino=facts.header.origem if facts.header else None,
        version=facts.version,
    )


def record_values(
    spec: ServiceSpec,
    inbound: Inbound,
    facts: Facts,
    received_at: datetime,
    outcome: str,
) -> dict:
    """The archive record of a message (a row of `messages`), as column values."""
    header = facts.header
    certificate = inbound.client_certificate
    return {
        "request_id": inbound.request_id,
        "received_at": received_at,
        "channel": inbound.channel,
        "service": spec.name,
        "endpoint_version": inbound.endpoint_version,
        "remote_addr": inbound.remote_addr,
        "raw_request": inbound.raw,
        # A request refused unread (above the size limit) keeps the size it announced, and no
        # digest: the SHA-256 of bytes never read would vouch for nothing.
        "request_size": len(inbound.raw) if inbound.unread_size is None else inbound.unread_size,
        "request_sha256": (
            hashlib.sha256(inbound.raw).hexdigest() if inbound.unread_size is None else None
        ),
        "request_charset": inbound.declared_charset,
        "version": (facts.version or None) and facts.version[:8],
        "tipo_transacao": header.tipo_transacao[:40] if header else None,
        "sequencial": header.sequencial[:12] if header else None,
        "login": (facts.login or "")[:60] or None,
        "provider_id": facts.provider_id,
        "hash_informed": facts.hash_informed,
        "hash_variant": facts.hash_variant,
        "outcome": outcome,
        "codes": ",".join(facts.codes) or None,
        "detail": facts.detail,
        "signature_status": facts.signature_status,
        "signature_detail": facts.signature_detail,
        "file_name": inbound.file_name,
        "auth_method": facts.auth_method,
        "client_cert_sha256": certificate.sha256 if certificate is not None else None,
    }


_MESSAGES = Message.__table__
# Built once: they are on every message's path, and building a statement (and its cache key) per
# call was a visible part of a status query.
_INSERT_RECORD = insert(_MESSAGES).returning(_MESSAGES.c.id)
# Its answer, or (a query that failed after writing it) its outcome and answer again.
_UPDATE_RECORD = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("message_id"))
# What the database refuses to change once written (migration 0012): the request as received.
REQUEST_COLUMNS = frozenset(
    {"request_id", "received_at", "raw_request", "request_size", "request_sha256"}
)


def _insert_record(session: Session, values: dict) -> int:
    """Insert an archive record for its id (a plain INSERT: the ORM's unit of work for one row
    cost more than the rest of a status query)."""
    return core(session).execute(_INSERT_RECORD, values).scalar_one()


def serialize(element: etree._Element, charset: str) -> bytes:
    return etree.tostring(element, encoding=charset, xml_declaration=True)


@dataclass
class PendingRecord:
    """An archive record whose id is known (it goes into the answer) and whose answer is not."""

    id: int
    values: dict
    written: bool  # already inserted (SQLite); the answer then goes in with an UPDATE


def write_record(session: Session, db: Database, values: dict) -> int:
    """Write a record that is complete already (a fault answer does not carry its id), under an
    id taken like every other record's, so that ids keep the order messages arrive in."""
    record = open_record(session, db, values)
    if not record.written:
        _insert_taking_next(session, db, {**values, "id": record.id})
    return record.id


def open_record(session: Session, db: Database, values: dict) -> PendingRecord:
    """The id for a message's record, before its answer is built (the answer carries it). Where
    the database hands out ids ahead (PostgreSQL, storage/ids.py) nothing is written yet;
    otherwise the record is inserted now for its id."""
    if db.message_ids is None:
        return PendingRecord(_insert_record(session, values), values, written=True)
    return PendingRecord(db.message_ids.take(core(session)), values, written=False)


def close_record(
    session: Session, db: Database, record: PendingRecord, payload: etree._Element, charset: str
) -> None:
    """Store the answer: the whole record in one INSERT, which also reserves the id of this
    process's next record; or, if it was inserted already, the answer by an UPDATE."""
    if record.written:
        _store_answer(session, record.id, payload, charset)
        return
    values = {
        **record.values,
        "id": record.id,
        "raw_response": serialize(payload, charset),
        "response_charset": charset,
    }
    _insert_taking_next(session, db, values)


def _insert_taking_next(session: Session, db: Database, values: dict) -> None:
    """INSERT a complete record under the id it was given; hold the id it reserves in return."""
    reserved = core(session).execute(db.message_ids.insert_returning_next, values).scalar_one()
    db.message_ids.hold(reserved)


def _store_answer(session: Session, message_id: int, payload: etree._Element, charset: str) -> None:
    core(session).execute(
        _UPDATE_RECORD,
        {
            "message_id": message_id,
            "raw_response": serialize(payload, charset),
            "response_charset": charset,
        },
    )


def record_rejection(
    gw: Gateway,
    spec: ServiceSpec,
    inbound: Inbound,
    facts: Facts,
    rejection: Rejected,
    received_at: datetime,
    archived: int | None = None,
) -> Answer:
    """Archive a message that failed a check and answer it with a tissFault (`archived`: the
    record already written for it, see _record_fault)."""
    facts.codes = [rejection.code]
    if rejection.detail and not facts.detail:
        facts.detail = rejection.detail
    return _record_fault(
        gw,
        spec,
        inbound,
        facts,
        received_at,
        REJECTED,
        rejection.fault,
        rejection.code,
        rejection.description,
        archived,
        faultcode=rejection.faultcode,
    )


def record_failure(
    gw: Gateway,
    spec: ServiceSpec,
    inbound: Inbound,
    facts: Facts,
    received_at: datetime,
    archived: int | None = None,
) -> Answer:
    """Something broke on our side. Log it, archive what we can, answer ErroInesperadoServidor."""
    log.exception("unexpected failure handling %s request %s", spec.name, inbound.request_id)
    facts.codes = []
    return _record_fault(
        gw,
        spec,
        inbound,
        facts,
        received_at,
        ERROR,
        FaultKind.ERRO_INESPERADO,
        None,
        SERVER_ERROR,
        archived,
    )


def _record_fault(
    gw,
    spec,
    inbound,
    facts,
    received_at,
    outcome,
    fault,
    code,
    description,
    archived=None,
    faultcode=None,
):
    """Archive the message with its fault answer. `archived` is the id of a record a message
    without a transaction (ServiceSpec.reads_only) had already written when it failed: that
    record is rewritten, so that the message still has exactly one. `faultcode`: SOAP's, when
    not the default of the fault's category (gateway.tiss.soap.tiss_soap_fault)."""
    charset = inbound.answer_charset
    version = answer_version(gw, inbound, facts)
    document = fault_document(fault, code, description, charset, faultcode)
    message_id = None
    try:
        with gw.db.transaction() as session:
            record = record_values(spec, inbound, facts, received_at, outcome)
            record.update(
                codes=code,
                fault=fault.value,
                raw_response=document,
                response_charset=charset,
            )
            if record["detail"] is None and outcome != ERROR:
                record["detail"] = description
            if facts.login_failure is not None:
                ws_login.record_failure(session, facts.login_failure, received_at)
            if archived is None:
                message_id = write_record(session, gw.db, record)
            else:
                _rewrite_answer(session, archived, record)
                message_id = archived
    except Exception:
        # The archive itself failed (database down): still answer, and say so in the log.
        log.exception("could not archive %s request %s", spec.name, inbound.request_id)
        fault, code, description = FaultKind.ERRO_INESPERADO, None, SERVER_ERROR
        document = fault_document(fault, code, description, charset)
    return Answer(
        outcome=outcome if message_id else ERROR,
        charset=charset,
        version=version,
        message_id=message_id,
        fault=fault,
        code=code,
        description=description,
        details=tuple((facts.detail or "").splitlines()) if outcome == REJECTED else (),
        auth_method=facts.auth_method,
        fault_document=document,
    )


def _rewrite_answer(session: Session, message_id: int, record: dict) -> None:
    """Rewrite a record with what a failure found later: everything but the request, which is
    the same and which the database keeps as first written."""
    values = {k: v for k, v in record.items() if k not in REQUEST_COLUMNS}
    core(session).execute(_UPDATE_RECORD, {**values, "message_id": message_id})
