"""Delegated access (seed 003, Secretária/o) attacked the way a careless or hostile delegate, or a
provider sharing its staff, would: a delegate naming on the TISS web services a provider it does
not bill for (by CNPJ, CPF or codigoPrestadorNaOperadora), one whose delegation ended a moment
ago, expired, was declined or whose provider was suspended; revocation of one provider while
the delegate works for another, in the portal and on the web service; invitations to the wrong
people and forms posted with somebody else's ids or without their CSRF token; the delegate's
lockout; and what the archive and the provider's own pages say about who acted for whom.

What a user checks: every refusal is the right TISS fault (validated against the official XSD)
with nothing stored; an accepted message is archived with the delegate's login and the provider
it acted for; one provider's delegation ending never touches another's; the delegate's failures
lock the delegate and never the provider.

Not repeated here (tests/test_portal_delegation.py, test_provider_area_access.py,
test_session_lifecycle.py, test_authorization_matrix.py): the invite/accept/revoke path, a
delegate without Faturamento or not yet accepted sending a lot, roles per portal page, a
delegation ended, expired or narrowed during an open portal session, a suspended provider's
open sessions."""

import hashlib
import re
from datetime import timedelta

import pytest
from lxml import etree
from sqlalchemy import func, select, update

from gateway.services.accounts import credentials, delegation
from gateway.services.accounts import registration as accounts
from gateway.services.admin import AdminError, add_provider
from gateway.tiss.header import Party
from gateway.tiss.samples import (
    SampleQuery,
    lote_guias_ws,
    mensagem_tiss,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_status_ws,
)
from storage import models
from storage.models import Account
from storage.portal_models import AccessLogEntry, Delegation
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.tissclient import Provider, post, sample_lot

AREA = pa.AREA
RELATIONSHIPS = "/portal/conta/relacionamentos"
DELEGATE_MD5 = hashlib.md5(ps.DELEGATE_PASSWORD.encode()).hexdigest()
WRONG_MD5 = hashlib.md5(b"Errada@2026").hexdigest()
SENDER_MISMATCH = "O Recebedor do arquivo diverge do login utilizado"
SECOND_CPF = "99351819019"
SECOND_EMAIL = "joao.recepcao@example.com"
# A physician billing as a pessoa física (login: its CPF).
PROVIDER_PF = Provider(cnpj="", code="PRESTPF", name="Dra. Carla PF", password="Senha@PF789")
PF_CPF = "52998224725"


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


# Helpers -------------------------------------------------------------------------------------


def provider_id(gw, provider: Provider) -> int:
    with gw.db.reading() as s:
        if provider.cnpj:
            return s.scalar(select(models.Provider.id).where(models.Provider.cnpj == provider.cnpj))
        return s.scalar(select(models.Provider.id).where(models.Provider.cpf == PF_CPF))


def provider_login(provider: Provider) -> str:
    return provider.cnpj or PF_CPF


def add_pf_provider(gw) -> None:
    add_provider(
        gw.db,
        cpf=PF_CPF,
        code=PROVIDER_PF.code,
        name=PROVIDER_PF.name,
        password=PROVIDER_PF.password,
    )


def delegate_also_for(gw, provider: Provider, roles: list[str], email=ps.DELEGATE_EMAIL) -> int:
    """The existing Secretária/o gets (and accepts) a delegation from another provider; returns
    the delegation's id."""
    with gw.db.reading() as s:
        inviter = s.scalar(select(Account.id).where(Account.login == provider_login(provider)))
    invitation = delegation.invite(
        gw.db, inviter, provider_id(gw, provider), email, roles, ps.now()
    )
    delegation.respond(gw.db, ps.account_id(gw, email), invitation, True, None, ps.now())
    return invitation


def delegation_id(gw, provider: Provider, email=ps.DELEGATE_EMAIL) -> int:
    with gw.db.reading() as s:
        return s.scalar(
            select(Delegation.id)
            .where(
                Delegation.provider_id == provider_id(gw, provider),
                Delegation.delegate_account_id == ps.account_id(gw, email),
            )
            .order_by(Delegation.id.desc())
        )


