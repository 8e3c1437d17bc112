"""Use case: answer an eligibility check (tissVerificaElegibilidade) from the beneficiary
registry."""

from dataclasses import replace
from datetime import date

from lxml import etree
from sqlalchemy.orm import Session

from gateway.services.answers import Answer
from gateway.services.beneficiaries import card_holder
from gateway.services.gateway import Gateway
from gateway.services.inbound import Inbound, Principal, ServiceSpec
from gateway.services.pipeline import Exchange, run_service
from gateway.tiss.eligibility import (
    BEFORE_JOINING,
    BEFORE_JOINING_UNTIL_4_03,
    CARD_INVALID,
    Eligibility,
    decide,
    resposta_elegibilidade,
)
from gateway.tiss.requests import eligibility_request

VERIFICA_ELEGIBILIDADE = ServiceSpec(
    name="tissVerificaElegibilidade",
    request_root="pedidoElegibilidadeWS",
    tipo_transacao="VERIFICA_ELEGIBILIDADE",
    response_root="respostaElegibilidadeWS",
    response_tipo="SITUACAO_ELEGIBILIDADE",
    reads_only=True,
)


def answer_eligibility(
    gw: Gateway, inbound: Inbound, message: etree._Element, principal: Principal | None = None
) -> Answer:
    return run_service(gw, VERIFICA_ELEGIBILIDADE, inbound, message, _handle, principal=principal)


def check_card(session: Session, today: date, numero_carteira: str) -> Eligibility | None:
    """The eligibility of a card today; None when the operator does not know the card."""
    row = session.scalar(card_holder(numero_carteira))
    if row is None:
        return None
    return Eligibility(
        # As asked: the provider's system matches the answer to its request by it.
        numero_carteira=numero_carteira.strip(),
        nome=row.name,
        validade_carteira=row.card_valid_until,
        reasons=decide(today, row.status, row.joined_on, row.left_on, row.card_valid_until),
    )


def card_status(gw: Gateway, numero_carteira: str) -> Eligibility | None:
    """The portal's "Elegibilidade": the same decision the web service answers, for today."""
    with gw.db.reading() as session:
        return check_card(session, gw.local(gw.utcnow()).date(), numero_carteira)


def _handle(ex: Exchange) -> Answer:
    request = eligibility_request(ex.message)
    ex.require_own(request.prestador)
    today = ex.gw.local(ex.received_at).date()
    result = check_card(ex.session, today, request.numero_carteira)
    if result is not None and BEFORE_JOINING in result.reasons:
        in_version = ex.glosa_code(BEFORE_JOINING, BEFORE_JOINING_UNTIL_4_03)
        reasons = tuple(in_version if c == BEFORE_JOINING else c for c in result.reasons)
        result = replace(result, reasons=reasons)
    codes = [CARD_INVALID] if result is None else list(result.reasons)
    return ex.reply(
        lambda header: resposta_elegibilidade(header, ex.gw.registro_ans(), result), codes=codes
    )
