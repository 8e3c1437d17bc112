"""The three provider queries (tissSolicitacaoStatusProtocolo, tissVerificaElegibilidade,
tissSolicitacaoDemonstrativoRetorno) fed what hospital systems really send, in 4.01.00, 4.02.00
and 4.03.00: protocol numbers that do not exist, belong to someone else, lost their zeros or are
not numbers; every status the back office can set; card numbers typed with spaces, zero-padded,
too long, of beneficiaries leaving around Brazilian midnight; the fields TISS 4 removed;
statements of 1, 30 and 31 protocols, repeated, foreign or not analysed; payment statements of
empty, next-month and impossible periods; and stored texts outside ISO-8859-1.

Every answer is read by tests/tissclient.py, which validates it against the OFFICIAL XSD of its
version and recomputes its hash over ISO-8859-1 as a provider's system does; every query is
checked to be archived with its exact bytes and its answer."""

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import select

from gateway.services.admin import add_provider, set_operator
from gateway.services.backoffice.analysis import (
    GlosaInput,
    GuideAnalysis,
    ItemAnalysis,
    record_analysis,
)
from gateway.services.backoffice.payments import (
    Adjustment,
    PaymentInput,
    ProtocolPayment,
    record_payment,
)
from gateway.services.backoffice.protocols import change_status
from gateway.services.backoffice.staff import StaffPrincipal
from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
from gateway.services.gateway import Gateway
from gateway.tiss.namespaces import q
from gateway.tiss.samples import (
    SampleQuery,
    lote_guias_ws,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_demonstrativo_pagamento_ws,
    solicitacao_status_ws,
)
from gateway.tiss.schemas import (
    ORIGIN_IMPORTED,
    SchemaRegistry,
    SchemaSet,
    expected_file_names,
    sha256_file,
)
from storage import models
from tests.conftest import (
    PROVIDER_A,
    PROVIDER_B,
    REGISTRO_ANS,
    SHARED_TISS,
    _wipe,
    make_settings,
)
from tests.tissclient import NS, SoapAnswer, envelope, leaf_md5, post, sample_lot, sample_query

VERSIONS = ["4.01.00", "4.02.00", "4.03.00"]
STATUS = "tissSolicitacaoStatusProtocolo"
ELEGIBILIDADE = "tissVerificaElegibilidade"
DEMONSTRATIVO = "tissSolicitacaoDemonstrativoRetorno"
ANALISTA = StaffPrincipal(0, "analista.extremos")
# Brazil has had no daylight saving time since 2019: São Paulo is UTC-3 all year.
BRT = timedelta(hours=-3)


def not_found_code(version: str) -> str:
    """PROTOCOLO NÃO LOCALIZADO (3291) exists only from 4.03.00; IDENTIFICADOR INEXISTENTE
    (5052) is the closest code before it."""
    return "3291" if version == "4.03.00" else "5052"


# --- a gateway that also accepts 4.01.00 (from the official package in shared/) ---------------


@pytest.fixture(scope="module")
def registry_401(registry) -> SchemaRegistry:
    """The session's verified sets plus the official 4.01.00 set, in a registry of this module's
    own (the session's stays as other modules expect it)."""
    extended = SchemaRegistry()
    for schema_set in registry:
        extended.add(schema_set)
    directory = SHARED_TISS / "schemas" / "4.01.00"
    digests = {n: sha256_file(directory / n) for n in expected_file_names("4.01.00")}
    set_401 = SchemaSet("4.01.00", ORIGIN_IMPORTED, directory, digests)
    extended.add(set_401)
    set_401.compile()
    return extended


@pytest.fixture
def gw(migrated, registry_401, database_url, tmp_path) -> Gateway:
    _wipe(migrated)
    set_operator(migrated, REGISTRO_ANS, "Operadora Teste")
    for p in (PROVIDER_A, PROVIDER_B):
        add_provider(migrated, cnpj=p.cnpj, code=p.code, name=p.name, password=p.password)
    settings = make_settings(database_url, tmp_path, accepted_versions=tuple(VERSIONS))
    return Gateway(settings=settings, db=migrated, schemas=registry_401)


@dataclass
class Clock:
    """The gateway's clock (Gateway.utcnow), set by the test."""

    now: datetime


@pytest.fixture
def clock(gw, monkeypatch) -> Clock:
    moment = Clock(datetime(2026, 11, 21, 13, 0, tzinfo=UTC))
    monkeypatch.setattr(gw, "utcnow", lambda: moment.now)
    return moment


# --- sending and reading back -----------------------------------------------------------------


def query_for(provider, version: str = "4.03.00", **kw) -> SampleQuery:
    return sample_query(provider, **{"registro_ans": REGISTRO_ANS, "version": version, **kw})


@dataclass
class Archived:
    service: str
    outcome: str
    codes: str | None
    fault: str | None
    provider_id: int | None
    protocol_id: int | None
    version: str | None


def send(
    client, gw, element, service: str, version: str, encoding: str = "ISO-8859-1"
) -> tuple[SoapAnswer, Archived]:
    """POST the element as a provider would (answer validated against the official XSD, hash
    recomputed), then read its archive record: the exact bytes sent, and the answer sent back."""
    raw = envelope(element, encoding)
    answer = post(client, None, version=version, service=service, encoding=encoding, raw=raw)
    with gw.db.reading() as s:
        if answer.payload is not None:
            sequencial = answer.text(
                "ans:cabecalho/ans:identificacaoTransacao/ans:sequencialTransacao"
            )
            record = s.get(models.Message, int(sequencial))
        else:
            record = s.scalars(select(models.Message).order_by(models.Message.id.desc())).first()
        assert record is not None and record.service == service
        assert record.raw_request == raw, "the request is archived exactly as received"
        if answer.payload is not None:
            stored = etree.fromstring(record.raw_response)
            assert _c14n(stored) == _c14n(answer.payload), "the answer is archived as sent"
        else:
            assert answer.tiss_fault.encode() in record.raw_response
        return answer, Archived(
            record.service,
            record.outcome,
            record.codes,
            record.fault,
            record.provider_id,
            record.protocol_id,
            record.version,
        )


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True)


def provider_id(gw, provider) -> int:
    with gw.db.reading() as s:
        return s.scalar(
            select(models.Provider.id).where(models.Provider.codigo_na_operadora == provider.code)
        )


def protocol_id(gw, numero: str) -> int:
    with gw.db.reading() as s:
        return s.scalar(select(models.Protocol.id).where(models.Protocol.numero == numero))


