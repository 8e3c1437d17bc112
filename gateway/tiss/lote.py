"""Reading a lot of guides (`loteGuias`) into plain values."""

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

from gateway.tiss.namespaces import ANS, q

MAX_GUIDES_PER_LOT = 100
GUIDE_TYPES = (
    "guiaConsulta",
    "guiaSP-SADT",
    "guiaResumoInternacao",
    "guiaHonorarios",
    "guiaOdonto",
)
ODONTO = "guiaOdonto"

_NS = {"ans": ANS}

# Where each guide type keeps what the gateway records. Paths are relative to the guide element.
_NUMERO_GUIA = {
    "guiaConsulta": "ans:cabecalhoConsulta/ans:numeroGuiaPrestador",
    "guiaOdonto": "ans:numeroGuiaPrestador",  # cto_guiaOdontologia has no cabecalhoGuia
}
_BENEFICIARIO = {"guiaHonorarios": "ans:beneficiario"}
_VALUE = {
    "guiaConsulta": "ans:dadosAtendimento/ans:procedimento/ans:valorProcedimento",
    "guiaSP-SADT": "ans:valorTotal/ans:valorTotalGeral",
    "guiaResumoInternacao": "ans:valorTotal/ans:valorTotalGeral",
    "guiaHonorarios": "ans:valorTotalHonorarios",
    "guiaOdonto": ".//ans:valorTotalProc",
}
_DATE = {
    "guiaConsulta": "ans:dadosAtendimento/ans:dataAtendimento",
    "guiaSP-SADT": ".//ans:dataExecucao",
    "guiaResumoInternacao": ".//ans:dataInicioFaturamento",
    "guiaHonorarios": ".//ans:dataInicioFaturamento",
    "guiaOdonto": ".//ans:dataRealizacao",
}


@dataclass(frozen=True)
class GuideItem:
    """A procedure billed in a guide."""

    sequencial: int
    data_realizacao: str | None
    codigo_tabela: str
    codigo_procedimento: str
    descricao: str
    quantidade: Decimal
    valor_informado: Decimal


@dataclass(frozen=True)
class Guide:
    guide_type: str
    numero_guia_prestador: str
    numero_guia_operadora: str | None
    numero_carteira: str
    atendimento_rn: str
    data_realizacao: str | None
    valor_informado: Decimal
    items: tuple[GuideItem, ...] = ()


@dataclass(frozen=True)
class Lot:
    numero_lote: str
    guide_type: str
    guides: list[Guide]
    content_digest: str  # SHA-256 of the lot's leaf texts: equal lots, equal digests

    @property
    def total(self) -> Decimal:
        return sum((g.valor_informado for g in self.guides), Decimal("0.00"))


# Compiled once per path: a 100-guide lot reads a few thousand fields, and a compiled XPath
# costs a third of what ElementPath's find() does per call.
_FIRST: dict[str, etree.XPath] = {}


def _find_text(el: etree._Element, path: str) -> str | None:
    """The stripped text of the first element at `path` (what `find` would return)."""
    xpath = _FIRST.get(path)
    if xpath is None:
        xpath = _FIRST[path] = etree.XPath(f"({path})[1]", namespaces=_NS)
    found = xpath(el)
    text = found[0].text if found else None
    return text.strip() if text else None


def _children(el: etree._Element) -> dict:
    """Each child tag's first element: one walk instead of a find() per field."""
    first: dict = {}
    for child in el:
        first.setdefault(child.tag, child)
    return first


def _child_text(children: dict, name: str) -> str | None:
    found = children.get(q(name))
    return found.text.strip() if found is not None and found.text else None


def _decimal(text: str | None) -> Decimal:
    try:
        return Decimal(text).quantize(Decimal("0.01")) if text else Decimal("0.00")
    except InvalidOperation:
        return Decimal("0.00")


def guides_element(lote_guias: etree._Element) -> etree._Element | None:
    return lote_guias.find(q("guiasTISS"))


def count_guides(lote_guias: etree._Element) -> int:
    guias = guides_element(lote_guias)
    return 0 if guias is None else sum(1 for _ in guias.iterchildren(etree.Element))


# Where each guide type lists its procedures. Consulta has a single procedure and no list.
_ITEMS = etree.XPath(
    "ans:procedimentosExecutados/ans:procedimentoExecutado"
    " | ans:procedimentosRealizados/ans:procedimentoRealizado"
    " | self::ans:guiaOdonto/ans:procedimentosExecutados",
    namespaces=_NS,
)


