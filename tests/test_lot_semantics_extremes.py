"""What the gateway does with the CONTENT of a lot of guides (tissLoteGuias), beyond the schema:
each of the five guide types in the versions in force (4.02.00, 4.03.00) and in 4.01.00, which
late adopters still send and the operator imported; guide and lot numbers met before (in the same
lot, in an earlier lot, from another provider, with leading zeros); resends; the 100-guide
limit; beneficiaries the registry does not know or that had left; values at the edges of
st_decimal10-2; the ways a provider names itself (CNPJ, the alphanumeric CNPJ of 4.03.00, CPF,
codigoPrestadorNaOperadora) and the operator (destino, each guide's registroANS); and the
transaction's date around Brazil's midnight.

Every request is checked against the OFFICIAL schema of its version before it is sent, and every
answer after (tests.tissclient.post), so a failure here is the gateway's, not the test's. What a
user would check is asserted: the receipt and its table-38 code, what is stored, what the status
query and the operator's back office then list.

Decisions taken where the standard leaves room (a serious operator's reading):
- A guide number (numeroGuiaPrestador) identifies a bill of the provider. Twice in one lot, or
  again in a later lot while the first is still open, it is the same bill presented twice: the
  lot is refused in the body with 1308 GUIA JÁ APRESENTADA, nothing stored. The back office and
  the portal's typing already treat the number as the guide's identity within a protocol.
  Another provider's guide of the same number is another bill; a guide whose protocol the
  operator cancelled may be presented again.
- numeroLote is st_texto12, text: '0042' and '42' are two lots.
- Beneficiaries are judged in the analysis (glosas 1001, 1006), not at reception: the registry
  lags behind the provider's front desk, and one card must not hold back a hundred guides.
- Each guide's registroANS names the operator that pays it; one naming another operator in a
  lot sent to this one is 5027, like the destino.
- dataRegistroTransacao is the sender's clock: accepted across Brazil's zones (UTC-5 to UTC-2)
  and midnight, but a date after the sender's tomorrow, or before the care the lot bills, is
  5025 DATA DE REGISTRO DA TRANSAÇÃO INVÁLIDA. The protocol's dates are the gateway's own
  clock, in Brazilian civil time.
"""

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from sqlalchemy import func, select

from gateway.services.admin import add_provider
from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.tiss import codes
from gateway.tiss.header import Party
from gateway.tiss.namespaces import q
from gateway.tiss.samples import (
    SampleGuide,
    SampleLot,
    SampleQuery,
    lote_guias_ws,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_status_ws,
)
from gateway.tiss.schemas import ORIGIN_IMPORTED, SchemaRegistry, SchemaSet, expected_file_names
from storage import models
from tests.backoffice_client import make_client
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS, SHARED_TISS
from tests.test_soap_queries import analyse
from tests.tissclient import NS, Provider, SoapAnswer, envelope, leaf_md5, official_schema, post

CONSULTA, SADT, INTERNACAO, HONORARIOS, ODONTO = (
    "guiaConsulta",
    "guiaSP-SADT",
    "guiaResumoInternacao",
    "guiaHonorarios",
    "guiaOdonto",
)
GUIDE_TYPES = [CONSULTA, SADT, INTERNACAO, HONORARIOS, ODONTO]
VERSIONS = ["4.01.00", "4.02.00", "4.03.00"]
LOTE = "tissLoteGuias"
STATUS = "tissSolicitacaoStatusProtocolo"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
SENT = datetime(2026, 11, 21, 10, 30, 0)  # the cabecalho's date and time of gateway.tiss.samples
BRASILIA = ZoneInfo("America/Sao_Paulo")  # UTC-3 all year since 2019

# A provider that is a person (CPF), and one with an alphanumeric CNPJ (Brazil issues them from
# July 2026; only 4.03.00's st_CNPJ can carry one).
DOCTOR = Provider(cnpj="", code="MEDPF01", name="Dra. Pessoa Física", password="Medica@2026")
DOCTOR_CPF = "52998224725"
ALPHA = Provider(cnpj="12ABC34501DE35", code="PRESTX", name="Clínica Alfa", password="Senha@X789")


# --- 4.01.00, imported by the operator ------------------------------------------------------------


@pytest.fixture(scope="module")
def registry(registry):
    """The built-in sets plus the official 4.01.00 set, as `schemas import` would add it (a new
    registry: the session's is shared with other modules)."""
    reg = SchemaRegistry()
    for schema_set in registry:
        reg.add(schema_set)
    directory = SHARED_TISS / "schemas" / "4.01.00"
    digests = {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in expected_file_names("4.01.00")
    }
    reg.add(SchemaSet("4.01.00", ORIGIN_IMPORTED, directory, digests))
    reg.get("4.01.00").compile()
    return reg


@pytest.fixture
def settings_overrides():
    # The production default: a guide billed again is refused (conftest turns it off).
    return {"accepted_versions": tuple(VERSIONS), "refuse_presented_guides": True}


# --- building lots --------------------------------------------------------------------------------


@dataclass
class G:
    """A guide as the provider bills it: what the gateway records of it."""

    numero: str
    carteira: str = "00012345678901"
    valor: Decimal = Decimal("150.00")
    data: str = "2026-11-03"
    operadora: str | None = None


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, q(name))
    el.text = text
    return el


