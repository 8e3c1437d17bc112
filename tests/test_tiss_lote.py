"""Reading lots of guides (gateway.tiss.lote) and table-38 codes (gateway.tiss.codes)."""

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from gateway.tiss import codes, samples
from gateway.tiss.header import Party
from gateway.tiss.lote import (
    GUIDE_TYPES,
    MAX_GUIDES_PER_LOT,
    Lot,
    content_digest,
    count_guides,
    guides_element,
    read_guide,
    read_lot,
)
from gateway.tiss.namespaces import ANS, q
from gateway.tiss.schemas import builtin_sets
from gateway.tiss.xmlsafe import parse_untrusted
from tests.tissclient import item_values

OFFICIAL = Path(__file__).resolve().parents[2] / "shared" / "tiss" / "schemas"
XS = {"xs": "http://www.w3.org/2001/XMLSchema"}


def make_lot(guides, guide_type="guiaConsulta", **kw) -> samples.SampleLot:
    kw.setdefault("numero_lote", "LOTE42")
    return samples.SampleLot(
        "123456", Party("CNPJ", "12345678000195"), guides=guides, guide_type=guide_type, **kw
    )


def lote_of(ws: etree._Element) -> etree._Element:
    return ws.find(q("loteGuias"))


def wire(ws: etree._Element, *, pretty: bool, encoding: str = "UTF-8") -> etree._Element:
    """Serialize and parse back as the gateway would receive it."""
    data = etree.tostring(ws, pretty_print=pretty, encoding=encoding, xml_declaration=True)
    return parse_untrusted(data).root


MIXED = [
    samples.SampleGuide(
        "G1", carteira="00000000000001", valor=Decimal("100.10"), data="2026-10-01"
    ),
    samples.SampleGuide(
        "G2", carteira="00000000000002", valor=Decimal("200.20"), data="2026-10-02"
    ),
    samples.SampleGuide("G3", carteira="00000000000003", valor=Decimal("0.01"), data="2026-10-31"),
]


# ---------------------------------------------------------------------------------- read_lot


@pytest.mark.parametrize("guide_type", ["guiaConsulta", "guiaSP-SADT"])
def test_read_lot_on_samples(guide_type):
    ws = wire(samples.lote_guias_ws(make_lot(MIXED, guide_type)), pretty=True)
    lot = read_lot(lote_of(ws))
    assert isinstance(lot, Lot)
    assert lot.numero_lote == "LOTE42"
    assert lot.guide_type == guide_type
    assert [g.guide_type for g in lot.guides] == [guide_type] * 3
    assert [g.numero_guia_prestador for g in lot.guides] == ["G1", "G2", "G3"]
    assert [g.numero_carteira for g in lot.guides] == [
        "00000000000001",
        "00000000000002",
        "00000000000003",
    ]
    assert [g.data_realizacao for g in lot.guides] == ["2026-10-01", "2026-10-02", "2026-10-31"]
    assert [g.valor_informado for g in lot.guides] == [
        Decimal("100.10"),
        Decimal("200.20"),
        Decimal("0.01"),
    ]
    assert all(g.atendimento_rn == "N" for g in lot.guides)
    assert all(g.numero_guia_operadora is None for g in lot.guides)


@pytest.mark.parametrize("guide_type", ["guiaConsulta", "guiaSP-SADT"])
def test_total_is_an_exact_decimal_sum(guide_type):
    lot = read_lot(lote_of(samples.lote_guias_ws(make_lot(MIXED, guide_type))))
    assert isinstance(lot.total, Decimal)
    assert lot.total == Decimal("300.31")
    assert str(lot.total) == "300.31"
    # the same thing in floats would not be exact
    assert 100.10 + 200.20 + 0.01 != 300.31

    dimes = [samples.SampleGuide(f"D{i}", valor=Decimal("0.10")) for i in range(3)]
    lot = read_lot(lote_of(samples.lote_guias_ws(make_lot(dimes, guide_type))))
    assert lot.total == Decimal("0.30") and str(lot.total) == "0.30"


def test_total_of_a_full_lot():
    ws = samples.lote_guias_ws(make_lot(samples.guides(100, valor=Decimal("33.33"))))
    lot = read_lot(lote_of(ws))
    assert len(lot.guides) == 100
    assert lot.total == Decimal("3333.00")
    assert lot.guides[-1].numero_guia_prestador == "G000100"


