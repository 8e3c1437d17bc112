"""Unusual but plausible input in the provider area, on both databases: the Guia de Consulta form
of "Digitação de Guias" (dates, values, texts at and past their limits, odd characters, the
protocol's life after it was sent, another provider's ids) and "Envio de Arquivo XML" (charsets,
byte-order marks, line ends, file names, files that are not XML, the size limit).

What a provider must see: a wrong field shown again with a Portuguese message next to it and
nothing stored; a right one stored as typed and, once sent, a lot the official ANS schema accepts
with a protocol; every upload answered in Portuguese on the page and listed in "Consultar
Arquivos", its archived bytes handed back (senhaPrestador masked) under a safe file name. Never a
500 and never a message in English.
"""

import hashlib
import html
import io
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import unquote

import pytest
from lxml import etree
from markupsafe import escape
from sqlalchemy import func, select

from gateway.services import typed_guides as typing
from gateway.tiss.hashing import hashed_parts, leaf_texts
from gateway.tiss.namespaces import q
from gateway.tiss.samples import mensagem_tiss
from storage import models
from storage.typed_models import TypedGuide
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.provider_area_support import (
    alerts,
    field_errors,
    occurrences,
    official_message_schema,
    protocol_number,
)
from tests.test_typed_guides import GUIDE
from tests.tissclient import leaf_md5, sample_lot

AREA = pa.AREA
SIZE_LIMIT = 16 * 1024
SELECTS = {"conselho", "uf_conselho", "cbos", "indicacao_acidente", "tipo_consulta"}
# Fragments of libxml2's and Python's own (English) messages that must never reach a clerk.
ENGLISH = (
    "Traceback",
    "Start tag expected",
    "not found",
    "Invalid bytes",
    "Document is empty",
    "line 1, column",
    "Internal Server Error",
    "Exception",
)


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS, "max_message_bytes": SIZE_LIMIT}


@pytest.fixture
def typist(client, gw):
    pa.beneficiaries(gw)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    return client


# --- helpers ---


def assert_portuguese_page(response) -> None:
    assert response.status_code != 500
    page = ps.text(response)
    assert 'lang="pt-BR"' in page
    for english in ENGLISH:
        assert english not in page, english


def stored_guides(gw) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(TypedGuide))


def typed_id(protocol_url: str) -> int:
    return int(protocol_url.rsplit("/", 1)[1])


def provider_id(gw, provider=PROVIDER_A) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(models.Provider.id).where(models.Provider.cnpj == provider.cnpj))


def today(gw):
    return gw.local(gw.utcnow()).date()


def save(client, protocol_url: str, **overrides):
    return ps.post(client, f"{protocol_url}/guias/nova", dict(GUIDE, **overrides))


def finish_and_send(client, protocol_url: str):
    finished = ps.post(client, f"{protocol_url}/finalizar", {}, token_from=protocol_url)
    assert finished.status_code == 302
    return ps.post(client, f"{protocol_url}/enviar", {}, token_from=protocol_url)


def newest_message(gw) -> models.Message | None:
    with gw.db.reading() as s:
        return s.scalars(select(models.Message).order_by(models.Message.id.desc())).first()


def lots(gw) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(models.Lot))


