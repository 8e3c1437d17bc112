"""A Guia de Consulta typed field by field (the portal's "Digitação de Guias"), checked the way
the schema and the TISS tables demand, and the `mensagemTISS` lot file made from typed guides.

Field numbers are the ones printed on the paper Guia de Consulta (2 to 23). Fields the standard
dropped in 4.00.00 (5 validade da carteira, 7 nome do beneficiário, 8 CNS, 10 nome do contratado)
are not part of the message; the portal only shows 7 and 10 for reference.
"""

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from gateway.forms import DATE_FORMAT_MESSAGE, FieldReader, InvalidInput, digits_only, typed_day
from gateway.tiss.domains import TUSS_CONSULTAS
from gateway.tiss.hashing import message_hash
from gateway.tiss.header import Party
from gateway.tiss.namespaces import NSMAP, q

ENVIO_LOTE_GUIAS = "ENVIO_LOTE_GUIAS"
TUSS_PROCEDIMENTOS = "22"
# A consultation is billed with TUSS procedures or the operator's own tables, never with the
# tables of fees, materials or medications.
CONSULTA_TABELAS = ("22", "00", "98")
MAX_VALUE = Decimal("99999999.99")  # st_decimal10-2
_CODE = re.compile(r"^[A-Za-z0-9.-]{1,10}$")

# (form field, number on the paper guide, label) in the order of the guide.
CONSULTA_FIELDS = (
    ("numero_guia_prestador", "2", "Nº Guia no Prestador"),
    ("numero_guia_operadora", "3", "Nº da Guia Atribuído pela Operadora"),
    ("numero_carteira", "4", "Número da Carteira"),
    ("atendimento_rn", "6", "Atendimento a RN"),
    ("codigo_prestador", "9", "Código na Operadora"),
    ("cnes", "11", "Código CNES"),
    ("nome_profissional", "12", "Nome do Profissional Executante"),
    ("conselho", "13", "Conselho Profissional"),
    ("numero_conselho", "14", "Número no Conselho"),
    ("uf_conselho", "15", "UF"),
    ("cbos", "16", "Código CBO"),
    ("indicacao_acidente", "17", "Indicação de Acidente"),
    ("data_atendimento", "18", "Data do Atendimento"),
    ("tipo_consulta", "19", "Tipo de Consulta"),
    ("regime_atendimento", "", "Regime de Atendimento"),
    ("codigo_tabela", "20", "Tabela"),
    ("codigo_procedimento", "21", "Código do Procedimento"),
    ("valor_procedimento", "22", "Valor do Procedimento"),
    ("observacao", "23", "Observação / Justificativa"),
)


@dataclass(frozen=True)
class ConsultaGuide:
    numero_guia_prestador: str
    numero_guia_operadora: str | None
    numero_carteira: str
    atendimento_rn: str  # S | N
    codigo_prestador: str
    cnes: str
    nome_profissional: str | None
    conselho: str
    numero_conselho: str
    uf_conselho: str
    cbos: str
    indicacao_acidente: str
    data_atendimento: date
    tipo_consulta: str
    regime_atendimento: str
    codigo_tabela: str
    codigo_procedimento: str
    valor_procedimento: Decimal
    observacao: str | None

    def as_form(self) -> dict[str, str]:
        """The typed values as the form shows them again (and as they are stored)."""
        values = {name: getattr(self, name) for name, _, _ in CONSULTA_FIELDS}
        values["data_atendimento"] = self.data_atendimento.isoformat()
        values["valor_procedimento"] = f"{self.valor_procedimento:.2f}"
        return {k: "" if v is None else str(v) for k, v in values.items()}


class GuideInvalid(InvalidInput):
    """What is wrong with a typed guide, by form field, in Portuguese."""


_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def _latin1(text: str) -> bool:
    try:
        text.encode("iso-8859-1")
    except UnicodeEncodeError:
        return False
    return True


