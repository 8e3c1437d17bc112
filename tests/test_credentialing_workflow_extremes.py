"""Provider credentialing as a workflow, attacked the way hurried candidates and busy analysts
use it (seed manuals 000 and 001; README "Provider portal"): "Enviar para análise" clicked twice
at once, two analysts deciding the same request at once (approve and refuse, approve twice),
two candidates approved with the same code at once, every change a candidate tries after
sending (data, addresses, documents) in each later status, a refused candidate coming back, a
candidate deactivated during the analysis, the web service right before and right after the
approval, and documents with hostile names, sizes and owners.

What a user checks: the request's status and history tell one coherent story (one decision
wins, the other analyst is told in Portuguese that it no longer applies), at most one provider
and one login come out of a request, a refused change leaves the database exactly as it was and
says why, and every answer of the back office and of the TISS web service is valid under its
schema. Races run through the real threaded server (server_url) on SQLite and PostgreSQL; the
window between a request's read and its write is widened with a barrier so that the race is
met every run rather than by luck."""

import hashlib
import html
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from gateway.services.accounts import credentials
from gateway.services.backoffice.staff import add_staff
from gateway.services.credentialing import documents, queue, records, registration
from gateway.tiss.samples import lote_guias_ws
from storage.models import Account, Provider
from storage.portal_models import (
    CredentialingDecision,
    CredentialingDocument,
    CredentialingRequest,
)
from tests import portal_support as ps
from tests.backoffice_client import STAFF, Staff, fault_of, make_client
from tests.conftest import REGISTRO_ANS
from tests.tissclient import Provider as TissProvider
from tests.tissclient import post as post_soap
from tests.tissclient import sample_lot

SECOND_ANALYST = Staff("operador.bruno", "Anal1sta#Dois")
OTHER_CNPJ = "01661318609164"
MAX_BYTES = ps.PORTAL_SETTINGS.max_upload_bytes
NS_BO = {"bo": "urn:tiss-gateway:backoffice:v1"}


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


@pytest.fixture
def analysts(gw, staff):
    """Two analysts of the operator (staff accounts of the back office and the portal)."""
    add_staff(gw.db, SECOND_ANALYST.login, SECOND_ANALYST.password)
    return STAFF, SECOND_ANALYST


# --- helpers ---------------------------------------------------------------------------------


def widen(monkeypatch, module, name: str, timeout: float, parties: int = 2):
    """Make `module.name` wait (up to `timeout`) until `parties` threads have reached it, so that
    concurrent requests are all past their read before any of them writes. Where a lock makes
    the second wait for the first, the barrier times out and the first goes on alone."""
    real = getattr(module, name)
    barrier = threading.Barrier(parties, timeout=timeout)

    def waiting(*args, **kwargs):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, waiting)


def patience(database_url: str) -> float:
    """How long the barrier waits. On PostgreSQL the row lock keeps the second request away, so
    the wait always runs out: kept short. On SQLite both must meet even on a loaded machine
    (each request first verifies its password with argon2)."""
    return 3.0 if database_url.startswith("postgresql") else 15.0


def at_once(*calls):
    """Run the calls in parallel threads; their results (or the exception each raised)."""
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    out = []
    for future in futures:
        try:
            out.append(future.result())
        except Exception as exc:  # noqa: BLE001 - the caller asserts on it
            out.append(exc)
    return out


def snapshot(gw, request_id: int) -> dict:
    """Everything a refused change must leave as it was."""
    with gw.db.reading() as s:
        row = s.get(CredentialingRequest, request_id)
        return {
            "status": row.status,
            "phase": row.complement_phase,
            "updated_at": row.updated_at,
            "submitted_at": row.submitted_at,
            "data": (row.razao_social, row.email, row.banco, row.agencia, row.conta),
            "addresses": sorted((a.id, a.cep, a.municipio) for a in row.addresses),
            "contacts": sorted((c.id, c.nome) for c in row.contacts),
            "cities": sorted((c.id, c.municipio) for c in row.cities),
            "representative": row.representative and row.representative.nome,
            "documents": sorted((d.id, d.sha256, d.file_name) for d in row.documents),
            "decisions": decisions(gw, request_id),
            "providers": s.scalar(select(func.count()).select_from(Provider)),
            "provider_id": row.provider_id,
        }


