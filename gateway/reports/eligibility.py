"""The printable answer of an eligibility check (seed 004, 5.1: "Imprimir")."""

from datetime import datetime

from gateway.reports.pdf import Report, day, moment
from gateway.tiss.codes import describe
from gateway.tiss.eligibility import CARD_INVALID, Eligibility


def receipt(
    result: Eligibility | None,
    numero_carteira: str,
    *,
    operator: str,
    provider: str,
    generated_at: datetime,
) -> bytes:
    eligible = result is not None and result.eligible
    report = Report("Verificação de Elegibilidade", operator, f"Consulta de {provider}")
    report.fields(
        [
            ("Carteira", result.numero_carteira if result else numero_carteira),
            ("Beneficiário", result.nome if result else "—"),
            ("Validade da carteira", day(result.validade_carteira) if result else "—"),
            ("Resultado", "ELEGÍVEL" if eligible else "INELEGÍVEL"),
            ("Consultado em", moment(generated_at)),
        ],
        columns=1,
    )
    reasons = (CARD_INVALID,) if result is None else result.reasons
    if reasons:
        report.heading("Motivos")
        for code in reasons:
            report.text(f"{code} – {describe(code)}")
    report.space(6)
    report.text(
        "A elegibilidade vale para a data da consulta e não substitui a autorização dos "
        "procedimentos que a exigem."
    )
    return report.bytes(generated_at)
