"""Labels of the TISS domain tables people choose from or read in the portal (guide types,
protocol status, conselho profissional, UF, tabela, tipo de consulta, ...).

Which codes a version accepts always comes from its schema (`SchemaSet.domain`); the labels here
are the ones the official simple-types schema writes in comments next to each enumeration, and,
for CBO (table 24), the ANS terminology shipped in the `tiss` package.
"""

import json
from functools import cache
from importlib import resources

GUIDE_TYPES = {
    "guiaConsulta": "Guia de Consulta",
    "guiaSP-SADT": "Guia de SP/SADT",
    "guiaResumoInternacao": "Guia de Resumo de Internação",
    "guiaHonorarios": "Guia de Honorários",
    "guiaOdonto": "Guia de Tratamento Odontológico",
}

# dm_statusProtocolo.
STATUS_PROTOCOLO = {
    1: "Recebido",
    2: "Em análise",
    3: "Liberado para pagamento",
    4: "Encerrado sem pagamento",
    5: "Analisado e aguardando liberação para pagamento",
    6: "Pagamento efetuado",
    7: "Não localizado",
    8: "Aguardando informação complementar",
    9: "Cancelado",
}

# dm_conselhoProfissional (table 26).
CONSELHOS = {
    "01": "CRESS – Conselho Regional de Serviço Social",
    "02": "COREN – Conselho Regional de Enfermagem",
    "03": "CRF – Conselho Regional de Farmácia",
    "04": "CRFA – Conselho Regional de Fonoaudiologia",
    "05": "CREFITO – Conselho Regional de Fisioterapia e Terapia Ocupacional",
    "06": "CRM – Conselho Regional de Medicina",
    "07": "CRN – Conselho Regional de Nutrição",
    "08": "CRO – Conselho Regional de Odontologia",
    "09": "CRP – Conselho Regional de Psicologia",
    "10": "OUT – Outros Conselhos",
    "11": "CRBio – Conselho Regional de Biologia",
    "12": "CRBM – Conselho Regional de Biomedicina",
    "13": "CREF – Conselho Regional de Educação Física",
    "14": "CRMV – Conselho Regional de Medicina Veterinária",
    "15": "CRTR – Conselho Regional de Técnicos em Radiologia",
}

# dm_UF (table 59): IBGE codes.
UFS = {
    "11": "RO",
    "12": "AC",
    "13": "AM",
    "14": "RR",
    "15": "PA",
    "16": "AP",
    "17": "TO",
    "21": "MA",
    "22": "PI",
    "23": "CE",
    "24": "RN",
    "25": "PB",
    "26": "PE",
    "27": "AL",
    "28": "SE",
    "29": "BA",
    "31": "MG",
    "32": "ES",
    "33": "RJ",
    "35": "SP",
    "41": "PR",
    "42": "SC",
    "43": "RS",
    "50": "MS",
    "51": "MT",
    "52": "GO",
    "53": "DF",
    "98": "EX – Países estrangeiros",
}

# dm_tabela (table 87).
TABELAS = {
    "22": "22 – TUSS Procedimentos e eventos em saúde",
    "00": "00 – Tabela própria da operadora",
    "98": "98 – Tabela própria de pacotes",
    "18": "18 – TUSS Taxas hospitalares, diárias e gases medicinais",
    "19": "19 – TUSS Materiais",
    "20": "20 – TUSS Medicamentos",
    "90": "90 – Tabela própria pacote odontológico",
}

# dm_indicadorAcidente (table 36).
INDICACAO_ACIDENTE = {
    "9": "Não acidente",
    "0": "Trabalho",
    "1": "Trânsito",
    "2": "Outros acidentes",
}

# dm_tipoConsulta (table 52).
TIPO_CONSULTA = {
    "1": "Primeira consulta",
    "2": "Retorno / seguimento",
    "3": "Pré-natal",
    "4": "Por encaminhamento",
}

# dm_regimeAtendimento (table 76), required in a Guia de Consulta since 4.00.00.
REGIME_ATENDIMENTO = {
    "01": "Ambulatorial",
    "02": "Domiciliar",
    "03": "Internação",
    "04": "Pronto-socorro",
    "05": "Telessaúde",
}

# TUSS (table 22) codes billed in a Guia de Consulta, as the TUSS terminology names them.
TUSS_CONSULTAS = {
    "10101012": "Consulta em consultório (no horário normal ou preestabelecido)",
    "10101020": "Consulta em domicílio",
    "10101039": "Consulta em pronto socorro",
    "10106030": "Atendimento ao familiar do adolescente",
    "10106049": "Atendimento pediátrico a gestantes (3º trimestre)",
    "10106146": "Atendimento ambulatorial em puericultura",
}

# dm_formaPagamento.
FORMA_PAGAMENTO = {
    "1": "Depósito / transferência bancária",
    "2": "Carteira",
    "3": "Boleto bancário / DDA",
    "4": "Dinheiro / cheque",
}

# dm_debitoCreditoTipo.
DEBITO_CREDITO = {
    "01": "IRRF",
    "02": "ISS",
    "03": "INSS",
    "04": "PIS",
    "05": "COFINS",
    "06": "CSLL",
    "07": "Descontos financeiros",
    "08": "Ajuste de pagamento anterior",
    "09": "Determinação judicial",
}


@cache
def cbo_labels() -> dict[str, str]:
    """CBO (table 24) code -> occupation, from the ANS terminology in the `tiss` package."""
    data = json.loads(
        (resources.files("tiss") / "dominio" / "_data" / "domain.json").read_text("utf-8")
    )
    return {r["codigo"]: r["termo"] for r in data.get("records", []) if r.get("tabela") == "24"}


def status_label(status: int) -> str:
    return STATUS_PROTOCOLO.get(status, f"Situação {status}")


def guide_type_label(guide_type: str | None) -> str:
    return GUIDE_TYPES.get(guide_type or "", guide_type or "—")
