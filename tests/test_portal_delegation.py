"""Relacionamentos (seed 003): a Secretária/o registers, a credentialed provider invites it with
roles, it accepts for a period or indefinitely, the provider revokes; and the TISS web service
accepts a lot from a delegate with Faturamento only for that provider."""

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.services.accounts import delegation
from gateway.services.validation import InvalidInput
from gateway.tiss.samples import lote_guias_ws
from storage.models import Account, Provider
from storage.portal_models import Delegation
from tests import portal_support as ps
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.tissclient import post as post_soap
from tests.tissclient import sample_lot

DELEGATE_MD5 = hashlib.md5(ps.DELEGATE_PASSWORD.encode()).hexdigest()


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


def signup(client) -> None:
    form = {
        "cpf": "628.194.821-12",
        "email": ps.DELEGATE_EMAIL,
        "email_confirm": ps.DELEGATE_EMAIL,
        "name": "Ana Secretária",
        "password": ps.DELEGATE_PASSWORD,
        "password_confirm": ps.DELEGATE_PASSWORD,
        "terms": "on",
    }
    response = ps.post(client, "/portal/secretaria/criar-conta", form)
    assert response.status_code == 302, ps.text(response)


def provider_id(gw, provider) -> int:
    with gw.db.reading() as session:
        return session.scalar(select(Provider.id).where(Provider.cnpj == provider.cnpj))


def last_delegation_id(gw) -> int:
    with gw.db.reading() as session:
        return session.scalars(select(Delegation.id).order_by(Delegation.id.desc())).first()


def invite(client, gw, roles: list[str], provider=PROVIDER_A):
    ps.login(client, provider.cnpj, provider.password)
    page = "/portal/conta/relacionamentos"
    assert "Novo relacionamento" in ps.text(client.get(page))
    response = ps.post(
        client,
        f"{page}/convidar",
        {"provider_id": provider_id(gw, provider), "who": ps.DELEGATE_EMAIL, "roles": roles},
        token_from=page,
    )
    assert response.status_code == 302
    ps.logout(client)


def accept(client, gw, period: str = "always", until: str = ""):
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    page = "/portal/conta/relacionamentos"
    listing = ps.text(client.get(page))
    assert PROVIDER_A.name in listing and "Convite enviado" in listing
    response = ps.post(
        client,
        f"{page}/{last_delegation_id(gw)}/responder",
        {"answer": "accept", "period": period, "until": until},
        token_from=page,
    )
    assert response.status_code == 302
    return ps.text(client.get(page))


def lot_as_delegate(client, provider, numero="7001"):
    lot = sample_lot(
        provider, numero, registro_ans=REGISTRO_ANS, login=ps.DELEGATE_CPF, senha_md5=DELEGATE_MD5
    )
    return post_soap(client, lote_guias_ws(lot))


def test_invitation_accepted_then_revoked(client, gw):
    signup(client)
    invite(client, gw, ["faturamento", "atendimento"])
    page = accept(client, gw)
    assert "Ativo" in page and "loginPrestador" in page

    accepted = lot_as_delegate(client, PROVIDER_A)
    assert not accepted.is_fault and accepted.protocol
    other = lot_as_delegate(client, PROVIDER_B, "7002")
    assert other.tiss_fault == "RemetenteInvalido"
    assert "O Recebedor do arquivo diverge do login utilizado" in other.faultstring

    # The provider sees it and revokes it.
    ps.logout(client)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    page = "/portal/conta/relacionamentos"
    listing = ps.text(client.get(page))
    assert ps.DELEGATE_EMAIL in listing and "Faturamento" in listing
    ps.post(client, f"{page}/{last_delegation_id(gw)}/encerrar", {}, token_from=page)
    assert "Encerrado" in ps.text(client.get(page))
    revoked = lot_as_delegate(client, PROVIDER_A, "7003")
    assert revoked.tiss_fault == "RemetenteInvalido"


def test_delegate_without_faturamento_is_refused_on_the_web_service(client, gw):
    signup(client)
    invite(client, gw, ["atendimento", "comercial"])
    accept(client, gw)
    answer = lot_as_delegate(client, PROVIDER_A)
    assert answer.tiss_fault == "RemetenteInvalido"


def test_invitation_not_accepted_gives_nothing(client, gw):
    signup(client)
    invite(client, gw, ["faturamento"])
    assert lot_as_delegate(client, PROVIDER_A).tiss_fault == "RemetenteInvalido"


def test_wrong_password_of_a_delegate_is_a_login_failure(client):
    signup(client)
    lot = sample_lot(
        PROVIDER_A,
        "1",
        registro_ans=REGISTRO_ANS,
        login=ps.DELEGATE_CPF,
        senha_md5=hashlib.md5(b"Errada@123").hexdigest(),
    )
    assert post_soap(client, lote_guias_ws(lot)).tiss_fault == "LoginInvalido"