def register_second_delegate(gw, email=SECOND_EMAIL, cpf=SECOND_CPF) -> int:
    form = {
        "cpf": cpf,
        "email": email,
        "email_confirm": email,
        "name": "João Recepção",
        "password": ps.DELEGATE_PASSWORD,
        "password_confirm": ps.DELEGATE_PASSWORD,
        "terms": "on",
    }
    return accounts.register_delegate(gw.db, form, ps.now(), ps.ORIGIN)


def party(provider: Provider, kind: str) -> Party:
    if kind == "codigoPrestadorNaOperadora":
        return Party(kind, provider.code)
    if kind == "CPF":
        return Party("CPF", PF_CPF)
    return Party("CNPJ", provider.cnpj)


def delegate_lot(client, origem: Party, numero: str, *, login=ps.DELEGATE_CPF, senha=DELEGATE_MD5):
    lot = sample_lot(
        PROVIDER_A,
        numero,
        2,
        registro_ans=REGISTRO_ANS,
        origem=origem,
        login=login,
        senha_md5=senha,
    )
    return post(client, lote_guias_ws(lot))


def delegate_query(origem: Party, codigo: str, *, login=ps.DELEGATE_CPF) -> SampleQuery:
    return SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=origem,
        codigo_prestador=codigo,
        login=login,
        senha_md5=DELEGATE_MD5,
    )


def send(client, service: str, origem: Party, codigo: str, numero: str):
    """One message of `service` sent by the delegate naming `origem` (and `codigo` in the body)."""
    if service == "tissLoteGuias":
        lot = sample_lot(
            PROVIDER_A,
            numero,
            2,
            registro_ans=REGISTRO_ANS,
            origem=origem,
            codigo_prestador=codigo,
            login=ps.DELEGATE_CPF,
            senha_md5=DELEGATE_MD5,
        )
        return post(client, lote_guias_ws(lot))
    query = delegate_query(origem, codigo)
    element = {
        "tissSolicitacaoStatusProtocolo": lambda: solicitacao_status_ws(query, "000000000001"),
        "tissVerificaElegibilidade": lambda: pedido_elegibilidade_ws(query, pa.ACTIVE_CARD),
        "tissSolicitacaoDemonstrativoRetorno": lambda: solicitacao_demonstrativo_analise_ws(
            query, ["000000000001"]
        ),
    }[service]()
    return post(client, element, service=service)


def archive(gw) -> list[tuple]:
    """(login, provider_id, outcome, fault) of every archived message, oldest first."""
    with gw.db.reading() as s:
        rows = s.execute(
            select(
                models.Message.login,
                models.Message.provider_id,
                models.Message.outcome,
                models.Message.fault,
            ).order_by(models.Message.id)
        ).all()
    return [tuple(r) for r in rows]


def lots_of(gw, provider: Provider) -> list[str]:
    with gw.db.reading() as s:
        return list(
            s.scalars(
                select(models.Lot.numero_lote)
                .where(models.Lot.provider_id == provider_id(gw, provider))
                .order_by(models.Lot.id)
            )
        )


def assert_sender_refused(answer) -> None:
    assert answer.tiss_fault == "RemetenteInvalido", answer.raw[:400]
    assert answer.code == "5005" and SENDER_MISMATCH in answer.faultstring


def delegations_snapshot(gw) -> list[tuple]:
    with gw.db.reading() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(
                    Delegation.id,
                    Delegation.provider_id,
                    Delegation.delegate_account_id,
                    Delegation.roles,
                    Delegation.status,
                ).order_by(Delegation.id)
            )
        ]


def account_state(gw, login: str) -> tuple[int, object]:
    with gw.db.reading() as s:
        row = s.execute(
            select(Account.failed_attempts, Account.locked_until).where(Account.login == login)
        ).one()
    return row.failed_attempts, row.locked_until


# The web services: naming a provider the delegate does not bill for ----------------------------

SERVICES = [
    "tissLoteGuias",
    "tissSolicitacaoStatusProtocolo",
    "tissVerificaElegibilidade",
    "tissSolicitacaoDemonstrativoRetorno",
]