def test_sp_sadt_value_is_the_guide_total_and_date_the_first_execution():
    ws = samples.lote_guias_ws(make_lot([MIXED[0]], "guiaSP-SADT"))
    guide = ws.find(f".//{q('guiaSP-SADT')}")
    dates = guide.findall(f".//{q('dataExecucao')}")
    assert len(dates) == 2
    dates[1].text = "2026-12-31"
    # item values are halves of the total; the guide value must be valorTotalGeral
    read = read_guide(guide)
    assert read.valor_informado == Decimal("100.10")
    assert read.data_realizacao == "2026-10-01"


def test_numero_guia_operadora_is_read_where_each_guide_type_keeps_it():
    consulta = samples.lote_guias_ws(make_lot([MIXED[0]]))
    guia = consulta.find(f".//{q('guiaConsulta')}")
    op = etree.Element(q("numeroGuiaOperadora"))
    op.text = "OPER123"
    guia.find(q("cabecalhoConsulta")).addnext(op)
    assert read_guide(guia).numero_guia_operadora == "OPER123"

    sadt = samples.lote_guias_ws(make_lot([MIXED[0]], "guiaSP-SADT"))
    guia = sadt.find(f".//{q('guiaSP-SADT')}")
    aut = etree.Element(q("dadosAutorizacao"))
    etree.SubElement(aut, q("numeroGuiaOperadora")).text = "AUT999"
    etree.SubElement(aut, q("dataAutorizacao")).text = "2026-10-01"
    guia.find(q("cabecalhoGuia")).addnext(aut)
    assert read_guide(guia).numero_guia_operadora == "AUT999"
    sadt.find(q("hash")).text = "0" * 32
    assert official_4_03().validate(sadt) == []  # the edited guide is still official TISS


def test_values_and_texts_are_trimmed_and_bad_values_read_as_zero():
    ws = samples.lote_guias_ws(make_lot([MIXED[0], MIXED[1]]))
    first, second = ws.findall(f".//{q('guiaConsulta')}")
    first.find(f".//{q('valorProcedimento')}").text = " 12.5 "
    first.find(f".//{q('numeroCarteira')}").text = "  CART  "
    second.find(f".//{q('valorProcedimento')}").text = "doze"
    assert read_guide(first).valor_informado == Decimal("12.50")
    assert str(read_guide(first).valor_informado) == "12.50"  # quantized to cents
    assert read_guide(first).numero_carteira == "CART"
    assert read_guide(second).valor_informado == Decimal("0.00")


def test_read_lot_of_an_empty_lot():
    lote = etree.fromstring(
        f'<ans:loteGuias xmlns:ans="{ANS}"><ans:numeroLote>1</ans:numeroLote></ans:loteGuias>'
    )
    lot = read_lot(lote)
    assert lot.numero_lote == "1" and lot.guide_type == "" and lot.guides == []
    assert lot.total == Decimal("0.00")
    assert count_guides(lote) == 0
    assert guides_element(lote) is None


def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    """A TISS element written by hand into a guide."""
    el = etree.SubElement(parent, q(name))
    el.text = text
    return el


def official_4_03():
    return [x for x in builtin_sets() if x.version == "4.03.00"][0]


def empty_lot(numero_lote: str) -> tuple[etree._Element, etree._Element]:
    """A 4.03.00 loteGuiasWS and its guiasTISS, emptied for guides written by hand."""
    ws = samples.lote_guias_ws(make_lot(samples.guides(1), numero_lote=numero_lote))
    guias = ws.find(f"{q('loteGuias')}/{q('guiasTISS')}")
    for child in list(guias):
        guias.remove(child)
    return ws, guias


def write_item(proc, seq, data, codigo, descricao, qtd, unitario, valor) -> etree._Element:
    """An executed procedure (ct_procedimentoExecutado's fields, in the schema's order)."""
    sub(proc, "sequencialItem", seq)
    sub(proc, "dataExecucao", data)
    dados = sub(proc, "procedimento")
    sub(dados, "codigoTabela", "22")
    sub(dados, "codigoProcedimento", codigo)
    sub(dados, "descricaoProcedimento", descricao)
    sub(proc, "quantidadeExecutada", qtd)
    sub(proc, "reducaoAcrescimo", "1.00")
    sub(proc, "valorUnitario", unitario)
    sub(proc, "valorTotal", valor)
    return proc


