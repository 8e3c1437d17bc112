"""The credentialing queue through the back-office SOAP API (zeep over a real server, every
answer and fault validated against xsd/tissGatewayBackOffice.xsd): a candidate made as the
portal tests make it is listed, opened with its documents, pre-approved, asked for a complement
(which it sees), approved with the suggested code, and then sends a lot on tissLoteGuias with
its portal login and password. Refusals are clean faults; a provider's account is refused."""

import hashlib

import pytest
from lxml import etree
from sqlalchemy import func, select

from gateway.services.credentialing import catalog, documents, records, steps
from gateway.tiss.samples import lote_guias_ws
from storage.models import Account, Provider
from storage.portal_models import CredentialingDecision, CredentialingRequest
from tests import portal_support as ps
from tests.backoffice_client import (
    NS,
    STAFF,
    Staff,
    envelope,
    fault_detail,
    fault_of,
    make_client,
    raw_post,
)
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.tissclient import Provider as TissProvider
from tests.tissclient import post as post_soap
from tests.tissclient import sample_lot

FAULT = f"{{{NS['bo']}}}backOfficeFault"
BAD_LOGIN = "login ou senha inválidos"


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


@pytest.fixture
def bo(server_url, staff):
    return make_client(server_url)


def _staff_id(gw) -> int:
    return ps.account_id(gw, STAFF.login)


def _decisions(gw, request_id: int) -> list[CredentialingDecision]:
    with gw.db.reading() as s:
        return list(
            s.scalars(
                select(CredentialingDecision)
                .where(CredentialingDecision.request_id == request_id)
                .order_by(CredentialingDecision.id)
            )
        )


def _status(gw, request_id: int) -> str:
    with gw.db.reading() as s:
        return s.get(CredentialingRequest, request_id).status


