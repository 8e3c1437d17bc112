"""Builders of provider-side TISS messages: lots of Guia de Consulta, SP/SADT or Tratamento
Odontológico (GTO).

Used by the demo, the benchmarks and the tests to produce realistic, schema-valid messages with a
correct hash, the way a hospital system would send them.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from lxml import etree

from gateway.tiss.hashing import message_hash
from gateway.tiss.header import Party
from gateway.tiss.namespaces import NSMAP, q


def _sub(parent, name, text=None):
    el = etree.SubElement(parent, q(name))
    if text is not None:
        el.text = text
    return el


@dataclass
class SampleGuide:
    numero_guia: str
    carteira: str = "00012345678901"
    valor: Decimal = Decimal("150.00")
    data: str = "2026-11-03"
    profissional: str = "DRA. JOSÉ MARIA ÇÃO"


@dataclass
class SampleLot:
    registro_ans: str
    origem: Party
    numero_lote: str
    guides: list[SampleGuide]
    guide_type: str = "guiaConsulta"  # or guiaSP-SADT, guiaOdonto
    version: str = "4.03.00"
    login: str | None = None
    senha_md5: str | None = None
    codigo_prestador: str = "PREST0001"
    sequencial: str = "1"
    when: datetime = field(default_factory=lambda: datetime(2026, 11, 21, 10, 30, 0))


def _cabecalho(root: etree._Element, lot: SampleLot, tipo: str) -> None:
    cab = _sub(root, "cabecalho")
    ident = _sub(cab, "identificacaoTransacao")
    _sub(ident, "tipoTransacao", tipo)
    _sub(ident, "sequencialTransacao", lot.sequencial)
    _sub(ident, "dataRegistroTransacao", lot.when.strftime("%Y-%m-%d"))
    _sub(ident, "horaRegistroTransacao", lot.when.strftime("%H:%M:%S"))
    _sub(_sub(_sub(cab, "origem"), "identificacaoPrestador"), lot.origem.kind, lot.origem.value)
    _sub(_sub(cab, "destino"), "registroANS", lot.registro_ans)
    _sub(cab, "Padrao", lot.version)
    if lot.login is not None:
        login = _sub(cab, "loginSenhaPrestador")
        _sub(login, "loginPrestador", lot.login)
        _sub(login, "senhaPrestador", lot.senha_md5 or "")


def _profissional(parent, name, g: SampleGuide) -> None:
    prof = _sub(parent, name)
    _sub(prof, "nomeProfissional", g.profissional)
    _sub(prof, "conselhoProfissional", "06")
    _sub(prof, "numeroConselhoProfissional", "123456")
    _sub(prof, "UF", "35")
    _sub(prof, "CBOS", "225125")


def _consulta(parent, lot: SampleLot, g: SampleGuide) -> None:
    guia = _sub(parent, "guiaConsulta")
    cab = _sub(guia, "cabecalhoConsulta")
    _sub(cab, "registroANS", lot.registro_ans)
    _sub(cab, "numeroGuiaPrestador", g.numero_guia)
    ben = _sub(guia, "dadosBeneficiario")
    _sub(ben, "numeroCarteira", g.carteira)
    _sub(ben, "atendimentoRN", "N")
    contratado = _sub(guia, "contratadoExecutante")
    _sub(contratado, "codigoPrestadorNaOperadora", lot.codigo_prestador)
    _sub(contratado, "CNES", "2077485")
    _profissional(guia, "profissionalExecutante", g)
    _sub(guia, "indicacaoAcidente", "9")
    atend = _sub(guia, "dadosAtendimento")
    _sub(atend, "regimeAtendimento", "01")
    _sub(atend, "dataAtendimento", g.data)
    _sub(atend, "tipoConsulta", "1")
    proc = _sub(atend, "procedimento")
    _sub(proc, "codigoTabela", "22")
    _sub(proc, "codigoProcedimento", "10101012")
    _sub(proc, "valorProcedimento", f"{g.valor:.2f}")
    _sub(guia, "observacao", "Paciente com queixa de cefaléia; retorno em 30 dias.")


def _sp_sadt(parent, lot: SampleLot, g: SampleGuide) -> None:
    guia = _sub(parent, "guiaSP-SADT")
    cab = _sub(guia, "cabecalhoGuia")
    _sub(cab, "registroANS", lot.registro_ans)
    _sub(cab, "numeroGuiaPrestador", g.numero_guia)
    ben = _sub(guia, "dadosBeneficiario")
    _sub(ben, "numeroCarteira", g.carteira)
    _sub(ben, "atendimentoRN", "N")
    sol = _sub(guia, "dadosSolicitante")
    _sub(_sub(sol, "contratadoSolicitante"), "codigoPrestadorNaOperadora", lot.codigo_prestador)
    _sub(sol, "nomeContratadoSolicitante", "CLÍNICA SÃO LUCAS")
    _profissional(sol, "profissionalSolicitante", g)
    _sub(_sub(guia, "dadosSolicitacao"), "caraterAtendimento", "1")
    exe = _sub(guia, "dadosExecutante")
    _sub(_sub(exe, "contratadoExecutante"), "codigoPrestadorNaOperadora", lot.codigo_prestador)
    _sub(exe, "CNES", "2077485")
    atend = _sub(guia, "dadosAtendimento")
    _sub(atend, "tipoAtendimento", "04")
    _sub(atend, "indicacaoAcidente", "9")
    _sub(atend, "regimeAtendimento", "01")
    procs = _sub(guia, "procedimentosExecutados")
    half = (g.valor / 2).quantize(Decimal("0.01"))
    for seq, (code, value) in enumerate(
        [("40301630", half), ("40302040", g.valor - half)], start=1
    ):
        item = _sub(procs, "procedimentoExecutado")
        _sub(item, "sequencialItem", str(seq))
        _sub(item, "dataExecucao", g.data)
        proc = _sub(item, "procedimento")
        _sub(proc, "codigoTabela", "22")
        _sub(proc, "codigoProcedimento", code)
        _sub(proc, "descricaoProcedimento", "EXAME LABORATORIAL")
        _sub(item, "quantidadeExecutada", "1")
        _sub(item, "reducaoAcrescimo", "1.00")
        _sub(item, "valorUnitario", f"{value:.2f}")
        _sub(item, "valorTotal", f"{value:.2f}")
    total = _sub(guia, "valorTotal")
    _sub(total, "valorProcedimentos", f"{g.valor:.2f}")
    _sub(total, "valorTotalGeral", f"{g.valor:.2f}")


def _odonto(parent, lot: SampleLot, g: SampleGuide) -> None:
    """A GTO with two procedures (a first consultation and a restoration of tooth 11)."""
    guia = _sub(parent, "guiaOdonto")
    _sub(guia, "registroANS", lot.registro_ans)
    _sub(guia, "numeroGuiaPrestador", g.numero_guia)
    ben = _sub(guia, "dadosBeneficiario")
    _sub(ben, "numeroCarteira", g.carteira)
    _sub(ben, "atendimentoRN", "N")
    _sub(guia, "planoBeneficiario", "PLANO ODONTO")
    prof = _sub(guia, "dadosProfissionaisResponsaveis")
    _sub(prof, "codigoProfExec", lot.codigo_prestador)
    _sub(prof, "croExec", "12345")
    _sub(prof, "ufExec", "35")
    _sub(prof, "cnesExec", "2077485")
    _sub(prof, "cbosExec2", "223208")
    half = (g.valor / 2).quantize(Decimal("0.01"))
    procedures = [
        ("81000065", "CONSULTA ODONTOLÓGICA INICIAL", None, half),
        ("85100196", "RESTAURAÇÃO DE RESINA FOTOPOLIMERIZÁVEL 1 FACE", "11", g.valor - half),
    ]
    for seq, (code, description, tooth, value) in enumerate(procedures, start=1):
        item = _sub(guia, "procedimentosExecutados")
        _sub(item, "sequencialItem", str(seq))
        proc = _sub(item, "procSolic")
        _sub(proc, "codigoTabela", "22")
        _sub(proc, "codigoProcedimento", code)
        _sub(proc, "descricaoProcedimento", description)
        if tooth:
            _sub(_sub(item, "denteRegiao"), "codDente", tooth)
            _sub(item, "denteFace", "O")
        _sub(item, "qtdProc", "1")
        _sub(item, "valorProc", f"{value:.2f}")
        _sub(item, "autorizado", "true")
        _sub(item, "dataRealizacao", g.data)
    _sub(guia, "tipoAtendimento", "1")
    _sub(guia, "tipoFaturamento", "4")
    _sub(guia, "valorTotalProc", f"{g.valor:.2f}")


_GUIDE_WRITERS = {"guiaConsulta": _consulta, "guiaSP-SADT": _sp_sadt, "guiaOdonto": _odonto}


def _lote(parent, lot: SampleLot) -> None:
    lote = _sub(parent, "loteGuias")
    _sub(lote, "numeroLote", lot.numero_lote)
    guias = _sub(lote, "guiasTISS")
    for g in lot.guides:
        _GUIDE_WRITERS[lot.guide_type](guias, lot, g)


def lote_guias_ws(lot: SampleLot, *, hash_value: str | None = None) -> etree._Element:
    """A `loteGuiasWS` element; its hash is correct unless `hash_value` overrides it."""
    root = etree.Element(q("loteGuiasWS"), nsmap=NSMAP)
    _cabecalho(root, lot, "ENVIO_LOTE_GUIAS")
    _lote(root, lot)
    _sub(root, "hash", hash_value if hash_value is not None else message_hash(root))
    return root


def mensagem_tiss(lot: SampleLot) -> etree._Element:
    """The same lot as an XML file (`mensagemTISS`), as hospital systems export it."""
    root = etree.Element(q("mensagemTISS"), nsmap=NSMAP)
    _cabecalho(root, lot, "ENVIO_LOTE_GUIAS")
    _lote(_sub(root, "prestadorParaOperadora"), lot)
    _sub(_sub(root, "epilogo"), "hash", message_hash(root))
    return root


def guides(count: int, *, prefix: str = "G", valor: Decimal = Decimal("150.00")):
    return [SampleGuide(numero_guia=f"{prefix}{i:06d}", valor=valor) for i in range(1, count + 1)]


@dataclass
class SampleQuery:
    """The header of a provider's query (status, eligibility, statement)."""

    registro_ans: str
    origem: Party
    codigo_prestador: str
    version: str = "4.03.00"
    login: str | None = None
    senha_md5: str | None = None
    sequencial: str = "1"
    when: datetime = field(default_factory=lambda: datetime(2026, 11, 21, 10, 30, 0))


