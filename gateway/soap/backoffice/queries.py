"""Operations that read: listarMensagens, obterMensagem, listarLotes, obterProtocolo."""

import base64

from lxml import etree

from gateway.services.backoffice import listings
from gateway.services.backoffice.protocols import get_protocol
from gateway.services.backoffice.staff import StaffPrincipal
from gateway.services.gateway import Gateway
from gateway.soap.backoffice import render
from gateway.soap.backoffice.xml import Reader, element, money, node, sub


def _window(r: Reader) -> listings.Window:
    limit = r.integer("limite")
    return listings.Window(
        since=r.instant("desde"),
        until=r.instant("ate"),
        provider_code=r.text("codigoPrestador"),
        limit=listings.DEFAULT_LIMIT if limit is None else limit,
        cursor=r.text("cursor"),
    )


def listar_mensagens(gw: Gateway, _staff: StaffPrincipal, r: Reader) -> etree._Element:
    page = listings.list_messages(
        gw.db, _window(r), outcome=r.text("resultado"), service=r.text("servico")
    )
    answer = element("listarMensagensResposta")
    for summary in page.items:
        render.message_summary(answer, "mensagem", summary)
    sub(answer, "proximoCursor", page.next_cursor)
    return answer


def obter_mensagem(gw: Gateway, _staff: StaffPrincipal, r: Reader) -> etree._Element:
    record = listings.get_message(gw.db, r.integer("id"))
    answer = element("obterMensagemResposta")
    render.message_summary(answer, "mensagem", record.summary)
    sub(answer, "versaoEndpoint", record.endpoint_version)
    sub(answer, "login", record.login)
    sub(answer, "enderecoRemoto", record.remote_addr)
    sub(answer, "falha", record.fault)
    sub(answer, "detalhe", record.detail)
    sub(answer, "sha256Requisicao", record.request_sha256)
    sub(answer, "charsetRequisicao", record.request_charset)
    # base64Binary: the archived bytes travel exactly, whatever their charset.
    sub(answer, "requisicao", _base64(record.raw_request))
    sub(answer, "charsetResposta", record.response_charset)
    if record.raw_response is not None:
        sub(answer, "resposta", _base64(record.raw_response))
    sub(answer, "metodoAutenticacao", record.auth_method)
    sub(answer, "sha256CertificadoCliente", record.client_cert_sha256)
    return answer


def listar_lotes(gw: Gateway, _staff: StaffPrincipal, r: Reader) -> etree._Element:
    statuses = [int(s) for s in r.texts("statusProtocolo")]
    page = listings.list_lots(gw.db, _window(r), statuses=statuses)
    answer = element("listarLotesResposta")
    for lot in page.items:
        el = node(answer, "lote")
        sub(el, "numeroProtocolo", lot.protocol)
        sub(el, "statusProtocolo", lot.status)
        sub(el, "numeroLote", lot.numero_lote)
        sub(el, "codigoPrestador", lot.provider_code)
        sub(el, "tipoGuia", lot.guide_type)
        sub(el, "quantidadeGuias", lot.guide_count)
        sub(el, "valorTotalInformado", money(lot.total_informado))
        sub(el, "recebidoEm", lot.received_at)
        sub(el, "versao", lot.version)
    sub(answer, "proximoCursor", page.next_cursor)
    return answer


def obter_protocolo(gw: Gateway, _staff: StaffPrincipal, r: Reader) -> etree._Element:
    answer = element("obterProtocoloResposta")
    render.protocol(answer, get_protocol(gw.db, r.required("numeroProtocolo")))
    return answer


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
