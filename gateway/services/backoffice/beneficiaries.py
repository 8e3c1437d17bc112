"""Loading the beneficiary registry: from the API (a list) or from a CSV file (the command
line). Both end in gateway.services.beneficiaries.upsert_beneficiaries: all rows or none.

CSV: UTF-8 (a BOM is accepted), a header row, comma-separated (semicolon also accepted, as
spreadsheets set to Portuguese write it; told apart by the header line). Columns:
numero_carteira, nome, plano, situacao (ativo|suspenso|cancelado), data_adesao (AAAA-MM-DD), and
optionally data_desligamento and validade_carteira (AAAA-MM-DD or empty). What Excel adds is
let through when it holds nothing: rows of empty cells, header cells with no name over empty
cells. What it breaks is refused by line: another encoding, a card number in scientific
notation.
"""

import csv
import io
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from gateway.services.backoffice.errors import BackOfficeError
from gateway.services.beneficiaries import (
    BeneficiaryData,
    BeneficiaryError,
    check_beneficiary,
    upsert_beneficiaries,
)
from storage.db import Database

REQUIRED = ("numero_carteira", "nome", "plano", "situacao", "data_adesao")
OPTIONAL = ("data_desligamento", "validade_carteira")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # fullmatch; [0-9], not \d (any script)
# The line ends csv.reader knows, Excel for Mac's lone CR among them (str.splitlines knows more).
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def load_beneficiaries(db: Database, items: Sequence[BeneficiaryData]) -> int:
    if not items:
        raise BackOfficeError("informe ao menos um beneficiário")
    try:
        return upsert_beneficiaries(db, list(items))
    except BeneficiaryError as exc:
        raise BackOfficeError(str(exc)) from None


def import_beneficiaries_csv(db: Database, path: Path) -> int:
    """Read the whole file first, so that a bad row (reported with its line number) stores
    nothing."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BackOfficeError(f"{path}: {exc.strerror}") from None
    try:
        # "utf-8", not "utf-8-sig": the error's offset then counts from the file's first byte.
        content = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        # Not guessed: a wrong guess would store accented names garbled, silently. The line is
        # the one of the first byte that is not UTF-8 (an accented letter, usually).
        line = len(LINE_BREAK.findall(data[: exc.start].decode("utf-8"))) + 1
        raise BackOfficeError(
            f"linha {line}: {path.name} não está em UTF-8; no Excel, salve como "
            '"CSV UTF-8 (delimitado por vírgulas)"'
        ) from None
    return load_beneficiaries(db, read_beneficiaries_csv(content))


def read_beneficiaries_csv(content: str) -> list[BeneficiaryData]:
    """Line numbers are physical: a record's is the line where it ends (a quoted name may span
    lines), as reader.line_num counts them."""
    first_line = LINE_BREAK.split(content, maxsplit=1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    # strict: a quote opened and never closed is an error, not the rest of the file in one field.
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter, strict=True)
    header = _next(reader)
    if not header:
        raise BackOfficeError("arquivo vazio: a primeira linha deve ser o cabeçalho")
    names = _check_header(header)
    items: list[BeneficiaryData] = []
    seen: dict[str, int] = {}
    while (cells := _next(reader)) is not None:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or Excel's ';;;;;;' for a row it remembers as used
        try:
            typed = _row(names, cells)
            carteira = check_beneficiary(typed).numero_carteira
        except (BeneficiaryError, BackOfficeError) as exc:
            raise BackOfficeError(f"linha {line}: {exc}") from None
        if carteira in seen:
            raise BackOfficeError(
                f"linha {line}: carteira {carteira} já informada na linha {seen[carteira]}"
            )
        seen[carteira] = line
        items.append(typed)  # as typed: the upsert needs it to find a row kept with separators
    if not items:
        raise BackOfficeError("o arquivo não tem beneficiários (só o cabeçalho)")
    return items


def _next(reader) -> list[str] | None:
    """The next record, or None at the end. A csv.Error is a quote opened and not closed (in a
    long file it runs into the field size limit first) or text after a closing quote: it is
    reported at the line where that record begins, not where the reader gave up, and without
    the error's own text, which may quote the data."""
    begins = reader.line_num + 1
    try:
        return next(reader, None)
    except csv.Error:
        raise BackOfficeError(
            f'linha {begins}: aspas (") não fechadas a partir desta linha? um campo entre aspas '
            'termina em aspas seguidas do separador; aspas dentro dele se escrevem dobradas ("")'
        ) from None


def _check_header(header: Sequence[str]) -> list[str]:
    """The column names, trimmed; "" for a cell with no name (Excel writes ';;' for columns it
    remembers as used), which _row allows only over empty cells."""
    names = [n.strip() for n in header]
    named = [n for n in names if n]
    missing = [c for c in REQUIRED if c not in named]
    unknown = list(dict.fromkeys(c for c in named if c not in REQUIRED + OPTIONAL))
    repeated = sorted({c for c in named if named.count(c) > 1} - set(unknown))
    problems = []
    if missing:
        problems.append(f"faltam as colunas {', '.join(missing)}")
    if unknown:
        problems.append(f"colunas desconhecidas {', '.join(unknown)}")
    if repeated:  # which of the two holds the value is unknowable
        problems.append(f"colunas repetidas {', '.join(repeated)}")
    if problems:
        raise BackOfficeError(f"linha 1 (cabeçalho): {'; '.join(problems)}")
    return names


def _row(names: Sequence[str], cells: Sequence[str]) -> BeneficiaryData:
    if len(cells) > len(names):
        raise BackOfficeError("mais campos do que colunas no cabeçalho")
    values = dict.fromkeys(REQUIRED + OPTIONAL, "")  # a short row: the missing cells are empty
    for position, (name, cell) in enumerate(zip(names, cells, strict=False), start=1):
        if name:
            values[name] = cell.strip()
        elif cell.strip():  # the value is not echoed: it may be a name
            raise BackOfficeError(f"valor na coluna {position}, que não tem nome no cabeçalho")
    return BeneficiaryData(
        numero_carteira=values["numero_carteira"],
        name=values["nome"],
        plan=values["plano"],
        status=values["situacao"],
        joined_on=_date(values["data_adesao"], "data_adesao", required=True),
        left_on=_date(values["data_desligamento"], "data_desligamento"),
        card_valid_until=_date(values["validade_carteira"], "validade_carteira"),
    )


def _date(value: str, column: str, *, required: bool = False) -> date | None:
    if not value:
        if required:
            raise BackOfficeError(f"{column} obrigatória (AAAA-MM-DD)")
        return None
    try:
        if not DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise BackOfficeError(f"{column} {value!r} inválida; use AAAA-MM-DD") from None
