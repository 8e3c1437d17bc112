"""Language audit: what a provider, a Secretária/o or the operator's staff reads in the portal
(pages of every role and status, error pages, form messages, flashes, PDFs, workbooks, e-mails)
is correct Brazilian Portuguese: no English defaults nor Python reprs, DD/MM/AAAA in Brazil's
time, R$ 1.234,56, lang pt-BR, a <title>, no mojibake, right status codes. Problems found are
strict xfails naming the file and the text shown."""

import email
import html
import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.header import decode_header, make_header

import lxml.html
import pytest
from sqlalchemy import select
from werkzeug.test import Client

from gateway.app import build_app
from gateway.config_portal import PortalSettings
from gateway.services.accounts import delegation
from gateway.services.credentialing import queue, registration
from gateway.services.gateway import Gateway
from gateway.services.mail import Mailer
from gateway.tiss.samples import lote_guias_ws
from storage import models
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.test_soap_queries import analyse, pay
from tests.tissclient import post as post_soap
from tests.tissclient import sample_lot

AREA = pa.AREA
OTHER_CNPJ = "33444555000181"
# A Guia de Consulta every check accepts (as in tests/test_typed_guides.py), field=value.
GUIDE = dict(
    pair.split("=")
    for pair in f"numero_guia_prestador=C0001 numero_carteira={pa.ACTIVE_CARD} cnes=2077485 "
    "conselho=06 numero_conselho=123456 uf_conselho=53 cbos=225125 indicacao_acidente=9 "
    "data_atendimento=10/11/2026 tipo_consulta=1 regime_atendimento=01 codigo_tabela=22 "
    "codigo_procedimento=10101012 valor_procedimento=1.234,56".split()
)
SCHEMA_ERROR = (b"<ans:indicacaoAcidente>9<", b"<ans:indicacaoAcidente>7<")


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


# --- what a person reads, and what must not be in it -----------------------------------------
# English of Werkzeug, Flask-WTF, Flask-Limiter and libxml2, and Python values as text; none is
# Portuguese, nor a code name the portal uses (XML, PDF, TISS, CNPJ, login, e-mail, hash, status).
CHECKS = {
    "inglês": re.compile(
        r"\b(?:the|is|not|of|and|with|must|should|cannot|please|value|field|required|allowed|"
        r"expected|content|character|attribute|element|invalid|error|found|requests?|method|"
        r"entity|large|many|internal|server|forbidden|unauthorized|gone|token|minute|hour|per|"
        r"none|true|false|null|undefined|nan|redirecting|datetime|traceback|exception)\b",
        re.IGNORECASE,
    ),
    "repr": re.compile(r"\[\s*'|\{\s*'|Decimal\(|datetime\.|object at 0x|\{https?://"),
    "data/hora ISO": re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\d\d:\d\d:\d\d|T\d\d:\d\d|[+-]0\d:00\b"),
    "mojibake": re.compile("Ã[\u0080-\u00bf]|Â[\u0080-\u00bf]|â€|\ufffd"),
    "decimal com ponto": re.compile(r"(?<![\d.,])\d+\.\d{2}(?![\d.,])"),  # not 4.03.00, 1.234
}
MONEY = re.compile(r"R\$\s*-?[\d.,]+")
RIGHT_MONEY = re.compile(r"R\$ -?\d{1,3}(?:\.\d{3})*,\d{2}")


def problems(text: str) -> list[str]:
    """Everything in `text` a Brazilian reader should not meet (links left aside)."""
    text = re.sub(r"https?://\S+", "", text)
    found = [(name, m) for name, check in CHECKS.items() for m in check.finditer(text)]
    found += [
        ("dinheiro", m)
        for m in MONEY.finditer(text)
        if not RIGHT_MONEY.fullmatch(m.group(0).rstrip(".,"))
    ]
    return [f"{name}: …{text[max(0, m.start() - 60) : m.end() + 60]}…" for name, m in found]


def read(response, status: int) -> str:
    """The text a person reads on a portal page (text, title, aria-label, alt, placeholder),
    once the page is checked as a whole: status, lang and title."""
    body = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, body[:600])
    assert response.mimetype == "text/html"
    root = lxml.html.document_fromstring(body)
    assert root.get("lang") == "pt-BR", root.get("lang")
    title = root.findtext(".//title") or ""
    assert title.split("·")[0].strip(), title
    shown = root.xpath("//@title | //@aria-label | //@alt | //@placeholder")
    return " ".join(" ".join([*root.itertext(), *shown]).split())


