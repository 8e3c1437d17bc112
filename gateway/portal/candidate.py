"""The candidate's area: where the request stands, the provider data with addresses and
contacts, and after the pre-approval the remaining steps (complementary data and cities,
technical representative, documents, final submission)."""

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from gateway.portal.context import Portal, login_required, user
from gateway.portal.downloads import download
from gateway.services.credentialing import documents, records, registration, steps
from gateway.services.validation import InvalidInput


def blueprint(portal: Portal) -> Blueprint:
    bp = Blueprint("candidate", __name__, url_prefix="/credenciamento")

    def current_request():
        found = records.load(portal.db, user().account_id)
        if found is None:
            abort(404)
        return found

    def page(template: str, status: int = 200, **values):
        return render_template(template, req=current_request(), steps=steps.STEPS, **values), status

    def attempt(action, success: str, target: str, template: str, **values):
        """Run a use case with the form; on bad input, show the page again with the messages."""
        try:
            action()
        except InvalidInput as exc:
            return page(template, 422, form=request.form, errors=exc.errors, **values)
        flash(success, "success")
        return redirect(url_for(target))

    @bp.get("/")
    @login_required("provider")
    def overview():
        current = user()
        if records.load(portal.db, current.account_id) is None and current.provider_id:
            card = records.provider_card(portal.db, current.provider_id)
            return render_template("portal/provider_home.html", card=card)
        return page("portal/candidate_overview.html")

    @bp.route("/dados", methods=["GET", "POST"])
    @login_required("provider")
    def provider_data():
        if request.method == "POST":
            return attempt(
                lambda: registration.save_provider_data(
                    portal.db, user().account_id, request.form, portal.now()
                ),
                "Dados do prestador salvos.",
                "portal.candidate.provider_data",
                "portal/provider_data.html",
            )
        return page("portal/provider_data.html", form=None, errors={})

    @bp.post("/enderecos")
    @login_required("provider")
    def add_address():
        return attempt(
            lambda: registration.add_address(
                portal.db, user().account_id, request.form, portal.now()
            ),
            "Endereço incluído.",
            "portal.candidate.provider_data",
            "portal/provider_data.html",
            address_form=True,
        )

    @bp.post("/contatos")
    @login_required("provider")
    def add_contact():
        return attempt(
            lambda: registration.add_contact(
                portal.db, user().account_id, request.form, portal.now()
            ),
            "Contato incluído.",
            "portal.candidate.provider_data",
            "portal/provider_data.html",
            contact_form=True,
        )

    @bp.post("/<any(endereco, contato):kind>/<int:item_id>/remover")
    @login_required("provider")
    def remove_item(kind: str, item_id: int):
        what = "address" if kind == "endereco" else "contact"
        try:
            registration.remove_item(portal.db, user().account_id, what, item_id, portal.now())
            flash("Item removido.", "success")
        except InvalidInput as exc:
            flash(" ".join(exc.errors.values()), "error")
        return redirect(url_for("portal.candidate.provider_data"))

    @bp.post("/enviar")
    @login_required("provider")
    def submit():
        try:
            registration.submit(portal.db, user().account_id, portal.now())
        except InvalidInput as exc:
            flash(" ".join(exc.errors.values()), "error")
            return redirect(url_for("portal.candidate.provider_data"))
        flash("Solicitação enviada. Agora ela aguarda a análise da operadora.", "success")
        return redirect(url_for("portal.candidate.overview"))

    @bp.route("/complementar", methods=["GET", "POST"])
    @login_required("provider")
    def complementary():
        if request.method == "POST":
            form = steps.Complementary(
                request.form, request.form.getlist("rede"), request.form.getlist("questionario")
            )
            return attempt(
                lambda: steps.save_complementary(portal.db, user().account_id, form, portal.now()),
                "Identificação complementar salva.",
                "portal.candidate.complementary",
                "portal/complementary.html",
            )
        return page("portal/complementary.html", form=None, errors={})

    @bp.post("/cidades")
    @login_required("provider")
    def add_city():
        return attempt(
            lambda: steps.add_city(portal.db, user().account_id, request.form, portal.now()),
            "Cidade incluída.",
            "portal.candidate.complementary",
            "portal/complementary.html",
            city_form=True,
        )

    @bp.post("/cidades/<int:city_id>/remover")
    @login_required("provider")
    def remove_city(city_id: int):
        try:
            steps.remove_city(portal.db, user().account_id, city_id, portal.now())
            flash("Cidade removida.", "success")
        except InvalidInput as exc:  # the request can no longer be changed (NotAllowed)
            flash(" ".join(exc.errors.values()), "error")
        return redirect(url_for("portal.candidate.complementary"))

    @bp.route("/responsavel-tecnico", methods=["GET", "POST"])
    @login_required("provider")
    def representative():
        if request.method == "POST":
            return attempt(
                lambda: steps.save_representative(
                    portal.db, user().account_id, request.form, portal.now()
                ),
                "Responsável técnico salvo.",
                "portal.candidate.documents_page",
                "portal/representative.html",
            )
        return page("portal/representative.html", form=None, errors={})

    @bp.route("/documentos", methods=["GET", "POST"])
    @login_required("provider")
    def documents_page():
        limit = portal.max_upload_bytes
        if request.method == "POST":
            upload = request.files.get("file")

            def save():
                documents.upload(
                    portal.db,
                    user().account_id,
                    request.form.get("doc_type", ""),
                    upload.filename if upload else "",
                    upload.read(limit + 1) if upload else b"",
                    limit,
                    portal.now(),
                )

            return attempt(
                save,
                "Documento enviado.",
                "portal.candidate.documents_page",
                "portal/documents.html",
                limit=limit,
            )
        return page("portal/documents.html", form=None, errors={}, limit=limit)

    @bp.post("/documentos/<int:document_id>/remover")
    @login_required("provider")
    def remove_document(document_id: int):
        try:
            documents.remove(portal.db, user().account_id, document_id, portal.now())
            flash("Documento removido.", "success")
        except InvalidInput as exc:
            flash(" ".join(exc.errors.values()), "error")
        return redirect(url_for("portal.candidate.documents_page"))

    @bp.get("/documentos/<int:document_id>")
    @login_required("provider")
    def download(document_id: int):
        return send_document(portal, document_id)

    @bp.route("/envio", methods=["GET", "POST"])
    @login_required("provider")
    def final():
        if request.method == "POST":
            try:
                steps.submit_final(portal.db, user().account_id, portal.now())
            except InvalidInput as exc:
                return page("portal/final.html", 422, errors=exc.errors)
            flash("Solicitação enviada para a aprovação final da operadora.", "success")
            return redirect(url_for("portal.candidate.overview"))
        return page("portal/final.html", errors={})

    return bp


def send_document(portal: Portal, document_id: int) -> Response:
    try:
        found = documents.fetch(portal.db, user().account_id, document_id)
    except InvalidInput:
        abort(404)
    return download(found.content, found.file_name, found.content_type)
