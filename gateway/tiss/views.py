"""Plain values the operator-to-provider answers are built from (protocol, guides, items, glosas).
The services fill them from the database; the builders here and in statements.py read them."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class GlosaView:
    code: str
    valor: Decimal
    descricao: str | None = None


@dataclass(frozen=True)
class ItemView:
    sequencial: int
    data_realizacao: str | None
    codigo_tabela: str
    codigo_procedimento: str
    descricao: str
    quantidade: Decimal
    valor_informado: Decimal
    valor_processado: Decimal | None = None
    valor_liberado: Decimal | None = None
    glosas: tuple[GlosaView, ...] = ()


@dataclass(frozen=True)
class GuideView:
    guide_type: str
    numero_guia_prestador: str
    numero_guia_operadora: str | None
    numero_carteira: str
    atendimento_rn: str
    data_realizacao: str | None
    valor_informado: Decimal
    valor_processado: Decimal | None = None
    valor_liberado: Decimal | None = None
    glosas: tuple[GlosaView, ...] = ()  # on the whole guide
    items: tuple[ItemView, ...] = ()

    @property
    def analyzed(self) -> bool:
        return self.valor_processado is not None

    @property
    def all_glosas(self) -> tuple[GlosaView, ...]:
        return self.glosas + tuple(g for i in self.items for g in i.glosas)

    @property
    def processado(self) -> Decimal:
        return self.valor_processado if self.valor_processado is not None else ZERO

    @property
    def liberado(self) -> Decimal:
        return self.valor_liberado if self.valor_liberado is not None else ZERO

    @property
    def glosado(self) -> Decimal:
        """What the analysis withheld: processed minus released."""
        return self.processado - self.liberado if self.analyzed else ZERO


@dataclass(frozen=True)
class ProtocolView:
    numero: str
    status: int
    numero_lote: str
    data_envio: date
    codigo_prestador: str
    guides: tuple[GuideView, ...] = field(default_factory=tuple)

    @property
    def odonto(self) -> bool:
        return bool(self.guides) and self.guides[0].guide_type == "guiaOdonto"

    @property
    def analyzed(self) -> bool:
        return any(g.analyzed for g in self.guides)

    @property
    def informado(self) -> Decimal:
        return sum((g.valor_informado for g in self.guides), ZERO)

    @property
    def processado(self) -> Decimal:
        return sum((g.processado for g in self.guides), ZERO)

    @property
    def liberado(self) -> Decimal:
        return sum((g.liberado for g in self.guides), ZERO)

    @property
    def glosado(self) -> Decimal:
        return sum((g.glosado for g in self.guides), ZERO)