def decisions(gw, request_id: int) -> list[tuple]:
    with gw.db.reading() as s:
        rows = s.scalars(
            select(CredentialingDecision)
            .where(CredentialingDecision.request_id == request_id)
            .order_by(CredentialingDecision.id)
        ).all()
        return [(d.action, d.from_status, d.to_status, d.actor_login) for d in rows]


def status_of(gw, request_id: int) -> str:
    with gw.db.reading() as s:
        return s.get(CredentialingRequest, request_id).status


def providers_with(gw, document: str) -> list[Provider]:
    with gw.db.reading() as s:
        return s.scalars(select(Provider).where(Provider.cnpj == document)).all()


def candidate_ready(gw, document: str = ps.CANDIDATE_CNPJ, email: str | None = None) -> int:
    """A PJ candidate with everything filled in, not yet sent ("draft"); its account id."""
    moment = ps.now()
    form = ps.registration_form(document)
    if email:
        form = candidate_form(document, email)
    account = registration.start(gw.db, form, moment, ps.ORIGIN)
    registration.save_provider_data(gw.db, account, ps.PROVIDER_DATA, moment)
    registration.add_address(gw.db, account, ps.ADDRESS, moment)
    registration.add_contact(gw.db, account, ps.CONTACT, moment)
    return account


def final_review_candidate(gw, staff_id: int, document: str, email: str) -> int:
    """Another PJ candidate, pre-approved and sent for the final approval; its account id."""
    account = candidate_ready(gw, document, email)
    registration.submit(gw.db, account, ps.now())
    queue.decide(gw.db, staff_id, ps.request_of(gw, account), "pre_approve", None, ps.now())
    ps.final_steps(gw, account)
    return account


def candidate_form(document: str, email: str) -> dict:
    return ps.registration_form(document=document, email=email, email_confirm=email)


class Browser:
    """A candidate's or analyst's browser on the real server: cookies and CSRF tokens."""

    def __init__(self, server_url: str) -> None:
        self.base = server_url
        self.http = requests.Session()

    def token(self, path: str) -> str:
        page = self.http.get(self.base + path, timeout=30)
        found = ps.CSRF.search(page.text)
        assert found, f"no CSRF token on {path} ({page.status_code})"
        return found.group(1)

    def post(self, path: str, data: dict, token_from: str | None = None) -> requests.Response:
        data = dict(data, csrf_token=self.token(token_from or path))
        return self.http.post(self.base + path, data=data, timeout=60, allow_redirects=False)

    def login(self, login: str, password: str) -> "Browser":
        answer = self.post("/portal/entrar", {"login": login, "password": password})
        assert answer.status_code == 302, answer.text[:500]
        return self


# --- "Enviar para análise" twice at once ---------------------------------------------------------


def test_enviar_para_analise_clicked_twice_at_once_is_recorded_once(
    gw, server_url, monkeypatch, database_url
):
    """Two tabs (or a double click) send the pre-registration at the same instant: the request
    is sent once, its history says so once, and the second click is told it was already sent."""
    request_id = ps.request_of(gw, candidate_ready(gw))
    tabs = [Browser(server_url).login(ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD) for _ in "ab"]
    tokens = [tab.token("/portal/credenciamento/dados") for tab in tabs]
    widen(monkeypatch, registration, "missing_before_submit", patience(database_url))

    answers = at_once(
        *(
            lambda tab=tab, token=token: tab.http.post(
                server_url + "/portal/credenciamento/enviar",
                data={"csrf_token": token},
                timeout=60,
                allow_redirects=False,
            )
            for tab, token in zip(tabs, tokens, strict=True)
        )
    )

    assert [a.status_code for a in answers] == [302, 302]
    assert status_of(gw, request_id) == "submitted"
    assert [d[:3] for d in decisions(gw, request_id)] == [
        ("create", "draft", "draft"),
        ("submit", "draft", "submitted"),
    ]
    # The tab that lost is sent back to its data with the reason.
    landed = sorted(a.headers["Location"].rsplit("/portal/", 1)[1] for a in answers)
    assert landed == ["credenciamento/", "credenciamento/dados"]


# --- two analysts at once ----------------------------------------------------------------------


