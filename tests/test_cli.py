"""The `tiss-gateway` command, run in-process the way an operator runs it: database, operator,
providers, demo data, schema sets (list, import, refusal of incomplete or tampered sets), and a
gateway started from the environment that accepts an imported version."""

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from werkzeug.test import Client

from gateway.app import build_app
from gateway.config import ConfigError, Settings
from gateway.services.gateway import Gateway
from gateway.tiss.samples import lote_guias_ws
from gateway.tiss.schemas import SchemaRegistry, SchemaSet, SchemaSetError, builtin_sets
from storage import models
from storage.db import Database
from tests import cli_support
from tests.tissclient import Provider, post, sample_lot

OFFICIAL_SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "tiss" / "schemas"
SCHEMAS_401 = OFFICIAL_SCHEMAS / "4.01.00"
# shared/docs/TISS.md: SHA-256 of the official 4.03.00 message schema.
TISSV4_03_00_SHA256 = "d4c421c7e3cf936551b70d6bd794a419867b6daea554d557b4d928363c54044c"
REGISTRO = "123456"
CLINIC = Provider(
    cnpj="45723174000110", code="CLIN01", name="Clínica Teste", password="Segredo@2026"
)


class Cli(cli_support.Cli):
    """The command line on one database, with what these tests read back from it."""

    def __init__(self, capsys, database_url: str) -> None:
        super().__init__(capsys)
        self.database_url = database_url

    def ok(self, *args: str) -> str:
        code, out, err = self(*args)
        assert code == 0, (args, out, err)
        return out

    def count(self, model) -> int:
        db = Database(self.database_url)
        try:
            with db.reading() as s:
                return s.scalar(select(func.count()).select_from(model))
        finally:
            db.dispose()


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys) -> Cli:
    for name in (
        "TISS_REGISTRO_ANS",
        "TISS_ACCEPTED_VERSIONS",
        "TISS_PUBLIC_URL",
        "TISS_TRUST_PROXY",
        "TISS_ACCEPT_UTF8_HASH",
    ):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'data' / 'gateway.db'}"  # its folder does not exist yet
    monkeypatch.setenv("TISS_DATABASE_URL", url)
    monkeypatch.setenv("TISS_VAR_DIR", str(tmp_path / "var"))
    return Cli(capsys, url)


@pytest.fixture
def migrated_cli(cli) -> Cli:
    assert "up to date" in cli.ok("db", "upgrade")
    return cli


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def schema_listing(out: str) -> dict[str, dict]:
    """`schemas list` output as {version: {origin, accepted, files: {name: sha256}}}."""
    sets: dict[str, dict] = {}
    current = None
    for line in out.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            digest, name = line.split()
            current["files"][name] = digest
        else:
            version, origin, accepted = line.split(None, 2)
            current = sets[version] = {
                "origin": origin,
                "accepted": accepted.strip("()"),
                "files": {},
            }
    return sets


def official_digests(folder: Path) -> dict[str, str]:
    return {p.name: sha256(p) for p in folder.glob("*.xsd")}


# --- database, operator, providers, demo --------------------------------------------------------


def test_db_upgrade_creates_the_database_and_is_repeatable(cli, tmp_path):
    assert "up to date" in cli.ok("db", "upgrade")
    assert (tmp_path / "data" / "gateway.db").is_file()
    assert "up to date" in cli.ok("db", "upgrade")
    assert cli.count(models.Operator) == 0


def test_operator_set_records_this_operator(migrated_cli):
    assert f"operator {REGISTRO} X" in migrated_cli.ok(
        "operator", "set", "--registro-ans", REGISTRO, "--name", "X"
    )
    db = Database(migrated_cli.database_url)
    with db.reading() as s:
        operators = s.scalars(select(models.Operator)).all()
    db.dispose()
    assert [(o.registro_ans, o.name) for o in operators] == [(REGISTRO, "X")]

    code, _out, err = migrated_cli("operator", "set", "--registro-ans", "12345", "--name", "X")
    assert code == 2 and "6 dígitos" in err and "Traceback" not in err


def test_provider_add_creates_an_approved_provider_with_a_hashed_credential(migrated_cli):
    out = migrated_cli.ok(
        "provider",
        "add",
        "--cnpj",
        "45.723.174/0001-10",
        "--code",
        CLINIC.code,
        "--name",
        CLINIC.name,
        "--password",
        CLINIC.password,
    )
    assert f"web-service login {CLINIC.cnpj}" in out

    db = Database(migrated_cli.database_url)
    with db.reading() as s:
        provider = s.scalar(select(models.Provider))
        account = s.scalar(select(models.Account))
    db.dispose()
    assert (provider.cnpj, provider.codigo_na_operadora, provider.status) == (
        CLINIC.cnpj,
        CLINIC.code,
        "approved",
    )
    assert account.login == CLINIC.cnpj and account.provider_id == provider.id
    assert account.password_hash.startswith("$argon2")
    assert CLINIC.password not in account.password_hash
    assert CLINIC.senha_md5 not in account.password_hash


