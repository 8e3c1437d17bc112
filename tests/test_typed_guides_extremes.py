"""Digitação de Guias attacked like a careless or hostile provider would: accents typed the way a
Mac pastes them, invisible characters in a guide number, the same guide billed from two typed
protocols or from a typed one and the web service, a protocol reopened and corrected in a second
tab while the first tab is sending it, a form whose hidden executante code names another provider,
guides whose total no protocol can state, the Brazilian day against the UTC one, and markup shown
back on the status page and printed on the Capa de Lote.

What a provider (and the operator) checks: every lot the gateway builds from typed guides is valid
under the OFFICIAL ANS schema of the version it declares and carries a correct hash; a guide is
billed once; what the typed protocol shows as sent is exactly what was archived and printed.
"""

import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import func, select

from gateway.services import typed_guides as typing
from gateway.tiss.samples import SampleGuide, lote_guias_ws
from storage import models
from storage.typed_models import TypedProtocol
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.provider_area_support import (
    field_errors,
    occurrences,
    official_message_schema,
    protocol_number,
)
from tests.tissclient import leaf_md5, post, sample_lot

AREA = pa.AREA
GUIDE = pa.CONSULTA_FORM


@pytest.fixture
def settings_overrides():
    # The production default (TISS_REFUSE_PRESENTED_GUIDES=true); tests/conftest.py turns it off.
    return {"portal": ps.PORTAL_SETTINGS, "refuse_presented_guides": True}


@pytest.fixture
def typist(client, gw):
    pa.beneficiaries(gw)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    return client


# --- helpers ---


def typed_id(protocol_url: str) -> int:
    return int(protocol_url.rsplit("/", 1)[1])


def provider_id(gw, provider=PROVIDER_A) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(models.Provider.id).where(models.Provider.cnpj == provider.cnpj))


def save(client, protocol_url: str, **overrides):
    return ps.post(client, f"{protocol_url}/guias/nova", dict(GUIDE, **overrides))


def finish(client, protocol_url: str) -> None:
    finished = ps.post(client, f"{protocol_url}/finalizar", {}, token_from=protocol_url)
    assert finished.status_code == 302


def send(client, protocol_url: str):
    return ps.post(client, f"{protocol_url}/enviar", {}, token_from=protocol_url)


def typed_protocol(client, *guides: dict) -> str:
    """A new typed protocol with `guides` (overrides of GUIDE), finished: its page's address."""
    protocol_url = pa.open_protocol(client)
    for guide in guides:
        saved = save(client, protocol_url, **guide)
        assert saved.status_code == 302, field_errors(saved)
    finish(client, protocol_url)
    return protocol_url


def count(gw, model) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model))


def upload_messages(gw) -> list[models.Message]:
    with gw.db.reading() as s:
        return list(
            s.scalars(
                select(models.Message)
                .where(models.Message.channel == "upload")
                .order_by(models.Message.id)
            )
        )


def archived_lot(message: models.Message) -> etree._Element:
    """The archived request, asserted valid under the official schema of the version it declares
    and carrying the hash of its own content, as the web service demands of every lot."""
    root = etree.fromstring(message.raw_request)
    version = root.findtext("{*}cabecalho/{*}Padrao")
    schema = official_message_schema(version)
    assert schema.validate(root), schema.error_log
    assert root.findtext("{*}epilogo/{*}hash") == leaf_md5(root)
    return root


def archived_guides(root: etree._Element) -> list[tuple[str, str, str]]:
    """(guide number, card, value) of each guide of an archived lot."""
    return [
        (
            g.findtext("{*}cabecalhoConsulta/{*}numeroGuiaPrestador"),
            g.findtext("{*}dadosBeneficiario/{*}numeroCarteira"),
            g.findtext(".//{*}valorProcedimento"),
        )
        for g in root.iter("{*}guiaConsulta")
    ]


# --- texts as people paste them ---