def test_the_whole_queue_through_the_api(gw, client, bo, tmp_path):
    zeep_client, plugin = bo
    api = zeep_client.service
    account = ps.candidate_submitted(gw)
    request_id = ps.request_of(gw, account)

    # 1. The queue: the request waits for the operator; every status is counted.
    answer = api.listarSolicitacoesCredenciamento()
    counts = {c.situacao: c.quantidade for c in answer.contagem}
    assert set(counts) == set(catalog.STATUS)
    assert counts["submitted"] == 1 and sum(counts.values()) == 1
    (item,) = answer.solicitacao
    assert (item.idSolicitacao, item.cpfCnpj, item.tipoPessoa) == (
        request_id,
        ps.CANDIDATE_CNPJ,
        "PJ",
    )
    assert item.nome == "Clínica Exemplo Ltda" and item.situacao == "submitted"
    assert item.descricaoSituacao == "Aguardando análise da operadora"
    assert item.enviadaEm is not None and item.atualizadaEm.tzinfo is not None
    assert api.listarSolicitacoesCredenciamento(situacao="approved").solicitacao == []
    by_status = api.listarSolicitacoesCredenciamento(situacao="submitted").solicitacao
    assert [s.idSolicitacao for s in by_status] == [request_id]

    # 2. Opened: the provider data, address, contact, bank, tax regime and history.
    found = api.obterSolicitacaoCredenciamento(idSolicitacao=request_id)
    assert plugin.last.tag == f"{{{NS['bo']}}}obterSolicitacaoCredenciamentoResposta"
    assert found.situacao == "submitted" and found.login == ps.CANDIDATE_CNPJ
    assert found.dadosPrestador.razaoSocial == "Clínica Exemplo Ltda"
    assert found.dadosPrestador.segmento == "medico"
    assert found.dadosPrestador.email == "contato@clinicaexemplo.com.br"
    assert (found.dadosBancarios.banco, found.dadosBancarios.agencia) == ("001", "1234")
    assert found.regimeTributario == "lucro_presumido"
    (address,) = found.endereco
    assert (address.municipio, address.uf, address.cnes) == ("Brasília", "DF", "1234567")
    assert found.contato[0].nome == "Maria Souza"
    assert found.responsavelTecnico is None and found.documento == []
    assert [d.acao for d in found.historico.decisao] == ["criar_conta", "enviar"]
    assert found.historico.decisao[-1].tipoResponsavel == "provider"
    assert found.decisaoPermitida == ["aprovar_pre_cadastro", "pedir_complemento", "reprovar"]
    assert found.codigoPrestadorSugerido is None

    # 3. Final approval before the pre-approval is refused, and nothing is written.
    category, message = fault_of(
        api.decidirSolicitacaoCredenciamento,
        idSolicitacao=request_id,
        decisao="aprovar_credenciamento",
    )
    assert plugin.last.tag == FAULT
    assert category == "OperacaoNaoPermitida" and "não se aplica" in message
    assert len(_decisions(gw, request_id)) == 2

    # 4. Pre-approval, recorded with the calling staff account.
    decided = api.decidirSolicitacaoCredenciamento(
        idSolicitacao=request_id,
        decisao="aprovar_pre_cadastro",
        motivo="Anexe o contrato social e o alvará.",
    )
    assert decided.situacao == "pre_approved"
    last = decided.historico.decisao[-1]
    assert (last.acao, last.responsavel, last.tipoResponsavel) == (
        "aprovar_pre_cadastro",
        STAFF.login,
        "staff",
    )
    assert last.motivo == "Anexe o contrato social e o alvará." and last.data is not None
    assert (last.situacaoAnterior, last.situacaoNova) == ("submitted", "pre_approved")
    assert decided.decisaoPermitida == ["pedir_complemento", "reprovar"]

    # 5. The candidate fills the remaining steps; the request is opened with its documents.
    ps.final_steps(gw, account)
    found = api.obterSolicitacaoCredenciamento(idSolicitacao=request_id)
    assert found.situacao == "final_review"
    assert found.responsavelTecnico.nome == "Dr. João Lima"
    assert found.responsavelTecnico.conselho == "CRM"
    assert [(c.municipio, c.uf) for c in found.cidadeAtuacao] == [("Brasília", "DF")]
    assert found.dadosComplementares.grauComplexidade == "media"
    assert found.dadosComplementares.rede == ["credenciados"]
    answers = {q.codigo: q.resposta for q in found.dadosComplementares.questao}
    assert answers["uti"] is True and answers["tomografia"] is False
    assert {d.tipoDocumento for d in found.documento} == {
        "curriculo_crm",
        "cnpj",
        "alvara_funcionamento",
        "contrato_social",
    }
    assert found.documentoFaltante == []
    for d in found.documento:
        assert d.tipoConteudo == "application/pdf" and d.tamanho == len(ps.PDF)
        assert d.sha256 == hashlib.sha256(ps.PDF).hexdigest()
        assert d.nomeArquivo == f"{d.tipoDocumento}.pdf" and d.descricaoTipo
    assert found.decisaoPermitida == ["pedir_complemento", "reprovar", "aprovar_credenciamento"]
    suggested = found.codigoPrestadorSugerido
    assert suggested == f"CRD{request_id:06d}"

    # 6. Each document's file, byte for byte.
    document = api.obterDocumentoCredenciamento(idDocumento=found.documento[0].idDocumento)
    assert document.conteudo == ps.PDF and document.tipoConteudo == "application/pdf"
    assert document.sha256 == hashlib.sha256(ps.PDF).hexdigest()
    assert document.tamanho == len(ps.PDF) and document.tipoDocumento in catalog.DOCUMENT_TYPES

    # 7. A complement, which the candidate sees (use case, portal page and e-mail).
    wanted = "Envie também o alvará da Vigilância Sanitária."
    decided = api.decidirSolicitacaoCredenciamento(
        idSolicitacao=request_id, decisao="pedir_complemento", motivo=wanted
    )
    assert decided.situacao == "complement_requested" and decided.faseComplemento == "final"
    assert records.load(gw.db, account).operator_message.reason == wanted
    assert ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD).status_code == 302
    assert wanted in ps.text(client.get("/portal/credenciamento/"))
    ps.logout(client)
    mails = [m.read_text() for m in (tmp_path / "outbox").glob("*.eml")]
    assert any(wanted in m and "contato@clinicaexemplo.com.br" in m for m in mails)

    moment = ps.now()
    documents.upload(
        gw.db, account, "alvara_sanitario", "sanitario.png", ps.PNG, 10_000_000, moment
    )
    steps.submit_final(gw.db, account, moment)

    # 8. Final approval with the suggested code (none given).
    decided = api.decidirSolicitacaoCredenciamento(
        idSolicitacao=request_id, decisao="aprovar_credenciamento"
    )
    assert decided.situacao == "approved" and decided.descricaoSituacao == "Credenciado"
    assert decided.codigoPrestadorNaOperadora == suggested
    assert decided.decisaoPermitida == [] and decided.codigoPrestadorSugerido is None
    assert len(decided.documento) == 5
    with gw.db.reading() as s:
        provider = s.scalar(select(Provider).where(Provider.cnpj == ps.CANDIDATE_CNPJ))
        assert provider.codigo_na_operadora == suggested and provider.cnes == "1234567"
        login = s.scalar(select(Account).where(Account.login == ps.CANDIDATE_CNPJ))
        assert login.provider_id == provider.id
    steps_taken = _decisions(gw, request_id)
    assert [d.action for d in steps_taken] == [
        "create",
        "submit",
        "pre_approve",
        "submit",
        "request_complement",
        "submit",
        "approve",
    ]
    staff_id = _staff_id(gw)
    for d in steps_taken:
        if d.action in ("pre_approve", "request_complement", "approve"):
            assert (d.actor_account_id, d.actor_login, d.actor_kind) == (
                staff_id,
                STAFF.login,
                "staff",
            )
            assert d.decided_at is not None
    assert steps_taken[4].reason == wanted

    # 9. The candidate's portal login and password now work on tissLoteGuias.
    tiss = TissProvider(ps.CANDIDATE_CNPJ, suggested, "Clínica Exemplo", ps.CANDIDATE_PASSWORD)
    answer = post_soap(client, lote_guias_ws(sample_lot(tiss, "1", registro_ans=REGISTRO_ANS)))
    assert not answer.is_fault and answer.protocol


