"""The beneficiary CSV read and the rule every beneficiary meets, without a database: what a
spreadsheet writes that is let through, and what is refused with its line. The command line
and the back-office API over these are in test_cli_extremes.py and
test_backoffice_beneficiaries.py."""

from datetime import date

import pytest

from gateway.forms import CONTROL_MESSAGE
from gateway.services.backoffice.beneficiaries import read_beneficiaries_csv
from gateway.services.backoffice.errors import BackOfficeError
from gateway.services.beneficiaries import BeneficiaryData, BeneficiaryError, check_beneficiary

HEADER = "numero_carteira;nome;plano;situacao;data_adesao"
SECRET = "Fulana Sigilosa"  # a name no error may repeat


def refusal(*lines: str, eol: str = "\r\n") -> str:
    with pytest.raises(BackOfficeError) as caught:
        read_beneficiaries_csv(eol.join(lines) + eol)
    message = str(caught.value)
    assert "Fulana" not in message and "Sigilosa" not in message, message
    return message


def item(carteira="123", name="Maria", plan="Ouro") -> BeneficiaryData:
    return BeneficiaryData(carteira, name, plan, "ativo", date(2020, 1, 1))


def test_nameless_header_cells_are_ignored_over_empty_cells_in_any_position():
    content = "numero_carteira;;nome;plano;situacao;data_adesao;;\n1;;Ana;Ouro;ativo;2020-01-01;;\n"
    assert [(b.numero_carteira, b.name) for b in read_beneficiaries_csv(content)] == [("1", "Ana")]


def test_a_value_under_a_nameless_header_cell_is_refused_by_line_and_position():
    message = refusal(
        HEADER + ";;", "1;Ana;Ouro;ativo;2020-01-01;;", f"2;Bia;Ouro;ativo;2020-01-01;;{SECRET}"
    )
    assert message == "linha 3: valor na coluna 7, que não tem nome no cabeçalho"


def test_rows_of_blank_cells_anywhere_are_skipped_and_lines_still_count():
    message = refusal(HEADER, ";;;;", " ; ; ; ; ", "", "1;Ana;Ouro;ativo;31/01/2020")
    assert message.startswith("linha 5: data_adesao '31/01/2020'"), message


@pytest.mark.parametrize(
    "header, expected",
    [
        ("numero_carteira;nome;plano;nome;situacao;data_adesao", "colunas repetidas nome"),
        (" nome ;numero_carteira;nome;plano;situacao;data_adesao", "colunas repetidas nome"),
        (HEADER + ";cpf;cpf", "colunas desconhecidas cpf"),
    ],
)
def test_a_repeated_column_is_refused_naming_it(header, expected):
    message = refusal(header, "1;Ana;Ana;Ouro;ativo;2020-01-01")
    assert message.startswith("linha 1 (cabeçalho): ") and message.endswith(expected), message


@pytest.mark.parametrize(
    "rows, line",
    [
        ([f'1;"{SECRET};Ouro;ativo;2020-01-01', "2;Bia;Ouro;ativo;2020-01-01"], 2),
        (["1;Ana;Ouro;ativo;2020-01-01", f'2;"{SECRET}" Souza;Ouro;ativo;2020-01-01'], 3),
    ],
    ids=["never-closed", "text-after-the-closing-quote"],
)
def test_a_misplaced_quote_is_refused_at_the_line_where_its_record_begins(rows, line):
    """Without strict reading, an unclosed quote swallowed the rest of the file into one name."""
    message = refusal(HEADER, *rows)
    assert message.startswith(f'linha {line}: aspas (") não fechadas'), message


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_the_separator_is_read_from_the_header_line_whatever_ends_it(eol):
    content = eol.join([HEADER, "1;Souza, Ana;Ouro;ativo;2020-01-01", ""])
    assert read_beneficiaries_csv(content)[0].name == "Souza, Ana"


@pytest.mark.parametrize("carteira", ["1,23457E+13", "1.23457E+13", "1E+14", " 9,87654e+19 "])
def test_a_card_number_in_scientific_notation_says_how_to_fix_it_in_excel(carteira):
    with pytest.raises(BeneficiaryError) as caught:
        check_beneficiary(item(carteira))
    assert "notação científica" in str(caught.value) and "como Texto" in str(caught.value)


@pytest.mark.parametrize("carteira", ["123E45", "ABC1.2E+3", "0012345678901E"])
def test_card_numbers_that_only_contain_an_e_are_accepted(carteira):
    # Kept as typed but for the dot: the registry keeps card numbers without separators.
    assert check_beneficiary(item(carteira)).numero_carteira == carteira.replace(".", "")


@pytest.mark.parametrize(
    "field, values",
    [
        ("número da carteira", {"carteira": "12\x0034"}),
        ("nome", {"name": f"{SECRET}\x00"}),
        ("nome", {"name": f"{SECRET}\nSouza"}),
        ("nome", {"name": f"\x1b[31m{SECRET}"}),
        ("nome", {"name": "Fulana\x85Sigilosa"}),  # C1 NEXT LINE: XML 1.0 lets it through
        ("plano", {"plan": "Ouro\tPrata"}),
    ],
    ids=["nul-in-card", "nul", "line-break", "escape", "c1", "tab-in-plan"],
)
def test_control_characters_are_refused_naming_the_field_not_the_text(field, values):
    with pytest.raises(BeneficiaryError) as caught:
        check_beneficiary(item(**values))
    message = str(caught.value)
    assert field in message and message.endswith(CONTROL_MESSAGE), message
    assert "Fulana" not in message


def test_spaces_and_line_breaks_around_a_name_are_trimmed_not_refused():
    assert check_beneficiary(item(name=" \r\nMaria da Conceição\t ")).name == "Maria da Conceição"
