"""PDFs of one protocol: the Capa de Lote attached to the paper invoice, and the protocol
reports (analítico: every guide, item and glosa; sintético: one line per guide)."""

from datetime import datetime

from gateway.reports.pdf import SMALL, Report, document, iso_day, moment, money, quantity
from gateway.services.provider_area.protocols import ProtocolSummary
from gateway.tiss.codes import describe
from gateway.tiss.views import ProtocolView


def _issuer(summary: ProtocolSummary) -> str:
    return f"{summary.operator_name} · Registro ANS {summary.registro_ans or '—'}"


def _protocol_fields(report: Report, summary: ProtocolSummary) -> None:
    view = summary.view
    report.fields(
        [
            ("Prestador", summary.provider_name),
            ("Código do prestador", view.codigo_prestador),
            ("CNPJ/CPF", document(summary.provider_document)),
            ("Protocolo", view.numero),
            ("Número do lote", view.numero_lote),
            ("Data de envio", moment(summary.received_at)),
            ("Tipo de guia", summary.guide_type_label),
            ("Quantidade de guias", summary.guide_count),
            ("Situação", f"{view.status} - {summary.status_label}"),
        ]
    )


def _totals(report: Report, view: ProtocolView) -> None:
    report.table(
        ["Valor informado", "Valor processado", "Valor glosado", "Valor liberado"],
        [
            [
                money(view.informado),
                money(view.processado),
                money(view.glosado),
                money(view.liberado),
            ]
        ],
        [0.25, 0.25, 0.25, 0.25],
        numeric=(0, 1, 2, 3),
    )


def capa_de_lote(summary: ProtocolSummary, generated_at: datetime) -> bytes:
    view = summary.view
    report = Report("Capa de Lote", _issuer(summary), f"Protocolo {view.numero}")
    _protocol_fields(report, summary)
    report.heading("Valores do lote")
    _totals(report, view)
    if not view.analyzed:
        report.text("Glosado e liberado ficam conhecidos depois da análise da operadora.", SMALL)
    report.heading("Guias do lote")
    report.table(
        ["Nº guia prestador", "Carteira", "Atendimento", "Informado", "Glosado", "Liberado"],
        [
            [
                g.numero_guia_prestador,
                g.numero_carteira,
                iso_day(g.data_realizacao),
                money(g.valor_informado),
                money(g.glosado),
                money(g.liberado),
            ]
            for g in view.guides
        ],
        [0.2, 0.2, 0.15, 0.15, 0.15, 0.15],
        numeric=(3, 4, 5),
        total=["Total", "", "", money(view.informado), money(view.glosado), money(view.liberado)],
    )
    report.space(10)
    report.text("Anexe esta capa à fatura física entregue à operadora.")
    report.space(12)
    report.fields(
        [
            ("Entregue por (nome e assinatura)", " "),
            ("Recebido pela operadora em", "____/____/________"),
        ],
        columns=1,
    )
    return report.bytes(generated_at)


def analytic(summary: ProtocolSummary, generated_at: datetime) -> bytes:
    """Relatório analítico: every guide with its items, values and glosas."""
    view = summary.view
    report = Report(
        "Relatório de Protocolo – Analítico",
        _issuer(summary),
        f"Protocolo {view.numero}",
        wide=True,
    )
    _protocol_fields(report, summary)
    report.heading("Totais")
    _totals(report, view)
    for guide in view.guides:
        report.heading(f"Guia {guide.numero_guia_prestador} · carteira {guide.numero_carteira}")
        report.table(
            [
                "Seq.",
                "Data",
                "Tabela",
                "Código",
                "Descrição",
                "Qtde.",
                "Informado",
                "Processado",
                "Liberado",
                "Glosas",
            ],
            [
                [
                    item.sequencial,
                    iso_day(item.data_realizacao),
                    item.codigo_tabela,
                    item.codigo_procedimento,
                    item.descricao,
                    quantity(item.quantidade),
                    money(item.valor_informado),
                    money(item.valor_processado),
                    money(item.valor_liberado),
                    "; ".join(
                        f"{g.code} {describe(g.code)} ({money(g.valor)})" for g in item.glosas
                    )
                    or "—",
                ]
                for item in guide.items
            ],
            [0.04, 0.08, 0.05, 0.08, 0.2, 0.05, 0.1, 0.1, 0.1, 0.2],
            numeric=(5, 6, 7, 8),
            total=[
                "",
                "",
                "",
                "",
                "Total da guia",
                "",
                money(guide.valor_informado),
                money(guide.processado),
                money(guide.liberado),
                money(guide.glosado),
            ],
        )
        for glosa in guide.glosas:
            report.text(
                f"Glosa da guia: {glosa.code} {describe(glosa.code)} – {money(glosa.valor)}"
                + (f" – {glosa.descricao}" if glosa.descricao else ""),
                SMALL,
            )
    return report.bytes(generated_at)


def synthetic(summary: ProtocolSummary, generated_at: datetime) -> bytes:
    """Relatório sintético: one line per guide and the protocol's totals."""
    view = summary.view
    report = Report(
        "Relatório de Protocolo – Sintético", _issuer(summary), f"Protocolo {view.numero}"
    )
    _protocol_fields(report, summary)
    report.heading("Guias")
    report.table(
        ["Nº guia", "Carteira", "Informado", "Processado", "Glosado", "Liberado"],
        [
            [
                g.numero_guia_prestador,
                g.numero_carteira,
                money(g.valor_informado),
                money(g.processado),
                money(g.glosado),
                money(g.liberado),
            ]
            for g in view.guides
        ],
        [0.18, 0.18, 0.16, 0.16, 0.16, 0.16],
        numeric=(2, 3, 4, 5),
        total=[
            "Total",
            "",
            money(view.informado),
            money(view.processado),
            money(view.glosado),
            money(view.liberado),
        ],
    )
    return report.bytes(generated_at)
