"""The portal's refusals and rarer branches as a person meets them through Flask's test client:
forms posted with bad or missing values, records of someone else or that do not exist, steps
out of order, an upload too large, a return link pointing away from the portal, and what the
printed PDFs show for unusual but valid values. Every refusal leaves the database as it was."""

import os
import re
from dataclasses import replace

import pytest
from lxml import etree
from sqlalchemy import func, select, update
from werkzeug.test import Client

from gateway.app import build_app
from gateway.config import ConfigError
from gateway.services import typed_guides as typing
from gateway.services.admin import add_provider
from gateway.services.credentialing import documents, queue, registration, steps
from gateway.services.gateway import Gateway
from gateway.tiss.hashing import message_hash
from gateway.tiss.namespaces import q
from gateway.tiss.samples import SampleGuide, mensagem_tiss
from gateway.web import create_web_app
from storage import models
from storage.portal_models import (
    CredentialingAddress,
    CredentialingCity,
    CredentialingContact,
    CredentialingDocument,
    CredentialingRequest,
    Delegation,
)
from storage.typed_models import TypedGuide, TypedProtocol
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.test_typed_guides import GUIDE
from tests.tissclient import sample_lot

AREA = pa.AREA
CANDIDATE = "/portal/credenciamento"
RELATIONSHIPS = "/portal/conta/relacionamentos"
OTHER_CANDIDATE_CNPJ = "53614383844565"
NOT_FOUND_TEXT = "A página ou o registro procurado não existe."
PRE_LOCKED = "Os dados do prestador não podem ser alterados nesta etapa."
# In final review the final part was sent: the refusal says where the request is.
FINAL_LOCKED = "A solicitação está em análise final pela operadora"
# A provider registered by its CPF (a physician working alone), as `provider add --cpf` does.
DOCTOR_CPF = "39053344705"
DOCTOR_PASSWORD = "Senha@C789"


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


def shown_after(client, response) -> str:
    """The page a redirect leads to, with the messages flashed for it."""
    assert response.status_code == 302, ps.text(response)[:500]
    return ps.text(client.get(response.headers["Location"]))


def count(gw, model, *where) -> int:
    with gw.db.reading() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def request_status(gw, account: int) -> str:
    with gw.db.reading() as session:
        return session.scalar(
            select(CredentialingRequest.status).where(CredentialingRequest.account_id == account)
        )


def pre_approved(gw) -> int:
    account = ps.candidate_submitted(gw)
    staff = ps.make_staff(gw)
    queue.decide(gw.db, staff, ps.request_of(gw, account), "pre_approve", "Envie.", ps.now())
    return account


def login_candidate(client):
    assert ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD).status_code == 302


# Candidate's area --------------------------------------------------------------------------


def test_a_provider_added_by_the_operator_has_no_credentialing_pages(client, gw):
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    page = client.get(f"{CANDIDATE}/dados")
    assert page.status_code == 404 and NOT_FOUND_TEXT in ps.text(page)
    # The form was valid: it is the missing request that refuses it, with the same page.
    token = ps.csrf_token(client, "/portal/conta/")
    added = client.post(f"{CANDIDATE}/enderecos", data=dict(ps.ADDRESS, csrf_token=token))
    assert added.status_code == 404 and NOT_FOUND_TEXT in ps.text(added)
    assert count(gw, CredentialingAddress) == 0 and count(gw, CredentialingRequest) == 0


def test_a_provider_without_request_removing_an_item_is_told_there_is_none(client, gw):
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    removed = ps.post(client, f"{CANDIDATE}/endereco/1/remover", {}, token_from="/portal/conta/")
    assert removed.headers["Location"].endswith(f"{CANDIDATE}/dados")
    page = client.get(removed.headers["Location"])
    assert page.status_code == 404
    assert "Não há solicitação de credenciamento para esta conta." in ps.text(page)


