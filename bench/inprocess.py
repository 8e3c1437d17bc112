"""In-process cost of receiving a lot, against the floor, in the same run.

Gateway: the WSGI application called directly (no socket) with the SOAP bytes of a new lot, so it
does everything it does in production: spyne, hardened parsing, version, schema, hash,
authentication, lot rules, storing the lot and the archive record, building, hashing and
serialising the answer. Time spent inside the database driver (statements and commits) is
measured with SQLAlchemy events and subtracted: the database is not the gateway's cost. The
database is SQLite on tmpfs, so that time is small anyway.

Floor: what any receiver must do with the same bytes: lxml parses them, the official XSD
validates the lot, and the MD5 of the leaf texts is computed.

`tiss.validate` (the PyPI `tiss` package) checks the same lot written as a mensagemTISS file.
"""

import hashlib
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import tiss
from lxml import etree
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.test import EnvironBuilder

from bench import stages, workload
from gateway.app import build_app
from gateway.config import Settings
from gateway.services.gateway import Gateway
from gateway.tiss.namespaces import ANS, version_file_tag
from gateway.tiss.schemas import compile_schema, package_schema_dir
from storage.migrate import upgrade


@dataclass(frozen=True)
class Row:
    guide_type: str
    size: int
    request_bytes: int
    floor_ms: float
    gateway_ms: float
    db_ms: float
    tiss_ms: float
    tiss_valid: bool
    # Each step on its own, for the largest lots (bench/stages.py).
    steps: stages.Stages | None = None

    @property
    def ratio(self) -> float:
        return self.gateway_ms / self.floor_ms


class DriverClock:
    """CPU seconds spent in the database driver (SQLite, in this thread): statements, commits."""

    def __init__(self, engine) -> None:
        self.total = 0.0
        self._started = 0.0
        self._commit = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._before_commit)
        event.listen(Session, "after_commit", self._after_commit)

    def _before(self, *_args) -> None:
        self._started = time.thread_time()

    def _after(self, *_args) -> None:
        self.total += time.thread_time() - self._started

    def _before_commit(self, *_args) -> None:
        self._commit = time.thread_time()

    def _after_commit(self, *_args) -> None:
        if self._commit:
            self.total += time.thread_time() - self._commit
            self._commit = 0.0


def _scratch_dir() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="tiss-bench-", dir=shm if shm.is_dir() else None))


def start_gateway(directory: Path) -> Gateway:
    url = f"sqlite:///{directory / 'bench.db'}"
    upgrade(url)
    settings = Settings(database_url=url, registro_ans=None, var_dir=directory)
    gw = Gateway.start(settings)
    workload.provision(gw.db)
    return gw


class Floor:
    """Parse, validate with the official XSD, MD5 of the leaf texts."""

    _LEAF_TEXT = etree.XPath(
        "(ans:cabecalho | ans:loteGuias)/descendant-or-self::*[not(*)]/text()",
        namespaces={"ans": ANS},
        smart_strings=False,
    )

    def __init__(self, version: str) -> None:
        tag = version_file_tag(version)
        self.schema = compile_schema(package_schema_dir(version) / f"tissWebServices{tag}.xsd")

    def __call__(self, raw: bytes) -> str:
        payload = etree.fromstring(raw)[0][0]
        if not self.schema.validate(payload):
            raise AssertionError(f"sample lot is not valid: {self.schema.error_log}")
        text = "".join(self._LEAF_TEXT(payload))
        return hashlib.md5(text.encode("iso-8859-1")).hexdigest()


def _wsgi_call(app, raw: bytes) -> tuple[str, bytes]:
    environ = EnvironBuilder(
        path=workload.LOTE_PATH,
        method="POST",
        data=raw,
        headers={"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": '""'},
    ).get_environ()
    status = []
    body = b"".join(app(environ, lambda s, _h, _e=None: status.append(s)))
    return status[0], body


def measure(sizes=(1, 10, 100), types=("consulta", "sp-sadt"), repeat: int = 20) -> list[Row]:
    """Medians of `repeat` lots of each type and size. CPU time of this thread, not wall time: the
    machine may be busy with something else, and all three are pure CPU work here."""
    directory = _scratch_dir()
    gw = start_gateway(directory)
    app = build_app(gw)
    clock = DriverClock(gw.db.engine)
    floor = Floor(workload.VERSION)
    schema_set = gw.schemas.get(workload.VERSION)
    # A first lot: a long-lived worker has verified the credential and warmed its caches.
    _wsgi_call(app, workload.lot_message("consulta", 1, "W").soap)
    rows = []
    for guide_type in types:
        for size in sizes:
            messages = [workload.lot_message(guide_type, size) for _ in range(repeat)]
            # Each in a block of its own, so that none runs with caches the other one left.
            floor_s = [_timed(floor, m.soap) for m in messages]
            gateway_s, db_s = [], []
            for message in messages:
                in_driver = clock.total
                elapsed, (status, body) = _timed_result(_wsgi_call, app, message.soap)
                if not status.startswith("200") or b"numeroProtocolo" not in body:
                    raise AssertionError(f"lot not accepted: {status} {body[:400]!r}")
                db_s.append(clock.total - in_driver)
                gateway_s.append(elapsed - db_s[-1])
            reports = [_timed_result(tiss.validate, m.mensagem) for m in messages]
            steps = None
            if size == max(sizes):
                steps = stages.measure(schema_set, [m.soap for m in messages])
            rows.append(
                Row(
                    guide_type,
                    size,
                    len(messages[0].soap),
                    _ms(floor_s),
                    _ms(gateway_s),
                    _ms(db_s),
                    _ms([seconds for seconds, _ in reports]),
                    all(report.valid for _, report in reports),
                    steps,
                )
            )
    gw.db.dispose()
    return rows


def _timed(function, *args) -> float:
    return _timed_result(function, *args)[0]


def _timed_result(function, *args):
    started = time.thread_time()
    result = function(*args)
    return time.thread_time() - started, result


def _ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000
