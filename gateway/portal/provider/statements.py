"""Demonstrativos (seed 004, 4): payment statements by payment date or competência, the
account-analysis statement of a protocol, and the protocol reports of seed 002 (analítico and
sintético, as PDF or Excel)."""

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from gateway.forms import typed_day
from gateway.portal.context import Portal
from gateway.portal.downloads import PDF, XLSX, download
from gateway.portal.provider.area import acting, area
from gateway.reports import protocols as protocol_pdf
from gateway.reports import sheets
from gateway.reports import statements as statement_pdf
from gateway.services.provider_area import access
from gateway.services.provider_area.paging import page_number
from gateway.services.provider_area.protocols import NOT_FOUND, list_protocols, protocol_summary
from gateway.services.provider_area.statements import (
    KINDS,
    NotAnalysedYet,
    analysis_statement,
    payment_statement,
)

_MONTH = (
    re.compile(r"^(?P<y>\d{4})-?(?P<m>\d{2})$"),  # 2026-11 (input type=month), 202611
    re.compile(r"^(?P<m>\d{1,2})/(?P<y>\d{4})$"),  # 11/2026, as people type it
)
REPORTS = {
    ("analitico", "pdf"): (protocol_pdf.analytic, PDF),
    ("sintetico", "pdf"): (protocol_pdf.synthetic, PDF),
    ("analitico", "xlsx"): (sheets.analytic, XLSX),
    ("sintetico", "xlsx"): (sheets.synthetic, XLSX),
}


def competencia(text: str) -> str | None:
    """AAAAMM from what the month field sent, or None."""
    for pattern in _MONTH:
        found = pattern.match(text.strip())
        if found and 1 <= int(found["m"]) <= 12 and 2000 <= int(found["y"]) <= 2100:
            return f"{found['y']}{int(found['m']):02d}"
    return None


def _payment_form(args) -> tuple[dict, dict]:
    """The payment statement's fields, checked: (values, errors by field)."""
    errors: dict[str, str] = {}
    kind = args.get("tipo", "")
    if kind not in KINDS:
        errors["tipo"] = "Escolha o tipo de demonstrativo."
    period = args.get("periodo", "")
    values: dict = {"kind": kind, "period": period}
    if period == "data":
        values["data_pagamento"] = typed_day(args.get("data", ""))
        if values["data_pagamento"] is None:
            errors["data"] = "Informe a data do pagamento, como 30/11/2026."
    elif period == "competencia":
        values["competencia"] = competencia(args.get("competencia", ""))
        if values["competencia"] is None:
            errors["competencia"] = "Informe o mês e o ano (por exemplo 11/2026)."
    else:
        errors["periodo"] = "Escolha o período: data de pagamento ou competência."
    return values, errors


def register(bp: Blueprint, portal: Portal) -> None:
    def page(status: int = 200, **values):
        typed = (request.args.get("protocolo") or "").strip()
        found = protocol_summary(portal.gw, acting().provider_id, typed) if typed else None
        analysed = list_protocols(
            portal.db,
            acting().provider_id,
            page_number(request.args.get("pagina")),
            analyzed_only=True,
        )
        values.setdefault("form", {})
        values.setdefault("errors", {})
        return render_template(
            "portal/area/statements.html",
            kinds=KINDS,
            analysed=analysed,
            typed=typed,
            report=found,
            report_error=NOT_FOUND if typed and found is None else None,
            **values,
        ), status

    @bp.get("/demonstrativos")
    @area(portal, access.STATEMENTS)
    def statements():
        return page()

    @bp.get("/demonstrativos/pagamento")
    @area(portal, access.STATEMENTS)
    def payment_statement_pdf():
        values, errors = _payment_form(request.args)
        if errors:
            return page(422, form=request.args, errors=errors)
        found = payment_statement(
            portal.gw,
            acting().provider_id,
            values["kind"],
            data_pagamento=values.get("data_pagamento"),
            competencia=values.get("competencia"),
        )
        if found is None:
            notice = (
                "Não há pagamento neste período para este prestador: o demonstrativo fica "
                "disponível depois que a operadora registrar o pagamento."
            )
            return page(404, form=request.args, notice=notice)
        content = statement_pdf.payment(found, portal.gw.local(portal.now()))
        return download(content, f"demonstrativo-pagamento-{found.numero}.pdf", PDF)

    @bp.get("/demonstrativos/analise/<numero>.pdf")
    @area(portal, access.STATEMENTS)
    def analysis_pdf(numero: str):
        found = analysis_statement(portal.gw, acting().provider_id, numero)
        if found is None:
            abort(404)
        if isinstance(found, NotAnalysedYet):
            flash(
                f"O demonstrativo de análise do protocolo {found.numero} ainda não está "
                f"disponível: situação {found.status} - {found.status_label}.",
                "warning",
            )
            return redirect(url_for("portal.prestador.statements"))
        content = statement_pdf.analysis(found, portal.gw.local(portal.now()))
        return download(content, f"demonstrativo-analise-{found.view.numero}.pdf", PDF)

    @bp.get("/relatorios/<numero>/<any(analitico, sintetico):kind>.<any(pdf, xlsx):fmt>")
    @area(portal, access.STATEMENTS)
    def protocol_report(numero: str, kind: str, fmt: str):
        found = protocol_summary(portal.gw, acting().provider_id, numero)
        if found is None:
            abort(404)
        if not found.analyzed:
            # Seed 002: the reports exist only once the operator has processed the protocol.
            flash(
                f"Os relatórios do protocolo {found.numero} ficam disponíveis depois da análise "
                f"da operadora (situação atual: {found.status_label}).",
                "warning",
            )
            return redirect(url_for("portal.prestador.statements", protocolo=found.numero))
        render, mimetype = REPORTS[(kind, fmt)]
        content = render(found, portal.gw.local(portal.now()))
        return download(content, f"protocolo-{found.numero}-{kind}.{fmt}", mimetype)