# --- the Guia de Consulta form: refused, shown again, nothing stored ---


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("data_atendimento", "0001-01-01", "data do atendimento inválida"),
        ("data_atendimento", "1999-12-31", "data do atendimento inválida"),
        ("data_atendimento", "9999-12-31", "não pode ser futura"),
        ("data_atendimento", "31/02/2026", "informe uma data válida"),
        ("data_atendimento", "01-11-2026", "informe uma data válida, como 31/12/2026"),
        ("data_atendimento", "2026-02-31", "informe uma data válida"),
        ("data_atendimento", "2026-13-01", "informe uma data válida"),
        ("data_atendimento", "2026-11-01T10:00", "informe uma data válida"),
        ("data_atendimento", "", "informe uma data válida"),
        ("valor_procedimento", "0,00", "maior que zero"),
        ("valor_procedimento", "-10,00", "maior que zero"),
        ("valor_procedimento", "NaN", "informe o valor em reais"),
        ("valor_procedimento", "1,2345", "no máximo duas casas decimais"),
        ("valor_procedimento", "0,001", "no máximo duas casas decimais"),
        ("valor_procedimento", "R$", "informe o valor em reais"),
        ("numero_carteira", "X" * 21, "no máximo 20 caracteres"),
        ("numero_carteira", "   ", "campo obrigatório"),
        ("numero_guia_prestador", "\t \n", "campo obrigatório"),
        ("numero_guia_operadora", "Z" * 21, "no máximo 20 caracteres"),
        ("nome_profissional", "Á" * 71, "no máximo 70 caracteres"),
        ("observacao", "é" * 501, "no máximo 500 caracteres"),
        ("observacao", "Paciente 😷 com febre", "sem emojis"),
        ("numero_conselho", "1" * 16, "no máximo 15 caracteres"),
        ("cnes", "20774856", "informe os 7 dígitos"),
        ("cnes", "\u0662\u0660\u0667\u0667\u0664\u0668\u0665", "informe os 7 dígitos"),
        ("cbos", "225.125", "código CBO inválido"),
        ("cbos", "\uff12\uff12\uff15\uff11\uff12\uff15", "código CBO inválido"),
        ("conselho", "6", "conselho profissional inválido"),
        ("tipo_consulta", "01", "tipo de consulta inválido"),
        ("codigo_procedimento", "1010-1012", "não é de consulta"),
    ],
)
def test_a_wrong_field_is_shown_again_with_its_message_and_nothing_is_stored(
    typist, gw, field, value, message
):
    protocol_url = pa.open_protocol(typist)
    response = save(typist, protocol_url, **{field: value})

    assert response.status_code == 422
    assert_portuguese_page(response)
    errors = field_errors(response)
    assert message in errors[field], errors
    assert list(errors) == [field]  # the other fields were right and are not blamed
    assert "Confira os campos destacados abaixo." in ps.text(response)
    # What was typed in a text field is shown again for correction.
    if field not in SELECTS and value.strip():
        assert value in html.unescape(ps.text(response))
    assert stored_guides(gw) == 0


def test_a_value_above_the_largest_is_told_the_largest(typist, gw):
    protocol_url = pa.open_protocol(typist)
    response = save(typist, protocol_url, valor_procedimento="99999999999")
    assert response.status_code == 422 and stored_guides(gw) == 0
    message = field_errors(response)["valor_procedimento"]
    assert "maior que zero" not in message
    assert "99.999.999,99" in message


@pytest.mark.parametrize("value", ["1e5", "1_000", "1E+2"])
def test_a_value_not_written_in_reais_is_refused(typist, gw, value):
    protocol_url = pa.open_protocol(typist)
    response = save(typist, protocol_url, valor_procedimento=value)
    assert response.status_code == 422
    assert "informe o valor em reais" in field_errors(response)["valor_procedimento"]
    assert stored_guides(gw) == 0


@pytest.mark.parametrize(("value", "meant"), [("1.000", "1000.00"), ("2.500", "2500.00")])
def test_a_thousands_dot_without_cents_is_not_read_as_a_decimal_point(typist, gw, value, meant):
    protocol_url = pa.open_protocol(typist)
    response = save(typist, protocol_url, valor_procedimento=value)
    if response.status_code == 422:  # asking is as good as reading it right
        assert "valor_procedimento" in field_errors(response)
        assert stored_guides(gw) == 0
        return
    total = typing.protocol(gw.db, provider_id(gw), typed_id(protocol_url)).total
    assert total == Decimal(meant)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("observacao", "Retorno\x00em 30 dias"),
        ("observacao", "Retorno\x07em 30 dias"),
        ("nome_profissional", "Dra.\x1bConceição"),
        ("numero_guia_prestador", "C\x000001"),
    ],
)
def test_a_control_character_is_refused_when_typed(typist, gw, field, value):
    protocol_url = pa.open_protocol(typist)
    response = save(typist, protocol_url, **{field: value})
    if response.status_code == 302:  # saved: the provider only finds out on sending
        sent = finish_and_send(typist, protocol_url)
        assert sent.status_code != 500, "sending the saved guide failed with a server error"
    assert response.status_code == 422
    assert field in field_errors(response)
    assert stored_guides(gw) == 0


