"""Listing what the gateway received, over the back-office API: messages and lots since a time,
with their filters and pages, and one message's raw request and answer, byte for byte."""

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from werkzeug.test import Client

from gateway.app import build_app
from gateway.services.client_certificates import add_certificate
from gateway.services.gateway import Gateway
from gateway.tiss.samples import lote_guias_ws
from storage import models
from tests.backoffice_client import fault_of, force_status, make_client, send_lot
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.pki import make_ca, make_holder
from tests.tissclient import envelope, post, read_answer, sample_lot

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def bo(server_url, staff):
    return make_client(server_url)[0].service


@pytest.fixture
def traffic(gw, client):
    """Five messages: A accepted, A's resend (duplicate), B accepted, A with a wrong password
    (rejected, no provider), A accepted again."""
    a1 = send_lot(client, PROVIDER_A, "LIST1")
    send_lot(client, PROVIDER_A, "LIST1", sequencial="2")
    b1 = send_lot(client, PROVIDER_B, "LIST2", count=3)
    wrong = sample_lot(PROVIDER_A, "LIST3", 1, registro_ans=REGISTRO_ANS, senha_md5="0" * 32)
    assert post(client, lote_guias_ws(wrong)).tiss_fault == "LoginInvalido"
    a2 = send_lot(client, PROVIDER_A, "LIST4", count=1, guide_type="guiaConsulta")
    with gw.db.reading() as s:
        ids = list(s.scalars(select(models.Message.id).order_by(models.Message.id)))
    return {"a1": a1, "b1": b1, "a2": a2, "ids": ids}


def ids_of(page):
    return [m.id for m in page.mensagem]


def test_messages_since_with_every_field(gw, bo, traffic):
    page = bo.listarMensagens(desde=EPOCH)

    assert ids_of(page) == traffic["ids"] and page.proximoCursor is None
    first, resend, other, rejected, last = page.mensagem
    assert (first.servico, first.canal, first.versao, first.resultado) == (
        "tissLoteGuias",
        "soap",
        "4.03.00",
        "accepted",
    )
    assert (first.codigoPrestador, first.numeroProtocolo) == (PROVIDER_A.code, traffic["a1"])
    assert first.codigoGlosa == [] and first.requestId
    assert first.recebidaEm.tzinfo is not None
    assert (resend.resultado, resend.numeroProtocolo) == ("duplicate", traffic["a1"])
    assert other.codigoPrestador == PROVIDER_B.code
    assert (rejected.resultado, rejected.codigoGlosa, rejected.codigoPrestador) == (
        "rejected",
        ["5005"],
        None,
    )
    assert rejected.numeroProtocolo is None
    assert last.numeroProtocolo == traffic["a2"]


def test_message_filters(gw, bo, traffic):
    ids = traffic["ids"]
    assert ids_of(bo.listarMensagens(desde=EPOCH, codigoPrestador=PROVIDER_A.code)) == [
        ids[0],
        ids[1],
        ids[4],
    ]
    assert ids_of(bo.listarMensagens(desde=EPOCH, resultado="rejected")) == [ids[3]]
    assert ids_of(
        bo.listarMensagens(desde=EPOCH, resultado="duplicate", codigoPrestador=PROVIDER_A.code)
    ) == [ids[1]]
    assert ids_of(bo.listarMensagens(desde=EPOCH, servico="tissLoteGuias")) == ids
    assert ids_of(bo.listarMensagens(desde=EPOCH, servico="tissVerificaElegibilidade")) == []
    future = datetime.now(UTC) + timedelta(hours=1)
    assert ids_of(bo.listarMensagens(desde=future)) == []
    with gw.db.reading() as s:
        third = s.get(models.Message, ids[2]).received_at
    third = third if third.tzinfo else third.replace(tzinfo=UTC)
    # desde is inclusive, ate exclusive; an instant without time zone is UTC.
    assert ids_of(bo.listarMensagens(desde=EPOCH, ate=third)) == ids[:2]
    naive = third.astimezone(UTC).replace(tzinfo=None)
    assert ids_of(bo.listarMensagens(desde=naive, ate=naive + timedelta(microseconds=1))) == [
        ids[2]
    ]
    brt = third.astimezone(timezone_brt())
    assert ids_of(bo.listarMensagens(desde=brt)) == ids[2:]


