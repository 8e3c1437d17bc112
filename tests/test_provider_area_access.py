"""Who sees what in the provider area: another provider's messages, protocols, documents and
typed protocols are answered exactly like ids that do not exist; long lists are paged; a
Secretária/o acts for one provider at a time and only with the roles it was given."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage import models
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B
from tests.test_soap_queries import analyse, pay

AREA = pa.AREA
UNKNOWN_PROTOCOL = "999999999999"


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


def login(client, provider):
    assert ps.login(client, provider.cnpj, provider.password).status_code == 302
    client.get(f"{AREA}/")  # shows (and so consumes) the welcome message


def b_protocol_and_message(client, gw) -> tuple[str, int]:
    """Provider B uploads, is analysed and paid; returns its protocol and message id."""
    login(client, PROVIDER_B)
    page = ps.text(pa.upload(client, pa.lot_file(PROVIDER_B, "BLOT")))
    numero = re.search(r'data-testid="protocolo">(\d{12})<', page).group(1)
    ps.logout(client)
    analyse(gw, numero)
    pay(gw, numero, PROVIDER_B.code)
    with gw.db.reading() as s:
        message = s.scalar(select(models.Message.id).where(models.Message.channel == "upload"))
    return numero, message


def page_text(response) -> str:
    """The page without its CSRF token, which is signed with the time of the request."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", ps.text(response))


def same_404(client, theirs: str, unknown: str) -> None:
    first, second = client.get(theirs), client.get(unknown)
    assert first.status_code == second.status_code == 404, (theirs, first.status_code)
    assert page_text(first) == page_text(second)


def test_another_providers_ids_are_404_like_unknown_ones(client, gw):
    numero, message_id = b_protocol_and_message(client, gw)
    login(client, PROVIDER_A)
    for theirs, unknown in (
        (f"{AREA}/arquivos/{message_id}", f"{AREA}/arquivos/987654"),
        (f"{AREA}/arquivos/{message_id}/enviado", f"{AREA}/arquivos/987654/enviado"),
        (f"{AREA}/arquivos/{message_id}/retorno", f"{AREA}/arquivos/987654/retorno"),
        (f"{AREA}/capa-de-lote/{numero}.pdf", f"{AREA}/capa-de-lote/{UNKNOWN_PROTOCOL}.pdf"),
        (
            f"{AREA}/demonstrativos/analise/{numero}.pdf",
            f"{AREA}/demonstrativos/analise/{UNKNOWN_PROTOCOL}.pdf",
        ),
        (
            f"{AREA}/relatorios/{numero}/analitico.xlsx",
            f"{AREA}/relatorios/{UNKNOWN_PROTOCOL}/analitico.xlsx",
        ),
    ):
        same_404(client, theirs, unknown)


@pytest.mark.parametrize("page", ["status", "capa-de-lote", "demonstrativos"])
def test_another_providers_protocol_is_protocolo_inexistente(client, gw, page):
    numero, _ = b_protocol_and_message(client, gw)
    login(client, PROVIDER_A)
    theirs = client.get(f"{AREA}/{page}", query_string={"protocolo": numero})
    unknown = client.get(f"{AREA}/{page}", query_string={"protocolo": UNKNOWN_PROTOCOL})
    assert theirs.status_code == unknown.status_code
    assert "Protocolo inexistente" in ps.text(theirs)
    assert page_text(theirs).replace(numero, "N") == page_text(unknown).replace(
        UNKNOWN_PROTOCOL, "N"
    )
    assert "BLOT" not in ps.text(theirs)


def test_another_providers_payment_is_not_in_the_statement(client, gw):
    b_protocol_and_message(client, gw)
    login(client, PROVIDER_A)
    response = client.get(
        f"{AREA}/demonstrativos/pagamento",
        query_string={"tipo": "medico", "periodo": "competencia", "competencia": "11/2026"},
    )
    assert response.status_code == 404 and "Não há pagamento" in ps.text(response)


def test_another_providers_typed_protocol_is_404(client, gw):
    login(client, PROVIDER_B)
    created = ps.post(
        client,
        f"{AREA}/digitacao/novo",
        {"guide_type": "guiaConsulta"},
        token_from=f"{AREA}/digitacao",
    )
    theirs = created.headers["Location"]
    ps.logout(client)
    login(client, PROVIDER_A)
    typed_id = int(theirs.rsplit("/", 1)[1])
    same_404(client, theirs, f"{AREA}/digitacao/{typed_id + 1000}")
    same_404(client, f"{theirs}/guias/nova", f"{AREA}/digitacao/{typed_id + 1000}/guias/nova")


def add_messages(gw, provider_cnpj: str, count: int) -> list[int]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with gw.db.transaction() as s:
        provider = s.scalar(select(models.Provider).where(models.Provider.cnpj == provider_cnpj))
        rows = [
            models.Message(
                request_id=f"r{i}",
                received_at=start + timedelta(minutes=i),
                channel="soap",
                service="tissVerificaElegibilidade",
                tipo_transacao="VERIFICA_ELEGIBILIDADE",
                raw_request=b"<x/>",
                request_size=4,
                request_sha256=hashlib.sha256(b"<x/>").hexdigest(),
                outcome="accepted",
                provider_id=provider.id,
            )
            for i in range(count)
        ]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def listed_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'/portal/prestador/arquivos/(\d+)"', page)]