def test_accents_pasted_decomposed_are_kept_as_the_latin1_letters_they_are(typist, gw):
    """macOS and many PDFs give "ç" as "c" + a combining cedilla (NFD). The letter exists in
    ISO-8859-1; the clerk sees an ordinary name and must not be told to remove emojis."""
    name = unicodedata.normalize("NFD", "Dra. Conceição Araújo Müller")
    observacao = unicodedata.normalize("NFD", "Paciente com cefaléia; retorno após exames.")
    protocol_url = pa.open_protocol(typist)
    saved = save(typist, protocol_url, nome_profissional=name, observacao=observacao)
    assert saved.status_code == 302, field_errors(saved)

    finish(typist, protocol_url)
    sent = send(typist, protocol_url)
    assert sent.status_code == 200, occurrences(sent)
    guide = next(archived_lot(upload_messages(gw)[-1]).iter("{*}guiaConsulta"))
    assert guide.findtext(".//{*}nomeProfissional") == "Dra. Conceição Araújo Müller"
    assert guide.findtext("{*}observacao") == unicodedata.normalize("NFC", observacao)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nome_profissional", "Dr. 王小明"),  # CJK: not ISO-8859-1
        ("observacao", "Retorno\u202eem 30 dias"),  # right-to-left override
        ("numero_carteira", "1111\u200b"),  # zero-width space after the card
    ],
)
def test_characters_a_latin1_lot_cannot_carry_are_refused_at_typing(typist, gw, field, value):
    protocol_url = pa.open_protocol(typist)
    response = save(typist, protocol_url, **{field: value})
    assert response.status_code == 422
    assert field in field_errors(response)
    assert count(gw, models.Message) == 0


def test_an_invisible_soft_hyphen_does_not_bill_a_guide_twice(typist, gw):
    first = typed_protocol(typist, {})
    assert send(typist, first).status_code == 200

    second = pa.open_protocol(typist)
    saved = save(typist, second, numero_guia_prestador="C\u00ad0001")
    if saved.status_code == 302:
        finish(typist, second)
        sent = send(typist, second)
        assert sent.status_code == 422, "the same guide got a second protocol"
        assert any("1308" in o or "já foi apresentada" in o for o in occurrences(sent))
    else:
        assert saved.status_code == 422
        assert "numero_guia_prestador" in field_errors(saved)
    assert count(gw, models.Lot) == 1


# --- a guide billed once ---


def test_the_same_guide_in_a_second_typed_protocol_is_refused_and_can_be_corrected(typist, gw):
    first = typed_protocol(typist, {})
    numero = protocol_number(send(typist, first))
    assert numero

    second = typed_protocol(typist, {"numero_guia_prestador": "C0002"}, {})
    refused = send(typist, second)
    assert refused.status_code == 422
    said = " ".join(occurrences(refused))
    assert "C0001" in said and numero in said, said
    assert count(gw, models.Lot) == 1
    view = typing.protocol(gw.db, provider_id(gw), typed_id(second))
    assert view.status == typing.FINISHED and view.protocol_numero is None
    # Even the refused lot the gateway built is one the web service would read.
    archived_lot(upload_messages(gw)[-1])

    # The clerk reopens, corrects the repeated number and sends: a new protocol, both guides.
    ps.post(typist, f"{second}/reabrir", {}, token_from=second)
    repeated = next(g for g in view.guides if g.numero_guia_prestador == "C0001")
    corrected = ps.post(
        typist, f"{second}/guias/{repeated.id}", dict(GUIDE, numero_guia_prestador="C0003")
    )
    assert corrected.status_code == 302, field_errors(corrected)
    finish(typist, second)
    accepted = send(typist, second)
    assert accepted.status_code == 200, occurrences(accepted)
    assert protocol_number(accepted) not in (None, numero)
    root = archived_lot(upload_messages(gw)[-1])
    assert sorted(g[0] for g in archived_guides(root)) == ["C0002", "C0003"]


def _ws_lot(numero_lote: str, numero_guia: str):
    lot = sample_lot(
        PROVIDER_A,
        numero_lote,
        registro_ans=REGISTRO_ANS,
        guide_type="guiaConsulta",
        guides=[SampleGuide(numero_guia=numero_guia, carteira=pa.ACTIVE_CARD)],
    )
    return lote_guias_ws(lot)