@pytest.mark.parametrize("service", SERVICES)
def test_a_delegate_naming_a_provider_it_does_not_bill_for_is_refused_on_every_service(
    client, gw, service
):
    pa.beneficiaries(gw)
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    a_id = provider_id(gw, PROVIDER_A)
    for kind in ("CNPJ", "codigoPrestadorNaOperadora"):
        # B is a real, approved provider; the delegate simply has no delegation from it.
        refused = send(client, service, party(PROVIDER_B, kind), PROVIDER_B.code, f"NO{kind[:4]}")
        assert_sender_refused(refused)
        # The same delegate, for the provider it bills for, by the same kind of identification.
        accepted = send(client, service, party(PROVIDER_A, kind), PROVIDER_A.code, f"OK{kind[:4]}")
        assert not accepted.is_fault, accepted.faultstring
        # The archive says who tried and for whom it acted: no provider's message for the
        # refusal, A's (sent by the delegate's login) for the accepted one.
        assert archive(gw)[-2:] == [
            (ps.DELEGATE_CPF, None, "rejected", "RemetenteInvalido"),
            (ps.DELEGATE_CPF, a_id, "accepted", None),
        ]
    assert lots_of(gw, PROVIDER_B) == []
    lots = ["OKCNPJ", "OKcodi"] if service == "tissLoteGuias" else []
    assert lots_of(gw, PROVIDER_A) == lots


@pytest.mark.parametrize("service", SERVICES[1:])
def test_a_query_whose_body_names_another_provider_is_refused(client, gw, service):
    """The delegate bills for A and for B: a query sent as A (origem) whose dadosPrestador names
    B mixes the two, and is refused like a provider's would be."""
    pa.beneficiaries(gw)
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    delegate_also_for(gw, PROVIDER_B, ["faturamento"])
    answer = send(client, service, party(PROVIDER_A, "CNPJ"), PROVIDER_B.code, "X")
    assert_sender_refused(answer)


def test_a_delegate_bills_for_a_pessoa_fisica_named_by_its_cpf(client, gw):
    add_pf_provider(gw)
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    assert_sender_refused(delegate_lot(client, party(PROVIDER_PF, "CPF"), "PF1"))
    delegate_also_for(gw, PROVIDER_PF, ["faturamento"])
    accepted = delegate_lot(client, party(PROVIDER_PF, "CPF"), "PF2")
    assert not accepted.is_fault and accepted.protocol
    assert lots_of(gw, PROVIDER_PF) == ["PF2"] and lots_of(gw, PROVIDER_A) == []


def test_a_delegate_cannot_pass_for_a_provider_by_sending_its_login(client, gw):
    """The delegate knows the provider's CNPJ (it is on every guide) but not its password: the
    provider's login with the delegate's password is a failed login of the provider, and the
    delegate's login never opens a message as someone else."""
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    answer = delegate_lot(client, party(PROVIDER_B, "CNPJ"), "L1", login=PROVIDER_B.cnpj)
    assert answer.tiss_fault == "LoginInvalido"
    assert lots_of(gw, PROVIDER_B) == []


# The web services: delegations that ended, expired, were declined, providers suspended -------