def timezone_brt():
    from datetime import timezone

    return timezone(timedelta(hours=-3))


def test_message_pages_follow_the_cursor(gw, bo, traffic):
    seen, cursor, pages = [], None, 0
    while True:
        page = bo.listarMensagens(desde=EPOCH, limite=2, cursor=cursor)
        pages += 1
        assert len(page.mensagem) <= 2
        seen += ids_of(page)
        cursor = page.proximoCursor
        if cursor is None:
            break
    assert seen == traffic["ids"] and pages == 3
    # A page that ends exactly at the last row says there is no more.
    page = bo.listarMensagens(desde=EPOCH, limite=5)
    assert len(page.mensagem) == 5 and page.proximoCursor is None


@pytest.mark.parametrize(
    "kwargs, category, expected",
    [
        ({"cursor": "abc"}, "RequisicaoInvalida", "cursor inválido"),
        ({"limite": 501}, "RequisicaoInvalida", "limite"),
        ({"limite": 0}, "RequisicaoInvalida", "limite"),
        ({"codigoPrestador": "NINGUEM"}, "NaoEncontrado", "prestador NINGUEM não encontrado"),
        ({"resultado": "talvez"}, "RequisicaoInvalida", "resultado"),
        ({"ate": EPOCH - timedelta(days=1)}, "RequisicaoInvalida", "anterior ao início"),
    ],
)
def test_bad_listing_requests(gw, bo, traffic, kwargs, category, expected):
    got, message = fault_of(bo.listarMensagens, desde=EPOCH, **kwargs)
    assert got == category and expected in message, message


def test_fetch_returns_the_archived_bytes_exactly(gw, bo, client):
    lot = sample_lot(PROVIDER_A, "RAW1", 2, registro_ans=REGISTRO_ANS)  # accents, ISO-8859-1
    sent = envelope(lote_guias_ws(lot), "ISO-8859-1")
    assert "JOSÉ".encode("iso-8859-1") in sent
    answer = post(client, None, raw=sent)
    with gw.db.reading() as s:
        message = s.scalar(select(models.Message).order_by(models.Message.id.desc()).limit(1))

    fetched = bo.obterMensagem(id=message.id)

    assert fetched.requisicao == sent == message.raw_request
    assert fetched.sha256Requisicao == hashlib.sha256(sent).hexdigest()
    assert fetched.charsetRequisicao == "ISO-8859-1"
    assert fetched.resposta == message.raw_response
    assert f"<ans:numeroProtocolo>{answer.protocol}</ans:numeroProtocolo>".encode() in (
        fetched.resposta
    )
    assert fetched.mensagem.numeroProtocolo == answer.protocol
    assert fetched.login == PROVIDER_A.cnpj
    assert fetched.versaoEndpoint == "4.03.00"


def test_fetch_of_a_rejected_message_shows_why(gw, bo, client):
    garbage = b"\x00\xffnot xml \xe9\xe8"
    post_raw = client.post(
        "/tiss/v40300/tissLoteGuias", data=garbage, headers={"Content-Type": "text/xml"}
    )
    assert post_raw.status_code == 500
    with gw.db.reading() as s:
        message_id = s.scalar(select(models.Message.id).order_by(models.Message.id.desc()))
        stored = s.get(models.Message, message_id)
    fetched = bo.obterMensagem(id=message_id)
    assert fetched.requisicao == garbage
    assert fetched.mensagem.resultado == "rejected" and fetched.mensagem.codigoGlosa == ["5002"]
    assert fetched.falha == "SchemaInvalido" and "XML malformado" in fetched.detalhe
    assert fetched.resposta == stored.raw_response