def test_approve_and_refuse_at_once_one_decision_wins(
    gw, server_url, analysts, monkeypatch, database_url
):
    first, second = analysts
    staff_id = ps.account_id(gw, first.login)
    account = ps.candidate_in_final_review(gw, staff_id)
    request_id = ps.request_of(gw, account)
    approve_api = make_client(server_url, first)[0].service
    refuse_api = make_client(server_url, second)[0].service
    widen(monkeypatch, records, "record", patience(database_url))

    approved, refused = at_once(
        lambda: approve_api.decidirSolicitacaoCredenciamento(
            idSolicitacao=request_id, decisao="aprovar_credenciamento"
        ),
        lambda: refuse_api.decidirSolicitacaoCredenciamento(
            idSolicitacao=request_id, decisao="reprovar", motivo="Documentação vencida."
        ),
    )

    outcomes = [a for a in (approved, refused) if not isinstance(a, Exception)]
    losers = [a for a in (approved, refused) if isinstance(a, Exception)]
    assert len(outcomes) == 1 and len(losers) == 1, (approved, refused)
    assert "não se aplica" in str(losers[0])
    final = status_of(gw, request_id)
    assert final == outcomes[0].situacao
    steps_taken = decisions(gw, request_id)
    assert [d[0] for d in steps_taken].count("approve") + [d[0] for d in steps_taken].count(
        "reject"
    ) == 1
    assert steps_taken[-1][1:3] == ("final_review", final)
    with gw.db.reading() as s:
        login = s.scalar(select(Account).where(Account.login == ps.CANDIDATE_CNPJ))
        linked = login.provider_id
    if final == "approved":
        (provider,) = providers_with(gw, ps.CANDIDATE_CNPJ)
        assert linked == provider.id
    else:
        assert providers_with(gw, ps.CANDIDATE_CNPJ) == [] and linked is None


def test_two_analysts_approving_at_once_make_one_provider(
    gw, server_url, analysts, monkeypatch, database_url
):
    first, second = analysts
    account = ps.candidate_in_final_review(gw, ps.account_id(gw, first.login))
    request_id = ps.request_of(gw, account)
    apis = [make_client(server_url, who)[0].service for who in analysts]
    widen(monkeypatch, queue, "_credential", patience(database_url))

    answers = at_once(
        *(
            lambda api=api, code=code: api.decidirSolicitacaoCredenciamento(
                idSolicitacao=request_id, decisao="aprovar_credenciamento", **code
            )
            for api, code in zip(apis, ({}, {"codigoPrestadorNaOperadora": "CLIN42"}), strict=True)
        )
    )

    won = [a for a in answers if not isinstance(a, Exception)]
    lost = [a for a in answers if isinstance(a, Exception)]
    assert len(won) == 1 and len(lost) == 1, answers
    category = lost[0].detail.findtext("bo:backOfficeFault/bo:categoria", namespaces=NS_BO)
    assert category == "OperacaoNaoPermitida", lost[0].message
    assert "Credenciado" in lost[0].message
    (provider,) = providers_with(gw, ps.CANDIDATE_CNPJ)
    assert provider.codigo_na_operadora == won[0].codigoPrestadorNaOperadora
    assert [d[0] for d in decisions(gw, request_id)].count("approve") == 1


def test_two_candidates_approved_at_once_with_the_same_code(gw, server_url, analysts, monkeypatch):
    """Two analysts give the same codigoPrestadorNaOperadora (the "next free one" of their own
    spreadsheet) to two different candidates at the same moment: one gets it, the other is told
    that the code is taken, as it is when the approvals come one after the other."""
    first, second = analysts
    staff_id = ps.account_id(gw, first.login)
    one = ps.request_of(gw, ps.candidate_in_final_review(gw, staff_id))
    other = ps.request_of(gw, final_review_candidate(gw, staff_id, OTHER_CNPJ, "b@clinica.com.br"))
    apis = [make_client(server_url, who)[0].service for who in analysts]
    widen(monkeypatch, queue, "_credential", 15.0)  # two requests, two rows: nothing blocks

    answers = at_once(
        *(
            lambda api=api, request_id=request_id: api.decidirSolicitacaoCredenciamento(
                idSolicitacao=request_id,
                decisao="aprovar_credenciamento",
                codigoPrestadorNaOperadora="CLIN0001",
            )
            for api, request_id in zip(apis, (one, other), strict=True)
        )
    )

    won = [a for a in answers if not isinstance(a, Exception)]
    lost = [a for a in answers if isinstance(a, Exception)]
    assert len(won) == 1 and len(lost) == 1, answers
    category = lost[0].detail.findtext("bo:backOfficeFault/bo:categoria", namespaces=NS_BO)
    assert (category, lost[0].message) == (
        "RequisicaoInvalida",
        "codigoPrestadorNaOperadora: Já existe prestador com este código ou com este CPF/CNPJ.",
    )
    loser = other if won[0].idSolicitacao == one else one
    assert status_of(gw, loser) == "final_review"
    assert [d[0] for d in decisions(gw, loser)][-1] == "submit"
    with gw.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Provider)) == 3  # conftest's two + one