def test_revoking_one_provider_stops_it_at_once_and_leaves_the_other_working(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    b_delegation = delegate_also_for(gw, PROVIDER_B, ["faturamento"])
    # Both work; the credential is now remembered as verified a moment ago.
    assert not delegate_lot(client, party(PROVIDER_A, "CNPJ"), "A1").is_fault
    assert not delegate_lot(client, party(PROVIDER_B, "CNPJ"), "B1").is_fault
    delegation.revoke(gw.db, ps.account_id(gw, PROVIDER_B.cnpj), b_delegation, ps.now())
    assert_sender_refused(delegate_lot(client, party(PROVIDER_B, "CNPJ"), "B2"))
    assert not delegate_lot(client, party(PROVIDER_A, "CNPJ"), "A2").is_fault
    assert lots_of(gw, PROVIDER_B) == ["B1"] and lots_of(gw, PROVIDER_A) == ["A1", "A2"]


def _declined(gw, client, monkeypatch):
    delegate, invitation = ps.invite_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    delegation.respond(gw.db, delegate, invitation, False, None, ps.now())


def _expired(gw, client, monkeypatch):
    delegate, invitation = ps.invite_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    last_day = gw.local(ps.now()).date()
    delegation.respond(gw.db, delegate, invitation, True, last_day, ps.now())
    assert not delegate_lot(client, party(PROVIDER_A, "CNPJ"), "BEFORE").is_fault
    with gw.db.reading() as s:
        ends = s.scalar(select(Delegation.valid_until))
    monkeypatch.setattr(gw, "utcnow", lambda: ends + timedelta(seconds=1))


def _ended_by_the_delegate(gw, client, monkeypatch):
    delegate = ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    delegation.revoke(gw.db, delegate, delegation_id(gw, PROVIDER_A), ps.now())


def _provider_suspended(gw, client, monkeypatch):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    assert not delegate_lot(client, party(PROVIDER_A, "CNPJ"), "BEFORE").is_fault
    with gw.db.transaction() as s:
        s.execute(
            update(models.Provider)
            .where(models.Provider.cnpj == PROVIDER_A.cnpj)
            .values(status="suspended")
        )


@pytest.mark.parametrize(
    "make",
    [_declined, _expired, _ended_by_the_delegate, _provider_suspended],
    ids=lambda f: f.__name__,
)
def test_a_delegation_not_in_force_sends_nothing(client, gw, monkeypatch, make):
    make(gw, client, monkeypatch)
    before = lots_of(gw, PROVIDER_A)
    answer = delegate_lot(client, party(PROVIDER_A, "CNPJ"), "AFTER")
    assert_sender_refused(answer)
    assert lots_of(gw, PROVIDER_A) == before
    login, provider, outcome, _ = archive(gw)[-1]
    assert (login, provider, outcome) == (ps.DELEGATE_CPF, None, "rejected")


def test_a_deactivated_delegate_account_cannot_log_in_to_the_web_service(client, gw):
    delegate = ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    assert not delegate_lot(client, party(PROVIDER_A, "CNPJ"), "ON").is_fault
    staff = ps.make_staff(gw)
    credentials.set_active(gw.db, staff, delegate, False, ps.now(), ps.ORIGIN)
    answer = delegate_lot(client, party(PROVIDER_A, "CNPJ"), "OFF")
    assert answer.tiss_fault == "LoginInvalido"
    assert lots_of(gw, PROVIDER_A) == ["ON"]


# Logins: the delegate's CPF and e-mail ----------------------------------------------------------


def test_a_delegate_cannot_take_the_cpf_of_a_pf_provider_nor_the_other_way_round(client, gw):
    """Item 41, one user per CPF. Both on one CPF, the web service would find the provider's
    account for the Secretária/o's CPF login and count her password against the provider."""
    add_pf_provider(gw)
    with pytest.raises(accounts.InvalidInput) as refused:
        ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"], cpf=PF_CPF)
    assert "login de um prestador pessoa física" in refused.value.errors["cpf"]
    assert account_state(gw, PF_CPF) == (0, None)
    with gw.db.reading() as s:
        assert s.scalar(select(func.count()).where(Account.cpf == PF_CPF)) == 0
    # The other way round: a Secretária/o's CPF cannot become a pessoa física provider's login.
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    with pytest.raises(AdminError, match="Secretária/o"):
        add_provider(
            gw.db, cpf=ps.DELEGATE_CPF, code="PF-DUP", name="Dra. Dupla", password="Senh@Forte1"
        )
    assert not delegate_lot(client, party(PROVIDER_A, "CNPJ"), "CPF1").is_fault


def test_a_short_email_login_works_on_the_web_service_in_any_case(client, gw):
    email = "ana@clin.com.br"
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"], email=email)
    assert ps.login(client, "Ana@Clin.com.br", ps.DELEGATE_PASSWORD).status_code == 302
    assert not delegate_lot(client, party(PROVIDER_A, "CNPJ"), "E1", login=email).is_fault
    answer = delegate_lot(client, party(PROVIDER_A, "CNPJ"), "E2", login="Ana@Clin.com.br")
    assert not answer.is_fault, answer.faultstring


def test_five_failures_lock_the_delegate_and_never_the_provider(client, gw):
    delegate = ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    # Three guesses on the web service (CPF) and two in the portal (e-mail): one account.
    for n in range(3):
        answer = delegate_lot(client, party(PROVIDER_A, "CNPJ"), f"W{n}", senha=WRONG_MD5)
        assert answer.tiss_fault == "LoginInvalido"
    for _ in range(2):
        refused = ps.login(client, ps.DELEGATE_EMAIL, "Errada@2026")
        assert "Login ou senha inválidos." in ps.text(refused)
    failures, locked_until = account_state(gw, ps.DELEGATE_EMAIL)
    assert locked_until is not None
    # Locked: the right password opens neither door.
    assert delegate_lot(client, party(PROVIDER_A, "CNPJ"), "RIGHT").tiss_fault == "LoginInvalido"
    assert "Login ou senha inválidos." in ps.text(
        ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    )
    # The provider is not touched: its account, its web service, its portal.
    assert account_state(gw, PROVIDER_A.cnpj) == (0, None)
    own = sample_lot(PROVIDER_A, "OWN", 2, registro_ans=REGISTRO_ANS)
    assert not post(client, lote_guias_ws(own)).is_fault
    assert lots_of(gw, PROVIDER_A) == ["OWN"]
    with gw.db.reading() as s:
        events = s.execute(
            select(AccessLogEntry.account_id, AccessLogEntry.event).order_by(AccessLogEntry.id)
        ).all()
    a_account = ps.account_id(gw, PROVIDER_A.cnpj)
    assert (delegate, "account_locked") in events
    assert not [e for e in events if e.account_id == a_account and e.event != "login_ok"]
    # What the provider sees in Minha conta: none of its delegate's failures as its own.
    assert ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password).status_code == 302
    page = ps.text(client.get("/portal/conta/"))
    assert "Tentativas sem sucesso antes deste acesso</dt><dd>0<" in page
    assert "Tentativa de acesso sem sucesso" not in page and "Acesso bloqueado" not in page


