"""A client certificate instead of the web-service password, by agreement (Segurança e
Privacidade item 3): nginx verifies it and passes it in X-SSL-Client-Verify/X-SSL-Client-Cert,
the gateway trusts those headers only with TISS_CLIENT_CERT_HEADERS, and a certificate the
operator registered for an approved provider authenticates the message as that provider."""

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from sqlalchemy import select, update
from werkzeug.test import Client

from gateway.app import build_app
from gateway.cli import main
from gateway.services import passwords
from gateway.services.admin import AdminError, add_provider
from gateway.services.client_certificates import (
    HolderMismatch,
    add_certificate,
    list_certificates,
    remove_certificate,
)
from gateway.services.gateway import Gateway
from gateway.services.inbound import SENDER_MISMATCH, Principal
from gateway.services.uploads import upload_lot_file
from gateway.tiss.client_certificates import read_certificate
from gateway.tiss.header import Party
from gateway.tiss.namespaces import version_slug
from gateway.tiss.samples import (
    SampleQuery,
    lote_guias_ws,
    mensagem_tiss,
    solicitacao_status_ws,
)
from storage import models
from storage.portal_models import AccessLogEntry
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.pki import DAY, Issued, make_ca, make_holder
from tests.tissclient import envelope, read_answer, sample_lot

NOW = datetime.now(UTC)
CA = make_ca("AC Clientes Teste", now=NOW)
CERT_A = make_holder("HOSPITAL A:11222333000181", CA, now=NOW)
CERT_A2 = make_holder("HOSPITAL A NOVO:11222333000181", CA, now=NOW)
CERT_B = make_holder("CLINICA B:45723174000110", CA, now=NOW)
STRANGER = make_holder("NINGUEM:00000000000000", CA, now=NOW)
# ICP-Brasil holders (the CNPJ or CPF in otherName fields, gateway.tiss.client_certificates).
E_CNPJ_A = make_holder("HOSPITAL A ICP:11222333000181", CA, now=NOW, cnpj=PROVIDER_A.cnpj)
E_CNPJ_B = make_holder("CLINICA B ICP:45723174000110", CA, now=NOW, cnpj=PROVIDER_B.cnpj)
PF_CPF = "52998224725"
E_CPF_PF = make_holder("MEDICA PF:52998224725", CA, now=NOW, cpf=PF_CPF)
WRONG_MD5 = "0" * 32
ADDR = "198.51.100.20"


@pytest.fixture
def settings_overrides() -> dict:
    return {"client_cert_headers": True}


@pytest.fixture(autouse=True)
def forget_verified_credentials():
    passwords._verified.clear()
    yield
    passwords._verified.clear()


def fingerprint(holder: Issued) -> str:
    return read_certificate(holder.cert_pem).sha256


def nginx_headers(holder: Issued | None, verify: str = "SUCCESS") -> dict:
    """What deploy/nginx/tiss-gateway.conf sends: $ssl_client_verify and the URL-encoded PEM
    ($ssl_client_escaped_cert; base64's + / = left as they are, the harder case to decode)."""
    headers = {"X-SSL-Client-Verify": verify}
    if holder is not None:
        headers["X-SSL-Client-Cert"] = quote(holder.cert_pem.decode(), safe="+/=")
    return headers


def send(
    client,
    numero: str,
    *,
    cert: Issued | None = None,
    verify: str = "SUCCESS",
    provider=PROVIDER_A,
    login: str | None = None,
    senha: str | None = None,
    version: str = "4.03.00",
    headers: dict | None = None,
):
    """A lot from `provider` (origem), with loginSenhaPrestador only when `login` is given."""
    lot = sample_lot(
        provider,
        numero,
        1,
        registro_ans=REGISTRO_ANS,
        login=login,
        senha_md5=senha,
        version=version,
    )
    all_headers = {"Content-Type": "text/xml; charset=ISO-8859-1"}
    all_headers.update(headers if headers is not None else nginx_headers(cert, verify))
    response = client.post(
        f"/tiss/{version_slug(version)}/tissLoteGuias",
        data=envelope(lote_guias_ws(lot)),
        headers=all_headers,
        environ_base={"REMOTE_ADDR": ADDR},
    )
    return read_answer(
        response.status_code, response.headers["Content-Type"], response.data, version
    )


