"""The credentialing queue (Portal do Prestador) on the back office:
listarSolicitacoesCredenciamento, obterSolicitacaoCredenciamento, obterDocumentoCredenciamento,
decidirSolicitacaoCredenciamento.

The same use cases as the portal's staff pages (gateway/services/credentialing: queue, documents),
with the calling staff account as the actor; their refusals become back-office faults."""

import base64
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from lxml import etree

from gateway.services.backoffice.errors import BackOfficeError, not_allowed, not_found
from gateway.services.backoffice.staff import StaffPrincipal
from gateway.services.credentialing import catalog, documents, queue, records
from gateway.services.credentialing.views import RequestView
from gateway.services.gateway import Gateway
from gateway.services.mail import Mailer
from gateway.services.validation import InvalidInput
from gateway.soap.backoffice.xml import Reader, element, node, sub

log = logging.getLogger(__name__)

# The API's names of the decisions (st_decisaoCredenciamento) and of the candidate's own steps,
# and the use case's actions they are.
DECISIONS = {
    "aprovar_pre_cadastro": "pre_approve",
    "pedir_complemento": "request_complement",
    "reprovar": "reject",
    "aprovar_credenciamento": "approve",
}
ACTION_NAMES = {"create": "criar_conta", "submit": "enviar"} | {
    action: name for name, action in DECISIONS.items()
}
# The use case's field names, as the request calls them.
FIELDS = {"reason": "motivo", "code": "codigoPrestadorNaOperadora", "action": "decisao"}


@contextmanager
def _refusals() -> Iterator[None]:
    """The use case's refusals (by field, in Portuguese) as back-office errors."""
    try:
        yield
    except records.NotFound as exc:
        raise not_found(" ".join(exc.errors.values())) from None
    except records.NotAllowed as exc:
        raise not_allowed(" ".join(exc.errors.values())) from None
    except InvalidInput as exc:
        raise BackOfficeError(
            "; ".join(f"{FIELDS.get(k, k)}: {v}" for k, v in exc.errors.items())
        ) from None


def listar(gw: Gateway, _staff: StaffPrincipal, r: Reader) -> etree._Element:
    status = r.text("situacao")
    status = status.strip() if status else None
    answer = element("listarSolicitacoesCredenciamentoResposta")
    for code, count in queue.counts(gw.db).items():
        el = node(answer, "contagem")
        sub(el, "situacao", code)
        sub(el, "descricaoSituacao", catalog.STATUS.get(code, code))
        sub(el, "quantidade", count)
    for item in queue.queue(gw.db, status):
        el = node(answer, "solicitacao")
        sub(el, "idSolicitacao", item.id)
        sub(el, "tipoPessoa", item.person_kind)
        sub(el, "cpfCnpj", item.document)
        sub(el, "nome", item.name)
        sub(el, "situacao", item.status)
        sub(el, "descricaoSituacao", item.status_label)
        sub(el, "enviadaEm", item.submitted_at)
        sub(el, "atualizadaEm", item.updated_at)
    return answer


def obter(gw: Gateway, _staff: StaffPrincipal, r: Reader) -> etree._Element:
    request_id = r.integer("idSolicitacao")
    with _refusals():
        view = queue.detail(gw.db, request_id)
    answer = element("obterSolicitacaoCredenciamentoResposta")
    _request(gw, answer, view)
    return answer


def obter_documento(gw: Gateway, staff: StaffPrincipal, r: Reader) -> etree._Element:
    document_id = r.integer("idDocumento")
    with _refusals():
        found = documents.fetch(gw.db, staff.account_id, document_id)
    answer = element("obterDocumentoCredenciamentoResposta")
    sub(answer, "idDocumento", document_id)
    sub(answer, "tipoDocumento", found.doc_type)
    sub(answer, "nomeArquivo", found.file_name)
    sub(answer, "tipoConteudo", found.content_type)
    sub(answer, "tamanho", len(found.content))
    sub(answer, "sha256", found.sha256)
    sub(answer, "conteudo", base64.b64encode(found.content).decode("ascii"))
    return answer


def decidir(gw: Gateway, staff: StaffPrincipal, r: Reader) -> etree._Element:
    request_id = r.integer("idSolicitacao")
    action = DECISIONS[r.required("decisao").strip()]
    code = r.text("codigoPrestadorNaOperadora")
    if action == "approve" and code is None:
        code = queue.suggested_code(gw.db, request_id)
    mailer = Mailer(gw.settings.portal.mail, gw.settings.var_dir)
    with _refusals():
        queue.decide(
            gw.db,
            staff.account_id,
            request_id,
            action,
            r.text("motivo"),
            gw.utcnow(),
            code=code,
            mailer=mailer,
        )
        view = queue.detail(gw.db, request_id)
    answer = element("decidirSolicitacaoCredenciamentoResposta")
    _request(gw, answer, view)
    return answer


def _allowed(status: str) -> list[str]:
    return [name for name, action in DECISIONS.items() if status in queue.ACTIONS[action][0]]