def _query(root_name: str, tipo: str, query: SampleQuery) -> etree._Element:
    root = etree.Element(q(root_name), nsmap=NSMAP)
    _cabecalho(root, query, tipo)  # SampleQuery has the fields _cabecalho reads
    return root


def _seal(root: etree._Element) -> etree._Element:
    _sub(root, "hash", message_hash(root))
    return root


def solicitacao_status_ws(query: SampleQuery, numero_protocolo: str) -> etree._Element:
    root = _query("solicitacaoStatusProtocoloWS", "SOLIC_STATUS_PROTOCOLO", query)
    body = _sub(root, "solicitacaoStatusProtocolo")
    _sub(_sub(body, "dadosPrestador"), "codigoPrestadorNaOperadora", query.codigo_prestador)
    _sub(body, "numeroProtocolo", numero_protocolo)
    return _seal(root)


def pedido_elegibilidade_ws(query: SampleQuery, numero_carteira: str) -> etree._Element:
    root = _query("pedidoElegibilidadeWS", "VERIFICA_ELEGIBILIDADE", query)
    body = _sub(root, "pedidoElegibilidade")
    _sub(_sub(body, "dadosPrestador"), "codigoPrestadorNaOperadora", query.codigo_prestador)
    _sub(body, "numeroCarteira", numero_carteira)
    return _seal(root)


