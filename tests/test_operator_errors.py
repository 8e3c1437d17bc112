"""Bad input from the operator and its staff: invalid settings in the environment, refused
`tiss-gateway` commands (operator, providers, beneficiary files, `serve`), refused back-office
payments and status changes, and the bounded credential cache. Each refusal is a clear message
naming the bad value (on the command line: `tiss-gateway: ...` on stderr and exit status 2, no
traceback) and writes nothing."""

import dataclasses
import logging
import logging.config
import os
import runpy
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from gunicorn import glogging
from sqlalchemy import func, select

import gateway.server
from gateway.config import ConfigError, Settings
from gateway.services import passwords
from gateway.services.backoffice import transitions
from gateway.services.backoffice.analysis import record_analysis
from gateway.services.backoffice.beneficiaries import load_beneficiaries
from gateway.services.backoffice.errors import BackOfficeError, ErrorKind
from gateway.services.backoffice.payments import (
    Adjustment,
    PaymentInput,
    ProtocolPayment,
    record_payment,
)
from gateway.services.backoffice.protocols import change_status, find_protocol
from gateway.services.backoffice.staff import add_staff
from gateway.tiss.hashing import ISO_8859_1
from storage import models
from storage.migrate import upgrade
from tests.backoffice_client import (
    STAFF,
    fault_of,
    force_status,
    make_client,
    send_lot,
    stored_protocol,
)
from tests.cli_support import Cli
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS

