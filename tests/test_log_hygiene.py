"""Log hygiene: "no passwords, hashes of passwords or beneficiary names in logs" (README,
Observability), nor session, reset-link or CSRF tokens, configuration secrets, certificates or
uploaded contents, on every path a client, the staff or the operator can reach.

Every record is captured at DEBUG (the root logger, as `logs.configure(level="DEBUG")` sets it)
and checked twice: rendered in full (message, arguments, extra fields, the formatted traceback
with its chained causes) and as the product writes it, with the JSON and the text formatters of
`gateway.logs.logging_config` (TISS_LOG_FORMAT=json|text). Sentinel values make any leak
unmistakable. Tests marked xfail document bugs found; their reason says where."""

import base64
import hashlib
import io
import logging
import os
import re
import runpy
import signal
import subprocess
import sys
import traceback
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from lxml import etree
from sqlalchemy import event, update
from werkzeug.test import Client

from gateway.app import build_app
from gateway.logs import FORMATS, RequestIdFilter, logging_config
from gateway.services import eligibility
from gateway.services.accounts import reset
from gateway.services.admin import add_provider
from gateway.services.backoffice.staff import add_staff
from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.services.client_certificates import add_certificate
from gateway.services.credentialing import queue
from gateway.soap.backoffice import commands
from gateway.tiss.header import Party
from gateway.tiss.namespaces import ANS
from gateway.tiss.samples import SampleQuery, lote_guias_ws, mensagem_tiss, pedido_elegibilidade_ws
from storage.models import Account
from tests import backoffice_client as bo
from tests import portal_support as ps
from tests.cli_support import Cli
from tests.conftest import REGISTRO_ANS
from tests.pki import make_ca, make_holder
from tests.tissclient import Provider, envelope, post, sample_lot

SENHA = "Sentinela#Senha9931"
SENHA_MD5 = hashlib.md5(SENHA.encode()).hexdigest()
NOVA = "Nova#Sentinela77"
NOME = "JOAQUINA SENTINELA DA SILVA"
CARTEIRA = "00099988877766"
STAFF_LOGIN = "operador.sentinela"
PROV = Provider(cnpj="34028316000103", code="PRESTS", name="Hospital Sentinela", password=SENHA)
CREDENTIALS = (SENHA, SENHA_MD5, NOVA, hashlib.md5(NOVA.encode()).hexdigest(), "$argon2")
ROOT = Path(__file__).resolve().parents[1]
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


# --- capture -------------------------------------------------------------------------------------


def render(record: logging.LogRecord) -> str:
    """Everything a handler could write of a record."""
    parts = [record.name, str(record.msg), repr(record.args), record.getMessage()]
    if record.exc_info and record.exc_info[1] is not None:
        parts.extend(traceback.format_exception(*record.exc_info))
    parts += [record.exc_text or "", record.stack_info or ""]
    parts += [f"{k}={v!r}" for k, v in vars(record).items() if k not in _STANDARD]
    return "\n".join(parts)


class Captured:
    def __init__(self, caplog, handlers: dict[str, logging.Handler]) -> None:
        self.caplog, self.handlers = caplog, handlers

    def written(self) -> dict[str, str]:
        """What the product writes, per TISS_LOG_FORMAT."""
        return {fmt: h.stream.getvalue() for fmt, h in self.handlers.items()}

    def leaks(self, *secrets: str, records: bool = True, logger: str | None = None) -> list[str]:
        found = []
        if records:
            for record in self.caplog.records:
                if logger is None or record.name == logger:
                    text = render(record)
                    found += [f"record {record.name}: {s!r}" for s in secrets if s in text]
        if logger is None:
            for fmt, text in self.written().items():
                for line in text.splitlines():
                    found += [f"{fmt} line: {line[:400]}" for s in secrets if s in line]
        return found

    def messages(self, logger: str) -> list[str]:
        return [r.getMessage() for r in self.caplog.records if r.name == logger]


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    root = logging.getLogger()
    handlers = {}
    for fmt in FORMATS:
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(logging_config(fmt, "DEBUG")["formatters"]["tiss"]["()"]())
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
        handlers[fmt] = handler
    yield Captured(caplog, handlers)
    for handler in handlers.values():
        root.removeHandler(handler)


# --- helpers -------------------------------------------------------------------------------------


