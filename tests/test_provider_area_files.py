"""Consultar Arquivos (gateway/services/provider_area/files.py) for messages that never became a
lot: the detail reads numeroLote and destino/registroANS from the archived request itself
(refused uploads and web-service messages, and a file that is not XML at all), a server error is
told in one sentence, schema errors are explained line by line, the file sent is downloaded with
senhaPrestador masked whatever its charset or form, and no provider reaches another's files nor
an answer that was never stored."""

import hashlib
from datetime import UTC, datetime

import pytest
from lxml import etree
from sqlalchemy import select

from gateway.services.answers import ERROR, REJECTED
from gateway.services.inbound import Principal
from gateway.services.provider_area import files
from gateway.services.uploads import upload_lot_file
from gateway.tiss.header import Party
from gateway.tiss.namespaces import q
from gateway.tiss.samples import lote_guias_ws, mensagem_tiss
from storage import models
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.tissclient import envelope, post, sample_lot

SERVER_ERROR_SENTENCE = (
    "Erro inesperado no servidor: a mensagem não foi processada; reenvie-a mais tarde."
)
SCHEMA_CODE = "5001 - MENSAGEM ELETRÔNICA FORA DO PADRÃO TISS"
MASK = b"********"


def principal(gw, provider) -> Principal:
    with gw.db.reading() as s:
        account = s.scalar(select(models.Account).where(models.Account.login == provider.cnpj))
        return Principal(account_id=account.id, provider_id=account.provider_id)


def provider_id(gw, provider) -> int:
    return principal(gw, provider).provider_id


def newest_message(gw) -> models.Message:
    with gw.db.reading() as s:
        return s.scalars(select(models.Message).order_by(models.Message.id.desc())).first()


def file_for(provider, numero: str, *, registro_ans: str = REGISTRO_ANS, count: int = 1) -> bytes:
    """A mensagemTISS file as a hospital system exports it, with its correct hash."""
    lot = sample_lot(
        provider, numero, count, registro_ans=registro_ans, login=None, guide_type="guiaSP-SADT"
    )
    return etree.tostring(mensagem_tiss(lot), encoding="ISO-8859-1", xml_declaration=True)


def uploaded(gw, data: bytes, name: str, provider=PROVIDER_A) -> int:
    result = upload_lot_file(gw, data, principal(gw, provider), file_name=name)
    return result.answer.message_id


def ws_envelope(numero: str, provider=PROVIDER_A, encoding: str = "ISO-8859-1", **kw) -> bytes:
    """A loteGuiasWS in its SOAP envelope, logged in as `provider`, as its system posts it."""
    kw.setdefault("registro_ans", REGISTRO_ANS)
    lot = sample_lot(provider, numero, 1, **kw)
    return envelope(lote_guias_ws(lot), encoding)


def sent_as_provider_a(gw, encoding: str = "ISO-8859-1") -> bytes:
    """What provider A downloads as the file it sent (the newest message)."""
    sent = files.raw_file(gw.db, provider_id(gw, PROVIDER_A), newest_message(gw).id, files.REQUEST)
    assert sent is not None and sent.charset == encoding
    return sent.content


# --- numeroLote and registroANS read from the request ---


def test_upload_refused_for_schema_errors_shows_its_lot_number_and_each_error_explained(gw):
    data = file_for(PROVIDER_A, "ESQ1").replace(
        b"<ans:indicacaoAcidente>9<", b"<ans:indicacaoAcidente>7<"
    )
    message_id = uploaded(gw, data, "lote-esq1.xml")

    detail = files.file_detail(gw, provider_id(gw, PROVIDER_A), message_id)
    assert detail.row.outcome == REJECTED and detail.row.outcome_label == "Recusado"
    assert detail.row.channel_label == "Envio pelo portal"
    assert detail.row.tipo_transacao == "ENVIO_LOTE_GUIAS"
    assert detail.row.protocol is None
    assert detail.row.file_name == "lote-esq1.xml"
    assert detail.numero_lote == "ESQ1"
    assert detail.registro_ans == REGISTRO_ANS
    assert (detail.codigo_prestador, detail.prestador) == (PROVIDER_A.code, PROVIDER_A.name)
    assert detail.version == "4.03.00"
    assert detail.has_response and detail.response_name == f"retorno-{message_id}.xml"
    assert detail.occurrences == (
        SCHEMA_CODE,
        "Linha 2: o campo indicacaoAcidente tem o valor '7', que não é um dos códigos permitidos",
    )