def draft_with_address_and_contact(gw) -> int:
    account = registration.start(gw.db, ps.registration_form(), ps.now(), ps.ORIGIN)
    registration.add_address(gw.db, account, ps.ADDRESS, ps.now())
    registration.add_contact(gw.db, account, ps.CONTACT, ps.now())
    return account


def test_a_draft_candidate_removes_its_address_and_contact(client, gw):
    account = draft_with_address_and_contact(gw)
    login_candidate(client)
    data = f"{CANDIDATE}/dados"
    with gw.db.reading() as session:
        address = session.scalar(select(CredentialingAddress.id))
        contact = session.scalar(select(CredentialingContact.id))
    for kind, item in (("endereco", address), ("contato", contact)):
        removed = ps.post(client, f"{CANDIDATE}/{kind}/{item}/remover", {}, token_from=data)
        assert "Item removido." in shown_after(client, removed)
    assert count(gw, CredentialingAddress) == 0 and count(gw, CredentialingContact) == 0
    assert request_status(gw, account) == "draft"


def test_removing_another_candidates_address_leaves_it_in_place(client, gw):
    other = registration.start(
        gw.db, ps.registration_form(OTHER_CANDIDATE_CNPJ), ps.now(), ps.ORIGIN
    )
    registration.add_address(gw.db, other, ps.ADDRESS, ps.now())
    with gw.db.reading() as session:
        theirs = session.scalar(select(CredentialingAddress.id))
    registration.start(gw.db, ps.registration_form(), ps.now(), ps.ORIGIN)
    login_candidate(client)
    removed = ps.post(
        client, f"{CANDIDATE}/endereco/{theirs}/remover", {}, token_from=f"{CANDIDATE}/dados"
    )
    assert removed.headers["Location"].endswith(f"{CANDIDATE}/dados")
    assert count(gw, CredentialingAddress, CredentialingAddress.id == theirs) == 1


def test_a_submitted_candidate_cannot_remove_an_address(client, gw):
    account = ps.candidate_submitted(gw)
    login_candidate(client)
    with gw.db.reading() as session:
        address = session.scalar(select(CredentialingAddress.id))
    removed = ps.post(
        client, f"{CANDIDATE}/endereco/{address}/remover", {}, token_from=f"{CANDIDATE}/"
    )
    page = shown_after(client, removed)
    assert PRE_LOCKED in page and "Item removido." not in page
    assert count(gw, CredentialingAddress) == 1
    assert request_status(gw, account) == "submitted"


def test_a_pre_approved_candidate_removes_a_city(client, gw):
    account = pre_approved(gw)
    steps.add_city(gw.db, account, {"municipio": "Brasília", "uf": "DF"}, ps.now())
    steps.add_city(gw.db, account, {"municipio": "Goiânia", "uf": "GO"}, ps.now())
    login_candidate(client)
    with gw.db.reading() as session:
        goiania = session.scalar(
            select(CredentialingCity.id).where(CredentialingCity.municipio == "Goiânia")
        )
    page = f"{CANDIDATE}/complementar"
    removed = ps.post(client, f"{CANDIDATE}/cidades/{goiania}/remover", {}, token_from=page)
    assert removed.headers["Location"].endswith(page)
    shown = ps.text(client.get(page))
    assert "Cidade removida." in shown and "Goiânia" not in shown and "Brasília" in shown
    assert count(gw, CredentialingCity) == 1


def test_a_candidate_in_final_review_removing_a_city_is_told_why_not(client, gw):
    staff = ps.make_staff(gw)
    account = ps.candidate_in_final_review(gw, staff)
    login_candidate(client)
    with gw.db.reading() as session:
        city = session.scalar(select(CredentialingCity.id))
    removed = ps.post(client, f"{CANDIDATE}/cidades/{city}/remover", {}, token_from=f"{CANDIDATE}/")
    assert count(gw, CredentialingCity) == 1  # nothing removed, whatever the page
    assert request_status(gw, account) == "final_review"
    assert removed.status_code == 302, removed.status_code
    assert FINAL_LOCKED in shown_after(client, removed)