def _seed(gw) -> None:
    add_provider(gw.db, cnpj=PROV.cnpj, code=PROV.code, name=PROV.name, password=SENHA)
    upsert_beneficiaries(
        gw.db, [BeneficiaryData(CARTEIRA, NOME, "Plano Ouro", "ativo", date(2020, 1, 1))]
    )
    add_staff(gw.db, STAFF_LOGIN, SENHA)
    with gw.db.transaction() as session:
        session.execute(
            update(Account).where(Account.login == PROV.cnpj).values(email="faturamento@x.com.br")
        )


def _lot(numero: str, hash_value: str | None = None, **overrides):
    lot = sample_lot(PROV, numero, 1, registro_ans=REGISTRO_ANS, **overrides)
    return lote_guias_ws(lot, hash_value=hash_value)


def _eligibility(client, senha_md5: str = SENHA_MD5):
    query = SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", PROV.cnpj),
        codigo_prestador=PROV.code,
        login=PROV.cnpj,
        senha_md5=senha_md5,
    )
    element = pedido_elegibilidade_ws(query, CARTEIRA)
    return post(client, element, service="tissVerificaElegibilidade")


def _wsse(login: str, password: str, kind: str = "PasswordText") -> str:
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
        f"<wsse:Username>{login}</wsse:Username><wsse:Password Type="
        f'"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#'
        f'{kind}">{password}</wsse:Password></wsse:UsernameToken></wsse:Security>'
    )


def _basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def _load(nome: str = NOME, situacao: str = "ativo", adesao: str = "2020-01-01") -> str:
    return (
        f"<bo:carregarBeneficiarios><bo:beneficiario><bo:numeroCarteira>{CARTEIRA}"
        f"</bo:numeroCarteira><bo:nome>{nome}</bo:nome><bo:plano>Plano Ouro</bo:plano>"
        f"<bo:situacao>{situacao}</bo:situacao><bo:dataAdesao>{adesao}</bo:dataAdesao>"
        f"</bo:beneficiario></bo:carregarBeneficiarios>"
    )


def _backoffice(client, payload: str, header: str = "", authorization: str | None = None):
    headers = {"Content-Type": "text/xml; charset=UTF-8"}
    if authorization:
        headers["Authorization"] = authorization
    return client.post("/backoffice/v1", data=bo.envelope(payload, header), headers=headers)


def _reset_link(client, gw) -> str:
    assert ps.post(client, "/portal/esqueci-senha", {"login": PROV.cnpj}).status_code == 200
    mail = sorted((gw.settings.var_dir / "outbox").glob("*.eml"))[-1].read_text()
    return re.search(r"http://localhost(/portal/senha/redefinir\?token=[\w-]+)", mail).group(1)


def _failing_writes(gw, *patterns: str):
    """The database refuses the writes matching `patterns`, as a locked or lost database does."""
    dbapi = gw.db.engine.dialect.dbapi

    def refuse(_conn, _cursor, statement, _params, _context, _many):
        if any(re.match(p, statement.lstrip()) for p in patterns):
            raise dbapi.OperationalError("database is locked")

    event.listen(gw.db.engine, "before_cursor_execute", refuse)
    return lambda: event.remove(gw.db.engine, "before_cursor_execute", refuse)


# --- TISS web services ---------------------------------------------------------------------------


def test_tiss_messages_accepted_and_refused_log_no_password_or_name(gw, client, logs):
    _seed(gw)
    schema_error = _lot("L6")
    next(schema_error.iter(f"{{{ANS}}}atendimentoRN")).text = NOME  # quoted by the XSD error
    answers = [
        post(client, _lot("L1")),
        post(client, _lot("L2", senha_md5="f" * 32)),  # wrong password
        post(client, _lot("L3", senha_md5=SENHA)),  # the password itself instead of its MD5
        post(client, _lot("L4", senha_md5=SENHA + "<&>]]>")),  # odd characters
        post(client, _lot("L5", hash_value="0" * 32)),  # wrong hash, right password
        post(client, None, raw=envelope(_lot("L7"))[:-60]),  # unreadable, password inside
        post(client, schema_error),
        _eligibility(client),
        _eligibility(client, senha_md5="f" * 32),
    ]
    assert answers[0].protocol and answers[7].payload is not None
    assert [a.code for a in answers[1:7]] == ["5005", "5005", "5005", "5014", "5002", "5001"]
    assert NOME in answers[6].faultstring  # the value is quoted to the client...
    assert NOME.encode("iso-8859-1") in answers[7].raw  # ...and the name is in the answer
    assert logs.messages("gateway.answers") == ["answered"] * len(answers)
    assert logs.leaks(*CREDENTIALS, NOME, "f" * 32) == []  # ...but neither is logged