def clean(response, status: int, *expected: str) -> str:
    text = read(response, status)
    assert not problems(text), problems(text)
    for words in expected:
        assert words in text, (words, text[:2000])
    return text


def follow(client, response, status: int = 200, *expected: str) -> str:
    """A form answered with a redirect: the page it leads to, with its flash message."""
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return clean(client.get(response.headers["Location"]), status, *expected)


def outbox(tmp_path) -> list[tuple[str, str]]:
    """(subject, body) of every mail written (in no set order: names start with the second)."""
    mails = []
    for path in (tmp_path / "outbox").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        subject = str(make_header(decode_header(message["Subject"])))
        mails.append((subject, message.get_payload(decode=True).decode("utf-8")))
    return mails


def small_gateway(gw, **portal) -> Gateway:
    """Both file limits small (a TISS file and a credentialing document), unless given."""
    portal = {"max_upload_bytes": 1024, **portal}
    portal_settings = PortalSettings(cookie_secure=False, **portal)
    settings = replace(gw.settings, max_message_bytes=1024, portal=portal_settings)
    return Gateway(settings=settings, db=gw.db, schemas=gw.schemas)


def analysed_and_paid(client, gw) -> str:
    """A protocol of provider A received at 01:30 UTC of 03/11/2026 (22:30 of 02/11 in Brazil),
    analysed with an item glosa and a guide glosa above a thousand reais, and paid."""
    page = ps.text(pa.upload(client, pa.lot_file(PROVIDER_A, "AUD1", 2)))
    numero = re.search(r'data-testid="protocolo">(\d{12})<', page).group(1)
    analyse(gw, numero, guide_glosa=("1705", Decimal("1234.50")))
    pay(gw, numero, PROVIDER_A.code)
    with gw.db.transaction() as s:
        lot = s.scalar(select(models.Lot).where(models.Lot.numero_lote == "AUD1"))
        lot.received_at = datetime(2026, 11, 3, 1, 30, tzinfo=UTC)
    return numero


def last_message_page(gw) -> str:
    with gw.db.reading() as s:
        newest = s.scalar(select(models.Message.id).order_by(models.Message.id.desc()))
    return f"{AREA}/arquivos/{newest}"


@pytest.mark.parametrize(
    "bad",
    "Not Found|The CSRF token is missing.|10 per 1 minute|Valor: None|['a']|{'x': 1}|"
    "2026-11-03T01:30:00+00:00|InscriÃ§Ã£o|R$ 1234.56|glosa (150.00)|Decimal('1.00')".split("|"),
)
def test_the_checks_catch_english_reprs_and_formats(bad):
    """The checks catch what they are for (a test that cannot fail proves nothing)."""
    assert problems(bad), bad
    assert not problems("R$ 1.234,56 · 02/11/2026 22:30 · versões 4.02.00 e 4.03.00 · CNPJ")


# --- anonymous pages, error pages --------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "status", "heading"),
    [
        ("GET", "/portal/", 200, "Bem-vindo ao Portal do Prestador"),
        ("GET", "/portal/entrar", 200, "Já tenho conta"),
        ("GET", "/portal/credenciamento/auto-cadastro", 200, "Credenciamento — Auto Cadastro"),
        ("GET", "/portal/credenciamento/auto-cadastro?tipo=PF", 200, "Tipo de Pessoa"),
        ("GET", "/portal/secretaria/criar-conta", 200, "Criar conta de Secretária/o"),
        ("GET", "/portal/termos", 200, "Termos e condições de uso"),
        ("GET", "/portal/esqueci-senha", 200, "Esqueci minha senha"),
        ("GET", "/portal/nao-existe", 404, "A página ou o registro procurado não existe."),
        ("GET", "/portal/prestador/arquivos/9/x.pdf", 404, "Não encontrado"),
        ("GET", "/portal/sair", 405, "Esta página não aceita esse tipo de envio."),
        ("DELETE", "/portal/entrar", 405, "Ação não permitida"),
        ("POST", "/portal/entrar", 400, "O formulário expirou"),
        ("POST", "/portal/credenciamento/auto-cadastro", 400, "Formulário expirado"),
        ("GET", "/portal/senha/redefinir?token=velho", 410, "já foi usado ou expirou"),
        ("GET", "/portal/conta/", 302, "Entre com seu login e senha para continuar."),
    ],
)
def test_anonymous_and_error_pages(client, method, path, status, heading):
    response = client.open(path, method=method, data={"login": "x"} if method == "POST" else None)
    if status == 302:  # a page behind the login: the login page, with a notice
        follow(client, response, 200, heading)
    else:
        clean(response, status, heading)


