"""Loading the beneficiary registry: from the API (a list) or from a CSV file (the command
line). Both end in gateway.services.beneficiaries.upsert_beneficiaries: all rows or none.

CSV: UTF-8 (a BOM is accepted), a header row, comma-separated (semicolon also accepted, as
spreadsheets set to Portuguese write it). Columns: numero_carteira, nome, plano, situacao
(ativo|suspenso|cancelado), data_adesao (AAAA-MM-DD), and optionally data_desligamento and
validade_carteira (AAAA-MM-DD or empty).
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
        content = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BackOfficeError(f"{path.name}: o arquivo não está em UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise BackOfficeError(f"{path}: {exc.strerror}") from None
    return load_beneficiaries(db, read_beneficiaries_csv(content))


def read_beneficiaries_csv(content: str) -> list[BeneficiaryData]:
    first_line = content.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
    _check_header(reader.fieldnames)
    items: list[BeneficiaryData] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        try:
            item = check_beneficiary(_row(row))
        except (BeneficiaryError, BackOfficeError) as exc:
            raise BackOfficeError(f"linha {line}: {exc}") from None
        if item.numero_carteira in seen:
            raise BackOfficeError(
                f"linha {line}: carteira {item.numero_carteira} já informada na linha "
                f"{seen[item.numero_carteira]}"
            )
        seen[item.numero_carteira] = line
        items.append(item)
    if not items:
        raise BackOfficeError("o arquivo não tem beneficiários (só o cabeçalho)")
    return items


def _check_header(fieldnames: Sequence[str] | None) -> None:
    if not fieldnames:
        raise BackOfficeError("arquivo vazio: a primeira linha deve ser o cabeçalho")
    names = [n.strip() for n in fieldnames]
    missing = [c for c in REQUIRED if c not in names]
    unknown = [c for c in names if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"faltam as colunas {', '.join(missing)}")
        if unknown:
            problems.append(f"colunas desconhecidas {', '.join(unknown)}")
        raise BackOfficeError(f"linha 1 (cabeçalho): {'; '.join(problems)}")


def _row(row: dict) -> BeneficiaryData:
    if None in row:  # more fields than the header has
        raise BackOfficeError("mais campos do que colunas no cabeçalho")
    values = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
    return BeneficiaryData(
        numero_carteira=values["numero_carteira"],
        name=values["nome"],
        plan=values["plano"],
        status=values["situacao"],
        joined_on=_date(values["data_adesao"], "data_adesao", required=True),
        left_on=_date(values.get("data_desligamento", ""), "data_desligamento"),
        card_valid_until=_date(values.get("validade_carteira", ""), "validade_carteira"),
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