def test_upload_to_another_operator_shows_the_registro_ans_the_file_named(gw):
    message_id = uploaded(gw, file_for(PROVIDER_A, "DEST1", registro_ans="999999"), "d.xml")

    detail = files.file_detail(gw, provider_id(gw, PROVIDER_A), message_id)
    assert detail.numero_lote == "DEST1"
    # Not this operator's registroANS: the one the refused file named.
    assert detail.registro_ans == "999999"
    assert detail.row.protocol is None
    assert detail.occurrences == (
        "5027 - REGISTRO ANS DA OPERADORA INVÁLIDO",
        "registro ANS 999999 não é desta operadora",
    )


def test_upload_with_a_wrong_hash_shows_its_lot_number(gw):
    root = etree.fromstring(file_for(PROVIDER_A, "HASH1"))
    root.find(f"{q('epilogo')}/{q('hash')}").text = "0" * 32
    message_id = uploaded(gw, etree.tostring(root, encoding="ISO-8859-1"), "hash.xml")

    detail = files.file_detail(gw, provider_id(gw, PROVIDER_A), message_id)
    assert detail.numero_lote == "HASH1" and detail.registro_ans == REGISTRO_ANS
    assert detail.row.outcome_label == "Recusado" and detail.row.protocol is None
    assert detail.occurrences[0] == "5014 - CÓDIGO HASH INVÁLIDO. MENSAGEM PODE ESTAR CORROMPIDA"


def test_upload_that_is_not_xml_has_no_lot_number_and_names_this_operator(gw):
    message_id = uploaded(gw, b"%PDF-1.4 not xml", "nota.pdf")

    detail = files.file_detail(gw, provider_id(gw, PROVIDER_A), message_id)
    assert detail.numero_lote is None
    # Nothing could be read from it: the destination shown is this operator's.
    assert detail.registro_ans == REGISTRO_ANS
    assert detail.version is None and detail.sequencial is None
    assert detail.row.tipo_transacao == "ENVIO_LOTE_GUIAS"
    assert detail.row.file_name == "nota.pdf"
    assert detail.occurrences[0] == "5002 - NÃO FOI POSSÍVEL VALIDAR O ARQUIVO XML"
    assert detail.occurrences[1].startswith(
        "NÃO FOI POSSÍVEL VALIDAR O ARQUIVO XML: XML malformado"
    )


def test_web_service_lot_of_another_sender_is_detailed_from_the_request(client, gw):
    # Logged in as A, origem naming B: refused after A authenticated, so it is A's message.
    answer = post(
        client,
        None,
        raw=ws_envelope("WSX1", origem=Party("CNPJ", PROVIDER_B.cnpj)),
    )
    assert answer.code == "5005"
    message_id = newest_message(gw).id

    detail = files.file_detail(gw, provider_id(gw, PROVIDER_A), message_id)
    assert detail.row.channel_label == "Web service"
    assert detail.row.file_name == f"mensagem-{message_id}.xml"
    assert detail.row.protocol is None
    assert detail.numero_lote == "WSX1" and detail.registro_ans == REGISTRO_ANS
    assert detail.sequencial == "1"
    assert detail.occurrences == (
        "5005 - REMETENTE NÃO IDENTIFICADO",
        "O Recebedor do arquivo diverge do login utilizado",
    )
    # B is named in it but did not send it.
    b = provider_id(gw, PROVIDER_B)
    assert files.file_detail(gw, b, message_id) is None
    assert files.raw_file(gw.db, b, message_id, files.REQUEST) is None
    assert files.raw_file(gw.db, b, message_id, files.RESPONSE) is None


def test_web_service_lot_to_another_operator_is_no_providers_file(client, gw):
    # Refused before the login was checked: nobody is known to have sent it.
    answer = post(client, None, raw=ws_envelope("WSD1", registro_ans="999999"))
    assert answer.code == "5027"
    message_id = newest_message(gw).id
    for provider in (PROVIDER_A, PROVIDER_B):
        assert files.file_detail(gw, provider_id(gw, provider), message_id) is None
        assert files.list_files(gw.db, provider_id(gw, provider), 1).total == 0


# --- occurrences ---


