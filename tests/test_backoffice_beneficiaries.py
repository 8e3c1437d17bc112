"""The beneficiary registry, loaded over the back-office API and from a CSV file with
`tiss-gateway beneficiary import`, and staff accounts created with `tiss-gateway staff add`:
all rows or none, with the line of a bad row."""

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from storage import models
from tests.backoffice_client import STAFF, Staff, fault_of, make_client
from tests.cli_support import Cli

CSV_HEADER = "numero_carteira,nome,plano,situacao,data_adesao,data_desligamento,validade_carteira"


@pytest.fixture
def bo(server_url, staff):
    return make_client(server_url)[0].service


def registry(gw) -> dict[str, tuple]:
    with gw.db.reading() as s:
        rows = s.scalars(select(models.Beneficiary).order_by(models.Beneficiary.numero_carteira))
        return {
            b.numero_carteira: (
                b.name,
                b.plan,
                b.status,
                b.joined_on,
                b.left_on,
                b.card_valid_until,
            )
            for b in rows
        }


def beneficiario(carteira, **overrides):
    values = dict(
        numeroCarteira=carteira,
        nome="Maria da Conceição",
        plano="Plano Ouro",
        situacao="ativo",
        dataAdesao=date(2020, 1, 1),
    )
    values.update(overrides)
    return values


def test_load_then_update_over_the_api(gw, bo):
    assert (
        bo.carregarBeneficiarios(
            beneficiario=[
                beneficiario("00011112222333"),
                beneficiario("00011112222444", nome="João", validadeCarteira=date(2027, 12, 31)),
            ]
        )
        == 2
    )
    assert (
        bo.carregarBeneficiarios(
            beneficiario=[
                beneficiario(
                    "00011112222333", situacao="cancelado", dataDesligamento=date(2026, 6, 30)
                ),
            ]
        )
        == 1
    )
    assert registry(gw) == {
        "00011112222333": (
            "Maria da Conceição",
            "Plano Ouro",
            "cancelado",
            date(2020, 1, 1),
            date(2026, 6, 30),
            None,
        ),
        "00011112222444": (
            "João",
            "Plano Ouro",
            "ativo",
            date(2020, 1, 1),
            None,
            date(2027, 12, 31),
        ),
    }


@pytest.mark.parametrize(
    "items, expected",
    [
        (
            [beneficiario("00011112222333"), beneficiario("00011112222333")],
            "informada mais de uma vez",
        ),
        (
            [
                beneficiario("00011112222333"),
                beneficiario("00011112222555", dataDesligamento=date(2019, 1, 1)),
            ],
            "carteira 00011112222555: data de desligamento anterior à data de adesão",
        ),
        ([beneficiario("00011112222333", situacao="inativo")], "situacao"),
        ([beneficiario("0" * 21)], "numeroCarteira"),
        ([beneficiario("00011112222333", dataAdesao="2020-01-01Z")], "dataAdesao"),
        (
            [beneficiario("00011112222333"), beneficiario("7", nome="Maria\nSouza")],
            "carteira 7: nome: remova os caracteres invisíveis",
        ),
        ([beneficiario("7", plano="Ouro\x85Prata")], "carteira 7: plano: remova os caracteres"),
        ([beneficiario("1.23457E+13")], "notação científica"),
    ],
    ids=[
        "twice",
        "left-before-joined",
        "bad-status",
        "long-card",
        "date-with-zone",
        "line-break-in-name",
        "c1-control-in-plan",
        "scientific-card",
    ],
)
def test_a_bad_beneficiary_loads_none(gw, bo, items, expected):
    category, message = fault_of(bo.carregarBeneficiarios, beneficiario=items)
    assert category == "RequisicaoInvalida" and expected in message, message
    assert "Souza" not in message  # the name is never echoed
    assert registry(gw) == {}


# --- command line -------------------------------------------------------------------------------


@pytest.fixture
def cli(gw, monkeypatch, capsys):
    """The command line pointed at the test database (as TISS_DATABASE_URL would)."""
    monkeypatch.setenv("TISS_DATABASE_URL", gw.settings.database_url)
    monkeypatch.delenv("TISS_REGISTRO_ANS", raising=False)
    return Cli(capsys)


