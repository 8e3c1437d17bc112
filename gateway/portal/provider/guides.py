"""Digitação de Guias (seed 004, 6.1 and 6.2): protocols being typed, the Guia de Consulta form
with the numbered fields of the paper guide, "Finalizar digitação" and the sending of the lot."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from gateway.portal.context import Portal
from gateway.portal.provider.area import acting, area
from gateway.services import typed_guides as typing
from gateway.services.provider_area import access
from gateway.services.provider_area.paging import page_number
from gateway.services.validation import InvalidInput
from gateway.tiss import domains
from gateway.tiss.typed_guides import CONSULTA_FIELDS, CONSULTA_TABELAS


def _message(exc: InvalidInput) -> str:
    return " ".join(exc.errors.values())


def register(bp: Blueprint, portal: Portal) -> None:
    def choices() -> dict:
        """The lists of the Guia de Consulta form: the codes this version's schema accepts,
        with the labels of the TISS tables."""
        schema = portal.gw.schemas.get(portal.gw.newest_version)
        cbo = domains.cbo_labels()
        return {
            "conselhos": _accepted(domains.CONSELHOS, schema.domain("dm_conselhoProfissional")),
            "ufs": _accepted(domains.UFS, schema.domain("dm_UF")),
            "cbos": dict(
                sorted(
                    ((c, f"{cbo.get(c, 'CBO')} ({c})") for c in schema.domain("dm_CBOS")),
                    key=lambda pair: pair[1],
                )
            ),
            "acidentes": _accepted(
                domains.INDICACAO_ACIDENTE, schema.domain("dm_indicadorAcidente")
            ),
            "tipos_consulta": _accepted(domains.TIPO_CONSULTA, schema.domain("dm_tipoConsulta")),
            "regimes": _accepted(domains.REGIME_ATENDIMENTO, schema.domain("dm_regimeAtendimento")),
            "tabelas": {k: domains.TABELAS[k] for k in CONSULTA_TABELAS},
            "consultas": domains.TUSS_CONSULTAS,
        }

    def load(typed_id: int):
        try:
            return typing.protocol(portal.db, acting().provider_id, typed_id)
        except typing.TypedNotFound:
            abort(404)

    def guide_page(typed, form: dict, errors: dict, guide_id: int | None, status: int = 200):
        return render_template(
            "portal/area/typed_guide.html",
            t=typed,
            form=form,
            errors=errors,
            guide_id=guide_id,
            fields={name: (number, label) for name, number, label in CONSULTA_FIELDS},
            lists=choices(),
            registro_ans=portal.gw.registro_ans(),
        ), status

    @bp.get("/digitacao", endpoint="typing")
    @area(portal, access.TYPING)
    def typing_page():
        page = typing.list_protocols(
            portal.db, acting().provider_id, page_number(request.args.get("pagina"))
        )
        return render_template(
            "portal/area/typing.html",
            page=page,
            supported=typing.SUPPORTED,
            registro_ans=portal.gw.registro_ans(),
        )

    @bp.post("/digitacao/novo")
    @area(portal, access.TYPING)
    def new_typed():
        try:
            typed_id, existed = typing.open_protocol(
                portal.db, acting().principal, request.form.get("guide_type", ""), portal.now()
            )
        except InvalidInput as exc:
            flash(_message(exc), "error")
            return redirect(url_for("portal.prestador.typing"))
        if existed:
            flash(
                "Já existe um protocolo aberto deste tipo de guia: continue a digitação nele.",
                "info",
            )
        else:
            flash("Protocolo salvo. Agora insira as guias.", "success")
        return redirect(url_for("portal.prestador.typed_protocol", typed_id=typed_id))

    @bp.get("/digitacao/<int:typed_id>")
    @area(portal, access.TYPING)
    def typed_protocol(typed_id: int):
        return render_template(
            "portal/area/typed_protocol.html",
            t=load(typed_id),
            registro_ans=portal.gw.registro_ans(),
        )

    @bp.route("/digitacao/<int:typed_id>/guias/nova", methods=["GET", "POST"])
    @area(portal, access.TYPING)
    def new_guide(typed_id: int):
        typed = load(typed_id)
        if request.method == "GET":
            defaults = typing.new_guide_defaults(portal.db, acting().provider_id)
            return guide_page(typed, defaults, {}, None)
        return save(typed, None)

    @bp.route("/digitacao/<int:typed_id>/guias/<int:guide_id>", methods=["GET", "POST"])
    @area(portal, access.TYPING)
    def typed_guide(typed_id: int, guide_id: int):
        typed = load(typed_id)
        if request.method == "GET":
            try:
                form = typing.guide_form(portal.db, acting().provider_id, typed_id, guide_id)
            except typing.TypedNotFound:
                abort(404)
            return guide_page(typed, form, {}, guide_id)
        return save(typed, guide_id)

    def save(typed, guide_id: int | None):
        try:
            saved = typing.save_guide(
                portal.gw, acting().principal, typed.id, request.form, portal.now(), guide_id
            )
        except typing.TypedNotFound:
            abort(404)
        except InvalidInput as exc:
            return guide_page(typed, request.form, exc.errors, guide_id, 422)
        if saved.nome_beneficiario:
            flash(f"Guia salva. Beneficiário: {saved.nome_beneficiario}.", "success")
        else:
            flash(
                "Guia salva. Atenção: a carteira não consta do cadastro de beneficiários da "
                "operadora; confira o número.",
                "warning",
            )
        if request.form.get("action") == "save_new":
            return redirect(url_for("portal.prestador.new_guide", typed_id=typed.id))
        return redirect(url_for("portal.prestador.typed_protocol", typed_id=typed.id))

    @bp.post("/digitacao/<int:typed_id>/guias/<int:guide_id>/remover")
    @area(portal, access.TYPING)
    def remove_guide(typed_id: int, guide_id: int):
        return act(
            typed_id,
            lambda: typing.remove_guide(
                portal.db, acting().provider_id, typed_id, guide_id, portal.now()
            ),
            "Guia removida.",
        )

    @bp.post("/digitacao/<int:typed_id>/finalizar")
    @area(portal, access.TYPING)
    def finish(typed_id: int):
        return act(
            typed_id,
            lambda: typing.finish(portal.db, acting().provider_id, typed_id, portal.now()),
            "Digitação finalizada. Confira as guias e envie o protocolo à operadora.",
        )

    @bp.post("/digitacao/<int:typed_id>/reabrir")
    @area(portal, access.TYPING)
    def reopen(typed_id: int):
        return act(
            typed_id,
            lambda: typing.reopen(portal.db, acting().provider_id, typed_id, portal.now()),
            "Protocolo reaberto para digitação.",
        )

    def act(typed_id: int, action, success: str):
        try:
            action()
            flash(success, "success")
        except typing.TypedNotFound:
            abort(404)
        except InvalidInput as exc:
            flash(_message(exc), "error")
        return redirect(url_for("portal.prestador.typed_protocol", typed_id=typed_id))

    @bp.post("/digitacao/<int:typed_id>/enviar")
    @area(portal, access.TYPING)
    def send_typed(typed_id: int):
        typed = load(typed_id)
        try:
            result = typing.send(
                portal.gw,
                acting().principal,
                typed_id,
                remote_addr=request.remote_addr,
                request_id=request.headers.get("X-Request-Id"),
            )
        except InvalidInput as exc:
            flash(_message(exc), "error")
            return redirect(url_for("portal.prestador.typed_protocol", typed_id=typed_id))
        return render_template("portal/area/typed_sent.html", t=load(typed.id), result=result), (
            200 if result.accepted else 422
        )


def _accepted(labels: dict[str, str], accepted: frozenset[str]) -> dict[str, str]:
    """The labelled codes the schema accepts, in the labels' order, plus any code the schema
    added that has no label yet."""
    found = {code: f"{code} – {text}" for code, text in labels.items() if code in accepted}
    found.update({code: code for code in sorted(accepted) if code not in labels})
    return found