def _item(parent, seq: int, data: str, code: str, value: Decimal) -> etree._Element:
    """ct_procedimentoExecutado's fields, in the schema's order."""
    _sub(parent, "sequencialItem", str(seq))
    _sub(parent, "dataExecucao", data)
    proc = _sub(parent, "procedimento")
    _sub(proc, "codigoTabela", "22")
    _sub(proc, "codigoProcedimento", code)
    _sub(proc, "descricaoProcedimento", "PROCEDIMENTO")
    _sub(parent, "quantidadeExecutada", "1")
    _sub(parent, "reducaoAcrescimo", "1.00")
    _sub(parent, "valorUnitario", f"{value:.2f}")
    _sub(parent, "valorTotal", f"{value:.2f}")
    return parent


def _halves(valor: Decimal) -> list[tuple[str, Decimal]]:
    half = (valor / 2).quantize(Decimal("0.01"))
    return [("30602238", half), ("40301630", valor - half)]


def _internacao(guias, registro_ans: str, codigo: str, g: G, version: str) -> None:
    el = _sub(guias, INTERNACAO)
    cab = _sub(el, "cabecalhoGuia")
    _sub(cab, "registroANS", registro_ans)
    _sub(cab, "numeroGuiaPrestador", g.numero)
    _sub(el, "numeroGuiaSolicitacaoInternacao", "SOL" + g.numero[-17:])
    aut = _sub(el, "dadosAutorizacao")
    if g.operadora:
        _sub(aut, "numeroGuiaOperadora", g.operadora)
    _sub(aut, "dataAutorizacao", g.data)
    _sub(aut, "senha", "SENHA0001")
    ben = _sub(el, "dadosBeneficiario")
    _sub(ben, "numeroCarteira", g.carteira)
    _sub(ben, "atendimentoRN", "N")
    exe = _sub(el, "dadosExecutante")
    _sub(_sub(exe, "contratadoExecutante"), "codigoPrestadorNaOperadora", codigo)
    _sub(exe, "CNES", "2077485")
    internacao = _sub(el, "dadosInternacao")
    for name, text in [
        ("caraterAtendimento", "1"),
        ("tipoFaturamento", "4"),
        ("dataInicioFaturamento", g.data),
        ("horaInicioFaturamento", "08:00:00"),
        ("dataFinalFaturamento", g.data),
        ("horaFinalFaturamento", "18:00:00"),
        ("tipoInternacao", "2"),
        ("regimeInternacao", "1"),
    ]:
        _sub(internacao, name, text)
    saida = _sub(el, "dadosSaidaInternacao")
    _sub(saida, "indicadorAcidente", "9")
    _sub(saida, "motivoEncerramento", "11")
    procs = _sub(el, "procedimentosExecutados")
    for seq, (code, value) in enumerate(_halves(g.valor), 1):
        _item(_sub(procs, "procedimentoExecutado"), seq, g.data, code, value)
    total = _sub(el, "valorTotal")
    _sub(total, "valorProcedimentos", f"{g.valor:.2f}")
    _sub(total, "valorTotalGeral", f"{g.valor:.2f}")


def _honorarios(guias, registro_ans: str, codigo: str, g: G, version: str) -> None:
    el = _sub(guias, HONORARIOS)
    cab = _sub(el, "cabecalhoGuia")
    _sub(cab, "registroANS", registro_ans)
    _sub(cab, "numeroGuiaPrestador", g.numero)
    _sub(el, "guiaSolicInternacao", "SOL" + g.numero[-17:])
    if g.operadora:
        _sub(el, "numeroGuiaOperadora", g.operadora)
    ben = _sub(el, "beneficiario")
    _sub(ben, "numeroCarteira", g.carteira)
    _sub(ben, "atendimentoRN", "N")
    local = _sub(el, "localContratado")
    _sub(_sub(local, "codigoContratado"), "codigoNaOperadora", "HOSP001")
    _sub(local, "nomeContratado", "HOSPITAL SÃO JOSÉ")
    _sub(local, "cnes", "2077485")
    exe = _sub(el, "dadosContratadoExecutante")
    _sub(exe, "codigonaOperadora", codigo)
    _sub(exe, "cnesContratadoExecutante", "2077485")
    internacao = _sub(el, "dadosInternacao")
    _sub(internacao, "dataInicioFaturamento", g.data)
    _sub(internacao, "dataFimFaturamento", g.data)
    if version >= "4.03.00":  # required from 4.03.00, unknown before
        _sub(internacao, "caraterAtendimento", "1")
    procs = _sub(el, "procedimentosRealizados")
    for seq, (code, value) in enumerate(_halves(g.valor), 1):
        proc = _item(_sub(procs, "procedimentoRealizado"), seq, g.data, code, value)
        prof = _sub(proc, "profissionais")
        _sub(prof, "grauParticipacao", "00")
        _sub(_sub(prof, "codProfissional"), "codigoPrestadorNaOperadora", "MED001")
        for name, text in [
            ("nomeProfissional", "DRA. JOSÉ MARIA ÇÃO"),
            ("conselhoProfissional", "06"),
            ("numeroConselhoProfissional", "123456"),
            ("UF", "35"),
            ("CBO", "225125"),
        ]:
            _sub(prof, name, text)
    _sub(el, "valorTotalHonorarios", f"{g.valor:.2f}")
    _sub(el, "dataEmissaoGuia", g.data)