def write(tmp_path, text: str, name: str = "beneficiarios.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_import_a_good_file(gw, cli, tmp_path):
    path = write(
        tmp_path,
        "\ufeff"
        + "\n".join(
            [
                CSV_HEADER,
                "00012345678901,Maria da Conceição Souza,Plano Ouro,ativo,2020-01-01,,2027-12-31",
                '00012345678902,"Pereira, João",Plano Prata,suspenso,2023-06-01,,',
                "00012345678903,Ana Beatriz Rocha,Plano Prata,cancelado,"
                "2019-03-01,2025-08-31,2025-08-31",
                "",
            ]
        ),
    )
    code, out, err = cli("beneficiary", "import", str(path))
    assert (code, err) == (0, "")
    assert "3 beneficiaries imported" in out
    assert registry(gw) == {
        "00012345678901": (
            "Maria da Conceição Souza",
            "Plano Ouro",
            "ativo",
            date(2020, 1, 1),
            None,
            date(2027, 12, 31),
        ),
        "00012345678902": (
            "Pereira, João",
            "Plano Prata",
            "suspenso",
            date(2023, 6, 1),
            None,
            None,
        ),
        "00012345678903": (
            "Ana Beatriz Rocha",
            "Plano Prata",
            "cancelado",
            date(2019, 3, 1),
            date(2025, 8, 31),
            date(2025, 8, 31),
        ),
    }


def test_import_semicolons_and_only_the_required_columns(gw, cli, tmp_path):
    path = write(
        tmp_path,
        "numero_carteira;nome;plano;situacao;data_adesao\n"
        "00012345678909;José;Plano Ouro;ativo;2024-02-29\n",
    )
    assert cli("beneficiary", "import", str(path))[0] == 0
    assert registry(gw)["00012345678909"][3] == date(2024, 2, 29)


@pytest.mark.parametrize(
    "rows, expected",
    [
        (
            [
                "00012345678901,Maria,Plano Ouro,ativo,2020-01-01,,",
                "00012345678902,João,Plano Ouro,ativo,01/06/2023,,",
            ],
            "linha 3: data_adesao '01/06/2023' inválida; use AAAA-MM-DD",
        ),
        (
            [
                "00012345678901,Maria,Plano Ouro,ativo,2020-01-01,,",
                "00012345678902,João,Plano Ouro,inativo,2020-01-01,,",
            ],
            "linha 3: carteira 00012345678902: situação 'inativo' inválida",
        ),
        (
            [
                "00012345678901,Maria,Plano Ouro,ativo,2020-01-01,,",
                "00012345678901,Maria,Plano Ouro,ativo,2020-01-01,,",
            ],
            "linha 3: carteira 00012345678901 já informada na linha 2",
        ),
        (
            ["00012345678901,,Plano Ouro,ativo,2020-01-01,,"],
            "linha 2: carteira 00012345678901: nome obrigatório",
        ),
        (
            ["00012345678901,Maria,Plano Ouro,ativo,2020-01-01,,,extra"],
            "linha 2: mais campos do que colunas",
        ),
        (["00012345678901,Maria,Plano Ouro,ativo,2020-02-30,,"], "linha 2: data_adesao"),
    ],
    ids=["date-format", "status", "duplicate", "no-name", "extra-field", "no-such-day"],
)
def test_a_bad_row_imports_nothing_and_names_its_line(gw, cli, tmp_path, rows, expected):
    path = write(tmp_path, "\n".join([CSV_HEADER, *rows]) + "\n")
    code, out, err = cli("beneficiary", "import", str(path))
    assert code == 2 and out == ""
    assert expected in err, err
    assert registry(gw) == {}


@pytest.mark.parametrize(
    "content, expected",
    [
        ("numero_carteira,nome,situacao,data_adesao\n", "faltam as colunas plano"),
        (CSV_HEADER + ",cpf\n", "colunas desconhecidas cpf"),
        (CSV_HEADER + "\n", "não tem beneficiários"),
        ("", "arquivo vazio"),
    ],
)
def test_bad_headers(gw, cli, tmp_path, content, expected):
    code, _, err = cli("beneficiary", "import", str(write(tmp_path, content)))
    assert code == 2 and expected in err, err


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_a_file_not_in_utf8_is_refused_at_the_line_of_its_first_bad_byte(gw, cli, tmp_path, eol):
    rows = [CSV_HEADER, "1,Maria,P,ativo,2020-01-01,,", "2,José,P,ativo,2020-01-01,,", ""]
    path = write(tmp_path, eol.join(rows), encoding="iso-8859-1")
    code, _, err = cli("beneficiary", "import", str(path))
    assert code == 2
    assert err.startswith("tiss-gateway: linha 3: beneficiarios.csv não está em UTF-8"), err
    assert 'no Excel, salve como "CSV UTF-8 (delimitado por vírgulas)"' in err
    assert registry(gw) == {}


def test_staff_add_then_use_the_api(gw, cli, server_url):
    code, out, err = cli("staff", "add", "--login", "joao.silva", "--password", "Backoffice#2026")
    assert (code, err) == (0, ""), err
    assert "staff joao.silva added" in out
    with gw.db.reading() as s:
        account = s.scalar(select(models.Account).where(models.Account.login == "joao.silva"))
    assert (account.kind, account.provider_id, account.active) == ("staff", None, True)
    assert "Backoffice#2026" not in account.password_hash
    assert account.password_changed_at is not None and account.failed_attempts == 0

    client, _ = make_client(server_url, Staff("joao.silva", "Backoffice#2026"), auth="basic")
    assert client.service.listarLotes(desde=datetime(2020, 1, 1)).lote == []


@pytest.mark.parametrize(
    "login, password, expected",
    [
        ("joao.silva", "curta1!", "ao menos 8 caracteres"),
        ("joao.silva", "semsimbolo123", "símbolo"),
        ("jo", "Backoffice#2026", "de 3 a 60 caracteres"),
        ("joão", "Backoffice#2026", "sem acento"),
        (STAFF.login, "Backoffice#2026", f"já existe uma conta com o login {STAFF.login}"),
        ("11222333000181", "Backoffice#2026", "já existe"),  # a provider's login
    ],
)
def test_staff_add_refusals(gw, cli, staff, login, password, expected):
    code, _, err = cli("staff", "add", "--login", login, "--password", password)
    assert code == 2 and expected in err, err
    with gw.db.reading() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(models.Account)
                .where(models.Account.kind == "staff")
            )
            == 1
        )