def test_unexpected_failures_log_a_traceback_without_locals_or_request(
    gw, client, logs, monkeypatch
):
    """ErroInesperadoServidor, on a TISS service and on the back office, is logged with its
    traceback: files, lines and the exception, never local variables or the request."""
    _seed(gw)

    def answer_fails(header, registro_ans, result):
        nome, senha = result.nome, SENHA_MD5  # noqa: F841 - locals a traceback must not show
        raise RuntimeError("answer could not be built")

    def load_fails(db, items):
        names = [item.name for item in items]  # noqa: F841
        raise RuntimeError("registry unavailable")

    monkeypatch.setattr(eligibility, "resposta_elegibilidade", answer_fails)
    monkeypatch.setattr(commands, "load_beneficiaries", load_fails)
    assert _eligibility(client).tiss_fault == "ErroInesperadoServidor"
    answer = _backoffice(client, _load(), _wsse(STAFF_LOGIN, SENHA))
    assert b"ErroInesperadoServidor" in answer.data
    for fmt, text in logs.written().items():
        assert "answer could not be built" in text and "registry unavailable" in text, fmt
        assert "Traceback" in text, fmt
    assert logs.leaks(*CREDENTIALS, NOME) == []


def _database_failures(gw, client) -> None:
    """A beneficiary load and a portal password change whose writes the database refuses: the
    driver's error quotes the statement's parameters (the name, the new argon2 hash)."""
    _seed(gw)
    assert ps.login(client, PROV.cnpj, SENHA).status_code == 302
    restore = _failing_writes(
        gw, r"(INSERT INTO|UPDATE) beneficiaries", r"UPDATE accounts SET password_hash"
    )
    try:
        load = _load(nome=NOME + " FILHA")  # a changed name: the UPDATE carries it
        assert _backoffice(client, load, _wsse(STAFF_LOGIN, SENHA)).status_code == 500
        form = {"current": SENHA, "password": NOVA, "password_confirm": NOVA}
        assert ps.post(client, "/portal/conta/senha", form).status_code == 500
    finally:
        restore()


@pytest.mark.parametrize(
    "where",
    [
        "written",
        "records",
    ],
)
def test_database_errors_quoting_parameters_reach_no_log(gw, client, logs, where):
    _database_failures(gw, client)
    written = "\n".join(logs.written().values())
    assert "database is locked" in written and "SQL parameters hidden" in written
    assert logs.leaks(NOME, *CREDENTIALS, records=where == "records") == []


@pytest.mark.parametrize(
    ("path", "header"),
    [
        pytest.param("/backoffice/v1", "Authorization", id="backoffice-basic"),
        pytest.param(
            "/tiss/v40300/tissLoteGuias",
            "Authorization",
            id="tiss-basic",
        ),
        pytest.param(
            "/tiss/v40300/tissLoteGuias",
            "X-SSL-Client-Cert",
            id="tiss-client-certificate",
        ),
    ],
)
def test_debug_level_logs_no_credential_header(gw, logs, path, header):
    _seed(gw)
    now = datetime.now(UTC)
    holder = make_holder("HOSPITAL SENTINELA:34028316000103", make_ca("AC Teste", now=now), now=now)
    add_certificate(gw.db, PROV.code, holder.cert_pem)
    settings = replace(gw.settings, client_cert_headers=True)
    client = Client(build_app(replace(gw, settings=settings)))
    if header == "Authorization":
        value = _basic(STAFF_LOGIN if "backoffice" in path else PROV.cnpj, SENHA)
        secret, headers = value.split()[1], {header: value}
        body = bo.envelope(_load()) if "backoffice" in path else envelope(_lot("D1"))
    else:  # nginx verified the certificate and passes it URL-encoded
        secret = holder.cert_pem.decode().splitlines()[1]
        headers = {header: quote(holder.cert_pem.decode()), "X-SSL-Client-Verify": "SUCCESS"}
        body = envelope(_lot("D1", login=None))
    headers["Content-Type"] = "text/xml; charset=UTF-8"
    assert client.post(path, data=body, headers=headers).status_code == 200
    assert any(r.levelno == logging.DEBUG for r in logs.caplog.records)
    assert logs.leaks(secret, SENHA, quote(secret)) == []


