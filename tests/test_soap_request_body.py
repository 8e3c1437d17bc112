"""The body of a SOAP request before spyne reads it (gateway/soap/request_body.py): a chunked body
is read whole or refused for its size, never cut; a compressed one is decoded within the message
limit or refused naming its coding; and what the endpoints' URLs answer to other methods."""

import gzip
import io
import time
import zlib

import pytest
from lxml import etree
from spyne.error import RequestTooLongError
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from gateway.soap import request_body
from gateway.tiss.namespaces import SOAP11_ENV
from gateway.tiss.samples import lote_guias_ws
from storage import models
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.tissclient import envelope, read_answer, sample_lot

LOTE = "/tiss/v40300/tissLoteGuias"
BACKOFFICE = "/backoffice/v1"
LIMIT = 64 * 1024
HEADERS = {"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": '""'}


@pytest.fixture
def settings_overrides():
    return {"max_message_bytes": LIMIT}


def lot(numero: str) -> bytes:
    return envelope(lote_guias_ws(sample_lot(PROVIDER_A, numero, 2, registro_ans=REGISTRO_ANS)))


def environ_of(body: bytes, coding: str | None = None, length: bool = False) -> dict:
    """A request's environ as a server hands it over: chunked (no Content-Length) unless
    `length`."""
    headers = {"Content-Encoding": coding} if coding else {}
    environ = EnvironBuilder(method="POST", data=body, headers=headers).get_environ()
    if not length:
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input_terminated"] = True
    return environ


def read_as_spyne(environ: dict) -> bytes:
    """What spyne reads: CONTENT_LENGTH bytes, or up to its limit without one."""
    return environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH", LIMIT)))


# --- request_body.prepare, on its own ---


def test_a_chunked_body_within_the_limit_is_handed_over_whole_with_its_length():
    body = b"<x>" + b"a" * (LIMIT - 10) + b"</x>"
    environ = environ_of(body)
    assert request_body.prepare(environ, LIMIT) is None
    assert environ["CONTENT_LENGTH"] == str(len(body))
    assert read_as_spyne(environ) == body


def test_a_chunked_body_past_the_limit_fails_spynes_first_read_and_is_read_no_further():
    stream = io.BytesIO(b"a" * (10 * LIMIT))
    environ = environ_of(b"")
    environ["wsgi.input"] = stream
    assert request_body.prepare(environ, LIMIT) is None
    assert "CONTENT_LENGTH" not in environ  # no length invented: the client sent none
    with pytest.raises(RequestTooLongError):
        read_as_spyne(environ)
    assert stream.tell() == LIMIT + 1


def test_a_body_with_its_length_and_no_coding_is_left_to_spyne():
    environ = environ_of(b"<x/>", length=True)
    stream = environ["wsgi.input"]
    assert request_body.prepare(environ, LIMIT) is None
    assert environ["wsgi.input"] is stream and environ["CONTENT_LENGTH"] == "4"


@pytest.mark.parametrize(
    "coding,compress",
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("GZIP", gzip.compress),
        ("deflate", zlib.compress),
        # the bare deflate stream some clients send as "deflate"
        ("deflate", lambda d: zlib.compress(d, wbits=-zlib.MAX_WBITS)),
        ("gzip, identity", gzip.compress),
        # gzip members one after the other, the last padded with zeros
        ("gzip", lambda d: gzip.compress(d[:10]) + gzip.compress(d[10:]) + b"\0\0"),
        # two codings, applied in the order they are listed
        ("deflate, gzip", lambda d: gzip.compress(zlib.compress(d))),
    ],
)
@pytest.mark.parametrize("length", [True, False], ids=["content-length", "chunked"])
def test_a_compressed_body_is_handed_over_decoded(coding, compress, length):
    plain = b"<x>" + "ação".encode() * 1000 + b"</x>"
    environ = environ_of(compress(plain), coding, length)
    assert request_body.prepare(environ, LIMIT) is None
    assert "HTTP_CONTENT_ENCODING" not in environ
    assert environ["CONTENT_LENGTH"] == str(len(plain))
    assert read_as_spyne(environ) == plain


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_a_bomb_is_refused_for_its_size_after_decoding_no_more_than_the_limit(coding):
    compress = gzip.compress if coding == "gzip" else zlib.compress
    bomb = compress(b" " * (16 * 1024 * 1024))
    assert len(bomb) < LIMIT
    environ = environ_of(bomb, coding, length=True)
    started = time.process_time()
    assert request_body.prepare(environ, LIMIT) is None
    assert time.process_time() - started < 0.5
    assert environ["CONTENT_LENGTH"] == str(len(bomb))  # the size announced, kept
    with pytest.raises(RequestTooLongError):
        read_as_spyne(environ)


def test_a_compressed_body_above_the_limit_as_sent_is_left_to_spyne_unread():
    environ = environ_of(b"a" * (LIMIT + 1), "gzip", length=True)
    stream = environ["wsgi.input"]
    assert request_body.prepare(environ, LIMIT) is None
    assert environ["wsgi.input"] is stream and stream.tell() == 0