def odonto_lot() -> etree._Element:
    """A schema-valid 4.03.00 loteGuiasWS with two guiaOdonto, written by hand."""
    ws, guias = empty_lot("ODO1")

    for i, (valor, carteira, data) in enumerate(
        [("80.00", "CART0001", "2026-11-01"), ("120.50", "CART0002", "2026-11-02")], start=1
    ):
        g = sub(guias, "guiaOdonto")
        sub(g, "registroANS", "123456")
        sub(g, "numeroGuiaPrestador", f"OD{i:06d}")
        sub(g, "numeroGuiaOperadora", f"OP{i:06d}")
        ben = sub(g, "dadosBeneficiario")
        sub(ben, "numeroCarteira", carteira)
        sub(ben, "atendimentoRN", "N")
        sub(g, "planoBeneficiario", "PLANO ODONTO")
        prof = sub(g, "dadosProfissionaisResponsaveis")
        for name, text in [
            ("codigoProfExec", "PROF01"),
            ("croExec", "12345"),
            ("ufExec", "35"),
            ("cnesExec", "2077485"),
            ("cbosExec2", "223208"),
        ]:
            sub(prof, name, text)
        proc = sub(g, "procedimentosExecutados")
        sub(proc, "sequencialItem", "1")
        solic = sub(proc, "procSolic")
        sub(solic, "codigoTabela", "22")
        sub(solic, "codigoProcedimento", "81000065")
        sub(solic, "descricaoProcedimento", "CONSULTA ODONTOLÓGICA")
        sub(proc, "qtdProc", "1")
        sub(proc, "valorProc", valor)
        sub(proc, "autorizado", "true")
        sub(proc, "dataRealizacao", data)
        sub(g, "tipoAtendimento", "1")
        sub(g, "tipoFaturamento", "4")
        sub(g, "valorTotalProc", valor)
    return ws


def test_odonto_lot_carteira_value_and_date():
    ws = odonto_lot()
    assert official_4_03().validate(ws) == []  # what the next tests read is official TISS
    lot = read_lot(lote_of(ws))
    assert lot.guide_type == "guiaOdonto"
    assert [g.numero_carteira for g in lot.guides] == ["CART0001", "CART0002"]
    assert [g.numero_guia_operadora for g in lot.guides] == ["OP000001", "OP000002"]
    assert [g.data_realizacao for g in lot.guides] == ["2026-11-01", "2026-11-02"]
    assert lot.total == Decimal("200.50")


def test_odonto_guide_numbers_are_read():
    lot = read_lot(lote_of(odonto_lot()))
    assert [g.numero_guia_prestador for g in lot.guides] == ["OD000001", "OD000002"]


def resumo_internacao_lot() -> etree._Element:
    """A schema-valid 4.03.00 loteGuiasWS with two guiaResumoInternacao, written by hand.

    The authorization date precedes dataInicioFaturamento, and every item's valorTotal differs
    from the guide's valorTotalGeral, so that a wrong path reads another value."""
    ws, guias = empty_lot("INT1")

    guides = [
        # numero, operadora, carteira, RN, autorizacao, inicio, fim, total, items
        (
            "RI000001",
            "AUTINT01",
            "CARTINT01",
            "S",
            "2026-09-20",
            "2026-09-21",
            "2026-09-25",
            ("725.75", "508.81", "1234.56"),
            [
                ("1", "2026-09-22", "30602238", "MASTECTOMIA SIMPLES", "1", "500.00", "500.00"),
                ("2", "2026-09-23", "40301630", "CREATININA", "3", "75.25", "225.75"),
            ],
        ),
        (
            "RI000002",
            None,
            "CARTINT02",
            "N",
            "2026-10-05",
            "2026-10-06",
            "2026-10-09",
            ("880.40", "1119.70", "2000.10"),
            [("5", "2026-10-07", "31009336", "APENDICECTOMIA", "2", "440.20", "880.40")],
        ),
    ]
    for numero, operadora, carteira, rn, autorizada, inicio, fim, totals, items in guides:
        g = sub(guias, "guiaResumoInternacao")
        cab = sub(g, "cabecalhoGuia")
        sub(cab, "registroANS", "123456")
        sub(cab, "numeroGuiaPrestador", numero)
        sub(g, "numeroGuiaSolicitacaoInternacao", f"SOL{numero}")
        aut = sub(g, "dadosAutorizacao")
        if operadora:
            sub(aut, "numeroGuiaOperadora", operadora)
        sub(aut, "dataAutorizacao", autorizada)
        sub(aut, "senha", f"SENHA{numero}")
        ben = sub(g, "dadosBeneficiario")
        sub(ben, "numeroCarteira", carteira)
        sub(ben, "atendimentoRN", rn)
        exe = sub(g, "dadosExecutante")
        sub(sub(exe, "contratadoExecutante"), "codigoPrestadorNaOperadora", "HOSP001")
        sub(exe, "CNES", "2077485")
        internacao = sub(g, "dadosInternacao")
        for name, text in [
            ("caraterAtendimento", "1"),
            ("tipoFaturamento", "4"),
            ("dataInicioFaturamento", inicio),
            ("horaInicioFaturamento", "08:00:00"),
            ("dataFinalFaturamento", fim),
            ("horaFinalFaturamento", "10:00:00"),
            ("tipoInternacao", "2"),
            ("regimeInternacao", "1"),
        ]:
            sub(internacao, name, text)
        saida = sub(g, "dadosSaidaInternacao")
        sub(saida, "indicadorAcidente", "9")
        sub(saida, "motivoEncerramento", "11")
        procs = sub(g, "procedimentosExecutados")
        for item in items:
            write_item(sub(procs, "procedimentoExecutado"), *item)
        total = sub(g, "valorTotal")
        sub(total, "valorProcedimentos", totals[0])
        sub(total, "valorDiarias", totals[1])
        sub(total, "valorTotalGeral", totals[2])
    return ws