# --- the form: accepted, stored as the standard writes it ---


@pytest.mark.parametrize(
    ("field", "typed", "stored"),
    [
        ("valor_procedimento", "1234.56", "1234.56"),
        ("valor_procedimento", "R$ 1.234.567,89", "1234567.89"),
        ("valor_procedimento", "99999999,99", "99999999.99"),
        ("valor_procedimento", "0,01", "0.01"),
        ("valor_procedimento", "150,", "150.00"),
        ("valor_procedimento", "\uff11\uff15\uff10,\uff10\uff10", "150.00"),
        ("valor_procedimento", "150,00\u00a0", "150.00"),
        ("data_atendimento", " 2026-11-01 ", "2026-11-01"),
        ("data_atendimento", "2000-01-01", "2000-01-01"),
        # Typed where the browser shows a plain text box instead of a calendar.
        ("data_atendimento", "01/11/2026", "2026-11-01"),
        ("data_atendimento", "1/11/2026", "2026-11-01"),
        ("cnes", "207.748-5", "2077485"),
        ("cnes", "\uff12\uff10\uff17\uff17\uff14\uff18\uff15", "2077485"),
        # Full-width digits read as the digits they look like, in every numeric text field.
        ("numero_conselho", "\uff11\uff12\uff13\uff14\uff15\uff16", "123456"),
        ("codigo_procedimento", "\uff11\uff10\uff11\uff10\uff11\uff10\uff11\uff12", "10101012"),
        ("cbos", " 225125 ", "225125"),
        ("uf_conselho", "53 ", "53"),
        ("numero_guia_prestador", "  C  9  ", "C 9"),
        ("numero_guia_prestador", "Ç" * 20, "Ç" * 20),
        ("numero_carteira", "ABC-123/9", "ABC-123/9"),
        ("nome_profissional", "   ", ""),
        ("nome_profissional", "Á" * 70, "Á" * 70),
        ("observacao", "linha 1\r\nlinha 2", "linha 1 linha 2"),
        ("observacao", "é" * 500, "é" * 500),
        ("observacao", "<b>&amp;</b> \"aspas\" 'simples'", "<b>&amp;</b> \"aspas\" 'simples'"),
    ],
)
def test_an_unusual_but_right_field_is_stored_as_the_standard_writes_it(
    typist, gw, field, typed, stored
):
    protocol_url = pa.open_protocol(typist)
    response = save(typist, protocol_url, **{field: typed})
    assert response.status_code == 302, field_errors(response)

    view = typing.protocol(gw.db, provider_id(gw), typed_id(protocol_url))
    form = typing.guide_form(gw.db, provider_id(gw), view.id, view.guides[0].id)
    assert form[field] == stored
    # Shown again for correction exactly as stored, markup escaped.
    page = ps.text(typist.get(f"{protocol_url}/guias/{view.guides[0].id}"))
    assert str(escape(stored)) in page
    assert "<b>&amp;</b>" not in page


def test_a_card_not_in_the_registry_is_stored_with_a_warning(typist, gw):
    protocol_url = pa.open_protocol(typist)
    response = save(typist, protocol_url, numero_carteira="ABC123")
    page = ps.text(typist.get(response.headers["Location"]))
    assert "a carteira não consta do cadastro de beneficiários" in page
    assert stored_guides(gw) == 1


