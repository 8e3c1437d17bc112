"""Every operator command fed what an operator really has: beneficiary files saved by Excel in
Brazil (semicolons, Windows-1252, BOM, CRLF, DD/MM/AAAA), broken and huge files, punctuated
CNPJ/CPF, logins with spaces, repeated commands, databases in odd places, the 90-day boundary of
`portal prune`, `--help` and unknown options. Checked as an operator would: exit status (0 or 2),
one `tiss-gateway: ...` line naming line and column, no traceback, the database afterwards.
The bugs this file found first (as strict xfails) are fixed; it now guards them."""

import getpass
import io
import os
import resource
import traceback
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from gateway.services.accounts import access_log
from gateway.services.accounts.access_log import Origin
from gateway.services.accounts.authentication import LoginFailed
from gateway.services.accounts.authentication import login as portal_login
from storage import models
from storage.db import Database
from storage.models import Base
from storage.portal_models import AccessLogEntry, PasswordResetToken, PortalSession
from tests import cli_support
from tests.test_backoffice_beneficiaries import registry

COLUMNS = "numero_carteira nome plano situacao data_adesao data_desligamento validade_carteira"
HEADER = ";".join(COLUMNS.split())
SECRET = "Fulana Sigilosa de Albuquerque"  # a name that must never appear in an error line
STAFF_PASSWORD = "Operador@2026x"
DAY = timedelta(days=1)