def test_resumo_internacao_lot_is_read():
    ws = resumo_internacao_lot()
    assert official_4_03().validate(ws) == []  # what is read is official TISS
    lot = read_lot(lote_of(ws))
    assert lot.numero_lote == "INT1"
    assert lot.guide_type == "guiaResumoInternacao"
    assert [g.guide_type for g in lot.guides] == ["guiaResumoInternacao"] * 2
    assert [g.numero_guia_prestador for g in lot.guides] == ["RI000001", "RI000002"]
    assert [g.numero_guia_operadora for g in lot.guides] == ["AUTINT01", None]
    assert [g.numero_carteira for g in lot.guides] == ["CARTINT01", "CARTINT02"]
    assert [g.atendimento_rn for g in lot.guides] == ["S", "N"]
    # dataInicioFaturamento, not the earlier dataAutorizacao nor the items' dataExecucao
    assert [g.data_realizacao for g in lot.guides] == ["2026-09-21", "2026-10-06"]
    # valorTotalGeral, not valorProcedimentos nor an item's valorTotal
    assert [g.valor_informado for g in lot.guides] == [Decimal("1234.56"), Decimal("2000.10")]
    assert lot.total == Decimal("3234.66")
    assert [item_values(g) for g in lot.guides] == [
        [
            (1, "2026-09-22", "22", "30602238", "MASTECTOMIA SIMPLES", 1, Decimal("500.00")),
            (2, "2026-09-23", "22", "40301630", "CREATININA", 3, Decimal("225.75")),
        ],
        [(5, "2026-10-07", "22", "31009336", "APENDICECTOMIA", 2, Decimal("880.40"))],
    ]


