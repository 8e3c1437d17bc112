"""What the portal answers when a form is filled in wrong: the field reader of the account and
credentialing forms (services/validation.Fields), field by field with its Portuguese message, and
the refusals of the credentialing steps after the pre-approval (complementary data, cities,
Responsável Técnico, final submission) and of the document upload, removal and download."""

import hashlib
from datetime import date

import pytest

from gateway.forms import DATE_FORMAT_MESSAGE
from gateway.services.credentialing import catalog, documents, queue, records, registration, steps
from gateway.services.validation import UFS, Fields, InvalidInput
from storage.portal_models import CredentialingDocument
from tests import portal_support as ps

CHECK_DIGITS_CPF = "CPF inválido (dígitos verificadores não conferem)"
CHECK_DIGITS_CNPJ = "CNPJ inválido (dígitos verificadores não conferem)"
REQUIRED = "campo obrigatório"
NOT_A_DATE = DATE_FORMAT_MESSAGE
MAX_BYTES = 10_000_000


# --- Fields, the form reader (no database) ---------------------------------------------------

REFUSED = [
    pytest.param(lambda f: f.choice("campo", UFS), "", "selecione uma opção", id="choice-empty"),
    pytest.param(
        lambda f: f.choice("campo", UFS), " \n\t ", "selecione uma opção", id="choice-blank"
    ),
    pytest.param(lambda f: f.choice("campo", UFS), "XX", "opção inválida", id="choice-unknown"),
    pytest.param(lambda f: f.uf("campo"), "Distrito Federal", "opção inválida", id="uf-unknown"),
    pytest.param(
        lambda f: f.choices("campo", ["uti", "piscina"], catalog.QUESTIONARIO),
        "",
        "opção inválida",
        id="choices-one-unknown",
    ),
    pytest.param(lambda f: f.email("campo"), "maria.example.com", "e-mail inválido", id="no-at"),
    pytest.param(lambda f: f.email("campo"), "maria@example", "e-mail inválido", id="no-dot"),
    pytest.param(
        lambda f: f.email("campo"), "maria souza@example.com", "e-mail inválido", id="space"
    ),
    pytest.param(lambda f: f.email("campo"), "", REQUIRED, id="email-empty"),
    pytest.param(lambda f: f.digits("campo", length=8), "", REQUIRED, id="digits-empty"),
    # Punctuation alone is dropped, which leaves nothing: the field is empty, not too short.
    pytest.param(lambda f: f.digits("campo", length=8), "(  ) - .", REQUIRED, id="digits-punct"),
    pytest.param(
        lambda f: f.digits("campo", length=8, what="o CEP tem"),
        "70040-01",
        "o CEP tem 8 dígitos",
        id="digits-short",
    ),
    pytest.param(
        lambda f: f.digits("campo", length=(10, 11), what="o telefone tem"),
        "(61) 3333-444",
        "o telefone tem de 10 a 11 dígitos",
        id="digits-range",
    ),
    pytest.param(
        lambda f: f.digits("campo", length=7), "12345678", "informe 7 dígitos", id="digits-long"
    ),
    # Arabic-Indic digits are digits to Python's \d, but not what a TISS field takes: dropped,
    # they leave the number short.
    pytest.param(
        lambda f: f.digits("campo", length=7),
        "123\u0664\u0665\u0666\u0667",
        "informe 7 dígitos",
        id="digits-other-script",
    ),
    pytest.param(lambda f: f.cpf("campo"), "993.518.190-18", CHECK_DIGITS_CPF, id="cpf-digit"),
    pytest.param(lambda f: f.cpf("campo"), "111.111.111-11", CHECK_DIGITS_CPF, id="cpf-repeated"),
    pytest.param(lambda f: f.cpf("campo"), "993.518.190-1", "o CPF tem 11 dígitos", id="cpf-10"),
    pytest.param(lambda f: f.cpf("campo"), "", REQUIRED, id="cpf-empty"),
    pytest.param(lambda f: f.cnpj("campo"), "", REQUIRED, id="cnpj-empty"),
    pytest.param(lambda f: f.cnpj("campo"), " ./- ", REQUIRED, id="cnpj-punctuation"),
    pytest.param(
        lambda f: f.cnpj("campo"), "52.601.815/9083-60", CHECK_DIGITS_CNPJ, id="cnpj-digit"
    ),
    pytest.param(
        lambda f: f.cnpj("campo"), "12.ABC.345/01DE-36", CHECK_DIGITS_CNPJ, id="cnpj-alnum-digit"
    ),
    pytest.param(lambda f: f.date("campo"), "", REQUIRED, id="date-empty"),
    pytest.param(lambda f: f.date("campo"), "2026-02-30", NOT_A_DATE, id="date-no-such-day"),
    pytest.param(lambda f: f.date("campo"), "30/02/2026", NOT_A_DATE, id="date-brazilian-no-day"),
    pytest.param(lambda f: f.date("campo"), "31-01-2026", NOT_A_DATE, id="date-dashes"),
    pytest.param(lambda f: f.date("campo"), "amanhã", NOT_A_DATE, id="date-words"),
]