def test_a_pre_approved_candidate_removes_a_document(client, gw):
    account = pre_approved(gw)
    document = documents.upload(gw.db, account, "cnpj", "cnpj.pdf", ps.PDF, 10_000_000, ps.now())
    login_candidate(client)
    page = f"{CANDIDATE}/documentos"
    removed = ps.post(client, f"{page}/{document}/remover", {}, token_from=page)
    assert "Documento removido." in shown_after(client, removed)
    assert count(gw, CredentialingDocument) == 0


def test_a_candidate_in_final_review_cannot_remove_a_document(client, gw):
    staff = ps.make_staff(gw)
    account = ps.candidate_in_final_review(gw, staff)
    login_candidate(client)
    with gw.db.reading() as session:
        document = session.scalar(select(CredentialingDocument.id))
    page = f"{CANDIDATE}/documentos"
    removed = ps.post(client, f"{page}/{document}/remover", {}, token_from=f"{CANDIDATE}/")
    assert removed.headers["Location"].endswith(page)
    shown = ps.text(client.get(page))
    assert FINAL_LOCKED in shown and "Documento removido." not in shown
    assert count(gw, CredentialingDocument) == 4
    assert request_status(gw, account) == "final_review"


def test_the_final_submission_lists_what_is_missing(client, gw):
    account = pre_approved(gw)
    login_candidate(client)
    response = ps.post(client, f"{CANDIDATE}/envio", {})
    assert response.status_code == 422
    page = ps.text(response)
    for missing in (
        "Preencha a Identificação Complementar.",
        "Informe ao menos uma cidade de atuação.",
        "Informe o Responsável Técnico.",
        "Envie os documentos: ",
    ):
        assert missing in page
    assert request_status(gw, account) == "pre_approved"


# Relacionamentos ----------------------------------------------------------------------------


def provider_id(gw, cnpj: str) -> int:
    with gw.db.reading() as session:
        return session.scalar(select(models.Provider.id).where(models.Provider.cnpj == cnpj))


def invited_delegate(gw) -> int:
    """A Secretária/o account invited by PROVIDER_A, not yet answered; returns the invitation."""
    return ps.invite_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])[1]


def delegation_status(gw, delegation_id: int) -> str:
    with gw.db.reading() as session:
        return session.get(Delegation, delegation_id).status


@pytest.mark.parametrize(
    ("provider", "roles", "message"),
    [
        ("abc", ["faturamento"], "Dados inválidos."),
        (PROVIDER_A.cnpj, [], "Escolha ao menos um papel."),
        (
            PROVIDER_B.cnpj,
            ["faturamento"],
            "Você não pode gerenciar os relacionamentos deste prestador.",
        ),
    ],
    ids=["provider-not-a-number", "no-role", "another-providers"],
)
def test_a_refused_invitation_says_why_and_creates_nothing(client, gw, provider, roles, message):
    invited_delegate(gw)  # the person exists: only the form is wrong
    before = count(gw, Delegation)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    chosen = provider_id(gw, provider) if provider.isdigit() else provider
    response = ps.post(
        client,
        f"{RELATIONSHIPS}/convidar",
        {"provider_id": chosen, "who": ps.DELEGATE_EMAIL, "roles": roles},
        token_from=RELATIONSHIPS,
    )
    page = shown_after(client, response)
    assert message in page and "Convite enviado. A pessoa" not in page
    assert count(gw, Delegation) == before


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("31-12-2030", "informe uma data válida, como 31/12/2026"),
        ("2020-01-01", "A data final deve ser hoje ou depois."),
    ],
    ids=["not-a-date", "in-the-past"],
)
def test_accepting_with_a_wrong_end_date_keeps_the_invitation_open(client, gw, until, message):
    invitation = invited_delegate(gw)
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    response = ps.post(
        client,
        f"{RELATIONSHIPS}/{invitation}/responder",
        {"answer": "accept", "period": "until", "until": until},
        token_from=RELATIONSHIPS,
    )
    page = shown_after(client, response)
    assert message in page and "Convite aceito." not in page
    assert delegation_status(gw, invitation) == "invited"


