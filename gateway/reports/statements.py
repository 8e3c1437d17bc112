"""PDFs of the statements: Demonstrativo de Pagamento and Demonstrativo de Análise de Conta,
with the same numbers, protocols, guides, glosas and totals as demonstrativoRetornoWS."""

from datetime import datetime

from gateway.reports.pdf import SMALL, Report, day, money
from gateway.services.provider_area.statements import AnalysisStatement, PaymentStatement
from gateway.tiss.codes import describe
from gateway.tiss.domains import DEBITO_CREDITO, FORMA_PAGAMENTO, status_label
from gateway.tiss.statements import CREDIT, DEBIT, StatementParties
from gateway.tiss.views import ZERO


def _issuer(parties: StatementParties) -> str:
    return f"{parties.nome_operadora} · Registro ANS {parties.registro_ans}"


def _parties(report: Report, parties: StatementParties, provider_name: str, numero: str) -> None:
    report.fields(
        [
            ("Número do demonstrativo", numero),
            ("Data de emissão", day(parties.data_emissao)),
            ("Prestador", provider_name),
            ("Código do prestador", parties.codigo_prestador),
            ("CNES", parties.cnes),
            ("CNPJ da operadora", parties.cnpj_operadora),
        ]
    )


def payment(statement: PaymentStatement, generated_at: datetime) -> bytes:
    report = Report(
        "Demonstrativo de Pagamento",
        _issuer(statement.parties),
        f"{statement.kind_label} · {statement.period}",
    )
    _parties(report, statement.parties, statement.provider_name, statement.numero)
    for pay in statement.payments:
        report.heading(f"Pagamento de {day(pay.data_pagamento)}")
        report.fields(
            [
                (
                    "Forma de pagamento",
                    FORMA_PAGAMENTO.get(pay.forma_pagamento, pay.forma_pagamento),
                ),
                (
                    "Banco / agência / conta",
                    " / ".join(v for v in (pay.banco, pay.agencia, pay.conta) if v) or "—",
                ),
            ]
        )
        report.space(2)
        report.table(
            ["Protocolo", "Lote", "Data", "Informado", "Processado", "Glosado", "Liberado"],
            [
                [
                    pr.numero,
                    pr.numero_lote,
                    day(pr.data_protocolo),
                    money(pr.total("valor_informado")),
                    money(pr.total("valor_processado")),
                    money(pr.total("valor_glosa")),
                    money(pr.total("valor_pago")),
                ]
                for pr in pay.protocols
            ],
            [0.16, 0.12, 0.12, 0.15, 0.15, 0.15, 0.15],
            numeric=(3, 4, 5, 6),
            total=[
                "Total bruto",
                "",
                "",
                money(pay.total("valor_informado")),
                money(pay.total("valor_processado")),
                money(pay.total("valor_glosa")),
                money(pay.total("valor_pago")),
            ],
        )
        if pay.adjustments:
            report.space(2)
            report.table(
                ["Débito / crédito", "Tipo", "Descrição", "Valor"],
                [
                    [
                        "Débito" if a.indicador == DEBIT else "Crédito",
                        DEBITO_CREDITO.get(a.tipo, a.tipo),
                        a.descricao,
                        money(a.valor),
                    ]
                    for a in pay.adjustments
                ],
                [0.18, 0.27, 0.35, 0.2],
                numeric=(3,),
            )
        report.space(2)
        report.fields(
            [
                ("Total de débitos", money(pay.adjustments_total(DEBIT))),
                ("Total de créditos", money(pay.adjustments_total(CREDIT))),
                ("Valor líquido", money(pay.liquido)),
            ],
            columns=3,
        )
    report.heading("Totais do demonstrativo")
    pays = statement.payments
    report.fields(
        [
            ("Valor informado", money(sum((x.total("valor_informado") for x in pays), ZERO))),
            ("Valor processado", money(sum((x.total("valor_processado") for x in pays), ZERO))),
            ("Valor glosado", money(sum((x.total("valor_glosa") for x in pays), ZERO))),
            ("Valor liberado (bruto)", money(sum((x.total("valor_pago") for x in pays), ZERO))),
            ("Débitos", money(sum((x.adjustments_total(DEBIT) for x in pays), ZERO))),
            ("Créditos", money(sum((x.adjustments_total(CREDIT) for x in pays), ZERO))),
            ("Valor líquido a receber", money(sum((x.liquido for x in pays), ZERO))),
        ]
    )
    return report.bytes(generated_at)


def analysis(statement: AnalysisStatement, generated_at: datetime) -> bytes:
    view = statement.view
    report = Report(
        "Demonstrativo de Análise de Conta",
        _issuer(statement.parties),
        f"Protocolo {view.numero} · lote {view.numero_lote}",
        wide=True,
    )
    _parties(report, statement.parties, statement.provider_name, statement.numero)
    report.space(2)
    report.fields(
        [
            ("Protocolo", view.numero),
            ("Lote", view.numero_lote),
            ("Data do protocolo", day(view.data_envio)),
            ("Situação", f"{view.status} - {status_label(view.status)}"),
        ]
    )
    report.heading("Guias e itens")
    rows = []
    for guide in view.guides:
        for item in guide.items:
            rows.append(
                [
                    guide.numero_guia_prestador,
                    guide.numero_carteira,
                    item.sequencial,
                    f"{item.codigo_tabela} {item.codigo_procedimento}",
                    item.descricao,
                    money(item.valor_informado),
                    money(item.valor_processado),
                    money(item.valor_liberado),
                    "; ".join(f"{g.code} ({money(g.valor)})" for g in item.glosas) or "—",
                ]
            )
        for glosa in guide.glosas:
            rows.append(
                [
                    guide.numero_guia_prestador,
                    guide.numero_carteira,
                    "guia",
                    "",
                    "",
                    "",
                    "",
                    "",
                    f"{glosa.code} ({money(glosa.valor)})",
                ]
            )
    report.table(
        [
            "Guia",
            "Carteira",
            "Item",
            "Procedimento",
            "Descrição",
            "Informado",
            "Processado",
            "Liberado",
            "Glosas",
        ],
        rows,
        [0.1, 0.11, 0.05, 0.1, 0.2, 0.1, 0.1, 0.1, 0.14],
        numeric=(5, 6, 7),
        total=[
            "Total",
            "",
            "",
            "",
            "",
            money(view.informado),
            money(view.processado),
            money(view.liberado),
            money(view.glosado),
        ],
    )
    codes = sorted({g.code for guide in view.guides for g in guide.all_glosas})
    if codes:
        report.heading("Motivos de glosa")
        for code in codes:
            report.text(f"{code} – {describe(code)}", SMALL)
    report.heading("Totais do protocolo")
    report.fields(
        [
            ("Valor informado", money(view.informado)),
            ("Valor processado", money(view.processado)),
            ("Valor glosado", money(view.glosado)),
            ("Valor liberado", money(view.liberado)),
        ]
    )
    return report.bytes(generated_at)