def register(gw, provider, holder: Issued) -> None:
    add_certificate(gw.db, provider.code, holder.cert_pem)


def last_message(gw) -> models.Message:
    with gw.db.reading() as s:
        return s.scalar(select(models.Message).order_by(models.Message.id.desc()).limit(1))


def account_of(gw, provider) -> models.Account:
    with gw.db.reading() as s:
        return s.scalar(select(models.Account).where(models.Account.login == provider.cnpj))


def ws_failures(gw) -> list[AccessLogEntry]:
    with gw.db.reading() as s:
        return list(
            s.scalars(select(AccessLogEntry).where(AccessLogEntry.event == "ws_login_failed"))
        )


# --- a registered certificate replaces the password ----------------------------------------------


@pytest.mark.parametrize("version", ["4.02.00", "4.03.00"])
def test_registered_certificate_without_login_gets_a_protocol(client, gw, version):
    # loginSenhaPrestador is optional (minOccurs="0") in both versions' cabecalho.
    register(gw, PROVIDER_A, CERT_A)
    answer = send(client, "C1", cert=CERT_A, version=version)  # validated: official XSD, hash
    assert answer.protocol, answer.raw[:500]
    stored = last_message(gw)
    assert stored.outcome == "accepted" and stored.auth_method == "certificate"
    assert stored.client_cert_sha256 == fingerprint(CERT_A)
    assert stored.login is None
    with gw.db.reading() as s:
        assert s.get(models.Provider, stored.provider_id).cnpj == PROVIDER_A.cnpj


def test_a_provider_may_have_several_certificates(client, gw):
    register(gw, PROVIDER_A, CERT_A)
    register(gw, PROVIDER_A, CERT_A2)
    assert send(client, "C1", cert=CERT_A).protocol
    assert send(client, "C2", cert=CERT_A2).protocol


def test_certificate_also_serves_the_provider_queries(client, gw):
    register(gw, PROVIDER_A, CERT_A)
    protocol = send(client, "C1", cert=CERT_A).protocol
    query = SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", PROVIDER_A.cnpj),
        codigo_prestador=PROVIDER_A.code,
    )
    response = client.post(
        f"/tiss/{version_slug('4.03.00')}/tissSolicitacaoStatusProtocolo",
        data=envelope(solicitacao_status_ws(query, protocol)),
        headers={"Content-Type": "text/xml; charset=ISO-8859-1", **nginx_headers(CERT_A)},
    )
    answer = read_answer(
        response.status_code, response.headers["Content-Type"], response.data, "4.03.00"
    )
    assert answer.text(".//ans:statusProtocolo") == "1"
    assert last_message(gw).auth_method == "certificate"


def test_with_a_registered_certificate_the_password_is_not_checked(client, gw):
    """Documented choice: the certificate suffices; a wrong password sent with it is not counted,
    and a locked account does not stop it (no denial of service through the lockout)."""
    register(gw, PROVIDER_A, CERT_A)
    answer = send(client, "C1", cert=CERT_A, login=PROVIDER_A.cnpj, senha=WRONG_MD5)
    assert answer.protocol
    assert account_of(gw, PROVIDER_A).failed_attempts == 0 and not ws_failures(gw)
    with gw.db.transaction() as s:
        s.execute(
            update(models.Account)
            .where(models.Account.login == PROVIDER_A.cnpj)
            .values(locked_until=datetime.now(UTC) + timedelta(minutes=15), failed_attempts=5)
        )
    assert send(client, "C2", cert=CERT_A).protocol
    assert send(client, "C3", cert=CERT_A, login=PROVIDER_A.cnpj, senha=WRONG_MD5).protocol
    assert last_message(gw).auth_method == "certificate"