def solicitacao_demonstrativo_pagamento_ws(
    query: SampleQuery,
    *,
    data_pagamento: str | None = None,
    competencia: str | None = None,
    tipo: str = "1",
) -> etree._Element:
    root = _query("solicitacaoDemonstrativoRetornoWS", "SOLIC_DEMONSTRATIVO_RETORNO", query)
    pagamento = _sub(_sub(root, "solicitacaoDemonstrativoRetorno"), "demonstrativoPagamento")
    _sub(_sub(pagamento, "dadosPrestador"), "codigoPrestadorNaOperadora", query.codigo_prestador)
    _sub(pagamento, "dataSolicitacao", query.when.strftime("%Y-%m-%d"))
    _sub(pagamento, "tipoDemonstrativo", tipo)
    periodo = _sub(pagamento, "periodo")
    if data_pagamento is not None:
        _sub(periodo, "dataPagamento", data_pagamento)
    else:
        _sub(periodo, "competencia", competencia)
    return _seal(root)


def solicitacao_demonstrativo_analise_ws(
    query: SampleQuery, protocolos: list[str]
) -> etree._Element:
    root = _query("solicitacaoDemonstrativoRetornoWS", "SOLIC_DEMONSTRATIVO_RETORNO", query)
    analise = _sub(_sub(root, "solicitacaoDemonstrativoRetorno"), "demonstrativoAnalise")
    _sub(_sub(analise, "dadosPrestador"), "codigoPrestadorNaOperadora", query.codigo_prestador)
    _sub(analise, "dataSolicitacao", query.when.strftime("%Y-%m-%d"))
    box = _sub(analise, "protocolos")
    for numero in protocolos:
        _sub(box, "numeroProtocolo", numero)
    return _seal(root)