def test_spyne_debug_dump_of_a_beneficiary_load_hides_names(gw, client, logs):
    _seed(gw)
    for name in ("spyne", "spyne.protocol.xml"):
        logs.caplog.set_level(logging.DEBUG, logger=name)
    assert _backoffice(client, _load(), _wsse(STAFF_LOGIN, SENHA)).status_code == 200
    assert post(client, _lot("S1")).protocol
    assert logs.leaks(SENHA, NOME, SENHA_MD5, records=False) == []


# --- back office ---------------------------------------------------------------------------------


def test_backoffice_staff_passwords_and_loaded_names_are_not_logged(gw, client, logs):
    _seed(gw)
    wrong = SENHA + "x"
    calls = [
        _backoffice(client, _load(), _wsse(STAFF_LOGIN, wrong)),
        _backoffice(client, _load(), authorization=_basic(STAFF_LOGIN, wrong)),
        _backoffice(client, _load(), _wsse(STAFF_LOGIN, SENHA, "PasswordDigest")),
        _backoffice(client, _load(), authorization="Basic " + SENHA),  # malformed
        _backoffice(client, _load(), _wsse(STAFF_LOGIN, SENHA)),
        _backoffice(client, _load(), authorization=_basic(STAFF_LOGIN, SENHA)),
    ]
    assert [c.status_code for c in calls] == [500, 500, 500, 500, 200, 200]
    lines = logs.messages("gateway.soap.backoffice.app")
    # A login is named once authenticated: before that it may be a password typed in its place.
    assert len(lines) == 6
    assert all("by (não autenticado) refused" in line for line in lines[:4])
    assert all(f"(conta '{STAFF_LOGIN}')" in line for line in lines[:2])  # wrong passwords
    assert all(f"by {STAFF_LOGIN} (" in line for line in lines[4:])
    assert logs.leaks(*CREDENTIALS, wrong, NOME, _basic(STAFF_LOGIN, SENHA)[6:]) == []


@pytest.mark.parametrize("field", ["situacao", "adesao"])
def test_backoffice_schema_error_quoting_a_name_is_not_logged(gw, client, logs, field):
    _seed(gw)
    payload = _load(situacao=NOME) if field == "situacao" else _load(adesao=NOME)
    answer = _backoffice(client, payload, _wsse(STAFF_LOGIN, SENHA))
    assert b"RequisicaoInvalida" in answer.data and NOME.encode() in answer.data
    assert logs.leaks(NOME) == []


# --- portal --------------------------------------------------------------------------------------


def test_portal_account_flows_log_no_password_session_or_csrf_token(gw, client, logs):
    _seed(gw)
    tokens = [ps.csrf_token(client, "/portal/entrar")]
    statuses = [
        ps.login(client, PROV.cnpj, SENHA + "x").status_code,
        ps.login(client, SENHA, SENHA).status_code,  # the password typed as the login too
        ps.login(client, PROV.cnpj, SENHA).status_code,
    ]
    session_cookie = client.get_cookie("tiss_portal", path="/portal").value
    tokens.append(ps.csrf_token(client, "/portal/conta/senha"))
    for current, confirm in ((SENHA + "y", NOVA), (SENHA, NOVA + "z"), (SENHA, NOVA)):
        form = {"current": current, "password": NOVA, "password_confirm": confirm}
        statuses.append(ps.post(client, "/portal/conta/senha", form).status_code)
    forged = client.post(
        "/portal/conta/senha", data={"csrf_token": "Sentinela-CSRF", "current": NOVA}
    )
    statuses.append(forged.status_code)
    ps.logout(client)
    registration = ps.registration_form(password=SENHA, password_confirm=SENHA + "z", name=NOME)
    statuses.append(
        ps.post(client, "/portal/credenciamento/auto-cadastro", registration).status_code
    )
    registration.update(password_confirm=SENHA, password="fraca")
    statuses.append(
        ps.post(client, "/portal/credenciamento/auto-cadastro", registration).status_code
    )
    registration.update(password=SENHA, password_confirm=SENHA)
    statuses.append(
        ps.post(client, "/portal/credenciamento/auto-cadastro", registration).status_code
    )
    delegate = {"cpf": ps.DELEGATE_CPF, "email": ps.DELEGATE_EMAIL, "password": SENHA}
    statuses.append(ps.post(client, "/portal/secretaria/criar-conta", delegate).status_code)
    statuses.append(ps.post(client, "/portal/esqueci-senha", {"login": SENHA}).status_code)
    for attempt in range(5):  # locks the account: a warning is logged
        ps.login(client, PROV.cnpj, f"{SENHA}{attempt}")
    assert statuses == [401, 401, 302, 422, 422, 302, 400, 422, 422, 302, 422, 200]
    assert any("locked" in m for m in logs.messages("gateway.services.accounts.authentication"))
    assert logs.leaks(*CREDENTIALS, session_cookie, *tokens, "Sentinela-CSRF") == []