@pytest.mark.parametrize(("read", "typed", "message"), REFUSED)
def test_wrong_input_is_refused_with_its_message_under_its_field(read, typed, message):
    fields = Fields({"campo": typed, "outro": "não lido"})
    read(fields)
    assert fields.errors == {"campo": message}
    with pytest.raises(InvalidInput) as refused:
        fields.check()
    assert refused.value.errors == {"campo": message}


ACCEPTED = [
    pytest.param(lambda f: f.choice("campo", catalog.REDE), "  urgencia ", "urgencia", id="choice"),
    pytest.param(lambda f: f.uf("campo"), "SP", "SP", id="uf"),
    # A browser's calendar sends AAAA-MM-DD; where it shows a text box, people type DD/MM/AAAA.
    pytest.param(lambda f: f.date("campo"), "2026-01-31", date(2026, 1, 31), id="date-iso"),
    pytest.param(lambda f: f.date("campo"), "31/01/2026", date(2026, 1, 31), id="date-brazilian"),
    pytest.param(lambda f: f.date("campo"), " 1/2/2026 ", date(2026, 2, 1), id="date-short"),
    pytest.param(
        lambda f: f.email("campo"),
        " Maria.Souza@ClinicaExemplo.COM.br ",
        "maria.souza@clinicaexemplo.com.br",
        id="email-lowercased",
    ),
    pytest.param(
        lambda f: f.digits("campo", length=(10, 11)),
        "(61) 3333-4444",
        "6133334444",
        id="digits-only",
    ),
    pytest.param(lambda f: f.digits("campo", length=8), "70.040-010", "70040010", id="cep"),
    # Full-width digits (some keyboards, text copied from PDFs) are the digits they look like.
    pytest.param(
        lambda f: f.digits("campo", length=7),
        "\uff11\uff12\uff13\uff14\uff15\uff16\uff17",
        "1234567",
        id="digits-full-width",
    ),
    pytest.param(
        lambda f: f.cpf("campo"),
        "\uff19\uff19\uff13.\uff15\uff11\uff18.\uff11\uff19\uff10-\uff11\uff19",
        "99351819019",
        id="cpf-full-width",
    ),
    pytest.param(lambda f: f.cpf("campo"), "993.518.190-19", "99351819019", id="cpf"),
    pytest.param(lambda f: f.cpf("campo"), "937 865 797 41", "93786579741", id="cpf-spaces"),
    pytest.param(
        lambda f: f.cnpj("campo"), "52.601.815/9083-69", "52601815908369", id="cnpj-numeric"
    ),
    pytest.param(
        lambda f: f.cnpj("campo"), "12.abc.345/01de-35", "12ABC34501DE35", id="cnpj-alphanumeric"
    ),
    pytest.param(lambda f: f.date("campo"), " 2026-01-31 ", date(2026, 1, 31), id="date"),
]