def _operadora_number(guide: etree._Element, guide_type: str, numero: str) -> None:
    """numeroGuiaOperadora where each sample guide type keeps it."""
    if guide_type == CONSULTA:
        guide.find(q("cabecalhoConsulta")).addnext(etree.Element(q("numeroGuiaOperadora")))
        guide.find(q("numeroGuiaOperadora")).text = numero
    elif guide_type == SADT:
        aut = etree.Element(q("dadosAutorizacao"))
        _sub(aut, "numeroGuiaOperadora", numero)
        _sub(aut, "dataAutorizacao", guide.findtext(f".//{q('dataExecucao')}"))
        guide.find(q("cabecalhoGuia")).addnext(aut)
    elif guide_type == ODONTO:
        guide.find(q("numeroGuiaPrestador")).addnext(etree.Element(q("numeroGuiaOperadora")))
        guide.find(q("numeroGuiaOperadora")).text = numero


def rehash(ws: etree._Element) -> etree._Element:
    """The TISS hash, computed by the tests' own implementation (tests.tissclient.leaf_md5)."""
    ws.find(q("hash")).text = leaf_md5(ws)
    return ws


def lot_ws(
    guide_type: str,
    guides: list[G],
    numero_lote: str = "1001",
    *,
    provider: Provider = PROVIDER_A,
    version: str = "4.03.00",
    origem: Party | None = None,
    login: str | None = None,
    registro_ans: str = REGISTRO_ANS,
    guide_registro_ans: str | None = None,
    when: datetime = SENT,
    sequencial: str = "1",
) -> etree._Element:
    """A loteGuiasWS of `provider` with these guides, valid under the official schema of
    `version` (checked by `send`)."""
    sample = SampleLot(
        registro_ans=registro_ans,
        origem=origem or Party("CNPJ", provider.cnpj),
        numero_lote=numero_lote,
        guides=[SampleGuide(g.numero, g.carteira, g.valor, g.data) for g in guides],
        guide_type=guide_type if guide_type in (CONSULTA, SADT, ODONTO) else CONSULTA,
        version=version,
        login=login or provider.cnpj,
        senha_md5=provider.senha_md5,
        codigo_prestador=provider.code,
        sequencial=sequencial,
        when=when,
    )
    ws = lote_guias_ws(sample)
    guias = ws.find(f"{q('loteGuias')}/{q('guiasTISS')}")
    if guide_type in (INTERNACAO, HONORARIOS):
        for child in list(guias):
            guias.remove(child)
        writer = _internacao if guide_type == INTERNACAO else _honorarios
        for g in guides:
            writer(guias, registro_ans, provider.code, g, version)
    for element, g in zip(guias, guides, strict=True):
        if g.operadora and guide_type in (CONSULTA, SADT, ODONTO):
            _operadora_number(element, guide_type, g.operadora)
    if guide_registro_ans is not None:
        for el in guias.iter(q("registroANS")):
            el.text = guide_registro_ans
    return rehash(ws)


def padrao(message: etree._Element) -> str:
    return message.findtext(f"{q('cabecalho')}/{q('Padrao')}")


def send(client, message: etree._Element, *, service: str = LOTE) -> SoapAnswer:
    """POST a request the official schema of its version accepts; the answer is validated by
    `post`, and is never a schema fault or an unexpected server error."""
    version = padrao(message)
    schema = official_schema(version)
    assert schema.validate(message), f"the test's request is invalid: {schema.error_log}"
    answer = post(client, message, version=version, service=service)
    assert answer.tiss_fault not in ("ErroInesperadoServidor", "SchemaInvalido"), answer.faultstring
    return answer


def accepted(answer: SoapAnswer) -> str:
    assert not answer.is_fault, answer.faultstring
    assert answer.code is None, answer.text(".//ans:descricaoGlosa")
    assert answer.protocol
    return answer.protocol


def refused_in_body(answer: SoapAnswer, code: str) -> str:
    """A lot refused as the standard answers a valid message from a known provider: mensagemErro
    with the code, no protocol. Returns the description."""
    assert not answer.is_fault, answer.faultstring
    assert answer.protocol is None
    assert answer.code == code, answer.text(".//ans:descricaoGlosa")
    return answer.text(".//ans:mensagemErro/ans:descricaoGlosa") or ""


def count(gw, model, *where) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def last_message(gw) -> models.Message:
    with gw.db.reading() as s:
        return s.scalars(select(models.Message).order_by(models.Message.id.desc())).first()


def frozen(monkeypatch, gw, instant: datetime) -> None:
    """The gateway's clock at `instant` (UTC)."""
    monkeypatch.setattr(gw, "utcnow", lambda: instant)


@dataclass
class StoredLot:
    numero_lote: str
    version: str
    guide_type: str
    guide_count: int
    total_value: Decimal
    received_at: datetime
    provider_code: str
    guides: list[tuple] = field(default_factory=list)  # (numero, operadora, carteira, date, value)
    items: list[list[tuple]] = field(default_factory=list)  # per guide: (sequencial, value)
    messages: list[tuple] = field(default_factory=list)  # (outcome, raw_request) of its protocol


def stored(gw, protocolo: str) -> StoredLot:
    with gw.db.reading() as s:
        protocol = s.scalar(select(models.Protocol).where(models.Protocol.numero == protocolo))
        lot = protocol.lot
        code = s.scalar(
            select(models.Provider.codigo_na_operadora).where(models.Provider.id == lot.provider_id)
        )
        messages = s.scalars(
            select(models.Message)
            .where(models.Message.protocol_id == protocol.id)
            .order_by(models.Message.id)
        ).all()
        return StoredLot(
            lot.numero_lote,
            lot.version,
            lot.guide_type,
            lot.guide_count,
            lot.total_value,
            lot.received_at,
            code,
            [
                (
                    g.numero_guia_prestador,
                    g.numero_guia_operadora,
                    g.numero_carteira,
                    g.data_realizacao,
                    g.valor_informado,
                )
                for g in lot.guides
            ],
            [[(i.sequencial, i.valor_informado) for i in g.items] for g in lot.guides],
            [(m.outcome, m.raw_request) for m in messages],
        )