def test_reset_link_token_is_not_in_the_access_log(gw, client, logs):
    _seed(gw)
    link = _reset_link(client, gw)
    token = link.split("token=", 1)[1]
    assert client.get(link).status_code == 200
    weak = ps.post(client, link, {"password": "fraca", "password_confirm": "fraca"})
    done = ps.post(client, link, {"password": NOVA, "password_confirm": NOVA})
    assert (weak.status_code, done.status_code) == (422, 302)
    assert logs.messages("gateway.access")
    assert logs.leaks(token, NOVA, "$argon2") == []


def test_failure_on_the_reset_page_does_not_log_the_token(gw, client, logs, monkeypatch):
    _seed(gw)
    link = _reset_link(client, gw)

    def broken(*_args, **_kwargs):
        raise RuntimeError("could not store the new password")

    monkeypatch.setattr(reset, "reset_password", broken)
    assert ps.post(client, link, {"password": NOVA, "password_confirm": NOVA}).status_code == 500
    assert any(r.exc_info for r in logs.caplog.records if r.name == "gateway")
    assert logs.leaks(link.split("token=", 1)[1], logger="gateway") == []


def test_portal_eligibility_and_uploads_log_no_name_or_contents(gw, client, logs):
    _seed(gw)
    assert ps.login(client, PROV.cnpj, SENHA).status_code == 302
    page = ps.post(client, "/portal/prestador/elegibilidade", {"carteira": CARTEIRA})
    assert NOME in ps.text(page)
    receipt = ps.post(
        client,
        "/portal/prestador/elegibilidade/comprovante",
        {"carteira": CARTEIRA},
        token_from="/portal/prestador/elegibilidade",
    )
    assert receipt.status_code == 200
    lot = sample_lot(PROV, "U1", 1, registro_ans=REGISTRO_ANS)  # with loginSenhaPrestador
    data = etree.tostring(mensagem_tiss(lot), encoding="ISO-8859-1", xml_declaration=True)
    for content, status in ((data, 200), (data.replace(b"U1", b"U2")[:-30], 422)):
        sent = {"arquivo": (io.BytesIO(content), "lote.xml")}
        upload = ps.post(
            client, "/portal/prestador/envio-xml", sent, content_type="multipart/form-data"
        )
        assert upload.status_code == status
    ps.logout(client)
    # A candidate's credentialing document, uploaded and read back.
    staff_id = ps.make_staff(gw)
    account = ps.candidate_submitted(gw)
    queue.decide(gw.db, staff_id, ps.request_of(gw, account), "pre_approve", "Envie.", ps.now())
    assert ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD).status_code == 302
    secret_pdf = ps.PDF.replace(b"%%EOF", b"%Sentinela-Conteudo-Sigiloso\n%%EOF")
    document = {"doc_type": "cnpj", "file": (io.BytesIO(secret_pdf), "cnpj.pdf")}
    stored = ps.post(
        client, "/portal/credenciamento/documentos", document, content_type="multipart/form-data"
    )
    assert stored.status_code == 302
    listing = ps.text(client.get("/portal/credenciamento/documentos"))
    document_id = re.search(r"/portal/credenciamento/documentos/(\d+)", listing).group(1)
    read = client.get(f"/portal/credenciamento/documentos/{document_id}")
    assert read.data == secret_pdf
    assert logs.messages("gateway.answers") == ["answered"]
    secrets = (*CREDENTIALS, NOME, ps.CANDIDATE_PASSWORD, "Sentinela-Conteudo-Sigiloso")
    assert logs.leaks(*secrets) == []


# --- configuration, command line, deployment -----------------------------------------------------