PROJECT = Path(__file__).resolve().parents[1]
D = Decimal
CSV_HEADER = "numero_carteira,nome,plano,situacao,data_adesao,data_desligamento,validade_carteira"
FULL_WIDTH_REGISTRO = "１２３４５６"  # digits to str.isdigit(), not to the ANS's [0-9]{6}
FAILED = pytest.fail.Exception  # what pytest.raises raises when nothing was raised


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path):
    """Only the settings a test sets: none of the shell's TISS_* variables."""
    for name in list(os.environ):
        if name.startswith("TISS_") and name != "TISS_TEST_POSTGRES":
            monkeypatch.delenv(name)
    monkeypatch.setenv("TISS_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
def offline_cli(monkeypatch, tmp_path, capsys) -> Cli:
    """The command line on a SQLite file not created yet: if it exists afterwards, the command
    wrote something."""
    monkeypatch.setenv("TISS_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'gateway.db'}")
    return Cli(capsys)


@pytest.fixture
def cli(gw, monkeypatch, capsys) -> Cli:
    """The command line on the test database (SQLite and PostgreSQL), seeded by `gw`."""
    monkeypatch.setenv("TISS_DATABASE_URL", gw.settings.database_url)
    return Cli(capsys)


@pytest.fixture
def serving(monkeypatch, tmp_path):
    """`serve` run in this process. It configures the process's logging and gunicorn's loggers
    and sets variables for its workers: all of that is undone afterwards, and dictConfig is
    skipped so that pytest's own log handlers are not closed."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    monkeypatch.setenv("SERVER_SOFTWARE", "")
    monkeypatch.setattr(logging.config, "dictConfig", lambda _config: None)
    monkeypatch.setattr(glogging, "dictConfig", lambda _config: None)
    loggers = [logging.getLogger(name) for name in ("gunicorn.error", "gunicorn.access")]
    saved = [(logger, logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.fixture
def principal(gw):
    return add_staff(gw.db, STAFF.login, STAFF.password)


def count(gw, model) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model))


def the_operator(gw) -> tuple:
    with gw.db.reading() as s:
        return tuple((o.registro_ans, o.name, o.cnpj) for o in s.scalars(select(models.Operator)))


def history(gw, numero: str) -> list[int]:
    return [h.status for h in stored_protocol(gw, numero).history]


# --- settings from the environment ---------------------------------------------------------------


def test_guides_billed_again_are_refused_unless_the_operator_says_otherwise(monkeypatch):
    monkeypatch.delenv("TISS_REFUSE_PRESENTED_GUIDES", raising=False)
    assert Settings.from_env().refuse_presented_guides is True
    monkeypatch.setenv("TISS_REFUSE_PRESENTED_GUIDES", "não")
    assert Settings.from_env().refuse_presented_guides is False


@pytest.mark.parametrize("word", ["0", "false", "No", "OFF", "nao", "NÃO"])
def test_a_boolean_setting_reads_the_english_and_portuguese_words_for_false(monkeypatch, word):
    monkeypatch.setenv("TISS_ACCEPT_UTF8_HASH", word)
    settings = Settings.from_env()
    assert settings.accept_utf8_hash is False
    assert settings.hash_encodings == (ISO_8859_1,)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("TISS_TRUST_PROXY", "talvez", "TISS_TRUST_PROXY must be true or false, not 'talvez'"),
        (
            "TISS_CLIENT_CERT_HEADERS",
            " true",
            "TISS_CLIENT_CERT_HEADERS must be true or false, not ' true'",
        ),
        (
            "TISS_MAX_MESSAGE_BYTES",
            "20MB",
            "TISS_MAX_MESSAGE_BYTES must be a whole number, not '20MB'",
        ),
        ("TISS_MAX_XML_DEPTH", "6.5", "TISS_MAX_XML_DEPTH must be a whole number, not '6.5'"),
        ("TISS_SMTP_PORT", "0", "TISS_SMTP_PORT must be at least 1, not 0"),
        ("TISS_MAX_UPLOAD_BYTES", "-1", "TISS_MAX_UPLOAD_BYTES must be at least 1024, not -1"),
        ("TISS_LOG_FORMAT", "syslog", "TISS_LOG_FORMAT must be json or text, not 'syslog'"),
        (
            "TISS_ACCEPTED_VERSIONS",
            "4.03.00,4.3",
            "TISS_ACCEPTED_VERSIONS: '4.3' is not a version like 4.03.00",
        ),
        (
            "TISS_REGISTRO_ANS",
            "12345",
            "TISS_REGISTRO_ANS must be the operator's 6-digit ANS registration, not '12345'",
        ),
    ],
)
def test_an_invalid_setting_stops_every_command_with_exit_2_before_it_writes(
    offline_cli, monkeypatch, tmp_path, name, value, message
):
    monkeypatch.setenv(name, value)
    code, out, err = offline_cli("db", "upgrade")
    assert (code, out, err) == (2, "", f"tiss-gateway: {message}\n")
    assert not (tmp_path / "data").exists()  # the database was not even created


def test_python_m_gateway_cli_exits_with_mains_status(monkeypatch, capsys):
    monkeypatch.setenv("TISS_MAX_XML_DEPTH", "fundo")
    monkeypatch.setattr(sys, "argv", ["gateway.cli", "schemas", "list"])
    with pytest.warns(RuntimeWarning, match="found in sys.modules"):  # already imported here
        with pytest.raises(SystemExit) as exited:
            runpy.run_module("gateway.cli", run_name="__main__")
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "tiss-gateway: TISS_MAX_XML_DEPTH must be a whole number, not 'fundo'\n"
    )


@pytest.mark.parametrize("value", ["", " , "], ids=["empty", "only-a-comma"])
def test_no_accepted_version_is_refused_or_falls_back_to_the_default(monkeypatch, value):
    monkeypatch.setenv("TISS_ACCEPTED_VERSIONS", value)
    try:
        versions = Settings.from_env().accepted_versions
    except ConfigError as exc:
        assert "TISS_ACCEPTED_VERSIONS" in str(exc)
    else:
        assert versions, "a gateway that accepts no TISS version can answer nothing"


@pytest.mark.parametrize(
    "name, value",
    [("TISS_MAX_MESSAGE_BYTES", "0"), ("TISS_MAX_XML_DEPTH", "0"), ("TISS_MAX_XML_DEPTH", "-1")],
)
def test_a_limit_of_zero_or_less_is_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        Settings.from_env()


def test_a_registro_ans_in_non_ascii_digits_is_refused(monkeypatch):
    monkeypatch.setenv("TISS_REGISTRO_ANS", FULL_WIDTH_REGISTRO)
    with pytest.raises(ConfigError, match="TISS_REGISTRO_ANS"):
        Settings.from_env()


def test_an_unreadable_database_url_is_a_message_not_a_traceback(offline_cli, monkeypatch):
    monkeypatch.setenv("TISS_DATABASE_URL", "postgres:/gateway")
    code, _out, err = offline_cli("db", "upgrade")
    assert code == 2 and "TISS_DATABASE_URL" in err


# --- operator and providers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--name", "   "], "informe o nome da operadora"),
        (
            ["--name", "Operadora Nova", "--cnpj", "34.028.316/0001-04"],
            "CNPJ 34028316000104 inválido (dígitos verificadores não conferem)",
        ),
    ],
    ids=["blank-name", "bad-cnpj"],
)
def test_operator_set_refusals_leave_the_operator_as_it_was(gw, cli, args, message):
    before = the_operator(gw)
    code, out, err = cli("operator", "set", "--registro-ans", "654321", *args)
    assert (code, out, err) == (2, "", f"tiss-gateway: {message}\n")
    assert the_operator(gw) == before == ((REGISTRO_ANS, "Operadora Teste", None),)


def test_operator_set_stores_the_cnpj_it_is_given(gw, cli):
    args = [
        "--registro-ans",
        REGISTRO_ANS,
        "--name",
        "Operadora Teste",
        "--cnpj",
        "34.028.316/0001-03",
    ]
    code, out, _err = cli("operator", "set", *args)
    assert code == 0 and f"operator {REGISTRO_ANS}" in out
    assert the_operator(gw) == ((REGISTRO_ANS, "Operadora Teste", "34028316000103"),)


def test_operator_set_refuses_a_registro_ans_in_non_ascii_digits(gw, cli):
    code, _out, err = cli("operator", "set", "--registro-ans", FULL_WIDTH_REGISTRO, "--name", "X")
    assert (code, err) == (2, "tiss-gateway: o registro ANS tem 6 dígitos\n")
    assert the_operator(gw) == ((REGISTRO_ANS, "Operadora Teste", None),)


NEW_PROVIDER = {
    "--cnpj": "34.028.316/0001-03",
    "--code": "PRESTC",
    "--name": "Clínica C",
    "--password": "Senha@C789",
}


def provider_args(**changes: str | None) -> list[str]:
    values = {**NEW_PROVIDER, **{f"--{k}": v for k, v in changes.items()}}
    return [part for k, v in values.items() if v is not None for part in (k, v)]


@pytest.mark.parametrize(
    "args, message",
    [
        (provider_args(cnpj=""), "informe --cnpj ou --cpf (um dos dois)"),
        (
            provider_args(cnpj=None, cpf="529.982.247-26"),
            "CPF 529.982.247-26 inválido (dígitos verificadores não conferem)",
        ),
        (provider_args(code="   "), "o código do prestador na operadora tem de 1 a 14 caracteres"),
        (
            provider_args(code="C" * 15),
            "o código do prestador na operadora tem de 1 a 14 caracteres",
        ),
        (provider_args(cnes="123456"), "o CNES tem 7 dígitos (9999999 quando não houver)"),
        (provider_args(password="Curta@1"), "a senha deve ter ao menos 8 caracteres"),
        (provider_args(cnpj=PROVIDER_A.cnpj), "já existe prestador com esse documento ou código"),
        (provider_args(code=PROVIDER_B.code), "já existe prestador com esse documento ou código"),
    ],
    ids=[
        "empty-cnpj",
        "bad-cpf",
        "blank-code",
        "long-code",
        "short-cnes",
        "short-password",
        "cnpj-taken",
        "code-taken",
    ],
)
def test_provider_add_refusals_add_neither_provider_nor_login(gw, cli, args, message):
    code, out, err = cli("provider", "add", *args)
    assert (code, out, err) == (2, "", f"tiss-gateway: {message}\n")
    assert (count(gw, models.Provider), count(gw, models.Account)) == (2, 2)


def test_provider_add_accepts_the_new_provider_the_refusals_start_from(gw, cli):
    """Control for the refusals above: only the value each one changes is wrong."""
    code, out, _err = cli("provider", "add", *provider_args(cnes="1234567"))
    assert code == 0 and "provider PRESTC approved; web-service login 34028316000103" in out
    assert (count(gw, models.Provider), count(gw, models.Account)) == (3, 3)


def test_provider_add_refuses_a_cnes_in_non_ascii_digits(gw, cli):
    code, _out, err = cli("provider", "add", *provider_args(cnes="１２３４５６７"))
    assert (code, err) == (2, "tiss-gateway: o CNES tem 7 dígitos (9999999 quando não houver)\n")
    assert count(gw, models.Provider) == 2


# --- beneficiary files ---------------------------------------------------------------------------


def registry(gw) -> list[str]:
    with gw.db.reading() as s:
        return list(s.scalars(select(models.Beneficiary.numero_carteira)))


@pytest.mark.parametrize(
    "name, reason", [("ausente.csv", "No such file or directory"), (".", "Is a directory")]
)
def test_beneficiary_import_of_a_file_it_cannot_read_names_it(gw, cli, tmp_path, name, reason):
    path = tmp_path / name
    code, out, err = cli("beneficiary", "import", str(path))
    assert (code, out, err) == (2, "", f"tiss-gateway: {path}: {reason}\n")
    assert registry(gw) == []


def test_beneficiary_import_without_data_adesao_names_the_line_and_imports_nothing(
    gw, cli, tmp_path
):
    path = tmp_path / "beneficiarios.csv"
    path.write_text(
        f"{CSV_HEADER}\n"
        "00012345678901,Maria,Plano Ouro,ativo,2020-01-01,,\n"
        "00012345678902,João,Plano Ouro,ativo,,,\n",
        encoding="utf-8",
    )
    code, out, err = cli("beneficiary", "import", str(path))
    assert (code, out) == (2, "")
    assert err == "tiss-gateway: linha 3: data_adesao obrigatória (AAAA-MM-DD)\n"
    assert registry(gw) == []


def test_loading_no_beneficiary_is_refused(gw):
    with pytest.raises(BackOfficeError) as refused:
        load_beneficiaries(gw.db, [])
    assert (refused.value.kind, refused.value.message) == (
        ErrorKind.INVALID,
        "informe ao menos um beneficiário",
    )


# --- serve ---------------------------------------------------------------------------------------


def test_serve_refuses_to_start_without_the_schema_set_of_an_accepted_version(
    gw, cli, serving, monkeypatch
):
    monkeypatch.setenv("TISS_ACCEPTED_VERSIONS", "4.01.00,4.03.00")
    code, out, err = cli("serve", "--port", "0")
    assert code == 2
    assert err == (
        "tiss-gateway: accepted versions without a schema set: 4.01.00; "
        "import them with `tiss-gateway schemas import PATH`\n"
    )
    assert out.startswith("tiss-gateway on http://127.0.0.1:0 (2 workers)\n")


def test_serve_refuses_a_negative_worker_count_naming_the_option(cli, serving):
    code, _out, err = cli("serve", "--workers", "-1")
    assert code == 2 and "argument --workers: -1 is not between 1 and 256" in err


def test_serve_refuses_zero_workers(offline_cli, serving, monkeypatch):
    started = []
    monkeypatch.setattr(gateway.server, "serve", lambda _settings, **options: started.append(1))
    code, _out, err = offline_cli("serve", "--workers", "0")
    assert code != 0 and "workers" in err and "Traceback" not in err
    assert started == []


def test_serve_on_a_database_never_upgraded_is_a_message_not_a_traceback(
    offline_cli, serving, tmp_path
):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "gateway.db").touch()
    code, _out, err = offline_cli("serve", "--port", "0")
    assert code == 2 and "db upgrade" in err


def test_serve_with_a_port_out_of_range_is_a_message_not_a_traceback(tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TISS_")}
    env.update(
        TISS_DATABASE_URL=url,
        TISS_VAR_DIR=str(tmp_path / "var"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", "70000"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "70000" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]


# --- back office: payments -----------------------------------------------------------------------


@pytest.fixture
def analysed(gw, client, principal) -> str:
    """A protocol of PROVIDER_A in 5 (Analisado): released values 150.00 per guide."""
    numero = send_lot(client, PROVIDER_A, "ERROS1")
    change_status(gw.db, principal, numero, transitions.EM_ANALISE)
    record_analysis(gw.db, principal, numero, [], glosa_tables=gw.glosa_tables())
    return numero


def payment_input(numero: str, **changes) -> PaymentInput:
    base = PaymentInput(
        provider_code=PROVIDER_A.code,
        data_pagamento=date(2026, 12, 10),
        competencia="202612",
        forma_pagamento="1",
        protocols=[ProtocolPayment(numero)],
    )
    return dataclasses.replace(base, **changes)


def assert_nothing_paid(gw, numero: str, status: int, steps: list[int]) -> None:
    assert count(gw, models.Payment) == 0
    assert count(gw, models.PaymentLine) == 0
    assert count(gw, models.PaymentAdjustment) == 0
    assert stored_protocol(gw, numero).status == status
    assert history(gw, numero) == steps


IRRF = Adjustment("1", "01", "IRRF", D("1.50"))


# The API's XSD refuses these values before the use case sees them; the use case checks them too.
@pytest.mark.parametrize(
    "changes, message",
    [
        ({"protocols": []}, "informe ao menos um protocolo"),
        ({"competencia": "2026-12"}, "competência '2026-12' inválida; use AAAAMM"),
        ({"forma_pagamento": "5"}, "forma de pagamento '5' inválida (dm_formaPagamento: 1 a 4)"),
        (
            {"adjustments": [Adjustment("3", "01", "IRRF", D("1.50"))]},
            "débito/crédito 1: indicador deve ser 1 (débito) ou 2 (crédito)",
        ),
        (
            {"adjustments": [IRRF, Adjustment("2", "10", "Ajuste", D("1.00"))]},
            "débito/crédito 2: tipo deve ser de 01 a 09 (dm_debitoCreditoTipo)",
        ),
        (
            {"adjustments": [Adjustment("2", "08", "Ajuste", D("0.00"))]},
            "débito/crédito 1: valor deve ser maior que zero",
        ),
    ],
    ids=["no-protocol", "competencia", "forma", "indicador", "tipo", "zero-adjustment"],
)
def test_record_payment_refuses_invalid_values_and_writes_nothing(
    gw, principal, analysed, changes, message
):
    with pytest.raises(BackOfficeError) as refused:
        record_payment(gw.db, principal, payment_input(analysed, **changes))
    assert (refused.value.kind, refused.value.message) == (ErrorKind.INVALID, message)
    assert_nothing_paid(gw, analysed, 5, [1, 2, 5])


def test_record_payment_accepts_the_payment_the_refusals_start_from(gw, principal, analysed):
    """Control for the refusals above: only the value each one changes is wrong."""
    result = record_payment(gw.db, principal, payment_input(analysed, adjustments=[IRRF]))
    assert (result.valor_bruto, result.valor_liquido) == (D("300.00"), D("298.50"))


@pytest.fixture
def bo(server_url, staff):
    return make_client(server_url, auth="basic")[0].service


def soap_payment(numero: str, guias=()) -> dict:
    return dict(
        codigoPrestador=PROVIDER_A.code,
        dataPagamento=date(2026, 12, 10),
        competencia="202612",
        formaPagamento="1",
        protocolo=[{"numeroProtocolo": numero, "guia": list(guias)}],
    )


def test_paying_a_protocol_released_without_analysis_asks_for_the_value_paid(gw, client, bo):
    # Protocols released for payment before analyses were recorded (rows older than migration
    # 0003) have no valor liberado.
    numero = send_lot(client, PROVIDER_A, "LEGADO")
    force_status(gw, numero, transitions.LIBERADO)
    assert fault_of(bo.registrarPagamento, **soap_payment(numero)) == (
        "OperacaoNaoPermitida",
        f"protocolo {numero}, guia G000001: sem valor liberado (análise não registrada); "
        "informe o valor pago",
    )
    assert_nothing_paid(gw, numero, transitions.LIBERADO, [1])


def test_paying_one_guide_twice_in_a_protocol_is_refused(gw, client, bo):
    numero = send_lot(client, PROVIDER_A, "DUPLA")
    bo.alterarStatusProtocolo(numeroProtocolo=numero, novoStatus=2)
    bo.registrarAnalise(numeroProtocolo=numero, guia=[])
    guias = [
        {"numeroGuiaPrestador": "G000001", "valorPago": D("10.00")},
        {"numeroGuiaPrestador": "G000001", "valorPago": D("20.00")},
    ]
    assert fault_of(bo.registrarPagamento, **soap_payment(numero, guias)) == (
        "RequisicaoInvalida",
        f"protocolo {numero}: guia G000001 informada mais de uma vez",
    )
    assert_nothing_paid(gw, numero, transitions.ANALISADO, [1, 2, 5])


# --- back office: protocol status ----------------------------------------------------------------


# The API's XSD has no 7 and nothing above 9; the use case checks the value too.
@pytest.mark.parametrize(
    "status, message",
    [
        (7, "7 (Não localizado) é uma resposta à consulta, não uma situação"),
        (10, "situação de protocolo 10 inexistente (dm_statusProtocolo)"),
    ],
)
def test_change_status_to_a_value_that_is_no_state_is_refused(
    gw, client, principal, status, message
):
    numero = send_lot(client, PROVIDER_A, "SITUACAO")
    with pytest.raises(BackOfficeError) as refused:
        change_status(gw.db, principal, numero, status, "motivo")
    assert (refused.value.kind, refused.value.message) == (ErrorKind.INVALID, message)
    assert stored_protocol(gw, numero).status == transitions.RECEBIDO
    assert history(gw, numero) == [1]


def test_a_transition_is_refused_when_another_request_moved_the_protocol_after_it_was_read(
    gw, client, principal
):
    numero = send_lot(client, PROVIDER_A, "CORRIDA")
    with pytest.raises(BackOfficeError) as refused:
        with gw.db.transaction() as session:
            # Read without the row lock, as on SQLite (which has none): the lock would make the
            # other request wait, and this test with it.
            protocol = find_protocol(session, numero)
            change_status(gw.db, principal, numero, transitions.EM_ANALISE)  # the other request
            transitions.transition(
                protocol,
                transitions.CANCELADO,
                principal.login,
                "em duplicidade",
                datetime.now(UTC),
            )
    assert (refused.value.kind, refused.value.message) == (
        ErrorKind.NOT_ALLOWED,
        f"protocolo {numero} mudou de situação durante esta operação; consulte-o e tente de novo",
    )
    assert stored_protocol(gw, numero).status == transitions.EM_ANALISE
    assert history(gw, numero) == [1, 2]


# --- credential cache ----------------------------------------------------------------------------


def test_the_credential_cache_is_emptied_when_full_and_still_verifies(monkeypatch):
    monkeypatch.setattr(passwords, "_CACHE_MAX", 2)
    monkeypatch.setattr(passwords, "_verified", {})
    secrets = [passwords.md5_hex(f"Senha@{n}2026") for n in range(3)]
    stored = [passwords.hash_md5_credential(s) for s in secrets]

    for hashed, secret in zip(stored[:2], secrets[:2], strict=True):
        assert passwords.verify_md5_credential(hashed, secret)
    assert len(passwords._verified) == 2
    assert passwords.verify_md5_credential(stored[2], secrets[2])

    assert len(passwords._verified) == 1  # emptied, then the newest credential cached
    assert passwords.is_recently_verified(stored[2], secrets[2])
    assert not passwords.is_recently_verified(stored[0], secrets[0])
    assert passwords.verify_md5_credential(stored[0], secrets[0])  # through argon2 again
