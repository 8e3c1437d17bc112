"""tissLoteGuias end to end through the WSGI app: accepted lots, resends, and one test per row
of the README's error table. Every answer is validated against the official XSD."""

from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import func, select

from gateway.tiss.hashing import message_hash
from gateway.tiss.lote import read_lot
from gateway.tiss.namespaces import ANS, q
from gateway.tiss.samples import SampleGuide, guides, lote_guias_ws
from storage import models
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.tissclient import envelope, guide_values, local_names, post, sample_lot


def lot_a(numero="1001", count=3, **kw):
    kw.setdefault("registro_ans", REGISTRO_ANS)
    return sample_lot(PROVIDER_A, numero, count, **kw)


def count(gw, model, *where):
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def last_message(gw) -> models.Message:
    with gw.db.reading() as s:
        return s.scalars(select(models.Message).order_by(models.Message.id.desc())).first()


@pytest.mark.parametrize("version", ["4.03.00", "4.02.00"])
@pytest.mark.parametrize("guide_type", ["guiaConsulta", "guiaSP-SADT"])
def test_accepted_lot_gets_a_protocol_with_its_guides(client, gw, version, guide_type):
    lot = lot_a(count=4, version=version, guide_type=guide_type)
    lot.guides[1].valor = Decimal("99.90")
    answer = post(client, lote_guias_ws(lot), version=version)

    assert not answer.is_fault
    assert answer.text("ans:cabecalho/ans:Padrao") == version
    assert (
        answer.text("ans:cabecalho/ans:identificacaoTransacao/ans:tipoTransacao")
        == "PROTOCOLO_RECEBIMENTO"
    )
    assert answer.text(".//ans:protocoloRecebimento/ans:numeroLote") == "1001"
    assert answer.text(".//ans:valorTotalProtocolo") == "549.90"
    numbers = [e.text for e in answer.payload.iterfind(".//{*}dadosGuias/{*}numeroGuiaPrestador")]
    assert numbers == ["G000001", "G000002", "G000003", "G000004"]
    assert answer.text(".//ans:dadosPrestador/ans:codigoPrestadorNaOperadora") == PROVIDER_A.code
    assert (
        answer.text("ans:cabecalho/ans:destino/ans:identificacaoPrestador/ans:CNPJ")
        == PROVIDER_A.cnpj
    )

    with gw.db.reading() as s:
        protocol = s.scalar(
            select(models.Protocol).where(models.Protocol.numero == answer.protocol)
        )
        assert protocol.status == 1
        assert [h.status for h in protocol.history] == [1]
        assert protocol.lot.total_value == Decimal("549.90")
        assert protocol.lot.guide_type == guide_type
        assert [g.numero_guia_prestador for g in protocol.lot.guides] == numbers
        message = s.scalar(select(models.Message).where(models.Message.protocol_id == protocol.id))
        assert message.outcome == "accepted"
        assert message.hash_variant == "iso-8859-1"
        assert message.raw_request.startswith(b"<?xml")
        assert b"numeroProtocolo" in message.raw_response


def receipt_guides(answer) -> list[etree._Element]:
    return answer.payload.findall(f".//{q('dadosGuiasProtocolo')}/*")


def test_receipt_repeats_each_guides_numbers_card_and_date(client, gw):
    ws = lote_guias_ws(lot_a("1002", count=2, guide_type="guiaSP-SADT"))
    # the operator's number of the second guide, where SP/SADT keeps it (dadosAutorizacao)
    second = ws.findall(f".//{q('guiaSP-SADT')}")[1]
    aut = etree.Element(q("dadosAutorizacao"))
    etree.SubElement(aut, q("numeroGuiaOperadora")).text = "AUT777"
    etree.SubElement(aut, q("dataAutorizacao")).text = "2026-11-01"
    second.find(q("cabecalhoGuia")).addnext(aut)
    ws.find(q("hash")).text = message_hash(ws)

    answer = post(client, ws)
    assert answer.protocol
    first, other = receipt_guides(answer)
    assert local_names(first) == ["numeroGuiaPrestador", "dadosBeneficiario", "dataRealizacao"]
    assert local_names(other) == [
        "numeroGuiaPrestador",
        "numeroGuiaOperadora",
        "dadosBeneficiario",
        "dataRealizacao",
    ]
    assert other.findtext(q("numeroGuiaOperadora")) == "AUT777"
    assert other.findtext(f"{q('dadosBeneficiario')}/{q('numeroCarteira')}") == "00012345678901"
    assert other.findtext(q("dataRealizacao")) == "2026-11-03"


