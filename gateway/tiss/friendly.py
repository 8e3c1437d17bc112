"""Schema errors in words a billing clerk understands (Portuguese), for the portal's upload page.

libxml2 reports errors like "Element '{ns}dataAtendimento': '2026-13-45' is not a valid value of
the atomic type '{ns}st_data'". The clerk needs the field, what is wrong and, where it helps,
what is expected. Messages that match no known shape are passed on with namespaces removed.
"""

import re

_NS = re.compile(r"\{(?:https?://|urn:)[^}]*\}")
_ELEMENT = re.compile(r"^Element '([^']+)'(?:, attribute '[^']+')?: (.*)$", re.S)

_TYPE_HINTS = {
    "st_data": "uma data no formato AAAA-MM-DD",
    "st_hora": "uma hora no formato HH:MM:SS",
    "st_competencia": "um mês no formato AAAAMM",
}

_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"This element is not expected\. Expected is (?:one of )?\( (.+) \)"),
        "o campo {field} não era esperado nesta posição; esperado: {0}",
    ),
    (re.compile(r"This element is not expected\."), "o campo {field} não era esperado aqui"),
    (
        re.compile(r"Missing child element\(s\)\. Expected is (?:one of )?\( (.+) \)"),
        "falta informar {0} dentro de {field}",
    ),
    (
        re.compile(r"\[facet 'pattern'\] The value '(.*)' is not accepted by the pattern '(.*)'"),
        "o campo {field} tem o valor '{0}', fora do formato exigido ({1})",
    ),
    (
        re.compile(r"\[facet 'enumeration'\] The value '(.*)' is not an element of the set"),
        "o campo {field} tem o valor '{0}', que não é um dos códigos permitidos",
    ),
    (
        re.compile(
            r"\[facet 'maxLength'\] The value has a length of '(\d+)'; this exceeds "
            r"the allowed maximum length of '(\d+)'"
        ),
        "o campo {field} tem {0} caracteres; o máximo é {1}",
    ),
    (
        re.compile(
            r"\[facet 'minLength'\] The value has a length of '(\d+)'; this underruns "
            r"the allowed minimum length of '(\d+)'"
        ),
        "o campo {field} tem {0} caracteres; o mínimo é {1}",
    ),
    (
        re.compile(r"\[facet '(?:totalDigits|fractionDigits)'\] The value '(.*)' has more"),
        "o campo {field} tem o valor '{0}' com dígitos demais",
    ),
    (
        re.compile(r"Character content other than whitespace is not allowed"),
        "o campo {field} tem um texto solto: ele só pode conter outros campos",
    ),
    (
        re.compile(r"The attribute '(.*)' is not allowed"),
        "o campo {field} tem o atributo '{0}', que o padrão TISS não prevê",
    ),
    (
        re.compile(r"'(.*)' is not a valid value of the (?:atomic|local atomic) type '(.*)'"),
        "o campo {field} tem o valor '{0}', que não é {type_hint}",
    ),
]


def _local(names: str) -> str:
    return ", ".join(n.strip() for n in _NS.sub("", names).split(","))


def explain(message: str) -> str:
    """One schema error as a sentence for a person."""
    match = _ELEMENT.match(message.strip())
    if not match:
        return _NS.sub("", message).strip()
    field, rest = _NS.sub("", match.group(1)), match.group(2)
    for pattern, template in _RULES:
        found = pattern.search(rest)
        if found:
            groups = [_local(g) for g in found.groups()]
            type_hint = "um valor válido para o campo"
            if "atomic type" in rest:
                type_name = _NS.sub("", rest.rsplit("'", 2)[-2])
                type_hint = _TYPE_HINTS.get(
                    type_name,
                    "um número com até duas casas decimais (ex.: 150.00)"
                    if type_name.startswith("st_decimal")
                    else f"um valor válido ({type_name})",
                )
            return template.format(*groups, field=field, type_hint=type_hint)
    return f"o campo {field}: {_NS.sub('', rest).strip()}"


def explain_line(line: str) -> str:
    """A stored error line ("linha N: message") explained, keeping its line number."""
    match = re.match(r"^linha (\d+): (.*)$", line, re.S)
    if match is None:
        return explain(line)
    return f"Linha {match.group(1)}: {explain(match.group(2))}"