def expected_guides(guides: list[G]) -> list[tuple]:
    return [(g.numero, g.operadora, g.carteira, g.data, g.valor) for g in guides]


def listed(answer: SoapAnswer, path: str) -> list[tuple]:
    """(numero, operadora, carteira, date) of each guide an answer lists under `path`; the
    odontológico form has the card on the guide and no date."""
    return [
        (
            el.findtext(q("numeroGuiaPrestador")),
            el.findtext(q("numeroGuiaOperadora")),
            el.findtext(f".//{q('numeroCarteira')}"),
            el.findtext(q("dataRealizacao")),
        )
        for el in answer.payload.iterfind(path, NS)
    ]


def receipt_listing(answer: SoapAnswer) -> list[tuple]:
    return listed(answer, ".//ans:dadosGuiasProtocolo/*")


def query(provider: Provider = PROVIDER_A, *, version="4.03.00", origem=None, **kw):
    return SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=origem or Party("CNPJ", provider.cnpj),
        codigo_prestador=provider.code,
        version=version,
        login=kw.pop("login", None) or provider.cnpj,
        senha_md5=provider.senha_md5,
        **kw,
    )


def status_of(client, numero: str, provider: Provider = PROVIDER_A, **kw) -> SoapAnswer:
    answer = send(client, solicitacao_status_ws(query(provider, **kw), numero), service=STATUS)
    assert answer.code is None, answer.text(".//ans:descricaoGlosa")
    assert answer.text(".//ans:detalheLote/ans:numeroProtocolo") == numero
    return answer


def status_listing(answer: SoapAnswer) -> list[tuple]:
    return listed(answer, ".//ans:detalheLote/ans:guiasTISS/*/ans:guias")


def visible(guides: list[G], guide_type: str) -> list[tuple]:
    """What a receipt or status answer must list of each guide."""
    return [
        (g.numero, g.operadora, g.carteira, None if guide_type == ODONTO else g.data)
        for g in guides
    ]


# The largest value a guide can bill in each version: st_decimal10-2 from 4.02.00; in 4.01.00
# a procedure's value (a consulta's value, an item's) is st_decimal8-2.
LARGEST = {"4.01.00": Decimal("999999.99"), "4.02.00": Decimal("99999999.99")}
LARGEST["4.03.00"] = LARGEST["4.02.00"]


def three(prefix: str, version: str = "4.03.00") -> list[G]:
    """Three guides with distinct numbers, cards, days and values (the smallest, an ordinary
    one, the largest the version holds); the first with the operator's number."""
    return [
        G(f"{prefix}-1", "00000000000011", Decimal("150.10"), "2026-11-01", "AUT0000001"),
        G(f"{prefix}-2", "00000000000022", Decimal("0.01"), "2026-11-02"),
        G(f"{prefix}-3", "00000000000033", LARGEST[version], "2026-11-03"),
    ]


def add_person_provider(gw) -> None:
    add_provider(
        gw.db, cpf=DOCTOR_CPF, code=DOCTOR.code, name=DOCTOR.name, password=DOCTOR.password
    )


def add_alphanumeric_provider(gw) -> None:
    add_provider(gw.db, cnpj=ALPHA.cnpj, code=ALPHA.code, name=ALPHA.name, password=ALPHA.password)


# --- each guide type, each version, end to end ----------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("guide_type", GUIDE_TYPES)
def test_a_lot_of_each_type_is_received_stored_and_queried(client, gw, guide_type, version):
    guides = three(guide_type[4:8].upper(), version)
    total = sum(g.valor for g in guides)
    answer = send(client, lot_ws(guide_type, guides, "E2E-1", version=version))
    numero = accepted(answer)

    assert answer.text("ans:cabecalho/ans:Padrao") == version
    assert answer.text(".//ans:protocoloRecebimento/ans:registroANS") == REGISTRO_ANS
    assert answer.text(".//ans:protocoloRecebimento/ans:numeroLote") == "E2E-1"
    assert answer.text(".//ans:valorTotalProtocolo") == str(total)
    assert receipt_listing(answer) == visible(guides, guide_type)

    lot = stored(gw, numero)
    assert (lot.numero_lote, lot.version, lot.guide_type, lot.guide_count) == (
        "E2E-1",
        version,
        guide_type,
        3,
    )
    assert lot.total_value == total
    assert lot.guides == expected_guides(guides)
    if guide_type != CONSULTA:  # two items each, their values the guide's halves
        assert [sum(v for _, v in items) for items in lot.items] == [g.valor for g in guides]
    assert [outcome for outcome, _ in lot.messages] == ["accepted"]

    status = status_of(client, numero, version=version)
    assert status.text("ans:cabecalho/ans:Padrao") == version
    assert status.text(".//ans:detalheLote/ans:statusProtocolo") == "1"
    assert status.text(".//ans:detalheLote/ans:numeroLote") == "E2E-1"
    assert status_listing(status) == visible(guides, guide_type)