def test_error_pages_for_limits_failures_and_roles(gw, monkeypatch):
    limited = Client(build_app(small_gateway(gw, login_rate_limit="2 per minute")))
    answers = [ps.post(limited, "/portal/entrar", {"login": "x", "password": "y"}) for _ in "123"]
    clean(answers[-1], 429, "Aguarde um pouco", "Muitas tentativas em pouco tempo.")
    big = ps.post(limited, "/portal/secretaria/criar-conta", {"name": "x" * 100_000})
    clean(big, 413, "Arquivo grande demais")
    client = Client(build_app(gw))
    ps.make_staff(gw)
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    clean(client.get(f"{AREA}/"), 403, "Acesso não permitido")
    clean(client.get("/portal/operadora/solicitacoes/999"), 404, "Não encontrada")
    ps.logout(client)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    monkeypatch.setattr(
        "gateway.services.provider_area.registration.provider_data", lambda *_: 1 / 0
    )
    clean(client.get(f"{AREA}/meus-dados"), 500, "Erro inesperado", "fale com a operadora")


def test_the_429_page_does_not_promise_a_minute_for_an_hourly_limit(gw):
    limited = Client(build_app(small_gateway(gw, login_rate_limit="2 per hour")))
    answers = [ps.post(limited, "/portal/entrar", {"login": "x", "password": "y"}) for _ in "123"]
    assert "Aguarde um minuto" not in clean(answers[-1], 429, "Muitas tentativas")


# --- anonymous forms and e-mails ---------------------------------------------------------------
REGISTER, SIGNUP = "/portal/credenciamento/auto-cadastro", "/portal/secretaria/criar-conta"


@pytest.mark.parametrize(
    ("path", "form", "status", "message"),
    [
        ("/portal/entrar", {}, 401, "Login ou senha inválidos."),
        ("/portal/entrar", {"login": "ninguem", "password": "x"}, 401, "Login ou senha inválidos."),
        (REGISTER, {}, 422, "É preciso aceitar os termos de uso"),
        (REGISTER, ps.registration_form("123", email="x", password="a"), 422, "CNPJ inválido"),
        (REGISTER, {"person_kind": "PF", "document": "11111111111"}, 422, "CPF inválido"),
        (SIGNUP, {}, 422, "Confira os campos destacados abaixo."),
        (SIGNUP, {"cpf": "111", "email": "a@", "email_confirm": "b"}, 422, "o CPF tem 11 dígitos"),
        ("/portal/esqueci-senha", {}, 200, "Se houver uma conta ativa com esse login"),
    ],
)
def test_anonymous_forms_empty_and_wrong(client, path, form, status, message):
    clean(ps.post(client, path, form), status, message)


def test_mails_and_the_reset_link_pages(client, gw, tmp_path):
    staff, mailer = ps.make_staff(gw), Mailer(gw.settings.portal.mail, gw.settings.var_dir)
    account = ps.candidate_submitted(gw)
    request_id = ps.request_of(gw, account)
    queue.decide(gw.db, staff, request_id, "request_complement", "CNES", ps.now(), mailer=mailer)
    registration.submit(gw.db, account, ps.now())
    for action, reason in (("pre_approve", "Anexe o alvará."), ("reject", "Fora da área.")):
        queue.decide(gw.db, staff, request_id, action, reason, ps.now(), mailer=mailer)
    for _ in range(5):
        ps.login(client, ps.CANDIDATE_CNPJ, "Errada@2026")
    ps.post(client, "/portal/esqueci-senha", {"login": ps.CANDIDATE_CNPJ})
    mails = dict(outbox(tmp_path))
    assert sorted(mails) == sorted(
        "Credenciamento: Complemento solicitado|Credenciamento: Pré-cadastro aprovado|"
        "Credenciamento: Solicitação recusada|Acesso bloqueado temporariamente|"
        "Redefinição de senha do Portal do Prestador".split("|")
    )
    for subject, body in mails.items():
        assert not problems(f"{subject}\n{body}"), (subject, problems(body))
    link = re.search(r"https?://\S+", mails["Redefinição de senha do Portal do Prestador"])
    path = link.group(0).split("localhost", 1)[1]
    clean(client.get(path), 200, "Criar nova senha", ps.CANDIDATE_CNPJ)
    clean(ps.post(client, path, {}), 422, "A senha deve ter ao menos 8 caracteres")
    mismatch = {"password": "Nova@Senha1", "password_confirm": "Outra@Senha2"}
    clean(ps.post(client, path, mismatch), 422, "A confirmação não confere com a senha.")