def test_fetch_shows_how_the_sender_authenticated(gw, bo):
    """metodoAutenticacao and the SHA-256 of the verified client certificate that came along
    (messages.auth_method, messages.client_cert_sha256)."""
    now = datetime.now(UTC)
    ca = make_ca("AC Clientes Teste", now=now)
    registered = make_holder("HOSPITAL A:11222333000181", ca, now=now, cnpj=PROVIDER_A.cnpj)
    unregistered = make_holder("OUTRO CERTIFICADO", ca, now=now)
    sha_registered = add_certificate(gw.db, PROVIDER_A.code, registered.cert_pem).sha256
    behind_nginx = Client(
        build_app(Gateway(replace(gw.settings, client_cert_headers=True), gw.db, gw.schemas))
    )

    def send(numero, cert, **login) -> int:
        lot = sample_lot(PROVIDER_A, numero, 1, registro_ans=REGISTRO_ANS, **login)
        headers = {"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": '""'}
        if cert is not None:  # what deploy/'s nginx sets for a verified client certificate
            headers["X-SSL-Client-Verify"] = "SUCCESS"
            headers["X-SSL-Client-Cert"] = quote(cert.cert_pem.decode())
        response = behind_nginx.post(
            "/tiss/v40300/tissLoteGuias", data=envelope(lote_guias_ws(lot)), headers=headers
        )
        read_answer(
            response.status_code, response.headers["Content-Type"], response.data, "4.03.00"
        )
        with gw.db.reading() as s:
            return s.scalar(select(models.Message.id).order_by(models.Message.id.desc()))

    by_certificate = bo.obterMensagem(id=send("AUTH1", registered, login=None))
    assert by_certificate.mensagem.resultado == "accepted" and by_certificate.login is None
    assert by_certificate.metodoAutenticacao == "certificate"
    assert by_certificate.sha256CertificadoCliente == sha_registered

    by_password = bo.obterMensagem(id=send("AUTH2", None))
    assert by_password.mensagem.resultado == "accepted"
    assert by_password.login == PROVIDER_A.cnpj
    assert by_password.metodoAutenticacao == "password"
    assert by_password.sha256CertificadoCliente is None

    # A certificate without an agreement is no credential, but it came with the message.
    alongside = bo.obterMensagem(id=send("AUTH3", unregistered))
    assert alongside.metodoAutenticacao == "password"
    assert (
        alongside.sha256CertificadoCliente
        == hashlib.sha256(unregistered.cert.public_bytes(Encoding.DER)).hexdigest()
    )

    # Refused at the login: it never authenticated.
    refused = bo.obterMensagem(id=send("AUTH4", None, senha_md5="0" * 32))
    assert refused.mensagem.codigoGlosa == ["5005"]
    assert refused.metodoAutenticacao is None and refused.sha256CertificadoCliente is None


def test_fetch_of_an_unknown_message(gw, bo):
    assert fault_of(bo.obterMensagem, id=987654) == (
        "NaoEncontrado",
        "mensagem 987654 não encontrada",
    )


def test_lots_with_filters(gw, bo, traffic):
    lots = bo.listarLotes(desde=EPOCH)
    assert [(lot.numeroLote, lot.codigoPrestador, lot.numeroProtocolo) for lot in lots.lote] == [
        ("LIST1", PROVIDER_A.code, traffic["a1"]),  # the resend added no lot
        ("LIST2", PROVIDER_B.code, traffic["b1"]),
        ("LIST4", PROVIDER_A.code, traffic["a2"]),
    ]
    b = lots.lote[1]
    assert (b.statusProtocolo, b.tipoGuia, b.quantidadeGuias, b.valorTotalInformado, b.versao) == (
        1,
        "guiaSP-SADT",
        3,
        Decimal("450.00"),
        "4.03.00",
    )
    assert b.recebidoEm.tzinfo is not None and lots.proximoCursor is None

    force_status(gw, traffic["a2"], 2)
    force_status(gw, traffic["b1"], 9)
    assert [x.numeroProtocolo for x in bo.listarLotes(desde=EPOCH, statusProtocolo=[2]).lote] == [
        traffic["a2"]
    ]
    both = bo.listarLotes(desde=EPOCH, statusProtocolo=[2, 9])
    assert [x.numeroProtocolo for x in both.lote] == [traffic["b1"], traffic["a2"]]
    only_a = bo.listarLotes(desde=EPOCH, codigoPrestador=PROVIDER_A.code, statusProtocolo=[1])
    assert [x.numeroProtocolo for x in only_a.lote] == [traffic["a1"]]

    first = bo.listarLotes(desde=EPOCH, limite=2)
    rest = bo.listarLotes(desde=EPOCH, limite=2, cursor=first.proximoCursor)
    assert [x.numeroLote for x in first.lote + rest.lote] == ["LIST1", "LIST2", "LIST4"]
    assert rest.proximoCursor is None
    assert bo.listarLotes(desde=datetime.now(UTC) + timedelta(minutes=5)).lote == []
