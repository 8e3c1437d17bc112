"""What the benchmarks send: lots and status queries of one demo provider, as raw SOAP bytes."""

import hashlib
from dataclasses import dataclass
from itertools import count

from lxml import etree

from gateway.tiss.header import Party
from gateway.tiss.samples import (
    SampleLot,
    SampleQuery,
    guides,
    lote_guias_ws,
    mensagem_tiss,
    solicitacao_status_ws,
)
from gateway.tiss.soap import soap_envelope

REGISTRO_ANS = "123456"
CNPJ = "11222333000181"
CODE = "PREST0001"
PASSWORD = "Bench@Tiss2026"
SENHA_MD5 = hashlib.md5(PASSWORD.encode()).hexdigest()
VERSION = "4.03.00"
LOTE_PATH = "/tiss/v40300/tissLoteGuias"
STATUS_PATH = "/tiss/v40300/tissSolicitacaoStatusProtocolo"
GUIDE_TYPES = {"consulta": "guiaConsulta", "sp-sadt": "guiaSP-SADT"}

_lot_numbers = count(1)


def envelope(payload: etree._Element, encoding: str = "ISO-8859-1") -> bytes:
    env = soap_envelope(payload)
    return etree.tostring(env, encoding=encoding, xml_declaration=True)


def sample_lot(guide_type: str, size: int, prefix: str = "B") -> SampleLot:
    """A lot with a number never used before in this process (so it is a new lot, not a resend),
    and guides numbered after it (a guide number billed twice is refused with 1308)."""
    numero = f"{prefix}{next(_lot_numbers):09d}"[:12]
    return SampleLot(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", CNPJ),
        numero_lote=numero,
        guides=guides(size, prefix=f"{numero}-"),
        guide_type=GUIDE_TYPES[guide_type],
        version=VERSION,
        login=CNPJ,
        senha_md5=SENHA_MD5,
        codigo_prestador=CODE,
    )


@dataclass(frozen=True)
class LotMessage:
    guide_type: str
    size: int
    soap: bytes  # the SOAP request the gateway receives
    mensagem: bytes  # the same lot as a mensagemTISS file, for the `tiss` package


def lot_message(guide_type: str, size: int, prefix: str = "B") -> LotMessage:
    lot = sample_lot(guide_type, size, prefix)
    mensagem = etree.tostring(mensagem_tiss(lot), encoding="ISO-8859-1", xml_declaration=True)
    return LotMessage(guide_type, size, envelope(lote_guias_ws(lot)), mensagem)


def status_query(numero_protocolo: str) -> bytes:
    query = SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", CNPJ),
        codigo_prestador=CODE,
        version=VERSION,
        login=CNPJ,
        senha_md5=SENHA_MD5,
    )
    return envelope(solicitacao_status_ws(query, numero_protocolo))


def provision(db, registro_ans: str = REGISTRO_ANS) -> None:
    """This operator and the benchmark's provider, in an already migrated database."""
    from gateway.services.admin import add_provider, set_operator

    set_operator(db, registro_ans, "Operadora Benchmark")
    add_provider(db, cnpj=CNPJ, code=CODE, name="Hospital Benchmark", password=PASSWORD)
