"""A scratch PostgreSQL database and `tiss-gateway serve` on it, on loopback, for one run."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench import workload
from storage.db import Database
from storage.migrate import upgrade


def admin_url() -> str:
    """Where scratch databases are created: TISS_BENCH_POSTGRES, else the test suite's cluster."""
    return os.environ.get(
        "TISS_BENCH_POSTGRES",
        os.environ.get("TISS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"),
    )


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A new, migrated and provisioned database; dropped afterwards whatever happens."""
    name = f"tissgw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    # make_url keeps a query string (?host=/var/run/postgresql for a Unix socket) in place.
    url = (
        make_url(admin_url())
        .set(drivername="postgresql+psycopg", database=name)
        .render_as_string(hide_password=False)
    )
    try:
        upgrade(url)
        db = Database(url)
        workload.provision(db)
        db.dispose()
        yield url
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`tiss-gateway serve` in its own process group; its log goes to a file."""

    def __init__(self, database_url: str, workers: int, extra_env: dict | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix="tiss-bench-serve-"))
        self.log_path = self.workdir / "serve.log"
        env = dict(os.environ)
        env.update(
            TISS_DATABASE_URL=database_url,
            TISS_VAR_DIR=str(self.workdir),
            TISS_LOG_FORMAT="json",
            PROMETHEUS_MULTIPROC_DIR=str(self.workdir / "prometheus"),
        )
        env.update(extra_env or {})
        command = [sys.executable, "-m", "gateway.cli", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(workers)]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gateway not ready after {timeout} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def __enter__(self) -> "Server":
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each process (those that have exited are left out)."""
    tick = os.sysconf("SC_CLK_TCK")
    times = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    return times


def backend_pids(database_url: str) -> list[int]:
    """PostgreSQL server processes serving the scratch database (the gateway's connections)."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    return [pid for (pid,) in rows]


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values
