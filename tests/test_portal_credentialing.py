"""The credentialing path through the portal's pages (Flask test client), the operator's
decisions with who/when/why, document upload rules, and the credentialed provider's first lot
on tissLoteGuias with the portal's login and password."""

import pytest
from sqlalchemy import select

from gateway.services.credentialing import queue
from gateway.services.validation import InvalidInput
from gateway.tiss.samples import lote_guias_ws
from storage.models import Account, Provider
from storage.portal_models import CredentialingDecision, CredentialingDocument
from tests import portal_support as ps
from tests.conftest import REGISTRO_ANS
from tests.tissclient import Provider as TissProvider
from tests.tissclient import post as post_soap
from tests.tissclient import sample_lot


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


def test_public_pages_render(client):
    for path in (
        "/portal/",
        "/portal/entrar",
        "/portal/credenciamento/auto-cadastro",
        "/portal/esqueci-senha",
        "/portal/secretaria/criar-conta",
        "/portal/termos",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Portal do Prestador" in ps.text(response)
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    css = client.get("/portal/static/portal.css")
    assert css.status_code == 200 and css.mimetype == "text/css"


def test_registration_checks_the_document_and_the_account_data(client):
    bad = ps.registration_form(
        document="52601815908360",
        email_confirm="outro@x.com",
        password="fraca",
        password_confirm="fraca",
        terms="",
    )
    response = ps.post(client, "/portal/credenciamento/auto-cadastro", bad)
    assert response.status_code == 422
    page = ps.text(response)
    assert "CNPJ inválido" in page
    assert "A confirmação não confere com o e-mail." in page
    assert "A senha deve ter ao menos 8 caracteres" in page
    assert "aceitar os termos" in page


def test_alphanumeric_cnpj_is_accepted(client, gw):
    form = ps.registration_form(document="12.ABC.345/01DE-35")
    response = ps.post(client, "/portal/credenciamento/auto-cadastro", form)
    assert response.status_code == 302
    assert ps.account_id(gw, "12ABC34501DE35") is not None


def test_an_existing_provider_cannot_register_again(client):
    form = ps.registration_form(document="11.222.333/0001-81")  # PROVIDER_A of conftest
    response = ps.post(client, "/portal/credenciamento/auto-cadastro", form)
    assert response.status_code == 422
    assert "já é de um prestador credenciado" in ps.text(response)


def test_the_whole_path_through_the_pages(client, gw):
    # 1. Auto Cadastro: the account is created and the candidate is logged in.
    response = ps.post(client, "/portal/credenciamento/auto-cadastro", ps.registration_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/portal/credenciamento/dados")
    # 2. Provider data, an address, a contact; submitting before that is refused.
    early = ps.post(
        client, "/portal/credenciamento/enviar", {}, token_from="/portal/credenciamento/dados"
    )
    assert early.status_code == 302
    assert "Informe ao menos um endereço" in ps.text(client.get("/portal/credenciamento/dados"))
    data = "/portal/credenciamento/dados"
    assert ps.post(client, data, ps.PROVIDER_DATA).status_code == 302
    assert (
        ps.post(client, "/portal/credenciamento/enderecos", ps.ADDRESS, token_from=data).status_code
        == 302
    )
    assert (
        ps.post(client, "/portal/credenciamento/contatos", ps.CONTACT, token_from=data).status_code
        == 302
    )
    assert ps.post(client, "/portal/credenciamento/enviar", {}, token_from=data).status_code == 302
    overview = ps.text(client.get("/portal/credenciamento/"))
    assert "Aguardando análise da operadora" in overview
    # Steps after the pre-approval are closed until then.
    closed = ps.post(client, "/portal/credenciamento/responsavel-tecnico", ps.REPRESENTATIVE)
    assert closed.status_code == 422
    ps.logout(client)

    # 3. The operator pre-approves with a message the candidate sees.
    staff = ps.make_staff(gw)
    assert ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD).status_code == 302
    queue_page = ps.text(client.get("/portal/operadora/"))
    assert "Clínica Exemplo Ltda" in queue_page
    request_id = ps.request_of(gw, ps.account_id(gw, ps.CANDIDATE_CNPJ))
    page = f"/portal/operadora/solicitacoes/{request_id}"
    decision = f"{page}/decisao"
    refused = ps.post(
        client, decision, {"action": "request_complement", "reason": ""}, token_from=page
    )
    assert refused.status_code == 422
    ok = ps.post(
        client,
        decision,
        {"action": "pre_approve", "reason": "Anexe o contrato social e o alvará."},
        token_from=page,
    )
    assert ok.status_code == 302
    ps.logout(client)

    # 4. The candidate sees the "Atenção!" box and completes the steps.
    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    overview = ps.text(client.get("/portal/credenciamento/"))
    assert "Atenção!" in overview and "Anexe o contrato social e o alvará." in overview
    comp = "/portal/credenciamento/complementar"
    response = ps.post(
        client,
        comp,
        {
            "tipo_estabelecimento": "clinica",
            "grau_complexidade": "alta",
            "rede": ["credenciados"],
            "questionario": ["uti", "tomografia"],
        },
    )
    assert response.status_code == 302
    ps.post(
        client,
        "/portal/credenciamento/cidades",
        {"municipio": "Brasília", "uf": "DF"},
        token_from=comp,
    )
    rep = "/portal/credenciamento/responsavel-tecnico"
    assert ps.post(client, rep, ps.REPRESENTATIVE).status_code == 302
    docs = "/portal/credenciamento/documentos"
    for doc_type in ("curriculo_crm", "cnpj", "alvara_funcionamento", "contrato_social"):
        response = ps.post(
            client,
            docs,
            {"doc_type": doc_type, "file": (ps.io_bytes(ps.PDF), f"{doc_type}.pdf")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302, ps.text(response)
    final = "/portal/credenciamento/envio"
    assert ps.post(client, final, {}).status_code == 302
    assert "Aguardando aprovação final" in ps.text(client.get("/portal/credenciamento/"))
    ps.logout(client)

    # 5. Final approval makes the candidate a provider with a codigoPrestadorNaOperadora.
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    detail = ps.text(client.get(page))
    assert "Dr. João Lima" in detail and "contrato_social.pdf" in detail
    ps.post(client, decision, {"action": "approve", "code": "CLIN0042"}, token_from=page)
    ps.logout(client)
    with gw.db.reading() as session:
        provider = session.scalar(select(Provider).where(Provider.cnpj == ps.CANDIDATE_CNPJ))
        assert provider.codigo_na_operadora == "CLIN0042"
        assert provider.status == "approved" and provider.cnes == "1234567"
        decisions = session.scalars(
            select(CredentialingDecision).order_by(CredentialingDecision.id)
        ).all()
        assert [d.action for d in decisions] == [
            "create",
            "submit",
            "pre_approve",
            "submit",
            "approve",
        ]
        assert decisions[2].actor_account_id == staff
        assert decisions[2].actor_login == ps.STAFF_LOGIN
        assert decisions[2].reason == "Anexe o contrato social e o alvará."
        assert all(d.decided_at is not None for d in decisions)

    # 6. The same login and password work on tissLoteGuias.
    tiss = TissProvider(ps.CANDIDATE_CNPJ, "CLIN0042", "Clínica Exemplo", ps.CANDIDATE_PASSWORD)
    answer = post_soap(client, lote_guias_ws(sample_lot(tiss, "1", registro_ans=REGISTRO_ANS)))
    assert not answer.is_fault and answer.protocol


def test_decisions_follow_the_status(gw):
    staff = ps.make_staff(gw)
    account = ps.candidate_submitted(gw)
    request_id = ps.request_of(gw, account)
    with pytest.raises(InvalidInput, match="não se aplica"):
        queue.decide(gw.db, staff, request_id, "approve", None, ps.now(), code="X1")
    with pytest.raises(InvalidInput):  # only staff decide
        queue.decide(gw.db, account, request_id, "pre_approve", None, ps.now())
    assert queue.decide(gw.db, staff, request_id, "reject", "CNES inexistente", ps.now()) == (
        "rejected"
    )
    view = queue.detail(gw.db, request_id)
    assert view.status == "rejected"
    assert view.operator_message.reason == "CNES inexistente"


def test_complement_sends_the_candidate_back_to_the_right_part(gw):
    staff = ps.make_staff(gw)
    account = ps.candidate_in_final_review(gw, staff)
    request_id = ps.request_of(gw, account)
    queue.decide(gw.db, staff, request_id, "request_complement", "Falta o CNES.", ps.now())
    view = queue.detail(gw.db, request_id)
    assert view.status == "complement_requested" and view.complement_phase == "final"
    assert view.editing_final and not view.editing_pre


def test_candidate_is_told_by_mail(gw, tmp_path):
    staff = ps.make_staff(gw)
    request_id = ps.request_of(gw, ps.candidate_submitted(gw))
    from gateway.services.mail import Mailer

    mailer = Mailer(ps.PORTAL_SETTINGS.mail, tmp_path)
    queue.decide(
        gw.db, staff, request_id, "request_complement", "Envie o CNES.", ps.now(), mailer=mailer
    )
    (mail,) = (tmp_path / "outbox").glob("*.eml")
    content = mail.read_text()
    assert "contato@clinicaexemplo.com.br" in content and "Envie o CNES." in content


def test_upload_refuses_other_types_and_large_files(client, gw):
    staff = ps.make_staff(gw)
    account = ps.candidate_submitted(gw)
    queue.decide(gw.db, staff, ps.request_of(gw, account), "pre_approve", None, ps.now())
    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    docs = "/portal/credenciamento/documentos"

    def upload(content: bytes, name: str, mimetype: str):
        file = (ps.io_bytes(content), name, mimetype)
        return ps.post(
            client, docs, {"doc_type": "cnpj", "file": file}, content_type="multipart/form-data"
        )

    # The name and the browser's claim say PDF; the bytes say HTML.
    fake = upload(b"<html><script>alert(1)</script></html>", "cnpj.pdf", "application/pdf")
    assert fake.status_code == 422 and "PDF, JPEG ou PNG" in ps.text(fake)
    exe = upload(b"MZ\x90\x00" + b"\0" * 100, "cnpj.png", "image/png")
    assert exe.status_code == 422
    big = upload(ps.PDF + b"0" * ps.PORTAL_SETTINGS.max_upload_bytes, "big.pdf", "application/pdf")
    assert big.status_code == 422 and "limite" in ps.text(big)
    png = upload(ps.PNG, "cartão CNPJ.png", "application/octet-stream")
    assert png.status_code == 302
    with gw.db.reading() as session:
        (doc,) = session.scalars(select(CredentialingDocument)).all()
        assert doc.content_type == "image/png" and len(doc.sha256) == 64
        doc_id = doc.id
    download = client.get(f"{docs}/{doc_id}")
    assert download.status_code == 200 and download.data == ps.PNG
    assert download.headers["Content-Type"] == "image/png"
    # Saved under the name it was sent with; browsers without filename* get it without accents.
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"cartao CNPJ.png\"; filename*=UTF-8''cart%C3%A3o%20CNPJ.png"
    )


def test_documents_are_private(client, gw):
    staff = ps.make_staff(gw)
    account = ps.candidate_in_final_review(gw, staff)
    with gw.db.reading() as session:
        doc_id = session.scalars(select(CredentialingDocument.id)).first()
    other = ps.registration_form(
        document="01661318609164", email="b@b.com", email_confirm="b@b.com"
    )
    ps.post(client, "/portal/credenciamento/auto-cadastro", other)
    assert client.get(f"/portal/credenciamento/documentos/{doc_id}").status_code == 404
    assert client.get(f"/portal/operadora/documentos/{doc_id}").status_code == 403
    ps.logout(client)
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    assert client.get(f"/portal/operadora/documentos/{doc_id}").data == ps.PDF
    assert account


def test_staff_pages_need_staff(client, gw):
    ps.candidate_submitted(gw)
    assert client.get("/portal/operadora/").status_code == 302  # to the login page
    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    assert client.get("/portal/operadora/").status_code == 403
    with gw.db.reading() as session:
        assert session.scalar(select(Account.kind).where(Account.login == ps.CANDIDATE_CNPJ)) == (
            "provider"
        )


def test_pessoa_fisica_registers_with_its_cpf(client, gw):
    form = ps.registration_form(person_kind="PF", document="937.865.797-41", name="Dra. Ana Lima")
    response = ps.post(client, "/portal/credenciamento/auto-cadastro", form)
    assert response.status_code == 302
    page = ps.text(client.get("/portal/credenciamento/dados"))
    assert "937.865.797-41" in page and "Tipo de CNPJ" not in page
    bad = ps.registration_form(person_kind="PF", document="11222333000181")
    refused = ps.post(client, "/portal/credenciamento/auto-cadastro", bad)
    assert refused.status_code == 422 and "CPF" in ps.text(refused)
    with gw.db.reading() as session:
        assert session.scalar(select(Account.kind).where(Account.login == "93786579741")) == (
            "provider"
        )
