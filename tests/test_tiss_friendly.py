"""Schema errors explained in Portuguese for billing clerks: real libxml2 messages from the
official schema, field names without namespaces, what is wrong and what is expected."""

import pytest

from gateway.tiss.friendly import explain, explain_line
from gateway.tiss.header import Party
from gateway.tiss.namespaces import q
from gateway.tiss.samples import SampleLot, guides, lote_guias_ws
from gateway.tiss.schemas import SchemaRegistry, builtin_sets


@pytest.fixture(scope="module")
def errors():
    registry = SchemaRegistry()
    for schema_set in builtin_sets():
        registry.add(schema_set)
    lot = SampleLot("123456", Party("CNPJ", "11222333000181"), "1", guides(1))
    message = lote_guias_ws(lot)
    guia = message.find(q("loteGuias")).find(q("guiasTISS"))[0]
    guia.find(q("indicacaoAcidente")).text = "7"
    guia.find(q("dadosAtendimento")).find(q("dataAtendimento")).text = "2026-13-45"
    beneficiario = guia.find(q("dadosBeneficiario"))
    beneficiario.remove(beneficiario[1])
    guia.find(q("cabecalhoConsulta")).find(q("registroANS")).text = "12"
    guia.find(q("dadosAtendimento")).find(q("procedimento")).find(
        q("valorProcedimento")
    ).text = "abc"
    guia.find(q("observacao")).text = "x" * 600
    return [explain(e.message) for e in registry.get("4.03.00").validate(message)]


@pytest.mark.parametrize(
    "expected",
    [
        "o campo registroANS tem o valor '12', fora do formato exigido ([0-9]{6})",
        "falta informar atendimentoRN dentro de dadosBeneficiario",
        "o campo indicacaoAcidente tem o valor '7', que não é um dos códigos permitidos",
        "o campo dataAtendimento tem o valor '2026-13-45', que não é uma data no formato "
        "AAAA-MM-DD",
        "o campo valorProcedimento tem o valor 'abc', que não é um número com até duas casas "
        "decimais (ex.: 150.00)",
        "o campo observacao tem 600 caracteres; o máximo é 500",
    ],
)
def test_each_error_is_explained(errors, expected):
    assert expected in errors


def test_no_namespace_uri_reaches_the_clerk(errors):
    assert all("http://" not in e for e in errors)


def test_unexpected_element_names_what_was_expected():
    message = (
        "Element '{http://www.ans.gov.br/padroes/tiss/schemas}intruso': This element is "
        "not expected. Expected is ( {http://www.ans.gov.br/padroes/tiss/schemas}"
        "loginSenhaPrestador )."
    )
    assert explain(message) == (
        "o campo intruso não era esperado nesta posição; esperado: loginSenhaPrestador"
    )


def test_stored_lines_keep_their_line_number():
    line = (
        "linha 12: Element '{http://www.ans.gov.br/padroes/tiss/schemas}UF': [facet "
        "'enumeration'] The value '99' is not an element of the set {'11'}."
    )
    assert explain_line(line) == (
        "Linha 12: o campo UF tem o valor '99', que não é um dos códigos permitidos"
    )


def test_unknown_shapes_pass_through_without_namespaces():
    assert explain("Element '{urn:x}a': something odd") == "o campo a: something odd"
    assert explain("plain text") == "plain text"
