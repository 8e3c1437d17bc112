"""deploy/: the gunicorn configuration loads, Debian's nginx accepts the site, and the gateway
(gunicorn with deploy/gunicorn.conf.py) behind that nginx answers a lot over TLS with a
certificate made here, and takes a registered client certificate instead of the password (and
no forged certificate header). nginx comes from scripts/ensure-system-packages (run by `make
test`)."""

import json
import os
import runpy
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from gunicorn.config import Config
from lxml import etree
from sqlalchemy import create_engine, text

from gateway.services.admin import add_provider, set_operator
from gateway.services.client_certificates import add_certificate
from gateway.tiss.client_certificates import read_certificate
from gateway.tiss.namespaces import version_slug
from gateway.tiss.samples import guides, lote_guias_ws
from storage.db import Database
from storage.migrate import upgrade
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.pki import TlsFiles, make_tls_files
from tests.tissclient import envelope, read_answer, sample_lot

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
SITE = DEPLOY / "nginx" / "tiss-gateway.conf"
CLIENT_CERT_SNIPPET = DEPLOY / "nginx" / "tiss-client-cert.conf"


def _nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx missing: `make test` installs it (scripts/ensure-system-packages)")
        pytest.skip("nginx not installed (scripts/ensure-system-packages installs it)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _replace(text_: str, old: str, new: str) -> str:
    assert old in text_, f"deploy/nginx/tiss-gateway.conf no longer has {old!r}"
    return text_.replace(old, new)


def write_nginx_conf(
    directory: Path, tls: TlsFiles, *, port: int, upstream: int, client_certs: bool
) -> Path:
    """The shipped site, pointed at this test's ports, certificates and folders, inside a minimal
    nginx.conf (Debian's includes sites-enabled/ inside `http` the same way)."""
    site = SITE.read_text()
    site = _replace(site, "server 127.0.0.1:8000", f"server 127.0.0.1:{upstream}")
    site = _replace(site, "listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    site = _replace(site, "listen [::]:443 ssl;\n", "")
    site = _replace(site, "/etc/ssl/tiss-gateway/fullchain.pem", str(tls.server_cert))
    site = _replace(site, "/etc/ssl/tiss-gateway/privkey.pem", str(tls.server_key))
    site = _replace(site, "/var/log/nginx/", f"{directory}/")
    if client_certs:
        snippet = CLIENT_CERT_SNIPPET.read_text()
        snippet = _replace(snippet, "/etc/ssl/tiss-gateway/client-ca.pem", str(tls.ca))
        (directory / "client-cert.conf").write_text(snippet)
        site = _replace(
            site,
            "# include snippets/tiss-client-cert.conf;",
            f"include {directory}/client-cert.conf;",
        )
    (directory / "site.conf").write_text(site)
    temp = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = directory / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\npid {directory}/nginx.pid;\n"
        f"error_log {directory}/error.log warn;\nevents {{ worker_connections 64; }}\n"
        "http {\n"
        f"    client_body_temp_path {temp['body']};\n    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n    include {directory}/site.conf;\n"
        "}\n"
    )
    return conf


def _nginx_args(conf: Path) -> list[str]:
    return [_nginx(), "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "e.log")]


def test_gunicorn_configuration_is_made_of_valid_settings():
    namespace = runpy.run_path(str(GUNICORN_CONF))
    cfg = Config()
    applied = []
    for name, value in namespace.items():
        if name in cfg.settings:
            cfg.set(name, value)  # gunicorn's own validation of each value
            applied.append(name)
    for name in (
        "bind",
        "workers",
        "timeout",
        "graceful_timeout",
        "limit_request_line",
        "limit_request_field_size",
        "max_requests",
        "logconfig_dict",
        "logger_class",
        "child_exit",
    ):
        assert name in applied, name
    assert cfg.timeout > 0 and cfg.graceful_timeout > 0
    assert cfg.preload_app is False  # each worker opens its own database connections
    assert cfg.accesslog is None  # the gateway writes its own access line (JSON, request id)
    # ... and gunicorn does not even build its own, which a logging config would otherwise cause.
    assert cfg.logger_class(cfg).access_log_enabled is False
    assert cfg.logconfig_dict["formatters"]["tiss"]["()"].__name__ == "JsonFormatter"


@pytest.fixture
def gateway_db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    db = Database(url)
    set_operator(db, REGISTRO_ANS, "Operadora Teste")
    p = PROVIDER_A
    add_provider(db, cnpj=p.cnpj, code=p.code, name=p.name, password=p.password)
    db.dispose()
    return url


def _gateway_env(tmp_path: Path, url: str, port: int) -> dict:
    env = dict(os.environ)
    env.update(
        TISS_BIND=f"127.0.0.1:{port}",
        TISS_WORKERS="1",
        TISS_DATABASE_URL=url,
        TISS_VAR_DIR=str(tmp_path),
        TISS_TRUST_PROXY="true",
        TISS_LOG_FORMAT="json",
        TISS_SECRET_KEY="k" * 40,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    return env


def test_gunicorn_check_config_loads_the_application(tmp_path, gateway_db):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--check-config",
            "-c",
            str(GUNICORN_CONF),
            "gateway.app:create_app()",
        ],
        cwd=ROOT,
        env=_gateway_env(tmp_path, gateway_db, _free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("client_certs", [False, True], ids=["site", "site+client-cert"])
def test_nginx_accepts_the_site(tmp_path, client_certs):
    tls = make_tls_files(tmp_path)
    conf = write_nginx_conf(
        tmp_path, tls, port=_free_port(), upstream=8000, client_certs=client_certs
    )
    result = subprocess.run([*_nginx_args(conf), "-t"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def _wait_http(url: str, process: subprocess.Popen, log: Path, **kwargs) -> None:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if requests.get(url, timeout=2, **kwargs).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} not ready: {log.read_text()[-3000:]}")


def _logged_line(log: Path, needle: str) -> str:
    """The line of `log` holding `needle`. nginx writes its access-log line after the answer
    has gone out, so the client can read the answer before the line exists: wait for it."""
    deadline = time.monotonic() + 10
    while True:
        text = log.read_text() if log.exists() else ""
        found = [line for line in text.splitlines() if needle in line]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            pytest.fail(f"{needle!r} never logged in {log.name}: {text[-2000:]}")
        time.sleep(0.05)


def _stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _post_lot(base: str, tls: TlsFiles, numero: str, *, password: bool, **kwargs):
    # Guides numbered after the lot: a guide is billed once (1308).
    lot = sample_lot(
        PROVIDER_A, numero, registro_ans=REGISTRO_ANS, guides=guides(1, prefix=f"{numero}-")
    )
    if not password:
        lot.login = lot.senha_md5 = None  # no loginSenhaPrestador at all (minOccurs="0")
    headers = {"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": '""'}
    headers.update(kwargs.pop("headers", {}))
    response = requests.post(
        f"{base}/tiss/{version_slug('4.03.00')}/tissLoteGuias",
        data=envelope(lote_guias_ws(lot)),
        headers=headers,
        verify=str(tls.ca),
        timeout=30,
        **kwargs,
    )
    return read_answer(
        response.status_code, response.headers["Content-Type"], response.content, "4.03.00"
    )


def _client_certificate_replaces_the_password(base: str, tls: TlsFiles, url: str) -> None:
    """TISS_CLIENT_CERT_HEADERS=true behind the shipped nginx: the certificate the first lot
    presented reached the gateway (archived), and once registered it replaces the password;
    a client without one cannot forge nginx's headers."""
    client = (str(tls.client_cert), str(tls.client_key))
    sha256 = read_certificate(tls.client_cert.read_bytes()).sha256
    db = Database(url)
    try:
        add_certificate(db, PROVIDER_A.code, tls.client_cert.read_bytes())
    finally:
        db.dispose()
    assert _post_lot(base, tls, "TLS0002", password=False, cert=client).protocol

    forged = {
        "X-SSL-Client-Verify": "SUCCESS",
        "X-SSL-Client-Cert": quote(tls.client_cert.read_text(), safe=""),
        "X_SSL_Client_Verify": "SUCCESS",  # underscores: dropped by nginx (and gunicorn)
        "X_SSL_Client_Cert": quote(tls.client_cert.read_text(), safe=""),
    }
    refused = _post_lot(base, tls, "TLS0003", password=False, headers=forged)
    assert refused.tiss_fault == "LoginInvalido"
    assert "loginSenhaPrestador" in refused.faultstring

    with create_engine(url).connect() as conn:
        stored = conn.execute(
            text("SELECT auth_method, client_cert_sha256, outcome FROM messages ORDER BY id")
        ).all()
    assert stored == [
        ("password", sha256, "accepted"),  # not registered yet: the password decided
        ("certificate", sha256, "accepted"),
        (None, None, "rejected"),
    ]


def test_gateway_behind_nginx_answers_a_lot_over_tls(tmp_path, gateway_db):
    _nginx()
    tls = make_tls_files(tmp_path)
    gw_port, tls_port = _free_port(), _free_port()
    gw_log = tmp_path / "gunicorn.log"
    env = _gateway_env(tmp_path, gateway_db, gw_port)
    env["TISS_CLIENT_CERT_HEADERS"] = "true"  # behind this nginx, which always sets them
    with gw_log.open("wb") as log_file:
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(GUNICORN_CONF),
                "gateway.app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    conf = write_nginx_conf(tmp_path, tls, port=tls_port, upstream=gw_port, client_certs=True)
    proxy = subprocess.Popen([*_nginx_args(conf), "-g", "daemon off;"], stderr=subprocess.PIPE)
    base = f"https://127.0.0.1:{tls_port}"
    try:
        _wait_http(f"http://127.0.0.1:{gw_port}/readyz", gunicorn, gw_log)
        _wait_http(f"{base}/healthz", proxy, tmp_path / "error.log", verify=str(tls.ca))

        lot = sample_lot(
            PROVIDER_A, "TLS0001", registro_ans=REGISTRO_ANS, guides=guides(2, prefix="TLS0001-")
        )
        response = requests.post(
            f"{base}/tiss/{version_slug('4.03.00')}/tissLoteGuias",
            data=envelope(lote_guias_ws(lot)),
            headers={"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": '""'},
            verify=str(tls.ca),
            cert=(str(tls.client_cert), str(tls.client_key)),
            timeout=30,
        )
        answer = read_answer(
            response.status_code, response.headers["Content-Type"], response.content, "4.03.00"
        )
        assert answer.protocol, response.text[:500]

        # One request id: made by nginx, used by the gateway, archived, sent back, logged.
        request_id = response.headers["X-Request-Id"]
        assert len(request_id) == 32
        with create_engine(gateway_db).connect() as conn:
            stored = conn.execute(text("SELECT request_id, remote_addr FROM messages")).all()
        assert stored == [(request_id, "127.0.0.1")]
        access = _logged_line(tmp_path / "tiss-gateway.access.log", request_id)
        assert " SUCCESS " in access and "TLSv1." in access

        _client_certificate_replaces_the_password(base, tls, gateway_db)

        # Proxy headers: the WSDL names the https address the client used.
        wsdl = requests.get(
            f"{base}/tiss/v40300/tissLoteGuias?wsdl", verify=str(tls.ca), timeout=10
        )
        address = etree.fromstring(wsdl.content).find(
            ".//{http://schemas.xmlsoap.org/wsdl/soap/}address"
        )
        assert address.get("location") == f"{base}/tiss/v40300/tissLoteGuias"

        # TLS 1.2 or later only, and no certificate is still fine (it is optional).
        context = ssl.create_default_context(cafile=str(tls.ca))
        with socket.create_connection(("127.0.0.1", tls_port)) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as conn:
                assert conn.version() in ("TLSv1.2", "TLSv1.3")
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(str(tls.ca))
        with warnings.catch_warnings():  # TLS 1.1 is deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises(ssl.SSLError), socket.create_connection(("127.0.0.1", tls_port)) as raw:
            old.wrap_socket(raw, server_hostname="localhost")

        # Metrics, summed over gunicorn's workers, reachable from the host itself.
        metrics = requests.get(f"{base}/metrics", verify=str(tls.ca), timeout=10).text
        assert 'tiss_requests_total{channel="soap",code="",outcome="accepted"' in metrics
        assert 'tiss_lots_received_total{guide_type="guiaConsulta",outcome="accepted"' in metrics
    finally:
        _stop(proxy, signal.SIGQUIT)
        _stop(gunicorn)
    lines = [json.loads(line) for line in gw_log.read_text().splitlines() if line.startswith("{")]
    answered = [line for line in lines if line.get("message") == "answered"]
    assert answered and answered[0]["request_id"] == request_id
    assert answered[0]["outcome"] == "accepted"
    assert PROVIDER_A.senha_md5 not in gw_log.read_text()


def test_brazils_zone_is_known_on_a_host_without_the_systems_zoneinfo():
    """A minimal host or image may have no /usr/share/zoneinfo: the gateway must still start and
    date its answers in Brazil's zone (the pinned tzdata package is zoneinfo's fallback)."""
    code = (
        "import zoneinfo; assert zoneinfo.TZPATH == (), zoneinfo.TZPATH\n"
        "from datetime import datetime, UTC\n"
        "from gateway.services.gateway import BRAZIL\n"
        "print(datetime(2026, 11, 22, 12, tzinfo=UTC).astimezone(BRAZIL).isoformat())"
    )
    env = dict(os.environ, PYTHONTZPATH="")  # empty: zoneinfo searches no system folder
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2026-11-22T09:00:00-03:00"


def test_gunicorn_configuration_reads_the_log_format_as_serve_does(monkeypatch):
    """`tiss-gateway serve` takes " TEXT " as text (gateway.config): so must the production
    configuration, rather than refuse to start."""
    monkeypatch.setenv("TISS_LOG_FORMAT", " TEXT ")
    namespace = runpy.run_path(str(GUNICORN_CONF))
    formatter = namespace["logconfig_dict"]["formatters"]["tiss"]["()"]
    assert formatter.__name__ == "TextFormatter"
