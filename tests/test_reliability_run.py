"""The load-and-crash run (scripts/reliability.py), small enough for CI: several gunicorn
workers on PostgreSQL, distinct lots, the same lot sent concurrently, status queries, one worker
killed with SIGKILL and PostgreSQL restarted mid-run. Nothing acknowledged may be lost or
duplicated, and resends must get their original protocol."""

import os
import shutil

import pytest

from scripts import reliability

pytestmark = pytest.mark.skipif(
    shutil.which("pg_ctlcluster") is None or os.geteuid() != 0,
    reason="needs the local PostgreSQL cluster and the right to restart it (CI runs as root)",
)


def test_load_with_a_killed_worker_and_a_postgres_restart_loses_nothing():
    args = reliability.build_parser().parse_args(
        [
            "--lots",
            "120",
            "--same-lot",
            "6",
            "--same-lot-groups",
            "5",
            "--status",
            "80",
            "--clients",
            "10",
            "--workers",
            "3",
            "--kill-worker",
            "--restart-postgres",
        ]
    )
    result = reliability.run(args)
    assert result["lots acknowledged"] == 125
    assert result["lots never acknowledged (client gave up)"] == 0
    assert result["lots lost (acknowledged, not stored)"] == 0
    assert result["lots stored twice"] == 0
    assert result["duplicate protocol numbers"] == 0
    assert result["resends answered with another protocol"] == 0
    assert result["lots with missing guides"] == 0
    assert result["lots stored"] == 125