def test_the_approval_mail_names_the_code_as_recorded(client, gw, tmp_path):
    request_id = ps.request_of(gw, ps.candidate_in_final_review(gw, ps.make_staff(gw)))
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    page = f"/portal/operadora/solicitacoes/{request_id}"
    form = {"action": "approve", "code": " clin42"}
    decided = ps.post(client, f"{page}/decisao", form, token_from=page)
    follow(client, decided, 200, "Decisão registrada: Credenciamento aprovado.", "CLIN42")
    [(subject, body)] = outbox(tmp_path)
    assert subject == "Credenciamento: Credenciamento aprovado" and not problems(body)
    assert "Código do prestador na operadora: CLIN42." in body, body


# --- the candidate, in every credentialing status ----------------------------------------------
CANDIDATE_PAGES = tuple(
    f"/portal/{page}"
    for page in "credenciamento/ credenciamento/dados credenciamento/complementar "
    "credenciamento/responsavel-tecnico credenciamento/documentos credenciamento/envio conta/ "
    "conta/senha conta/relacionamentos".split()
)


def submit_pre_registration(gw, account: int) -> None:
    registration.save_provider_data(gw.db, account, ps.PROVIDER_DATA, ps.now())
    registration.add_address(gw.db, account, ps.ADDRESS, ps.now())
    registration.add_contact(gw.db, account, ps.CONTACT, ps.now())
    registration.submit(gw.db, account, ps.now())


def walk(client, status_label: str, pages=CANDIDATE_PAGES) -> None:
    for page in pages:
        clean(client.get(page), 200)
    assert status_label in clean(client.get(pages[0]), 200)


def test_candidate_pages_and_forms_in_every_status(client, gw):
    staff, base = ps.make_staff(gw), "/portal/credenciamento"
    registered = ps.post(client, REGISTER, ps.registration_form())
    follow(client, registered, 200, "Conta criada. Agora preencha os dados do prestador.")
    walk(client, "Em preenchimento")
    data, rep, docs = f"{base}/dados", f"{base}/responsavel-tecnico", f"{base}/documentos"
    wrong_data = {"tipo_cnpj": "x", "email": "a", "celular": "12", "inscricao_estadual": "x" * 30}
    for path, form, message in (
        (data, {}, "selecione uma opção"),
        (data, wrong_data, "o celular tem de 10 a 11 dígitos"),
        (f"{base}/enderecos", {}, "campo obrigatório"),
        (f"{base}/enderecos", {"cep": "1", "uf": "XX", "cnes": "12"}, "o CEP tem 8 dígitos"),
        (f"{base}/contatos", {}, "campo obrigatório"),
        (f"{base}/contatos", {"email": "y", "telefone": "1"}, "o telefone tem de 10 a 11"),
    ):
        clean(ps.post(client, path, form, token_from=data), 422, message)
    submitted = ps.post(client, f"{base}/enviar", {}, token_from=data)
    follow(client, submitted, 200, "Informe ao menos um endereço.")
    account = ps.account_id(gw, ps.CANDIDATE_CNPJ)
    submit_pre_registration(gw, account)
    walk(client, "Aguardando análise da operadora")
    request_id = ps.request_of(gw, account)
    queue.decide(gw.db, staff, request_id, "request_complement", "Corrija o CNES.", ps.now())
    walk(client, "Complemento solicitado")
    registration.submit(gw.db, account, ps.now())
    queue.decide(gw.db, staff, request_id, "pre_approve", "Envie os documentos.", ps.now())
    walk(client, "Pré-cadastro aprovado")
    gif = {"doc_type": "cnpj", "file": (io.BytesIO(b"GIF89a......"), "foto.gif")}
    for path, form, page, message in (
        (f"{base}/complementar", {}, None, "Escolha ao menos uma rede operacional."),
        (f"{base}/cidades", {}, f"{base}/complementar", "campo obrigatório"),
        (rep, {}, None, "Confira os campos destacados abaixo."),
        (rep, {"cpf": "123", "conselho": "X", "uf_conselho": "ZZ"}, None, "o CPF tem 11 dígitos"),
        (docs, {}, None, "Escolha o tipo do documento."),
        (docs, gif, None, "Envie o documento em PDF, JPEG ou PNG."),
        (f"{base}/envio", {}, None, "Envie os documentos"),
    ):
        kw = {"content_type": "multipart/form-data"} if path == docs else {}
        clean(ps.post(client, path, form, token_from=page, **kw), 422, message)
    named = {"doc_type": "outro", "file": (io.BytesIO(ps.PDF), "Inscrição São João.pdf")}
    sent = ps.post(client, docs, named, content_type="multipart/form-data")
    follow(client, sent, 200, "Documento enviado.", "Inscrição São João.pdf", "PDF · 1 KB")
    ps.final_steps(gw, account)
    walk(client, "Aguardando aprovação final")
    queue.decide(gw.db, staff, request_id, "approve", None, ps.now(), code="CLIN42")
    walk(client, "Credenciado", (*CANDIDATE_PAGES, f"{AREA}/", f"{AREA}/meus-dados"))
    assert "CLIN42" in clean(client.get(f"{AREA}/"), 200, "Credenciamento aprovado.")
    ps.logout(client)
    rejected = ps.candidate_submitted(gw, OTHER_CNPJ)
    queue.decide(gw.db, staff, ps.request_of(gw, rejected), "reject", "Fora da área.", ps.now())
    ps.login(client, OTHER_CNPJ, ps.CANDIDATE_PASSWORD)
    walk(client, "Recusado")