def test_receipt_of_an_odonto_lot_keeps_the_card_on_the_guide_and_no_date(client, gw):
    answer = post(client, lote_guias_ws(lot_a("1003", count=2, guide_type="guiaOdonto")))
    assert answer.protocol
    listed = receipt_guides(answer)
    assert local_names(listed) == ["dadosGuiasOdonto"] * 2
    assert [local_names(g) for g in listed] == [
        ["numeroGuiaPrestador", "numeroCarteira", "atendimentoRN"]
    ] * 2
    assert [g.findtext(q("numeroGuiaPrestador")) for g in listed] == ["G000001", "G000002"]


def test_protocol_numbers_are_unique_and_st_texto12(client, gw):
    numbers = {post(client, lote_guias_ws(lot_a(str(n)))).protocol for n in range(5)}
    assert len(numbers) == 5
    assert all(len(n) <= 12 for n in numbers)


def test_answer_uses_the_request_charset(client, gw):
    utf8 = post(client, lote_guias_ws(lot_a("A1")), encoding="UTF-8")
    latin = post(client, lote_guias_ws(lot_a("A2")), encoding="ISO-8859-1")
    assert "charset=utf-8" in utf8.content_type.lower()
    assert utf8.raw.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "charset=iso-8859-1" in latin.content_type.lower()
    assert latin.raw.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")


def test_resend_of_the_same_lot_gets_the_original_protocol(client, gw):
    first = post(client, lote_guias_ws(lot_a("77")))
    # A resend after a timeout: same guides, new transaction header.
    again = post(client, lote_guias_ws(lot_a("77", sequencial="2")))
    assert again.protocol == first.protocol
    assert count(gw, models.Lot) == 1
    assert count(gw, models.Protocol) == 1
    assert last_message(gw).outcome == "duplicate"


def test_same_lot_number_with_other_content_is_5053(client, gw):
    first = post(client, lote_guias_ws(lot_a("78")))
    changed = lot_a("78")
    changed.guides[0].valor = Decimal("1.00")
    answer = post(client, lote_guias_ws(changed))
    assert not answer.is_fault
    assert answer.code == "5053"
    assert answer.protocol is None
    assert count(gw, models.Lot) == 1
    with gw.db.reading() as s:
        lot = s.scalar(select(models.Lot))
        assert lot.total_value == Decimal("450.00")  # the original, untouched
    assert first.protocol
    assert last_message(gw).outcome == "rejected"
    assert last_message(gw).codes == "5053"


def test_same_lot_number_from_another_provider_is_a_new_lot(client, gw):
    a = post(client, lote_guias_ws(lot_a("90")))
    b = post(client, lote_guias_ws(sample_lot(PROVIDER_B, "90", registro_ans=REGISTRO_ANS)))
    assert a.protocol != b.protocol and b.protocol


def test_more_than_100_guides_is_5015_in_the_body(client, gw):
    answer = post(client, lote_guias_ws(lot_a("101", count=101)))
    assert not answer.is_fault
    assert answer.code == "5015"
    assert count(gw, models.Lot) == 0
    assert last_message(gw).codes == "5015"


def test_exactly_100_guides_is_accepted(client, gw):
    answer = post(client, lote_guias_ws(lot_a("100", count=100)))
    assert answer.protocol
    assert len(answer.payload.findall(".//{*}dadosGuias")) == 100


def test_guides_and_items_are_stored_with_the_values_read(client, gw):
    """Whatever the text holds (quotes, a tab, backslashes, what COPY would read as NULL), the
    database keeps what the lot says: PostgreSQL receives guides and items through COPY."""
    ws = lote_guias_ws(lot_a("104", count=3, guide_type="guiaSP-SADT"))
    tricky = 'RX "TÓRAX"\tPA\\LAT \\N; -- fim'
    ws.find(".//{*}descricaoProcedimento").text = tricky
    ws.find(f"{{{ANS}}}hash").text = message_hash(ws)
    answer = post(client, ws)
    assert answer.protocol, answer.fault_string
    read = read_lot(ws.find(f"{{{ANS}}}loteGuias"))
    assert read.guides[0].items[0].descricao == tricky

    with gw.db.reading() as s:
        lot = s.scalar(select(models.Lot).where(models.Lot.numero_lote == "104"))
        stored = [(g.position, *guide_values(g)) for g in lot.guides]
    assert stored == [(position, *guide_values(g)) for position, g in enumerate(read.guides, 1)]