@pytest.mark.parametrize(
    "coding,body,says",
    [
        ("br", b"\x1b\x03\x00\xf8", "'br' (Content-Encoding), que o gateway não lê"),
        ("compress", b"\x1f\x9d\x90", "'compress'"),
        ("gzip", gzip.compress(b"<x/>" * 100)[:-12], "gzip (Content-Encoding) que não pôde"),
        ("gzip", b"<x/>", "gzip (Content-Encoding) que não pôde"),
        ("deflate", zlib.compress(b"<x/>") + b"junk", "deflate (Content-Encoding) que não pôde"),
        ("gzip", b"", "gzip (Content-Encoding) que não pôde"),
    ],
    ids=["brotli", "compress", "truncated gzip", "not gzip", "junk after deflate", "empty"],
)
def test_a_body_whose_coding_cannot_be_undone_is_given_back_as_it_arrived(coding, body, says):
    problem = request_body.prepare(environ_of(body, coding, length=True), LIMIT)
    assert problem is not None
    assert problem.raw == body and says in problem.reason


# --- through the endpoints ---


def messages(gw) -> list[models.Message]:
    with gw.db.reading() as s:
        return list(s.scalars(select(models.Message).order_by(models.Message.id)))


def lot_count(gw) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(models.Lot))


def post(client, body: bytes, headers: dict, path: str = LOTE, chunked: bool = False):
    environ = EnvironBuilder(path=path, method="POST", data=body, headers=headers).get_environ()
    if chunked:
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input_terminated"] = True
    answer, status, response_headers = run_wsgi_app(client.application, environ, buffered=True)
    return int(status.split(" ", 1)[0]), response_headers["Content-Type"], b"".join(answer)


def tiss_post(client, body: bytes, headers: dict, chunked: bool = False):
    return read_answer(*post(client, body, headers, chunked=chunked), "4.03.00")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_gzipped_lot_is_processed_and_archived_decoded(client, gw, chunked):
    plain = lot("GZ10")
    headers = {**HEADERS, "Content-Encoding": "gzip"}
    answer = tiss_post(client, gzip.compress(plain), headers, chunked=chunked)
    assert not answer.is_fault and answer.protocol, answer.raw[:400]
    (message,) = messages(gw)
    assert message.outcome == "accepted" and message.raw_request == plain


@pytest.mark.parametrize(
    "coding,compress,says",
    [
        ("br", lambda d: d, "'br' (Content-Encoding)"),
        ("gzip", lambda d: gzip.compress(d)[:-40], "gzip (Content-Encoding)"),
    ],
    ids=["unknown coding", "truncated gzip"],
)
def test_a_lot_whose_coding_cannot_be_undone_is_refused_naming_it_and_archived_as_received(
    client, gw, coding, compress, says
):
    sent = compress(lot("GZ11"))
    answer = tiss_post(client, sent, {**HEADERS, "Content-Encoding": coding})
    assert answer.is_fault and answer.code == "5002" and answer.tiss_fault == "SchemaInvalido"
    assert answer.faultcode.endswith("Client") and says in answer.faultstring
    assert lot_count(gw) == 0
    (message,) = messages(gw)
    assert message.outcome == "rejected" and message.raw_request == sent
    assert says in message.detail


def backoffice_fault(response: tuple[int, str, bytes]) -> str:
    status, _, data = response
    assert status == 500
    fault = etree.fromstring(data).find(f"{{{SOAP11_ENV}}}Body/{{{SOAP11_ENV}}}Fault")
    return fault.findtext("faultstring")


def test_the_back_office_refuses_a_chunked_body_past_the_limit_for_its_size(client, gw):
    body = b"<x>" + b"a" * (2 * LIMIT)
    response = post(client, body, {"Content-Type": "text/xml"}, BACKOFFICE, chunked=True)
    assert "acima do limite" in backoffice_fault(response)


def test_the_back_office_names_a_coding_it_cannot_undo(client, gw):
    response = post(client, b"x", {"Content-Encoding": "br"}, BACKOFFICE)
    assert "'br' (Content-Encoding)" in backoffice_fault(response)


# --- what the endpoints' URLs take ---


@pytest.mark.parametrize("path", [LOTE, BACKOFFICE])
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_an_endpoint_says_the_same_true_methods_to_every_method_it_refuses(client, path, method):
    response = client.open(path, method=method)
    assert response.headers["Allow"] == "POST"
    if method != "OPTIONS":
        assert response.status_code == 405


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_with_wsdl_the_endpoint_also_takes_get_and_head(client, method):
    response = client.open(LOTE + "?wsdl", method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"
    assert response.get_data(as_text=True).rstrip().endswith("use GET, HEAD, POST")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_service_name_ending_in_wsdl_is_pointed_to_its_wsdl(client, method):
    response = client.open("/tiss/v40300/tissLoteGuias.wsdl", method=method)
    assert response.status_code == 404
    assert "/tiss/v40300/tissLoteGuias?wsdl" in response.get_data(as_text=True)