# --- the lot the typed protocol becomes ---

EXTREME_GUIDES = [
    dict(
        numero_guia_prestador="<&>\"'Ç" + "9" * 14,
        numero_guia_operadora="Z" * 20,
        numero_carteira="X" * 20,
        nome_profissional="Á" * 69 + "&",
        numero_conselho="123.456/DF-ÇÃ" + "x" * 2,
        valor_procedimento="99.999.999,99",
        observacao=("]]> <!-- --> <script>alert('x')</script> ção " * 20)[:500],
        data_atendimento="2000-01-01",
        atendimento_rn="S",
    ),
    dict(
        numero_guia_prestador="C2",
        numero_carteira=pa.ACTIVE_CARD,
        nome_profissional="",
        observacao="",
        valor_procedimento="0,01",
        codigo_tabela="00",
        codigo_procedimento="CONS.01-A",
    ),
]


def test_extreme_guides_become_a_lot_the_official_schema_accepts(typist, gw):
    protocol_url = pa.open_protocol(typist)
    for guide in EXTREME_GUIDES:
        saved = save(typist, protocol_url, **guide)
        assert saved.status_code == 302, field_errors(saved)
    page = ps.text(typist.get(protocol_url))
    assert "<script>" not in page and "R$ 100.000.000,00" in page

    sent = finish_and_send(typist, protocol_url)
    assert sent.status_code == 200, occurrences(sent)
    assert_portuguese_page(sent)
    numero = protocol_number(sent)
    assert numero

    message = newest_message(gw)
    root = etree.fromstring(message.raw_request)
    schema = official_message_schema(gw.newest_version)
    assert schema.validate(root), schema.error_log
    assert root.findtext("{*}epilogo/{*}hash") == leaf_md5(root)
    first = root.find(".//{*}guiaConsulta")
    assert first.findtext(".//{*}numeroGuiaPrestador") == EXTREME_GUIDES[0]["numero_guia_prestador"]
    assert first.findtext("{*}observacao") == EXTREME_GUIDES[0]["observacao"].strip()
    assert first.findtext(".//{*}valorProcedimento") == "99999999.99"
    with gw.db.reading() as s:
        lot = s.scalar(select(models.Lot))
    assert lot.guide_count == 2 and lot.total_value == Decimal("100000000.00")

    # Consultar Arquivos: listed as processed, the generated file handed back byte for byte.
    listing = ps.text(typist.get(f"{AREA}/arquivos"))
    assert numero in listing and "Processado" in listing
    download = typist.get(f"{AREA}/arquivos/{message.id}/enviado")
    assert download.data == message.raw_request
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="digitacao-{lot.numero_lote}.xml"'
    )


def test_an_open_or_empty_protocol_is_not_sent(typist, gw):
    protocol_url = pa.open_protocol(typist)
    sent = ps.post(typist, f"{protocol_url}/enviar", {}, token_from=protocol_url)
    assert sent.status_code == 302
    assert "Finalize a digitação antes de enviar." in alerts(ps.text(typist.get(protocol_url)))
    finished = ps.post(typist, f"{protocol_url}/finalizar", {}, token_from=protocol_url)
    assert finished.status_code == 302
    page = ps.text(typist.get(protocol_url))
    assert "Digite ao menos uma guia antes de finalizar." in alerts(page)
    assert newest_message(gw) is None and lots(gw) == 0


def test_a_number_differing_only_in_spaces_is_the_same_guide(typist, gw):
    protocol_url = pa.open_protocol(typist)
    save(typist, protocol_url, numero_guia_prestador="C 0001")
    again = save(typist, protocol_url, numero_guia_prestador="  C   0001 ")
    assert again.status_code == 422
    assert "Já há uma guia com este número" in field_errors(again)["numero_guia_prestador"]
    # Correcting guide 2 to guide 1's number is the same clash.
    save(typist, protocol_url, numero_guia_prestador="C0002")
    view = typing.protocol(gw.db, provider_id(gw), typed_id(protocol_url))
    second = next(g for g in view.guides if g.numero_guia_prestador == "C0002")
    edit = ps.post(
        typist,
        f"{protocol_url}/guias/{second.id}",
        dict(GUIDE, numero_guia_prestador="C 0001"),
    )
    assert edit.status_code == 422
    assert "Já há uma guia com este número" in field_errors(edit)["numero_guia_prestador"]
    assert stored_guides(gw) == 2