class Cli(cli_support.Cli):
    """`tiss-gateway` in this process on one database. An exception escaping main() is what the
    shell shows as a traceback with exit status 1: it is reported that way, not raised."""

    def __init__(self, capsys, db: Database | None) -> None:
        super().__init__(capsys)
        self.db = db

    def __call__(self, *args: str) -> tuple[int, str, str]:
        try:
            return super().__call__(*args)
        except Exception:
            traceback.print_exc()
            return (1, *self.capsys.readouterr())

    def ok(self, *args: str) -> str:
        code, out, err = self(*args)
        assert (code, err) == (0, ""), (args, out, err)
        return out

    def refused(self, *args: str) -> str:
        """Exit 2 and exactly one `tiss-gateway: ...` line on stderr, nothing on stdout."""
        code, out, err = self(*args)
        assert code == 2 and out == "", (args, code, out, err)
        assert err.startswith("tiss-gateway: ") and err.count("\n") == 1, err
        return err.strip()

    def count(self, model) -> int:
        with self.db.reading() as s:
            return s.scalar(select(func.count()).select_from(model))

    def beneficiaries(self) -> dict[str, tuple]:
        return registry(self)  # it reads only .db

    def account(self, login: str) -> models.Account | None:
        with self.db.reading() as s:
            return s.scalar(select(models.Account).where(models.Account.login == login))


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """None of the shell's TISS_* settings; a var dir of this test's own."""
    for name in [n for n in os.environ if n.startswith("TISS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TISS_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
def cli(environment, migrated, database_url, monkeypatch, capsys) -> Cli:
    """The command line on the session's migrated database (SQLite and PostgreSQL), emptied."""
    with migrated.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(text(f"DELETE FROM {table.name}"))
    monkeypatch.setenv("TISS_DATABASE_URL", database_url)
    return Cli(capsys, migrated)


@pytest.fixture
def own_cli(environment, capsys) -> Cli:
    """The command line for tests that choose their own TISS_DATABASE_URL (or none)."""
    return Cli(capsys, None)


def row(carteira="00012345678901", nome="Maria da Conceição", **columns: str) -> str:
    """A data row; `columns` override the other columns by their header name."""
    values = {"plano": "Plano Ouro", "situacao": "ativo", "data_adesao": "2020-01-31"}
    values |= {"data_desligamento": "", "validade_carteira": "2027-12-31"} | columns
    return ";".join([carteira, nome, *values.values()])


def csv_file(folder: Path, *rows: str, header=HEADER, encoding="utf-8-sig", eol="\r\n") -> Path:
    """A file as Excel (pt-BR) saves "CSV UTF-8": BOM, semicolons, CRLF."""
    path = folder / f"beneficiarios-{len(list(folder.iterdir()))}.csv"
    path.write_bytes(eol.join([header, *rows, ""]).encode(encoding))
    return path


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", (2026, 1, 1, 0, 0, 0))
        archive.writestr(info, "<row><c t='s'><v>1</v></c></row>" * 50, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# --- beneficiary import: files that must be imported -------------------------------------------


@pytest.mark.parametrize(
    "sep, encoding, eol",
    [
        (";", "utf-8-sig", "\r\n"),
        (";", "utf-8", "\n"),
        (",", "utf-8-sig", "\r\n"),
        (",", "utf-8", "\r"),
    ],
    ids=["excel-csv-utf8", "semicolon-lf", "comma-bom-crlf", "comma-cr-only"],
)
def test_excel_and_plain_csv_files_import_the_same_rows(cli, tmp_path, sep, encoding, eol):
    left = row("2", "João Lima", situacao="cancelado", data_desligamento="2025-08-31")
    left = left.removesuffix("2027-12-31")  # no validade_carteira
    rows = [r.replace(";", sep) for r in (row(), left)]
    path = csv_file(tmp_path, *rows, header=HEADER.replace(";", sep), encoding=encoding, eol=eol)
    assert cli.ok("beneficiary", "import", str(path)) == f"2 beneficiaries imported from {path}\n"
    joined, left_on, valid = date(2020, 1, 31), date(2025, 8, 31), date(2027, 12, 31)
    maria = ("Maria da Conceição", "Plano Ouro", "ativo", joined, None, valid)
    joao = ("João Lima", "Plano Ouro", "cancelado", joined, left_on, None)
    assert cli.beneficiaries() == {"00012345678901": maria, "2": joao}


def test_header_with_spaces_and_quotes_and_only_the_required_columns(cli, tmp_path):
    header = '"numero_carteira"; nome ;plano;"situacao";data_adesao '
    path = csv_file(tmp_path, ' 77 ;" Ana Rocha ";Prata; ativo ;2021-06-01', header=header)
    cli.ok("beneficiary", "import", str(path))
    assert cli.beneficiaries() == {
        "77": ("Ana Rocha", "Prata", "ativo", date(2021, 6, 1), None, None)
    }


def test_importing_again_updates_in_place(cli, tmp_path):
    cli.ok("beneficiary", "import", str(csv_file(tmp_path, row(), row("2", "Pedro"))))
    changed = csv_file(tmp_path, row(plano="Diamante", situacao="suspenso"))
    assert cli.ok("beneficiary", "import", str(changed)).startswith("1 beneficiaries imported")
    found = cli.beneficiaries()
    assert len(found) == 2 and found["2"][0] == "Pedro"
    assert found["00012345678901"][1:3] == ("Diamante", "suspenso")


def test_names_outside_latin1_and_formula_looking_values_are_stored_verbatim(cli, tmp_path):
    """No CSV export exists, so '=cmd' is data, kept as typed; nothing drops or '?'s a name."""
    names = {"1": "Nguyễn Thị Ánh 王小明 Ωmega", "2": "=cmd|' /C calc'!A0", "3": "+55 (11) 9"}
    path = csv_file(tmp_path, *[row(k, v) for k, v in names.items()])
    cli.ok("beneficiary", "import", str(path))
    assert {k: v[0] for k, v in cli.beneficiaries().items()} == names


def test_a_multi_line_quoted_name_is_refused_at_its_physical_last_line(cli, tmp_path):
    """A line break inside a name is a control character (refused); the line named is the one
    where the record ends, counted in the file's physical lines."""
    path = csv_file(tmp_path, row("1", '"Maria\r\nSouza"'), row("2", data_adesao="31/01/2020"))
    err = cli.refused("beneficiary", "import", str(path))
    assert err.startswith("tiss-gateway: linha 3: carteira 1: nome"), err
    assert "Maria" not in err and cli.count(models.Beneficiary) == 0


def test_10001_rows_are_all_imported_and_one_bad_last_row_imports_none(cli, tmp_path):
    rows = [row(f"{i:014d}", f"Beneficiário {i}") for i in range(10001)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out = cli.ok("beneficiary", "import", str(csv_file(tmp_path, *rows)))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert out.startswith("10001 beneficiaries imported") and grown_mib < 200
    assert cli.count(models.Beneficiary) == 10001
    assert cli.beneficiaries()[f"{10000:014d}"][0] == "Beneficiário 10000"

    rows = [r.replace("Plano Ouro", "Plano Novo") for r in rows] + [row("X", situacao="ATIVO")]
    err = cli.refused("beneficiary", "import", str(csv_file(tmp_path, *rows)))
    assert "linha 10003" in err and "'ATIVO'" in err
    assert {v[1] for v in cli.beneficiaries().values()} == {"Plano Ouro"}


# --- beneficiary import: files that must be refused, clearly, storing nothing ------------------


def lines(*rows: str, header=HEADER, encoding="utf-8") -> bytes:
    return "\r\n".join([header, *rows]).encode(encoding)


REFUSED = {
    "empty file": (b"", ["arquivo vazio"]),
    "only blank lines": (b"\r\n\r\n", ["arquivo vazio"]),
    "header only": (lines(""), ["só o cabeçalho"]),
    "header case and accents": (
        lines(row(), header=HEADER.replace("numero_carteira", "Número_Carteira")),
        ["linha 1", "faltam as colunas numero_carteira", "desconhecidas Número_Carteira"],
    ),
    "missing column": (
        lines("1;A;ativo;2020-01-01", header="numero_carteira;nome;situacao;data_adesao"),
        ["linha 1", "faltam as colunas plano"],
    ),
    "extra column": (
        lines(row() + ";52998224725", header=HEADER + ";cpf"),
        ["linha 1", "colunas desconhecidas cpf"],
    ),
    "dates as DD/MM/AAAA": (
        lines(row(), row("2", data_adesao="31/01/2020"), encoding="utf-8-sig"),
        ["linha 3", "data_adesao '31/01/2020'", "AAAA-MM-DD"],
    ),
    "duplicate card": (
        lines(row("1"), row("2"), row(" 1 ")),
        ["linha 4", "carteira 1 já informada na linha 2"],
    ),
    "unquoted separator": (lines(row("1", "Souza; Maria")), ["linha 2", "mais campos"]),
    "windows-1252": (lines(row(), encoding="cp1252"), ["beneficiarios.csv", "UTF-8"]),
    "utf-16 (Excel 'Texto Unicode')": (lines(row(), encoding="utf-16"), ["UTF-8"]),
    "a PDF": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n", ["UTF-8"]),
    "an xlsx": (xlsx_bytes(), ["UTF-8"]),
}


@pytest.mark.parametrize("content, fragments", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_file_is_one_line_exit_2_and_stores_nothing(cli, tmp_path, content, fragments):
    path = tmp_path / "beneficiarios.csv"
    path.write_bytes(content)
    err = cli.refused("beneficiary", "import", str(path))
    assert all(f in err for f in fragments), err
    assert cli.count(models.Beneficiary) == 0


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_a_path_that_is_no_file_is_named(cli, tmp_path, kind):
    path = tmp_path / "beneficiarios.csv"
    if kind == "directory":
        path.mkdir()
    err = cli.refused("beneficiary", "import", str(path))
    assert str(path) in err
    assert ("Is a directory" if kind == "directory" else "No such file") in err


@pytest.mark.parametrize(
    "bad_row, column",
    [
        (row("1", SECRET, data_adesao="2020-13-01"), "data_adesao"),
        (row("1", SECRET, situacao="Ativo"), "situação"),
        (row("1", SECRET, data_desligamento="2019-12-31"), "desligamento"),
        (row("1", SECRET, plano="P" * 101), "plano"),
        (row("1", SECRET + " X" * 100), "nome"),
        (row("1", SECRET) + ";extra", "mais campos"),
        (row("1", SECRET, validade_carteira="31/12/2027"), "validade_carteira"),
    ],
)
def test_an_error_names_line_and_column_but_never_the_name(cli, tmp_path, bad_row, column):
    """Privacy: the carteira number (the key) is echoed, the beneficiary's name never."""
    err = cli.refused("beneficiary", "import", str(csv_file(tmp_path, row("2"), bad_row)))
    assert "linha 3" in err and column in err, err
    assert "Fulana" not in err and "Sigilosa" not in err


LONG_UNCLOSED = [row("1"), row("2", '"Maria')] + [row(str(i)) for i in range(3, 3000)]
REPEATED = {"header": "numero_carteira;nome;nome;plano;situacao;data_adesao"}


@pytest.mark.parametrize(
    "rows, options, line",
    [
        ([row("1", "Joao"), row("2", "Ç")], {"encoding": "cp1252"}, 3),
        (LONG_UNCLOSED, {}, 3),
        ([row("1"), row("2", "Jo\x00ao")], {}, 3),
        ([row("1"), row("2", '"Maria\r\nSouza"')], {}, 4),
        (["1;Maria;Souza;Ouro;ativo;2020-01-01"], REPEATED, 1),
        ([row("1"), row("1,23457E+13")], {}, 3),
    ],
    ids=["cp1252", "unclosed-quote", "nul", "line-break-in-name", "nome-nome", "1,23E+13"],
)
def test_a_damaged_file_is_refused_naming_the_line(cli, tmp_path, rows, options, line):
    """The line of a record that spans lines is its last one, as for every other error."""
    err = cli.refused("beneficiary", "import", str(csv_file(tmp_path, *rows, **options)))
    assert err.startswith(f"tiss-gateway: linha {line}"), err
    assert cli.count(models.Beneficiary) == 0


@pytest.mark.parametrize(
    "rows, options",
    [
        ([row("1"), ";;;;;;", ";;;;;;"], {}),
        ([row("1") + ";;"], {"header": HEADER + ";;"}),
        ([row("1", "Souza, Maria")], {"eol": "\r"}),
    ],
    ids=["excel-empty-rows", "excel-empty-header-cells", "cr-only-comma-in-name"],
)
def test_an_excel_quirk_does_not_stop_the_import(cli, tmp_path, rows, options):
    cli.ok("beneficiary", "import", str(csv_file(tmp_path, *rows, **options)))
    assert cli.beneficiaries()["1"][0] == rows[0].split(";")[1]


# --- provider add ------------------------------------------------------------------------------


def provider_args(*extra: str, document=("--cnpj", "45723174000110")) -> tuple[str, ...]:
    """`provider add` with good values; `extra` options come last, so they override them."""
    name = "Clínica São João – Ações Médicas"
    good = ("--code", "CLIN01", "--name", name, "--password", "Segredo@2026")
    return ("provider", "add", *document, *good, *extra)


@pytest.mark.parametrize(
    "option, typed, login",
    [
        ("--cnpj", "45.723.174/0001-10", "45723174000110"),
        ("--cnpj", " 12.abc.345/01de-35 ", "12ABC34501DE35"),  # alphanumeric, lower case
        ("--cpf", "529.982.247-25", "52998224725"),
    ],
)
def test_provider_add_takes_punctuated_documents_and_non_ascii_names(cli, option, typed, login):
    out = cli.ok(*provider_args(document=(option, typed)))
    assert out.endswith(f"web-service login {login}\n") and "Segredo@2026" not in out
    with cli.db.reading() as s:
        provider = s.scalar(select(models.Provider))
    assert (provider.cnpj or provider.cpf, provider.status) == (login, "approved")
    assert provider.name == "Clínica São João – Ações Médicas"
    assert cli.account(login).provider_id == provider.id


CPF = ("--cpf", "52998224725")


@pytest.mark.parametrize(
    "document, extra, message",
    [
        (("--cnpj", "45.723.174/0001-11"), (), "CNPJ 45.723.174/0001-11 inválido"),
        (("--cnpj", "11111111111111"), (), "CNPJ 11111111111111 inválido"),
        (("--cpf", "111.111.111-11"), (), "CPF 111.111.111-11 inválido"),
        (("--cpf", "52998224725x"), (), "CPF 52998224725x inválido"),
        (CPF, ("--code", "C" * 15), "de 1 a 14 caracteres"),
        (CPF, ("--cnes", "123"), "CNES tem 7 dígitos"),
        pytest.param(CPF, ("--name", " "), "nome"),
        pytest.param(CPF, ("--name", "N" * 300), "200"),
        pytest.param(CPF, ("--password", "12345678"), "senha"),
    ],
)
def test_provider_add_refusals_are_one_line_and_add_nothing(cli, document, extra, message):
    err = cli.refused(*provider_args(*extra, document=document))
    assert message in err and "database error" not in err
    assert cli.count(models.Provider) == cli.count(models.Account) == 0


def test_provider_add_twice_is_a_clear_refusal_that_keeps_the_first_password(cli):
    cli.ok(*provider_args())
    first_hash = cli.account("45723174000110").password_hash
    for document, code in (("45.723.174/0001-10", "OTHER"), ("11222333000181", "CLIN01")):
        again = provider_args(
            "--code", code, "--password", "Outra@Senha1", document=("--cnpj", document)
        )
        assert "já existe prestador" in cli.refused(*again)
    assert cli.count(models.Provider) == cli.count(models.Account) == 1
    assert cli.account("45723174000110").password_hash == first_hash


def test_a_password_starting_with_a_dash_needs_the_equals_form(cli):
    """argparse takes '-Senha...' for an option; '--password=-Senha...' is the way."""
    code, _out, err = cli(*provider_args("--password", "-Senha@2026"))
    assert code == 2 and "--password: expected one argument" in err
    assert cli.count(models.Provider) == 0
    cli.ok(*provider_args("--password=-Senha@2026"))


# --- staff add, operator set -------------------------------------------------------------------


BAD_LOGINS = ["ana souza", "joão.silva", "ab", "a" * 61, "ana;drop"]
WEAK_PASSWORDS = ["Cu@1a", "semsimbolo1A", "SEM@MINUSCULA1", "sem@maius1"]


@pytest.mark.parametrize(
    "login, password, message",
    [(login, STAFF_PASSWORD, "o login tem de 3 a 60 caracteres") for login in BAD_LOGINS]
    + [("ana.souza", p, "a senha deve ter ao menos 8 caracteres") for p in WEAK_PASSWORDS],
)
def test_staff_add_refusals_do_not_echo_the_password(cli, login, password, message):
    err = cli.refused("staff", "add", "--login", login, "--password", password)
    assert message in err and password not in err
    assert cli.count(models.Account) == 0


def test_staff_add_trims_the_login_and_a_second_run_is_refused(cli):
    out = cli.ok("staff", "add", "--login", "  ana.souza ", "--password", STAFF_PASSWORD)
    assert "staff ana.souza added" in out and STAFF_PASSWORD not in out
    stored = cli.account("ana.souza").password_hash
    err = cli.refused("staff", "add", "--login", "ana.souza", "--password", "Outra@Senha99")
    assert "já existe uma conta com o login ana.souza" in err
    assert cli.account("ana.souza").password_hash == stored and cli.count(models.Account) == 1


@pytest.mark.parametrize(
    "login",
    [
        "ana.souza@operadora.com",
        pytest.param("Ana.Souza@Operadora.com"),
    ],
)
def test_a_staff_account_added_with_an_email_login_can_log_in_to_the_portal(cli, login):
    cli.ok("staff", "add", "--login", login, "--password", STAFF_PASSWORD)
    try:
        portal_login(cli.db, login, STAFF_PASSWORD, datetime.now(UTC), Origin())
    except LoginFailed:
        pytest.fail("the portal refuses the login exactly as staff add accepted it")


def test_staff_add_can_take_the_password_without_putting_it_in_argv(cli, monkeypatch):
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": STAFF_PASSWORD)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{STAFF_PASSWORD}\n{STAFF_PASSWORD}\n"))
    monkeypatch.setenv("TISS_PASSWORD", STAFF_PASSWORD)
    assert cli("staff", "add", "--login", "ana.souza")[0] == 0
    assert cli.account("ana.souza") is not None


def test_operator_set_twice_updates_the_one_operator(cli):
    op_set = ("operator", "set", "--registro-ans")
    cli.ok(*op_set, "123456", "--name", "Operadora São José", "--cnpj", "34.028.316/0001-03")
    cli.ok(*op_set, "654321", "--name", " Saúde Ñandú ")
    with cli.db.reading() as s:
        operators = [(o.registro_ans, o.name, o.cnpj) for o in s.scalars(select(models.Operator))]
    assert operators == [("654321", "Saúde Ñandú", "34028316000103")]
    err = cli.refused(*op_set, "123456", "--name", "X", "--cnpj", "34028316000104")
    assert "CNPJ 34028316000104 inválido" in err


# --- db upgrade: where the database lives ------------------------------------------------------


def test_db_upgrade_twice_on_a_database_in_use_is_a_no_op(cli):
    cli.ok("staff", "add", "--login", "ana.souza", "--password", STAFF_PASSWORD)
    for _ in range(2):
        assert cli.ok("db", "upgrade") == "database schema is up to date\n"
    assert cli.count(models.Account) == 1


@pytest.mark.parametrize("where", ["missing folders", "existing empty file"])
def test_db_upgrade_on_a_new_sqlite_file_then_again(own_cli, tmp_path, monkeypatch, where):
    path = tmp_path / "a" / "b c" / "ção" / "gateway.db"
    if where == "existing empty file":
        path = tmp_path / "gateway.db"
        path.touch()
    monkeypatch.setenv("TISS_DATABASE_URL", f"sqlite:///{path}")
    own_cli.ok("db", "upgrade")
    own_cli.ok("db", "upgrade")
    own_cli.ok("staff", "add", "--login", "ana.souza", "--password", STAFF_PASSWORD)
    assert path.is_file() and path.stat().st_size > 0


@pytest.mark.parametrize("kind", ["directory", "text file", "never upgraded"])
def test_a_database_that_is_not_usable_is_one_line(own_cli, tmp_path, monkeypatch, kind):
    path = tmp_path / "gateway.db"
    if kind == "directory":
        path.mkdir()
    elif kind == "text file":
        path.write_text("not a database\n" * 200)
    monkeypatch.setenv("TISS_DATABASE_URL", f"sqlite:///{path}")
    err = own_cli.refused("staff", "add", "--login", "ana.souza", "--password", STAFF_PASSWORD)
    assert err.startswith("tiss-gateway: database error") and "db upgrade" in err
    if kind != "never upgraded":
        assert "database error" in own_cli.refused("db", "upgrade")


@pytest.mark.parametrize("setting", ["TISS_DATABASE_URL", "TISS_VAR_DIR"])
def test_db_upgrade_where_the_folder_cannot_be_created(own_cli, tmp_path, monkeypatch, setting):
    """A read-only var dir; the tests run as root, so a file stands in the way instead."""
    blocker = tmp_path / "var"
    blocker.write_text("a file, not a folder")
    if setting == "TISS_DATABASE_URL":
        monkeypatch.setenv(setting, f"sqlite:///{blocker / 'data' / 'gateway.db'}")
    else:
        monkeypatch.setenv(setting, str(blocker / "sub"))
    assert str(blocker) in own_cli.refused("db", "upgrade")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite+pysqlite://",
        "sqlite+pysqlite:///:memory:",
        "sqlite:///file:gateway?mode=memory&uri=true",
    ],
)
def test_db_upgrade_of_an_in_memory_sqlite_database_is_refused(own_cli, monkeypatch, url):
    """Whatever the spelling, an in-memory database would vanish with the command."""
    monkeypatch.setenv("TISS_DATABASE_URL", url)
    assert "sqlite:///path/file.db" in own_cli.refused("db", "upgrade")


# --- portal prune ------------------------------------------------------------------------------


def seed_portal_rows(cli, now: datetime, ages: dict[str, timedelta]) -> None:
    """Per key, an access-log entry, a session last seen and a reset link expiring at now - age."""
    cli.ok("staff", "add", "--login", "ana.souza", "--password", STAFF_PASSWORD)
    account = cli.account("ana.souza").id
    with cli.db.transaction() as s:
        for key, age in ages.items():
            at = now - age
            common = {"account_id": account, "created_at": at}
            s.add(AccessLogEntry(occurred_at=at, login=key, event="login_ok"))
            s.add(PortalSession(token_sha256=f"s-{key}", last_seen_at=at, **common))
            s.add(PasswordResetToken(token_sha256=f"t-{key}", expires_at=at, **common))


def remaining(cli) -> tuple[set, set, set]:
    with cli.db.reading() as s:
        return (
            set(s.scalars(select(AccessLogEntry.login))),
            {t[2:] for t in s.scalars(select(PortalSession.token_sha256))},
            {t[2:] for t in s.scalars(select(PasswordResetToken.token_sha256))},
        )


def pruned(log: int, sessions: int, links: int) -> str:
    return (
        f"pruned {log} access-log entries older than 90 days, {sessions} old sessions, "
        f"{links} expired reset links\n"
    )


def test_portal_prune_on_an_empty_database_twice(cli):
    assert cli.ok("portal", "prune") == cli.ok("portal", "prune") == pruned(0, 0, 0)


def test_portal_prune_keeps_the_last_90_days_and_is_repeatable(cli):
    ages = {"91d": 91 * DAY, "89d": 89 * DAY, "2h": DAY / 12, "30min": DAY / 48, "future": -DAY}
    seed_portal_rows(cli, datetime.now(UTC), ages)
    assert cli.ok("portal", "prune") == pruned(1, 1, 3)
    recent = {"89d", "2h", "30min", "future"}
    assert remaining(cli) == (recent, recent, {"30min", "future"})
    assert cli.ok("portal", "prune") == pruned(0, 0, 0)


def test_portal_prune_at_exactly_90_days_keeps_the_row(cli, monkeypatch):
    """The command's own clock is replaced by a fixed instant: a microsecond-exact boundary."""
    fixed = datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)
    asked, real = [], access_log.prune
    monkeypatch.setattr(access_log, "prune", lambda db, now: asked.append(now) or real(db, fixed))
    tick, hour = timedelta(microseconds=1), timedelta(hours=1)
    ages = {"older": 90 * DAY + tick, "exactly": 90 * DAY, "younger": 90 * DAY - tick}
    seed_portal_rows(cli, fixed, ages | {"link-older": hour + tick, "link-exactly": hour})
    assert cli.ok("portal", "prune") == pruned(1, 1, 4)
    assert abs(asked[0] - datetime.now(UTC)) < timedelta(minutes=1)  # the CLI's now is UTC
    kept = {"exactly", "younger", "link-older", "link-exactly"}
    assert remaining(cli) == (kept, kept, {"link-exactly"})  # 90-day-old links expired long ago