def test_lot_that_failed_on_the_server_shows_the_server_error_sentence(client, gw, monkeypatch):
    from gateway.services import lots

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    # No real input makes the gateway fail; a broken answer builder stands for any bug.
    monkeypatch.setattr(lots, "protocolo_recebimento", boom)
    answer = post(client, None, raw=ws_envelope("ERR1"))
    assert answer.tiss_fault == "ErroInesperadoServidor"
    message_id = newest_message(gw).id

    detail = files.file_detail(gw, provider_id(gw, PROVIDER_A), message_id)
    assert detail.row.outcome == ERROR and detail.row.outcome_label == "Erro no servidor"
    assert detail.occurrences == (SERVER_ERROR_SENTENCE,)
    # The lot was rolled back with everything else: its number comes from the request.
    assert detail.numero_lote == "ERR1" and detail.row.protocol is None
    assert "disk on fire" not in "".join(detail.occurrences)


def test_server_error_sentence_replaces_any_codes_and_detail():
    # The gateway stores neither codes nor detail with a server error; built in memory to show
    # that, were there any, the provider would still read only the one sentence.
    message = models.Message(outcome=ERROR, codes="5001", detail="linha 3: qualquer coisa")
    assert files.occurrences(message) == (SERVER_ERROR_SENTENCE,)


def test_detail_lines_are_explained_stripped_and_blank_ones_skipped():
    # The gateway writes schema errors one per line; blank and indented lines cannot be produced
    # by a message, so the record is built in memory.
    detail = "\n".join(
        [
            "linha 12: Element '{http://www.ans.gov.br/padroes/tiss/schemas}dataAtendimento': "
            "'2026-02-30' is not a valid value of the atomic type "
            "'{http://www.ans.gov.br/padroes/tiss/schemas}st_data'.",
            "",
            "   ",
            "   ... e mais 3 erros  ",
        ]
    )
    message = models.Message(outcome=REJECTED, codes="5001", detail=detail)
    assert files.occurrences(message) == (
        SCHEMA_CODE,
        "Linha 12: o campo dataAtendimento tem o valor '2026-02-30', "
        "que não é uma data no formato AAAA-MM-DD",
        "... e mais 3 erros",
    )


def test_more_schema_errors_than_are_kept_end_with_how_many_more(gw):
    # 100 guides with 3 wrong codes each: the archive keeps 200 lines and counts the rest.
    data = (
        file_for(PROVIDER_A, "MUITOS", count=100)
        .replace(b"<ans:indicacaoAcidente>9<", b"<ans:indicacaoAcidente>7<")
        .replace(b"<ans:codigoTabela>22<", b"<ans:codigoTabela>XX<")
    )
    message_id = uploaded(gw, data, "muitos.xml")

    found = files.file_detail(gw, provider_id(gw, PROVIDER_A), message_id).occurrences
    assert found[0] == SCHEMA_CODE
    assert len(found) == 1 + 200 + 1
    assert all(line.startswith("Linha 2: o campo ") for line in found[1:201])
    assert found[-1] == "... e mais 100 erros"


# --- the file sent, with senhaPrestador masked ---


def test_utf16_message_has_its_password_masked_and_everything_else_kept(client, gw):
    raw = ws_envelope("U16", encoding="UTF-16")
    assert raw.startswith(b"\xff\xfe")
    assert post(client, None, raw=raw, encoding="UTF-16").protocol

    content = sent_as_provider_a(gw, "UTF-16")
    text = raw.decode("utf-16")
    assert content == text.replace(PROVIDER_A.senha_md5, "********").encode("utf-16")
    assert PROVIDER_A.senha_md5.encode("utf-16-le") not in content


@pytest.mark.parametrize(
    "written",
    [
        b"<![CDATA[%s%s]]>",
        b"%s<![CDATA[%s]]>",
        b"<![CDATA[%s]]><![CDATA[%s]]>",
    ],
    ids=["cdata", "text-then-cdata", "two-cdata-sections"],
)
def test_password_in_cdata_is_masked(client, gw, written):
    md5 = PROVIDER_A.senha_md5.encode()
    plain = b"<ans:senhaPrestador>%s</ans:senhaPrestador>" % md5
    sent = b"<ans:senhaPrestador>%s</ans:senhaPrestador>" % (written % (md5[:10], md5[10:]))
    raw = ws_envelope("CDATA").replace(plain, sent)
    assert post(client, None, raw=raw).protocol

    content = sent_as_provider_a(gw)
    assert md5[10:] not in content
    assert content == raw.replace(sent, b"<ans:senhaPrestador>********</ans:senhaPrestador>")