# --- changes after sending, in every later status ------------------------------------------------

DATA = "/portal/credenciamento/dados"
COMP = "/portal/credenciamento/complementar"
DOCS = "/portal/credenciamento/documentos"
PRE_CLOSED = "Os dados do prestador não podem ser alterados nesta etapa."
FINAL_CLOSED = "Esta etapa só fica disponível após a aprovação do pré-cadastro."
# What the final part's refusal says once that part was sent: the truth about where it is.
FINAL_SENT = {
    "final_review": "A solicitação está em análise final pela operadora",
    "approved": "A solicitação de credenciamento já foi concluída",
    "rejected": "A solicitação de credenciamento já foi concluída",
}


def _upload(client, content: bytes, name: str, doc_type: str = "cnpj"):
    file = (ps.io_bytes(content), name, "application/pdf")
    return ps.post(
        client, DOCS, {"doc_type": doc_type, "file": file}, content_type="multipart/form-data"
    )


# (what the candidate does, which part of the request it changes, the page's POST)
CHANGES = {
    "alterar dados": (
        "pre",
        lambda c, ids: ps.post(c, DATA, dict(ps.PROVIDER_DATA, razao_social="Outra Razão")),
    ),
    "incluir endereço": (
        "pre",
        lambda c, ids: ps.post(
            c, "/portal/credenciamento/enderecos", dict(ps.ADDRESS, cep="01001000"), token_from=DATA
        ),
    ),
    "remover endereço": (
        "pre",
        lambda c, ids: ps.post(
            c, f"/portal/credenciamento/endereco/{ids['address']}/remover", {}, token_from=DATA
        ),
    ),
    "incluir contato": (
        "pre",
        lambda c, ids: ps.post(c, "/portal/credenciamento/contatos", ps.CONTACT, token_from=DATA),
    ),
    "enviar para análise": (
        "pre",
        lambda c, ids: ps.post(c, "/portal/credenciamento/enviar", {}, token_from=DATA),
    ),
    "identificação complementar": (
        "final",
        lambda c, ids: ps.post(
            c,
            COMP,
            {
                "tipo_estabelecimento": "hospital_geral",
                "grau_complexidade": "alta",
                "rede": "urgencia",
            },
        ),
    ),
    "incluir cidade": (
        "final",
        lambda c, ids: ps.post(
            c,
            "/portal/credenciamento/cidades",
            {"municipio": "Goiânia", "uf": "GO"},
            token_from=COMP,
        ),
    ),
    "remover cidade": (
        "final",
        lambda c, ids: ps.post(
            c, f"/portal/credenciamento/cidades/{ids['city']}/remover", {}, token_from=COMP
        ),
    ),
    "responsável técnico": (
        "final",
        lambda c, ids: ps.post(
            c, "/portal/credenciamento/responsavel-tecnico", dict(ps.REPRESENTATIVE, nome="Outro")
        ),
    ),
    "enviar documento": ("final", lambda c, ids: _upload(c, ps.PNG, "novo.png")),
    "substituir documento": ("final", lambda c, ids: _upload(c, ps.PDF + b"%v2", "cnpj.pdf")),
    "remover documento": (
        "final",
        lambda c, ids: ps.post(c, f"{DOCS}/{ids['document']}/remover", {}, token_from=DOCS),
    ),
    "envio final": ("final", lambda c, ids: ps.post(c, "/portal/credenciamento/envio", {})),
}


def candidate_in(gw, status: str) -> int:
    """The test candidate's request, brought to `status` by the use cases; its id."""
    staff_id = ps.make_staff(gw)
    if status in ("submitted", "pre_approved"):
        request_id = ps.request_of(gw, ps.candidate_submitted(gw))
        if status == "pre_approved":
            queue.decide(gw.db, staff_id, request_id, "pre_approve", None, ps.now())
        return request_id
    request_id = ps.request_of(gw, ps.candidate_in_final_review(gw, staff_id))
    if status == "approved":
        queue.decide(gw.db, staff_id, request_id, "approve", None, ps.now(), code="CLIN77")
    elif status == "rejected":
        queue.decide(gw.db, staff_id, request_id, "reject", "CNES inexistente.", ps.now())
    return request_id


