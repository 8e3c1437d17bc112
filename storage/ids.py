"""Ids taken from a PostgreSQL sequence before the row that gets them is written.

An archive record's id is also the sequencialTransacao of the answer stored in it, and the
answer's hash covers it: the id must exist before the answer, and the record could only be
written as an INSERT (for the id) plus an UPDATE (for the answer). With the id taken first, the
record is written once, complete. The INSERT also returns the sequence's next value, held for
this process's next record, so that in steady use one statement writes a record and reserves
the next id.

A held id is used only while fresh (FRESH_SECONDS): listings show messages newest first by id,
so ids must keep the order messages arrive in across processes. An id held longer is dropped,
a gap like those a sequence leaves anyway, and a new one is taken.
"""

import threading
import time

from sqlalchemy import Connection, Table, func, insert, select

# A worker under load writes a record every few milliseconds, so its held id is always fresh;
# an idle one takes a new id, one round trip, as the UPDATE it replaces cost.
FRESH_SECONDS = 0.2


class SequenceIds:
    """Ids of a table's serial `id` column, at most one held at a time for this process's next
    row."""

    def __init__(self, table: Table) -> None:
        # The sequence PostgreSQL made for the serial column, as the migrations created it.
        self._next_value = func.nextval(f"{table.name}_id_seq")
        self._nextval = select(self._next_value)
        # A complete row of `table` that returns the sequence's next value, to hold.
        self.insert_returning_next = insert(table).returning(self._next_value)
        self._lock = threading.Lock()  # one per process, but the test servers are threaded
        self._held: tuple[int, float] | None = None

    def take(self, connection: Connection) -> int:
        """An id no other row has or will get: the held one while fresh, else a new one."""
        with self._lock:
            held, self._held = self._held, None
        if held is not None and time.monotonic() - held[1] < FRESH_SECONDS:
            return held[0]
        return connection.execute(self._nextval).scalar_one()

    def hold(self, value: int) -> None:
        """Keep an id the sequence gave (an INSERT's RETURNING) for the next row."""
        with self._lock:
            if self._held is None:
                self._held = (value, time.monotonic())

    def forget(self) -> None:
        """Drop the held id: a process forked from this one must not use the same id."""
        with self._lock:
            self._held = None
