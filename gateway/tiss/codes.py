"""Table 38 (dm_tipoGlosa) codes used by the gateway, and the tissFault categories.

Descriptions come from the `tiss` package's copy of ANS table 38 where it has the code; the
gateway's own short list below is the fallback and the source of the codes it relies on.
"""

import enum
import json
from functools import cache
from importlib import resources

MESSAGE_OUT_OF_STANDARD = "5001"
XML_NOT_VALIDATED = "5002"
SENDER_NOT_IDENTIFIED = "5005"
RECIPIENT_NOT_IDENTIFIED = "5006"
HASH_INVALID = "5014"
TOO_MANY_GUIDES = "5015"
OPERATOR_REGISTRO_ANS_INVALID = "5027"
VERSION_INVALID = "5028"
LOT_NUMBER_MISSING = "5047"
# Lot rules on schema-valid values (gateway/tiss/lote.py: lot_problem).
DATE_INVALID = "1323"  # DATA PREENCHIDA INCORRETAMENTE: a year outside 0001-9999
CARD_NUMBER_INVALID = "1001"
GUIDE_NUMBER_INVALID = "1307"
PROCEDURE_INVALID = "1801"
NEGATIVE_GUIDE_TOTAL = "5049"
VALUE_INVALID = "5050"
IDENTIFIER_UNKNOWN = "5052"
IDENTIFIER_ALREADY_SENT = "5053"
COMPETENCIA_INVALID = "5046"  # a statement asked for a competência that names no month
GUIDE_ALREADY_PRESENTED = "1308"
SEQUENCE_INVALID = "3167"  # SEQUENCIAL INVÁLIDO: a sequencialItem repeated within a guide
TRANSACTION_DATE_INVALID = "5025"
PROTOCOL_NOT_FOUND = "3291"  # from 4.03.00; 5052 before it
# Digital signature of messages (see gateway/tiss/signatures).
CERTIFICATE_INVALID = "5018"
CERTIFICATE_EXPIRED = "5019"
CERTIFICATE_REVOKED = "5020"
CERTIFICATION_CHAIN_INVALID = "5021"
SIGNATURE_MISMATCH = "5022"
SIGNATURE_MISSING = "3168"

_FALLBACK = {
    "5001": "MENSAGEM ELETRÔNICA FORA DO PADRÃO TISS",
    "5002": "NÃO FOI POSSÍVEL VALIDAR O ARQUIVO XML",
    "5005": "REMETENTE NÃO IDENTIFICADO",
    "5006": "DESTINATÁRIO NÃO IDENTIFICADO",
    "5014": "CÓDIGO HASH INVÁLIDO. MENSAGEM PODE ESTAR CORROMPIDA",
    "5015": "NÚMERO DE GUIAS ACIMA DO MÁXIMO PERMITIDO",
    "5027": "REGISTRO ANS DA OPERADORA INVÁLIDO",
    "5028": "VERSÃO DO PADRÃO INVÁLIDA",
    "5047": "NÚMERO DO LOTE NÃO INFORMADO",
    "1323": "DATA PREENCHIDA INCORRETAMENTE",
    "1001": "NÚMERO DA CARTEIRA INVÁLIDO",
    # In 4.02.00's dm_tipoGlosa, no longer in the current table 38 (3308 took its place).
    "1005": "ATENDIMENTO ANTERIOR À INCLUSÃO DO BENEFICIÁRIO",
    "1307": "NÚMERO DA GUIA INVÁLIDO",
    "1801": "PROCEDIMENTO INVÁLIDO",
    "5049": "VALOR TOTAL MENOR QUE ZERO NA GUIA",
    "5050": "VALOR INFORMADO INVÁLIDO",
    "5052": "IDENTIFICADOR INEXISTENTE",
    "5053": "IDENTIFICADOR JÁ INFORMADO",
    "5046": "COMPETÊNCIA INVÁLIDA",
    "1308": "GUIA JÁ APRESENTADA",
    "3167": "SEQUENCIAL INVÁLIDO",
    "5025": "DATA DE REGISTRO DA TRANSAÇÃO INVÁLIDA",
    "3291": "PROTOCOLO NÃO LOCALIZADO",
    "5018": "CERTIFICADO DIGITAL INVÁLIDO",
    "5019": "CERTIFICADO DIGITAL VENCIDO",
    "5020": "CERTIFICADO DIGITAL REVOGADO",
    "5021": "CADEIA DE CERTIFICAÇÃO INVÁLIDA",
    "5022": "ASSINATURA DIGITAL NÃO CONFERE",
    "3168": "ASSINATURA DIGITAL INVÁLIDA OU NÃO ENVIADA",
}


class FaultKind(enum.StrEnum):
    """st_tissFault: the categories a tissFaultWS can carry."""

    DESTINATARIO_INVALIDO = "DestinatarioInvalido"
    REMETENTE_INVALIDO = "RemetenteInvalido"
    LOGIN_INVALIDO = "LoginInvalido"
    VERSAO_INVALIDA = "VersaoInvalida"
    HASH_INVALIDO = "HashInvalido"
    SCHEMA_INVALIDO = "SchemaInvalido"
    ERRO_INESPERADO = "ErroInesperadoServidor"


@cache
def _table() -> dict[str, str]:
    data = json.loads((resources.files("tiss") / "_data" / "glosas.json").read_text("utf-8"))
    table = dict(_FALLBACK)
    table.update({r["codigo"]: r["descricao"] for r in data.get("records", [])})
    return table


def describe(code: str) -> str:
    """The table-38 description of a code (upper case, as ANS writes it)."""
    return _table().get(code, f"CÓDIGO {code}")


def is_known(code: str) -> bool:
    return code in _table()
