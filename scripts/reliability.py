"""Load and crash run: many clients against `tiss-gateway serve` (several gunicorn workers) on
PostgreSQL, sending distinct lots, the same lot concurrently and status queries; optionally a
worker is killed with SIGKILL and PostgreSQL is restarted in the middle. Then the database is
checked: every acknowledged lot stored exactly once with its guides, unique protocol numbers,
resent lots answered with their original protocol, nothing lost, nothing duplicated.

Loopback only, bounded in count and time. Usage (see docs/RELIABILITY.md):
    python scripts/reliability.py --lots 300 --same-lot 8 --status 300 --kill-worker \
        --restart-postgres
"""

import argparse
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from lxml import etree
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.tiss.header import Party  # noqa: E402
from gateway.tiss.samples import (  # noqa: E402
    SampleLot,
    SampleQuery,
    guides,
    lote_guias_ws,
    solicitacao_status_ws,
)

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
ANS = "http://www.ans.gov.br/padroes/tiss/schemas"
REGISTRO_ANS = "345678"
PROVIDERS = [("11222333000181", "RELA", "Senha@Rel1"), ("45723174000110", "RELB", "Senha@Rel2")]


@dataclass
class Tally:
    requests: int = 0
    client_errors: int = 0  # transport errors, non-SOAP answers, ErroInesperadoServidor
    resends: int = 0
    status_queries: int = 0
    status_errors: int = 0
    protocols: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    unacknowledged: set[tuple[str, str]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def envelope(element) -> bytes:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soapenv": SOAP})
    etree.SubElement(env, f"{{{SOAP}}}Body").append(element)
    return etree.tostring(env, encoding="ISO-8859-1", xml_declaration=True)


def lot_message(cnpj: str, code: str, password: str, numero: str) -> bytes:
    lot = SampleLot(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", cnpj),
        numero_lote=numero,
        guides=guides(3, prefix=f"{numero}-"),  # a guide is billed once (1308)
        login=cnpj,
        senha_md5=hashlib.md5(password.encode()).hexdigest(),
        codigo_prestador=code,
    )
    return envelope(lote_guias_ws(lot))


def post(session: requests.Session, url: str, body: bytes) -> etree._Element | None:
    """The Body's element of a SOAP answer, or None when the exchange failed."""
    try:
        response = session.post(
            url, data=body, timeout=30, headers={"Content-Type": "text/xml; charset=ISO-8859-1"}
        )
        root = etree.fromstring(response.content)
    except (requests.RequestException, etree.XMLSyntaxError):
        return None
    body_el = root.find(f"{{{SOAP}}}Body")
    content = body_el[0] if body_el is not None and len(body_el) else None
    if content is None or content.tag == f"{{{SOAP}}}Fault":
        return None
    return content


def send_until_acknowledged(base: str, tally: Tally, provider, numero: str, tries: int) -> None:
    cnpj, code, password = provider
    body = lot_message(cnpj, code, password, numero)
    session = requests.Session()
    for attempt in range(tries):
        with tally.lock:
            tally.requests += 1
            tally.resends += attempt > 0
        answer = post(session, f"{base}/tiss/v40300/tissLoteGuias", body)
        protocol = answer.findtext(f".//{{{ANS}}}numeroProtocolo") if answer is not None else None
        if protocol:
            with tally.lock:
                tally.protocols[(code, numero)].add(protocol)
            return
        with tally.lock:
            tally.client_errors += 1
        time.sleep(min(2.0, 0.1 * 2**attempt))
    with tally.lock:
        tally.unacknowledged.add((code, numero))


def query_status(base: str, tally: Tally, provider, numero: str) -> None:
    cnpj, code, password = provider
    query = SampleQuery(
        REGISTRO_ANS,
        Party("CNPJ", cnpj),
        code,
        login=cnpj,
        senha_md5=hashlib.md5(password.encode()).hexdigest(),
    )
    answer = post(
        requests.Session(),
        f"{base}/tiss/v40300/tissSolicitacaoStatusProtocolo",
        envelope(solicitacao_status_ws(query, numero)),
    )
    with tally.lock:
        tally.status_queries += 1
        tally.status_errors += answer is None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, workers: int, var_dir: str) -> subprocess.Popen:
    env = dict(
        os.environ, TISS_DATABASE_URL=url, TISS_VAR_DIR=var_dir, TISS_REGISTRO_ANS=REGISTRO_ANS
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.3)
    server.kill()
    raise RuntimeError("gateway did not become ready")


def worker_pids(master: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return pids


def restart_postgres() -> None:
    cluster = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart", "-m", "fast"],
        check=True,
        capture_output=True,
    )