def test_a_double_click_on_enviar_gives_one_protocol(typist, gw, monkeypatch):
    """The second click arrives while the first is still being answered, a second later (so its
    file's header differs): both pages show the same protocol, one lot is stored."""
    protocol_url = pa.open_protocol(typist)
    save(typist, protocol_url)
    ps.post(typist, f"{protocol_url}/finalizar", {}, token_from=protocol_url)
    token = ps.csrf_token(typist, protocol_url)
    real_upload, real_clock = typing.upload_lot_file, gw.utcnow
    second = []

    def first_then_second(*args, **kwargs):
        result = real_upload(*args, **kwargs)
        if not second:
            second.append(None)
            monkeypatch.setattr(gw, "utcnow", lambda: real_clock() + timedelta(seconds=1))
            second[0] = typist.post(f"{protocol_url}/enviar", data={"csrf_token": token})
        return result

    monkeypatch.setattr(typing, "upload_lot_file", first_then_second)
    first = typist.post(f"{protocol_url}/enviar", data={"csrf_token": token})

    numero = protocol_number(first)
    assert numero and first.status_code == 200
    assert second[0].status_code in (200, 302)
    if second[0].status_code == 200:
        assert protocol_number(second[0]) == numero
    assert lots(gw) == 1
    view = typing.protocol(gw.db, provider_id(gw), typed_id(protocol_url))
    assert view.status == typing.SENT and view.protocol_numero == numero
    detail = ps.text(typist.get(f"{AREA}/arquivos/{view.message_id}"))
    assert numero in detail


def test_a_sent_protocol_cannot_be_changed_by_any_form(typist, gw):
    protocol_url = pa.open_protocol(typist)
    save(typist, protocol_url)
    numero = protocol_number(finish_and_send(typist, protocol_url))
    view = typing.protocol(gw.db, provider_id(gw), typed_id(protocol_url))
    guide_url = f"{protocol_url}/guias/{view.guides[0].id}"

    edit = ps.post(typist, guide_url, dict(GUIDE, valor_procedimento="1,00"))
    assert edit.status_code == 422
    assert "A digitação deste protocolo foi finalizada." in ps.text(edit)
    for action, message in (
        (f"{guide_url}/remover", "A digitação deste protocolo foi finalizada."),
        (f"{protocol_url}/reabrir", "Só um protocolo finalizado e não enviado é reaberto."),
        (f"{protocol_url}/finalizar", "A digitação deste protocolo foi finalizada."),
        (f"{protocol_url}/enviar", f"Este protocolo já foi enviado (protocolo {numero})."),
    ):
        response = ps.post(typist, action, {}, token_from=protocol_url)
        assert response.status_code == 302, action
        assert message in alerts(ps.text(typist.get(protocol_url))), action

    after = typing.protocol(gw.db, provider_id(gw), typed_id(protocol_url))
    assert after == view
    assert after.total == Decimal("1234.56") and lots(gw) == 1