def honorarios_lot() -> etree._Element:
    """A schema-valid 4.03.00 loteGuiasWS with two guiaHonorarios, written by hand.

    Every item's valorTotal differs from the guide's valorTotalHonorarios, and the items'
    dataExecucao and the guide's dataEmissaoGuia from dataInicioFaturamento."""
    ws, guias = empty_lot("HON1")

    guides = [
        # numero, operadora, carteira, RN, inicio, fim, emissao, total, items
        (
            "HO000001",
            "OPHON01",
            "CARTHON01",
            "N",
            "2026-08-10",
            "2026-08-12",
            "2026-08-15",
            "950.30",
            [
                ("1", "2026-08-11", "30602238", "MASTECTOMIA SIMPLES", "1", "700.00", "700.00"),
                ("2", "2026-08-12", "10102019", "VISITA HOSPITALAR", "2", "50.00", "100.00"),
            ],
        ),
        (
            "HO000002",
            None,
            "CARTHON02",
            "S",
            "2026-07-01",
            "2026-07-03",
            "2026-07-04",
            "410.90",
            [("3", "2026-07-02", "31009336", "APENDICECTOMIA", "1", "333.33", "333.33")],
        ),
    ]
    for numero, operadora, carteira, rn, inicio, fim, emissao, total, items in guides:
        g = sub(guias, "guiaHonorarios")
        cab = sub(g, "cabecalhoGuia")
        sub(cab, "registroANS", "123456")
        sub(cab, "numeroGuiaPrestador", numero)
        sub(g, "guiaSolicInternacao", f"SOL{numero}")
        if operadora:
            sub(g, "numeroGuiaOperadora", operadora)
        ben = sub(g, "beneficiario")
        sub(ben, "numeroCarteira", carteira)
        sub(ben, "atendimentoRN", rn)
        local = sub(g, "localContratado")
        sub(sub(local, "codigoContratado"), "codigoNaOperadora", "HOSP001")
        sub(local, "nomeContratado", "HOSPITAL EXEMPLO")
        sub(local, "cnes", "2077485")
        exe = sub(g, "dadosContratadoExecutante")
        sub(exe, "codigonaOperadora", "EXEC001")
        sub(exe, "cnesContratadoExecutante", "2077485")
        internacao = sub(g, "dadosInternacao")
        sub(internacao, "dataInicioFaturamento", inicio)
        sub(internacao, "dataFimFaturamento", fim)
        sub(internacao, "caraterAtendimento", "1")
        procs = sub(g, "procedimentosRealizados")
        for item in items:
            proc = write_item(sub(procs, "procedimentoRealizado"), *item)
            prof = sub(proc, "profissionais")
            sub(prof, "grauParticipacao", "00")
            sub(sub(prof, "codProfissional"), "codigoPrestadorNaOperadora", "MED001")
            for name, text in [
                ("nomeProfissional", "DRA EXEMPLO"),
                ("conselhoProfissional", "06"),
                ("numeroConselhoProfissional", "123456"),
                ("UF", "35"),
                ("CBO", "225125"),
            ]:
                sub(prof, name, text)
        sub(g, "valorTotalHonorarios", total)
        sub(g, "dataEmissaoGuia", emissao)
    return ws


def test_honorarios_lot_is_read():
    ws = honorarios_lot()
    assert official_4_03().validate(ws) == []  # what is read is official TISS
    lot = read_lot(lote_of(ws))
    assert lot.numero_lote == "HON1"
    assert lot.guide_type == "guiaHonorarios"
    assert [g.guide_type for g in lot.guides] == ["guiaHonorarios"] * 2
    assert [g.numero_guia_prestador for g in lot.guides] == ["HO000001", "HO000002"]
    assert [g.numero_guia_operadora for g in lot.guides] == ["OPHON01", None]
    # the card is in `beneficiario`, not dadosBeneficiario
    assert [g.numero_carteira for g in lot.guides] == ["CARTHON01", "CARTHON02"]
    assert [g.atendimento_rn for g in lot.guides] == ["N", "S"]
    assert [g.data_realizacao for g in lot.guides] == ["2026-08-10", "2026-07-01"]
    assert [g.valor_informado for g in lot.guides] == [Decimal("950.30"), Decimal("410.90")]
    assert lot.total == Decimal("1361.20")
    assert [item_values(g) for g in lot.guides] == [
        [
            (1, "2026-08-11", "22", "30602238", "MASTECTOMIA SIMPLES", 1, Decimal("700.00")),
            (2, "2026-08-12", "22", "10102019", "VISITA HOSPITALAR", 2, Decimal("100.00")),
        ],
        [(3, "2026-07-02", "22", "31009336", "APENDICECTOMIA", 1, Decimal("333.33"))],
    ]


# ------------------------------------------------------------------------------ count_guides


@pytest.mark.parametrize("n", [1, 7, MAX_GUIDES_PER_LOT])
@pytest.mark.parametrize("guide_type", ["guiaConsulta", "guiaSP-SADT"])
def test_count_guides(n, guide_type):
    ws = samples.lote_guias_ws(make_lot(samples.guides(n), guide_type))
    assert count_guides(lote_of(ws)) == n


def test_count_guides_sees_more_than_the_maximum():
    ws = samples.lote_guias_ws(make_lot(samples.guides(MAX_GUIDES_PER_LOT + 1)))
    assert count_guides(lote_of(ws)) == MAX_GUIDES_PER_LOT + 1