def test_a_typed_guide_sent_again_by_the_web_service_gets_1308(typist, gw):
    numero = protocol_number(send(typist, typed_protocol(typist, {})))
    answer = post(typist, _ws_lot("WS0001", "C0001"), version=gw.newest_version)
    assert answer.code == "1308"
    assert numero in answer.text(".//ans:mensagemErro/ans:descricaoGlosa")
    assert count(gw, models.Lot) == 1


def test_a_guide_sent_by_the_web_service_is_refused_when_typed_and_sent(typist, gw):
    answer = post(typist, _ws_lot("WS0002", "C0001"), version=gw.newest_version)
    assert answer.protocol
    refused = send(typist, typed_protocol(typist, {}))
    assert refused.status_code == 422
    assert any("C0001" in o and answer.protocol in o for o in occurrences(refused))
    assert count(gw, models.Lot) == 1


# --- what the protocol shows is what was archived ---


def test_a_protocol_corrected_in_another_tab_while_sending_shows_what_was_archived(
    typist, gw, monkeypatch
):
    protocol_url = typed_protocol(typist, {})
    view = typing.protocol(gw.db, provider_id(gw), typed_id(protocol_url))
    real_upload = typing.upload_lot_file
    other_tab = []

    def slow_upload(*args, **kwargs):
        # The other tab acts while this one's file is on its way.
        if not other_tab:
            other_tab.append(
                ps.post(typist, f"{protocol_url}/reabrir", {}, token_from=protocol_url)
            )
            other_tab.append(
                ps.post(
                    typist,
                    f"{protocol_url}/guias/{view.guides[0].id}",
                    dict(GUIDE, valor_procedimento="99,90"),
                )
            )
            other_tab.append(
                ps.post(typist, f"{protocol_url}/finalizar", {}, token_from=protocol_url)
            )
        return real_upload(*args, **kwargs)

    monkeypatch.setattr(typing, "upload_lot_file", slow_upload)
    sent = send(typist, protocol_url)
    assert sent.status_code == 200, occurrences(sent)

    after = typing.protocol(gw.db, provider_id(gw), typed_id(protocol_url))
    root = archived_lot(upload_messages(gw)[-1])
    archived = [(n, c, Decimal(v)) for n, c, v in archived_guides(root)]
    shown = [(g.numero_guia_prestador, g.numero_carteira, g.valor) for g in after.guides]
    if after.status == typing.SENT:
        assert shown == archived, "the protocol marked sent shows values that were not sent"
    else:
        assert count(gw, models.Lot) == 0


def test_a_send_that_failed_after_the_upload_is_sent_again_to_the_same_protocol(
    typist, gw, monkeypatch
):
    """The lot was stored but marking the typed protocol failed (the database went away): the
    clerk clicks 'Enviar' again and must get the same protocol, not a second one or a 1308."""
    protocol_url = typed_protocol(typist, {}, {"numero_guia_prestador": "C0002"})
    real_own = typing._own
    failures, locks = [], []

    def own_failing_once(session, provider, typed, *, lock=False):
        # The first locked read marks the protocol as being sent; the second, after the
        # upload, marks it sent: that one fails, once.
        if lock:
            locks.append(True)
            if len(locks) == 2 and not failures:
                failures.append(True)
                raise RuntimeError("connection lost")
        return real_own(session, provider, typed, lock=lock)

    monkeypatch.setattr(typing, "_own", own_failing_once)
    try:
        first = send(typist, protocol_url)
        assert first.status_code == 500
    except RuntimeError:
        pass
    assert failures and count(gw, models.Lot) == 1
    with gw.db.reading() as s:
        numero = s.scalar(select(models.Protocol.numero))

    again = send(typist, protocol_url)
    assert again.status_code == 200, occurrences(again)
    assert protocol_number(again) == numero
    assert count(gw, models.Lot) == 1
    view = typing.protocol(gw.db, provider_id(gw), typed_id(protocol_url))
    assert view.status == typing.SENT and view.protocol_numero == numero