def test_a_large_lot_is_archived_byte_for_byte_compressed_with_lz4_on_postgresql(client, gw):
    data = envelope(lote_guias_ws(lot_a("103", count=100)))
    answer = post(client, None, raw=data)
    assert answer.protocol
    message = last_message(gw)
    assert message.raw_request == data
    assert message.raw_response is not None and b"numeroProtocolo" in message.raw_response
    if gw.db.engine.dialect.name != "postgresql":
        return  # SQLite stores them as they are
    with gw.db.reading() as s:
        methods = s.execute(
            select(
                func.pg_column_compression(models.Message.raw_request),
                func.pg_column_compression(models.Message.raw_response),
            ).where(models.Message.id == message.id)
        ).one()
    assert tuple(methods) == ("lz4", "lz4")  # migration 0010


def test_101_guides_with_a_wrong_hash_is_still_a_hash_fault(client, gw):
    answer = post(client, lote_guias_ws(lot_a("102", count=101), hash_value="0" * 32))
    assert answer.tiss_fault == "HashInvalido"


# --- one test per row of the README's error table -------------------------------------------


def fault_row(answer, tiss_fault: str, code: str):
    assert answer.is_fault, answer.raw[:500]
    assert answer.tiss_fault == tiss_fault
    assert answer.code == code
    assert answer.faultstring.startswith(f"{code} - ")


def test_not_xml_is_5002_schema_fault(client, gw):
    fault_row(post(client, None, raw=b"this is not xml"), "SchemaInvalido", "5002")
    assert last_message(gw).raw_request == b"this is not xml"
    assert last_message(gw).outcome == "rejected"


def test_dtd_in_the_envelope_is_refused(client, gw):
    raw = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<soapenv:Body><x>&e;</x></soapenv:Body></soapenv:Envelope>"
    )
    answer = post(client, None, raw=raw)
    fault_row(answer, "SchemaInvalido", "5002")
    assert b"root:" not in answer.raw


def test_message_above_the_size_limit_is_refused(client, gw):
    big = lote_guias_ws(lot_a("BIG"))
    big.find(q("loteGuias")).find(q("guiasTISS"))[0].find(q("observacao")).text = "x" * (21 << 20)
    answer = post(client, big)
    fault_row(answer, "SchemaInvalido", "5002")
    assert "limite" in answer.faultstring


def test_too_deep_xml_is_refused(client, gw):
    raw = (
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<soapenv:Body>" + b"<a>" * 100 + b"</a>" * 100 + b"</soapenv:Body></soapenv:Envelope>"
    )
    fault_row(post(client, None, raw=raw), "SchemaInvalido", "5002")


def test_envelope_without_body_element_is_refused(client, gw):
    fault_row(post(client, None), "SchemaInvalido", "5002")


def test_soap12_envelope_is_refused(client, gw):
    raw = (
        b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>'
        + etree.tostring(lote_guias_ws(lot_a()))
        + b"</env:Body></env:Envelope>"
    )
    fault_row(post(client, None, raw=raw), "SchemaInvalido", "5002")


def test_other_service_message_posted_here_is_5001(client, gw):
    wrong = etree.Element(q("solicitacaoStatusProtocoloWS"))
    fault_row(post(client, wrong), "SchemaInvalido", "5001")
    assert last_message(gw).service == "tissLoteGuias"


@pytest.mark.parametrize("padrao", ["3.05.00", "4.01.00", "9.99.99", ""])
def test_version_not_accepted_is_5028(client, gw, padrao):
    message = lote_guias_ws(lot_a())
    message.find(q("cabecalho")).find(q("Padrao")).text = padrao
    answer = post(client, message)
    fault_row(answer, "VersaoInvalida", "5028")
    assert count(gw, models.Lot) == 0