def test_count_guides_ignores_whitespace_and_non_elements():
    ws = samples.lote_guias_ws(make_lot(samples.guides(3)))
    data = etree.tostring(ws, pretty_print=True).replace(
        b"</ans:guiaConsulta>", b"</ans:guiaConsulta><!-- c -->"
    )
    kept = etree.fromstring(data, etree.XMLParser(remove_comments=False))
    assert count_guides(lote_of(kept)) == 3


def test_guide_types_and_limit_are_those_of_the_official_schema():
    tree = etree.parse(str(OFFICIAL / "4.03.00" / "tissGuiasV4_03_00.xsd"))
    choice = tree.xpath(
        "//xs:complexType[@name='ctm_guiaLote']//xs:element[@name='guiasTISS']"
        "//xs:choice/xs:element",
        namespaces=XS,
    )
    assert sorted(el.get("name") for el in choice) == sorted(GUIDE_TYPES)
    assert {el.get("maxOccurs") for el in choice} == {str(MAX_GUIDES_PER_LOT)}


# ---------------------------------------------------------------------------- content_digest


def test_content_digest_ignores_formatting_encoding_and_prefixes():
    ws = samples.lote_guias_ws(make_lot(MIXED, "guiaSP-SADT"))
    compact = read_lot(lote_of(wire(ws, pretty=False)))
    pretty = read_lot(lote_of(wire(ws, pretty=True)))
    latin = read_lot(lote_of(wire(ws, pretty=True, encoding="ISO-8859-1")))
    assert compact.content_digest == pretty.content_digest == latin.content_digest
    assert len(compact.content_digest) == 64
    int(compact.content_digest, 16)

    # the same lot written with a default namespace instead of the ans: prefix
    text = etree.tostring(ws, encoding="unicode").replace("ans:", "").replace("xmlns:ans", "xmlns")
    default_ns = parse_untrusted(text.encode()).root
    assert default_ns.prefix is None
    assert content_digest(lote_of(default_ns)) == compact.content_digest


def test_content_digest_is_the_one_lots_were_stored_with():
    """Stored lots keep their digest (lots.content_digest): a resend is told from another lot
    under the same number by comparing with it, so the formula must never drift. This is its
    definition, written the slow way: every leaf element under loteGuias, in document order."""
    import hashlib

    ws = samples.lote_guias_ws(make_lot(MIXED, "guiaSP-SADT"))
    lote = lote_of(wire(ws, pretty=True))
    leaves = lote.xpath("descendant::*[not(*)]")
    assert len(leaves) > 50
    defined = "".join(f"{leaf.tag}\x00{(leaf.text or '').strip()}\x01" for leaf in leaves)
    assert content_digest(lote) == hashlib.sha256(defined.encode()).hexdigest()


def test_content_digest_ignores_the_cabecalho():
    # a resend of the same lot in another transaction has the same content
    first = samples.lote_guias_ws(make_lot(MIXED, sequencial="1"))
    again = samples.lote_guias_ws(make_lot(MIXED, sequencial="2", login="outro"))
    assert first.findtext(f".//{q('sequencialTransacao')}") == "1"
    assert again.findtext(f".//{q('sequencialTransacao')}") == "2"
    assert read_lot(lote_of(first)).content_digest == read_lot(lote_of(again)).content_digest


@pytest.mark.parametrize(
    "path, new",
    [
        (f".//{q('numeroCarteira')}", "00000000000009"),
        (f".//{q('valorProcedimento')}", "100.11"),
        (f".//{q('nomeProfissional')}", "DRA. JOSE MARIA CAO"),  # accents only
        (f".//{q('observacao')}", "Paciente com queixa de cefaleia; retorno em 30 dias."),
        (f"{q('numeroLote')}", "LOTE43"),
    ],
    ids=["carteira", "valor", "accents", "one-letter", "numeroLote"],
)
def test_content_digest_changes_when_one_field_changes(path, new):
    base = samples.lote_guias_ws(make_lot(MIXED))
    changed = samples.lote_guias_ws(make_lot(MIXED))
    el = lote_of(changed).findall(path)[-1]
    assert el.text != new
    el.text = new
    assert read_lot(lote_of(base)).content_digest != read_lot(lote_of(changed)).content_digest