def test_password_under_any_prefix_is_masked(client, gw):
    raw = ws_envelope("PREFIX")
    raw = raw.replace(b"<ans:", b"<tiss:").replace(b"</ans:", b"</tiss:")
    raw = raw.replace(b"xmlns:ans=", b"xmlns:tiss=")
    assert b"<tiss:senhaPrestador>" in raw
    assert post(client, None, raw=raw).protocol

    content = sent_as_provider_a(gw)
    assert PROVIDER_A.senha_md5.encode() not in content
    assert b"<tiss:senhaPrestador>********</tiss:senhaPrestador>" in content
    assert len(content) == len(raw) - len(PROVIDER_A.senha_md5) + len(MASK)


WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


@pytest.mark.parametrize("prefix", ["wsse:", "o:", ""])
def test_a_ws_security_password_is_masked_under_any_prefix(prefix):
    declaration = f'xmlns{":" + prefix[:-1] if prefix else ""}="{WSSE}"'
    raw = (
        f"<soapenv:Header><{prefix}Security {declaration}><{prefix}UsernameToken>"
        f"<{prefix}Username>11222333000181</{prefix}Username>"
        f'<{prefix}Password Type="...#PasswordText">Demo@Tiss2026</{prefix}Password>'
        f"</{prefix}UsernameToken></{prefix}Security></soapenv:Header>"
        "<ans:senhaPrestador>0cc175b9c0f1b6a8</ans:senhaPrestador>"
    ).encode()
    masked = files.redact_password(raw, "ISO-8859-1")
    assert masked == raw.replace(b"Demo@Tiss2026", MASK).replace(b"0cc175b9c0f1b6a8", MASK)


def test_an_argon2_hash_in_a_message_is_masked_and_the_markup_kept():
    raw = b"<x:obs>$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA</x:obs>"
    assert files.redact_password(raw, "UTF-8") == b"<x:obs>" + MASK + b"</x:obs>"


def test_a_ws_security_password_cut_short_withholds_the_file():
    assert files.redact_password(b"<wsse:Password>Demo@Tiss2026", "UTF-8") == b""


def test_upload_that_cannot_be_read_in_its_charset_is_withheld(gw):
    # A UTF-16 file cut short: refused unread, so archived under the default UTF-8.
    data = file_for(PROVIDER_A, "CUT").decode("iso-8859-1").encode("utf-16")[:-1]
    message_id = uploaded(gw, data, "cortado.xml")

    sent = files.raw_file(gw.db, provider_id(gw, PROVIDER_A), message_id, files.REQUEST)
    # Served as what its bytes say it is, not as the UTF-8 it was archived under.
    assert sent.content == b"" and sent.charset == "UTF-16"
    assert sent.file_name == "cortado.xml"


def test_redact_gives_nothing_for_bytes_that_cannot_be_read():
    cut = "<ans:senhaPrestador>abc</ans:senhaPrestador>".encode("utf-16")[:-1]
    assert files.redact_password(cut, "UTF-16") == b""
    assert files.redact_password(b"\0\0<\0senha", "X-NAO-EXISTE") == b""


@pytest.mark.parametrize("declared", ["X-NAO-EXISTE", "UTF-32", "UTF-8"])
def test_a_files_byte_order_mark_wins_over_what_it_was_archived_as(declared):
    text = "<ans:senhaPrestador>abc</ans:senhaPrestador>"
    assert files.redact_password(text.encode("utf-16"), declared) == text.replace(
        "abc", "********"
    ).encode("utf-16")


@pytest.mark.parametrize(
    "raw",
    [
        b"<ans:senhaPrestador>abc",  # cut short before its end tag
        b"<senhaPrestador>abc</senha>",
        b"<!-- <ans:senhaPrestador>abc</ans:senhaPrestador> --><ans:senhaPrestador>x",
    ],
    ids=["no-end-tag", "wrong-end-tag", "end-tag-missing-after-a-comment"],
)
def test_a_password_the_masking_cannot_find_the_end_of_withholds_the_file(raw):
    assert files.redact_password(raw, "UTF-8") == b""


def test_a_long_unterminated_password_is_withheld_at_once():
    # The first pattern nested a repeated [^<]+ in a repetition: with no end tag to find it
    # tried every way of splitting the text, twice as long per character (22 characters took
    # 0.1 s, 40 would take hours), and a download of such a file held a worker.
    raw = b"<ans:senhaPrestador>" + b"a" * 100_000
    assert files.redact_password(raw, "UTF-8") == b""


# --- files that are not there for the provider ---