def item_ids(gw, request_id: int) -> dict:
    with gw.db.reading() as s:
        row = s.get(CredentialingRequest, request_id)
        return {
            "address": row.addresses[0].id,
            "city": row.cities[0].id if row.cities else 1,
            "document": row.documents[0].id if row.documents else 1,
        }


# Which parts a status leaves open: pre-approved opens the final steps only.
OPEN_PARTS = {
    "submitted": (),
    "pre_approved": ("final",),
    "final_review": (),
    "approved": (),
    "rejected": (),
}


# Sub-forms shown again (422): the request's refusal is told above them (test below).
SILENT = {"incluir endereço", "incluir contato", "incluir cidade"}


def alerts(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'role="alert"><p>(.*?)</p>', page, re.S)]


def shown(client, answer) -> list[str]:
    """The error alerts the candidate sees after a POST (the page, or where it redirects)."""
    if answer.status_code == 302:
        return alerts(ps.text(client.get(answer.headers["Location"])))
    return alerts(ps.text(answer))


@pytest.mark.parametrize("status", list(OPEN_PARTS))
def test_every_change_after_sending_is_refused_and_changes_nothing(client, gw, status):
    request_id = candidate_in(gw, status)
    ids = item_ids(gw, request_id)
    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    for name, (part, change) in CHANGES.items():
        if part in OPEN_PARTS[status]:
            continue
        before = snapshot(gw, request_id)
        answer = change(client, ids)
        assert answer.status_code in (302, 422), (name, answer.status_code)
        messages = shown(client, answer)
        assert snapshot(gw, request_id) == before, (name, status)
        expected = PRE_CLOSED if part == "pre" else FINAL_SENT.get(status, FINAL_CLOSED)
        assert any(expected in m for m in messages), (name, messages)


def test_a_refused_sub_form_says_why(client, gw):
    request_id = candidate_in(gw, "final_review")
    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    ids = item_ids(gw, request_id)
    told = {}
    for name in sorted(SILENT):
        part, change = CHANGES[name]
        before = snapshot(gw, request_id)
        answer = change(client, ids)
        assert answer.status_code == 422
        assert snapshot(gw, request_id) == before
        expected = PRE_CLOSED if part == "pre" else FINAL_SENT["final_review"]
        told[name] = any(expected in m for m in shown(client, answer))
    assert told == dict.fromkeys(SILENT, True)


def test_a_document_change_during_the_final_analysis_is_told_the_truth(client, gw):
    request_id = candidate_in(gw, "final_review")
    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    before = snapshot(gw, request_id)
    answer = CHANGES["substituir documento"][1](client, item_ids(gw, request_id))
    messages = shown(client, answer)
    assert answer.status_code == 422 and snapshot(gw, request_id) == before
    assert messages and not any("após a aprovação do pré-cadastro" in m for m in messages)


# --- after the decision --------------------------------------------------------------------------


def test_an_analyst_clicking_aprovar_twice_is_told_it_is_already_approved(client, gw):
    request_id = candidate_in(gw, "final_review")
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    page = f"/portal/operadora/solicitacoes/{request_id}"
    token = ps.csrf_token(client, page)
    form = {"action": "approve", "code": "CLIN0042", "csrf_token": token}
    first = client.post(f"{page}/decisao", data=form)
    again = client.post(f"{page}/decisao", data=dict(form, code="CLIN0043"))
    assert first.status_code == 302
    assert again.status_code == 422
    assert "Esta decisão não se aplica a uma solicitação “Credenciado”." in alerts(ps.text(again))
    (provider,) = providers_with(gw, ps.CANDIDATE_CNPJ)
    assert provider.codigo_na_operadora == "CLIN0042"
    assert [d[0] for d in decisions(gw, request_id)].count("approve") == 1


def test_a_refused_candidate_cannot_register_again_nor_send_again(client, gw):
    """Refused is final: the same CNPJ cannot open a second request behind the operator's back,
    and the candidate who logs in sees the refusal and its reason."""
    request_id = candidate_in(gw, "rejected")
    before = snapshot(gw, request_id)
    with gw.db.reading() as s:
        accounts_before = s.scalar(select(func.count()).select_from(Account))
    again = ps.post(
        client,
        "/portal/credenciamento/auto-cadastro",
        candidate_form("52.601.815/9083-69", "novo@clinicaexemplo.com.br"),
    )
    assert again.status_code == 422
    assert "Já existe uma conta com este login. Use “Já tenho conta”." in ps.text(again)
    with gw.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == accounts_before
        assert s.scalar(select(func.count()).select_from(CredentialingRequest)) == 1
    assert snapshot(gw, request_id) == before

    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    overview = ps.text(client.get("/portal/credenciamento/"))
    assert "Recusado" in overview and "CNES inexistente." in overview
    sent = ps.post(client, "/portal/credenciamento/enviar", {}, token_from=DATA)
    assert PRE_CLOSED in shown(client, sent)
    assert snapshot(gw, request_id) == before


