"""Record ids taken from the PostgreSQL sequence ahead of their row (storage/ids.py)."""

import pytest

from storage import ids
from storage.db import Database


@pytest.fixture
def sequence_ids(migrated: Database):
    if migrated.message_ids is None:
        pytest.skip("SQLite has no sequence: records are inserted for their id")
    migrated.message_ids.forget()
    yield migrated.message_ids, migrated
    migrated.message_ids.forget()


def test_a_held_id_is_used_once_and_only_while_fresh(sequence_ids, monkeypatch):
    reserve, db = sequence_ids
    with db.engine.connect() as conn:
        first = reserve.take(conn)
        second = reserve.take(conn)  # nothing held: a new one
        assert second > first
        reserve.hold(second + 100)
        reserve.hold(second + 200)  # one is held at a time: the first stays
        assert reserve.take(conn) == second + 100
        assert reserve.take(conn) not in (second + 100, second + 200)

        reserve.hold(second + 300)
        monkeypatch.setattr(ids, "FRESH_SECONDS", 0.0)
        stale = reserve.take(conn)
        assert stale != second + 300 and stale > second


def test_a_forked_process_forgets_the_held_id(sequence_ids):
    _, shared = sequence_ids
    db = Database(shared.url)  # its own engine: after_fork drops the pool without closing it
    try:
        db.message_ids.hold(10**12)
        db.after_fork()  # what gunicorn's workers do after forking from the preloading master
        with db.engine.connect() as conn:
            assert db.message_ids.take(conn) != 10**12
    finally:
        db.dispose()