def prepare_database(admin_url: str) -> tuple[str, str]:
    name = f"tissgw_rel_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    from gateway.services.admin import add_provider, set_operator
    from storage.db import Database
    from storage.migrate import upgrade

    upgrade(url)
    db = Database(url)
    set_operator(db, REGISTRO_ANS, "Operadora Confiabilidade")
    for cnpj, code, password in PROVIDERS:
        add_provider(db, cnpj=cnpj, code=code, name=f"Prestador {code}", password=password)
    db.dispose()
    return url, name


def verify(url: str, tally: Tally) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.codigo_na_operadora, l.numero_lote, pr.numero, l.guide_count,"
                " (SELECT count(*) FROM guides g WHERE g.lot_id = l.id)"
                " FROM lots l JOIN providers p ON p.id = l.provider_id"
                " JOIN protocols pr ON pr.lot_id = l.id"
            )
        ).all()
        messages = conn.execute(text("SELECT count(*) FROM messages")).scalar()
    engine.dispose()
    stored = defaultdict(list)
    for code, numero, protocol, guide_count, guide_rows in rows:
        stored[(code, numero)].append((protocol, guide_count == guide_rows))
    acknowledged = {k: v for k, v in tally.protocols.items()}
    lost = sum(1 for key in acknowledged if key not in stored)
    duplicates = sum(len(v) - 1 for v in stored.values() if len(v) > 1)
    protocol_numbers = [p for v in stored.values() for p, _ in v]
    mismatched = sum(
        1
        for key, seen in acknowledged.items()
        if key in stored and (len(seen) != 1 or next(iter(seen)) != stored[key][0][0])
    )
    return {
        "lots acknowledged": len(acknowledged),
        "lots never acknowledged (client gave up)": len(tally.unacknowledged),
        "lots stored": len(stored),
        "lots lost (acknowledged, not stored)": lost,
        "lots stored twice": duplicates,
        "duplicate protocol numbers": len(protocol_numbers) - len(set(protocol_numbers)),
        "resends answered with another protocol": mismatched,
        "lots with missing guides": sum(1 for v in stored.values() if not all(ok for _, ok in v)),
        "messages archived": messages,
    }


def run(args) -> dict[str, int]:
    url, name = prepare_database(args.admin_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tally = Tally()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as var_dir:
        server = start_server(url, port, args.workers, var_dir)
        try:
            rng = random.Random(7)
            jobs = []
            for i in range(args.lots):
                jobs.append((PROVIDERS[i % 2], f"{i:010d}"))
            for i in range(args.same_lot_groups):
                for _ in range(args.same_lot):
                    jobs.append((PROVIDERS[i % 2], f"S{i:09d}"))
            rng.shuffle(jobs)
            with ThreadPoolExecutor(args.clients) as pool:
                futures = []
                for n, (provider, numero) in enumerate(jobs):
                    futures.append(
                        pool.submit(
                            send_until_acknowledged, base, tally, provider, numero, args.tries
                        )
                    )
                    if n < args.status:
                        futures.append(
                            pool.submit(query_status, base, tally, provider, f"{n + 1:012d}")
                        )
                    if args.kill_worker and n == len(jobs) // 3:
                        pids = worker_pids(server.pid)
                        if pids:
                            os.kill(pids[0], signal.SIGKILL)
                    if args.restart_postgres and n == 2 * len(jobs) // 3:
                        pool.submit(restart_postgres)
                for f in futures:
                    f.result(timeout=args.timeout)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    result = {
        "requests (lots, with resends)": tally.requests,
        "failures seen by clients (then resent)": tally.client_errors,
        "status queries": tally.status_queries,
        "status queries failed": tally.status_errors,
    }
    result.update(verify(url, tally))
    result["seconds"] = round(time.monotonic() - started, 1)
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("TISS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--lots", type=int, default=300)
    parser.add_argument("--same-lot", type=int, default=8, help="concurrent sends of one lot")
    parser.add_argument("--same-lot-groups", type=int, default=10)
    parser.add_argument("--status", type=int, default=300)
    parser.add_argument("--tries", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--kill-worker", action="store_true")
    parser.add_argument("--restart-postgres", action="store_true")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    result = run(args)
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    ok = result["lots lost (acknowledged, not stored)"] == 0 and result["lots stored twice"] == 0
    ok = ok and result["duplicate protocol numbers"] == 0
    ok = ok and result["resends answered with another protocol"] == 0
    ok = ok and result["lots with missing guides"] == 0
    ok = ok and result["lots never acknowledged (client gave up)"] == 0
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