@pytest.mark.parametrize(("read", "typed", "clean"), ACCEPTED)
def test_valid_input_gives_the_cleaned_value(read, typed, clean):
    fields = Fields({"campo": typed})
    assert read(fields) == clean
    assert fields.errors == {}
    fields.check()


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda f: f.choice("campo", UFS, required=False), id="choice"),
        pytest.param(lambda f: f.uf("campo", required=False), id="uf"),
        pytest.param(lambda f: f.email("campo", required=False), id="email"),
        pytest.param(lambda f: f.digits("campo", length=8, required=False), id="digits"),
        pytest.param(lambda f: f.cpf("campo", required=False), id="cpf"),
        pytest.param(lambda f: f.date("campo", required=False), id="date"),
    ],
)
def test_an_optional_field_left_empty_is_none_without_a_message(read):
    fields = Fields({"campo": "  "})
    assert read(fields) is None
    assert fields.errors == {}


def test_choices_keep_each_valid_pick_once_in_the_order_given():
    fields = Fields({})
    picked = fields.choices("rede", ["urgencia", "credenciados", "urgencia"], catalog.REDE)
    assert picked == ["urgencia", "credenciados"]
    assert fields.errors == {}


def test_an_unknown_choice_is_dropped_and_named_invalid():
    fields = Fields({})
    assert fields.choices("rede", ["urgencia", "spa"], catalog.REDE) == ["urgencia"]
    assert fields.errors == {"rede": "opção inválida"}


def test_every_wrong_field_is_reported_at_once_with_its_first_message():
    fields = Fields({"email": "x", "cpf": "993.518.190-18", "data": "ontem", "uf": ""})
    fields.email("email")
    fields.cpf("cpf")
    fields.date("data")
    fields.uf("uf")
    fields.fail("email", "outra mensagem")  # a later message for the same field is not shown
    with pytest.raises(InvalidInput) as refused:
        fields.check()
    assert refused.value.errors == {
        "email": "e-mail inválido",
        "cpf": CHECK_DIGITS_CPF,
        "data": NOT_A_DATE,
        "uf": "selecione uma opção",
    }


# --- The credentialing steps after the pre-approval (SQLite and PostgreSQL) -----------------


@pytest.fixture
def candidate(gw) -> int:
    """A PJ candidate pre-approved by the operator: the final steps are open, none filled in."""
    account = ps.candidate_submitted(gw)
    staff = ps.make_staff(gw)
    queue.decide(gw.db, staff, ps.request_of(gw, account), "pre_approve", None, ps.now())
    return account


def another_candidate(gw) -> int:
    form = ps.registration_form(
        document="01661318609164",
        email="outra@clinica.com.br",
        email_confirm="outra@clinica.com.br",
    )
    return registration.start(gw.db, form, ps.now(), ps.ORIGIN)


def complementary(rede: list[str]) -> steps.Complementary:
    values = {"tipo_estabelecimento": "clinica", "grau_complexidade": "media"}
    return steps.Complementary(values, rede, ["uti"])


def test_complementary_data_without_a_rede_is_refused(gw, candidate):
    with pytest.raises(InvalidInput) as refused:
        steps.save_complementary(gw.db, candidate, complementary([]), ps.now())
    assert refused.value.errors == {"rede": "Escolha ao menos uma rede operacional."}
    saved = records.load(gw.db, candidate)
    assert saved.rede == () and saved.grau_complexidade is None


def test_complementary_data_with_an_unknown_rede_says_the_option_is_invalid(gw, candidate):
    with pytest.raises(InvalidInput) as refused:
        steps.save_complementary(gw.db, candidate, complementary(["spa"]), ps.now())
    assert refused.value.errors == {"rede": "opção inválida"}


def test_adding_a_city_twice_is_refused(gw, candidate):
    steps.add_city(gw.db, candidate, {"municipio": "Brasília", "uf": "DF"}, ps.now())
    with pytest.raises(InvalidInput) as refused:
        steps.add_city(gw.db, candidate, {"municipio": " BRASÍLIA ", "uf": "DF"}, ps.now())
    assert refused.value.errors == {"municipio": "Esta cidade já está na lista."}
    assert [(c.municipio, c.uf) for c in records.load(gw.db, candidate).cities] == [
        ("Brasília", "DF")
    ]


def test_a_city_of_the_same_name_in_another_uf_is_added(gw, candidate):
    steps.add_city(gw.db, candidate, {"municipio": "Bom Jesus", "uf": "PI"}, ps.now())
    steps.add_city(gw.db, candidate, {"municipio": "Bom Jesus", "uf": "RS"}, ps.now())
    assert [(c.municipio, c.uf) for c in records.load(gw.db, candidate).cities] == [
        ("Bom Jesus", "PI"),
        ("Bom Jesus", "RS"),
    ]