def test_markup_typed_in_a_guide_is_text_on_every_page_and_print(typist, gw):
    numero_guia = "<i>C1</i>&amp;'\""
    nome = "<script>alert(1)</script>"
    protocol_url = typed_protocol(
        typist,
        {"numero_guia_prestador": numero_guia, "nome_profissional": nome},
        {"numero_guia_prestador": "C2", "valor_procedimento": "0,01"},
    )
    sent = send(typist, protocol_url)
    numero = protocol_number(sent)
    assert numero, occurrences(sent)
    message = upload_messages(gw)[-1]
    root = archived_lot(message)
    assert archived_guides(root) == [
        (numero_guia, pa.ACTIVE_CARD, "1234.56"),
        ("C2", pa.ACTIVE_CARD, "0.01"),
    ]

    for page in (
        typist.get(protocol_url),
        typist.get(f"{AREA}/status", query_string={"protocolo": numero}),
        typist.get(f"{AREA}/arquivos/{message.id}"),
    ):
        body = ps.text(page)
        assert page.status_code == 200
        assert "<i>C1</i>" not in body and "<script>alert" not in body
    status = ps.text(typist.get(f"{AREA}/status", query_string={"protocolo": numero}))
    assert "&lt;i&gt;C1&lt;/i&gt;&amp;amp;" in status

    # The printed Capa de Lote lists the guides and total that were archived.
    capa = typist.get(f"{AREA}/capa-de-lote/{numero}.pdf")
    assert capa.status_code == 200
    printed = pa.pdf_text(capa.data)
    assert numero_guia in printed and "C2" in printed and "1.234,57" in printed
    download = typist.get(f"{AREA}/arquivos/{message.id}/enviado")
    assert download.data == message.raw_request


# --- the form's hidden and selected fields ---


def test_a_tampered_executante_code_is_the_providers_own_in_the_lot(typist, gw):
    """Fields 9 and 10 are the provider the guide is typed for: a form edited to name another
    provider's code must not bill for it."""
    protocol_url = typed_protocol(typist, {"codigo_prestador": PROVIDER_B.code})
    assert send(typist, protocol_url).status_code == 200
    root = archived_lot(upload_messages(gw)[-1])
    assert root.findtext(".//{*}contratadoExecutante/{*}codigoPrestadorNaOperadora") == (
        PROVIDER_A.code
    )
    assert root.findtext("{*}cabecalho/{*}origem/{*}identificacaoPrestador/{*}CNPJ") == (
        PROVIDER_A.cnpj
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("indicacao_acidente", "3"),
        ("regime_atendimento", "99"),
        ("uf_conselho", "00"),
        ("cbos", "22512"),
        ("conselho", "00"),
        ("codigo_tabela", "18"),
        ("codigo_tabela", "00 "),  # own table, with the code below
        ("codigo_procedimento", "1010 1012"),
    ],
)
def test_a_code_outside_the_schemas_domain_never_reaches_a_lot(typist, gw, field, value):
    changes = {field: value}
    if field == "codigo_tabela" and value.strip() == "00":
        changes["codigo_procedimento"] = "CONS 01"  # st_texto10, but spaces are no code
        field = "codigo_procedimento"
    protocol_url = pa.open_protocol(typist)
    response = save(typist, protocol_url, **changes)
    assert response.status_code == 422
    assert field in field_errors(response), field_errors(response)


def test_a_procedure_code_typed_with_spaces_around_is_sent_without_them(typist, gw):
    protocol_url = typed_protocol(
        typist, {"codigo_tabela": "00", "codigo_procedimento": "  cons01 "}
    )
    assert send(typist, protocol_url).status_code == 200
    root = archived_lot(upload_messages(gw)[-1])
    assert root.findtext(".//{*}procedimento/{*}codigoProcedimento") == "cons01"


# --- values and days at their edges ---