def test_the_document_limit_message_names_the_real_limit(gw):
    client = Client(build_app(small_gateway(gw, max_upload_bytes=1024)))
    account = ps.candidate_submitted(gw)
    staff, request_id = ps.make_staff(gw), ps.request_of(gw, account)
    queue.decide(gw.db, staff, request_id, "pre_approve", None, ps.now())
    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    big = {"doc_type": "cnpj", "file": (io.BytesIO(ps.PDF + b" " * 2000), "alvara.pdf")}
    docs = "/portal/credenciamento/documentos"
    text = clean(ps.post(client, docs, big, content_type="multipart/form-data"), 422)
    assert "limite de 0 MB" not in text and "1 KB" in text.split("O arquivo passa do limite")[1]


# --- the operator's staff ----------------------------------------------------------------------
def test_staff_pages_and_forms_and_the_events_they_log(client, gw):
    staff, secret = ps.make_staff(gw), None
    waiting = ps.request_of(gw, ps.candidate_in_final_review(gw, staff))
    fresh = ps.request_of(gw, ps.candidate_submitted(gw, OTHER_CNPJ))
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    clean(client.get("/portal/operadora/"), 200, "Solicitações de credenciamento")
    for status in ("draft", "complement_requested", "pre_approved", "approved", "rejected"):
        clean(client.get(f"/portal/operadora/?situacao={status}"), 200, "Nenhuma solicitação")
    for status in ("submitted", "final_review"):
        clean(client.get(f"/portal/operadora/?situacao={status}"), 200, "Clínica Exemplo Ltda")
    for page in ("/portal/conta/", "/portal/conta/senha", "/portal/operadora/contas"):
        clean(client.get(page), 200)
    page = f"/portal/operadora/solicitacoes/{fresh}"
    for form, message in (
        ({"action": "request_complement"}, "Escreva o motivo; o candidato verá esta mensagem."),
        ({"action": "reject", "reason": "a\x07b"}, "Confira os campos destacados abaixo."),
        ({"action": "approve", "code": "X"}, "Esta decisão não se aplica a uma solicitação"),
        ({"action": "sumir"}, "Decisão desconhecida."),
    ):
        clean(ps.post(client, f"{page}/decisao", form, token_from=page), 422, message)
    page = f"/portal/operadora/solicitacoes/{waiting}"
    clean(client.get(page), 200, "curriculo_crm.pdf", "Aguardando aprovação final")
    bad_code = {"action": "approve", "code": "!!"}
    clean(ps.post(client, f"{page}/decisao", bad_code, token_from=page), 422, "de 1 a 14 letras")
    accounts = "/portal/operadora/contas"
    clean(client.get(f"{accounts}?login=ninguem"), 200, "Nenhuma conta de prestador")
    ps.logout(client)
    for _ in range(5):
        ps.login(client, ps.CANDIDATE_CNPJ, "Errada@2026")
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    for action, message in (
        ("temporary", "Senha temporária emitida."),
        ("deactivate", "Conta desativada."),
        ("reactivate", "Conta reativada."),
    ):
        answer = ps.post(client, accounts, {"login": ps.CANDIDATE_CNPJ, "action": action})
        clean(answer, 200, message, "Clínica Exemplo Ltda")
        secret = re.search(r'password">([^<]+)<', ps.text(answer)) or secret
    ps.logout(client)
    with gw.db.transaction() as s:  # the lock is over; the temporary password is known
        account = s.scalar(select(models.Account).where(models.Account.login == ps.CANDIDATE_CNPJ))
        account.locked_until, account.must_change_password = None, False
    ps.login(client, ps.CANDIDATE_CNPJ, html.unescape(secret.group(1)))
    text = clean(client.get("/portal/conta/"), 200, "Acesso bloqueado por tentativas sem sucesso")
    for label in ("Senha temporária emitida pela operadora", "Conta desativada pela operadora"):
        assert label in text  # every security event by its name, none as a code (login_failed)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)


