"""Lots arriving at the same time through a real threaded HTTP server, on PostgreSQL: distinct lots
get distinct protocols; simultaneous resends of one lot get one lot and one protocol."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from gateway.tiss.samples import guides, lote_guias_ws
from storage import models
from tests.conftest import PROVIDER_A, PROVIDER_B, REGISTRO_ANS
from tests.tissclient import SoapAnswer, envelope, read_answer, sample_lot

THREADS = 8


@pytest.fixture(autouse=True)
def _postgresql_only(database_url):
    if database_url.startswith("sqlite"):
        pytest.skip(
            "concurrency is checked on PostgreSQL, the production database (CI runs the "
            "postgresql param); SQLite serialises writers with a file lock"
        )


@pytest.fixture
def settings_overrides():
    # The production default: a guide billed again is refused (conftest turns it off).
    return {"refuse_presented_guides": True}


def post_all(server_url: str, bodies: list[bytes]) -> list[SoapAnswer]:
    """POST every envelope at once from THREADS threads; each answer is checked against the
    official XSD (and its hash) by tissclient.read_answer."""
    first_wave = min(THREADS, len(bodies))
    start = threading.Barrier(first_wave)

    def send(index: int, body: bytes) -> SoapAnswer:
        with requests.Session() as http:
            if index < first_wave:
                start.wait(timeout=30)  # one request per thread, released together
            response = http.post(
                f"{server_url}/tiss/v40300/tissLoteGuias",
                data=body,
                timeout=60,
                headers={"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": '""'},
            )
        return read_answer(
            response.status_code, response.headers["Content-Type"], response.content, "4.03.00"
        )

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(send, range(len(bodies)), bodies))


def count(gw, model, *where) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def stored_numbers(gw) -> set[str]:
    with gw.db.reading() as s:
        return set(s.scalars(select(models.Protocol.numero)))


def test_twenty_distinct_lots_at_once_get_twenty_distinct_protocols(gw, server_url):
    bodies = [
        envelope(
            lote_guias_ws(
                sample_lot(
                    provider,
                    f"C{n:03d}",
                    registro_ans=REGISTRO_ANS,
                    guides=guides(2, prefix=f"C{n:03d}-"),  # a guide is billed once
                )
            )
        )
        for n in range(10)
        for provider in (PROVIDER_A, PROVIDER_B)
    ]
    answers = post_all(server_url, bodies)

    assert [a.is_fault for a in answers] == [False] * 20, [a.faultstring for a in answers]
    assert [a.code for a in answers] == [None] * 20
    numbers = [a.protocol for a in answers]
    assert all(numbers) and len(set(numbers)) == 20
    assert count(gw, models.Lot) == 20
    assert count(gw, models.Protocol) == 20
    assert stored_numbers(gw) == set(numbers)
    # Each answer names the lot it was sent for (no answer crossed to another request).
    lots = [a.text(".//ans:protocoloRecebimento/ans:numeroLote") for a in answers]
    assert lots == [f"C{n:03d}" for n in range(10) for _ in range(2)]
    assert count(gw, models.Message, models.Message.outcome == "accepted") == 20


def test_the_same_lot_sent_eight_times_at_once_is_one_lot_and_one_protocol(gw, server_url):
    body = envelope(lote_guias_ws(sample_lot(PROVIDER_A, "SAME1", 3, registro_ans=REGISTRO_ANS)))
    answers = post_all(server_url, [body] * THREADS)

    assert [a.is_fault for a in answers] == [False] * THREADS, [a.faultstring for a in answers]
    numbers = {a.protocol for a in answers}
    assert len(numbers) == 1 and None not in numbers, numbers
    assert count(gw, models.Lot) == 1
    assert count(gw, models.Protocol) == 1
    assert stored_numbers(gw) == numbers
    assert count(gw, models.Guide) == 3
    # Every request is archived: one accepted, the others answered as resends.
    assert count(gw, models.Message, models.Message.outcome == "accepted") == 1
    assert count(gw, models.Message, models.Message.outcome == "duplicate") == THREADS - 1


def test_lots_carrying_the_same_guide_at_once_bill_it_once(gw, server_url):
    """Eight lots, eight lot numbers, each with a guide of its own and the same guide SHARED1:
    one is protocolled, the seven others are refused with 1308 naming it (without the
    per-provider lock, each would find the guide new and bill it again)."""
    bodies = []
    for n in range(THREADS):
        lot = sample_lot(
            PROVIDER_A,
            f"S{n:03d}",
            registro_ans=REGISTRO_ANS,
            guides=[*guides(1, prefix=f"S{n:03d}-"), *guides(1, prefix="SHARED")],
        )
        bodies.append(envelope(lote_guias_ws(lot)))
    answers = post_all(server_url, bodies)

    assert [a.is_fault for a in answers] == [False] * THREADS, [a.faultstring for a in answers]
    assert sorted(a.code or "-" for a in answers) == ["-"] + ["1308"] * (THREADS - 1)
    assert all("SHARED000001" in a.text(".//ans:descricaoGlosa") for a in answers if a.code)
    assert count(gw, models.Lot) == 1
    assert count(gw, models.Guide, models.Guide.numero_guia_prestador == "SHARED000001") == 1