def _request(gw: Gateway, parent: etree._Element, v: RequestView) -> None:
    el = node(parent, "solicitacao")
    sub(el, "idSolicitacao", v.id)
    sub(el, "situacao", v.status)
    sub(el, "descricaoSituacao", v.status_label)
    if v.status == "complement_requested":
        sub(el, "faseComplemento", v.complement_phase)
    sub(el, "tipoPessoa", v.person_kind)
    sub(el, "cpfCnpj", v.document)
    sub(el, "login", v.login)
    sub(el, "nomeConta", v.account_name)
    sub(el, "codigoPrestadorNaOperadora", v.provider_code)
    sub(el, "criadaEm", v.created_at)
    sub(el, "atualizadaEm", v.updated_at)
    sub(el, "enviadaEm", v.submitted_at)
    data = node(el, "dadosPrestador")
    for name, value in (
        ("tipoCnpj", v.tipo_cnpj),
        ("razaoSocial", v.razao_social),
        ("nomeFantasia", v.nome_fantasia),
        ("segmento", v.segmento),
        ("tipoEstabelecimento", v.tipo_estabelecimento),
        ("inscricaoEstadual", v.inscricao_estadual),
        ("site", v.site),
        ("email", v.email),
        ("celular", v.celular),
    ):
        sub(data, name, value)
    bank = node(el, "dadosBancarios")
    sub(bank, "banco", v.banco)
    sub(bank, "agencia", v.agencia)
    sub(bank, "conta", v.conta)
    sub(el, "regimeTributario", v.regime_tributario)
    for a in v.addresses:
        address = node(el, "endereco")
        for name, value in (
            ("cep", a.cep),
            ("logradouro", a.logradouro),
            ("numero", a.numero),
            ("complemento", a.complemento),
            ("bairro", a.bairro),
            ("municipio", a.municipio),
            ("uf", a.uf),
            ("cnes", a.cnes),
        ):
            sub(address, name, value)
    for c in v.contacts:
        contact = node(el, "contato")
        sub(contact, "nome", c.nome)
        sub(contact, "cargo", c.cargo)
        sub(contact, "email", c.email)
        sub(contact, "telefone", c.telefone)
    _complementary(node(el, "dadosComplementares"), v)
    for city in v.cities:
        place = node(el, "cidadeAtuacao")
        sub(place, "municipio", city.municipio)
        sub(place, "uf", city.uf)
    if v.representative is not None:
        rep = node(el, "responsavelTecnico")
        sub(rep, "nome", v.representative.nome)
        sub(rep, "conselho", v.representative.conselho)
        sub(rep, "numeroConselho", v.representative.numero_conselho)
        sub(rep, "ufConselho", v.representative.uf_conselho)
        sub(rep, "cpf", v.representative.cpf)
        sub(rep, "rg", v.representative.rg)
    for d in v.documents:
        doc = node(el, "documento")
        sub(doc, "idDocumento", d.id)
        sub(doc, "tipoDocumento", d.doc_type)
        sub(doc, "descricaoTipo", d.type_label)
        sub(doc, "nomeArquivo", d.file_name)
        sub(doc, "tipoConteudo", d.content_type)
        sub(doc, "tamanho", d.size)
        sub(doc, "sha256", d.sha256)
        sub(doc, "enviadoEm", d.uploaded_at)
    for doc_type in v.missing_documents:
        sub(el, "documentoFaltante", doc_type)
    history = node(el, "historico")
    for d in v.decisions:
        step = node(history, "decisao")
        sub(step, "acao", ACTION_NAMES.get(d.action, d.action))
        sub(step, "descricaoAcao", catalog.ACTIONS.get(d.action, d.to_label))
        sub(step, "situacaoAnterior", d.from_status)
        sub(step, "situacaoNova", d.to_status)
        sub(step, "responsavel", d.actor_login)
        sub(step, "tipoResponsavel", d.actor_kind)
        sub(step, "data", d.decided_at)
        sub(step, "motivo", d.reason)
    allowed = _allowed(v.status)
    for name in allowed:
        sub(el, "decisaoPermitida", name)
    if "aprovar_credenciamento" in allowed:
        sub(el, "codigoPrestadorSugerido", queue.suggested_code(gw.db, v.id))


def _complementary(el: etree._Element, v: RequestView) -> None:
    sub(el, "subtipoEstabelecimento", v.subtipo_estabelecimento)
    for network in v.rede:
        sub(el, "rede", network)
    sub(el, "grauComplexidade", v.grau_complexidade)
    if not v.questionario:  # not answered yet
        return
    for code, text in catalog.QUESTIONARIO.items():
        question = node(el, "questao")
        sub(question, "codigo", code)
        sub(question, "descricao", text)
        sub(question, "resposta", bool(v.questionario.get(code)))


OPERATIONS = {
    "listarSolicitacoesCredenciamento": listar,
    "obterSolicitacaoCredenciamento": obter,
    "obterDocumentoCredenciamento": obter_documento,
    "decidirSolicitacaoCredenciamento": decidir,
}
