"""CPF and CNPJ: normalisation and check digits (numeric and the alphanumeric CNPJ of 4.03.00)."""

import re

from validate_docbr import CNPJ, CPF

_CNPJ = CNPJ()
_CPF = CPF()


def normalize(doc: str) -> str:
    """Upper case, punctuation and spaces removed: '12.ABC.345/01DE-35' -> '12ABC34501DE35'."""
    return re.sub(r"[^0-9A-Za-z]", "", doc or "").upper()


def valid_cnpj(doc: str) -> bool:
    doc = normalize(doc)
    return len(doc) == 14 and _CNPJ.validate(doc)


def valid_cpf(doc: str) -> bool:
    doc = normalize(doc)
    return len(doc) == 11 and doc.isdigit() and _CPF.validate(doc)