def test_a_candidate_deactivated_during_the_analysis(client, gw, server_url):
    """Staff deactivate a candidate while its request waits for the final approval: its open
    session ends, it cannot change anything, and if it is approved anyway its login works on
    the web service only once reactivated."""
    request_id = candidate_in(gw, "final_review")
    account = ps.account_id(gw, ps.CANDIDATE_CNPJ)
    candidate = Browser(server_url).login(ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    token = candidate.token(DOCS)
    staff_id = ps.account_id(gw, ps.STAFF_LOGIN)
    credentials.set_active(gw.db, staff_id, account, False, ps.now(), ps.ORIGIN)
    before = snapshot(gw, request_id)

    answer = candidate.http.post(
        server_url + DOCS,
        data={"csrf_token": token, "doc_type": "outro"},
        files={"file": ("novo.pdf", ps.PDF, "application/pdf")},
        timeout=30,
        allow_redirects=False,
    )
    assert answer.status_code == 302 and "/portal/entrar" in answer.headers["Location"]
    assert snapshot(gw, request_id) == before
    refused = Browser(server_url).post(
        "/portal/entrar", {"login": ps.CANDIDATE_CNPJ, "password": ps.CANDIDATE_PASSWORD}
    )
    assert refused.status_code == 401 and "Login ou senha inválidos." in refused.text

    queue.decide(gw.db, staff_id, request_id, "approve", None, ps.now(), code="CLIN0042")
    tiss = TissProvider(ps.CANDIDATE_CNPJ, "CLIN0042", "Clínica Exemplo", ps.CANDIDATE_PASSWORD)
    lot = sample_lot(tiss, "1", registro_ans=REGISTRO_ANS)
    inactive = post_soap(client, lote_guias_ws(lot))
    assert inactive.tiss_fault == "LoginInvalido" and inactive.code == "5005"
    credentials.set_active(gw.db, staff_id, account, True, ps.now(), ps.ORIGIN)
    accepted = post_soap(client, lote_guias_ws(lot))
    assert not accepted.is_fault and accepted.protocol


def test_the_web_service_refuses_the_candidate_until_the_approval_and_accepts_it_at_once(
    client, gw
):
    """A candidate tries its portal password on tissLoteGuias while it waits (the password is
    right; the provider does not exist yet): refused with 5005. The lot sent the second after
    the approval is accepted, whatever the gateway remembered of the refused attempts."""
    request_id = candidate_in(gw, "final_review")
    tiss = TissProvider(ps.CANDIDATE_CNPJ, "CLIN0042", "Clínica Exemplo", ps.CANDIDATE_PASSWORD)
    for n in ("1", "2"):
        early = post_soap(client, lote_guias_ws(sample_lot(tiss, n, registro_ans=REGISTRO_ANS)))
        assert early.tiss_fault == "LoginInvalido" and early.code == "5005"
    with gw.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Provider)) == 2

    staff_id = ps.account_id(gw, ps.STAFF_LOGIN)
    queue.decide(gw.db, staff_id, request_id, "approve", None, ps.now(), code="CLIN0042")
    answer = post_soap(client, lote_guias_ws(sample_lot(tiss, "3", registro_ans=REGISTRO_ANS)))
    assert not answer.is_fault and answer.protocol
    with gw.db.reading() as s:
        account = s.scalar(select(Account).where(Account.login == ps.CANDIDATE_CNPJ))
        assert account.failed_attempts == 0 and account.locked_until is None


# --- documents -----------------------------------------------------------------------------------


def pre_approved_candidate(client, gw) -> int:
    """The test candidate, pre-approved and logged in on `client`; its request id."""
    request_id = candidate_in(gw, "pre_approved")
    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    return request_id


def stored_documents(gw, request_id: int) -> list[CredentialingDocument]:
    with gw.db.reading() as s:
        return s.scalars(
            select(CredentialingDocument)
            .where(CredentialingDocument.request_id == request_id)
            .order_by(CredentialingDocument.id)
        ).all()


