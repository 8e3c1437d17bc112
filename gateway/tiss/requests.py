"""Reading the bodies of provider queries (status, eligibility, statements)."""

import calendar
import re
from dataclasses import dataclass
from datetime import date

from lxml import etree

from gateway.tiss.dates import DateOutOfRange, day_of
from gateway.tiss.header import CNPJ, CODIGO_PRESTADOR, CPF, Party
from gateway.tiss.namespaces import ANS

_NS = {"ans": ANS}
# ct_contratadoDados spells the same identifications differently from ct_prestadorIdentificacao.
_CONTRATADO = {
    "codigoPrestadorNaOperadora": CODIGO_PRESTADOR,
    "cpfContratado": CPF,
    "cnpjContratado": CNPJ,
}


def contratado(el: etree._Element | None) -> Party | None:
    """A ct_contratadoDados element as a Party (kinds as in cabecalho/origem)."""
    if el is None:
        return None
    for child in el.iterchildren(etree.Element):
        kind = _CONTRATADO.get(etree.QName(child).localname)
        if kind is not None:
            return Party(kind, (child.text or "").strip())
    return None


def _text(el: etree._Element, path: str) -> str | None:
    found = el.find(path, _NS)
    return found.text.strip() if found is not None and found.text else None


@dataclass(frozen=True)
class StatusRequest:
    prestador: Party | None
    numero_protocolo: str


def status_request(message: etree._Element) -> StatusRequest:
    body = message.find("ans:solicitacaoStatusProtocolo", _NS)
    return StatusRequest(
        prestador=contratado(body.find("ans:dadosPrestador", _NS)),
        numero_protocolo=_text(body, "ans:numeroProtocolo") or "",
    )


@dataclass(frozen=True)
class EligibilityRequest:
    prestador: Party | None
    numero_carteira: str
    validade_carteira: date | None


def eligibility_request(message: etree._Element) -> EligibilityRequest:
    body = message.find("ans:pedidoElegibilidade", _NS)
    validade = _text(body, "ans:validadeCarteira")
    return EligibilityRequest(
        prestador=contratado(body.find("ans:dadosPrestador", _NS)),
        numero_carteira=_text(body, "ans:numeroCarteira") or "",
        validade_carteira=_validity(validade),
    )


def _validity(text: str | None) -> date | None:
    """The card's validity as the provider informed it. Informative only (the operator's
    registry decides), so a year no card can have reads as not informed rather than refusing
    the check; the message keeps it as sent in the archive."""
    try:
        return day_of(text) if text else None
    except DateOutOfRange:
        return None


# st_competencia is only [0-9]{4}[0-9]{2}: 202613, 202600 and 000000 pass the schema. As the
# back office's COMPETENCIA, the month is 01 to 12; and, as for dates (0001-9999), there is no
# year 0000.
_COMPETENCIA = re.compile(r"(?!0000)[0-9]{4}(0[1-9]|1[0-2])")


class InvalidCompetencia(ValueError):
    """A schema-valid competência (AAAAMM) that names no month (5046 COMPETÊNCIA INVÁLIDA)."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"competência {text} não é um mês: use AAAAMM, com o mês de 01 a 12")


def _checked_competencia(text: str | None) -> str | None:
    """The competência as sent (AAAAMM); raises InvalidCompetencia when it names no month."""
    if text is not None and not _COMPETENCIA.fullmatch(text):
        raise InvalidCompetencia(text)
    return text


@dataclass(frozen=True)
class StatementRequest:
    kind: str  # "pagamento" | "analise"
    prestador: Party | None
    data_solicitacao: date
    tipo_demonstrativo: str | None = None  # 1 médico, 3 odontológico (pagamento)
    data_pagamento: date | None = None
    competencia: str | None = None  # AAAAMM, a real month
    protocolos: tuple[str, ...] = ()

    def last_day(self) -> date | None:
        """The last day of the payment period asked: the payment date, or the competência's
        last day (None for an analysis statement)."""
        if self.data_pagamento is not None or self.competencia is None:
            return self.data_pagamento
        year, month = int(self.competencia[:4]), int(self.competencia[4:])
        return date(year, month, calendar.monthrange(year, month)[1])


def statement_request(message: etree._Element) -> StatementRequest:
    """The statement asked for. Raises DateOutOfRange or InvalidCompetencia for a period the
    schema lets through but no one can have meant."""
    body = message.find("ans:solicitacaoDemonstrativoRetorno", _NS)
    pagamento = body.find("ans:demonstrativoPagamento", _NS)
    if pagamento is not None:
        data_pagamento = _text(pagamento, "ans:periodo/ans:dataPagamento")
        return StatementRequest(
            kind="pagamento",
            prestador=contratado(pagamento.find("ans:dadosPrestador", _NS)),
            data_solicitacao=day_of(_text(pagamento, "ans:dataSolicitacao")),
            tipo_demonstrativo=_text(pagamento, "ans:tipoDemonstrativo"),
            data_pagamento=day_of(data_pagamento) if data_pagamento else None,
            competencia=_checked_competencia(_text(pagamento, "ans:periodo/ans:competencia")),
        )
    analise = body.find("ans:demonstrativoAnalise", _NS)
    return StatementRequest(
        kind="analise",
        prestador=contratado(analise.find("ans:dadosPrestador", _NS)),
        data_solicitacao=day_of(_text(analise, "ans:dataSolicitacao")),
        protocolos=tuple(
            (p.text or "").strip()
            for p in analise.iterfind("ans:protocolos/ans:numeroProtocolo", _NS)
        ),
    )