def test_acceptance_for_a_period_ends(client, gw):
    signup(client)
    invite(client, gw, ["faturamento"])
    today = gw.local(ps.now()).date()
    page = accept(client, gw, "until", today.isoformat())
    assert f"validade: {today:%d/%m/%Y}" in page
    assert not lot_as_delegate(client, PROVIDER_A).is_fault
    with gw.db.reading() as session:
        row = session.scalars(select(Delegation)).one()
        assert delegation.effective_status(row, ps.now() + timedelta(days=2)) == "expired"


def test_rules_of_invitations(gw):
    ps.make_staff(gw)
    with gw.db.reading() as session:
        a_account = session.scalar(select(Account.id).where(Account.login == PROVIDER_A.cnpj))
        b_account = session.scalar(select(Account.id).where(Account.login == PROVIDER_B.cnpj))
    with pytest.raises(InvalidInput, match="Secretária/o"):
        delegation.invite(
            gw.db,
            a_account,
            provider_id(gw, PROVIDER_A),
            "ninguem@x.com",
            ["faturamento"],
            ps.now(),
        )
    from gateway.services.accounts.registration import register_delegate

    register_delegate(
        gw.db,
        {
            "cpf": ps.DELEGATE_CPF,
            "email": ps.DELEGATE_EMAIL,
            "email_confirm": ps.DELEGATE_EMAIL,
            "name": "Ana",
            "password": ps.DELEGATE_PASSWORD,
            "password_confirm": ps.DELEGATE_PASSWORD,
            "terms": "on",
        },
        ps.now(),
        ps.ORIGIN,
    )
    with pytest.raises(InvalidInput, match="não pode gerenciar"):  # B cannot act for A
        delegation.invite(
            gw.db,
            b_account,
            provider_id(gw, PROVIDER_A),
            ps.DELEGATE_CPF,
            ["faturamento"],
            ps.now(),
        )
    with pytest.raises(InvalidInput, match="papel"):
        delegation.invite(
            gw.db, a_account, provider_id(gw, PROVIDER_A), ps.DELEGATE_CPF, [], ps.now()
        )
    first = delegation.invite(
        gw.db, a_account, provider_id(gw, PROVIDER_A), ps.DELEGATE_CPF, ["faturamento"], ps.now()
    )
    with pytest.raises(InvalidInput, match="Já existe"):
        delegation.invite(
            gw.db,
            a_account,
            provider_id(gw, PROVIDER_A),
            ps.DELEGATE_EMAIL,
            ["comercial"],
            ps.now(),
        )
    delegate = ps.account_id(gw, ps.DELEGATE_EMAIL)
    with pytest.raises(InvalidInput, match="data final"):
        delegation.respond(gw.db, delegate, first, True, date(2020, 1, 1), ps.now())
    with pytest.raises(InvalidInput):  # only the invitee answers
        delegation.respond(gw.db, b_account, first, True, None, ps.now())
    with pytest.raises(InvalidInput, match="CPF"):  # one Secretária/o account per CPF
        register_delegate(
            gw.db,
            {
                "cpf": ps.DELEGATE_CPF,
                "email": "outra@x.com",
                "email_confirm": "outra@x.com",
                "name": "Outra",
                "password": ps.DELEGATE_PASSWORD,
                "password_confirm": ps.DELEGATE_PASSWORD,
                "terms": "on",
            },
            ps.now(),
            ps.ORIGIN,
        )


def test_period_ends_with_the_last_day_in_brazil(client, gw):
    """The final date is a day in Brazil (UTC-3): accepting "until today" at 22:00 there (01:00
    UTC of the next day) is allowed, and the relationship lasts until that day's midnight there."""
    signup(client)
    invite(client, gw, ["faturamento"])
    delegate = ps.account_id(gw, ps.DELEGATE_EMAIL)
    evening_in_brazil = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 21/11, 22:00 in São Paulo
    delegation.respond(
        gw.db, delegate, last_delegation_id(gw), True, date(2026, 11, 21), evening_in_brazil
    )
    with gw.db.reading() as session:
        row = session.scalars(select(Delegation)).one()
    midnight_in_brazil = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    before = midnight_in_brazil - timedelta(minutes=1)
    assert delegation.effective_status(row, before) == "active"
    assert delegation.effective_status(row, midnight_in_brazil) == "expired"
    view = delegation.list_for_provider(gw.db, provider_id(gw, PROVIDER_A), before)[0]
    assert view.last_day == date(2026, 11, 21)  # what the relationships page shows


@pytest.mark.parametrize(
    "valid_until",
    [
        datetime(2026, 11, 22, 3, 0, tzinfo=UTC),  # midnight in São Paulo: how periods end now
        datetime(2026, 11, 22, 0, 0, tzinfo=UTC),  # midnight UTC: periods accepted before that
    ],
)
def test_the_page_shows_the_final_day_chosen(valid_until):
    view = delegation.DelegationView(
        id=1,
        provider_id=1,
        provider_name="Clínica",
        provider_code="P1",
        delegate_name="Ana",
        delegate_login="ana@x.com",
        roles=("faturamento",),
        status="active",
        invited_at=valid_until - timedelta(days=30),
        valid_until=valid_until,
    )
    assert view.last_day == date(2026, 11, 21)
