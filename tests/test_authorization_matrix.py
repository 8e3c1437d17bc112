"""Provider A reaches none of provider B's data through any door.

- TISS web services: B's protocols and statements answer exactly like ones that do not exist.
- Back-office API: a provider's credentials (or a delegate's) open no operation at all, through
  HTTP Basic or WS-Security, whatever the operation.
- Credentialing documents: one candidate cannot fetch another's, exactly like a missing one.
The portal's own matrix (guessed ids in provider-area URLs, delegates' roles) is in
tests/test_provider_area_access.py and tests/test_portal_delegation.py."""

import pytest
import requests
from lxml import etree

from gateway.services.credentialing import documents
from gateway.services.credentialing.records import NotFound
from gateway.tiss.samples import (
    lote_guias_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_demonstrativo_pagamento_ws,
    solicitacao_status_ws,
)
from tests import portal_support as ps
from tests.backoffice_client import BO, Staff, body_content
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.test_soap_queries import analyse, pay, query_for
from tests.tissclient import NS, post, sample_lot

STATEMENTS = "tissSolicitacaoDemonstrativoRetorno"


def b_paid_protocol(client, gw) -> str:
    lot = sample_lot(PROVIDER_B, "B-SECRET", 2, registro_ans=REGISTRO_ANS)
    numero = post(client, lote_guias_ws(lot)).protocol
    analyse(gw, numero)
    pay(gw, numero, PROVIDER_B.code)
    return numero


def test_tiss_doors_answer_b_data_like_nothing(client, gw):
    numero = b_paid_protocol(client, gw)
    unknown = "999999999999"
    for build in (
        lambda n: (
            solicitacao_status_ws(query_for(PROVIDER_A), n),
            "tissSolicitacaoStatusProtocolo",
        ),
        lambda n: (solicitacao_demonstrativo_analise_ws(query_for(PROVIDER_A), [n]), STATEMENTS),
    ):
        element, service = build(numero)
        theirs = post(client, element, service=service)
        element, service = build(unknown)
        mine_unknown = post(client, element, service=service)
        assert theirs.code == mine_unknown.code == "3291"
        assert _without_header(theirs) == _without_header(mine_unknown)
        assert b"B-SECRET" not in theirs.raw and PROVIDER_B.code.encode() not in theirs.raw
    payment = post(
        client,
        solicitacao_demonstrativo_pagamento_ws(query_for(PROVIDER_A), competencia="202611"),
        service=STATEMENTS,
    )
    assert payment.payload.find(".//ans:demonstrativoPagamento", NS) is None
    assert numero.encode() not in payment.raw


def _without_header(answer) -> bytes:
    """The answer minus what differs per message (cabecalho, hash)."""
    copy = etree.fromstring(etree.tostring(answer.payload))
    for name in ("cabecalho", "hash"):
        copy.remove(copy.find(f"ans:{name}", NS))
    return etree.tostring(copy)


OPERATIONS = [
    ("listarMensagens", "<bo:desde>2026-01-01T00:00:00Z</bo:desde>"),
    ("obterMensagem", "<bo:id>1</bo:id>"),
    ("listarLotes", "<bo:desde>2026-01-01T00:00:00Z</bo:desde>"),
    ("obterProtocolo", "<bo:numeroProtocolo>000000000001</bo:numeroProtocolo>"),
    ("listarSolicitacoesCredenciamento", ""),
]


def soap_call(server_url, operation, inner, *, auth=None, wsse=None):
    header = ""
    if wsse is not None:
        header = (
            '<soapenv:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
            'oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>'
            f"<wsse:Username>{wsse.login}</wsse:Username><wsse:Password>{wsse.password}"
            "</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header>"
        )
    body = (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:bo="{BO}">{header}<soapenv:Body><bo:{operation}>{inner}</bo:{operation}>'
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()
    response = requests.post(
        f"{server_url}/backoffice/v1",
        data=body,
        auth=auth,
        timeout=30,
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )
    return response.status_code, body_content(etree.fromstring(response.content))


@pytest.mark.parametrize("operation,inner", OPERATIONS)
@pytest.mark.parametrize("door", ["basic", "wsse"])
def test_provider_credentials_open_no_back_office_operation(
    server_url, staff, operation, inner, door
):
    provider = Staff(PROVIDER_A.cnpj, PROVIDER_A.password)
    kwargs = (
        {"auth": (provider.login, provider.password)} if door == "basic" else {"wsse": provider}
    )
    status, content = soap_call(server_url, operation, inner, **kwargs)
    assert status == 500
    assert content.tag == f"{{{BO}}}backOfficeFault"
    # The same refusal a staff login with a wrong password gets: nothing tells them apart.
    wrong = Staff(staff.login, "Errada@2026")
    kwargs = {"auth": (wrong.login, wrong.password)} if door == "basic" else {"wsse": wrong}
    _, refused = soap_call(server_url, operation, inner, **kwargs)
    assert etree.tostring(content) == etree.tostring(refused)


def test_a_candidate_cannot_fetch_another_candidates_document(gw):
    staff_id = ps.make_staff(gw)
    first = ps.candidate_in_final_review(gw, staff_id, document="11444777000161")
    second = ps.candidate_in_final_review(gw, staff_id, document="06990590000123")
    owner = ps.request_of(gw, first)
    from sqlalchemy import select

    from storage.portal_models import CredentialingDocument

    with gw.db.reading() as s:
        document_id = s.scalar(
            select(CredentialingDocument.id).where(CredentialingDocument.request_id == owner)
        )
    assert documents.fetch(gw.db, first, document_id).content
    for viewer, doc in ((second, document_id), (second, 987654)):
        with pytest.raises(NotFound) as refused:
            documents.fetch(gw.db, viewer, doc)
        assert str(refused.value) == "document: Documento não encontrado."
    assert documents.fetch(gw.db, staff_id, document_id).content