def test_configuration_secrets_are_not_logged(gw, logs):
    mail = replace(
        ps.PORTAL_SETTINGS.mail, smtp_user="portal", smtp_password="Sentinela-SMTP-senha"
    )
    portal = replace(
        ps.PORTAL_SETTINGS, secret_key="Sentinela-chave-secreta-" + "k" * 16, mail=mail
    )
    settings = replace(gw.settings, portal=portal, metrics_token="Sentinela-metrics")
    client = Client(build_app(replace(gw, settings=settings)))
    assert client.get("/metrics", headers={"Authorization": "Bearer errado"}).status_code == 401
    bearer = {"Authorization": "Bearer Sentinela-metrics"}
    for path, headers in (("/metrics", bearer), ("/readyz", {}), ("/portal/entrar", {})):
        assert client.get(path, headers=headers).status_code == 200, path
    assert client.get("/tiss/v40300/tissLoteGuias?wsdl").status_code == 200
    assert logs.messages("gateway.access")
    assert logs.leaks("Sentinela-SMTP-senha", "Sentinela-chave-secreta", "Sentinela-metrics") == []


PG = "postgresql+psycopg://admin:{}@"


@pytest.mark.parametrize(
    ("url", "password"),
    [
        (PG + "127.0.0.1:abc/db", SENHA),
        (PG + "127.0.0.1:5432/db?sslmode=bogus", SENHA),
        (PG + "127.0.0.1:5432/db?bogus=1", SENHA),
        (PG + "nohost.invalid/db", SENHA),
        ("postgres://admin:{}@127.0.0.1/db", SENHA),
        (PG + "127.0.0.1:5432/db", "Sentinela@Senha9931"),
        (PG + "127.0.0.1/db", "Sentinela@Senha:9931"),
    ],
)
def test_cli_never_prints_the_database_password(capsys, monkeypatch, tmp_path, url, password):
    monkeypatch.setenv("TISS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("TISS_DATABASE_URL", url.format(password))
    code, out, err = Cli(capsys)("db", "upgrade")
    assert code == 2 and err.startswith("tiss-gateway: ")
    fragments = [p for p in re.split(r"[@:#]", password) if len(p) > 3]
    assert [f for f in fragments if f in out + err] == []


def test_serve_never_prints_the_rate_limit_store_password(database_url, migrated, tmp_path):
    env = dict(
        os.environ,
        TISS_DATABASE_URL=database_url,
        TISS_VAR_DIR=str(tmp_path),
        TISS_RATE_LIMIT_STORAGE="reddis://:Sentinela-store-pw@cache:6379",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    command = [sys.executable, "-m", "gateway.cli", "serve", "--port", "0", "--workers", "1"]
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # it served after all: stop it and read what it wrote
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert b"tiss-gateway: TISS_RATE_LIMIT_STORAGE is not a storage URL" in output
    assert b"Sentinela-store-pw" not in output and b"Traceback" not in output


def test_gunicorn_writes_no_access_line_of_its_own(monkeypatch, tmp_path):
    """gunicorn's access line quotes the request line (with a reset link's token); the deploy
    configuration turns it off and sends gunicorn's errors through the redacting formatter."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for fmt in FORMATS:
        monkeypatch.setenv("TISS_LOG_FORMAT", fmt)
        conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
        assert conf["accesslog"] is None and conf["logger_class"].access_log_enabled is False
        config = conf["logconfig_dict"]
        assert config["loggers"]["gunicorn.access"]["level"] == "WARNING"
        assert config["loggers"]["gunicorn.error"]["handlers"] == ["console"]
        assert config["handlers"]["console"]["formatter"] == "tiss"
        assert config["formatters"]["tiss"]["()"] is logging_config(fmt)["formatters"]["tiss"]["()"]


def test_nginx_access_log_does_not_write_reset_tokens():
    """Reset links carry their token in the query string (the portal's own access log writes
    the path only); nginx's line must not write the query string or the Referer either."""
    site = (ROOT / "deploy" / "nginx" / "tiss-gateway.conf").read_text()
    log_format = re.search(r"log_format tiss_gateway (.*?);", site, re.DOTALL).group(1)
    assert "$uri" in log_format
    for variable in (
        "$request ",
        '$request"',
        "$request_uri",
        "$args",
        "$query_string",
        "$is_args",
        "$http_referer",
        "$arg_",
    ):
        assert variable not in log_format, variable
    assert "access_log" in site and "tiss_gateway" in site.split("access_log", 1)[1][:200]