class _Reader(FieldReader):
    invalid = GuideInvalid

    def __init__(self, form: Mapping[str, str], domain: Callable[[str], frozenset[str]]) -> None:
        super().__init__(form)
        self.domain = domain

    def text(self, name: str, max_len: int = 200, *, required: bool = True) -> str | None:
        # Full-width letters and digits (some keyboards, text copied from PDFs) as the ASCII ones
        # they look like, as digits_only reads them.
        value = super().text(name, max_len, required=required)
        if value is not None:
            # Composed first: accents pasted decomposed (macOS, PDFs: "c" and a combining
            # cedilla) are ISO-8859-1 letters once composed.
            value = unicodedata.normalize("NFC", value).translate(_FULL_WIDTH)
        # The hash is computed over ISO-8859-1: a character outside it cannot be sent.
        if value is not None and not _latin1(value):
            self.fail(name, "use apenas letras, números e sinais comuns (sem emojis)")
        return value

    def code(self, name: str, type_name: str, refusal: str) -> str | None:
        """A code of the schema's domain; `refusal` is the whole message ("UF inválida"): the
        adjective agrees with the field's gender."""
        value = (self.data.get(name) or "").strip()
        if not value:
            self.fail(name, "selecione uma opção")
            return None
        if value not in self.domain(type_name):
            self.fail(name, refusal)
            return None
        return value

    def digits(self, name: str, length: int) -> str | None:
        value = digits_only(self.data.get(name))
        if len(value) != length:
            self.fail(name, f"informe os {length} dígitos")
            return None
        return value

    def day(self, name: str, today: date) -> date | None:
        value = typed_day(self.data.get(name))
        if value is None:
            self.fail(name, DATE_FORMAT_MESSAGE)
            return None
        if value > today:
            self.fail(name, "a data do atendimento não pode ser futura")
        elif value.year < 2000:
            self.fail(name, "data do atendimento inválida")
        return value

    def money(self, name: str) -> Decimal | None:
        raw = unicodedata.normalize("NFKC", self.data.get(name) or "")
        raw = "".join(raw.replace("R$", "").split())
        if raw.startswith("-"):
            self.fail(name, "o valor deve ser maior que zero")
            return None
        if _THOUSANDS.fullmatch(raw) or _COMMA_DECIMAL.fullmatch(raw):  # 1.234,56 / 1.000 / 150,5
            raw = raw.replace(".", "").replace(",", ".")
        elif not _DOT_DECIMAL.fullmatch(raw):  # 1234.56 is read too; 1e5, 1_000, NaN are not
            self.fail(name, "informe o valor em reais, por exemplo 150,00")
            return None
        value = Decimal(raw.rstrip("."))
        if value <= 0:
            self.fail(name, "o valor deve ser maior que zero")
            return None
        if value > MAX_VALUE:
            self.fail(name, "o valor máximo é R$ 99.999.999,99")
            return None
        if value != value.quantize(Decimal("0.01")):
            self.fail(name, "no máximo duas casas decimais")
            return None
        return value.quantize(Decimal("0.01"))


# How a clerk writes reais. A dot followed by three digits is a thousands separator (1.000 is one
# thousand reais, not R$ 1,00); a dot with one or two digits after it is a decimal point.
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]*)?")
_COMMA_DECIMAL = re.compile(r"[0-9]+(?:,[0-9]*)?")
_DOT_DECIMAL = re.compile(r"[0-9]+\.[0-9]{1,2}")


def read_consulta(
    form: Mapping[str, str],
    domain: Callable[[str], frozenset[str]],
    today: date,
) -> ConsultaGuide:
    """Check a typed Guia de Consulta. `domain` gives the codes a version accepts for a dm_ type
    (SchemaSet.domain). Raises GuideInvalid with every field that is wrong."""
    r = _Reader(form, domain)
    tabela = r.code("codigo_tabela", "dm_tabela", "tabela inválida")
    if tabela is not None and tabela not in CONSULTA_TABELAS:
        r.fail("codigo_tabela", "na guia de consulta use a tabela 22 (TUSS), 00 ou 98")
    procedimento = r.text("codigo_procedimento", 10)
    if procedimento and tabela == TUSS_PROCEDIMENTOS and procedimento not in TUSS_CONSULTAS:
        r.fail("codigo_procedimento", "código TUSS que não é de consulta")
    elif procedimento and not _CODE.match(procedimento):
        r.fail("codigo_procedimento", "use até 10 letras ou números")
    guide = dict(
        numero_guia_prestador=r.text("numero_guia_prestador", 20),
        numero_guia_operadora=r.text("numero_guia_operadora", 20, required=False),
        numero_carteira=r.text("numero_carteira", 20),
        atendimento_rn="S" if form.get("atendimento_rn") in ("S", "on", "true") else "N",
        codigo_prestador=r.text("codigo_prestador", 14),
        cnes=r.digits("cnes", 7),
        nome_profissional=r.text("nome_profissional", 70, required=False),
        conselho=r.code("conselho", "dm_conselhoProfissional", "conselho profissional inválido"),
        numero_conselho=r.text("numero_conselho", 15),
        uf_conselho=r.code("uf_conselho", "dm_UF", "UF inválida"),
        cbos=r.code("cbos", "dm_CBOS", "código CBO inválido"),
        indicacao_acidente=r.code(
            "indicacao_acidente", "dm_indicadorAcidente", "indicador de acidente inválido"
        ),
        data_atendimento=r.day("data_atendimento", today),
        tipo_consulta=r.code("tipo_consulta", "dm_tipoConsulta", "tipo de consulta inválido"),
        regime_atendimento=r.code(
            "regime_atendimento", "dm_regimeAtendimento", "regime de atendimento inválido"
        ),
        codigo_tabela=tabela,
        codigo_procedimento=procedimento,
        valor_procedimento=r.money("valor_procedimento"),
        observacao=r.text("observacao", 500, required=False),
    )
    r.check()
    return ConsultaGuide(**guide)