def test_message_without_a_stored_answer_has_no_answer_file(gw):
    # Every message the gateway archives gets its answer in the same transaction; a record
    # without one (as older archives may hold) can only be inserted.
    raw = b"<ans:senhaPrestador>segredo</ans:senhaPrestador>"
    a = provider_id(gw, PROVIDER_A)
    with gw.db.transaction() as s:
        message = models.Message(
            request_id="sem-retorno",
            received_at=datetime(2026, 11, 21, 13, 30, tzinfo=UTC),
            channel="soap",
            service="tissLoteGuias",
            raw_request=raw,
            request_size=len(raw),
            request_sha256=hashlib.sha256(raw).hexdigest(),
            outcome=REJECTED,
            provider_id=a,
        )
        s.add(message)
        s.flush()
        message_id = message.id

    assert files.raw_file(gw.db, a, message_id, files.RESPONSE) is None
    sent = files.raw_file(gw.db, a, message_id, files.REQUEST)
    assert sent.content == b"<ans:senhaPrestador>********</ans:senhaPrestador>"
    assert sent.charset == "UTF-8" and sent.file_name == f"mensagem-{message_id}.xml"
    detail = files.file_detail(gw, a, message_id)
    assert not detail.has_response
    assert detail.row.tipo_transacao == "ENVIO_LOTE_GUIAS"


def test_another_providers_files_are_not_handed_out(gw):
    message_id = uploaded(gw, pa.lot_file(PROVIDER_B, "BLOT"), "lote-b.xml", provider=PROVIDER_B)
    a, b = provider_id(gw, PROVIDER_A), provider_id(gw, PROVIDER_B)

    assert files.raw_file(gw.db, a, message_id, files.REQUEST) is None
    assert files.raw_file(gw.db, a, message_id, files.RESPONSE) is None
    assert files.file_detail(gw, a, message_id) is None
    # Its own provider gets both.
    assert files.raw_file(gw.db, b, message_id, files.REQUEST).file_name == "lote-b.xml"
    answer = files.raw_file(gw.db, b, message_id, files.RESPONSE)
    assert b"protocoloRecebimento" in answer.content
    assert answer.file_name == f"retorno-{message_id}.xml"


def test_unknown_kind_of_file_is_none(gw):
    message_id = uploaded(gw, file_for(PROVIDER_A, "K1"), "k.xml")
    assert files.raw_file(gw.db, provider_id(gw, PROVIDER_A), message_id, "outro") is None


# --- forms of the password the first masking missed, and wide files it changed ---


@pytest.mark.parametrize(
    "opening",
    [
        b'<ans:senhaPrestador xmlns:ans="http://www.ans.gov.br/padroes/tiss/schemas">',
        b"<ans:senhaPrestador><!-- MD5 da senha -->",
    ],
    ids=["namespace-declared-on-the-element", "comment-before-the-text"],
)
def test_password_written_in_other_valid_forms_is_masked(client, gw, opening):
    md5 = PROVIDER_A.senha_md5.encode()
    raw = ws_envelope("FORMA").replace(b"<ans:senhaPrestador>", opening)
    assert post(client, None, raw=raw).protocol  # the gateway read the password: A logged in

    content = sent_as_provider_a(gw)
    assert md5 not in content
    # Everything between the tags is masked, a comment too: the tags themselves are kept.
    masked_element = opening.split(b">")[0] + b">" + MASK + b"</ans:senhaPrestador>"
    sent_element = opening + md5 + b"</ans:senhaPrestador>"
    assert content == raw.replace(sent_element, masked_element)


def test_utf16_big_endian_message_keeps_every_other_byte(client, gw):
    text = ws_envelope("U16BE", encoding="UTF-16").decode("utf-16")
    raw = b"\xfe\xff" + text.encode("utf-16-be")
    assert post(client, None, raw=raw, encoding="UTF-16").protocol

    content = sent_as_provider_a(gw, "UTF-16")
    assert content == b"\xfe\xff" + text.replace(PROVIDER_A.senha_md5, "********").encode(
        "utf-16-be"
    )


def test_utf16_file_without_xml_declaration_is_handed_back(gw):
    # A BOM and no declaration is UTF-16 by the XML specification; the gateway accepts it.
    data = etree.tostring(
        mensagem_tiss(sample_lot(PROVIDER_A, "U16ND", 1, registro_ans=REGISTRO_ANS, login=None)),
        encoding="unicode",
    ).encode("utf-16")
    result = upload_lot_file(gw, data, principal(gw, PROVIDER_A), file_name="u16.xml")
    assert result.accepted

    sent = files.raw_file(
        gw.db, provider_id(gw, PROVIDER_A), result.answer.message_id, files.REQUEST
    )
    assert sent.content == data
