"""Helpers for the portal tests: settings, a staff account, forms posted with their CSRF token,
a candidate taken through the credentialing path by the use cases, and small valid files."""

import re
from datetime import UTC, datetime

from sqlalchemy import select

from gateway.config_portal import PortalSettings
from gateway.services.accounts.access_log import Origin
from gateway.services.credentialing import documents, queue, registration, steps
from storage.models import Account

# Plain HTTP in tests (no Secure cookie), and a rate limit no test reaches by accident.
PORTAL_SETTINGS = PortalSettings(cookie_secure=False, login_rate_limit="1000 per minute")

CANDIDATE_CNPJ = "52601815908369"
CANDIDATE_PASSWORD = "Clinica@2026"
STAFF_LOGIN = "analista.credenciamento"
STAFF_PASSWORD = "Operadora#2026"
DELEGATE_CPF = "62819482112"
DELEGATE_EMAIL = "ana.secretaria@example.com"
DELEGATE_PASSWORD = "Secret@ria26"
ORIGIN = Origin("127.0.0.1", "pytest")

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 40
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def now() -> datetime:
    return datetime.now(UTC)


def make_staff(gw, login: str = STAFF_LOGIN, password: str = STAFF_PASSWORD) -> int:
    """Operator staff, created the way `tiss-gateway staff add` does (back office)."""
    from gateway.services.backoffice.staff import add_staff

    principal = add_staff(gw.db, login, password)
    with gw.db.transaction() as session:
        session.get(Account, principal.account_id).name = "Analista de Credenciamento"
    return principal.account_id


def account_id(gw, login: str) -> int:
    with gw.db.reading() as session:
        return session.scalar(select(Account.id).where(Account.login == login))


def csrf_token(client, path: str) -> str:
    page = client.get(path)
    found = CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def post(client, path: str, data: dict, *, token_from: str | None = None, **kw):
    """POST a form as the browser would: with the CSRF token of the page that shows it."""
    data = dict(data, csrf_token=csrf_token(client, token_from or path))
    return client.post(path, data=data, **kw)


def login(client, login_: str, password: str):
    return post(client, "/portal/entrar", {"login": login_, "password": password})


def logout(client):
    return post(client, "/portal/sair", {}, token_from="/portal/conta/")


def text(response) -> str:
    return response.get_data(as_text=True)


def registration_form(document: str = CANDIDATE_CNPJ, **overrides) -> dict:
    form = {
        "person_kind": "PJ",
        "document": document,
        "name": "Clínica Exemplo Ltda",
        "email": "contato@clinicaexemplo.com.br",
        "email_confirm": "contato@clinicaexemplo.com.br",
        "password": CANDIDATE_PASSWORD,
        "password_confirm": CANDIDATE_PASSWORD,
        "terms": "on",
    }
    form.update(overrides)
    return form


PROVIDER_DATA = {
    "tipo_cnpj": "matriz",
    "razao_social": "Clínica Exemplo Ltda",
    "nome_fantasia": "Clínica Exemplo",
    "segmento": "medico",
    "tipo_estabelecimento": "clinica",
    "email": "contato@clinicaexemplo.com.br",
    "celular": "(61) 99999-0000",
    "banco": "001",
    "agencia": "1234",
    "conta": "56789-0",
    "regime_tributario": "lucro_presumido",
}
ADDRESS = {
    "cep": "70040-010",
    "logradouro": "SBS Quadra 2",
    "numero": "10",
    "municipio": "Brasília",
    "uf": "DF",
    "cnes": "1234567",
}
CONTACT = {"nome": "Maria Souza", "email": "maria@clinicaexemplo.com.br", "telefone": "6133334444"}
REPRESENTATIVE = {
    "nome": "Dr. João Lima",
    "conselho": "CRM",
    "numero_conselho": "123456",
    "uf_conselho": "DF",
    "cpf": "99351819019",
    "rg": "1234567 SSP/DF",
}


def candidate_submitted(gw, document: str = CANDIDATE_CNPJ) -> int:
    """A PJ candidate whose pre-registration waits for the operator; returns its account id."""
    moment = now()
    account = registration.start(gw.db, registration_form(document), moment, ORIGIN)
    registration.save_provider_data(gw.db, account, PROVIDER_DATA, moment)
    registration.add_address(gw.db, account, ADDRESS, moment)
    registration.add_contact(gw.db, account, CONTACT, moment)
    registration.submit(gw.db, account, moment)
    return account


def candidate_in_final_review(gw, staff_id: int, document: str = CANDIDATE_CNPJ) -> int:
    account = candidate_submitted(gw, document)
    moment = now()
    request_id = request_of(gw, account)
    queue.decide(gw.db, staff_id, request_id, "pre_approve", "Envie os documentos.", moment)
    final_steps(gw, account)
    return account


def final_steps(gw, account: int) -> None:
    """What a pre-approved candidate fills in and sends for the final approval."""
    moment = now()
    steps.save_complementary(
        gw.db,
        account,
        steps.Complementary(
            {"tipo_estabelecimento": "clinica", "grau_complexidade": "media"},
            ["credenciados"],
            ["uti"],
        ),
        moment,
    )
    steps.add_city(gw.db, account, {"municipio": "Brasília", "uf": "DF"}, moment)
    steps.save_representative(gw.db, account, REPRESENTATIVE, moment)
    for doc_type in ("curriculo_crm", "cnpj", "alvara_funcionamento", "contrato_social"):
        documents.upload(gw.db, account, doc_type, f"{doc_type}.pdf", PDF, 10_000_000, moment)
    steps.submit_final(gw.db, account, moment)


def request_of(gw, account: int) -> int:
    from storage.portal_models import CredentialingRequest

    with gw.db.reading() as session:
        return session.scalar(
            select(CredentialingRequest.id).where(CredentialingRequest.account_id == account)
        )


def io_bytes(content: bytes):
    import io

    return io.BytesIO(content)


def make_delegate(
    gw,
    provider_cnpj: str,
    roles: list[str],
    *,
    cpf: str = DELEGATE_CPF,
    email: str = DELEGATE_EMAIL,
) -> int:
    """A Secretária/o account with an accepted delegation of `roles` from the provider whose
    account logs in with `provider_cnpj`, made by the use cases; returns the delegate's id."""
    from gateway.services.accounts import delegation

    delegate, invitation = invite_delegate(gw, provider_cnpj, roles, cpf=cpf, email=email)
    delegation.respond(gw.db, delegate, invitation, True, None, now())
    return delegate


def invite_delegate(
    gw,
    provider_cnpj: str,
    roles: list[str],
    *,
    cpf: str = DELEGATE_CPF,
    email: str = DELEGATE_EMAIL,
) -> tuple[int, int]:
    """A Secretária/o account invited for `roles` by the provider whose account logs in with
    `provider_cnpj`, not yet answered: (the delegate's id, the invitation's id)."""
    from gateway.services.accounts import delegation
    from gateway.services.accounts import registration as accounts

    moment = now()
    form = {
        "cpf": cpf,
        "email": email,
        "email_confirm": email,
        "name": "Ana Secretária",
        "password": DELEGATE_PASSWORD,
        "password_confirm": DELEGATE_PASSWORD,
        "terms": "on",
    }
    delegate = accounts.register_delegate(gw.db, form, moment, ORIGIN)
    with gw.db.reading() as session:
        provider_account = session.scalar(select(Account).where(Account.login == provider_cnpj))
        inviter, provider_id = provider_account.id, provider_account.provider_id
    invitation = delegation.invite(gw.db, inviter, provider_id, email, roles, moment)
    return delegate, invitation