def test_the_back_office_lists_every_type_with_its_guides_and_values(client, gw, server_url, staff):
    sent = {}
    for n, guide_type in enumerate(GUIDE_TYPES):
        guides = three(f"BO{n}")
        sent[accepted(send(client, lot_ws(guide_type, guides, f"BO-{n}")))] = (guide_type, guides)
    bo = make_client(server_url)[0].service

    lots = {lot.numeroProtocolo: lot for lot in bo.listarLotes(desde=EPOCH).lote}
    assert set(lots) == set(sent)
    for numero, (guide_type, guides) in sent.items():
        lot = lots[numero]
        assert (lot.tipoGuia, lot.quantidadeGuias, lot.codigoPrestador, lot.versao) == (
            guide_type,
            3,
            PROVIDER_A.code,
            "4.03.00",
        )
        assert lot.valorTotalInformado == Decimal("100000150.10")
        protocolo = bo.obterProtocolo(numeroProtocolo=numero)
        assert protocolo.status == 1 and protocolo.tipoGuia == guide_type
        assert [
            (g.numeroGuiaPrestador, g.numeroGuiaOperadora, g.numeroCarteira, g.valorInformado)
            for g in protocolo.guia
        ] == [(g.numero, g.operadora, g.carteira, g.valor) for g in guides]


# --- guide numbers met before ---------------------------------------------------------------------


@pytest.mark.parametrize("guide_type", [SADT, HONORARIOS])
def test_the_same_guide_number_twice_in_one_lot_is_1308(client, gw, guide_type):
    guides = [G("DUP-1"), G("DUP-2", valor=Decimal("10.00")), G("DUP-1", valor=Decimal("20.00"))]
    answer = send(client, lot_ws(guide_type, guides, "DUP"))
    assert "DUP-1" in refused_in_body(answer, "1308")
    assert count(gw, models.Lot) == 0 and count(gw, models.Guide) == 0


@pytest.mark.parametrize("guide_type", [CONSULTA, INTERNACAO, ODONTO])
def test_a_guide_presented_in_an_earlier_lot_is_1308(client, gw, guide_type):
    first = accepted(send(client, lot_ws(guide_type, [G("G-1"), G("G-2")], "L1")))
    before = stored(gw, first)
    # A new lot number, one new guide and one of the first lot's, billed again.
    again = send(client, lot_ws(guide_type, [G("G-3"), G("G-2", valor=Decimal("99.00"))], "L2"))
    assert "G-2" in refused_in_body(again, "1308")
    assert count(gw, models.Lot) == 1 and count(gw, models.Protocol) == 1
    assert stored(gw, first).guides == before.guides
    assert last_message(gw).outcome == "rejected" and last_message(gw).codes == "1308"


def test_an_operator_that_takes_re_presentations_receives_the_guide_again(client, gw, monkeypatch):
    """TISS_REFUSE_PRESENTED_GUIDES=false: the guide is left to the analysis."""
    monkeypatch.setattr(gw, "settings", replace(gw.settings, refuse_presented_guides=False))
    first = accepted(send(client, lot_ws(SADT, [G("R-1")], "R1")))
    again = accepted(send(client, lot_ws(SADT, [G("R-1", valor=Decimal("99.00"))], "R2")))
    assert first != again and count(gw, models.Lot) == 2


def test_the_same_guide_number_from_another_provider_is_another_guide(client, gw):
    guides_a = [G("HOSP-0001", "00000000000011", Decimal("100.00"))]
    guides_b = [G("HOSP-0001", "00000000000022", Decimal("200.00"))]
    a = accepted(send(client, lot_ws(SADT, guides_a, "500")))
    b = accepted(send(client, lot_ws(SADT, guides_b, "500", provider=PROVIDER_B)))
    assert a != b
    assert stored(gw, a).guides == expected_guides(guides_a)
    assert stored(gw, b).guides == expected_guides(guides_b)
    assert (stored(gw, a).provider_code, stored(gw, b).provider_code) == (
        PROVIDER_A.code,
        PROVIDER_B.code,
    )
    # Each provider's status query lists its own guide, with its own card.
    assert status_listing(status_of(client, a)) == visible(guides_a, SADT)
    assert status_listing(status_of(client, b, PROVIDER_B)) == visible(guides_b, SADT)


def test_a_guide_of_a_cancelled_protocol_may_be_presented_again(client, gw, server_url, staff):
    first = accepted(send(client, lot_ws(SADT, [G("C-1")], "C1")))
    bo = make_client(server_url)[0].service
    bo.alterarStatusProtocolo(numeroProtocolo=first, novoStatus=9, motivo="lote enviado errado")
    again = accepted(send(client, lot_ws(SADT, [G("C-1", valor=Decimal("120.00"))], "C2")))
    assert again != first
    assert stored(gw, again).guides == expected_guides([G("C-1", valor=Decimal("120.00"))])


# --- resends and lot numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("guide_type", GUIDE_TYPES)
def test_an_identical_resend_gets_the_same_receipt_and_is_archived(
    client, gw, monkeypatch, guide_type
):
    guides = three("R")
    frozen(monkeypatch, gw, datetime(2026, 11, 22, 2, 50, tzinfo=UTC))  # 23:50 in Brasília
    first = send(client, lot_ws(guide_type, guides, "RS-1", when=datetime(2026, 11, 21, 23, 50)))
    numero = accepted(first)
    # Past midnight, after a timeout, the provider's system sends the lot again with a new
    # transaction header.
    frozen(monkeypatch, gw, datetime(2026, 11, 22, 3, 10, tzinfo=UTC))
    resent = lot_ws(guide_type, guides, "RS-1", sequencial="2", when=datetime(2026, 11, 22, 0, 10))
    again = send(client, resent)
    assert accepted(again) == numero
    # The same receipt, byte for byte below the cabecalho (the first day's dataEnvioLote; the
    # guides read back from the database are those the first receipt listed).
    receipt = ".//ans:protocoloRecebimento"
    assert etree.tostring(again.payload.find(receipt, NS)) == etree.tostring(
        first.payload.find(receipt, NS)
    )
    assert count(gw, models.Lot) == 1 and count(gw, models.Protocol) == 1
    assert count(gw, models.Guide) == 3
    lot = stored(gw, numero)
    assert [outcome for outcome, _ in lot.messages] == ["accepted", "duplicate"]
    assert lot.messages[1][1] == envelope(resent)


