"""The benchmarks run (tiny sizes) and print their tables. Nothing here is about speed."""

import psycopg
import pytest

from bench.__main__ import main
from tests.conftest import PG_ADMIN_URL


def test_in_process_benchmark_prints_its_table(capsys):
    assert main(["--quick", "--only", "inprocess"]) == 0
    out = capsys.readouterr().out
    assert "## In-process cost of receiving a lot" in out
    assert "| guide type | guides |" in out
    assert "| consulta" in out and "| sp-sadt" in out
    # The largest lots' steps: together no more than the whole gateway.
    assert "## Where the gateway's time goes" in out
    breakdown = out.split("## Where the gateway's time goes")[1]
    rows = [line.split("|")[1:-1] for line in breakdown.splitlines() if line.startswith("| ")]
    header, values = rows[0], rows[1:]
    assert [c.strip() for c in header[3:9]] == [
        "parse",
        "schema",
        "hash",
        "guides",
        "digest",
        "receipt",
    ]
    assert [v[0].strip() for v in values] == ["consulta", "sp-sadt"]
    for cells in values:
        steps = [float(c) for c in cells[3:9]]
        assert all(s >= 0 for s in steps) and sum(steps) <= float(cells[-1])


def _postgres_reachable() -> bool:
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


@pytest.mark.skipif(not _postgres_reachable(), reason="the e2e benchmark needs PostgreSQL")
def test_end_to_end_and_memory_benchmarks_print_their_tables(capsys, monkeypatch):
    monkeypatch.setenv("TISS_BENCH_POSTGRES", PG_ADMIN_URL)
    assert main(["--quick", "--only", "e2e", "--only", "memory", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "## End to end over HTTP, PostgreSQL, 2 gunicorn workers" in out
    assert "| status queries, max rate" in out
    assert "## Worker resident memory" in out
    assert "largest message accepted" in out
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| lots of")]
    rows += [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| status")]
    assert len(rows) == 6
    assert all(cells[2].strip() == "0" for cells in rows), out  # the errors column