# The portal: one provider's delegation ends while the delegate works for another ---------------


def test_ending_the_other_providers_delegation_leaves_the_chosen_one_working(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    b_delegation = delegate_also_for(gw, PROVIDER_B, ["faturamento"])
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    a_id = provider_id(gw, PROVIDER_A)
    assert ps.post(client, f"{AREA}/atuar", {"provider_id": a_id}).status_code == 302
    assert client.get(f"{AREA}/arquivos").status_code == 200
    delegation.revoke(gw.db, ps.account_id(gw, PROVIDER_B.cnpj), b_delegation, ps.now())
    home = ps.text(client.get(f"{AREA}/"))
    assert PROVIDER_A.name in home and PROVIDER_B.name not in home
    accepted = pa.upload(client, pa.lot_file(PROVIDER_A, "STILL"))
    assert "Arquivo recebido" in ps.text(accepted)
    assert lots_of(gw, PROVIDER_A) == ["STILL"]


def test_ending_the_chosen_providers_delegation_does_not_switch_to_the_other(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    delegate_also_for(gw, PROVIDER_B, ["faturamento"])
    a_delegation = delegation_id(gw, PROVIDER_A)
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    chosen = ps.post(client, f"{AREA}/atuar", {"provider_id": provider_id(gw, PROVIDER_A)})
    assert chosen.status_code == 302
    token = ps.csrf_token(client, f"{AREA}/envio-xml")  # the upload page, opened for A
    delegation.revoke(gw.db, ps.account_id(gw, PROVIDER_A.cnpj), a_delegation, ps.now())
    upload = client.post(
        f"{AREA}/envio-xml",
        data={
            "csrf_token": token,
            "arquivo": (ps.io_bytes(pa.lot_file(PROVIDER_A, "AFTEREND")), "lote-a.xml"),
        },
        content_type="multipart/form-data",
    )
    with gw.db.reading() as s:
        b_messages = s.scalar(
            select(func.count())
            .select_from(models.Message)
            .where(models.Message.provider_id == provider_id(gw, PROVIDER_B))
        )
    assert b_messages == 0
    assert upload.status_code == 302, upload.status_code


# The archive: who acted for whom ----------------------------------------------------------------


def test_a_delegates_upload_is_archived_as_the_delegates(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    # A hospital system's export that still carries the provider's loginSenhaPrestador.
    lot = sample_lot(
        PROVIDER_A, "UPL", 2, registro_ans=REGISTRO_ANS, login=PROVIDER_A.cnpj, senha_md5=WRONG_MD5
    )
    data = etree.tostring(mensagem_tiss(lot), encoding="ISO-8859-1", xml_declaration=True)
    assert "Arquivo recebido" in ps.text(pa.upload(client, data))
    assert lots_of(gw, PROVIDER_A) == ["UPL"]
    login, provider, outcome, _ = archive(gw)[-1]
    assert (provider, outcome) == (provider_id(gw, PROVIDER_A), "accepted")
    assert login in (ps.DELEGATE_EMAIL, ps.DELEGATE_CPF), login


def test_the_provider_sees_its_delegates_messages_and_not_the_refused_ones(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    sent = delegate_lot(client, party(PROVIDER_A, "CNPJ"), "DELEG1")
    assert_sender_refused(delegate_lot(client, party(PROVIDER_B, "CNPJ"), "TRIEDB"))
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    files = ps.text(client.get(f"{AREA}/arquivos"))
    ids = [int(i) for i in re.findall(r'/portal/prestador/arquivos/(\d+)"', files)]
    assert len(ids) == 1
    detail = ps.text(client.get(f"{AREA}/arquivos/{ids[0]}"))
    assert "DELEG1" in detail and sent.protocol in detail
    ps.logout(client)
    # B never sees the attempt made in its name.
    ps.login(client, PROVIDER_B.cnpj, PROVIDER_B.password)
    assert "Nenhum arquivo" in ps.text(client.get(f"{AREA}/arquivos"))


# Invitations to the wrong people ---------------------------------------------------------------


def invite_form(client, gw, who: str, provider: Provider = PROVIDER_A, roles=("faturamento",)):
    return ps.post(
        client,
        f"{RELATIONSHIPS}/convidar",
        {"provider_id": provider_id(gw, provider), "who": who, "roles": list(roles)},
        token_from=RELATIONSHIPS,
        follow_redirects=True,
    )


def test_a_provider_cannot_delegate_to_an_account_that_is_not_an_active_secretaria(client, gw):
    ps.make_staff(gw)
    delegate = register_second_delegate(gw)
    credentials.set_active(
        gw.db, ps.account_id(gw, ps.STAFF_LOGIN), delegate, False, ps.now(), ps.ORIGIN
    )
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    for target in (
        PROVIDER_A.cnpj,  # itself
        "11.222.333/0001-81",  # itself, as people type it
        PROVIDER_B.cnpj,  # another provider's account
        ps.STAFF_LOGIN,  # the operator's staff
        SECOND_EMAIL,  # a Secretária/o the operator deactivated
        SECOND_CPF,  # the same, by its CPF
    ):
        page = ps.text(invite_form(client, gw, target))
        assert "Nenhuma conta de Secretária/o ativa" in page, target
    assert delegations_snapshot(gw) == []


def test_a_delegate_without_the_manage_role_cannot_delegate_further(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento", "atendimento", "comercial"])
    register_second_delegate(gw)
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    listing = ps.text(client.get(RELATIONSHIPS))
    assert "Novo relacionamento" not in listing  # no form offered
    before = delegations_snapshot(gw)
    page = ps.text(invite_form(client, gw, SECOND_EMAIL))
    assert "não pode gerenciar" in page
    # Nor by naming itself to widen its own roles.
    page = ps.text(invite_form(client, gw, ps.DELEGATE_CPF, roles=("relacionamentos",)))
    assert "não pode gerenciar" in page
    assert delegations_snapshot(gw) == before


def test_a_manager_delegate_cannot_give_itself_a_second_delegation(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["relacionamentos"])
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    before = delegations_snapshot(gw)
    page = ps.text(invite_form(client, gw, ps.DELEGATE_EMAIL, roles=("faturamento",)))
    assert "Já existe um relacionamento" in page
    assert delegations_snapshot(gw) == before
    assert_sender_refused(delegate_lot(client, party(PROVIDER_A, "CNPJ"), "SELF"))


# IDOR and CSRF on the relationship forms -------------------------------------------------------


def test_ids_of_another_providers_delegations_do_nothing(client, gw):
    """Provider A posts the forms with the ids of B's delegation and of B itself; a second
    Secretária/o answers the first one's invitation."""
    ps.make_delegate(gw, PROVIDER_B.cnpj, ["faturamento"])
    b_delegation = delegation_id(gw, PROVIDER_B)
    second = register_second_delegate(gw)
    _, pending = ps.invite_delegate(
        gw, PROVIDER_A.cnpj, ["faturamento"], cpf="11144477735", email="maria@example.com"
    )
    before = delegations_snapshot(gw)

    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    listing = ps.text(client.get(RELATIONSHIPS))
    assert ps.DELEGATE_EMAIL not in listing  # B's delegate is not A's business
    ended = ps.post(
        client,
        f"{RELATIONSHIPS}/{b_delegation}/encerrar",
        {},
        token_from=RELATIONSHIPS,
        follow_redirects=True,
    )
    assert "não encontrado" in ps.text(ended)
    invited = invite_form(client, gw, SECOND_EMAIL, provider=PROVIDER_B)
    assert "não pode gerenciar" in ps.text(invited)
    ps.logout(client)

    ps.login(client, SECOND_EMAIL, ps.DELEGATE_PASSWORD)
    answered = ps.post(
        client,
        f"{RELATIONSHIPS}/{pending}/responder",
        {"answer": "accept", "period": "always"},
        token_from=RELATIONSHIPS,
        follow_redirects=True,
    )
    assert "Convite não encontrado" in ps.text(answered)
    assert delegations_snapshot(gw) == before
    assert second not in {row[2] for row in delegations_snapshot(gw)}
    # B's delegate still bills for B.
    assert not delegate_lot(client, party(PROVIDER_B, "CNPJ"), "STILLB").is_fault


def test_relationship_forms_without_their_csrf_token_change_nothing(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    active = delegation_id(gw, PROVIDER_A)
    register_second_delegate(gw)
    _, pending = ps.invite_delegate(
        gw, PROVIDER_A.cnpj, ["faturamento"], cpf="11144477735", email="maria@example.com"
    )
    before = delegations_snapshot(gw)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    for path, data in (
        (f"{RELATIONSHIPS}/{active}/encerrar", {}),
        (
            f"{RELATIONSHIPS}/convidar",
            {
                "provider_id": provider_id(gw, PROVIDER_A),
                "who": SECOND_EMAIL,
                "roles": "faturamento",
            },
        ),
    ):
        assert client.post(path, data=data).status_code == 400, path
        assert client.post(path, data=dict(data, csrf_token="forjado")).status_code == 400, path
    ps.logout(client)
    ps.login(client, "maria@example.com", ps.DELEGATE_PASSWORD)
    answer = client.post(
        f"{RELATIONSHIPS}/{pending}/responder", data={"answer": "accept", "period": "always"}
    )
    assert answer.status_code == 400
    assert delegations_snapshot(gw) == before


# A delegate changing what is the provider's -----------------------------------------------------


def test_a_delegate_with_every_role_cannot_change_the_providers_data_or_password(client, gw):
    ps.make_delegate(
        gw, PROVIDER_A.cnpj, ["faturamento", "atendimento", "comercial", "relacionamentos"]
    )
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    assert client.get(f"{AREA}/meus-dados").status_code == 200
    token = ps.csrf_token(client, f"{AREA}/envio-xml")
    assert client.post(f"{AREA}/meus-dados", data={"csrf_token": token}).status_code == 405
    for path in ("/portal/credenciamento/", "/portal/credenciamento/dados"):
        assert client.get(path).status_code == 403, path
        answer = client.post(
            path, data={"csrf_token": token, "razao_social": "Tomada Ltda", "email": "x@y.com"}
        )
        assert answer.status_code in (403, 405), (path, answer.status_code)
    assert client.get("/portal/operadora/contas").status_code == 403
    # "Alterar senha" changes the delegate's own password, never the provider's.
    changed = ps.post(
        client,
        "/portal/conta/senha",
        {
            "current": ps.DELEGATE_PASSWORD,
            "password": "Nova@Secret26",
            "password_confirm": "Nova@Secret26",
        },
    )
    assert changed.status_code == 302
    provider_lot = sample_lot(PROVIDER_A, "PWD", 2, registro_ans=REGISTRO_ANS)
    assert not post(client, lote_guias_ws(provider_lot)).is_fault
    with gw.db.reading() as s:
        name = s.scalar(select(models.Provider.name).where(models.Provider.cnpj == PROVIDER_A.cnpj))
    assert name == PROVIDER_A.name
