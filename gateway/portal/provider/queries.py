"""Status do Protocolo (seed 004, 3.1), Capa de Lote (6.3) and Elegibilidade (5.1)."""

from flask import Blueprint, abort, render_template, request

from gateway.portal.context import Portal
from gateway.portal.downloads import PDF, download
from gateway.portal.provider.area import acting, area
from gateway.reports import eligibility as eligibility_pdf
from gateway.reports import protocols as protocol_pdf
from gateway.services.eligibility import card_status
from gateway.services.provider_area import access, registration
from gateway.services.provider_area.paging import page_number
from gateway.services.provider_area.protocols import (
    NOT_FOUND,
    list_protocols,
    protocol_summary,
)

MAX_CARD = 20  # numeroCarteira is st_texto20


def register(bp: Blueprint, portal: Portal) -> None:
    def lookup():
        """The protocol typed in the form (?protocolo=), or an error for the field."""
        typed = (request.args.get("protocolo") or "").strip()
        if not typed:
            return typed, None, None
        found = protocol_summary(portal.gw, acting().provider_id, typed)
        return typed, found, None if found is not None else NOT_FOUND

    @bp.get("/status")
    @area(portal, access.STATUS)
    def status():
        typed, found, error = lookup()
        return render_template("portal/area/status.html", typed=typed, s=found, error=error), (
            404 if error else 200
        )

    @bp.get("/capa-de-lote")
    @area(portal, access.CAPA)
    def capa():
        typed, found, error = lookup()
        number = page_number(request.args.get("pagina"))
        recent = list_protocols(portal.db, acting().provider_id, number)
        return render_template(
            "portal/area/capa.html", typed=typed, s=found, error=error, page=recent
        ), (404 if error else 200)

    @bp.get("/capa-de-lote/<numero>.pdf")
    @area(portal, access.CAPA)
    def capa_pdf(numero: str):
        found = protocol_summary(portal.gw, acting().provider_id, numero)
        if found is None:
            abort(404)
        content = protocol_pdf.capa_de_lote(found, portal.gw.local(portal.now()))
        return download(content, f"capa-de-lote-{found.numero}.pdf", PDF)

    @bp.route("/elegibilidade", methods=["GET", "POST"])
    @area(portal, access.ELIGIBILITY)
    def eligibility():
        # POST, not a query string: a card number is personal data, kept out of URLs and logs.
        if request.method == "GET":
            return render_template("portal/area/eligibility.html", card="", checked=False)
        card = (request.form.get("carteira") or "").strip()
        if not card or len(card) > MAX_CARD:
            return render_template(
                "portal/area/eligibility.html",
                card=card[:MAX_CARD],
                checked=False,
                error=f"Informe o número da carteirinha (até {MAX_CARD} caracteres).",
            ), 422
        return render_template(
            "portal/area/eligibility.html",
            card=card,
            checked=True,
            result=card_status(portal.gw, card),
            checked_at=portal.now(),
        )

    @bp.post("/elegibilidade/comprovante")
    @area(portal, access.ELIGIBILITY)
    def eligibility_receipt():
        card = (request.form.get("carteira") or "").strip()
        if not card or len(card) > MAX_CARD:
            abort(404)
        chosen = acting()
        content = eligibility_pdf.receipt(
            card_status(portal.gw, card),
            card,
            operator=registration.operator_label(portal.db, portal.gw.registro_ans()),
            provider=f"{chosen.provider_name} ({chosen.provider_code})",
            generated_at=portal.gw.local(portal.now()),
        )
        return download(content, "elegibilidade.pdf", PDF)