# --- the provider area: approved provider and Secretária/o ----------------------------------------
def test_provider_area_pages_with_data(client, gw):
    pa.beneficiaries(gw)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    numero = analysed_and_paid(client, gw)
    post_soap(client, lote_guias_ws(sample_lot(PROVIDER_A, "WS1", registro_ans=REGISTRO_ANS)))
    refused = pa.upload(client, pa.lot_file(PROVIDER_B, "OUTRO"))
    clean(refused, 422, "O Recebedor do arquivo diverge do login utilizado")
    for page, expected in (
        ("/", "Últimos arquivos enviados"),
        ("/meus-dados", "11.222.333/0001-81"),
        ("/envio-xml", "até 20,0 MB"),
        ("/arquivos", "Web service"),
        (f"/status?protocolo={numero}", "Data de envio 02/11/2026 22:30"),  # Brazil's time
        (f"/capa-de-lote?protocolo={numero}", "R$ 1.254,50"),
        ("/capa-de-lote", "02/11/2026"),
        (f"/demonstrativos?protocolo={numero}", "Analítico – Excel"),
        ("/elegibilidade", "Carteirinha"),
        ("/digitacao", "Novo Protocolo"),
    ):
        clean(client.get(AREA + page), 200, expected)
    with gw.db.reading() as s:
        ids = s.scalars(select(models.Message.id)).all()
    for message_id in ids:
        clean(client.get(f"{AREA}/arquivos/{message_id}"), 200, "Arquivo TISS – Detalhes")
    for card, verdict in ((pa.ACTIVE_CARD, "Elegível"), (pa.CANCELLED_CARD, "1006 –")):
        checked = ps.post(client, f"{AREA}/elegibilidade", {"carteira": card})
        clean(checked, 200, verdict, "31/01/2025" if card == pa.CANCELLED_CARD else "01/01/2030")
    typed = pa.open_protocol(client)
    saved = ps.post(client, f"{typed}/guias/nova", dict(GUIDE, action="save"))
    follow(client, saved, 200, "Guia salva. Beneficiário: Maria Ativa.", "R$ 1.234,56")
    follow(client, ps.post(client, f"{typed}/finalizar", {}, token_from=typed), 200, "finalizada")
    clean(ps.post(client, f"{typed}/enviar", {}, token_from=typed), 200, "Lote recebido")
    clean(client.get(typed), 200, "Enviado em", "Número do protocolo")


