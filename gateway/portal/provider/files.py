"""Envio de Arquivo XML (seed 004, 7.1) and Consultar Arquivos (7.2): the upload goes through
the same use case as tissLoteGuias; the listing shows every message the provider sent."""

import io

from flask import Blueprint, abort, render_template, request
from werkzeug.datastructures import FileStorage

from gateway.portal.context import Portal
from gateway.portal.downloads import download
from gateway.portal.provider.area import acting, area
from gateway.services.provider_area import access, files
from gateway.services.provider_area.paging import page_number
from gateway.services.uploads import refuse_oversized_file, upload_lot_file


def register(bp: Blueprint, portal: Portal) -> None:
    def limit() -> int:
        return portal.gw.settings.max_message_bytes

    def page(status: int = 200, **values):
        values = {"result": None, "limit": limit(), **values}
        versions = portal.gw.settings.accepted_versions
        return render_template("portal/area/upload.html", versions=versions, **values), status

    @bp.route("/envio-xml", methods=["GET", "POST"])
    @area(portal, access.UPLOAD)
    def upload():
        if request.method == "GET":
            return page()
        sent = request.files.get("arquivo")
        data = sent.read(limit() + 1) if sent else b""
        if not data:
            chosen = sent is not None and sent.filename
            error = (
                "O arquivo escolhido está vazio." if chosen else "Escolha o arquivo XML a enviar."
            )
        elif len(data) > limit():
            # Refused like the web service's oversized message, and archived as that refusal.
            refuse_oversized_file(
                portal.gw,
                _size(sent),
                acting().principal,
                remote_addr=request.remote_addr,
                request_id=request.headers.get("X-Request-Id"),
                file_name=sent.filename,
            )
            error = "O arquivo é maior que o permitido."
        else:
            error = None
        if error:
            return page(422, error=error)
        result = upload_lot_file(
            portal.gw,
            data,
            acting().principal,
            remote_addr=request.remote_addr,
            request_id=request.headers.get("X-Request-Id"),
            file_name=sent.filename,
        )
        return page(200 if result.accepted else 422, result=result, file_name=sent.filename)

    @bp.get("/arquivos", endpoint="files")
    @area(portal, access.FILES)
    def files_page():
        number = page_number(request.args.get("pagina"))
        page = files.list_files(portal.db, acting().provider_id, number)
        return render_template("portal/area/files.html", page=page)

    @bp.get("/arquivos/<int:message_id>")
    @area(portal, access.FILES)
    def file_detail(message_id: int):
        detail = files.file_detail(portal.gw, acting().provider_id, message_id)
        if detail is None:
            abort(404)
        return render_template("portal/area/file_detail.html", d=detail)

    @bp.get("/arquivos/<int:message_id>/<any(enviado, retorno):which>")
    @area(portal, access.FILES)
    def file_download(message_id: int, which: str):
        found = files.raw_file(portal.db, acting().provider_id, message_id, which)
        if found is None:
            abort(404)
        # The archived bytes as they were, in the charset their XML declaration names.
        return download(found.content, found.file_name, f"application/xml; charset={found.charset}")


def _size(sent: FileStorage) -> int:
    """The whole size of an uploaded file, of which only the first bytes were read (Flask kept
    it in a temporary file, within MAX_CONTENT_LENGTH)."""
    stream = sent.stream
    stream.seek(0, io.SEEK_END)
    return stream.tell()