def test_a_given_code_is_used_and_checked(gw, bo):
    api = bo[0].service
    account = ps.candidate_in_final_review(gw, _staff_id(gw))
    request_id = ps.request_of(gw, account)

    category, message = fault_of(
        api.decidirSolicitacaoCredenciamento,
        idSolicitacao=request_id,
        decisao="aprovar_credenciamento",
        codigoPrestadorNaOperadora="CLIN-42",
    )
    assert category == "RequisicaoInvalida"
    assert message.startswith("codigoPrestadorNaOperadora: ") and "14 letras ou dígitos" in message
    category, message = fault_of(
        api.decidirSolicitacaoCredenciamento,
        idSolicitacao=request_id,
        decisao="aprovar_credenciamento",
        codigoPrestadorNaOperadora=PROVIDER_A.code,
    )
    assert category == "RequisicaoInvalida" and "Já existe prestador" in message
    assert _status(gw, request_id) == "final_review"

    decided = api.decidirSolicitacaoCredenciamento(
        idSolicitacao=request_id,
        decisao="aprovar_credenciamento",
        codigoPrestadorNaOperadora="clin0042",
        motivo="Bem-vindo à rede.",
    )
    assert decided.codigoPrestadorNaOperadora == "CLIN0042"
    assert decided.historico.decisao[-1].motivo == "Bem-vindo à rede."


def test_reject_needs_a_reason_and_ends_the_request(gw, server_url, bo):
    zeep_client, plugin = bo
    api = zeep_client.service
    request_id = ps.request_of(gw, ps.candidate_submitted(gw))

    for decisao in ("reprovar", "pedir_complemento"):
        category, message = fault_of(
            api.decidirSolicitacaoCredenciamento, idSolicitacao=request_id, decisao=decisao
        )
        assert plugin.last.tag == FAULT
        assert category == "RequisicaoInvalida"
        assert message == "motivo: Escreva o motivo; o candidato verá esta mensagem."
    assert _status(gw, request_id) == "submitted" and len(_decisions(gw, request_id)) == 2

    # Blank is not a reason either (refused by the schema).
    body = envelope(
        f"<bo:decidirSolicitacaoCredenciamento><bo:idSolicitacao>{request_id}</bo:idSolicitacao>"
        "<bo:decisao>reprovar</bo:decisao><bo:motivo>   </bo:motivo>"
        "</bo:decidirSolicitacaoCredenciamento>"
    )
    category, message = fault_detail(raw_post(server_url, body))
    assert category == "RequisicaoInvalida" and "motivo" in message

    decided = api.decidirSolicitacaoCredenciamento(
        idSolicitacao=request_id, decisao="reprovar", motivo="CNES inexistente."
    )
    assert decided.situacao == "rejected" and decided.decisaoPermitida == []
    assert decided.historico.decisao[-1].motivo == "CNES inexistente."
    assert records.load(gw.db, ps.account_id(gw, ps.CANDIDATE_CNPJ)).operator_message.reason == (
        "CNES inexistente."
    )

    for decisao in ("aprovar_pre_cadastro", "pedir_complemento", "reprovar"):
        category, message = fault_of(
            api.decidirSolicitacaoCredenciamento,
            idSolicitacao=request_id,
            decisao=decisao,
            motivo="de novo",
        )
        assert category == "OperacaoNaoPermitida"
        assert message == "Esta decisão não se aplica a uma solicitação “Recusado”."
    assert len(_decisions(gw, request_id)) == 3


def test_unknown_request_and_document_are_not_found(gw, bo):
    zeep_client, plugin = bo
    api = zeep_client.service
    ps.candidate_submitted(gw)

    request = "Solicitação não encontrada."
    for call, kwargs, expected in (
        (api.obterSolicitacaoCredenciamento, {"idSolicitacao": 999999}, request),
        (
            api.decidirSolicitacaoCredenciamento,
            {"idSolicitacao": 999999, "decisao": "reprovar", "motivo": "x"},
            request,
        ),
        (
            api.decidirSolicitacaoCredenciamento,
            {"idSolicitacao": 999999, "decisao": "aprovar_credenciamento"},
            request,
        ),
        (api.obterDocumentoCredenciamento, {"idDocumento": 999999}, "Documento não encontrado."),
    ):
        assert fault_of(call, **kwargs) == ("NaoEncontrado", expected)
        assert plugin.last.tag == FAULT
    with gw.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Provider)) == 2  # conftest's only


