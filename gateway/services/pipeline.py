"""The frame every TISS use case runs in: one transaction per message (none for a query, whose
only write is its archive record), the shared checks, the archive record, and the answer (body or
fault). A service only supplies its handler."""

import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway import metrics
from gateway.services.answers import (
    ACCEPTED,
    Answer,
    answer_header,
    close_record,
    open_record,
    record_failure,
    record_rejection,
    record_values,
)
from gateway.services.gateway import Gateway
from gateway.services.inbound import (
    SENDER_MISMATCH,
    Facts,
    Inbound,
    Principal,
    Rejected,
    ServiceSpec,
    check_message,
    is_provider,
)
from gateway.services.senders import ProviderRef
from gateway.tiss import codes
from gateway.tiss.codes import FaultKind
from gateway.tiss.header import Party
from gateway.tiss.responses import AnswerHeader


class ProtocolRef(typing.Protocol):
    """The protocol an answer is about (a stored row, or what a use case just wrote)."""

    id: int
    numero: str | None


@dataclass
class Exchange:
    """A message that passed every check, inside its transaction."""

    gw: Gateway
    spec: ServiceSpec
    session: Session
    inbound: Inbound
    message: etree._Element
    facts: Facts
    received_at: datetime
    archived_id: int | None = None  # the archive record, once written

    @property
    def provider(self) -> ProviderRef:
        return self.facts.provider

    def glosa_code(self, preferred: str, fallback: str) -> str:
        """`preferred` when the message's version has that table-38 code, else `fallback`."""
        return preferred if preferred in self.facts.schema_set.glosa_codes else fallback

    def require_own(self, party: Party | None) -> None:
        """The provider a query's body names (dadosPrestador) must be the one that logged in."""
        if not is_provider(self.provider, party):
            raise Rejected(
                FaultKind.REMETENTE_INVALIDO, codes.SENDER_NOT_IDENTIFIED, SENDER_MISMATCH
            )

    def reply(
        self,
        build: Callable[[AnswerHeader], etree._Element],
        *,
        outcome: str = ACCEPTED,
        codes: Sequence[str] = (),
        detail: str | None = None,
        protocol: ProtocolRef | None = None,
        tipo: str | None = None,
    ) -> Answer:
        """Archive the message with the body answer `build` writes under the right header."""
        self.facts.codes = list(codes)
        if detail is not None:
            self.facts.detail = detail
        values = record_values(self.spec, self.inbound, self.facts, self.received_at, outcome)
        values["protocol_id"] = protocol.id if protocol is not None else None
        # The id first: it is the answer's sequencialTransacao.
        record = open_record(self.session, self.gw.db, values)
        if record.written:
            self.archived_id = record.id
        message_id = record.id
        header = answer_header(self.gw, self.spec, self.facts, message_id, self.received_at, tipo)
        # Signed after the builder sealed it with its hash: the signature covers the hash.
        payload = self.gw.signatures.sign(build(header))
        close_record(self.session, self.gw.db, record, payload, self.inbound.answer_charset)
        self.archived_id = message_id
        return Answer(
            outcome=outcome,
            charset=self.inbound.answer_charset,
            version=self.facts.version,
            message_id=message_id,
            payload=payload,
            code=codes[0] if codes else None,
            description=detail,
            protocol=protocol.numero if protocol is not None else None,
            auth_method=self.facts.auth_method,
        )


Handler = Callable[[Exchange], Answer]


def run_service(
    gw: Gateway,
    spec: ServiceSpec,
    inbound: Inbound,
    message: etree._Element,
    handler: Handler,
    *,
    principal: Principal | None = None,
    schema_view: Callable[[etree._Element], etree._Element] | None = None,
    retry_on_conflict: bool = False,
) -> Answer:
    """Check `message`, run `handler` in the same transaction (ServiceSpec.reads_only: without
    one), archive and answer. Never raises: a failed check is a tissFault, anything unexpected is
    ErroInesperadoServidor."""
    answer = _answer(gw, spec, inbound, message, handler, principal, schema_view, retry_on_conflict)
    # Counted and logged once here, after the transaction: every service, every channel.
    metrics.observe_answer(spec.name, inbound.channel, answer)
    return answer


def _answer(gw, spec, inbound, message, handler, principal, schema_view, retry_on_conflict):
    received_at = gw.utcnow()
    attempts = 2 if retry_on_conflict else 1
    scope = gw.db.autocommit if spec.reads_only else gw.db.transaction
    for attempt in range(1, attempts + 1):
        facts = Facts()
        exchange = None
        try:
            with scope() as session:
                check_message(
                    gw,
                    session,
                    spec,
                    message,
                    facts,
                    principal=principal,
                    schema_view=schema_view,
                    remote_addr=inbound.remote_addr,
                    client_certificate=inbound.client_certificate,
                )
                exchange = Exchange(gw, spec, session, inbound, message, facts, received_at)
                return handler(exchange)
        except Rejected as rejection:
            kept = _kept_record(spec, exchange)
            return record_rejection(gw, spec, inbound, facts, rejection, received_at, kept)
        except IntegrityError:
            # A concurrent message won a uniqueness race; the next try sees what it stored.
            if attempt == attempts:
                kept = _kept_record(spec, exchange)
                return record_failure(gw, spec, inbound, facts, received_at, kept)
        except Exception:
            return record_failure(
                gw, spec, inbound, facts, received_at, _kept_record(spec, exchange)
            )
    raise AssertionError("unreachable")


def _kept_record(spec: ServiceSpec, exchange: Exchange | None) -> int | None:
    """The archive record a failed message leaves behind: none when a rollback took it away,
    the one already written when the message ran without a transaction (reads_only)."""
    if spec.reads_only and exchange is not None:
        return exchange.archived_id
    return None
