"""Use case: record the operator's analysis of a protocol (values processed and released per
guide and item, and the glosas with their table-38 codes).

Defaults, so that the operator only writes down what it changed:
- a guide or item left out is fully approved: processado = liberado = informado, no glosa;
- an item's valorProcessado, when omitted, is its valor informado; a guide's is its valor
  informado adjusted by the differences its items were given (processado - informado);
- valorLiberado, when omitted, is valorProcessado minus the glosas (on a guide: the glosas on
  the guide and on its items).
The analysis replaces any earlier one of the same protocol, in one transaction.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import delete
from sqlalchemy.orm import Session

from gateway.services.backoffice import transitions
from gateway.services.backoffice.errors import BackOfficeError, not_allowed
from gateway.services.backoffice.protocols import (
    REASON_MAX,
    ProtocolView,
    find_protocol,
    protocol_view,
)
from gateway.services.backoffice.staff import StaffPrincipal
from gateway.services.backoffice.values import MAX_MONEY, money, text
from storage.db import Database
from storage.models import Glosa, Guide, GuideItem, Protocol

ANALYSABLE = frozenset(
    {transitions.EM_ANALISE, transitions.ANALISADO, transitions.AGUARDANDO_INFORMACAO}
)
GLOSA_TEXT_MAX = 500
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class GlosaInput:
    codigo: str  # table 38 (dm_tipoGlosa)
    valor: Decimal
    descricao: str | None = None


@dataclass(frozen=True)
class ItemAnalysis:
    sequencial: int
    valor_processado: Decimal | None = None
    valor_liberado: Decimal | None = None
    glosas: Sequence[GlosaInput] = ()


@dataclass(frozen=True)
class GuideAnalysis:
    numero_guia_prestador: str
    valor_processado: Decimal | None = None
    valor_liberado: Decimal | None = None
    glosas: Sequence[GlosaInput] = ()  # on the guide as a whole
    items: Sequence[ItemAnalysis] = field(default_factory=tuple)


@dataclass
class _Context:
    session: Session
    protocol: Protocol
    actor: str
    now: datetime
    glosa_tables: Mapping[str, frozenset[str]]


def record_analysis(
    db: Database,
    staff: StaffPrincipal,
    numero: str,
    guides: Sequence[GuideAnalysis],
    reason: str | None = None,
    now: datetime | None = None,
    *,
    glosa_tables: Mapping[str, frozenset[str]],
) -> ProtocolView:
    """`glosa_tables`: the table-38 codes of each version the gateway accepts (Gateway.
    glosa_tables); a provider may ask for the analysis in any of them."""
    now = now or datetime.now(UTC)
    reason = text(reason, "motivo", REASON_MAX)
    with db.transaction() as session:
        protocol = find_protocol(session, numero, lock=True)
        if protocol.status not in ANALYSABLE:
            raise not_allowed(
                f"protocolo {protocol.numero} está em {transitions.label(protocol.status)}; a "
                "análise é registrada com o protocolo em 2 (Em análise), 5 (Analisado) ou "
                "8 (Aguardando informação complementar)"
            )
        plans = _plans_by_guide(protocol, guides)
        ctx = _Context(session, protocol, staff.login, now, glosa_tables)
        session.execute(delete(Glosa).where(Glosa.protocol_id == protocol.id))
        for guide in protocol.lot.guides:
            _apply_guide(ctx, guide, plans.get(guide.id))
        _within_st_valor(
            sum((g.valor_processado for g in protocol.lot.guides), ZERO),
            f"protocolo {protocol.numero}: o valor processado somado das guias",
        )
        protocol.analyzed_at = now
        protocol.updated_at = now
        if protocol.status == transitions.AGUARDANDO_INFORMACAO:
            # 8 -> 5 is not a transition of its own: the analysis resumes (2), then ends (5).
            transitions.transition(
                protocol, transitions.EM_ANALISE, staff.login, "análise retomada", now
            )
        if protocol.status == transitions.EM_ANALISE:
            transitions.transition(
                protocol, transitions.ANALISADO, staff.login, reason or "análise registrada", now
            )
        return protocol_view(session, protocol.id)


def _plans_by_guide(
    protocol: Protocol, guides: Sequence[GuideAnalysis]
) -> dict[int, GuideAnalysis]:
    by_number: dict[str, list[Guide]] = {}
    for guide in protocol.lot.guides:
        by_number.setdefault(guide.numero_guia_prestador, []).append(guide)
    plans: dict[int, GuideAnalysis] = {}
    for plan in guides:
        numero = plan.numero_guia_prestador.strip()
        found = by_number.get(numero, [])
        if not found:
            raise BackOfficeError(f"guia {numero} não faz parte do protocolo {protocol.numero}")
        if len(found) > 1:
            raise BackOfficeError(
                f"guia {numero} aparece {len(found)} vezes no protocolo {protocol.numero}; "
                "não é possível identificá-la pelo número"
            )
        if found[0].id in plans:
            raise BackOfficeError(f"guia {numero} informada mais de uma vez")
        plans[found[0].id] = plan
    return plans


def _apply_guide(ctx: _Context, guide: Guide, plan: GuideAnalysis | None) -> None:
    where = f"guia {guide.numero_guia_prestador}"
    item_plans = _plans_by_item(guide, plan.items if plan else (), where)
    adjustment = ZERO
    item_glosas = ZERO
    for item in guide.items:
        item_plan = item_plans.get(item.sequencial)
        _apply_item(ctx, guide, item, item_plan, f"{where}, item {item.sequencial}")
        adjustment += item.valor_processado - item.valor_informado
        item_glosas += sum((g.valor for g in _glosas(item_plan)), ZERO)
    processado = _given(plan.valor_processado if plan else None, f"{where}: valorProcessado")
    if processado is None:
        processado = guide.valor_informado + adjustment
        if processado < 0:
            raise BackOfficeError(
                f"{where}: o valor processado calculado ({processado}) é negativo; informe-o"
            )
        _within_st_valor(processado, f"{where}: o valor processado calculado")
    glosas = _checked_glosas(ctx, plan.glosas if plan else (), where)
    liberado = _given(plan.valor_liberado if plan else None, f"{where}: valorLiberado")
    _set_values(guide, processado, liberado, sum((g.valor for g in glosas), item_glosas), where)
    for glosa in glosas:
        _add_glosa(ctx, guide, None, glosa)


def _apply_item(
    ctx: _Context, guide: Guide, item: GuideItem, plan: ItemAnalysis | None, where: str
) -> None:
    processado = _given(plan.valor_processado if plan else None, f"{where}: valorProcessado")
    if processado is None:
        processado = item.valor_informado
    glosas = _checked_glosas(ctx, _glosas(plan), where)
    liberado = _given(plan.valor_liberado if plan else None, f"{where}: valorLiberado")
    _set_values(item, processado, liberado, sum((g.valor for g in glosas), ZERO), where)
    for glosa in glosas:
        _add_glosa(ctx, guide, item, glosa)


def _set_values(
    row: Guide | GuideItem,
    processado: Decimal,
    liberado: Decimal | None,
    glosas: Decimal,
    where: str,
) -> None:
    if glosas > processado:
        raise BackOfficeError(
            f"{where}: as glosas somam {glosas}, acima do valor processado {processado}"
        )
    if liberado is None:
        liberado = processado - glosas
    if liberado > processado:
        raise BackOfficeError(
            f"{where}: valor liberado {liberado} acima do valor processado {processado}"
        )
    row.valor_processado = processado
    row.valor_liberado = liberado


def _within_st_valor(total: Decimal, what: str) -> None:
    """A value the analysis derives (a guide's from its items, the protocol's from its guides)
    must fit the columns and the answers' st_valor, like every value typed in."""
    if total > MAX_MONEY:
        raise BackOfficeError(f"{what} ({total}) fica acima do máximo ({MAX_MONEY})")