def test_answering_an_invitation_that_does_not_exist_is_refused(client, gw):
    invitation = invited_delegate(gw)
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    response = ps.post(
        client,
        f"{RELATIONSHIPS}/{invitation + 1000}/responder",
        {"answer": "decline"},
        token_from=RELATIONSHIPS,
    )
    assert "Convite não encontrado ou já respondido." in shown_after(client, response)
    assert delegation_status(gw, invitation) == "invited"


def test_another_provider_cannot_end_a_relationship(client, gw):
    invitation = invited_delegate(gw)
    ps.login(client, PROVIDER_B.cnpj, PROVIDER_B.password)
    for target in (invitation, invitation + 1000):
        response = ps.post(
            client, f"{RELATIONSHIPS}/{target}/encerrar", {}, token_from=RELATIONSHIPS
        )
        page = shown_after(client, response)
        assert "Relacionamento não encontrado ou já encerrado." in page
        assert "Relacionamento encerrado." not in page
    assert delegation_status(gw, invitation) == "invited"


# Login, session and errors of the whole portal --------------------------------------------


def test_login_returns_to_the_portal_page_that_asked_for_it(client):
    asked = client.get("/portal/conta/")
    login_page = asked.headers["Location"]
    assert "next=" in login_page
    response = ps.post(
        client, login_page, {"login": PROVIDER_A.cnpj, "password": PROVIDER_A.password}
    )
    assert response.headers["Location"].startswith("/portal/conta/")
    assert "Minha conta" in ps.text(client.get(response.headers["Location"]))