@pytest.mark.parametrize(
    "action",
    ["guias/nova", "guias/{guide}", "guias/{guide}/remover", "finalizar", "reabrir", "enviar"],
)
def test_another_providers_typed_protocol_is_404_for_every_form(client, gw, action):
    ps.login(client, PROVIDER_B.cnpj, PROVIDER_B.password)
    theirs = pa.open_protocol(client)
    assert save(client, theirs).status_code == 302
    before = typing.protocol(gw.db, provider_id(gw, PROVIDER_B), typed_id(theirs))
    ps.logout(client)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    mine = pa.open_protocol(client)

    target = f"{theirs}/{action.format(guide=before.guides[0].id)}"
    response = ps.post(client, target, dict(GUIDE, valor_procedimento="1,00"), token_from=mine)
    assert response.status_code == 404
    assert_portuguese_page(response)
    # Their guide through my protocol's address is no more reachable.
    mine_target = f"{mine}/{action.format(guide=before.guides[0].id)}"
    if "{guide}" in action:
        assert ps.post(client, mine_target, dict(GUIDE), token_from=mine).status_code == 404
    assert typing.protocol(gw.db, provider_id(gw, PROVIDER_B), typed_id(theirs)) == before
    assert newest_message(gw) is None


# --- Envio de Arquivo XML ---


def _root(numero: str, provider=PROVIDER_A, **kw) -> etree._Element:
    kw.setdefault("registro_ans", REGISTRO_ANS)
    kw.setdefault("login", None)
    return mensagem_tiss(sample_lot(provider, numero, 1, guide_type="guiaSP-SADT", **kw))


def _xml(root: etree._Element, encoding: str = "ISO-8859-1", **kw) -> bytes:
    return etree.tostring(root, encoding=encoding, xml_declaration=True, **kw)


def _utf8_hashed(numero: str) -> bytes:
    """UTF-8, its hash computed over the UTF-8 bytes of the text (as some systems do)."""
    root = _root(numero)
    digest = hashlib.md5(leaf_texts(hashed_parts(root)).encode("utf-8")).hexdigest()
    root.find(f"{q('epilogo')}/{q('hash')}").text = digest
    return _xml(root, "UTF-8")


ACCEPTED_FILES = {
    "utf8-with-bom": (lambda: b"\xef\xbb\xbf" + _xml(_root("BOM"), "UTF-8"), "UTF-8"),
    "iso-8859-1": (lambda: _xml(_root("ISO")), "ISO-8859-1"),
    "utf16": (lambda: _xml(_root("U16"), "UTF-16"), "UTF-16"),
    "crlf": (
        lambda: _xml(_root("CRLF"), pretty_print=True).replace(b"\n", b"\r\n"),
        "ISO-8859-1",
    ),
    "hash-over-utf8": (lambda: _utf8_hashed("U8H"), "UTF-8"),
}


@pytest.mark.parametrize("case", list(ACCEPTED_FILES))
def test_a_valid_file_in_any_charset_or_line_end_gets_a_protocol(typist, gw, case):
    make, charset = ACCEPTED_FILES[case]
    data = make()
    codec = {"UTF-8": "utf-8-sig", "UTF-16": "utf-16"}.get(charset, charset)
    assert "SÃO LUCAS" in data.decode(codec)  # accents written in the file's own charset
    response = pa.upload(typist, data, f"{case}.xml")

    assert response.status_code == 200, occurrences(response)
    assert_portuguese_page(response)
    numero = protocol_number(response)
    assert numero and "Arquivo recebido." in ps.text(response)
    listing = ps.text(typist.get(f"{AREA}/arquivos"))
    assert f"{case}.xml" in listing and numero in listing and "Processado" in listing

    message = newest_message(gw)
    download = typist.get(f"{AREA}/arquivos/{message.id}/enviado")
    assert download.data == data
    assert download.headers["Content-Type"] == f"application/xml; charset={charset}"
    assert download.headers["Content-Disposition"] == f'attachment; filename="{case}.xml"'


def _declared_iso_written_utf8() -> bytes:
    return _xml(_root("LIE1"), "UTF-8").replace(b"encoding='UTF-8'", b"encoding='ISO-8859-1'")


def _declared_utf8_written_iso() -> bytes:
    return _xml(_root("LIE2")).replace(b"encoding='ISO-8859-1'", b"encoding='UTF-8'")