def _quantity(text: str | None) -> Decimal:
    try:
        return Decimal(text) if text else Decimal(1)
    except InvalidOperation:
        return Decimal(1)


def read_items(el: etree._Element, guide_date: str | None) -> tuple[GuideItem, ...]:
    if etree.QName(el).localname == "guiaConsulta":
        proc = el.find("ans:dadosAtendimento/ans:procedimento", _NS)
        if proc is None:
            return ()
        return (
            GuideItem(
                sequencial=1,
                data_realizacao=guide_date,
                codigo_tabela=_find_text(proc, "ans:codigoTabela") or "",
                codigo_procedimento=_find_text(proc, "ans:codigoProcedimento") or "",
                descricao="CONSULTA",
                quantidade=Decimal(1),
                valor_informado=_decimal(_find_text(proc, "ans:valorProcedimento")),
            ),
        )
    items = []
    for position, item in enumerate(_ITEMS(el), start=1):
        fields = _children(item)
        proc = fields.get(q("procedimento"))
        if proc is None:
            proc = fields.get(q("procSolic"))
        code = _children(proc) if proc is not None else None
        seq = _child_text(fields, "sequencialItem")
        items.append(
            GuideItem(
                sequencial=int(seq) if seq and seq.isdigit() else position,
                data_realizacao=_child_text(fields, "dataExecucao")
                or _child_text(fields, "dataRealizacao")
                or guide_date,
                codigo_tabela=(_child_text(code, "codigoTabela") or "") if code is not None else "",
                codigo_procedimento=(_child_text(code, "codigoProcedimento") or "")
                if code is not None
                else "",
                descricao=(_child_text(code, "descricaoProcedimento") or "PROCEDIMENTO")
                if code is not None
                else "PROCEDIMENTO",
                quantidade=_quantity(
                    _child_text(fields, "quantidadeExecutada") or _child_text(fields, "qtdProc")
                ),
                valor_informado=_decimal(
                    _child_text(fields, "valorTotal") or _child_text(fields, "valorProc")
                ),
            )
        )
    return tuple(items)


def read_guide(el: etree._Element) -> Guide:
    guide_type = etree.QName(el).localname
    beneficiario = el.find(_BENEFICIARIO.get(guide_type, "ans:dadosBeneficiario"), _NS)
    if beneficiario is None:  # odonto keeps the card on the guide itself
        beneficiario = el
    guide_date = _find_text(el, _DATE[guide_type]) if guide_type in _DATE else None
    return Guide(
        guide_type=guide_type,
        numero_guia_prestador=_find_text(
            el, _NUMERO_GUIA.get(guide_type, "ans:cabecalhoGuia/ans:numeroGuiaPrestador")
        )
        or "",
        numero_guia_operadora=_find_text(el, "ans:numeroGuiaOperadora")
        or _find_text(el, "ans:dadosAutorizacao/ans:numeroGuiaOperadora"),
        numero_carteira=_find_text(beneficiario, "ans:numeroCarteira") or "",
        atendimento_rn=_find_text(beneficiario, "ans:atendimentoRN") or "N",
        data_realizacao=guide_date,
        valor_informado=_decimal(_find_text(el, _VALUE[guide_type]))
        if guide_type in _VALUE
        else Decimal("0.00"),
        items=read_items(el, guide_date),
    )


def content_digest(element: etree._Element) -> str:
    """SHA-256 over (name, text) of every leaf, with separators that XML text cannot contain, so
    that two lots are equal exactly when their fields are, whatever the whitespace between tags."""
    # One join and one update: the same bytes as feeding each leaf in turn, at a fraction of it.
    # Leaves found by walking the tree, not by XPath: `descendant::*[not(*)]` took twice as long
    # as this loop (2.9 ms against 1.5 ms for 100 SP/SADT guides), for the same leaves in the
    # same order. len() also counts comments and processing instructions, which the hardened
    # parser (xmlsafe) has already removed.
    text = "".join(
        [
            f"{leaf.tag}\x00{leaf.text or ''}\x01"
            for leaf in element.iterdescendants(etree.Element)
            if not len(leaf)
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def read_lot(lote_guias: etree._Element) -> Lot:
    """Read a schema-valid `loteGuias` element."""
    guias = guides_element(lote_guias)
    items = list(guias.iterchildren(etree.Element)) if guias is not None else []
    guides = [read_guide(el) for el in items]
    digest = content_digest(lote_guias)
    return Lot(
        numero_lote=(_find_text(lote_guias, "ans:numeroLote") or ""),
        guide_type=guides[0].guide_type if guides else "",
        guides=guides,
        content_digest=digest,
    )