@pytest.mark.parametrize(
    "target",
    [
        "https://phishing.example/portal/",
        "//phishing.example/portal/",
        "/portal/\\phishing.example",
        "/outra-aplicacao/",
    ],
)
def test_login_never_sends_to_another_site(client, target):
    response = ps.post(
        client,
        "/portal/entrar",
        {"login": PROVIDER_A.cnpj, "password": PROVIDER_A.password},
        query_string={"next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{AREA}/"


def test_an_upload_larger_than_the_gateway_accepts_gets_a_portuguese_page(gw):
    # Both limits low: past every file the portal takes (a TISS file or a document), the body is
    # cut before any view reads it.
    limits = replace(
        gw.settings,
        max_message_bytes=64 * 1024,
        portal=replace(gw.settings.portal, max_upload_bytes=64 * 1024),
    )
    small = Gateway(settings=limits, db=gw.db, schemas=gw.schemas)
    client = Client(build_app(small))
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    response = pa.upload(client, pa.lot_file(PROVIDER_A, "BIG") + b" " * (128 * 1024))
    assert response.status_code == 413
    page = ps.text(response)
    assert "Arquivo grande demais" in page and "O arquivo enviado é grande demais." in page
    assert count(gw, models.Message) == 0


def test_without_a_writable_var_dir_the_portal_refuses_to_start(gw, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings = replace(gw.settings, var_dir=blocker / "var")
    with pytest.raises(ConfigError, match="TISS_SECRET_KEY not set"):
        build_app(Gateway(settings=settings, db=gw.db, schemas=gw.schemas))


def test_a_worker_that_loses_the_race_for_the_secret_key_uses_the_winners(
    gw, tmp_path, monkeypatch
):
    var_dir = tmp_path / "workers"
    key_file = var_dir / "secret_key"
    winner = "f" * 64
    real_open = os.open

    def other_worker_first(path, flags, *args):
        # The other worker writes the file between this one's exists() and its O_EXCL open.
        if str(path) == str(key_file):
            key_file.write_text(winner)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", other_worker_first)
    settings = replace(gw.settings, var_dir=var_dir)
    app = create_web_app(Gateway(settings=settings, db=gw.db, schemas=gw.schemas))
    assert app.config["SECRET_KEY"] == winner
    assert key_file.read_text() == winner


# Operator staff ---------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, gw):
    ps.make_staff(gw)
    assert ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD).status_code == 302
    return client


def test_staff_asking_for_a_request_that_does_not_exist_gets_not_found(staff_client):
    response = staff_client.get("/portal/operadora/solicitacoes/999999")
    assert response.status_code == 404
    assert "<h1>Não encontrada</h1>" in ps.text(response)


@pytest.mark.parametrize("typed", ["00000000000000", ps.STAFF_LOGIN])
def test_staff_accounts_page_finds_no_account_to_manage(staff_client, gw, typed):
    page = ps.text(staff_client.get("/portal/operadora/contas", query_string={"login": typed}))
    assert "Nenhuma conta de prestador ou Secretária/o com esse login." in page
    # A staff account is not managed here: deactivating it by this form changes nothing.
    ps.post(
        staff_client,
        "/portal/operadora/contas",
        {"login": typed, "action": "deactivate"},
        token_from="/portal/operadora/contas",
    )
    with gw.db.reading() as session:
        assert session.scalar(
            select(models.Account.active).where(models.Account.login == ps.STAFF_LOGIN)
        )


# Digitação de Guias -----------------------------------------------------------------------


@pytest.fixture
def typist(client, gw):
    pa.beneficiaries(gw)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    return client


def typed_guide(client, protocol_url: str, **changes) -> None:
    saved = ps.post(client, f"{protocol_url}/guias/nova", dict(GUIDE, **changes))
    assert saved.status_code == 302, ps.text(saved)[-800:]


def typed_status(gw, protocol_url: str) -> str:
    with gw.db.reading() as session:
        return session.get(TypedProtocol, int(protocol_url.rsplit("/", 1)[1])).status


def test_a_guide_type_that_cannot_be_typed_opens_no_protocol(typist, gw):
    response = ps.post(
        typist, f"{AREA}/digitacao/novo", {"guide_type": "guiaSP-SADT"}, token_from=f"{AREA}/"
    )
    assert response.headers["Location"].endswith(f"{AREA}/digitacao")
    assert "Escolha o tipo de guia." in shown_after(typist, response)
    assert count(gw, TypedProtocol) == 0


def test_a_guide_of_another_protocol_or_none_is_not_found(typist, gw):
    first = pa.open_protocol(typist)
    typed_guide(typist, first)
    ps.post(typist, f"{first}/finalizar", {}, token_from=first)
    second = pa.open_protocol(typist)
    assert second != first
    with gw.db.reading() as session:
        guide = session.scalar(select(TypedGuide.id))
    for url in (f"{second}/guias/{guide}", f"{first}/guias/{guide + 1000}"):
        response = typist.get(url)
        assert response.status_code == 404 and NOT_FOUND_TEXT in ps.text(response), url
    # Its own protocol shows it.
    assert "Dra. Conceição Araújo" in ps.text(typist.get(f"{first}/guias/{guide}"))


def test_correcting_a_guide_that_does_not_exist_writes_nothing(typist, gw):
    protocol_url = pa.open_protocol(typist)
    typed_guide(typist, protocol_url)
    with gw.db.reading() as session:
        guide = session.scalar(select(TypedGuide.id))
    response = ps.post(
        typist,
        f"{protocol_url}/guias/{guide + 1000}",
        dict(GUIDE, numero_guia_prestador="C0099", valor_procedimento="1,00"),
        token_from=f"{protocol_url}/guias/nova",
    )
    assert response.status_code == 404 and NOT_FOUND_TEXT in ps.text(response)
    with gw.db.reading() as session:
        assert session.scalars(select(TypedGuide.numero_guia_prestador)).all() == ["C0001"]


def test_removing_a_guide_that_does_not_exist_is_not_found(typist, gw):
    protocol_url = pa.open_protocol(typist)
    typed_guide(typist, protocol_url)
    with gw.db.reading() as session:
        guide = session.scalar(select(TypedGuide.id))
    response = ps.post(
        typist, f"{protocol_url}/guias/{guide + 1000}/remover", {}, token_from=protocol_url
    )
    assert response.status_code == 404 and NOT_FOUND_TEXT in ps.text(response)
    assert count(gw, TypedGuide) == 1


def test_finishing_another_providers_protocol_is_not_found(typist, gw):
    protocol_url = pa.open_protocol(typist)
    typed_guide(typist, protocol_url)
    ps.logout(typist)
    ps.login(typist, PROVIDER_B.cnpj, PROVIDER_B.password)
    response = ps.post(typist, f"{protocol_url}/finalizar", {}, token_from=f"{AREA}/")
    assert response.status_code == 404
    assert typed_status(gw, protocol_url) == typing.OPEN


def test_only_a_finished_protocol_is_reopened(typist, gw):
    protocol_url = pa.open_protocol(typist)
    response = ps.post(typist, f"{protocol_url}/reabrir", {}, token_from=protocol_url)
    page = shown_after(typist, response)
    assert "Só um protocolo finalizado e não enviado é reaberto." in page
    assert "Protocolo reaberto" not in page
    assert typed_status(gw, protocol_url) == typing.OPEN


def test_a_protocol_still_being_typed_is_not_sent(typist, gw):
    protocol_url = pa.open_protocol(typist)
    typed_guide(typist, protocol_url)
    response = ps.post(typist, f"{protocol_url}/enviar", {}, token_from=protocol_url)
    assert "Finalize a digitação antes de enviar." in shown_after(typist, response)
    assert typed_status(gw, protocol_url) == typing.OPEN
    assert count(gw, models.Message) == 0


def test_a_guide_no_longer_valid_stops_the_sending_with_its_number(typist, gw):
    protocol_url = pa.open_protocol(typist)
    typed_guide(typist, protocol_url)
    ps.post(typist, f"{protocol_url}/finalizar", {}, token_from=protocol_url)
    # As if the CBO table had dropped the code after the guide was typed and finished.
    with gw.db.transaction() as session:
        fields = session.scalar(select(TypedGuide.fields))
        session.execute(update(TypedGuide).values(fields=fields.replace('"225125"', '"123456"')))
    response = ps.post(typist, f"{protocol_url}/enviar", {}, token_from=protocol_url)
    assert response.headers["Location"].endswith(protocol_url)
    page = ps.text(typist.get(protocol_url))
    assert "Guia C0001: código CBO inválido. Reabra e corrija a guia." in page
    assert typed_status(gw, protocol_url) == typing.FINISHED
    assert count(gw, models.Message) == 0


def test_a_provider_known_by_its_cpf_sends_typed_guides_and_prints_its_cpf(client, gw):
    add_provider(
        gw.db, cpf=DOCTOR_CPF, code="PRESTCPF", name="Dr. Paulo Autônomo", password=DOCTOR_PASSWORD
    )
    assert ps.login(client, DOCTOR_CPF, DOCTOR_PASSWORD).status_code == 302
    protocol_url = pa.open_protocol(client)
    typed_guide(client, protocol_url)
    ps.post(client, f"{protocol_url}/finalizar", {}, token_from=protocol_url)
    sent = ps.post(client, f"{protocol_url}/enviar", {}, token_from=protocol_url)
    assert sent.status_code == 200, ps.text(sent)[-1500:]
    numero = re.search(r'data-testid="protocolo">(\d{12})<', ps.text(sent)).group(1)
    with gw.db.reading() as session:
        raw = session.scalar(select(models.Message.raw_request))
    origem = etree.fromstring(raw).find("{*}cabecalho/{*}origem/{*}identificacaoPrestador")
    assert [(etree.QName(e).localname, e.text) for e in origem] == [("CPF", DOCTOR_CPF)]
    capa = client.get(f"{AREA}/capa-de-lote/{numero}.pdf")
    assert capa.status_code == 200
    assert "390.533.447-05" in pa.pdf_text(capa.data)


# What pages and PDFs show for unusual but valid values ------------------------------------


def lot_bytes(provider, numero: str, guide: SampleGuide, edit=None) -> bytes:
    """An SP/SADT lot file of one guide, `edit`ed before its hash is computed."""
    lot = sample_lot(
        provider, numero, registro_ans=REGISTRO_ANS, login=None, guide_type="guiaSP-SADT"
    )
    lot.guides = [guide]
    root = mensagem_tiss(lot)
    if edit is not None:
        edit(root)
        root.remove(root.find("{*}epilogo"))
        etree.SubElement(etree.SubElement(root, q("epilogo")), q("hash")).text = message_hash(root)
    return etree.tostring(root, encoding="ISO-8859-1", xml_declaration=True)


def uploaded_protocol(client, data: bytes) -> str:
    response = pa.upload(client, data)
    assert response.status_code == 200, ps.text(response)[-1500:]
    return re.search(r'data-testid="protocolo">(\d{12})<', ps.text(response)).group(1)


def test_a_guide_without_a_date_shows_a_dash_on_the_status_page(client, gw):
    def without_procedures(root):
        for procedures in list(root.iter("{*}procedimentosExecutados")):
            procedures.getparent().remove(procedures)

    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    numero = uploaded_protocol(
        client, lot_bytes(PROVIDER_A, "SEMDATA", SampleGuide("G000001"), without_procedures)
    )
    page = ps.text(client.get(f"{AREA}/status", query_string={"protocolo": numero}))
    assert "G000001" in page and '<td class="nowrap">—</td>' in page


ZONED_DATE = "2026-11-03-03:00"  # an xs:date with its time zone, valid under st_data


def test_a_lot_dated_with_a_time_zone_is_accepted(client, gw):
    # guides.data_realizacao holds the day (10 characters): PostgreSQL refused the longer text
    # and the upload ended in 'erro inesperado no servidor'.
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    data = lot_bytes(PROVIDER_A, "COMFUSO", SampleGuide("G000001", data=ZONED_DATE))
    response = pa.upload(client, data)
    assert "erro inesperado no servidor" not in ps.text(response)
    assert response.status_code == 200
    numero = re.search(r'data-testid="protocolo">(\d{12})<', ps.text(response)).group(1)
    status = ps.text(client.get(f"{AREA}/status", query_string={"protocolo": numero}))
    assert '<td class="nowrap">03/11/2026</td>' in status


def test_a_date_with_a_time_zone_is_printed_the_brazilian_way(client, gw):
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    numero = uploaded_protocol(
        client, lot_bytes(PROVIDER_A, "COMFUSO", SampleGuide("G000001", data=ZONED_DATE))
    )
    capa = pa.pdf_text(client.get(f"{AREA}/capa-de-lote/{numero}.pdf").data)
    assert "G000001" in capa
    assert ZONED_DATE not in capa
    assert "03/11/2026" in capa


@pytest.mark.parametrize(
    ("card", "beneficiary", "reasons"),
    [
        (
            pa.CANCELLED_CARD,
            "Beneficiário\nJoão Desligado",
            [
                "1006 – ATENDIMENTO APÓS O DESLIGAMENTO DO BENEFICIÁRIO",
                "1017 – DATA DE VALIDADE DA CARTEIRA VENCIDA",
            ],
        ),
        ("99999999", "Beneficiário\n—", ["1001 – NÚMERO DA CARTEIRA INVÁLIDO"]),
    ],
    ids=["cancelled", "unknown"],
)
def test_an_ineligible_card_prints_the_reasons(client, gw, card, beneficiary, reasons):
    pa.beneficiaries(gw)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    response = ps.post(
        client,
        f"{AREA}/elegibilidade/comprovante",
        {"carteira": card},
        token_from=f"{AREA}/elegibilidade",
    )
    assert response.status_code == 200
    shown = pa.pdf_text(response.data)
    assert "Resultado\nINELEGÍVEL\n" in shown and beneficiary in shown
    assert f"Carteira\n{card}\n" in shown
    assert "Motivos\n" + "\n".join(reasons) + "\n" in shown