@dataclass(frozen=True)
class TypedLot:
    """Everything the lot file needs besides its guides."""

    registro_ans: str  # destino: this operator
    origem: Party  # the provider: CNPJ, CPF or codigoPrestadorNaOperadora
    numero_lote: str
    version: str  # Padrao
    sequencial: str
    when: datetime  # Brazilian civil time of the transaction
    guides: tuple[ConsultaGuide, ...]


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, q(name))
    if text is not None:
        el.text = text
    return el


def _cabecalho(root: etree._Element, lot: TypedLot) -> None:
    cab = _sub(root, "cabecalho")
    ident = _sub(cab, "identificacaoTransacao")
    _sub(ident, "tipoTransacao", ENVIO_LOTE_GUIAS)
    _sub(ident, "sequencialTransacao", lot.sequencial)
    _sub(ident, "dataRegistroTransacao", lot.when.strftime("%Y-%m-%d"))
    _sub(ident, "horaRegistroTransacao", lot.when.strftime("%H:%M:%S"))
    prestador = _sub(_sub(cab, "origem"), "identificacaoPrestador")
    _sub(prestador, lot.origem.kind, lot.origem.value)
    _sub(_sub(cab, "destino"), "registroANS", lot.registro_ans)
    _sub(cab, "Padrao", lot.version)


def _guia_consulta(parent: etree._Element, registro_ans: str, g: ConsultaGuide) -> None:
    guia = _sub(parent, "guiaConsulta")
    cab = _sub(guia, "cabecalhoConsulta")
    _sub(cab, "registroANS", registro_ans)
    _sub(cab, "numeroGuiaPrestador", g.numero_guia_prestador)
    if g.numero_guia_operadora:
        _sub(guia, "numeroGuiaOperadora", g.numero_guia_operadora)
    beneficiario = _sub(guia, "dadosBeneficiario")
    _sub(beneficiario, "numeroCarteira", g.numero_carteira)
    _sub(beneficiario, "atendimentoRN", g.atendimento_rn)
    contratado = _sub(guia, "contratadoExecutante")
    _sub(contratado, "codigoPrestadorNaOperadora", g.codigo_prestador)
    _sub(contratado, "CNES", g.cnes)
    profissional = _sub(guia, "profissionalExecutante")
    if g.nome_profissional:
        _sub(profissional, "nomeProfissional", g.nome_profissional)
    _sub(profissional, "conselhoProfissional", g.conselho)
    _sub(profissional, "numeroConselhoProfissional", g.numero_conselho)
    _sub(profissional, "UF", g.uf_conselho)
    _sub(profissional, "CBOS", g.cbos)
    _sub(guia, "indicacaoAcidente", g.indicacao_acidente)
    atendimento = _sub(guia, "dadosAtendimento")
    _sub(atendimento, "regimeAtendimento", g.regime_atendimento)
    _sub(atendimento, "dataAtendimento", g.data_atendimento.isoformat())
    _sub(atendimento, "tipoConsulta", g.tipo_consulta)
    procedimento = _sub(atendimento, "procedimento")
    _sub(procedimento, "codigoTabela", g.codigo_tabela)
    _sub(procedimento, "codigoProcedimento", g.codigo_procedimento)
    _sub(procedimento, "valorProcedimento", f"{g.valor_procedimento:.2f}")
    if g.observacao:
        _sub(guia, "observacao", g.observacao)


def mensagem_tiss(lot: TypedLot) -> etree._Element:
    """The lot as the XML file a provider's system would export: mensagemTISS with
    prestadorParaOperadora/loteGuias and the MD5 of every leaf in epilogo/hash."""
    if not lot.guides:
        raise ValueError("a lot needs at least one guide")
    root = etree.Element(q("mensagemTISS"), nsmap=NSMAP)
    _cabecalho(root, lot)
    lote = _sub(_sub(root, "prestadorParaOperadora"), "loteGuias")
    _sub(lote, "numeroLote", lot.numero_lote)
    guias = _sub(lote, "guiasTISS")
    for guide in lot.guides:
        _guia_consulta(guias, lot.registro_ans, guide)
    _sub(_sub(root, "epilogo"), "hash", message_hash(root))
    return root


def to_bytes(message: etree._Element) -> bytes:
    """ISO-8859-1, the charset the standard names for TISS files."""
    return etree.tostring(message, encoding="ISO-8859-1", xml_declaration=True)