# --- --help and argparse -----------------------------------------------------------------------


COMMANDS = (
    "db upgrade|operator set|provider add|provider require-signature|provider add-certificate|"
    "provider certificates|provider remove-certificate|serve|demo|portal prune|staff add|"
    "beneficiary import|schemas list|schemas import"
).split("|")
GROUP_HELP = {  # what `tiss-gateway GROUP --help` says, in the README's words
    "db": "apply every migration",
    "portal": "delete access-log entries older than 90 days (run daily)",
    "staff": "add a staff account for the back-office API",
    "beneficiary": "insert or update from a UTF-8 CSV file",
    "provider": "add an approved provider with web-service credentials",
    "schemas": "import an official ANS package (folder or zip)",
}


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_exits_0_and_touches_nothing(own_cli, command, monkeypatch, tmp_path):
    monkeypatch.setenv("TISS_DATABASE_URL", f"sqlite:///{tmp_path / 'none' / 'x.db'}")
    code, out, err = own_cli(*command.split(), "--help")
    assert (code, err) == (0, "") and out.startswith(f"usage: tiss-gateway {command}")
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("group", GROUP_HELP)
def test_group_help_lists_its_commands_as_the_readme_does(own_cli, group):
    code, out, _err = own_cli(group, "--help")
    assert code == 0 and GROUP_HELP[group] in " ".join(out.split())