def test_provider_add_with_an_invalid_cnpj_is_exit_2_with_a_clear_message(migrated_cli):
    code, out, err = migrated_cli(
        "provider",
        "add",
        "--cnpj",
        "45723174000111",
        "--code",
        "X1",
        "--name",
        "Clínica",
        "--password",
        "Segredo@2026",
    )
    assert code == 2
    assert "CNPJ 45723174000111 inválido" in err
    assert "Traceback" not in err and "approved" not in out
    assert migrated_cli.count(models.Provider) == 0


def test_provider_add_refuses_cnpj_and_cpf_together(migrated_cli):
    code, _out, err = migrated_cli(
        "provider",
        "add",
        "--cnpj",
        CLINIC.cnpj,
        "--cpf",
        "52998224725",
        "--code",
        "X1",
        "--name",
        "Clínica",
        "--password",
        "Segredo@2026",
    )
    assert code == 2
    assert "not allowed with argument --cnpj" in err
    assert migrated_cli.count(models.Provider) == 0


def test_demo_twice_is_idempotent(cli):
    """Operator, one provider (with its account), one staff account, three beneficiaries."""
    first = cli.ok("demo")
    assert "demo data loaded" in first
    counts = {
        m.__name__: cli.count(m)
        for m in (models.Operator, models.Provider, models.Account, models.Beneficiary)
    }
    assert counts == {"Operator": 1, "Provider": 1, "Account": 2, "Beneficiary": 3}
    assert "demo data loaded" in cli.ok("demo")
    assert {
        m.__name__: cli.count(m)
        for m in (models.Operator, models.Provider, models.Account, models.Beneficiary)
    } == counts


# --- schema sets ---------------------------------------------------------------------------------


def test_schemas_list_shows_the_builtin_sets_with_their_sha256(migrated_cli):
    sets = schema_listing(migrated_cli.ok("schemas", "list"))
    assert {"4.02.00", "4.03.00"} <= set(sets)
    assert sets["4.03.00"]["accepted"] == sets["4.02.00"]["accepted"] == "accepted"
    assert sets["4.03.00"]["files"]["tissV4_03_00.xsd"] == TISSV4_03_00_SHA256
    # The package's 4.03.00 files are byte-identical to the official ANS ones.
    assert sets["4.03.00"]["files"] == official_digests(OFFICIAL_SCHEMAS / "4.03.00")
    assert len(sets["4.02.00"]["files"]) == 7


def test_schemas_import_of_the_official_401_folder(migrated_cli):
    assert "4.01.00" not in schema_listing(migrated_cli.ok("schemas", "list"))
    out = migrated_cli.ok("schemas", "import", str(SCHEMAS_401))
    assert "imported 4.01.00 (7 files" in out
    assert "TISS_ACCEPTED_VERSIONS" in out  # tells the operator how to accept it

    listed = schema_listing(migrated_cli.ok("schemas", "list"))["4.01.00"]
    assert listed["origin"] == "imported"
    assert listed["accepted"] == "not accepted"
    assert listed["files"] == official_digests(SCHEMAS_401)


def test_schemas_import_of_a_zip_with_a_nested_folder(migrated_cli, tmp_path):
    package = tmp_path / "PadraoTISSComunicacao_4.01.00.zip"
    with zipfile.ZipFile(package, "w") as archive:
        for path in SCHEMAS_401.iterdir():
            archive.write(path, f"Padrao TISS 4.01.00/{path.name}")
    assert "imported 4.01.00 (7 files" in migrated_cli.ok("schemas", "import", str(package))
    listed = schema_listing(migrated_cli.ok("schemas", "list"))["4.01.00"]
    assert listed["files"] == official_digests(SCHEMAS_401)


def test_schemas_import_of_an_incomplete_folder_is_exit_2(migrated_cli, tmp_path):
    incomplete = tmp_path / "incomplete"
    shutil.copytree(SCHEMAS_401, incomplete)
    (incomplete / "tissGuiasV4_01_00.xsd").unlink()

    code, _out, err = migrated_cli("schemas", "import", str(incomplete))

    assert code == 2
    assert "tissGuiasV4_01_00.xsd" in err
    assert migrated_cli.count(models.SchemaFile) == 0
    assert "4.01.00" not in schema_listing(migrated_cli.ok("schemas", "list"))


