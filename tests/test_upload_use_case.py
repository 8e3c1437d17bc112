"""The portal's XML upload use case: a mensagemTISS file goes through the tissLoteGuias checks
and storage, with the logged-in provider in place of loginSenhaPrestador."""

from lxml import etree
from sqlalchemy import func, select

from gateway.services.inbound import Principal
from gateway.services.uploads import upload_lot_file
from gateway.tiss.namespaces import q
from gateway.tiss.samples import mensagem_tiss
from storage import models
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.tissclient import sample_lot


def principal_of(gw, provider) -> Principal:
    with gw.db.reading() as s:
        account = s.scalar(select(models.Account).where(models.Account.login == provider.cnpj))
        return Principal(account_id=account.id, provider_id=account.provider_id)


def file_of(provider, numero="F1", encoding="ISO-8859-1", **kw) -> bytes:
    lot = sample_lot(provider, numero, 2, registro_ans=REGISTRO_ANS, login=None, **kw)
    return etree.tostring(mensagem_tiss(lot), encoding=encoding, xml_declaration=True)


def test_valid_file_gets_a_protocol_and_is_archived_as_upload(gw):
    for encoding in ("ISO-8859-1", "UTF-8"):
        result = upload_lot_file(
            gw, file_of(PROVIDER_A, f"F-{encoding}", encoding), principal_of(gw, PROVIDER_A)
        )
        assert result.accepted and result.occurrences == ()
    with gw.db.reading() as s:
        channels = s.scalars(select(models.Message.channel)).all()
        assert channels == ["upload", "upload"]
        assert s.scalar(select(func.count()).select_from(models.Lot)) == 2


def test_file_of_another_provider_is_refused_with_the_portal_message(gw):
    result = upload_lot_file(gw, file_of(PROVIDER_B), principal_of(gw, PROVIDER_A))
    assert not result.accepted
    assert "O Recebedor do arquivo diverge do login utilizado" in result.occurrences[0]


def test_schema_errors_are_all_listed_in_plain_words(gw):
    root = mensagem_tiss(sample_lot(PROVIDER_A, "F2", 2, registro_ans=REGISTRO_ANS, login=None))
    guias = root.find(f"{q('prestadorParaOperadora')}/{q('loteGuias')}/{q('guiasTISS')}")
    guias[0].find(q("indicacaoAcidente")).text = "7"
    guias[1].find(q("dadosAtendimento")).find(q("dataAtendimento")).text = "2026-02-30"
    from gateway.tiss.hashing import message_hash

    root.find(f"{q('epilogo')}/{q('hash')}").text = message_hash(root)
    data = etree.tostring(root, encoding="ISO-8859-1", xml_declaration=True, pretty_print=True)
    result = upload_lot_file(gw, data, principal_of(gw, PROVIDER_A))
    assert not result.accepted
    text = "\n".join(result.occurrences)
    assert "indicacaoAcidente tem o valor '7'" in text
    assert "dataAtendimento tem o valor '2026-02-30'" in text
    assert all(o.startswith("Linha ") for o in result.occurrences[1:])


def test_wrong_hash_in_epilogo_and_not_xml(gw):
    root = mensagem_tiss(sample_lot(PROVIDER_A, "F3", 1, registro_ans=REGISTRO_ANS, login=None))
    root.find(f"{q('epilogo')}/{q('hash')}").text = "0" * 32
    bad_hash = upload_lot_file(gw, etree.tostring(root), principal_of(gw, PROVIDER_A))
    assert bad_hash.occurrences[0].startswith("5014")
    not_xml = upload_lot_file(gw, b"%PDF-1.4 not xml", principal_of(gw, PROVIDER_A))
    assert not_xml.occurrences[0].startswith("5002")
    with gw.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(models.Lot)) == 0


def test_same_file_uploaded_twice_gets_the_same_protocol(gw):
    data = file_of(PROVIDER_A, "F4")
    first = upload_lot_file(gw, data, principal_of(gw, PROVIDER_A))
    second = upload_lot_file(gw, data, principal_of(gw, PROVIDER_A))
    assert first.protocol == second.protocol