def _plans_by_item(
    guide: Guide, items: Sequence[ItemAnalysis], where: str
) -> dict[int, ItemAnalysis]:
    known = {item.sequencial for item in guide.items}
    plans: dict[int, ItemAnalysis] = {}
    for plan in items:
        if plan.sequencial not in known:
            raise BackOfficeError(f"{where}: não tem item de sequencial {plan.sequencial}")
        if plan.sequencial in plans:
            raise BackOfficeError(f"{where}: item {plan.sequencial} informado mais de uma vez")
        plans[plan.sequencial] = plan
    return plans


def _glosas(plan: ItemAnalysis | None) -> Sequence[GlosaInput]:
    return plan.glosas if plan else ()


def _given(value: Decimal | None, what: str) -> Decimal | None:
    return None if value is None else money(value, what)


def _checked_glosas(ctx: _Context, glosas: Sequence[GlosaInput], where: str) -> list[GlosaInput]:
    checked = []
    for glosa in glosas:
        code = glosa.codigo.strip()
        lacking = sorted(v for v, table in ctx.glosa_tables.items() if code not in table)
        if not (len(code) == 4 and code.isdigit()) or len(lacking) == len(ctx.glosa_tables):
            raise BackOfficeError(f"{where}: código de glosa {code} não consta da tabela 38")
        if lacking:
            # Status answers and statements carry the code in dm_tipoGlosa of the version the
            # provider asks in; one a version lacks would make that answer invalid.
            raise BackOfficeError(
                f"{where}: código de glosa {code} não consta da tabela 38 da versão "
                f"{', '.join(lacking)}, que o gateway ainda aceita: o prestador que consultar "
                "nessa versão não poderia recebê-lo; use um código comum às versões aceitas"
            )
        checked.append(
            GlosaInput(
                code,
                money(glosa.valor, f"{where}: glosa {code}"),
                text(glosa.descricao, f"{where}: descrição da glosa {code}", GLOSA_TEXT_MAX),
            )
        )
    return checked


def _add_glosa(ctx: _Context, guide: Guide, item: GuideItem | None, glosa: GlosaInput) -> None:
    ctx.session.add(
        Glosa(
            protocol_id=ctx.protocol.id,
            guide_id=guide.id,
            item_id=item.id if item else None,
            codigo=glosa.codigo,
            valor=glosa.valor,
            descricao=glosa.descricao,
            recorded_at=ctx.now,
            actor=ctx.actor,
        )
    )