@pytest.mark.parametrize(
    "command, words",
    [("portal prune", "90 days"), ("beneficiary import", "insert or update")],
)
def test_leaf_help_says_what_the_command_does(own_cli, command, words):
    assert words in own_cli(*command.split(), "--help")[1]


@pytest.mark.parametrize(
    "args",
    [
        ("db", "upgrade", "--force"),
        ("portal", "prune", "--days", "30"),
        ("staff", "add", "--login", "ana.souza", "--password", STAFF_PASSWORD, "--admin"),
        ("beneficiary", "import", "x.csv", "--encoding", "latin-1"),
        ("demo", "--yes"),
        provider_args("--senha", "x"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_unknown_options_are_refused_by_argparse_before_anything_is_written(cli, args):
    code, out, err = cli(*args)
    assert code == 2 and out == "" and "unrecognized arguments" in err
    assert cli.count(models.Account) == cli.count(models.Beneficiary) == 0


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "required: command"),
        (("staff", "add", "--login", "x"), "no password: give --password"),
        (provider_args(document=()), "one of the arguments --cnpj --cpf is required"),
        (("serve", "--port", "70000"), "between 0 and 65535"),
        (("serve", "--workers", "0"), "between 1 and 256"),
        (("portal", "purge"), "invalid choice"),
    ],
)
def test_missing_or_bad_arguments_are_exit_2_with_the_reason(own_cli, args, message):
    code, out, err = own_cli(*args)
    assert code == 2 and out == "" and message in err and "Traceback" not in err