def send_lot(client, provider, numero_lote, *, count=2, version="4.03.00") -> str:
    lot = sample_lot(
        provider,
        numero_lote,
        count,
        registro_ans=REGISTRO_ANS,
        guide_type="guiaSP-SADT",
        version=version,
    )
    answer = post(client, lote_guias_ws(lot), version=version)
    assert answer.protocol, answer.raw
    return answer.protocol


def reseal(root: etree._Element, encoding: str = "iso-8859-1") -> etree._Element:
    """Recompute the hash of a message changed after it was built, as the sender's system does
    (ISO-8859-1 per the standard, or UTF-8 as some systems in the field do)."""
    texts = []
    for child in root:
        if etree.QName(child).localname in ("hash", "Signature"):
            continue
        texts.extend(el.text or "" for el in child.iter() if len(el) == 0)
    root.find("ans:hash", NS).text = hashlib.md5("".join(texts).encode(encoding)).hexdigest()
    return root


def status_of(client, gw, numero, *, version="4.03.00", provider=PROVIDER_A):
    element = solicitacao_status_ws(query_for(provider, version), numero)
    return send(client, gw, element, STATUS, version)


def analysis_statement(client, gw, protocolos, *, version="4.03.00", encoding="ISO-8859-1"):
    element = solicitacao_demonstrativo_analise_ws(query_for(PROVIDER_A, version), protocolos)
    return send(client, gw, element, DEMONSTRATIVO, version, encoding)


def payment_statement(client, gw, *, version="4.03.00", encoding="ISO-8859-1", **period):
    element = solicitacao_demonstrativo_pagamento_ws(query_for(PROVIDER_A, version), **period)
    return send(client, gw, element, DEMONSTRATIVO, version, encoding)


def analyse(gw, numero, *, guide_glosa=None, item_glosa=None, now=None):
    """The operator's analysis through the back office's use case: 1 -> 2 first when needed,
    then glosas on the first guide (as a whole and/or on its first item)."""
    with gw.db.reading() as s:
        status = s.scalar(select(models.Protocol.status).where(models.Protocol.numero == numero))
    if status == 1:
        change_status(gw.db, ANALISTA, numero, 2, now=now)
    items = (ItemAnalysis(1, glosas=[item_glosa]),) if item_glosa else ()
    guides = [GuideAnalysis("G000001", glosas=[guide_glosa] if guide_glosa else (), items=items)]
    return record_analysis(gw.db, ANALISTA, numero, guides, now=now, glosa_tables=gw.glosa_tables())


def pay(gw, numeros, *, when=date(2026, 11, 30), competencia="202611", adjustments=()):
    return record_payment(
        gw.db,
        ANALISTA,
        PaymentInput(
            provider_code=PROVIDER_A.code,
            data_pagamento=when,
            competencia=competencia,
            forma_pagamento="1",
            protocols=[ProtocolPayment(n) for n in numeros],
            adjustments=list(adjustments),
            banco="341",
            agencia="1234",
            conta="99887",
        ),
    )


def texts(element, path) -> list[str]:
    return [e.text for e in element.iterfind(path, NS)]


def header_text(answer: SoapAnswer, name: str) -> str:
    return answer.text(f"ans:cabecalho/ans:identificacaoTransacao/ans:{name}")


def without_header(answer: SoapAnswer) -> bytes:
    """The answer minus what differs per message (cabecalho, hash)."""
    copy = etree.fromstring(etree.tostring(answer.payload))
    for name in ("cabecalho", "hash"):
        copy.remove(copy.find(f"ans:{name}", NS))
    return _c14n(copy)


# === tissSolicitacaoStatusProtocolo ===========================================================

# st_texto12 lets a provider send anything up to 12 characters: none of these is a protocol of
# provider A, whose own protocol exists (so that a LIKE, a cast or a trim would show).
NOT_PROTOCOLS = [
    "999999999999",
    "0",
    "000000000000",
    "-1",
    "ABC",
    "' OR 1=1 --",
    "%",
    "_",
    "0000000000%_",
    "1e3",
    "   ",
]


@pytest.mark.parametrize("version", VERSIONS)
def test_status_of_numbers_that_are_no_protocol_is_not_found(client, gw, version):
    mine = send_lot(client, PROVIDER_A, "NF1", version=version)
    reference = None
    for numero in NOT_PROTOCOLS:
        answer, record = status_of(client, gw, numero, version=version)
        assert answer.code == not_found_code(version), numero
        assert answer.payload.find(".//ans:situacaoDoProtocolo", NS) is None
        assert mine.encode() not in answer.raw and b"NF1" not in answer.raw
        assert (record.outcome, record.codes, record.protocol_id) == (
            "accepted",
            not_found_code(version),
            None,
        )
        assert record.provider_id == provider_id(gw, PROVIDER_A)
        assert record.version == version
        # Whatever was asked, the same answer: nothing of the request is echoed.
        reference = reference or without_header(answer)
        assert without_header(answer) == reference, numero


@pytest.mark.parametrize("version", VERSIONS)
def test_another_providers_protocol_is_answered_and_archived_like_none(client, gw, version):
    """Not only the answer: the archive record, which the provider's "Consultar Arquivos" shows
    with its protocol, must not point at provider B's protocol either."""
    theirs = send_lot(client, PROVIDER_B, "SEGREDO-B", version=version)
    answer, record = status_of(client, gw, theirs, version=version)
    unknown, _ = status_of(client, gw, "999999999999", version=version)
    assert answer.code == not_found_code(version)
    assert without_header(answer) == without_header(unknown)
    assert b"SEGREDO-B" not in answer.raw and PROVIDER_B.code.encode() not in answer.raw
    assert record.protocol_id is None
    assert record.provider_id == provider_id(gw, PROVIDER_A)
    # And B itself still gets it.
    own, own_record = status_of(client, gw, theirs, version=version, provider=PROVIDER_B)
    assert own.text(".//ans:detalheLote/ans:numeroLote") == "SEGREDO-B"
    assert own_record.protocol_id == protocol_id(gw, theirs)


def test_status_of_the_protocol_number_as_received_is_found(client, gw):
    numero = send_lot(client, PROVIDER_A, "Z1")
    assert len(numero) == 12 and numero.isdigit()
    answer, record = status_of(client, gw, numero)
    assert answer.text(".//ans:detalheLote/ans:numeroProtocolo") == numero
    assert record.protocol_id == protocol_id(gw, numero)


def test_status_of_the_protocol_number_without_its_leading_zeros_is_found(client, gw):
    numero = send_lot(client, PROVIDER_A, "Z2")
    answer, record = status_of(client, gw, numero.lstrip("0"))
    assert answer.text(".//ans:detalheLote/ans:numeroProtocolo") == numero
    assert record.protocol_id == protocol_id(gw, numero)


