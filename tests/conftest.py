"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, a gateway with this operator
and a provider, an HTTP client, and the official ANS schemas to validate every answer."""

import contextlib
import os
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from werkzeug.serving import make_server
from werkzeug.test import Client

from gateway.app import build_app
from gateway.config import Settings
from gateway.services import schema_sets
from gateway.services.admin import add_provider, set_operator
from gateway.services.gateway import Gateway
from gateway.tiss.signatures import TrustStore
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base
from tests.pki import Pki
from tests.tissclient import Provider

SHARED_TISS = Path(__file__).resolve().parents[2] / "shared" / "tiss"
REGISTRO_ANS = "345678"
PG_ADMIN_URL = os.environ.get("TISS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

PROVIDER_A = Provider(
    cnpj="11222333000181", code="PRESTA", name="Hospital A", password="Senha@A123"
)
PROVIDER_B = Provider(cnpj="45723174000110", code="PRESTB", name="Clínica B", password="Senha@B456")


@pytest.fixture(scope="session")
def shared_tiss() -> Path:
    assert SHARED_TISS.is_dir(), f"official ANS files expected at {SHARED_TISS}"
    return SHARED_TISS


def _postgres_database():
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    name = f"tissgw_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}", name


def _drop_postgres_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(kind: str, directory: Path):
    """The URL of a new, empty database: a SQLite file in `directory`, or a PostgreSQL database
    dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'gateway.db'}"
        return
    url, name = _postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def migrated(database_url):
    upgrade(database_url)
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def registry(migrated):
    reg = schema_sets.load_registry(migrated)
    for s in reg:
        s.compile()
    return reg


def _wipe(db: Database) -> None:
    with db.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(text(f"DELETE FROM {table.name}"))


def make_settings(database_url: str, tmp_path: Path, **overrides) -> Settings:
    # Most tests send several lots built from the same sample guides (G000001...), which the
    # production default would refuse as billed again (1308). The files that test that rule
    # (test_lot_semantics_extremes, test_concurrency_postgres) turn it on.
    values = dict(
        database_url=database_url,
        registro_ans=None,
        var_dir=tmp_path,
        refuse_presented_guides=False,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def pki() -> Pki:
    """A test PKI (tests/pki.py), one per test module."""
    return Pki()


@pytest.fixture(scope="module")
def trust(pki) -> TrustStore:
    """The gateway's trust store for that PKI: its root and the root's CRL."""
    return TrustStore.from_bytes(pki.root.cert_pem, [pki.root_crl])


@pytest.fixture
def settings_overrides() -> dict:
    """Override in a test module to run the gateway with other settings."""
    return {}


@pytest.fixture
def gw(migrated, registry, database_url, tmp_path, settings_overrides) -> Gateway:
    _wipe(migrated)
    set_operator(migrated, REGISTRO_ANS, "Operadora Teste")
    for p in (PROVIDER_A, PROVIDER_B):
        add_provider(migrated, cnpj=p.cnpj, code=p.code, name=p.name, password=p.password)
    settings = make_settings(database_url, tmp_path, **settings_overrides)
    return Gateway(settings=settings, db=migrated, schemas=registry)


@pytest.fixture
def client(gw) -> Client:
    return Client(build_app(gw))


@pytest.fixture(autouse=True, scope="session")
def _hash_each_test_password_once():
    """Every test seeds the same providers; argon2-hashing their passwords again for each test
    only costs time (the hash is salted once and stays a valid argon2 hash)."""
    import functools

    from gateway.services import admin

    original = admin.hash_password
    admin.hash_password = functools.lru_cache(maxsize=64)(original)
    yield
    admin.hash_password = original


@pytest.fixture
def server_url(gw):
    """The gateway's WSGI app on a real, threaded HTTP server on a free local port."""
    server = make_server("127.0.0.1", 0, build_app(gw), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def staff(gw):
    """An operator staff account (tests/backoffice_client.STAFF) in the gateway's database."""
    from gateway.services.backoffice.staff import add_staff
    from tests.backoffice_client import STAFF

    add_staff(gw.db, STAFF.login, STAFF.password)
    return STAFF
