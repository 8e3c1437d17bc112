"""What someone who mistypes a URL or a method, or meets a failure, reads: the portal's own page
(in Portuguese, with the portal's headers and the signed-in user) under /portal, plain Portuguese
text elsewhere; never Werkzeug's English page."""

import logging

import pytest
from sqlalchemy.exc import OperationalError

from gateway.soap.services import SERVICES
from tests import portal_support as ps


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


def _english(body: str) -> bool:
    return "Not Found" in body or "Method Not Allowed" in body or "Internal Server Error" in body


@pytest.mark.parametrize(
    ("method", "path", "status", "says"),
    [
        ("GET", "/nao-existe", 404, "404 não encontrado: /nao-existe"),
        ("GET", "/tiss/v99999/tissLoteGuias?wsdl", 404, "404 não encontrado"),
        ("DELETE", "/", 405, "405 método DELETE não permitido em /; use "),
        ("PUT", "/tiss/v40300/tissLoteGuias", 405, "405 método PUT não permitido"),
    ],
)
def test_outside_the_portal_errors_are_plain_portuguese_text(client, method, path, status, says):
    answer = client.open(path, method=method)
    body = answer.get_data(as_text=True)
    assert (answer.status_code, answer.mimetype) == (status, "text/plain")
    assert body.startswith(says) and not _english(body)
    if status == 405:  # the methods the URL does take, the same in the header and the text
        allowed = answer.headers["Allow"]
        assert allowed and method not in allowed.split(", ")
        assert body.rstrip().endswith(f"use {allowed}")


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_an_unknown_tiss_service_is_named_with_the_ones_there_are(client, method):
    """A provider's system posting to a misspelled service learns so, not "method not allowed"."""
    answer = client.open("/tiss/v40300/tissLoteGuia?wsdl", method=method, data=b"<x/>")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 404
    assert body.startswith("404 serviço TISS desconhecido: tissLoteGuia; serviços: ")
    assert all(name in body for name in SERVICES)


@pytest.mark.parametrize(
    ("method", "path", "status", "title"),
    [
        ("GET", "/portal/nao-existe", 404, "Não encontrado"),
        ("GET", "/portal/prestador/nada/aqui", 404, "Não encontrado"),
        ("DELETE", "/portal/", 405, "Ação não permitida"),
    ],
)
def test_in_the_portal_errors_are_its_page_with_its_headers(client, method, path, status, title):
    answer = client.open(path, method=method)
    body = answer.get_data(as_text=True)
    assert (answer.status_code, answer.mimetype) == (status, "text/html")
    assert f"<h1>{title}</h1>" in body and 'lang="pt-BR"' in body and not _english(body)
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_signed_in_user_still_shows_as_signed_in_on_a_mistyped_url(client, gw):
    ps.make_staff(gw)
    assert ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD).status_code == 302
    answer = client.get("/portal/conta/nao-existe")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 404 and "<h1>Não encontrado</h1>" in body
    assert "Analista de Credenciamento" in body  # the header's user box


def test_a_failure_in_the_portal_is_its_page_and_is_logged(client, gw, monkeypatch, caplog):
    ps.make_staff(gw)
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)

    def database_down(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr("gateway.portal.resume", database_down)
    with caplog.at_level(logging.ERROR):
        answer = client.get("/portal/conta/")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 500 and "<h1>Erro inesperado</h1>" in body
    assert "Tente novamente em alguns minutos" in body and not _english(body)
    assert any("connection refused" in (r.exc_text or "") for r in caplog.records)


def test_a_failure_outside_the_portal_is_plain_text(client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr("gateway.resources.render_tiss_wsdl", broken)
    answer = client.get("/tiss/v40300/tissLoteGuias?wsdl")
    assert (answer.status_code, answer.mimetype) == (500, "text/plain")
    assert answer.get_data(as_text=True) == (
        "500 erro inesperado no servidor; tente novamente mais tarde\n"
    )