def test_files_are_paged_newest_first(client, gw):
    mine = add_messages(gw, PROVIDER_A.cnpj, 25)
    theirs = add_messages(gw, PROVIDER_B.cnpj, 3)
    login(client, PROVIDER_A)
    first = ps.text(client.get(f"{AREA}/arquivos"))
    assert listed_ids(first) == sorted(mine, reverse=True)[:20]
    assert "Página 1 de 2" in first and "pagina=2" in first and "25 arquivos" in first
    second = ps.text(client.get(f"{AREA}/arquivos", query_string={"pagina": 2}))
    assert listed_ids(second) == sorted(mine, reverse=True)[20:]
    assert "pagina=1" in second
    assert not set(theirs) & set(listed_ids(first) + listed_ids(second))
    assert listed_ids(ps.text(client.get(f"{AREA}/arquivos?pagina=abc"))) == listed_ids(first)
    assert "Nenhum arquivo nesta página" in ps.text(client.get(f"{AREA}/arquivos?pagina=9"))


def test_delegate_with_atendimento_only(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["atendimento"])
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    home = ps.text(client.get(f"{AREA}/"))
    assert PROVIDER_A.name in home and "Atuando por" in home
    assert ">Elegibilidade</a>" in home and ">Status do Protocolo</a>" in home
    assert ">Envio de Arquivo XML</a>" not in home and ">Meus Dados</a>" not in home
    for path in ("/elegibilidade", "/status"):
        assert client.get(AREA + path).status_code == 200
    for path in (
        "/envio-xml",
        "/arquivos",
        "/capa-de-lote",
        "/demonstrativos",
        "/digitacao",
        "/meus-dados",
    ):
        assert client.get(AREA + path).status_code == 403, path


def test_delegate_with_faturamento_sends_for_the_provider_it_acts_for(client, gw):
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    from gateway.services.accounts import delegation

    with gw.db.reading() as s:
        b_account = s.scalar(select(models.Account).where(models.Account.login == PROVIDER_B.cnpj))
        delegate = s.scalar(select(models.Account).where(models.Account.login == ps.DELEGATE_EMAIL))
    invitation = delegation.invite(
        gw.db, b_account.id, b_account.provider_id, ps.DELEGATE_EMAIL, ["faturamento"], ps.now()
    )
    delegation.respond(gw.db, delegate.id, invitation, True, None, ps.now())

    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    chooser = client.get(f"{AREA}/envio-xml")
    assert "/portal/prestador/atuar" in chooser.headers["Location"]
    refused = ps.post(client, f"{AREA}/atuar", {"provider_id": b_account.provider_id + 999})
    assert refused.status_code == 403
    with gw.db.reading() as s:
        a_id = s.scalar(select(models.Provider.id).where(models.Provider.cnpj == PROVIDER_A.cnpj))
    assert ps.post(client, f"{AREA}/atuar", {"provider_id": a_id}).status_code == 302

    # Acting for A: B's file is refused, although the delegate may also bill for B.
    other = pa.upload(client, pa.lot_file(PROVIDER_B, "DLB"))
    assert "O Recebedor do arquivo diverge do login utilizado" in ps.text(other)
    accepted = pa.upload(client, pa.lot_file(PROVIDER_A, "DLA"))
    assert accepted.status_code == 200 and "Arquivo recebido" in ps.text(accepted)
    with gw.db.reading() as s:
        lot = s.scalar(select(models.Lot))
        assert (lot.provider_id, lot.numero_lote) == (a_id, "DLA")
    assert client.get(f"{AREA}/meus-dados").status_code == 403


def test_ended_delegation_closes_the_area(client, gw):
    delegate = ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    assert client.get(f"{AREA}/arquivos").status_code == 200
    from gateway.services.accounts import delegation
    from storage.portal_models import Delegation

    with gw.db.reading() as s:
        delegation_id = s.scalar(select(Delegation.id))
    delegation.revoke(gw.db, delegate, delegation_id, ps.now())
    response = client.get(f"{AREA}/arquivos")
    assert response.headers["Location"].endswith("/portal/conta/relacionamentos")


def test_who_else_cannot_enter(client, gw):
    assert "/portal/entrar" in client.get(f"{AREA}/").headers["Location"]
    ps.make_staff(gw)
    ps.login(client, ps.STAFF_LOGIN, ps.STAFF_PASSWORD)
    assert client.get(f"{AREA}/").status_code == 403
    ps.logout(client)
    ps.candidate_submitted(gw)
    ps.login(client, ps.CANDIDATE_CNPJ, ps.CANDIDATE_PASSWORD)
    assert client.get(f"{AREA}/").headers["Location"].endswith("/portal/credenciamento/")


def test_forms_need_the_csrf_token(client, gw):
    login(client, PROVIDER_A)
    for path in ("/envio-xml", "/elegibilidade", "/digitacao/novo", "/atuar"):
        response = client.post(AREA + path, data={"carteira": "1111"})
        assert response.status_code == 400, path
        assert "O formulário expirou" in ps.text(response)