def test_content_digest_ignores_spaces_around_a_value():
    """Values are stored trimmed: a resend that only pads one is the same lot, not 5053."""
    base = samples.lote_guias_ws(make_lot(MIXED))
    padded = samples.lote_guias_ws(make_lot(MIXED))
    el = lote_of(padded).findall(f".//{q('observacao')}")[-1]
    el.text = f"  {el.text}\n"
    assert read_lot(lote_of(base)).content_digest == read_lot(lote_of(padded)).content_digest


def test_content_digest_separates_fields():
    # "AB" + "C" and "A" + "BC" concatenate alike; the digest must still tell them apart
    def lote(a: str, b: str) -> etree._Element:
        return etree.fromstring(
            f'<ans:loteGuias xmlns:ans="{ANS}"><ans:numeroLote>{a}</ans:numeroLote>'
            f"<ans:guiasTISS><ans:x>{b}</ans:x></ans:guiasTISS></ans:loteGuias>"
        )

    assert content_digest(lote("AB", "C")) != content_digest(lote("A", "BC"))
    assert content_digest(lote("AB", "C")) == content_digest(lote("AB", "C"))


def test_content_digest_sees_element_names():
    a = etree.fromstring(f'<ans:l xmlns:ans="{ANS}"><ans:numeroLote>1</ans:numeroLote></ans:l>')
    b = etree.fromstring(f'<ans:l xmlns:ans="{ANS}"><ans:outro>1</ans:outro></ans:l>')
    assert content_digest(a) != content_digest(b)


# ------------------------------------------------------------------------------------ codes


@pytest.mark.parametrize(
    "code, description",
    [
        ("5014", "CÓDIGO HASH INVÁLIDO. MENSAGEM PODE ESTAR CORROMPIDA"),
        ("5001", "MENSAGEM ELETRÔNICA FORA DO PADRÃO TISS"),
        ("5002", "NÃO FOI POSSÍVEL VALIDAR O ARQUIVO XML"),
        ("5005", "REMETENTE NÃO IDENTIFICADO"),
        ("5006", "DESTINATÁRIO NÃO IDENTIFICADO"),
        ("5028", "VERSÃO DO PADRÃO INVÁLIDA"),
        ("1001", "NÚMERO DA CARTEIRA INVÁLIDO"),
        ("1308", "GUIA JÁ APRESENTADA"),
    ],
)
def test_describe(code, description):
    assert codes.describe(code) == description
    assert codes.is_known(code)


def test_describe_every_code_the_gateway_relies_on():
    relied = [
        codes.MESSAGE_OUT_OF_STANDARD,
        codes.XML_NOT_VALIDATED,
        codes.SENDER_NOT_IDENTIFIED,
        codes.RECIPIENT_NOT_IDENTIFIED,
        codes.HASH_INVALID,
        codes.TOO_MANY_GUIDES,
        codes.OPERATOR_REGISTRO_ANS_INVALID,
        codes.VERSION_INVALID,
        codes.LOT_NUMBER_MISSING,
        codes.IDENTIFIER_ALREADY_SENT,
    ]
    assert relied == [
        "5001",
        "5002",
        "5005",
        "5006",
        "5014",
        "5015",
        "5027",
        "5028",
        "5047",
        "5053",
    ]
    for code in relied:
        text = codes.describe(code)
        assert codes.is_known(code)
        assert text and text == text.upper() and text != f"CÓDIGO {code}"
    assert "GUIAS" in codes.describe(codes.TOO_MANY_GUIDES)
    assert "LOTE" in codes.describe(codes.LOT_NUMBER_MISSING)


def test_unknown_code():
    assert not codes.is_known("0000")
    assert codes.describe("0000") == "CÓDIGO 0000"
    assert not codes.is_known("")


@pytest.mark.parametrize("version", ["4.02.00", "4.03.00"])
def test_codes_the_gateway_relies_on_exist_in_the_official_dm_tipo_glosa(version):
    tag = "V" + version.replace(".", "_")
    tree = etree.parse(str(OFFICIAL / version / f"tissSimpleTypes{tag}.xsd"))
    table = set(
        tree.xpath("//xs:simpleType[@name='dm_tipoGlosa']//xs:enumeration/@value", namespaces=XS)
    )
    assert len(table) > 400
    for code in ["5001", "5002", "5005", "5006", "5014", "5015", "5027", "5028", "5047", "5053"]:
        assert code in table
    for code in ["1001", "1006", "1203", "1206", "1308", "5018", "5022", "5025", "5026"]:
        assert code in table
