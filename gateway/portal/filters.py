"""Jinja helpers: Brazilian dates and times, CPF/CNPJ with punctuation, labels of codes, sizes."""

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache

from flask import Flask
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from gateway.forms import size_text
from gateway.reports import pdf
from gateway.services.accounts import policy
from gateway.services.credentialing import catalog
from gateway.services.gateway import Gateway
from gateway.services.validation import UFS
from gateway.tiss.codes import describe as describe_code
from storage.models import Operator


def format_document(doc: str | None) -> str:
    if not doc:
        return ""
    if len(doc) == 14:
        return f"{doc[:2]}.{doc[2:5]}.{doc[5:8]}/{doc[8:12]}-{doc[12:]}"
    if len(doc) == 11 and doc.isdigit():
        return f"{doc[:3]}.{doc[3:6]}.{doc[6:9]}-{doc[9:]}"
    return doc


def format_phone(digits: str | None) -> str:
    if not digits or not digits.isdigit() or len(digits) not in (10, 11):
        return digits or ""
    return f"({digits[:2]}) {digits[2:-4]}-{digits[-4:]}"


def format_money(value) -> str:
    """R$ 1.234,56, as the PDFs write it; a dash for no value."""
    return "—" if value is None else pdf.money(value)


def format_day(value) -> str:
    """A date (or an ISO date string) as DD/MM/AAAA."""
    if not value:
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return pdf.day(value)  # as the PDFs write it


def pick(source, name: str):
    """A field's value from a submitted form (a mapping) or from a stored record (attributes)."""
    value = source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
    return "" if value is None else value


def register(app: Flask, gw: Gateway) -> None:
    @cache
    def operator_name() -> str:
        with gw.db.reading() as session:
            name = session.scalar(select(Operator.name).limit(1))
        return name or "Operadora"

    def when(moment: datetime | None, with_time: bool = True) -> str:
        if moment is None or with_time:
            return pdf.moment(moment)  # Brazil's time, as the PDFs write it
        return pdf.day(gw.local(moment))

    app.jinja_env.filters.update(
        when=when,
        document=format_document,
        size=size_text,
        phone=format_phone,
        label=lambda code, mapping: mapping.get(code, code or "—") if code else "—",
        pick=pick,
        money=format_money,
        day=format_day,
    )
    app.jinja_env.globals.update(
        catalog=catalog,
        policy_text=policy.POLICY_TEXT,
        operator_name=operator_name,
        csrf_token=generate_csrf,
        ufs={uf: uf for uf in UFS},
        # Table-38 descriptions, for glosas and eligibility reasons shown to providers.
        describe_code=describe_code,
    )
