"""Where the gateway's time goes on one lot: each step it takes, run on its own on the same bytes.

The steps are the gateway's own functions, called as the lot's path calls them: the hardened
parse, the official schema, the hash check (these three are the floor's work), reading the
guides, the content digest that tells a resend from a different lot with the same number, and
the receipt (built, sealed with its hash, serialised). What they leave of the gateway's time
(measured by `inprocess`) is everything else: spyne's envelope, the login, the lot rules, the
Python side of storing the lot and the archive record, the SOAP answer.
"""

import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from lxml import etree

from gateway.services.answers import serialize
from gateway.tiss import lote
from gateway.tiss.hashing import check_hash
from gateway.tiss.header import Party, informed_hash
from gateway.tiss.namespaces import q
from gateway.tiss.responses import AnswerHeader, ProtocolReceipt, protocolo_recebimento
from gateway.tiss.schemas import SchemaSet
from gateway.tiss.xmlsafe import parse_untrusted

STEPS = ("parse", "schema", "hash", "guides", "digest", "receipt")


@dataclass(frozen=True)
class Stages:
    """Median CPU ms of each step (keys: STEPS)."""

    ms: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.ms.values())


def measure(schema_set: SchemaSet, messages: list[bytes]) -> Stages:
    """Each step over every message in turn, a block per step, as the floor is measured."""
    payloads = [parse_untrusted(raw).root[0][0] for raw in messages]
    lots = [payload.find(q("loteGuias")) for payload in payloads]
    guias = [lote.guides_element(lot) for lot in lots]
    guides = [lote.read_guides(g) for g in guias]
    steps = {
        "parse": [(parse_untrusted, raw) for raw in messages],
        "schema": [(schema_set.validate, payload) for payload in payloads],
        "hash": [(_check_hash, payload) for payload in payloads],
        "guides": [(lote.read_guides, g) for g in guias],
        "digest": [(lote.content_digest, lot) for lot in lots],
        "receipt": [(_receipt, read) for read in guides],
    }
    return Stages({name: _median_ms(calls) for name, calls in steps.items()})


def _check_hash(payload: etree._Element) -> None:
    if not check_hash(payload, informed_hash(payload)).ok:
        raise AssertionError("the sample lot's hash does not check")


_HEADER = AnswerHeader(
    tipo_transacao="PROTOCOLO_RECEBIMENTO",
    sequencial="1",
    when=datetime(2026, 1, 1, 12, 0),
    registro_ans="123456",
    destino=Party("codigoPrestadorNaOperadora", "PREST0001"),
    version="4.03.00",
)


def _receipt(guides: list[lote.Guide]) -> bytes:
    receipt = ProtocolReceipt(
        registro_ans="123456",
        codigo_prestador="PREST0001",
        numero_lote="1",
        data_envio=datetime(2026, 1, 1, 12, 0),
        numero_protocolo="1",
        valor_total=sum((g.valor_informado for g in guides), Decimal("0.00")),
        guides=guides,
    )
    return serialize(protocolo_recebimento(_HEADER, receipt), "ISO-8859-1")


def _median_ms(calls: list[tuple]) -> float:
    seconds = []
    for function, argument in calls:
        started = time.thread_time()
        function(argument)
        seconds.append(time.thread_time() - started)
    return statistics.median(seconds) * 1000
