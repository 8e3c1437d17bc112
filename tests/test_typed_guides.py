"""Digitação de Guias: a Guia de Consulta typed field by field is checked like the schema and the
TISS tables demand, becomes a mensagemTISS that the OFFICIAL ANS schema accepts, and once sent
lands exactly like an uploaded file (same checks, a protocol, the archive)."""

import re
from datetime import date, datetime
from decimal import Decimal
from functools import cache

import pytest
from lxml import etree
from sqlalchemy import select

from gateway.services import typed_guides as typing
from gateway.tiss.header import Party
from gateway.tiss.schemas import builtin_sets
from gateway.tiss.typed_guides import GuideInvalid, TypedLot, mensagem_tiss, read_consulta
from storage import models
from tests import portal_support as ps
from tests import provider_area_support as pa
from tests.conftest import PROVIDER_A, REGISTRO_ANS
from tests.tissclient import SHARED_TISS, leaf_md5

AREA = pa.AREA
TODAY = date(2026, 11, 21)
GUIDE = pa.CONSULTA_FORM


@cache
def domains(version: str = "4.03.00"):
    return next(s for s in builtin_sets() if s.version == version).domain


@cache
def official_message_schema(version: str) -> etree.XMLSchema:
    path = SHARED_TISS / "schemas" / version / f"tissV{version.replace('.', '_')}.xsd"
    parser = etree.XMLParser(no_network=True, load_dtd=True, resolve_entities=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


def test_typed_values_are_read_as_the_standard_writes_them():
    guide = read_consulta(dict(GUIDE, atendimento_rn="S"), domains(), TODAY)
    assert guide.valor_procedimento == Decimal("1234.56")
    assert guide.data_atendimento == date(2026, 11, 10) and guide.atendimento_rn == "S"
    assert read_consulta(GUIDE, domains(), TODAY).atendimento_rn == "N"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("data_atendimento", "2026-02-30", "data válida"),
        ("data_atendimento", "2026-12-01", "não pode ser futura"),
        ("cbos", "123456", "código CBO inválido"),
        ("conselho", "99", "conselho profissional inválido"),
        ("uf_conselho", "DF", "UF inválida"),
        ("codigo_tabela", "19", "tabela 22"),
        ("codigo_procedimento", "40301630", "não é de consulta"),
        ("valor_procedimento", "0", "maior que zero"),
        ("valor_procedimento", "10,001", "duas casas"),
        ("valor_procedimento", "cem", "em reais"),
        ("cnes", "123", "7 dígitos"),
        ("numero_guia_prestador", "", "obrigatório"),
        ("numero_guia_prestador", "X" * 21, "no máximo 20"),
        ("nome_profissional", "Dra. 😀", "sem emojis"),
        ("tipo_consulta", "7", "tipo de consulta inválido"),
    ],
)
def test_each_wrong_field_is_reported(field, value, message):
    with pytest.raises(GuideInvalid) as caught:
        read_consulta(dict(GUIDE, **{field: value}), domains(), TODAY)
    assert message in caught.value.errors[field]


def test_full_width_digits_are_read_as_the_digits_they_look_like():
    # Some keyboards and text copied from PDFs give full-width digits; the lot file must carry
    # 0-9, which is what the schema's patterns and every operator's system expect.
    guide = read_consulta(
        dict(GUIDE, cnes="\uff12\uff10\uff17\uff17\uff14\uff18\uff15"), domains(), TODAY
    )
    assert guide.cnes == "2077485"


def test_own_table_accepts_an_own_code():
    guide = read_consulta(
        dict(GUIDE, codigo_tabela="00", codigo_procedimento="CONS01"), domains(), TODAY
    )
    assert guide.codigo_procedimento == "CONS01"


@pytest.mark.parametrize("version", ["4.03.00", "4.02.00"])
def test_the_lot_file_is_valid_under_the_official_schema(version):
    guides = (
        read_consulta(GUIDE, domains(version), TODAY),
        read_consulta(
            dict(
                GUIDE,
                numero_guia_prestador="C0002",
                numero_guia_operadora="OP77",
                nome_profissional="",
                observacao="",
                atendimento_rn="S",
            ),
            domains(version),
            TODAY,
        ),
    )
    lot = TypedLot(
        REGISTRO_ANS,
        Party("CNPJ", PROVIDER_A.cnpj),
        "DIG000000001",
        version,
        "7",
        datetime(2026, 11, 21, 9, 15),
        guides,
    )
    message = mensagem_tiss(lot)
    schema = official_message_schema(version)
    assert schema.validate(message), schema.error_log
    informed = message.findtext("{*}epilogo/{*}hash")
    assert informed == leaf_md5(message)


@pytest.fixture
def settings_overrides():
    return {"portal": ps.PORTAL_SETTINGS}


@pytest.fixture
def typist(client, gw):
    pa.beneficiaries(gw)
    ps.login(client, PROVIDER_A.cnpj, PROVIDER_A.password)
    return client


