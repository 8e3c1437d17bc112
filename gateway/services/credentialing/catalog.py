"""The fixed lists a candidate chooses from (codes stored, labels shown), from the operator
portal manuals (seed 000)."""

STATUS = {
    "draft": "Em preenchimento",
    "submitted": "Aguardando análise da operadora",
    "complement_requested": "Complemento solicitado",
    "pre_approved": "Pré-cadastro aprovado",
    "final_review": "Aguardando aprovação final",
    "approved": "Credenciado",
    "rejected": "Recusado",
}
# What each recorded step is called in the histories.
ACTIONS = {
    "create": "Conta criada",
    "submit": "Solicitação enviada",
    "pre_approve": "Pré-cadastro aprovado",
    "request_complement": "Complemento solicitado",
    "reject": "Solicitação recusada",
    "approve": "Credenciamento aprovado",
}
OPEN_STATUSES = ("submitted", "complement_requested", "pre_approved", "final_review")

PERSON_KINDS = {"PJ": "Pessoa Jurídica", "PF": "Pessoa Física"}
TIPO_CNPJ = {"matriz": "Matriz", "filial": "Filial"}
SEGMENTO = {
    "medico": "Médico",
    "hospitalar": "Hospitalar",
    "sadt": "SADT – apoio diagnóstico e terapêutico",
    "odontologico": "Odontológico",
    "terapias": "Terapias (fisioterapia, fonoaudiologia, psicologia, nutrição)",
    "domiciliar": "Atenção domiciliar",
}
TIPO_ESTABELECIMENTO = {
    "hospital_geral": "Hospital geral",
    "hospital_especializado": "Hospital especializado",
    "hospital_dia": "Hospital-dia",
    "pronto_atendimento": "Pronto-socorro / pronto atendimento",
    "clinica": "Clínica / ambulatório",
    "consultorio": "Consultório",
    "laboratorio": "Laboratório de análises clínicas",
    "imagem": "Centro de diagnóstico por imagem",
    "terapias": "Centro de terapias",
    "outro": "Outro",
}
REGIME_TRIBUTARIO = {
    "simples": "Simples Nacional",
    "lucro_presumido": "Lucro Presumido",
    "lucro_real": "Lucro Real",
    "mei": "Microempreendedor Individual (MEI)",
    "imune_isento": "Imune ou isento",
    "pessoa_fisica": "Pessoa física (carnê-leão)",
}
BANCOS = {
    "001": "001 – Banco do Brasil",
    "033": "033 – Santander",
    "041": "041 – Banrisul",
    "070": "070 – BRB",
    "077": "077 – Banco Inter",
    "104": "104 – Caixa Econômica Federal",
    "237": "237 – Bradesco",
    "260": "260 – Nu Pagamentos",
    "341": "341 – Itaú Unibanco",
    "422": "422 – Safra",
    "748": "748 – Sicredi",
    "756": "756 – Sicoob",
}
REDE = {
    "credenciados": "Prestadores credenciados",
    "referenciada": "Rede referenciada",
    "urgencia": "Rede de urgência e emergência",
    "oncologia": "Rede de oncologia",
    "saude_mental": "Rede de saúde mental",
}
GRAU_COMPLEXIDADE = {"baixa": "Baixa", "media": "Média", "alta": "Alta"}
QUESTIONARIO = {
    "uti": "Possui UTI",
    "cidade_10mil": "Localizado em cidade com mais de 10.000 beneficiários",
    "tomografia": "Possui tomografia computadorizada em pleno funcionamento",
    "tomografia_multislice": "Possui tomografia computadorizada Multislice em pleno funcionamento",
    "leitos_150": "Dispõe de no mínimo 150 leitos operacionais",
    "cidade_20mil": "Localizado em cidade com mais de 20.000 beneficiários",
    "ressonancia": "Dispõe de Ressonância Nuclear Magnética em pleno funcionamento ou "
    "Unidade Pediátrica",
    "radioterapia": "Dispõe de Serviço de Radioterapia ou Unidade Obstétrica",
}
CONSELHOS = {
    "CRM": "CRM – Medicina",
    "CRO": "CRO – Odontologia",
    "COREN": "COREN – Enfermagem",
    "CREFITO": "CREFITO – Fisioterapia e Terapia Ocupacional",
    "CRF": "CRF – Farmácia",
    "CRBM": "CRBM – Biomedicina",
    "CRP": "CRP – Psicologia",
    "CRN": "CRN – Nutrição",
    "CRFa": "CRFa – Fonoaudiologia",
}
DOCUMENT_TYPES = {
    "curriculo_crm": "Currículo e CRM do diretor médico / responsável técnico",
    "cnpj": "Comprovante de inscrição no CNPJ",
    "alvara_funcionamento": "Alvará de funcionamento (ou protocolo do pedido)",
    "alvara_sanitario": "Alvará da Vigilância Sanitária (ou protocolo do pedido)",
    "contrato_social": "Contrato social com a última alteração",
    "cnes": "Inscrição no CNES (ou protocolo do pedido)",
    "corpo_clinico": "Relação do corpo clínico",
    "servicos": "Relação dos serviços disponibilizados",
    "isencao_fiscal": "Declaração de isenção fiscal (IRRF), se houver",
    "iss_ccm": "Comprovante de inscrição no ISS/CCM",
    "inss": "Comprovante de inscrição no INSS",
    "certidoes": "Certidões negativas (Receita Federal, INSS) e regularidade do FGTS",
    "outro": "Outro documento",
}
# What final approval cannot go without; the operator may ask for the rest as a complement.
REQUIRED_DOCUMENTS = {
    "PJ": ("curriculo_crm", "cnpj", "alvara_funcionamento", "contrato_social"),
    "PF": ("curriculo_crm",),
}
ALLOWED_CONTENT = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