def test_provider_area_forms_empty_and_wrong(client, gw):
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    empty = ps.post(client, f"{AREA}/envio-xml", {}, content_type="multipart/form-data")
    clean(empty, 422, "Escolha o arquivo XML a enviar.")
    clean(pa.upload(client, b""), 422, "O arquivo escolhido está vazio.")
    clean(pa.upload(client, b"%PDF-1.4 nota"), 422, "5002 - NÃO FOI POSSÍVEL VALIDAR")
    pa.upload(client, pa.lot_file(PROVIDER_A, "UPX").replace(*SCHEMA_ERROR))
    clean(client.get(last_message_page(gw)), 200, "indicacaoAcidente tem o valor '7'")
    for card in ("", "9" * 21):
        answer = ps.post(client, f"{AREA}/elegibilidade", {"carteira": card})
        clean(answer, 422, "Informe o número da carteirinha (até 20 caracteres).")
    clean(client.get(f"{AREA}/status?protocolo=123"), 404, "Protocolo inexistente")
    clean(client.get(f"{AREA}/capa-de-lote?protocolo=x"), 404, "Confira o número do protocolo")
    statements = f"{AREA}/demonstrativos/pagamento"
    clean(client.get(statements), 422, "Escolha o tipo de demonstrativo.")
    for query, status, message in (
        ("tipo=medico&periodo=data&data=31/02/2026", 422, "como 30/11/2026"),
        ("tipo=medico&periodo=competencia&competencia=13/2026", 422, "por exemplo 11/2026"),
        ("tipo=odonto&periodo=competencia&competencia=11/2026", 404, "Não há pagamento"),
    ):
        clean(client.get(f"{statements}?{query}"), status, message)
    typing = f"{AREA}/digitacao"
    new = ps.post(client, f"{typing}/novo", {"guide_type": "x"}, token_from=typing)
    follow(client, new, 200, "Escolha o tipo de guia.")
    typed = pa.open_protocol(client)
    clean(ps.post(client, f"{typed}/guias/nova", {}), 422, "informe o valor em reais")
    future = dict(GUIDE, data_atendimento="01/01/2099", valor_procedimento="0", cnes="12")
    clean(ps.post(client, f"{typed}/guias/nova", future), 422, "não pode ser futura")
    follow(client, ps.post(client, f"{typed}/enviar", {}, token_from=typed), 200)


def test_typed_guide_messages_agree_in_gender(client, gw):
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    typed = pa.open_protocol(client)
    wrong = dict(GUIDE, uf_conselho="99", codigo_tabela="77")
    text = clean(ps.post(client, f"{typed}/guias/nova", wrong), 422, "inválid")
    assert "UF inválido" not in text and "tabela inválido" not in text


def test_delegate_with_limited_roles(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["atendimento"])
    with gw.db.reading() as s:
        b = s.scalar(select(models.Account).where(models.Account.login == PROVIDER_B.cnpj))
        a_id = s.scalar(select(models.Provider.id).where(models.Provider.cnpj == PROVIDER_A.cnpj))
    roles = ["faturamento"]
    invitation = delegation.invite(gw.db, b.id, b.provider_id, ps.DELEGATE_CPF, roles, ps.now())
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    clean(client.get("/portal/conta/relacionamentos"), 200, "Convite enviado", "Aceitar convite")
    delegate = ps.account_id(gw, ps.DELEGATE_EMAIL)
    delegation.respond(gw.db, delegate, invitation, True, None, ps.now())
    follow(client, client.get(f"{AREA}/"), 200, "Por qual prestador você vai atuar?")
    ps.post(client, f"{AREA}/atuar", {"provider_id": a_id}, token_from=f"{AREA}/atuar")
    text = clean(client.get(f"{AREA}/"), 200, "Atuando por", "Trocar de prestador")
    assert "Consultar Arquivos" not in text and "Elegibilidade" in text
    for page in ("/status", "/elegibilidade", "/atuar"):
        clean(client.get(AREA + page), 200)
    for page in ("/arquivos", "/meus-dados", "/digitacao", "/demonstrativos", "/envio-xml"):
        clean(client.get(AREA + page), 403, "Esta página não está disponível para a sua conta.")
    clean(client.get("/portal/conta/"), 200, "Secretária/o")
    clean(client.get("/portal/conta/relacionamentos"), 200, "Atendimento (autorizações)")


def test_both_sides_of_a_relationship_read_the_same_final_day(client, gw):
    _, invitation = ps.invite_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    last = date.today() + timedelta(days=10)
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    page = "/portal/conta/relacionamentos"
    form = {"answer": "accept", "period": "until", "until": last.strftime("%d/%m/%Y")}
    accepted = ps.post(client, f"{page}/{invitation}/responder", form, token_from=page)
    follow(client, accepted, 200, "Convite aceito.", f"validade: {last:%d/%m/%Y}")
    ps.logout(client)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    text = clean(client.get(page), 200, "Ana Secretária")
    assert f"Ativo {last:%d/%m/%Y}" in text, text.split("Ana Secretária")[1][:120]