def test_removing_a_city_removes_only_that_city(gw, candidate):
    for city in ({"municipio": "Brasília", "uf": "DF"}, {"municipio": "Goiânia", "uf": "GO"}):
        steps.add_city(gw.db, candidate, city, ps.now())
    brasilia = records.load(gw.db, candidate).cities[0]
    steps.remove_city(gw.db, candidate, brasilia.id, ps.now())
    assert [c.municipio for c in records.load(gw.db, candidate).cities] == ["Goiânia"]
    # Once removed it is no longer in the list, so it may be added again.
    steps.add_city(gw.db, candidate, {"municipio": "Brasília", "uf": "DF"}, ps.now())
    assert [c.municipio for c in records.load(gw.db, candidate).cities] == ["Goiânia", "Brasília"]


def test_removing_another_candidates_city_changes_nothing(gw, candidate):
    steps.add_city(gw.db, candidate, {"municipio": "Brasília", "uf": "DF"}, ps.now())
    (city,) = records.load(gw.db, candidate).cities
    other = another_candidate(gw)
    with pytest.raises(records.NotAllowed):  # its request is not past the pre-approval
        steps.remove_city(gw.db, other, city.id, ps.now())
    assert [c.id for c in records.load(gw.db, candidate).cities] == [city.id]


def test_saving_the_representative_again_updates_it(gw, candidate):
    steps.save_representative(gw.db, candidate, ps.REPRESENTATIVE, ps.now())
    changed = dict(
        ps.REPRESENTATIVE,
        nome="Dra. Ana Lima",
        conselho="CRO",
        numero_conselho="98.765",
        uf_conselho="GO",
        cpf="937.865.797-41",
        rg="7654321 SSP/GO",
    )
    steps.save_representative(gw.db, candidate, changed, ps.now())
    rep = records.load(gw.db, candidate).representative
    assert (rep.nome, rep.conselho, rep.numero_conselho, rep.uf_conselho, rep.cpf, rep.rg) == (
        "Dra. Ana Lima",
        "CRO",
        "98765",
        "GO",
        "93786579741",
        "7654321 SSP/GO",
    )


def test_a_representative_with_a_wrong_cpf_leaves_the_saved_one_unchanged(gw, candidate):
    steps.save_representative(gw.db, candidate, ps.REPRESENTATIVE, ps.now())
    wrong = dict(ps.REPRESENTATIVE, nome="Outro Nome", cpf="993.518.190-18")
    with pytest.raises(InvalidInput) as refused:
        steps.save_representative(gw.db, candidate, wrong, ps.now())
    assert refused.value.errors == {"cpf": CHECK_DIGITS_CPF}
    rep = records.load(gw.db, candidate).representative
    assert (rep.nome, rep.cpf) == ("Dr. João Lima", "99351819019")


def test_submitting_with_nothing_filled_in_names_everything_missing(gw, candidate):
    with pytest.raises(InvalidInput) as refused:
        steps.submit_final(gw.db, candidate, ps.now())
    assert refused.value.errors == {
        "submit": "Preencha a Identificação Complementar. "
        "Informe ao menos uma cidade de atuação. "
        "Informe o Responsável Técnico. "
        "Envie os documentos: Currículo e CRM do diretor médico / responsável técnico; "
        "Comprovante de inscrição no CNPJ; Alvará de funcionamento (ou protocolo do pedido); "
        "Contrato social com a última alteração."
    }
    view = records.load(gw.db, candidate)
    assert view.status == "pre_approved"
    assert [d.action for d in view.decisions] == ["create", "submit", "pre_approve"]


def test_submitting_without_some_documents_names_only_those(gw, candidate):
    moment = ps.now()
    steps.save_complementary(gw.db, candidate, complementary(["credenciados"]), moment)
    steps.add_city(gw.db, candidate, {"municipio": "Brasília", "uf": "DF"}, moment)
    steps.save_representative(gw.db, candidate, ps.REPRESENTATIVE, moment)
    for doc_type in ("cnpj", "contrato_social", "outro"):
        documents.upload(gw.db, candidate, doc_type, "doc.pdf", ps.PDF, MAX_BYTES, moment)
    with pytest.raises(InvalidInput) as refused:
        steps.submit_final(gw.db, candidate, moment)
    assert refused.value.errors == {
        "submit": "Envie os documentos: "
        "Currículo e CRM do diretor médico / responsável técnico; "
        "Alvará de funcionamento (ou protocolo do pedido)."
    }
    assert records.load(gw.db, candidate).status == "pre_approved"