def test_removed_certificate_no_longer_authenticates(client, gw):
    register(gw, PROVIDER_A, CERT_A)
    assert send(client, "C1", cert=CERT_A).protocol
    remove_certificate(gw.db, PROVIDER_A.cnpj, fingerprint(CERT_A))
    assert send(client, "C2", cert=CERT_A).tiss_fault == "LoginInvalido"


def test_password_and_portal_uploads_are_archived_as_such(client, gw):
    assert send(client, "P1", login=PROVIDER_A.cnpj, senha=PROVIDER_A.senha_md5).protocol
    assert last_message(gw).auth_method == "password"
    account = account_of(gw, PROVIDER_A)
    lot = sample_lot(PROVIDER_A, "F1", 1, registro_ans=REGISTRO_ANS, login=None)
    result = upload_lot_file(
        gw, etree.tostring(mensagem_tiss(lot)), Principal(account.id, account.provider_id)
    )
    assert result.answer.protocol
    assert last_message(gw).auth_method == "portal"


# --- refused exactly like a wrong password --------------------------------------------------------


def wrong_password_answer(client):
    return send(client, "W1", cert=None, verify="NONE", login=PROVIDER_A.cnpj, senha=WRONG_MD5)


def test_unregistered_certificate_is_refused_like_a_wrong_password(client, gw, caplog):
    register(gw, PROVIDER_B, CERT_B)
    caplog.set_level(logging.INFO)  # what the gateway logs (root at INFO)
    expected = wrong_password_answer(client)
    answer = send(client, "C1", cert=STRANGER)
    assert answer.tiss_fault == "LoginInvalido"
    assert (answer.faultcode, answer.faultstring, answer.tiss_fault) == (
        expected.faultcode,
        expected.faultstring,
        expected.tiss_fault,
    )
    assert answer.faultstring == "5005 - login ou senha inválidos"

    stored = last_message(gw)
    assert stored.outcome == "rejected" and stored.codes == "5005"
    assert stored.auth_method is None and stored.provider_id is None
    assert stored.client_cert_sha256 == fingerprint(STRANGER)
    # Counted as a failed login (the per-address throttle reads these), with who it was.
    failures = ws_failures(gw)
    assert len(failures) == 2 and {f.remote_addr for f in failures} == {ADDR}
    detail = failures[-1].detail
    assert "certificado não cadastrado" in detail and fingerprint(STRANGER) in detail
    assert "NINGUEM" in detail
    # Nothing of the certificate beyond subject and fingerprint reaches the logs.
    body = STRANGER.cert_pem.decode().splitlines()[1]
    assert body not in caplog.text


def test_certificate_of_a_provider_not_approved_is_refused_the_same(client, gw):
    register(gw, PROVIDER_A, CERT_A)
    expected = wrong_password_answer(client)
    with gw.db.transaction() as s:
        s.execute(
            update(models.Provider)
            .where(models.Provider.cnpj == PROVIDER_A.cnpj)
            .values(status="suspended")
        )
    answer = send(client, "C1", cert=CERT_A)
    assert (answer.faultcode, answer.faultstring, answer.tiss_fault) == (
        expected.faultcode,
        expected.faultstring,
        expected.tiss_fault,
    )
    assert len(ws_failures(gw)) == 2


def test_unregistered_certificate_does_not_hide_the_password(client, gw):
    """A certificate without an agreement is simply not a credential: the password decides (a
    provider whose software always presents its certificate keeps working by password)."""
    answer = send(client, "C1", cert=STRANGER, login=PROVIDER_A.cnpj, senha=PROVIDER_A.senha_md5)
    assert answer.protocol
    assert last_message(gw).auth_method == "password"
    wrong = send(client, "C2", cert=STRANGER, login=PROVIDER_A.cnpj, senha=WRONG_MD5)
    assert wrong.faultstring == "5005 - login ou senha inválidos"
    assert account_of(gw, PROVIDER_A).failed_attempts == 1  # one failure, not two