def test_a_resend_in_the_other_version_in_force_gets_the_same_protocol(client, gw):
    guides = three("V")
    numero = accepted(send(client, lot_ws(SADT, guides, "VER-1", version="4.02.00")))
    again = send(client, lot_ws(SADT, guides, "VER-1", version="4.03.00", sequencial="2"))
    assert accepted(again) == numero
    assert again.text("ans:cabecalho/ans:Padrao") == "4.03.00"
    assert stored(gw, numero).version == "4.02.00"  # the lot as first received


@pytest.mark.parametrize(
    "change",
    ["another guide type", "one guide more", "another card"],
)
def test_the_same_lot_number_with_other_content_is_5053(client, gw, change):
    guides = [G("N-1"), G("N-2")]
    first = accepted(send(client, lot_ws(HONORARIOS, guides, "77")))
    changed = {
        "another guide type": lambda: lot_ws(INTERNACAO, guides, "77"),
        "one guide more": lambda: lot_ws(HONORARIOS, [*guides, G("N-3")], "77"),
        "another card": lambda: lot_ws(HONORARIOS, [G("N-1"), G("N-2", "99999")], "77"),
    }[change]()
    assert "77" in refused_in_body(send(client, changed), "5053")
    assert count(gw, models.Lot) == 1
    assert stored(gw, first).guides == expected_guides(guides)
    assert last_message(gw).codes == "5053"


def test_lot_numbers_are_text_leading_zeros_make_another_lot(client, gw):
    padded = accepted(send(client, lot_ws(CONSULTA, [G("Z-1")], "0042")))
    plain = send(client, lot_ws(CONSULTA, [G("Z-2")], "42"))
    assert accepted(plain) != padded
    assert stored(gw, padded).numero_lote == "0042"
    assert stored(gw, accepted(plain)).numero_lote == "42"
    assert plain.text(".//ans:protocoloRecebimento/ans:numeroLote") == "42"
    assert status_of(client, padded).text(".//ans:detalheLote/ans:numeroLote") == "0042"


def test_spaces_around_a_lot_number_are_not_part_of_it(client, gw):
    """Padded by a fixed-width export: the same lot number, so a resend is recognised."""
    numero = accepted(send(client, lot_ws(CONSULTA, [G("S-1")], "  0042 ")))
    assert stored(gw, numero).numero_lote == "0042"
    again = send(client, lot_ws(CONSULTA, [G("S-1")], "0042", sequencial="2"))
    assert accepted(again) == numero
    assert again.text(".//ans:protocoloRecebimento/ans:numeroLote") == "0042"


# --- the 100-guide limit --------------------------------------------------------------------------


@pytest.mark.parametrize("guide_type", [INTERNACAO, HONORARIOS, ODONTO])
def test_exactly_100_guides_of_each_remaining_type_are_accepted(client, gw, guide_type):
    guides = [G(f"C{n:03d}", valor=Decimal("1.01")) for n in range(1, 101)]
    answer = send(client, lot_ws(guide_type, guides, "CEM"))
    numero = accepted(answer)
    assert answer.text(".//ans:valorTotalProtocolo") == "101.00"
    assert [n for n, *_ in receipt_listing(answer)] == [g.numero for g in guides]
    lot = stored(gw, numero)
    assert lot.guide_count == 100 and lot.total_value == Decimal("101.00")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("guide_type", [INTERNACAO, HONORARIOS, ODONTO])
def test_101_guides_of_each_remaining_type_are_5015(client, gw, guide_type, version):
    guides = [G(f"C{n:03d}") for n in range(1, 102)]
    ws = lot_ws(guide_type, guides, "CENTO1", version=version)
    # The official schema refuses the 101st guide (maxOccurs 100): without it the lot is valid.
    assert not official_schema(version).validate(ws)
    shorter = lot_ws(guide_type, guides[:100], "CENTO1", version=version)
    assert official_schema(version).validate(shorter), official_schema(version).error_log
    answer = post(client, ws, version=version)
    assert "101" in refused_in_body(answer, "5015")
    assert count(gw, models.Lot) == 0 and count(gw, models.Guide) == 0
    assert last_message(gw).codes == "5015"


# --- beneficiaries --------------------------------------------------------------------------------

ACTIVE, LEFT = "1111", "2222"


def test_unknown_and_departed_beneficiaries_are_judged_in_the_analysis_not_at_reception(client, gw):
    upsert_beneficiaries(
        gw.db,
        [
            BeneficiaryData(ACTIVE, "Maria Ativa", "Ouro", "ativo", date(2020, 1, 1)),
            BeneficiaryData(
                LEFT, "João Desligado", "Prata", "cancelado", date(2019, 1, 1), date(2025, 1, 31)
            ),
        ],
    )
    # The registry knows what it should: the unknown card is 1001, the departed one 1006.
    unknown = send(
        client, pedido_elegibilidade_ws(query(), "99999999"), service="tissVerificaElegibilidade"
    )
    assert unknown.text(".//ans:codigoGlosa/ans:codigoGlosa") == "1001"
    departed = send(
        client, pedido_elegibilidade_ws(query(), LEFT), service="tissVerificaElegibilidade"
    )
    assert "1006" in [
        e.text for e in departed.payload.iterfind(".//ans:motivoNegativa/ans:codigoGlosa", NS)
    ]

    guides = [
        G("B-1", ACTIVE, data="2026-11-03"),
        G("B-2", "99999999", data="2026-11-03"),  # not in the registry
        G("B-3", LEFT, data="2026-11-03"),  # left on 2025-01-31
    ]
    answer = send(client, lot_ws(SADT, guides, "BEN"))
    numero = accepted(answer)
    assert receipt_listing(answer) == visible(guides, SADT)
    assert stored(gw, numero).guides == expected_guides(guides)