# --- uploads refused: the occurrences the billing clerk reads -----------------------------------
def test_the_upload_page_lists_schema_errors_in_portuguese_only(client, gw):
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    clean(pa.upload(client, pa.lot_file(PROVIDER_A, "UPX").replace(*SCHEMA_ERROR)), 422)


@pytest.mark.parametrize("wrong", [b"<ans:cabecalho>texto", b"<ans:cabecalho foo='1'>"])
def test_every_schema_error_is_explained_in_portuguese(client, gw, wrong):
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    pa.upload(client, pa.lot_file(PROVIDER_A, "UPZ").replace(b"<ans:cabecalho>", wrong))
    clean(client.get(last_message_page(gw)), 200, "Linha 2: ")


# --- documents: PDFs and workbooks --------------------------------------------------------------
def workbook(client, numero: str, kind: str) -> tuple[list[tuple], tuple]:
    """The rows of a protocol report workbook, and its listing's header row."""
    answer = client.get(f"{AREA}/relatorios/{numero}/{kind}.xlsx")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    rows = pa.sheet_values(answer.data)
    return rows, next(row for row in rows if row and row[0] == "Guia")


def test_pdfs_and_workbooks_are_portuguese(client, gw):
    pa.beneficiaries(gw)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    numero = analysed_and_paid(client, gw)
    payment = "tipo=medico&periodo=competencia&competencia=11/2026"
    receipt = f"{AREA}/elegibilidade/comprovante"
    for response, title in (
        (client.get(f"{AREA}/capa-de-lote/{numero}.pdf"), "Capa de Lote"),
        (client.get(f"{AREA}/demonstrativos/analise/{numero}.pdf"), "Data do protocolo\n02/11"),
        (client.get(f"{AREA}/demonstrativos/pagamento?{payment}"), "Pagamento de 30/11/2026"),
        (client.get(f"{AREA}/relatorios/{numero}/analitico.pdf"), "Glosa da guia: 1705"),
        (client.get(f"{AREA}/relatorios/{numero}/sintetico.pdf"), "Relatório de Protocolo"),
        (
            ps.post(client, receipt, {"carteira": pa.CANCELLED_CARD}, token_from=AREA + "/"),
            "1006 – ATENDIMENTO APÓS O DESLIGAMENTO",
        ),
    ):
        assert (response.status_code, response.mimetype) == (200, "application/pdf")
        text = pa.pdf_text(response.data)
        assert title in text, text[:400]
        assert not problems(text), problems(text)
    for kind, header in (
        ("analitico", "Guia Carteira Item Data Tabela Código Descrição Quantidade Informado"),
        ("sintetico", "Guia Carteira Atendimento Informado Processado Glosado Liberado"),
    ):
        rows, found = workbook(client, numero, kind)
        assert " ".join(found).startswith(header), found
        labels = [row[0] for row in rows[: rows.index(found)] if row and row[0]]
        assert labels[0].startswith("Relatório de Protocolo –") and "Tipo de guia" in labels
        texts = " ".join(str(v) for row in rows[: rows.index(found) + 1] for v in row if v)
        assert not problems(texts), problems(texts)


def test_the_capa_de_lote_prints_the_time_of_brazil(client, gw):
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    numero = analysed_and_paid(client, gw)
    text = pa.pdf_text(client.get(f"{AREA}/capa-de-lote/{numero}.pdf").data)
    assert "02/11/2026 22:30" in text, re.findall(r"\d\d/\d\d/\d{4} \d\d:\d\d", text)


@pytest.mark.parametrize("kind", ["analitico", "sintetico"])
def test_workbook_dates_are_brazilian(client, gw, kind):
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    rows, header = workbook(client, analysed_and_paid(client, gw), kind)
    column = header.index("Data" if kind == "analitico" else "Atendimento")
    days = [row[column] for row in rows[rows.index(header) + 1 :] if row[column] is not None]
    assert days and all(not isinstance(d, str) or not problems(d) for d in days), days


def test_workbook_glosa_amounts_are_in_reais(client, gw):
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    rows, _ = workbook(client, analysed_and_paid(client, gw), "analitico")
    texts = [row[-1] for row in rows if row and isinstance(row[-1], str) and "1705" in row[-1]]
    assert texts and not problems(" ".join(texts)), texts