@pytest.mark.parametrize("sent", ["{n} ", " {n}", "\t{n}\n", "0{n}"])
def test_a_protocol_number_padded_beyond_12_characters_breaks_the_schema(client, gw, sent):
    """st_texto12 counts every character, spaces included: the official schema refuses it, and
    the answer is the SchemaInvalido fault (5001), archived as rejected."""
    numero = send_lot(client, PROVIDER_A, "Z3")
    answer, record = status_of(client, gw, sent.format(n=numero))
    assert answer.tiss_fault == "SchemaInvalido" and answer.code == "5001"
    assert "numeroProtocolo" in answer.faultstring
    assert (record.outcome, record.codes, record.fault) == ("rejected", "5001", "SchemaInvalido")
    assert record.protocol_id is None


@pytest.mark.parametrize("version", VERSIONS)
def test_status_in_every_state_the_back_office_can_set(client, gw, version):
    """dm_statusProtocolo 1, 2, 3, 4, 5, 6, 8 and 9 (7 is never a state): each answered with its
    own code, valid under the official XSD of the version asked, values zero until analysed."""
    states = (1, 2, 3, 4, 5, 6, 8, 9)
    numeros = {s: send_lot(client, PROVIDER_A, f"ST{s}", version=version) for s in states}
    glosa = GlosaInput("1801", Decimal("20.00"), "Procedimento inválido")
    change_status(gw.db, ANALISTA, numeros[2], 2)
    change_status(gw.db, ANALISTA, numeros[4], 4, "Lote encerrado: guias em duplicidade")
    change_status(gw.db, ANALISTA, numeros[8], 8, "Enviar laudo do exame")
    change_status(gw.db, ANALISTA, numeros[9], 9, "Cancelado a pedido do prestador")
    for s in (3, 5, 6):
        analyse(gw, numeros[s], item_glosa=glosa)
    change_status(gw.db, ANALISTA, numeros[3], 3)
    pay(gw, [numeros[6]])
    for status, numero in numeros.items():
        answer, record = status_of(client, gw, numero, version=version)
        detalhe = answer.payload.find(".//ans:situacaoDoProtocolo/ans:lote/ans:detalheLote", NS)
        assert detalhe is not None, (status, answer.raw)
        assert detalhe.findtext("ans:statusProtocolo", namespaces=NS) == str(status)
        assert detalhe.findtext("ans:numeroProtocolo", namespaces=NS) == numero
        assert detalhe.findtext("ans:numeroLote", namespaces=NS) == f"ST{status}"
        valores = texts(detalhe, "ans:valorTotalLote/*")
        analysed = status in (3, 5, 6)
        assert valores == (["300.00", "20.00", "280.00"] if analysed else ["0.00"] * 3), status
        assert len(detalhe.findall(".//ans:guiasMedicas", NS)) == 2
        assert record.protocol_id == protocol_id(gw, numero) and record.codes is None


# === tissVerificaElegibilidade ================================================================


def beneficiary(card, name="Maria Teste", status="ativo", left_on=None, valid_until=None):
    return BeneficiaryData(card, name, "Ouro", status, date(2020, 1, 1), left_on, valid_until)


def eligibility(client, gw, card, *, version="4.03.00", encoding="ISO-8859-1", extra=()):
    """A pedidoElegibilidadeWS; `extra` are (name, text) elements put right after
    numeroCarteira, in the order given (the caller keeps the schema's order), hash redone."""
    element = pedido_elegibilidade_ws(query_for(PROVIDER_A, version), card)
    if extra:
        carteira = element.find(".//ans:pedidoElegibilidade/ans:numeroCarteira", NS)
        for name, text in reversed(extra):
            el = etree.Element(q(name))
            el.text = text
            carteira.addnext(el)
        reseal(element)
    return send(client, gw, element, ELEGIBILIDADE, version, encoding)