def test_requests_outside_the_schema_are_refused(gw, server_url, staff):
    request_id = ps.request_of(gw, ps.candidate_submitted(gw))
    for payload, expected in (
        (
            f"<bo:decidirSolicitacaoCredenciamento><bo:idSolicitacao>{request_id}"
            "</bo:idSolicitacao><bo:decisao>aprovar_tudo</bo:decisao>"
            "</bo:decidirSolicitacaoCredenciamento>",
            "decisao",
        ),
        (
            "<bo:listarSolicitacoesCredenciamento><bo:situacao>pendente</bo:situacao>"
            "</bo:listarSolicitacoesCredenciamento>",
            "situacao",
        ),
        (
            "<bo:obterSolicitacaoCredenciamento><bo:idSolicitacao>um</bo:idSolicitacao>"
            "</bo:obterSolicitacaoCredenciamento>",
            "idSolicitacao",
        ),
        (
            f"<bo:decidirSolicitacaoCredenciamento><bo:idSolicitacao>{request_id}"
            "</bo:idSolicitacao><bo:decisao>reprovar</bo:decisao>"
            f"<bo:motivo>{'x' * 4001}</bo:motivo></bo:decidirSolicitacaoCredenciamento>",
            "motivo",
        ),
    ):
        category, message = fault_detail(raw_post(server_url, envelope(payload)))
        assert category == "RequisicaoInvalida" and expected in message
    assert _status(gw, request_id) == "submitted"


def test_a_provider_account_is_refused(gw, server_url, staff):
    account = ps.candidate_submitted(gw)
    request_id = ps.request_of(gw, account)
    for who in (
        Staff(ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD),  # the candidate itself
        Staff(PROVIDER_A.cnpj, PROVIDER_A.password),  # a credentialed provider
    ):
        for auth in ("basic", "wsse"):
            zeep_client, plugin = make_client(server_url, who, auth=auth)
            api = zeep_client.service
            assert fault_of(api.listarSolicitacoesCredenciamento) == (
                "AutenticacaoInvalida",
                BAD_LOGIN,
            )
            assert fault_of(
                api.decidirSolicitacaoCredenciamento,
                idSolicitacao=request_id,
                decisao="aprovar_pre_cadastro",
            ) == ("AutenticacaoInvalida", BAD_LOGIN)
            assert plugin.last.tag == FAULT
    assert _status(gw, request_id) == "submitted" and len(_decisions(gw, request_id)) == 2


def test_answers_are_valid_for_a_request_still_being_filled(gw, bo):
    """A draft (nothing but the account) opens with the optional parts left out."""
    from gateway.services.credentialing import registration

    account = registration.start(gw.db, ps.registration_form(), ps.now(), ps.ORIGIN)
    request_id = ps.request_of(gw, account)
    zeep_client, plugin = bo
    api = zeep_client.service
    found = api.obterSolicitacaoCredenciamento(idSolicitacao=request_id)
    assert found.situacao == "draft" and found.enviadaEm is None
    assert found.endereco == [] and found.decisaoPermitida == []
    # Empty parts are still there (zeep reads an element without children as None).
    raw = plugin.last.find("bo:solicitacao", NS)
    assert etree.QName(plugin.last).localname == "obterSolicitacaoCredenciamentoResposta"
    assert len(raw.find("bo:dadosComplementares", NS)) == 0
    assert raw.find("bo:historico/bo:decisao/bo:acao", NS).text == "criar_conta"
    drafts = api.listarSolicitacoesCredenciamento(situacao="draft").solicitacao
    assert [d.idSolicitacao for d in drafts] == [request_id]
    assert api.listarSolicitacoesCredenciamento().solicitacao == []  # nothing waits


def test_a_failing_mail_server_does_not_hide_a_recorded_decision(gw, bo, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise OSError("smtp down")

    monkeypatch.setattr("gateway.services.mail.send_mail", broken)
    api = bo[0].service
    request_id = ps.request_of(gw, ps.candidate_submitted(gw))

    decided = api.decidirSolicitacaoCredenciamento(
        idSolicitacao=request_id, decisao="pedir_complemento", motivo="Corrija o CNES."
    )

    # Back to the provider data (before the pre-approval): only a rejection is left to staff.
    assert decided.situacao == "complement_requested" and decided.faseComplemento == "pre"
    assert decided.decisaoPermitida == ["reprovar"]
    assert _status(gw, request_id) == "complement_requested"
    assert f"request {request_id} recorded, but the mail to the candidate failed" in caplog.text