def test_the_same_file_twice_is_two_documents_each_removable(client, gw):
    request_id = pre_approved_candidate(client, gw)
    assert _upload(client, ps.PDF, "cnpj.pdf").status_code == 302
    assert _upload(client, ps.PDF, "cnpj.pdf").status_code == 302
    first, second = stored_documents(gw, request_id)
    assert first.sha256 == second.sha256 == hashlib.sha256(ps.PDF).hexdigest()
    removed = ps.post(client, f"{DOCS}/{first.id}/remover", {}, token_from=DOCS)
    assert removed.status_code == 302
    assert [d.id for d in stored_documents(gw, request_id)] == [second.id]
    assert client.get(f"{DOCS}/{second.id}").data == ps.PDF
    assert client.get(f"{DOCS}/{first.id}").status_code == 404


HOSTILE_NAMES = {
    # what the browser sent: what is stored and shown
    "../../../etc/passwd.pdf": "passwd.pdf",
    "alvara\tfinal\x7f.pdf": "alvarafinal.pdf",
    "cnpj\x00\x1b[31m.pdf": "cnpj[31m.pdf",
    "/": "documento",
    "a" * 296 + ".pdf": "a" * 196 + ".pdf",
}


def test_hostile_file_names_are_stored_and_handed_out_harmless(client, gw, server_url, staff):
    request_id = pre_approved_candidate(client, gw)
    for sent in HOSTILE_NAMES:
        assert _upload(client, ps.PDF, sent).status_code == 302, repr(sent)
    stored = stored_documents(gw, request_id)
    assert [d.file_name for d in stored] == list(HOSTILE_NAMES.values())
    for document in stored:
        download = client.get(f"{DOCS}/{document.id}")
        assert download.status_code == 200 and download.data == ps.PDF
        disposition = download.headers["Content-Disposition"]
        assert disposition.startswith("attachment; ")
        assert not re.search(r"[\x00-\x1f/\\]", disposition), disposition
    # The back office shows them; its answers stay valid under the XSD (the client checks).
    api = make_client(server_url, staff)[0].service
    found = api.obterSolicitacaoCredenciamento(idSolicitacao=request_id)
    assert [d.nomeArquivo for d in found.documento] == list(HOSTILE_NAMES.values())
    fetched = api.obterDocumentoCredenciamento(idDocumento=stored[-1].id)
    assert fetched.nomeArquivo == "a" * 196 + ".pdf" and fetched.conteudo == ps.PDF


def test_file_names_xml_cannot_carry_do_not_break_the_back_office(gw, server_url, staff):
    """A name can hold characters XML 1.0 does not allow (U+FFFE, U+FFFF: a browser sends what
    the file system has). The analyst must still be able to open the request and its files
    through the back office."""
    staff_id = ps.make_staff(gw)
    account = ps.candidate_submitted(gw)
    request_id = ps.request_of(gw, account)
    queue.decide(gw.db, staff_id, request_id, "pre_approve", None, ps.now())
    ids = [
        documents.upload(gw.db, account, "cnpj", name, ps.PDF, MAX_BYTES, ps.now())
        for name in ("cnpj\ufffe.pdf", "cnpj\uffff.pdf")
    ]
    api = make_client(server_url, staff)[0].service
    found = api.obterSolicitacaoCredenciamento(idSolicitacao=request_id)
    assert [d.idDocumento for d in found.documento] == ids
    assert all(d.nomeArquivo.startswith("cnpj") for d in found.documento)
    for doc_id in ids:
        assert api.obterDocumentoCredenciamento(idDocumento=doc_id).conteudo == ps.PDF


def padded_pdf(size: int) -> bytes:
    return ps.PDF + b"0" * (size - len(ps.PDF))


def test_a_document_of_exactly_the_limit_is_kept_and_one_byte_more_is_refused(client, gw):
    request_id = pre_approved_candidate(client, gw)
    over = _upload(client, padded_pdf(MAX_BYTES + 1), "grande.pdf")
    assert over.status_code == 422
    assert "O arquivo passa do limite de" in ps.text(over)
    assert stored_documents(gw, request_id) == []
    exact = _upload(client, padded_pdf(MAX_BYTES), "limite.pdf")
    assert exact.status_code == 302
    (document,) = stored_documents(gw, request_id)
    assert document.size == MAX_BYTES
    assert document.sha256 == hashlib.sha256(padded_pdf(MAX_BYTES)).hexdigest()