def test_certificate_of_a_with_origem_of_b_is_refused(client, gw):
    register(gw, PROVIDER_A, CERT_A)
    answer = send(client, "C1", cert=CERT_A, provider=PROVIDER_B)
    assert answer.tiss_fault == "RemetenteInvalido"
    assert answer.faultstring == f"5005 - {SENDER_MISMATCH}"
    # The certificate is who sends, even beside B's right login and password.
    answer = send(
        client,
        "C2",
        cert=CERT_A,
        provider=PROVIDER_B,
        login=PROVIDER_B.cnpj,
        senha=PROVIDER_B.senha_md5,
    )
    assert answer.tiss_fault == "RemetenteInvalido"
    assert last_message(gw).auth_method == "certificate"
    with gw.db.reading() as s:
        assert s.scalar(select(models.Lot.id)) is None


# --- when the headers are not trusted -------------------------------------------------------------


def test_headers_are_ignored_when_the_setting_is_off(gw):
    register(gw, PROVIDER_A, CERT_A)
    direct = Client(
        build_app(Gateway(replace(gw.settings, client_cert_headers=False), gw.db, gw.schemas))
    )
    answer = send(direct, "C1", cert=CERT_A)  # forged by a client talking to gunicorn directly
    assert answer.tiss_fault == "LoginInvalido"
    assert "loginSenhaPrestador" in answer.faultstring  # as if nothing had been sent
    stored = last_message(gw)
    assert stored.client_cert_sha256 is None and stored.auth_method is None
    sent = send(direct, "C2", cert=CERT_A, login=PROVIDER_A.cnpj, senha=PROVIDER_A.senha_md5)
    assert sent.protocol
    assert last_message(gw).auth_method == "password"


@pytest.mark.parametrize(
    "verify", ["NONE", "FAILED:certificate has expired", "success", "SUCCESS, SUCCESS", ""]
)
def test_only_a_verify_value_of_success_counts(client, gw, verify):
    register(gw, PROVIDER_A, CERT_A)
    answer = send(client, "C1", cert=CERT_A, verify=verify)
    assert answer.tiss_fault == "LoginInvalido"
    assert "loginSenhaPrestador" in answer.faultstring
    assert last_message(gw).client_cert_sha256 is None