# --- a gateway started from the environment ------------------------------------------------------


def test_gateway_accepts_an_imported_401_lot(migrated_cli, monkeypatch):
    migrated_cli.ok("operator", "set", "--registro-ans", REGISTRO, "--name", "Operadora")
    migrated_cli.ok(
        "provider",
        "add",
        "--cnpj",
        CLINIC.cnpj,
        "--code",
        CLINIC.code,
        "--name",
        CLINIC.name,
        "--password",
        CLINIC.password,
    )
    migrated_cli.ok("schemas", "import", str(SCHEMAS_401))
    monkeypatch.setenv("TISS_ACCEPTED_VERSIONS", "4.01.00,4.02.00,4.03.00")
    assert schema_listing(migrated_cli.ok("schemas", "list"))["4.01.00"]["accepted"] == "accepted"

    gw = Gateway.start(Settings.from_env())
    try:
        client = Client(build_app(gw))
        # The 4.01.00 sample is valid under the official 4.01.00 schema as built (checked by the
        # gateway, which compiled the imported set); no adaptation was needed.
        lot = sample_lot(CLINIC, "401-1", 2, registro_ans=REGISTRO, version="4.01.00")
        answer = post(client, lote_guias_ws(lot), version="4.01.00")  # official 4.01.00 XSD

        assert not answer.is_fault, answer.faultstring
        assert answer.text("ans:cabecalho/ans:Padrao") == "4.01.00"
        assert answer.protocol
        with gw.db.reading() as s:
            stored = s.scalar(select(models.Lot).where(models.Lot.numero_lote == "401-1"))
            assert stored.version == "4.01.00"
            assert (
                s.scalar(select(models.Protocol.numero).where(models.Protocol.lot_id == stored.id))
                == answer.protocol
            )

        wsdl = client.get("/tiss/v40100/tissLoteGuias?wsdl")
        assert wsdl.status_code == 200
        assert b"http://www.ans.gov.br/tiss/ws/tipos/tissloteguias/v40100" in wsdl.data
        served = client.get("/tiss/v40100/schemas/tissV4_01_00.xsd")
        assert served.status_code == 200
        assert served.data == (SCHEMAS_401 / "tissV4_01_00.xsd").read_bytes()
    finally:
        gw.db.dispose()


def test_gateway_start_refuses_an_accepted_version_without_schema_set(migrated_cli, monkeypatch):
    monkeypatch.setenv("TISS_ACCEPTED_VERSIONS", "4.01.00,4.03.00")
    with pytest.raises(ConfigError, match=r"4\.01\.00.*schemas import"):
        Gateway.start(Settings.from_env(), compile_schemas=False)


def _change_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_tampered_package_set_is_refused(tmp_path):
    package = next(s for s in builtin_sets() if s.version == "4.03.00")
    assert package.sha256["tissV4_03_00.xsd"] == TISSV4_03_00_SHA256
    copy = tmp_path / "4.03.00"
    shutil.copytree(package.directory, copy)

    intact = SchemaRegistry()
    intact.add(SchemaSet("4.03.00", package.origin, copy, dict(package.sha256)))
    assert intact.get("4.03.00") is not None  # control: the untouched copy is accepted

    _change_one_byte(copy / "tissSimpleTypesV4_03_00.xsd")
    registry = SchemaRegistry()
    with pytest.raises(SchemaSetError, match="tissSimpleTypesV4_03_00.xsd.*does not match"):
        registry.add(SchemaSet("4.03.00", package.origin, copy, dict(package.sha256)))
    assert registry.get("4.03.00") is None


def test_gateway_refuses_to_start_when_an_imported_set_was_altered(migrated_cli, monkeypatch):
    migrated_cli.ok("schemas", "import", str(SCHEMAS_401))
    monkeypatch.setenv("TISS_ACCEPTED_VERSIONS", "4.01.00,4.03.00")
    db = Database(migrated_cli.database_url)
    with db.transaction() as s:
        original = s.scalar(
            select(models.SchemaFile.content).where(
                models.SchemaFile.file_name == "tissV4_01_00.xsd"
            )
        )
        s.execute(
            update(models.SchemaFile)
            .where(models.SchemaFile.file_name == "tissV4_01_00.xsd")
            .values(content=original + b"<!-- altered -->\n")
        )
    db.dispose()

    with pytest.raises(SchemaSetError, match="tissV4_01_00.xsd"):
        Gateway.start(Settings.from_env(), compile_schemas=False)