# --- Documents ---------------------------------------------------------------------------------


def test_a_document_of_unknown_type_is_refused(gw, candidate):
    with pytest.raises(InvalidInput) as refused:
        documents.upload(gw.db, candidate, "selfie", "eu.png", ps.PNG, MAX_BYTES, ps.now())
    assert refused.value.errors == {"doc_type": "Escolha o tipo do documento."}
    assert records.load(gw.db, candidate).documents == ()


def test_an_empty_file_is_refused(gw, candidate):
    with pytest.raises(InvalidInput) as refused:
        documents.upload(gw.db, candidate, "cnpj", "cnpj.pdf", b"", MAX_BYTES, ps.now())
    assert refused.value.errors == {"file": "Escolha o arquivo a enviar."}
    assert records.load(gw.db, candidate).documents == ()


def test_no_more_than_max_documents_per_request(gw, candidate):
    moment = ps.now()
    for n in range(documents.MAX_DOCUMENTS):
        documents.upload(gw.db, candidate, "outro", f"doc{n}.pdf", ps.PDF, MAX_BYTES, moment)
    with pytest.raises(InvalidInput) as refused:
        documents.upload(gw.db, candidate, "outro", "mais.pdf", ps.PDF, MAX_BYTES, moment)
    assert refused.value.errors == {"file": "No máximo 60 documentos por solicitação."}
    assert len(records.load(gw.db, candidate).documents) == documents.MAX_DOCUMENTS


def test_removing_a_document_removes_it(gw, candidate):
    moment = ps.now()
    kept = documents.upload(gw.db, candidate, "cnpj", "cnpj.pdf", ps.PDF, MAX_BYTES, moment)
    gone = documents.upload(gw.db, candidate, "outro", "foto.png", ps.PNG, MAX_BYTES, moment)
    documents.remove(gw.db, candidate, gone, moment)
    assert [d.id for d in records.load(gw.db, candidate).documents] == [kept]
    with pytest.raises(records.NotFound):
        documents.fetch(gw.db, candidate, gone)


def test_a_document_is_fetched_by_its_candidate_and_by_staff_only(gw, candidate):
    doc_id = documents.upload(gw.db, candidate, "cnpj", "cnpj.pdf", ps.PDF, MAX_BYTES, ps.now())
    own = documents.fetch(gw.db, candidate, doc_id)
    assert (own.content, own.doc_type, own.sha256) == (
        ps.PDF,
        "cnpj",
        hashlib.sha256(ps.PDF).hexdigest(),
    )
    staff = ps.account_id(gw, ps.STAFF_LOGIN)
    assert documents.fetch(gw.db, staff, doc_id).content == ps.PDF

    def refusal(viewer: int, document_id: int) -> dict:
        with pytest.raises(records.NotFound) as refused:
            documents.fetch(gw.db, viewer, document_id)
        return refused.value.errors

    # Another candidate is told the same as for a document that does not exist.
    not_found = {"document": "Documento não encontrado."}
    assert refusal(another_candidate(gw), doc_id) == not_found
    assert refusal(candidate, doc_id + 1000) == not_found
    assert refusal(staff, doc_id + 1000) == not_found


def test_a_document_whose_content_changed_in_the_database_is_not_handed_out(gw, candidate):
    doc_id = documents.upload(gw.db, candidate, "cnpj", "cnpj.pdf", ps.PDF, MAX_BYTES, ps.now())
    with gw.db.transaction() as session:
        session.get(CredentialingDocument, doc_id).content = ps.PDF.replace(b"1.4", b"1.7")
    with pytest.raises(RuntimeError, match=f"document {doc_id}: content does not match"):
        documents.fetch(gw.db, ps.account_id(gw, ps.STAFF_LOGIN), doc_id)
