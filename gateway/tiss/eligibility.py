"""respostaElegibilidadeWS: whether a card may be attended, and why not."""

from dataclasses import dataclass
from datetime import date

from lxml import etree

from gateway.tiss.codes import describe
from gateway.tiss.responses import AnswerHeader, clip, motivo_glosa, new_message, seal, sub

CARD_INVALID = "1001"
AFTER_TERMINATION = "1006"
SUSPENDED = "1016"
CARD_EXPIRED = "1017"
# Before the joining date: 3308 in 4.03.00's table 38; 4.02.00's has 1005 for the same.
BEFORE_JOINING = "3308"
BEFORE_JOINING_UNTIL_4_03 = "1005"


@dataclass(frozen=True)
class Eligibility:
    numero_carteira: str
    nome: str
    validade_carteira: date | None
    reasons: tuple[str, ...]  # table-38 codes; empty means eligible

    @property
    def eligible(self) -> bool:
        return not self.reasons


def resposta_elegibilidade(
    header: AnswerHeader, registro_ans: str, result: Eligibility | None
) -> etree._Element:
    """The recibo for a known card, eligible or not; the codigoGlosa branch (1001) for a card
    the operator does not know."""
    root = new_message("respostaElegibilidadeWS", header)
    resposta = sub(root, "respostaElegibilidade")
    if result is None:
        motivo_glosa(resposta, "codigoGlosa", CARD_INVALID, describe(CARD_INVALID))
        return seal(root)
    recibo = sub(resposta, "reciboElegibilidade")
    sub(recibo, "registroANS", registro_ans)
    sub(recibo, "numeroCarteira", result.numero_carteira)
    if result.validade_carteira is not None:
        sub(recibo, "validadeCarteira", result.validade_carteira.isoformat())
    sub(recibo, "nomeBeneficiario", clip(result.nome, 70))
    sub(recibo, "respostaSolicitacao", "S" if result.eligible else "N")
    if result.reasons:
        motivos = sub(recibo, "motivosNegativa")
        for code in result.reasons:
            motivo_glosa(motivos, "motivoNegativa", code)
    return seal(root)


def decide(
    today: date,
    status: str,
    joined_on: date | None,
    left_on: date | None,
    card_valid_until: date | None,
) -> tuple[str, ...]:
    """The table-38 reasons a known beneficiary cannot be attended today (none: eligible)."""
    reasons = []
    if joined_on is not None and joined_on > today:  # loaded ahead of the plan's start
        reasons.append(BEFORE_JOINING)
    # A leaving date decides: a cancellation recorded ahead of it (effective at the month's end,
    # say) leaves the beneficiary covered until then. Without one, "cancelado" means gone now.
    terminated = left_on < today if left_on is not None else status == "cancelado"
    if terminated:
        reasons.append(AFTER_TERMINATION)
    elif status == "suspenso":
        reasons.append(SUSPENDED)
    if card_valid_until is not None and card_valid_until < today:
        reasons.append(CARD_EXPIRED)
    return tuple(reasons)