def decision(answer: SoapAnswer) -> tuple:
    """(respostaSolicitacao, negative reasons) of a recibo; ("1001",) for the codigoGlosa
    branch of an unknown card."""
    glosa = answer.text(".//ans:respostaElegibilidade/ans:codigoGlosa/ans:codigoGlosa")
    if glosa is not None:
        assert answer.payload.find(".//ans:reciboElegibilidade", NS) is None
        return (glosa,)
    return (
        answer.text(".//ans:respostaSolicitacao"),
        texts(answer.payload, ".//ans:motivoNegativa/ans:codigoGlosa"),
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_card_numbers_are_keys_leading_zeros_included(client, gw, version):
    """A card number is an identifier, not a number: 0001111 and 1111 are two beneficiaries, and
    01111 is neither. Blanks around it are no part of it."""
    upsert_beneficiaries(
        gw.db,
        [
            beneficiary("0001111", "Beneficiária Zeros"),
            beneficiary("1111", "Beneficiário Curto"),
            beneficiary("12345678901234567890", "Carteira de Vinte"),
        ],
    )
    expected = {
        "1111": "Beneficiário Curto",
        "0001111": "Beneficiária Zeros",
        " 1111 ": "Beneficiário Curto",
        "\t0001111\n": "Beneficiária Zeros",
        "12345678901234567890": "Carteira de Vinte",
    }
    for card, name in expected.items():
        answer, record = eligibility(client, gw, card, version=version)
        assert decision(answer) == ("S", []), card
        assert answer.text(".//ans:nomeBeneficiario") == name
        assert answer.text(".//ans:reciboElegibilidade/ans:numeroCarteira") == card.strip()
        assert (record.outcome, record.codes, record.version) == ("accepted", None, version)
    for card in ("01111", "111", "00001111", "1111.0", "1234567890123456789"):
        answer, record = eligibility(client, gw, card, version=version)
        assert decision(answer) == ("1001",), card
        assert record.codes == "1001"


@pytest.mark.parametrize("typed", ["0001 2345 6789 00", "0001.2345.6789-00", "000.123.456.789-00"])
def test_card_typed_with_separators_is_the_same_card(client, gw, typed):
    upsert_beneficiaries(gw.db, [beneficiary("00012345678900", "Paciente Pontuado")])
    answer, _ = eligibility(client, gw, typed)
    assert decision(answer) == ("S", [])
    assert answer.text(".//ans:nomeBeneficiario") == "Paciente Pontuado"


@pytest.mark.parametrize(
    "card", ["123456789012345678901", "  12345678901234567890", "12345678901234567890\n"]
)
@pytest.mark.parametrize("version", VERSIONS)
def test_card_longer_than_20_characters_breaks_the_schema(client, gw, card, version):
    upsert_beneficiaries(gw.db, [beneficiary("12345678901234567890")])
    answer, record = eligibility(client, gw, card, version=version)
    assert answer.tiss_fault == "SchemaInvalido" and answer.code == "5001"
    assert "numeroCarteira" in answer.faultstring
    assert (record.outcome, record.codes) == ("rejected", "5001")


# Brazilian day D = 2026-11-20. One instant half an hour before its midnight (already the 21st
# in UTC), one half an hour after (the 21st in Brazil too).
BEFORE_MIDNIGHT = datetime(2026, 11, 20, 23, 30) - BRT
AFTER_MIDNIGHT = datetime(2026, 11, 21, 0, 30) - BRT
D = date(2026, 11, 20)


@pytest.mark.parametrize(
    "instant, local_day, expected",
    [
        (
            BEFORE_MIDNIGHT,
            "2026-11-20",
            # left yesterday, today, tomorrow; card valid until today
            {"L-ONTEM": ["1006"], "L-HOJE": [], "L-AMANHA": [], "V-HOJE": []},
        ),
        (
            AFTER_MIDNIGHT,
            "2026-11-21",
            # D is now yesterday: who left on D is out, and the card that ran until D expired.
            {"L-ONTEM": ["1006"], "L-HOJE": ["1006"], "L-AMANHA": [], "V-HOJE": ["1017"]},
        ),
    ],
    ids=["23h30-brasilia", "00h30-brasilia"],
)
def test_leaving_date_is_judged_on_the_brazilian_day(
    client, gw, clock, instant, local_day, expected
):
    """The leaving day itself is still covered ("after the leaving date" is 1006): the day is
    Brazil's civil day, never UTC's, which is already the next one at 21:00 in Brasília."""
    upsert_beneficiaries(
        gw.db,
        [
            beneficiary("L-ONTEM", left_on=D - timedelta(days=1)),
            beneficiary("L-HOJE", left_on=D),
            beneficiary("L-AMANHA", left_on=D + timedelta(days=1)),
            beneficiary("V-HOJE", valid_until=D),
        ],
    )
    clock.now = instant.replace(tzinfo=UTC)
    for card, reasons in expected.items():
        answer, record = eligibility(client, gw, card)
        assert decision(answer) == ("N" if reasons else "S", reasons), (card, local_day)
        assert record.codes == (",".join(reasons) or None)
        # The answer is dated in Brazil's time too.
        assert header_text(answer, "dataRegistroTransacao") == local_day
        assert header_text(answer, "horaRegistroTransacao") == (instant + BRT).strftime("%H:%M:%S")


def test_dates_in_query_answers_are_brazilian_days(client, gw, clock):
    """A lot sent at 23:30 in Brasília (02:30 UTC of the next day), analysed and paid that same
    evening: every date the provider reads (send date, protocol date, issue date, the header) is
    the Brazilian day, never UTC's."""
    clock.now = BEFORE_MIDNIGHT.replace(tzinfo=UTC)
    numero = send_lot(client, PROVIDER_A, "MEIA-NOITE", count=1)
    analyse(gw, numero, now=clock.now)
    pay(gw, [numero], when=D, competencia="202611")
    status, _ = status_of(client, gw, numero)
    assert status.text(".//ans:detalheLote/ans:dataEnvioLote") == "2026-11-20"
    analise, _ = analysis_statement(client, gw, [numero])
    assert analise.text(".//ans:dadosProtocolo/ans:dataProtocolo") == "2026-11-20"
    assert analise.text(".//ans:cabecalhoDemonstrativo/ans:dataEmissao") == "2026-11-20"
    pagamento, _ = payment_statement(client, gw, data_pagamento="2026-11-20")
    assert pagamento.text(".//ans:relacaoProtocolos/ans:dataProtocolo") == "2026-11-20"
    assert pagamento.text(".//ans:cabecalhoDemonstrativo/ans:dataEmissao") == "2026-11-20"
    for answer in (status, analise, pagamento):
        assert header_text(answer, "dataRegistroTransacao") == "2026-11-20"
        assert header_text(answer, "horaRegistroTransacao") == "23:30:00"


def test_cancellation_effective_tomorrow_still_covers_today(client, gw, clock):
    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    upsert_beneficiaries(
        gw.db, [beneficiary("CANC-AMANHA", status="cancelado", left_on=date(2026, 11, 21))]
    )
    answer, _ = eligibility(client, gw, "CANC-AMANHA")
    assert decision(answer) == ("S", [])


def test_cancelled_without_a_date_and_suspended_are_refused_with_their_codes(client, gw, clock):
    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    upsert_beneficiaries(
        gw.db,
        [
            beneficiary("CANC", status="cancelado"),
            beneficiary("SUSP-SAIU", status="suspenso", left_on=date(2026, 11, 19)),
            beneficiary("SUSP", status="suspenso", left_on=date(2026, 11, 21)),
        ],
    )
    assert decision(eligibility(client, gw, "CANC")[0]) == ("N", ["1006"])
    assert decision(eligibility(client, gw, "SUSP-SAIU")[0]) == ("N", ["1006"])
    assert decision(eligibility(client, gw, "SUSP")[0]) == ("N", ["1016"])


# A biometric template or photo hash as identificadorBeneficiario: 48 KiB of binary data.
BIOMETRY = base64.b64encode(bytes(range(256)) * 192).decode()


@pytest.mark.parametrize("version", VERSIONS)
def test_optional_identification_fields_do_not_change_the_decision(client, gw, version):
    """tipoIdent, identificadorBeneficiario (biometry), validadeCarteira, ausenciaCodValidacao
    and codValidacao are optional: with or without them the registry decides, and a validity the
    provider read from an old card does not override it."""
    upsert_beneficiaries(
        gw.db,
        [
            beneficiary("BIO1", "Paciente Biometria", valid_until=date(2030, 1, 31)),
            beneficiary("BIO2", "Paciente Saiu", left_on=date(2025, 1, 31)),
        ],
    )
    extra = (
        ("tipoIdent", "03"),
        ("identificadorBeneficiario", BIOMETRY),
        ("validadeCarteira", "2020-01-31"),
        ("ausenciaCodValidacao", "01"),
        ("codValidacao", "ABC123"),
    )
    for card, expected in (("BIO1", ("S", [])), ("BIO2", ("N", ["1006"]))):
        plain, _ = eligibility(client, gw, card, version=version)
        full, record = eligibility(client, gw, card, version=version, extra=extra)
        assert decision(plain) == decision(full) == expected
        assert without_header(plain) == without_header(full)
        if card == "BIO1":  # the registry's validity, not the one the provider sent
            assert full.text(".//ans:validadeCarteira") == "2030-01-31"
        assert record.outcome == "accepted"
    only_some = (("validadeCarteira", "2030-01-31"),)
    answer, _ = eligibility(client, gw, "BIO1", version=version, extra=only_some)
    assert decision(answer) == ("S", [])


@pytest.mark.parametrize(
    "extra",
    [
        (("nomeBeneficiario", "MARIA DA SILVA"),),
        (("nomeBeneficiario", "MARIA DA SILVA"), ("numeroCNS", "898001234567890")),
        (("templateBiometrico", BIOMETRY),),
    ],
    ids=["nomeBeneficiario", "numeroCNS", "templateBiometrico"],
)
@pytest.mark.parametrize("version", VERSIONS)
def test_fields_tiss_4_removed_break_the_schema(client, gw, extra, version):
    """A TISS 3 system upgraded only in its Padrao still sends nomeBeneficiario, numeroCNS and
    templateBiometrico, which 4.00.00 took out of the request: the official schema refuses them
    (5001, SchemaInvalido), and the refusal is archived with the reason."""
    upsert_beneficiaries(gw.db, [beneficiary("NOVE")])
    answer, record = eligibility(client, gw, "NOVE", version=version, extra=extra)
    assert answer.tiss_fault == "SchemaInvalido" and answer.code == "5001"
    assert extra[0][0] in answer.faultstring
    assert (record.outcome, record.codes, record.fault) == ("rejected", "5001", "SchemaInvalido")


@pytest.mark.parametrize("value", ["!!!!", "não é base64!"])
def test_identificador_that_is_not_base64_breaks_the_schema(client, gw, value):
    upsert_beneficiaries(gw.db, [beneficiary("NOVE")])
    extra = (("identificadorBeneficiario", value),)
    answer, record = eligibility(client, gw, "NOVE", extra=extra)
    assert answer.tiss_fault == "SchemaInvalido" and answer.code == "5001"
    assert record.outcome == "rejected"


def test_identificador_base64_is_named_when_wrong_and_may_come_in_lines(client, gw):
    """The fault names the element and quotes the start of the value (48 KiB of biometry with
    one character libxml2 skips); a value in lines of 76 characters, as MIME encoders write it,
    is base64Binary."""
    upsert_beneficiaries(gw.db, [beneficiary("NOVE")])
    stray = "!" + BIOMETRY
    wrong, _ = eligibility(client, gw, "NOVE", extra=(("identificadorBeneficiario", stray),))
    assert wrong.tiss_fault == "SchemaInvalido" and wrong.code == "5001"
    assert "identificadorBeneficiario" in wrong.faultstring
    assert stray[:40] in wrong.faultstring and len(wrong.faultstring) < 1000
    lines = base64.encodebytes(bytes(range(256)) * 4).decode()
    assert lines.count("\n") > 1
    answer, record = eligibility(client, gw, "NOVE", extra=(("identificadorBeneficiario", lines),))
    assert decision(answer) == ("S", [])
    assert record.outcome == "accepted"


@pytest.mark.parametrize("version", VERSIONS)
def test_card_of_another_operator_is_1001_and_a_message_for_it_is_refused(client, gw, version):
    upsert_beneficiaries(gw.db, [beneficiary("00012345678900")])
    answer, record = eligibility(client, gw, "0865000123456789", version=version)
    assert decision(answer) == ("1001",)
    assert record.codes == "1001"
    element = pedido_elegibilidade_ws(
        query_for(PROVIDER_A, version, registro_ans="999999"), "00012345678900"
    )
    other, other_record = send(client, gw, element, ELEGIBILIDADE, version)
    assert other.tiss_fault == "DestinatarioInvalido" and other.code == "5027"
    assert (other_record.outcome, other_record.codes) == ("rejected", "5027")
    statement = solicitacao_demonstrativo_pagamento_ws(
        query_for(PROVIDER_A, version, registro_ans="999999"), competencia="202611"
    )
    refused, _ = send(client, gw, statement, DEMONSTRATIVO, version)
    assert refused.tiss_fault == "DestinatarioInvalido" and refused.code == "5027"


def identified_by(element: etree._Element, kind: str, value: str) -> etree._Element:
    """The query with its dadosPrestador naming the provider by `kind` (cnpjContratado,
    cpfContratado) instead of its code, hash redone."""
    for dados in element.iterfind(".//ans:dadosPrestador", NS):
        dados[0].tag = q(kind)
        dados[0].text = value
    return reseal(element)


QUERY_BUILDERS = {
    STATUS: lambda query: solicitacao_status_ws(query, "999999999999"),
    ELEGIBILIDADE: lambda query: pedido_elegibilidade_ws(query, "00012345678900"),
    DEMONSTRATIVO: lambda query: solicitacao_demonstrativo_pagamento_ws(
        query, competencia="202611"
    ),
}


@pytest.mark.parametrize("service", list(QUERY_BUILDERS))
def test_provider_named_by_cnpj_in_the_body_is_the_one_logged_in(client, gw, service):
    """Hospital systems name themselves in dadosPrestador by CNPJ as often as by the operator's
    code: both are the provider that logged in; another CNPJ is RemetenteInvalido (5005)."""
    build = QUERY_BUILDERS[service]
    mine, record = send(
        client,
        gw,
        identified_by(build(query_for(PROVIDER_A)), "cnpjContratado", PROVIDER_A.cnpj),
        service,
        "4.03.00",
    )
    assert not mine.is_fault and record.outcome == "accepted"
    theirs, record = send(
        client,
        gw,
        identified_by(build(query_for(PROVIDER_A)), "cnpjContratado", PROVIDER_B.cnpj),
        service,
        "4.03.00",
    )
    assert theirs.tiss_fault == "RemetenteInvalido" and theirs.code == "5005"
    assert (record.outcome, record.codes) == ("rejected", "5005")


# === tissSolicitacaoDemonstrativoRetorno: demonstrativoAnalise ===============================


def contas(answer: SoapAnswer) -> list[str]:
    """The protocols of the demonstrativoAnaliseConta of an answer, in order."""
    return texts(
        answer.payload, ".//ans:demonstrativoAnaliseConta//ans:dadosProtocolo/ans:numeroProtocolo"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_analysis_statements_of_1_and_of_30_protocols(client, gw, version):
    numeros = [
        send_lot(client, PROVIDER_A, f"A{n:02d}", count=1, version=version) for n in range(30)
    ]
    for numero in numeros:
        analyse(gw, numero, item_glosa=GlosaInput("1801", Decimal("5.00")))
    one, record = analysis_statement(client, gw, numeros[:1], version=version)
    assert contas(one) == numeros[:1]
    assert header_text(one, "tipoTransacao") == "DEMONSTRATIVO_ANALISE_CONTA"
    assert one.text(".//ans:numeroDemonstrativo") == f"AC{numeros[0]}"
    assert (record.outcome, record.codes) == ("accepted", None)
    asked = list(reversed(numeros))
    thirty, record = analysis_statement(client, gw, asked, version=version)
    assert sorted(contas(thirty)) == sorted(numeros)
    assert len(thirty.payload.findall(".//ans:demonstrativoAnaliseConta", NS)) == 30
    for conta in thirty.payload.iterfind(".//ans:demonstrativoAnaliseConta", NS):
        assert texts(conta, "ans:valorInformadoGeral") == ["150.00"]
        assert texts(conta, "ans:valorGlosaGeral") == ["5.00"]
        assert texts(conta, "ans:valorLiberadoGeral") == ["145.00"]
    assert record.outcome == "accepted"


@pytest.mark.parametrize("version", VERSIONS)
def test_analysis_statement_of_31_protocols_breaks_the_schema(client, gw, version):
    """The request's protocolos holds at most 30 numeroProtocolo (as the answer holds at most 30
    demonstrativoAnaliseConta): the 31st is refused by the official schema, nothing is read."""
    numero = send_lot(client, PROVIDER_A, "A31", count=1, version=version)
    analyse(gw, numero)
    answer, record = analysis_statement(client, gw, [numero] * 31, version=version)
    assert answer.tiss_fault == "SchemaInvalido" and answer.code == "5001"
    assert "numeroProtocolo" in answer.faultstring
    assert (record.outcome, record.codes) == ("rejected", "5001")


def test_a_protocol_asked_several_times_gets_one_statement(client, gw):
    first = send_lot(client, PROVIDER_A, "R1", count=1)
    second = send_lot(client, PROVIDER_A, "R2", count=1)
    analyse(gw, first)
    analyse(gw, second)
    answer, _ = analysis_statement(client, gw, [first] * 30)
    assert contas(answer) == [first]
    answer, _ = analysis_statement(client, gw, [first, second, first, second, first])
    assert sorted(contas(answer)) == sorted([first, second])


def test_foreign_and_unknown_protocols_never_show_among_ones_own(client, gw):
    mine_analysed = send_lot(client, PROVIDER_A, "M1", count=1)
    mine_received = send_lot(client, PROVIDER_A, "M2", count=1)
    theirs = send_lot(client, PROVIDER_B, "SEGREDO-B", count=1)
    analyse(gw, mine_analysed)
    analyse(gw, theirs)
    # B's analysed protocol first: it must not be the one the answer is about.
    analysed, _ = analysis_statement(client, gw, [theirs, "999999999999", mine_analysed])
    assert contas(analysed) == [mine_analysed]
    pending, _ = analysis_statement(client, gw, [theirs, "999999999999", mine_received])
    situacao = pending.payload.find(".//ans:situacaoDemonstrativoRetorno", NS)
    assert situacao.findtext("ans:numeroProtocolo", namespaces=NS) == mine_received
    for answer in (analysed, pending):
        assert theirs.encode() not in answer.raw and b"SEGREDO-B" not in answer.raw
    only_foreign, record = analysis_statement(client, gw, [theirs, "999999999999"])
    unknown, _ = analysis_statement(client, gw, ["999999999999"])
    assert only_foreign.code == "3291"
    assert without_header(only_foreign) == without_header(unknown)
    assert record.codes == "3291"


@pytest.mark.parametrize("version", VERSIONS)
def test_analysis_statement_of_protocols_not_analysed_tells_their_status(client, gw, version):
    """Received (1), in analysis (2), waiting for information (8), closed (4) and cancelled (9)
    before any analysis: situacaoDemonstrativoRetorno (tipo 2) with the protocol's own status,
    dated on Brazil's day."""
    reasons = {4: "Encerrado sem pagamento", 8: "Enviar laudo", 9: "Cancelado pelo prestador"}
    for status in (1, 2, 8, 4, 9):
        numero = send_lot(client, PROVIDER_A, f"P{status}", count=1, version=version)
        if status != 1:
            change_status(gw.db, ANALISTA, numero, status, reasons.get(status))
        answer, record = analysis_statement(client, gw, [numero], version=version)
        situacao = answer.payload.find(".//ans:situacaoDemonstrativoRetorno", NS)
        assert situacao is not None, (status, answer.raw)
        assert situacao.findtext("ans:numeroProtocolo", namespaces=NS) == numero
        assert situacao.findtext("ans:tipoDemonstrativo", namespaces=NS) == "2"
        assert situacao.findtext("ans:situacaoDemonstrativo", namespaces=NS) == str(status)
        assert situacao.findtext("ans:dataSituacaoDemonstrativo", namespaces=NS) == header_text(
            answer, "dataRegistroTransacao"
        )
        assert (record.outcome, record.codes) == ("accepted", None)


# === tissSolicitacaoDemonstrativoRetorno: demonstrativoPagamento ==============================


def test_payments_of_a_competencia_paid_in_the_next_month(client, gw):
    """November's production paid on 30 November and on 5 December: both belong to competência
    202611, each to its own date; December's competência has nothing yet."""
    first = send_lot(client, PROVIDER_A, "C1", count=1)
    second = send_lot(client, PROVIDER_A, "C2", count=1)
    analyse(gw, first)
    analyse(gw, second)
    pay(gw, [first], when=date(2026, 11, 30), competencia="202611")
    pay(gw, [second], when=date(2026, 12, 5), competencia="202611")

    by_month, record = payment_statement(client, gw, competencia="202611")
    demo = by_month.payload.find(".//ans:demonstrativoPagamento", NS)
    assert demo is not None
    assert texts(demo, ".//ans:dadosPagamento/ans:dataPagamento") == ["2026-11-30", "2026-12-05"]
    assert texts(demo, ".//ans:relacaoProtocolos/ans:numeroProtocolo") == [first, second]
    assert texts(demo, ".//ans:totaisBrutosDemonstrativo/ans:valorLiberadoBruto") == ["300.00"]
    assert (record.outcome, record.codes) == ("accepted", None)

    december, _ = payment_statement(client, gw, data_pagamento="2026-12-05")
    assert texts(december.payload, ".//ans:relacaoProtocolos/ans:numeroProtocolo") == [second]
    november, _ = payment_statement(client, gw, data_pagamento="2026-11-30")
    assert texts(november.payload, ".//ans:relacaoProtocolos/ans:numeroProtocolo") == [first]
    for empty in (
        payment_statement(client, gw, competencia="202612")[0],
        payment_statement(client, gw, data_pagamento="2026-12-01")[0],
    ):
        assert empty.payload.find(".//ans:demonstrativoPagamento", NS) is None
        situacao = empty.payload.find(".//ans:situacaoDemonstrativoRetorno", NS)
        assert situacao.findtext("ans:tipoDemonstrativo", namespaces=NS) == "1"
        assert first.encode() not in empty.raw and second.encode() not in empty.raw


@pytest.mark.parametrize("version", VERSIONS)
def test_payment_statement_with_nothing_paid_is_a_situacao(client, gw, clock, version):
    clock.now = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
    for period in ({"data_pagamento": "2026-11-15"}, {"competencia": "202610"}):
        answer, record = payment_statement(client, gw, version=version, **period)
        assert answer.payload.find(".//ans:demonstrativoPagamento", NS) is None
        situacao = answer.payload.find(".//ans:situacaoDemonstrativoRetorno", NS)
        assert situacao is not None, answer.raw
        assert situacao.findtext("ans:tipoDemonstrativo", namespaces=NS) == "1"
        assert situacao.findtext("ans:dataSituacaoDemonstrativo", namespaces=NS) == "2026-11-21"
        assert (
            situacao.findtext("ans:dadosPrestador/ans:codigoPrestadorNaOperadora", namespaces=NS)
            == PROVIDER_A.code
        )
        assert (record.outcome, record.protocol_id) == ("accepted", None)


def test_payment_statement_of_a_past_date_with_nothing_pending_is_not_located(client, gw, clock):
    clock.now = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
    answer, _ = payment_statement(client, gw, data_pagamento="2026-11-15")
    assert answer.text(".//ans:situacaoDemonstrativoRetorno/ans:situacaoDemonstrativo") == "7"


@pytest.mark.parametrize("competencia", ["202613", "000000", "202600"])
@pytest.mark.parametrize("version", VERSIONS)
def test_impossible_competencia_is_5046(client, gw, competencia, version):
    answer, record = payment_statement(client, gw, version=version, competencia=competencia)
    assert answer.code == "5046"
    assert record.codes == "5046"


@pytest.mark.parametrize("tipo", ["1", "3"])
@pytest.mark.parametrize("competencia", ["202613", "000012"])
def test_impossible_competencia_is_a_mensagem_erro_saying_why(client, gw, tipo, competencia):
    """Médico or odontológico alike; year 0000 is no year either (as for dates, 0001-9999)."""
    answer, record = payment_statement(client, gw, tipo=tipo, competencia=competencia)
    erro = answer.payload.find(".//ans:demonstrativoRetorno/ans:mensagemErro", NS)
    assert erro is not None, answer.raw
    assert erro.findtext("ans:codigoGlosa", namespaces=NS) == "5046"
    assert competencia in erro.findtext("ans:descricaoGlosa", namespaces=NS)
    assert record.codes == "5046"


def situacao_of(answer: SoapAnswer) -> etree._Element:
    situacao = answer.payload.find(".//ans:situacaoDemonstrativoRetorno", NS)
    assert situacao is not None, answer.raw
    return situacao


def payment_situacao(client, gw, **period) -> str:
    answer, _ = payment_statement(client, gw, **period)
    return situacao_of(answer).findtext("ans:situacaoDemonstrativo", namespaces=NS)


@pytest.mark.parametrize("version", VERSIONS)
def test_nothing_paid_is_not_located_only_once_the_period_is_over(client, gw, clock, version):
    """On Brazil's 21 November 2026, a provider with nothing sent: a past day or month is 7; today,
    this month and what is ahead stay 2 (a payment may still be recorded for them)."""
    clock.now = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
    expected = {
        ("data_pagamento", "2026-11-20"): "7",
        ("competencia", "202610"): "7",
        ("data_pagamento", "2026-11-21"): "2",
        ("competencia", "202611"): "2",
        ("data_pagamento", "2026-12-01"): "2",
        ("competencia", "202612"): "2",
    }
    for (field, value), status in expected.items():
        answer, record = payment_statement(client, gw, version=version, **{field: value})
        assert situacao_of(answer).findtext("ans:situacaoDemonstrativo", namespaces=NS) == status
        assert (record.outcome, record.codes) == ("accepted", None)


def test_the_period_ends_with_the_brazilian_day(client, gw, clock):
    """At 22:00 in Brasília on 30 November it is already 1 December in UTC: November and its
    last day are still running until midnight in Brasília."""
    november = ({"data_pagamento": "2026-11-30"}, {"competencia": "202611"})
    clock.now = (datetime(2026, 11, 30, 22, 0) - BRT).replace(tzinfo=UTC)
    assert [payment_situacao(client, gw, **period) for period in november] == ["2", "2"]
    clock.now = (datetime(2026, 12, 1, 0, 0) - BRT).replace(tzinfo=UTC)
    assert [payment_situacao(client, gw, **period) for period in november] == ["7", "7"]


def test_nothing_paid_stays_in_analysis_while_a_protocol_may_still_be_paid(client, gw, clock):
    """Received (1), waiting for information (8), in analysis (2), analysed (5), released (3):
    a payment may still come, dated as the operator chooses. Paid (6), closed (4), cancelled (9),
    or another provider's: nothing will."""
    clock.now = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
    past = {"competencia": "202610"}
    assert payment_situacao(client, gw, **past) == "7"
    numero = send_lot(client, PROVIDER_A, "AG1", count=1)
    assert payment_situacao(client, gw, **past) == "2"
    change_status(gw.db, ANALISTA, numero, 8, "Enviar laudo")
    assert payment_situacao(client, gw, **past) == "2"
    analyse(gw, numero)  # 8 -> 2 -> 5
    assert payment_situacao(client, gw, **past) == "2"
    change_status(gw.db, ANALISTA, numero, 3)
    assert payment_situacao(client, gw, data_pagamento="2026-11-15") == "2"
    pay(gw, [numero])
    assert payment_situacao(client, gw, **past) == "7"
    closed = send_lot(client, PROVIDER_A, "AG2", count=1)
    cancelled = send_lot(client, PROVIDER_A, "AG3", count=1)
    change_status(gw.db, ANALISTA, closed, 4, "Guias em duplicidade")
    change_status(gw.db, ANALISTA, cancelled, 9, "Cancelado a pedido do prestador")
    send_lot(client, PROVIDER_B, "AG4", count=1)
    assert payment_situacao(client, gw, **past) == "7"
    assert payment_situacao(client, gw, data_pagamento="2026-11-15") == "7"


def test_situacao_of_a_payment_names_the_period_asked_not_a_protocol(client, gw, clock):
    """numeroProtocolo (st_texto12, required) has no protocol to name: it is the period asked,
    prefixed as its statement's number is, which no lot's protocol (all digits) can be; the
    answer's own number is protocoloSolicitacaoDemonstrativo."""
    clock.now = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
    cases = (
        ({"data_pagamento": "2026-11-15"}, "PG20261115"),
        ({"competencia": "202610"}, "PG202610"),
        ({"tipo": "3", "competencia": "202610"}, "PO202610"),
        ({"tipo": "3", "data_pagamento": "2026-11-30"}, "PO20261130"),
    )
    for period, reference in cases:
        answer, _ = payment_statement(client, gw, **period)
        situacao = situacao_of(answer)
        assert situacao.findtext("ans:numeroProtocolo", namespaces=NS) == reference
        assert situacao.findtext(
            "ans:protocoloSolicitacaoDemonstrativo", namespaces=NS
        ) == header_text(answer, "sequencialTransacao")


# === texts outside ISO-8859-1 =================================================================


def md5_of_leaves(payload: etree._Element, encoding: str) -> str:
    texts_ = []
    for child in payload:
        if etree.QName(child).localname in ("hash", "Signature", "Signatures"):
            continue
        texts_.extend(el.text or "" for el in child.iter() if len(el) == 0)
    return hashlib.md5("".join(texts_).encode(encoding)).hexdigest()


def assert_hash_is_iso_8859_1(answer: SoapAnswer) -> None:
    """The answer carries text beyond ASCII, so hashing it in another charset would differ:
    the hash read from the bytes received is the ISO-8859-1 one a provider's system computes."""
    received = etree.fromstring(answer.raw).find(".//ans:hash", NS).getparent()
    informed = received.findtext("ans:hash", namespaces=NS)
    assert informed == leaf_md5(received) == md5_of_leaves(received, "iso-8859-1")
    assert informed != md5_of_leaves(received, "utf-8"), "the answer should carry accents here"


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-8"])
@pytest.mark.parametrize("version", VERSIONS)
def test_beneficiary_name_outside_latin_1_is_sent_in_it(client, gw, encoding, version):
    upsert_beneficiaries(gw.db, [beneficiary("UNI1", "Zoë Ñúñez – “Li” 李 😀 Ação")])
    answer, _ = eligibility(client, gw, "UNI1", version=version, encoding=encoding)
    assert answer.content_type.lower().endswith(f"charset={encoding.lower()}")
    assert answer.text(".//ans:nomeBeneficiario") == 'Zoë Ñúñez - "Li" ? ? Ação'
    assert_hash_is_iso_8859_1(answer)


def test_decomposed_accents_survive_the_mapping_to_latin_1(client, gw):
    upsert_beneficiaries(gw.db, [beneficiary("NFD1", "Jose\u0301 Conceic\u0327a\u0303o")])
    answer, _ = eligibility(client, gw, "NFD1")
    assert answer.text(".//ans:nomeBeneficiario") == "José Conceição"


def utf8_lot_with_descriptions(descriptions: list[str]) -> etree._Element:
    """An SP/SADT lot of one guide whose procedures carry these descriptions, hashed over UTF-8
    as some systems do (TISS_ACCEPT_UTF8_HASH, on by default)."""
    lot = sample_lot(PROVIDER_A, "UNI-LOTE", 1, registro_ans=REGISTRO_ANS, guide_type="guiaSP-SADT")
    element = lote_guias_ws(lot)
    found = element.findall(".//ans:descricaoProcedimento", NS)
    assert len(found) == len(descriptions)
    for el, text in zip(found, descriptions, strict=True):
        el.text = text
    return reseal(element, "utf-8")


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-8"])
@pytest.mark.parametrize("version", ["4.02.00", "4.03.00"])
def test_statements_and_status_carrying_texts_outside_latin_1(client, gw, encoding, version):
    """An operator name with ™ and an em dash, procedure descriptions a lot sent in UTF-8 with
    ≥ and ✓, glosa descriptions with typographic quotes and 500 '…', a debit described with €:
    every answer is valid, every text fits its st_textoN after the mapping, and the hash is the
    ISO-8859-1 one."""
    set_operator(gw.db, REGISTRO_ANS, "Operadora Saúde™ — Açaí")
    raw = envelope(
        utf8_lot_with_descriptions(["RESSONÂNCIA – CRÂNIO ≥ 1,5T", "EXAME ✓ nº 2"]), "UTF-8"
    )
    received = post(client, None, raw=raw, encoding="UTF-8")
    numero = received.protocol
    assert numero, received.raw
    analyse(
        gw,
        numero,
        guide_glosa=GlosaInput("1705", Decimal("10.00"), "…" * 500),
        item_glosa=GlosaInput("1801", Decimal("20.00"), "Valor acima da “CBHPM” – ver §2 ✓"),
    )
    pay(
        gw,
        [numero],
        adjustments=[Adjustment("1", "02", "ISS – retenção “PJ” €", Decimal("5.00"))],
    )

    status, _ = send(
        client,
        gw,
        solicitacao_status_ws(query_for(PROVIDER_A, version), numero),
        STATUS,
        version,
        encoding,
    )
    descriptions = texts(status.payload, ".//ans:glosaGuia/ans:motivoGlosa/ans:descricaoGlosa")
    assert descriptions[0] == "." * 500
    assert descriptions[1] == 'Valor acima da "CBHPM" - ver §2 ?'
    assert_hash_is_iso_8859_1(status)

    analise, _ = analysis_statement(client, gw, [numero], version=version, encoding=encoding)
    conta = analise.payload.find(".//ans:demonstrativoAnaliseConta", NS)
    assert conta.findtext(".//ans:nomeOperadora", namespaces=NS) == "Operadora Saúde? - Açaí"
    assert texts(conta, ".//ans:descricaoProcedimento") == [
        "RESSONÂNCIA - CRÂNIO ? 1,5T",
        "EXAME ? nº 2",
    ]
    assert len(conta.findtext(".//ans:motivoGlosaGuia/ans:descricaoGlosa", namespaces=NS)) == 500
    assert_hash_is_iso_8859_1(analise)

    pagamento, _ = payment_statement(
        client, gw, version=version, encoding=encoding, competencia="202611"
    )
    demo = pagamento.payload.find(".//ans:demonstrativoPagamento", NS)
    assert demo is not None, pagamento.raw
    assert texts(demo, ".//ans:debitosCreditos/ans:descricaoDbCr") == ['ISS - retenção "PJ" ?']
    assert (
        demo.findtext(
            ".//ans:totaisLiquidosDemonstrativo/ans:valorLiberadoDemonstrativo", namespaces=NS
        )
        == "115.00"
    )
    assert_hash_is_iso_8859_1(pagamento)