REFUSED_FILES = {
    "declared-iso-written-utf8": (_declared_iso_written_utf8, "5014"),
    "declared-utf8-written-iso": (_declared_utf8_written_iso, "5002"),
    "another-operator": (lambda: _xml(_root("ANS", registro_ans="999999")), "5027"),
    "another-provider": (lambda: _xml(_root("PB", provider=PROVIDER_B)), "5005"),
    "zip-renamed": (lambda: b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 200, "5002"),
    "pdf-renamed": (lambda: ps.PDF, "5002"),
    "only-white-space": (lambda: b" \r\n\t \r\n", "5002"),
    "utf16-cut-short": (lambda: _xml(_root("CUT"), "UTF-16")[:-1], "5002"),
}
REFUSED_WORDS = {
    "5014": "CÓDIGO HASH INVÁLIDO",
    "5002": "NÃO FOI POSSÍVEL VALIDAR O ARQUIVO XML",
    "5027": "registro ANS 999999 não é desta operadora",
    "5005": "O Recebedor do arquivo diverge do login utilizado",
}


@pytest.mark.parametrize("case", list(REFUSED_FILES))
def test_a_refused_file_is_explained_and_listed_with_its_bytes(typist, gw, case):
    make, code = REFUSED_FILES[case]
    data = make()
    response = pa.upload(typist, data, f"{case}.xml")

    assert response.status_code == 422
    assert f"O arquivo {case}.xml não foi aceito." in html.unescape(ps.text(response))
    found = occurrences(response)
    assert found[0].startswith(f"{code} - ") and REFUSED_WORDS[code] in found[0], found
    assert lots(gw) == 0

    listing = ps.text(typist.get(f"{AREA}/arquivos"))
    assert f"{case}.xml" in listing and "Recusado" in listing
    message = newest_message(gw)
    detail = typist.get(f"{AREA}/arquivos/{message.id}")
    assert detail.status_code == 200 and REFUSED_WORDS[code] in html.unescape(ps.text(detail))
    download = typist.get(f"{AREA}/arquivos/{message.id}/enviado")
    assert download.status_code == 200
    # Handed back as received; a file that cannot be read in its charset is withheld whole.
    assert download.data in (data, b"")
    assert download.data == data or case == "utf16-cut-short"


@pytest.mark.parametrize("case", ["zip-renamed", "pdf-renamed", "declared-utf8-written-iso"])
def test_a_file_that_is_not_readable_xml_is_explained_in_portuguese(typist, gw, case):
    make, _ = REFUSED_FILES[case]
    response = pa.upload(typist, make(), f"{case}.xml")
    assert response.status_code == 422
    assert_portuguese_page(response)
    message = newest_message(gw)
    assert_portuguese_page(typist.get(f"{AREA}/arquivos/{message.id}"))


def test_the_password_in_an_uploaded_file_is_masked_in_the_download(typist, gw):
    data = _xml(_root("SENHA", login=PROVIDER_A.cnpj, senha_md5=PROVIDER_A.senha_md5))
    assert PROVIDER_A.senha_md5.encode() in data
    response = pa.upload(typist, data, "com-senha.xml")
    assert protocol_number(response), occurrences(response)

    message = newest_message(gw)
    download = typist.get(f"{AREA}/arquivos/{message.id}/enviado")
    assert download.data == data.replace(PROVIDER_A.senha_md5.encode(), b"********")


def _safe_disposition(header: str) -> str:
    """The file name a browser saves under, from a Content-Disposition that cannot break out of
    its quotes: filename* (RFC 6266) when there is one, which browsers prefer, else filename."""
    found = re.fullmatch(
        r'attachment; filename="([^"\\\r\n]*)"(?:; filename\*=UTF-8\'\'([!#$&+\-.^_`|~%\w]+))?',
        header,
    )
    assert found, header
    plain, encoded = found.groups()
    assert plain.isascii() and plain.isprintable(), plain
    name = unquote(encoded) if encoded else plain
    for shown in (plain, name):
        assert "/" not in shown and not shown.startswith(".."), shown
    return name


