"""Recording the analysis of a protocol over the back-office API: values processed and released
per guide and item, glosas on guides and on items with table-38 codes, the defaults for what is
left out, the move to 5 (Analisado), and refusals that write nothing."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from storage import models
from tests.backoffice_client import (
    STAFF,
    fault_of,
    force_status,
    make_client,
    send_lot,
    stored_protocol,
)
from tests.conftest import PROVIDER_A

D = Decimal
# Each SP/SADT sample guide informs 150.00: item 1 = 75.00 and item 2 = 75.00.
ANALYSIS = [
    {
        "numeroGuiaPrestador": "G000001",
        "glosa": [{"codigoGlosa": "1705", "valor": D("5.00"), "descricao": "taxa cobrada a maior"}],
        "item": [
            {
                "sequencialItem": 1,
                "glosa": [
                    {
                        "codigoGlosa": "1801",
                        "valor": D("20.00"),
                        "descricao": "procedimento sem cobertura",
                    }
                ],
            },
            {"sequencialItem": 2, "valorProcessado": D("70.00")},
        ],
    }
]


@pytest.fixture
def bo(server_url, staff):
    return make_client(server_url)[0].service


@pytest.fixture
def numero(gw, client):
    numero = send_lot(client, PROVIDER_A, "ANAL1", count=3)
    force_status(gw, numero, 2)
    return numero


def values(row):
    return row.valor_processado, row.valor_liberado


def test_analysis_with_guide_and_item_glosas(gw, bo, numero):
    protocolo = bo.registrarAnalise(numeroProtocolo=numero, guia=ANALYSIS)

    stored = stored_protocol(gw, numero)
    first, second, third = stored.lot.guides
    # Item 1: processado = informado, liberado = processado - its glosa.
    assert values(first.items[0]) == (D("75.00"), D("55.00"))
    # Item 2: processado given, liberado = processado (no glosa).
    assert values(first.items[1]) == (D("70.00"), D("70.00"))
    # Guide: informado adjusted by the items (-5), minus every glosa on it and its items.
    assert values(first) == (D("145.00"), D("120.00"))
    # Guides left out are fully approved.
    for guide in (second, third):
        assert values(guide) == (D("150.00"), D("150.00"))
        assert [values(i) for i in guide.items] == [(D("75.00"), D("75.00"))] * 2
        assert guide.glosas == []

    glosas = sorted(first.glosas, key=lambda g: g.codigo)
    assert [(g.codigo, g.valor, g.item_id, g.actor) for g in glosas] == [
        ("1705", D("5.00"), None, STAFF.login),
        ("1801", D("20.00"), first.items[0].id, STAFF.login),
    ]
    assert all(g.protocol_id == stored.id for g in glosas)
    assert glosas[1].descricao == "procedimento sem cobertura"

    assert stored.status == 5 and stored.analyzed_at is not None
    # Put in 2 directly by the fixture, so the only entries are the reception and the analysis.
    assert [(h.status, h.actor, h.reason) for h in stored.history] == [
        (1, "gateway", "lote recebido"),
        (5, STAFF.login, "análise registrada"),
    ]

    # The answer shows what was stored.
    assert protocolo.status == 5
    assert protocolo.valorInformado == D("450.00")
    assert protocolo.valorProcessado == D("445.00")
    assert protocolo.valorLiberado == D("420.00")
    assert protocolo.valorGlosa == D("25.00")
    guia = protocolo.guia[0]
    assert [g.codigoGlosa for g in guia.glosa] == ["1705"]
    assert [g.codigoGlosa for g in guia.item[0].glosa] == ["1801"]
    assert guia.item[1].glosa == []


def test_analysis_from_2_appends_one_history_entry(gw, bo, client):
    numero = send_lot(client, PROVIDER_A, "ANAL2")
    bo.alterarStatusProtocolo(numeroProtocolo=numero, novoStatus=2)
    bo.registrarAnalise(numeroProtocolo=numero, motivo="conferido", guia=ANALYSIS)
    history = [(h.status, h.actor, h.reason) for h in stored_protocol(gw, numero).history]
    assert history == [
        (1, "gateway", "lote recebido"),
        (2, STAFF.login, None),
        (5, STAFF.login, "conferido"),
    ]


def test_analysis_from_8_resumes_then_ends(gw, bo, numero):
    force_status(gw, numero, 8)
    bo.registrarAnalise(numeroProtocolo=numero)
    assert [h.status for h in stored_protocol(gw, numero).history][-2:] == [2, 5]
    assert stored_protocol(gw, numero).status == 5


def test_analysis_without_guides_approves_everything(gw, bo, numero):
    protocolo = bo.registrarAnalise(numeroProtocolo=numero)
    assert protocolo.valorProcessado == protocolo.valorLiberado == protocolo.valorInformado
    assert protocolo.valorGlosa == D("0.00")


def test_reanalysis_in_5_replaces_the_glosas_and_keeps_the_status(gw, bo, numero):
    bo.registrarAnalise(numeroProtocolo=numero, guia=ANALYSIS)
    history_before = len(stored_protocol(gw, numero).history)

    second = [
        {
            "numeroGuiaPrestador": "G000002",
            "valorLiberado": D("100.00"),
            "glosa": [{"codigoGlosa": "1705", "valor": D("10.00")}],
        }
    ]
    protocolo = bo.registrarAnalise(numeroProtocolo=numero, guia=second)

    stored = stored_protocol(gw, numero)
    with gw.db.reading() as s:
        codes = s.scalars(select(models.Glosa.codigo).where(models.Glosa.protocol_id == stored.id))
        assert list(codes) == ["1705"]
    first, g2, _ = stored.lot.guides
    assert values(first) == (D("150.00"), D("150.00"))  # back to the default
    assert values(g2) == (D("150.00"), D("100.00"))  # explicit liberado wins over the glosas
    assert stored.status == 5 and len(stored.history) == history_before
    assert protocolo.valorGlosa == D("10.00")


@pytest.mark.parametrize(
    "guia, category, expected",
    [
        ([{"numeroGuiaPrestador": "G999999"}], "RequisicaoInvalida", "não faz parte"),
        (
            [{"numeroGuiaPrestador": "G000001"}, {"numeroGuiaPrestador": "G000001"}],
            "RequisicaoInvalida",
            "mais de uma vez",
        ),
        (
            [{"numeroGuiaPrestador": "G000001", "item": [{"sequencialItem": 9}]}],
            "RequisicaoInvalida",
            "sequencial 9",
        ),
        (
            [
                {
                    "numeroGuiaPrestador": "G000001",
                    "glosa": [{"codigoGlosa": "9999", "valor": D("1.00")}],
                }
            ],
            "RequisicaoInvalida",
            "9999 não consta da tabela 38",
        ),
        (
            [
                {
                    "numeroGuiaPrestador": "G000001",
                    "valorProcessado": D("100.00"),
                    "valorLiberado": D("100.01"),
                }
            ],
            "RequisicaoInvalida",
            "acima do valor processado",
        ),
        (
            [
                {
                    "numeroGuiaPrestador": "G000001",
                    "item": [
                        {
                            "sequencialItem": 1,
                            "glosa": [{"codigoGlosa": "1801", "valor": D("80.00")}],
                        }
                    ],
                }
            ],
            "RequisicaoInvalida",
            "as glosas somam 80.00, acima do valor processado 75.00",
        ),
        (
            [{"numeroGuiaPrestador": "G000001", "valorProcessado": D("-1.00")}],
            "RequisicaoInvalida",
            "valorProcessado",
        ),
        (
            [{"numeroGuiaPrestador": "G000001", "valorProcessado": D("1.001")}],
            "RequisicaoInvalida",
            "valorProcessado",
        ),
    ],
    ids=[
        "unknown-guide",
        "guide-twice",
        "unknown-item",
        "unknown-code",
        "liberado-above",
        "glosas-above",
        "negative",
        "three-decimals",
    ],
)
def test_refused_analysis_writes_nothing(gw, bo, numero, guia, category, expected):
    bo.registrarAnalise(numeroProtocolo=numero, guia=ANALYSIS)  # an earlier analysis, kept
    force_status(gw, numero, 2)
    before = stored_protocol(gw, numero)

    got_category, message = fault_of(bo.registrarAnalise, numeroProtocolo=numero, guia=guia)

    assert got_category == category and expected in message, message
    after = stored_protocol(gw, numero)
    assert after.status == 2 and after.analyzed_at == before.analyzed_at
    assert len(after.history) == len(before.history)
    assert [values(g) for g in after.lot.guides] == [values(g) for g in before.lot.guides]
    assert sorted(g.id for guide in after.lot.guides for g in guide.glosas) == sorted(
        g.id for guide in before.lot.guides for g in guide.glosas
    )


@pytest.mark.parametrize("status", [1, 3, 4, 6, 9])
def test_analysis_only_while_in_analysis(gw, bo, numero, status):
    force_status(gw, numero, status)
    category, message = fault_of(bo.registrarAnalise, numeroProtocolo=numero, guia=ANALYSIS)
    assert category == "OperacaoNaoPermitida" and f"está em {status} (" in message
    assert stored_protocol(gw, numero).analyzed_at is None