def test_typed_guides_become_a_protocol(typist, gw):
    protocol_url = pa.open_protocol(typist)
    assert pa.open_protocol(typist) == protocol_url  # the open one is continued
    assert "Já existe um protocolo aberto" in ps.text(typist.get(protocol_url))
    new = f"{protocol_url}/guias/nova"
    form = ps.text(typist.get(new))
    assert "18 – Data do Atendimento" in form and "16 – Código CBO" in form
    assert PROVIDER_A.code in form and "Médico clínico (225125)" in form

    wrong = ps.post(typist, new, dict(GUIDE, data_atendimento="2026-02-30", cbos=""))
    assert wrong.status_code == 422
    assert "informe uma data válida" in ps.text(wrong) and "selecione uma opção" in ps.text(wrong)

    saved = ps.post(typist, new, dict(GUIDE, action="save_new"))
    assert saved.headers["Location"].endswith("/guias/nova")
    again = ps.post(typist, new, GUIDE)
    assert "Já há uma guia com este número" in ps.text(again)
    ps.post(
        typist,
        new,
        dict(
            GUIDE,
            numero_guia_prestador="C0002",
            numero_carteira="5555",
            valor_procedimento="100,00",
        ),
    )
    page = ps.text(typist.get(protocol_url))
    assert "Maria Ativa" in page and "R$ 1.334,56" in page

    finish = ps.post(typist, f"{protocol_url}/finalizar", {}, token_from=protocol_url)
    assert finish.status_code == 302
    assert ps.post(typist, new, GUIDE).status_code == 422  # no typing after finishing
    sent = ps.post(typist, f"{protocol_url}/enviar", {}, token_from=protocol_url)
    assert sent.status_code == 200, ps.text(sent)
    numero = re.search(r'data-testid="protocolo">(\d{12})<', ps.text(sent)).group(1)

    with gw.db.reading() as s:
        lot = s.scalar(select(models.Lot))
        message = s.scalar(select(models.Message).where(models.Message.channel == "upload"))
        protocol = s.scalar(select(models.Protocol))
    assert protocol.numero == numero and lot.guide_count == 2 and lot.numero_lote.startswith("DIG")
    assert str(lot.total_value) == "1334.56" and lot.guide_type == "guiaConsulta"
    assert message.file_name == f"digitacao-{lot.numero_lote}.xml"
    root = etree.fromstring(message.raw_request)
    assert official_message_schema(gw.newest_version).validate(root)
    assert root.findtext("{*}cabecalho/{*}destino/{*}registroANS") == REGISTRO_ANS

    status = ps.text(typist.get(f"{AREA}/status", query_string={"protocolo": numero}))
    assert "1 - Recebido" in status and "C0002" in status
    assert numero in ps.text(typist.get(protocol_url))
    resend = ps.post(typist, f"{protocol_url}/enviar", {}, token_from=protocol_url)
    assert "já foi enviado" in ps.text(typist.get(resend.headers["Location"]))


def test_reopen_edit_and_remove(typist, gw):
    protocol_url = pa.open_protocol(typist)
    typed_id = int(protocol_url.rsplit("/", 1)[1])
    ps.post(typist, f"{protocol_url}/guias/nova", GUIDE)
    assert "Digite ao menos" not in ps.text(typist.get(protocol_url))
    ps.post(typist, f"{protocol_url}/finalizar", {}, token_from=protocol_url)
    ps.post(typist, f"{protocol_url}/reabrir", {}, token_from=protocol_url)
    view = typing.protocol(gw.db, _provider_id(gw), typed_id)
    assert view.status == typing.OPEN
    guide_url = f"{protocol_url}/guias/{view.guides[0].id}"
    assert "Dra. Conceição Araújo" in ps.text(typist.get(guide_url))
    ps.post(typist, guide_url, dict(GUIDE, valor_procedimento="99,90"))
    assert typing.protocol(gw.db, _provider_id(gw), typed_id).total == Decimal("99.90")
    ps.post(typist, f"{guide_url}/remover", {}, token_from=protocol_url)
    assert typing.protocol(gw.db, _provider_id(gw), typed_id).guides == ()
    empty = ps.post(typist, f"{protocol_url}/finalizar", {}, token_from=protocol_url)
    assert "Digite ao menos uma guia" in ps.text(typist.get(empty.headers["Location"]))


def test_a_lot_holds_at_most_the_standards_guides(typist, gw, monkeypatch):
    monkeypatch.setattr(typing, "MAX_GUIDES_PER_LOT", 1)
    protocol_url = pa.open_protocol(typist)
    ps.post(typist, f"{protocol_url}/guias/nova", GUIDE)
    second = ps.post(
        typist, f"{protocol_url}/guias/nova", dict(GUIDE, numero_guia_prestador="C0009")
    )
    assert second.status_code == 422 and "no máximo 1 guias" in ps.text(second)


def _provider_id(gw) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(models.Provider.id).where(models.Provider.cnpj == PROVIDER_A.cnpj))