def test_a_document_within_the_portal_limit_is_not_cut_by_the_soap_message_limit(gw):
    """An operator whose lots are small lowers TISS_MAX_MESSAGE_BYTES below the credentialing
    documents' TISS_MAX_UPLOAD_BYTES (two settings, two purposes): a document the documents page
    says is within the limit must still be accepted, not answered 413."""
    import dataclasses

    from werkzeug.test import Client

    from gateway.app import build_app
    from gateway.services.gateway import Gateway

    portal = dataclasses.replace(ps.PORTAL_SETTINGS, max_upload_bytes=2 * 1024 * 1024)
    settings = dataclasses.replace(gw.settings, max_message_bytes=1024 * 1024, portal=portal)
    client = Client(build_app(Gateway(settings=settings, db=gw.db, schemas=gw.schemas)))
    request_id = pre_approved_candidate(client, gw)
    answer = _upload(client, padded_pdf(1536 * 1024), "contrato social.pdf")
    assert answer.status_code == 302, (answer.status_code, alerts(ps.text(answer)))
    assert len(stored_documents(gw, request_id)) == 1


NOT_DOCUMENTS = {
    "zero bytes": b"",
    "PDF without its %": b"PDF-1.4 quase um pdf",
    "PDF after a line break": b"\n%PDF-1.4\n",
    "HTML naming PDF": b"<html><body>%PDF-1.4</body></html>",
    "ZIP": b"PK\x03\x04" + b"\0" * 60,
}


def test_a_file_that_is_not_a_document_is_refused_and_nothing_stored(client, gw):
    request_id = pre_approved_candidate(client, gw)
    before = snapshot(gw, request_id)
    for what, content in NOT_DOCUMENTS.items():
        answer = _upload(client, content, "cnpj.pdf")
        assert answer.status_code == 422, what
        expected = "Escolha o arquivo a enviar." if not content else "PDF, JPEG ou PNG"
        assert expected in ps.text(answer), what
        assert snapshot(gw, request_id) == before, what


# --- documents of another candidate (IDOR) -------------------------------------------------------


def test_nobody_but_its_candidate_and_the_operator_reaches_a_document(client, gw, server_url):
    request_id = candidate_in(gw, "final_review")
    owner_docs = stored_documents(gw, request_id)
    doc_id = owner_docs[0].id
    before = snapshot(gw, request_id)

    # Another candidate: the same 404 as for a document that does not exist; its "remover"
    # with that id removes nothing of the owner's.
    other = candidate_in_other(gw)
    ps.login(client, OTHER_CNPJ, ps.CANDIDATE_PASSWORD)
    assert client.get(f"{DOCS}/{doc_id}").status_code == 404
    assert client.get(f"{DOCS}/{doc_id + 10_000}").status_code == 404
    assert client.get(f"/portal/operadora/documentos/{doc_id}").status_code == 403
    ps.post(client, f"{DOCS}/{doc_id}/remover", {}, token_from=DOCS)
    assert snapshot(gw, request_id) == before
    assert stored_documents(gw, ps.request_of(gw, other)) == []
    ps.logout(client)

    # A credentialed provider and a Secretária/o: not staff, not the candidate.
    from tests.conftest import PROVIDER_A

    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    for login_, password in (
        (PROVIDER_A.cnpj, PROVIDER_A.password),
        (ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD),
    ):
        assert ps.login(client, login_, password).status_code == 302
        assert client.get(f"/portal/operadora/documentos/{doc_id}").status_code == 403
        assert client.get(f"{DOCS}/{doc_id}").status_code in (403, 404)
        assert client.get(f"/portal/operadora/solicitacoes/{request_id}").status_code == 403
        ps.logout(client)

    # Nor through the back office with a provider's web-service login.
    api = make_client(server_url, Staff(PROVIDER_A.cnpj, PROVIDER_A.password))[0].service
    assert fault_of(api.obterDocumentoCredenciamento, idDocumento=doc_id) == (
        "AutenticacaoInvalida",
        "login ou senha inválidos",
    )
    assert snapshot(gw, request_id) == before


def candidate_in_other(gw) -> int:
    """A second candidate, pre-approved (its documents page is open); its account id."""
    account = candidate_ready(gw, OTHER_CNPJ, "b@clinica.com.br")
    registration.submit(gw.db, account, ps.now())
    staff_id = ps.account_id(gw, ps.STAFF_LOGIN)
    queue.decide(gw.db, staff_id, ps.request_of(gw, account), "pre_approve", None, ps.now())
    return account