# --- values at the edges --------------------------------------------------------------------------


@pytest.mark.parametrize("guide_type", GUIDE_TYPES)
def test_guides_of_zero_and_of_the_largest_value(client, gw, guide_type):
    guides = [G("V-0", valor=Decimal("0.00")), G("V-MAX", valor=Decimal("99999999.99"))]
    answer = send(client, lot_ws(guide_type, guides, "VAL"))
    numero = accepted(answer)
    assert answer.text(".//ans:valorTotalProtocolo") == "99999999.99"
    assert [v for *_, v in stored(gw, numero).guides] == [Decimal("0.00"), Decimal("99999999.99")]


def test_a_guide_of_many_items_keeps_every_item(client, gw):
    ws = lot_ws(SADT, [G("MANY", valor=Decimal("999.00"))], "ITENS")
    procs = ws.find(f".//{q('procedimentosExecutados')}")
    for child in list(procs):
        procs.remove(child)
    for seq in range(1, 1000):
        _item(_sub(procs, "procedimentoExecutado"), seq, "2026-11-03", "40301630", Decimal("1.00"))
    numero = accepted(send(client, rehash(ws)))
    (items,) = stored(gw, numero).items
    assert items == [(seq, Decimal("1.00")) for seq in range(1, 1000)]


@pytest.mark.parametrize("sequencial", ["1", "9999"])
def test_a_repeated_sequencial_item_is_refused_or_reported_as_sent(client, gw, sequencial):
    """Two items of one guide with the same sequencialItem (the schema allows it). Refusing the
    lot is one correct answer; keeping it is another, if every answer about it still names the
    items as the provider did."""
    ws = lot_ws(SADT, [G("SEQ", valor=Decimal("100.00"))], "SEQ")
    for seq in ws.iter(q("sequencialItem")):
        seq.text = sequencial
    answer = send(client, rehash(ws))
    if answer.protocol is None:
        assert not answer.is_fault and codes.is_known(answer.code)
        assert count(gw, models.Lot) == 0
        return
    analyse(gw, answer.protocol, item_glosa=None)
    statement = send(
        client,
        solicitacao_demonstrativo_analise_ws(query(), [answer.protocol]),
        service="tissSolicitacaoDemonstrativoRetorno",
    )
    assert statement.payload.find(".//ans:demonstrativoAnaliseConta", NS) is not None
    reported = {e.text for e in statement.payload.iterfind(".//ans:sequencialItem", NS)}
    assert reported == {sequencial}


# --- who sends ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_provider_named_by_its_code_or_its_cpf(client, gw, version):
    add_person_provider(gw)
    by_cpf = send(
        client,
        lot_ws(
            CONSULTA,
            [G("PF-1")],
            "PF1",
            provider=DOCTOR,
            version=version,
            origem=Party("CPF", DOCTOR_CPF),
            login=DOCTOR_CPF,
        ),
    )
    assert by_cpf.text("ans:cabecalho/ans:destino/ans:identificacaoPrestador/ans:CPF") == (
        DOCTOR_CPF
    )
    assert stored(gw, accepted(by_cpf)).provider_code == DOCTOR.code
    by_code = send(
        client,
        lot_ws(
            SADT,
            [G("PJ-1")],
            "PJ1",
            version=version,
            origem=Party("codigoPrestadorNaOperadora", PROVIDER_A.code),
        ),
    )
    assert (
        by_code.text(
            "ans:cabecalho/ans:destino/ans:identificacaoPrestador/ans:codigoPrestadorNaOperadora"
        )
        == PROVIDER_A.code
    )
    assert stored(gw, accepted(by_code)).provider_code == PROVIDER_A.code


def test_a_cpf_that_is_not_the_logged_in_provider_is_refused(client, gw):
    add_person_provider(gw)
    # Provider A's login, with the doctor's CPF as origem.
    answer = send(client, lot_ws(SADT, [G("X-1")], "X1", origem=Party("CPF", DOCTOR_CPF)))
    assert answer.tiss_fault == "RemetenteInvalido" and answer.code == "5005"
    assert count(gw, models.Lot) == 0


def test_an_alphanumeric_cnpj_sends_in_4_03_00_and_by_its_code_in_4_02_00(client, gw):
    add_alphanumeric_provider(gw)
    guides = [G("ALFA-1", valor=Decimal("10.00"))]
    answer = send(client, lot_ws(ODONTO, guides, "ALFA1", provider=ALPHA))
    numero = accepted(answer)
    assert answer.text("ans:cabecalho/ans:destino/ans:identificacaoPrestador/ans:CNPJ") == (
        ALPHA.cnpj
    )
    assert answer.text(".//ans:dadosPrestador/ans:codigoPrestadorNaOperadora") == ALPHA.code
    assert stored(gw, numero).provider_code == ALPHA.code
    assert status_listing(status_of(client, numero, ALPHA)) == visible(guides, ODONTO)

    older = send(
        client,
        lot_ws(
            ODONTO,
            [G("ALFA-2")],
            "ALFA2",
            provider=ALPHA,
            version="4.02.00",
            origem=Party("codigoPrestadorNaOperadora", ALPHA.code),
        ),
    )
    assert older.text("ans:cabecalho/ans:Padrao") == "4.02.00"
    assert stored(gw, accepted(older)).provider_code == ALPHA.code