@pytest.mark.parametrize(
    ("sent", "listed"),
    [
        ("../../etc/lote.xml", "lote.xml"),
        ("pasta/sub/lote de novembro.xml", "lote de novembro.xml"),
        ("lote_São_João_😀.xml", "lote_São_João_😀.xml"),
        ("lote;filename=x.xml", "lote;filename=x.xml"),
        ("  lote.xml  ", "lote.xml"),
    ],
)
def test_an_odd_file_name_is_kept_and_downloaded_under_its_own_name(typist, gw, sent, listed):
    response = pa.upload(typist, _xml(_root("NOME")), sent)
    assert protocol_number(response), occurrences(response)
    assert listed in html.unescape(ps.text(typist.get(f"{AREA}/arquivos")))

    message = newest_message(gw)
    assert message.file_name == listed
    download = typist.get(f"{AREA}/arquivos/{message.id}/enviado")
    assert _safe_disposition(download.headers["Content-Disposition"]) == listed


def test_a_browser_without_filename_star_gets_the_name_without_accents(typist, gw):
    response = pa.upload(typist, _xml(_root("NOME")), "Guia São João.xml")
    assert protocol_number(response), occurrences(response)
    download = typist.get(f"{AREA}/arquivos/{newest_message(gw).id}/enviado")
    assert download.headers["Content-Disposition"].startswith(
        'attachment; filename="Guia Sao Joao.xml"; filename*='
    )


def test_a_very_long_file_name_keeps_its_extension(typist, gw):
    response = pa.upload(typist, _xml(_root("LONGO")), "lote-" + "a" * 300 + ".xml")
    assert protocol_number(response), occurrences(response)
    message = newest_message(gw)
    assert len(message.file_name) <= 200 and message.file_name.endswith(".xml")
    download = typist.get(f"{AREA}/arquivos/{message.id}/enviado")
    assert _safe_disposition(download.headers["Content-Disposition"]).endswith(".xml")


def _padded_to(size: int) -> bytes:
    data = _xml(_root("LIMITE"))
    assert len(data) < size
    return data + b" " * (size - len(data))


def test_a_file_below_the_size_limit_is_accepted_and_one_above_is_refused(typist, gw):
    below = pa.upload(typist, _padded_to(SIZE_LIMIT - 2048), "abaixo.xml")
    assert protocol_number(below), occurrences(below)

    over = pa.upload(typist, _padded_to(SIZE_LIMIT + 1), "acima.xml")
    assert over.status_code in (413, 422)
    assert_portuguese_page(over)
    page = html.unescape(ps.text(over))
    assert "O arquivo é maior que o permitido." in page or "grande demais" in page
    assert lots(gw) == 1
    # Archived as the refusal it was (the web service archives the same bytes so), and listed
    # in "Consultar Arquivos" beside the accepted one.
    listing = ps.text(typist.get(f"{AREA}/arquivos"))
    assert "acima.xml" in listing and "abaixo.xml" in listing
    row = listing[listing.index("acima.xml") :]
    assert row[: row.index("</tr>")].count("Recusado") == 1


def test_a_file_exactly_at_the_size_limit_is_accepted(typist, gw):
    page = ps.text(typist.get(f"{AREA}/envio-xml"))
    assert "até 16 KB" in page  # what the form promises
    at_limit = pa.upload(typist, _padded_to(SIZE_LIMIT), "no-limite.xml")
    assert at_limit.status_code == 200
    assert protocol_number(at_limit), occurrences(at_limit)


def test_an_empty_file_is_told_it_is_empty(typist, gw):
    response = typist.post(
        f"{AREA}/envio-xml",
        data={
            "csrf_token": ps.csrf_token(typist, f"{AREA}/envio-xml"),
            "arquivo": (io.BytesIO(b""), "vazio.xml"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "vazio" in field_errors(response)["arquivo"]