def test_success_without_a_readable_certificate_counts_as_none(client, gw, caplog):
    register(gw, PROVIDER_A, CERT_A)
    for headers in (
        {"X-SSL-Client-Verify": "SUCCESS"},
        {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-Cert": "not%20a%20certificate"},
    ):
        answer = send(client, "C1", headers=headers)
        assert answer.tiss_fault == "LoginInvalido"
        assert "loginSenhaPrestador" in answer.faultstring
    assert "X-SSL-Client-Cert is not a certificate" in caplog.text


# --- registering: the use case and the command line -----------------------------------------------


def test_registering_refuses_cas_expired_chains_and_duplicates(gw):
    with pytest.raises(AdminError, match="é uma AC"):
        add_certificate(gw.db, PROVIDER_A.code, CA.cert_pem)
    expired = make_holder("VENCIDO", CA, now=NOW, not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    with pytest.raises(AdminError, match="venceu"):
        add_certificate(gw.db, PROVIDER_A.code, expired.cert_pem)
    with pytest.raises(AdminError, match="2 certificados"):
        add_certificate(gw.db, PROVIDER_A.code, CERT_A.cert_pem + CA.cert_pem)
    with pytest.raises(AdminError, match="não é um certificado"):
        add_certificate(gw.db, PROVIDER_A.code, b"-----BEGIN CERTIFICATE-----\nxx\n")
    with pytest.raises(AdminError, match="não há prestador"):
        add_certificate(gw.db, "NOPE", CERT_A.cert_pem)
    add_certificate(gw.db, PROVIDER_A.code, CERT_A.cert_pem)
    with pytest.raises(AdminError, match=f"cadastrado para o prestador {PROVIDER_A.code}"):
        add_certificate(gw.db, PROVIDER_B.code, CERT_A.cert_pem)
    assert [c.sha256 for c in list_certificates(gw.db, PROVIDER_A.cnpj)] == [fingerprint(CERT_A)]
    assert list_certificates(gw.db, PROVIDER_B.code) == []


def test_registering_refuses_a_certificate_naming_another_document(gw):
    """An ICP-Brasil certificate that names another CNPJ or CPF is someone else's: refused,
    unless forced. One naming the provider's own document, or none, is registered."""
    with pytest.raises(HolderMismatch) as refused:
        add_certificate(gw.db, PROVIDER_A.code, E_CNPJ_B.cert_pem)
    assert str(refused.value) == (
        f"o certificado {read_certificate(E_CNPJ_B.cert_pem).subject} identifica o CNPJ "
        f"{PROVIDER_B.cnpj} (ICP-Brasil), não o prestador {PROVIDER_A.code} "
        f"(CNPJ {PROVIDER_A.cnpj})"
    )
    with pytest.raises(HolderMismatch, match=f"identifica o CPF {PF_CPF}"):
        add_certificate(gw.db, PROVIDER_A.code, E_CPF_PF.cert_pem)
    assert list_certificates(gw.db, PROVIDER_A.code) == []

    add_certificate(gw.db, PROVIDER_A.cnpj, E_CNPJ_A.cert_pem)
    add_certificate(gw.db, PROVIDER_A.code, CERT_A.cert_pem)  # no ICP-Brasil document
    forced = add_certificate(gw.db, PROVIDER_A.code, E_CNPJ_B.cert_pem, force=True)
    assert [c.sha256 for c in list_certificates(gw.db, PROVIDER_A.code)] == [
        fingerprint(E_CNPJ_A),
        fingerprint(CERT_A),
        forced.sha256,
    ]

    # A provider known by its CPF: its e-CPF is its own, an e-CNPJ is not.
    add_provider(gw.db, cpf=PF_CPF, code="PRESTPF", name="Médica PF", password="Senha@PF789")
    assert add_certificate(gw.db, "PRESTPF", E_CPF_PF.cert_pem).provider_code == "PRESTPF"
    with pytest.raises(HolderMismatch, match=r"não o prestador PRESTPF \(CPF 52998224725\)"):
        add_certificate(gw.db, "PRESTPF", E_CNPJ_A.cert_pem)


def test_a_forced_certificate_works_like_any_registered_one(client, gw):
    add_certificate(gw.db, PROVIDER_A.code, E_CNPJ_B.cert_pem, force=True)
    assert send(client, "F1", cert=E_CNPJ_B).protocol
    stored = last_message(gw)
    assert stored.auth_method == "certificate"
    assert stored.client_cert_sha256 == fingerprint(E_CNPJ_B)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_add_list_and_remove_certificates(gw, database_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TISS_DATABASE_URL", database_url)
    monkeypatch.setenv("TISS_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("TISS_CLIENT_CERT_HEADERS", raising=False)
    pem = tmp_path / "hospital-a.pem"
    pem.write_bytes(CERT_A.cert_pem)
    der = tmp_path / "hospital-a2.cer"
    der.write_bytes(CERT_A2.cert.public_bytes(Encoding.DER))
    sha_a, sha_a2 = fingerprint(CERT_A), fingerprint(CERT_A2)

    code, out, _ = run_cli(capsys, "provider", "add-certificate", "11.222.333/0001-81", str(pem))
    assert code == 0
    assert f"provider {PROVIDER_A.code} may authenticate" in out and sha_a in out
    assert "HOSPITAL A:11222333000181" in out
    assert "TISS_CLIENT_CERT_HEADERS is not set" in out
    monkeypatch.setenv("TISS_CLIENT_CERT_HEADERS", "true")
    code, out, _ = run_cli(capsys, "provider", "add-certificate", PROVIDER_A.code, str(der))
    assert code == 0 and sha_a2 in out and "not set" not in out

    code, out, _ = run_cli(capsys, "provider", "certificates", PROVIDER_A.code)
    assert code == 0 and out.index(sha_a) < out.index(sha_a2)
    assert "BEGIN CERTIFICATE" not in out

    code, _, err = run_cli(capsys, "provider", "add-certificate", PROVIDER_B.code, str(pem))
    assert code == 2 and f"cadastrado para o prestador {PROVIDER_A.code}" in err
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, "provider", "add-certificate", PROVIDER_A.code, "/no/file")
    assert code == 2 and "cannot read /no/file" in err

    colons = ":".join(sha_a[i : i + 2] for i in range(0, 64, 2)).upper()
    code, out, _ = run_cli(capsys, "provider", "remove-certificate", PROVIDER_A.cnpj, colons)
    assert code == 0 and f"may no longer authenticate with {sha_a}" in out
    code, _, err = run_cli(capsys, "provider", "remove-certificate", PROVIDER_A.code, sha_a)
    assert code == 2 and "não tem certificado" in err
    code, out, _ = run_cli(capsys, "provider", "certificates", PROVIDER_A.code)
    assert sha_a not in out and sha_a2 in out
    code, out, _ = run_cli(capsys, "provider", "certificates", PROVIDER_B.code)
    assert code == 0 and "no certificate registered" in out


def test_cli_refuses_a_certificate_naming_another_document_unless_forced(
    gw, database_url, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("TISS_DATABASE_URL", database_url)
    monkeypatch.setenv("TISS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("TISS_CLIENT_CERT_HEADERS", "true")
    pem = tmp_path / "clinica-b.pem"
    pem.write_bytes(E_CNPJ_B.cert_pem)
    sha_b = fingerprint(E_CNPJ_B)

    code, out, err = run_cli(capsys, "provider", "add-certificate", PROVIDER_A.code, str(pem))
    assert code == 2 and out == ""
    assert f"identifica o CNPJ {PROVIDER_B.cnpj} (ICP-Brasil)" in err
    assert f"não o prestador {PROVIDER_A.code} (CNPJ {PROVIDER_A.cnpj})" in err
    assert "Not registered: --force registers it anyway" in err and "Traceback" not in err
    code, out, _ = run_cli(capsys, "provider", "certificates", PROVIDER_A.code)
    assert sha_b not in out

    code, out, err = run_cli(
        capsys, "provider", "add-certificate", PROVIDER_A.code, str(pem), "--force"
    )
    assert code == 0 and err == ""
    assert f"provider {PROVIDER_A.code} may authenticate" in out and sha_b in out
    assert "note: registered because of --force: o certificado" in out
    code, out, _ = run_cli(capsys, "provider", "certificates", PROVIDER_A.code)
    assert sha_b in out

    # A certificate without ICP-Brasil documents, and a provider's own e-CNPJ, need no --force.
    none = tmp_path / "no-document.pem"
    none.write_bytes(CERT_B.cert_pem)
    code, out, _ = run_cli(capsys, "provider", "add-certificate", PROVIDER_B.code, str(none))
    assert code == 0 and "--force" not in out
    other = tmp_path / "hospital-a-icp.pem"
    other.write_bytes(E_CNPJ_A.cert_pem)
    code, out, _ = run_cli(capsys, "provider", "add-certificate", PROVIDER_A.cnpj, str(other))
    assert code == 0 and fingerprint(E_CNPJ_A) in out and "--force" not in out