# --- to whom --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_lot_for_another_operator_is_5027(client, gw, version):
    answer = send(client, lot_ws(SADT, [G("O-1")], "OP1", version=version, registro_ans="999999"))
    assert answer.tiss_fault == "DestinatarioInvalido" and answer.code == "5027"
    assert count(gw, models.Lot) == 0
    assert last_message(gw).codes == "5027"


def test_a_lot_addressed_to_a_provider_is_5006(client, gw):
    ws = lot_ws(SADT, [G("O-2")], "OP2")
    destino = ws.find(f"{q('cabecalho')}/{q('destino')}")
    destino.remove(destino[0])
    _sub(_sub(destino, "identificacaoPrestador"), "CNPJ", PROVIDER_B.cnpj)
    answer = send(client, rehash(ws))
    assert answer.tiss_fault == "DestinatarioInvalido" and answer.code == "5006"
    assert count(gw, models.Lot) == 0


@pytest.mark.parametrize("guide_type", [CONSULTA, HONORARIOS, ODONTO])
def test_guides_billed_to_another_operator_are_5027(client, gw, guide_type):
    ws = lot_ws(guide_type, [G("RA-1"), G("RA-2")], "RA", guide_registro_ans="999999")
    answer = send(client, ws)
    assert answer.code == "5027" and answer.protocol is None
    assert count(gw, models.Lot) == 0


# --- the transaction's date and Brazil's midnight -------------------------------------------------


# (gateway's clock in UTC, the sender's cabecalho, the day in Brazil (Brasília) at that instant)
MIDNIGHT = {
    "Brasília 23:59:59, already the next day in UTC": (
        datetime(2026, 11, 22, 2, 59, 59, tzinfo=UTC),
        datetime(2026, 11, 21, 23, 59, 59),
        "2026-11-21",
    ),
    "Brasília 00:00:00": (
        datetime(2026, 11, 22, 3, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 0, 0, 0),
        "2026-11-22",
    ),
    "a sender whose clock is in UTC, a day ahead of Brasília": (
        datetime(2026, 11, 22, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 1, 0, 0),
        "2026-11-21",
    ),
    "Acre (UTC-5), still the day before, past midnight in Brasília": (
        datetime(2026, 11, 22, 4, 30, 0, tzinfo=UTC),
        datetime(2026, 11, 21, 23, 30, 0),
        "2026-11-22",
    ),
    "Fernando de Noronha (UTC-2), past midnight before Brasília": (
        datetime(2026, 11, 22, 2, 30, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 0, 30, 0),
        "2026-11-21",
    ),
}


@pytest.mark.parametrize("case", list(MIDNIGHT))
def test_the_transaction_date_around_midnight_is_accepted_and_dates_are_brazilian(
    client, gw, server_url, staff, monkeypatch, case
):
    now, sender_clock, brazil_day = MIDNIGHT[case]
    frozen(monkeypatch, gw, now)
    guides = [G("M-1", data="2026-11-20")]
    answer = send(client, lot_ws(CONSULTA, guides, "MEIA", when=sender_clock))
    numero = accepted(answer)
    # The receipt's dates are the operator's clock, in Brazilian civil time, not the sender's.
    assert answer.text(".//ans:protocoloRecebimento/ans:dataEnvioLote") == brazil_day
    assert answer.text("ans:cabecalho/ans:identificacaoTransacao/ans:dataRegistroTransacao") == (
        brazil_day
    )
    assert answer.text(
        "ans:cabecalho/ans:identificacaoTransacao/ans:horaRegistroTransacao"
    ) == now.astimezone(BRASILIA).strftime("%H:%M:%S")
    assert stored(gw, numero).received_at == now
    assert status_of(client, numero).text(".//ans:detalheLote/ans:dataEnvioLote") == brazil_day
    bo = make_client(server_url)[0].service
    assert bo.obterProtocolo(numeroProtocolo=numero).recebidoEm == now


# (gateway's clock, the sender's cabecalho)
IMPOSSIBLE_DATES = {
    "ten years ahead": (
        datetime(2026, 11, 21, 13, 30, tzinfo=UTC),
        datetime(2036, 11, 21, 10, 30),
    ),
    "two days ahead of every Brazilian zone": (
        datetime(2026, 11, 21, 13, 30, tzinfo=UTC),
        datetime(2026, 11, 23, 10, 30),
    ),
    "before the care the lot bills": (
        datetime(2026, 11, 21, 13, 30, tzinfo=UTC),
        datetime(2026, 1, 1, 10, 30),
    ),
}


@pytest.mark.parametrize("case", list(IMPOSSIBLE_DATES))
def test_an_impossible_transaction_date_is_5025(client, gw, monkeypatch, case):
    now, sender_clock = IMPOSSIBLE_DATES[case]
    frozen(monkeypatch, gw, now)
    answer = send(client, lot_ws(SADT, [G("F-1", data="2026-11-03")], "FUT", when=sender_clock))
    assert answer.code == "5025" and answer.protocol is None
    assert count(gw, models.Lot) == 0