def test_guides_whose_total_no_protocol_can_state_are_refused_when_typed(typist, gw):
    protocol_url = pa.open_protocol(typist)
    first = save(typist, protocol_url, valor_procedimento="99.999.999,99")
    assert first.status_code == 302
    second = save(
        typist, protocol_url, numero_guia_prestador="C0002", valor_procedimento="99.999.999,99"
    )
    if second.status_code == 302:
        finish(typist, protocol_url)
        sent = send(typist, protocol_url)
        assert sent.status_code == 200, f"typed, finished, then refused: {occurrences(sent)}"
    else:
        assert second.status_code == 422
    assert not [m for m in upload_messages(gw) if m.outcome != "accepted"]


def test_the_day_of_care_is_brazils_not_utcs(typist, gw, monkeypatch):
    """At 01:30 UTC it is still yesterday evening in Brasília: a guide dated the UTC day is in
    the future; one dated Brazil's day is accepted, sent and archived with that day."""
    moment = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)
    monkeypatch.setattr(gw, "utcnow", lambda: moment)
    protocol_url = pa.open_protocol(typist)
    future = save(typist, protocol_url, data_atendimento="07/12/2026")
    assert future.status_code == 422
    assert "não pode ser futura" in field_errors(future)["data_atendimento"]

    saved = save(typist, protocol_url, data_atendimento="06/12/2026")
    assert saved.status_code == 302, field_errors(saved)
    finish(typist, protocol_url)
    sent = send(typist, protocol_url)
    assert sent.status_code == 200, occurrences(sent)
    root = archived_lot(upload_messages(gw)[-1])
    assert root.findtext(".//{*}dadosAtendimento/{*}dataAtendimento") == "2026-12-06"
    assert root.findtext(".//{*}dataRegistroTransacao") == "2026-12-06"


def test_a_guide_typed_yesterday_and_dated_today_is_still_sent_tomorrow(typist, gw, monkeypatch):
    """Typed late on one day, sent the next morning: the lot is registered the day it is sent."""
    evening = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 23:00 on 6 December in Brasília
    monkeypatch.setattr(gw, "utcnow", lambda: evening)
    protocol_url = typed_protocol(typist, {"data_atendimento": "06/12/2026"})
    monkeypatch.setattr(gw, "utcnow", lambda: evening + timedelta(hours=10))
    sent = send(typist, protocol_url)
    assert sent.status_code == 200, occurrences(sent)
    root = archived_lot(upload_messages(gw)[-1])
    assert root.findtext(".//{*}dataRegistroTransacao") == "2026-12-07"


# --- who may type ---


def test_a_delegate_without_billing_cannot_send_or_reopen_the_providers_typed_protocol(client, gw):
    pa.beneficiaries(gw)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    protocol_url = typed_protocol(client, {})
    ps.logout(client)
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["atendimento"])
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    token = ps.csrf_token(client, f"{AREA}/elegibilidade")
    for action in ("enviar", "reabrir", "guias/nova"):
        response = client.post(f"{protocol_url}/{action}", data=dict(GUIDE, csrf_token=token))
        assert response.status_code == 403, action
    assert count(gw, models.Message) == 0
    with gw.db.reading() as s:
        assert s.scalar(select(TypedProtocol.status)) == typing.FINISHED


def test_a_delegate_with_billing_sends_for_the_provider_and_is_archived_as_sender(client, gw):
    pa.beneficiaries(gw)
    ps.make_delegate(gw, PROVIDER_A.cnpj, ["faturamento"])
    ps.login(client, ps.DELEGATE_EMAIL, ps.DELEGATE_PASSWORD)
    protocol_url = typed_protocol(client, {})
    sent = send(client, protocol_url)
    assert sent.status_code == 200, occurrences(sent)
    message = upload_messages(gw)[-1]
    root = archived_lot(message)
    assert root.findtext("{*}cabecalho/{*}origem/{*}identificacaoPrestador/{*}CNPJ") == (
        PROVIDER_A.cnpj
    )
    assert message.provider_id == provider_id(gw)
    assert message.login != PROVIDER_A.cnpj  # the person who sent, not the provider