def test_schema_errors_are_5001_and_all_are_stored(client, gw):
    lot = lot_a("S1", count=3)
    message = lote_guias_ws(lot)
    guias = message.find(q("loteGuias")).find(q("guiasTISS"))
    guias[0].find(q("indicacaoAcidente")).text = "7"  # not in dm_indicadorAcidente
    guias[2].find(q("dadosBeneficiario")).remove(guias[2].find(q("dadosBeneficiario"))[1])
    answer = post(client, _rehash(message))
    fault_row(answer, "SchemaInvalido", "5001")
    detail = last_message(gw).detail
    assert "indicacaoAcidente" in detail and "atendimentoRN" in detail
    assert answer.faultstring.count("erro") >= 1


def test_wrong_tipo_transacao_is_5001(client, gw):
    message = lote_guias_ws(lot_a())
    message.find(".//{*}tipoTransacao").text = "SOLIC_STATUS_PROTOCOLO"
    fault_row(post(client, _rehash(message)), "SchemaInvalido", "5001")


def test_wrong_hash_is_5014(client, gw):
    fault_row(post(client, lote_guias_ws(lot_a(), hash_value="0" * 32)), "HashInvalido", "5014")
    assert count(gw, models.Lot) == 0


def test_destination_of_another_operator_is_5027(client, gw):
    fault_row(
        post(client, lote_guias_ws(lot_a(registro_ans="999999"))), "DestinatarioInvalido", "5027"
    )


def test_login_missing_is_5005_login_fault(client, gw):
    fault_row(post(client, lote_guias_ws(lot_a(login=None))), "LoginInvalido", "5005")


@pytest.mark.parametrize(
    "login,senha",
    [
        (PROVIDER_A.cnpj, "0" * 32),  # wrong password
        ("99999999000191", PROVIDER_A.senha_md5),  # unknown login
        (PROVIDER_A.cnpj, "Senha@A123"),  # the password itself instead of its MD5
    ],
)
def test_login_wrong_is_5005_login_fault(client, gw, login, senha):
    answer = post(client, lote_guias_ws(lot_a(login=login, senha_md5=senha)))
    fault_row(answer, "LoginInvalido", "5005")
    assert "login ou senha inválidos" in answer.faultstring


def test_password_md5_is_case_insensitive(client, gw):
    answer = post(client, lote_guias_ws(lot_a(senha_md5=PROVIDER_A.senha_md5.upper())))
    assert answer.protocol


def test_sender_other_than_the_login_is_5005_remetente(client, gw):
    # B logs in but the message says it comes from A.
    lot = lot_a(login=PROVIDER_B.cnpj, senha_md5=PROVIDER_B.senha_md5)
    answer = post(client, lote_guias_ws(lot))
    fault_row(answer, "RemetenteInvalido", "5005")
    assert "O Recebedor do arquivo diverge do login utilizado" in answer.faultstring
    assert count(gw, models.Lot) == 0


def test_sender_by_codigo_prestador_is_accepted(client, gw):
    from gateway.tiss.header import Party

    answer = post(
        client, lote_guias_ws(lot_a(origem=Party("codigoPrestadorNaOperadora", PROVIDER_A.code)))
    )
    assert answer.protocol


def test_unexpected_error_is_a_server_fault_and_leaves_nothing_half_written(
    client, gw, monkeypatch
):
    from gateway.services import lots

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(lots, "protocolo_recebimento", boom)
    answer = post(client, lote_guias_ws(lot_a("E1")))
    assert answer.tiss_fault == "ErroInesperadoServidor"
    assert answer.faultcode.endswith("Server")
    assert "disk on fire" not in answer.faultstring and "Traceback" not in answer.faultstring
    assert count(gw, models.Lot) == 0 and count(gw, models.Protocol) == 0
    assert last_message(gw).outcome == "error"


def _rehash(message):
    from gateway.tiss.hashing import message_hash

    message.find(q("hash")).text = message_hash(message)
    return message


def test_utf8_hash_accepted_by_default_and_recorded(client, gw):
    import hashlib

    from gateway.tiss.hashing import hashed_parts, leaf_texts

    lot = lot_a("U1")
    lot.guides = [SampleGuide("G1", profissional="DR. ÂNGELO ÇÃO")]
    message = lote_guias_ws(lot)
    text = leaf_texts(hashed_parts(message))
    message.find(q("hash")).text = hashlib.md5(text.encode("utf-8")).hexdigest()
    assert post(client, message).protocol
    assert last_message(gw).hash_variant == "utf-8"


def test_guides_helper_is_sane():
    assert len(guides(3)) == 3
