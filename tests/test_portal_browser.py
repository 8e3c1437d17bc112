"""The portal end to end in a real headless Chromium against a running server: a PJ candidate
registers, the operator pre-approves, the candidate sends the representative and documents, the
operator gives final approval, and the same login and password submit a lot on tissLoteGuias.
Also the account rules a person meets in the browser. Screenshots of the main pages are saved
under tests/artifacts/screenshots/."""

import hashlib
import re

import pytest
from sqlalchemy import select

from gateway.tiss.samples import lote_guias_ws
from storage.models import Provider
from tests import browser_support as bs
from tests import portal_support as ps
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.tissclient import Provider as TissProvider
from tests.tissclient import post as post_soap
from tests.tissclient import sample_lot

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
pytestmark = pytest.mark.skipif(not bs.chromium_available(), reason="Debian's chromium missing")


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=bs.CHROMIUM, args=bs.CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(server_url):
    return server_url


@pytest.fixture
def page(browser, server):
    context = browser.new_context(
        base_url=server, locale="pt-BR", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def shot(database_url):
    """Save a screenshot (once, from the SQLite run: the pages are the same on PostgreSQL)."""
    bs.SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        if database_url.startswith("sqlite"):
            page.screenshot(path=str(bs.SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


def field(scope, label: str):
    """The input labelled `label` (Playwright reads the required marker "*" as label text)."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def login(page, login_: str, password: str) -> None:
    page.goto("/portal/entrar")
    field(page, "Login").fill(login_)
    field(page, "Senha").fill(password)
    page.get_by_role("button", name="Entrar").click()


def logout(page) -> None:
    page.get_by_role("button", name="Sair", exact=True).click()
    expect(page.get_by_text("Você saiu do portal.")).to_be_visible()


def form_with(page, button: str):
    return page.locator("form", has=page.get_by_role("button", name=button))


def test_credentialing_end_to_end(page, gw, server, shot):
    staff_id = ps.make_staff(gw)
    assert staff_id
    page.goto("/portal/")
    expect(page.get_by_role("heading", name="Bem-vindo ao Portal do Prestador")).to_be_visible()
    shot(page, "01-inicio")

    # Auto Cadastro (PJ).
    page.get_by_role("link", name="Criar minha conta").click()
    shot(page, "02-auto-cadastro")
    page.get_by_label("Jurídica").check()
    page.get_by_label("CPF ou CNPJ").fill("52.601.815/9083-69")
    field(page, "Nome").fill("Clínica Exemplo Ltda")
    field(page, "E-mail").fill("contato@clinicaexemplo.com.br")
    page.get_by_label("Confirmação do e-mail").fill("contato@clinicaexemplo.com.br")
    field(page, "Senha").fill("fraca")
    page.get_by_label("Confirmação da senha").fill("fraca")
    page.get_by_label("Li e concordo").check()
    page.get_by_role("button", name="Criar minha conta").click()
    expect(page.get_by_text("A senha deve ter ao menos 8 caracteres")).to_be_visible()
    shot(page, "02b-auto-cadastro-erros")
    field(page, "Senha").fill(ps.CANDIDATE_PASSWORD)
    page.get_by_label("Confirmação da senha").fill(ps.CANDIDATE_PASSWORD)
    page.get_by_label("Li e concordo").check()
    page.get_by_role("button", name="Criar minha conta").click()
    expect(page.get_by_text("Conta criada. Agora preencha os dados do prestador.")).to_be_visible()

    # Provider data, one address, one contact, then submit.
    page.get_by_label("Tipo de CNPJ").select_option("matriz")
    page.get_by_label("Nome fantasia").fill("Clínica Exemplo")
    page.get_by_label("Segmento").select_option("medico")
    page.get_by_label("Tipo de estabelecimento").select_option("clinica")
    page.get_by_label("Celular (SMS)").fill("61999990000")
    page.get_by_label("Banco").select_option("001")
    page.get_by_label("Agência").fill("1234")
    page.get_by_label("Conta corrente").fill("56789-0")
    field(page, "Regime tributário").select_option("lucro_presumido")
    page.get_by_role("button", name="Salvar dados").click()
    expect(page.get_by_text("Dados do prestador salvos.")).to_be_visible()
    address = form_with(page, "Incluir endereço")
    address.get_by_label("CEP").fill("70040-010")
    address.get_by_label("Logradouro").fill("SBS Quadra 2, Bloco E")
    address.get_by_label("Número").fill("10")
    address.get_by_label("Bairro").fill("Asa Sul")
    address.get_by_label("Município").fill("Brasília")
    address.get_by_label("UF").select_option("DF")
    address.get_by_label("CNES").fill("1234567")
    address.get_by_role("button", name="Incluir endereço").click()
    expect(page.get_by_text("Endereço incluído.")).to_be_visible()
    contact = form_with(page, "Incluir contato")
    field(contact, "Nome").fill("Maria Souza")
    contact.get_by_label("Cargo / função").fill("Gerente administrativa")
    field(contact, "E-mail").fill("maria@clinicaexemplo.com.br")
    contact.get_by_label("Telefone").fill("(61) 3333-4444")
    contact.get_by_role("button", name="Incluir contato").click()
    expect(page.get_by_text("Contato incluído.")).to_be_visible()
    shot(page, "03-dados-do-prestador")
    page.get_by_role("button", name="Enviar para análise").click()
    expect(page.get_by_text("aguarda a análise da operadora").first).to_be_visible()
    shot(page, "04-aguardando-analise")
    logout(page)

    # The operator pre-approves, with a message.
    login(page, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    expect(page.get_by_role("heading", name="Solicitações de credenciamento")).to_be_visible()
    shot(page, "05-fila-da-operadora")
    page.get_by_role("link", name=re.compile("Abrir")).first.click()
    shot(page, "06-solicitacao-na-operadora")
    form_with(page, "Aprovar pré-cadastro").get_by_label("Mensagem ao candidato").fill(
        "Pré-análise concluída. Anexe o currículo e CRM do responsável técnico, o CNPJ, o "
        "alvará de funcionamento e o contrato social."
    )
    page.get_by_role("button", name="Aprovar pré-cadastro").click()
    expect(page.get_by_text("Decisão registrada: Pré-cadastro aprovado.")).to_be_visible()
    logout(page)

    # The candidate logs in ("Já tenho conta"), reads the message and completes the steps.
    login(page, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    expect(page.get_by_text("Atenção!")).to_be_visible()
    shot(page, "07-pre-cadastro-aprovado")
    page.get_by_role("link", name="Continuar o credenciamento").click()
    field(page, "Tipo de estabelecimento").select_option("clinica")
    page.get_by_label("Prestadores credenciados").check()
    page.get_by_label("Média").check()
    page.get_by_label("Possui UTI").check()
    page.get_by_role("button", name="Salvar dados complementares").click()
    expect(page.get_by_text("Identificação complementar salva.")).to_be_visible()
    city = form_with(page, "Incluir cidade")
    city.get_by_label("Município").fill("Brasília")
    city.get_by_label("UF").select_option("DF")
    city.get_by_role("button", name="Incluir cidade").click()
    expect(page.get_by_text("Cidade incluída.")).to_be_visible()
    shot(page, "08-identificacao-complementar")
    page.get_by_role("link", name=re.compile("Avançar: Responsável técnico")).click()
    field(page, "Nome").fill("Dr. João Lima")
    page.get_by_label("Conselho profissional").select_option("CRM")
    page.get_by_label("Número no conselho").fill("123456")
    page.get_by_label("UF do conselho").select_option("DF")
    page.get_by_label("CPF").fill("993.518.190-19")
    page.get_by_label("RG").fill("1234567 SSP/DF")
    page.get_by_role("button", name="Salvar e avançar").click()
    expect(page.get_by_text("Responsável técnico salvo.")).to_be_visible()
    for doc_type in ("curriculo_crm", "cnpj", "alvara_funcionamento", "contrato_social"):
        page.get_by_label("Tipo do documento").select_option(doc_type)
        field(page, "Arquivo").set_input_files(
            {"name": f"{doc_type}.pdf", "mimeType": "application/pdf", "buffer": ps.PDF}
        )
        page.get_by_role("button", name="Enviar documento").click()
        expect(page.get_by_text("Documento enviado.")).to_be_visible()
    page.get_by_label("Tipo do documento").select_option("cnes")
    field(page, "Arquivo").set_input_files(
        {"name": "cnes.pdf", "mimeType": "application/pdf", "buffer": b"<html>not a pdf</html>"}
    )
    page.get_by_role("button", name="Enviar documento").click()
    expect(page.get_by_text("Envie o documento em PDF, JPEG ou PNG.")).to_be_visible()
    page.goto("/portal/credenciamento/documentos")
    shot(page, "09-documentos")
    page.get_by_role("link", name=re.compile("Avançar: Envio para análise")).click()
    page.get_by_role("button", name="Enviar para aprovação final").click()
    expect(page.get_by_text("aguarda a aprovação final")).to_be_visible()
    logout(page)

    # Final approval.
    login(page, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    page.get_by_role("link", name=re.compile("Abrir")).first.click()
    expect(page.get_by_role("link", name="contrato_social.pdf")).to_be_visible()
    page.get_by_label("Código do prestador na operadora").fill("CLIN0042")
    shot(page, "10-aprovacao-final")
    page.get_by_role("button", name="Aprovar credenciamento").click()
    expect(page.get_by_text("Credenciado com o código CLIN0042")).to_be_visible()
    logout(page)

    login(page, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    expect(page.get_by_text("Credenciamento aprovado.", exact=False).first).to_be_visible()
    shot(page, "11-credenciado")
    with gw.db.reading() as session:
        assert (
            session.scalar(
                select(Provider.codigo_na_operadora).where(Provider.cnpj == ps.CANDIDATE_CNPJ)
            )
            == "CLIN0042"
        )

    # The same login and password, now on the TISS web service of the running server.
    tiss = TissProvider(ps.CANDIDATE_CNPJ, "CLIN0042", "Clínica Exemplo", ps.CANDIDATE_PASSWORD)
    lot = lote_guias_ws(sample_lot(tiss, "100", registro_ans=REGISTRO_ANS))
    answer = post_soap(bs.HttpClient(server), lot)
    assert not answer.is_fault and answer.protocol


def test_phone_layout(browser, server, shot):
    context = browser.new_context(
        base_url=server, locale="pt-BR", is_mobile=True, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto("/portal/")
    shot(page, "12-celular-inicio")
    page.goto("/portal/credenciamento/auto-cadastro")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the registration page must not scroll sideways on a phone"
    shot(page, "13-celular-auto-cadastro")
    context.close()


def test_lockout_and_generic_message(page, gw, shot):
    for _ in range(5):
        login(page, PROVIDER_A.cnpj, "Errada@123")
        expect(page.get_by_text("Login ou senha inválidos.")).to_be_visible()
    login(page, PROVIDER_A.cnpj, PROVIDER_A.password)
    expect(page.get_by_text("Login ou senha inválidos.")).to_be_visible()
    shot(page, "14-acesso-negado")


def test_reset_link_and_first_access(page, gw, shot):
    from sqlalchemy import update

    from storage.models import Account

    with gw.db.transaction() as session:
        session.execute(
            update(Account)
            .where(Account.login == PROVIDER_A.cnpj)
            .values(email="faturamento@hospitala.com.br", must_change_password=True)
        )
    page.goto("/portal/entrar")
    page.get_by_role("link", name="Esqueci minha senha").click()
    field(page, "Login").fill(PROVIDER_A.cnpj)
    page.get_by_role("button", name="Enviar link").click()
    expect(page.get_by_text("enviamos para ele um link")).to_be_visible()
    (mail,) = (gw.settings.var_dir / "outbox").glob("*.eml")
    link = re.search(r"https?://\S+/portal/senha/redefinir\?token=\S+", mail.read_text()).group(0)
    page.goto(link)
    field(page, "Nova senha").fill("Redefinida@2026")
    page.get_by_label("Confirmação da nova senha").fill("Redefinida@2026")
    page.get_by_role("button", name="Salvar nova senha").click()
    expect(page.get_by_text("Senha redefinida.")).to_be_visible()

    # An operator-issued temporary password must be changed at the first access (seed 002).
    ps.make_staff(gw)
    login(page, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    page.get_by_role("link", name="Contas de acesso").click()
    page.get_by_label("Login do prestador").fill(PROVIDER_A.cnpj)
    page.get_by_role("button", name="Localizar").click()
    page.get_by_role("button", name="Emitir senha temporária").click()
    temporary = page.get_by_test_id("temporary-password").inner_text()
    shot(page, "15-senha-temporaria")
    logout(page)
    login(page, PROVIDER_A.cnpj, temporary)
    expect(page.get_by_text("você entrou com uma senha temporária")).to_be_visible()
    shot(page, "16-primeiro-acesso")
    page.get_by_label("Senha atual").fill(temporary)
    field(page, "Nova senha").fill("Minha@Senha77")
    page.get_by_label("Confirmação da nova senha").fill("Minha@Senha77")
    page.get_by_role("button", name="Salvar nova senha").click()
    expect(page.get_by_text("Senha alterada.")).to_be_visible()
    expect(page.get_by_text("Últimos acessos e eventos de segurança")).to_be_visible()
    shot(page, "17-minha-conta")


def test_invitation_accepted_and_revoked(page, gw, server, shot):
    page.goto("/portal/")
    page.get_by_role("link", name="Criar conta de Secretária/o").click()
    field(page, "Nome").fill("Ana Secretária")
    page.get_by_label("CPF").fill(ps.DELEGATE_CPF)
    page.get_by_label("E-mail (login)").fill(ps.DELEGATE_EMAIL)
    page.get_by_label("Confirmação do e-mail").fill(ps.DELEGATE_EMAIL)
    field(page, "Senha").fill(ps.DELEGATE_PASSWORD)
    page.get_by_label("Confirmação da senha").fill(ps.DELEGATE_PASSWORD)
    page.get_by_label("Li e concordo").check()
    page.get_by_role("button", name="Registrar").click()
    expect(page.get_by_text("Conta criada.")).to_be_visible()

    login(page, PROVIDER_A.cnpj, PROVIDER_A.password)
    page.get_by_role("navigation").get_by_role("link", name="Relacionamentos").click()
    page.get_by_text("+ Novo relacionamento").click()
    page.get_by_label("E-mail ou CPF da Secretária/o").fill(ps.DELEGATE_EMAIL)
    page.get_by_label("Atendimento (autorizações)").check()
    page.get_by_role("button", name="Enviar convite").click()
    expect(page.get_by_text("Convite enviado.")).to_be_visible()
    logout(page)

    login(page, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    shot(page, "18-convite-recebido")
    page.get_by_role("button", name="Aceitar convite").click()
    expect(page.get_by_text("Convite aceito.")).to_be_visible()

    # Without Faturamento, the web service refuses the delegate's lot for the provider.
    senha = hashlib.md5(ps.DELEGATE_PASSWORD.encode()).hexdigest()
    lot = sample_lot(
        PROVIDER_A, "900", registro_ans=REGISTRO_ANS, login=ps.DELEGATE_CPF, senha_md5=senha
    )
    refused = post_soap(bs.HttpClient(server), lote_guias_ws(lot))
    assert refused.tiss_fault == "RemetenteInvalido"
    logout(page)

    login(page, PROVIDER_A.cnpj, PROVIDER_A.password)
    page.get_by_role("navigation").get_by_role("link", name="Relacionamentos").click()
    expect(page.get_by_text("Ativo", exact=True)).to_be_visible()
    shot(page, "19-relacionamentos")
    page.get_by_role("button", name=re.compile("Encerrar")).click()
    expect(page.get_by_text("Relacionamento encerrado.")).to_be_visible()
    expect(page.get_by_text("Encerrado", exact=True)).to_be_visible()
