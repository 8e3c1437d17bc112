"""The CNPJ or CPF an ICP-Brasil certificate names (DOC-ICP-04, 7.1.2.3: otherName 2.16.76.1.3.3
of an e-CNPJ, 2.16.76.1.3.1 of an e-CPF), read defensively from whatever a certificate carries."""

from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from gateway.tiss.client_certificates import _other_name_text, holder_document, read_certificate
from gateway.tiss.header import Party
from tests.pki import (
    CLINICA_B_CNPJ,
    MEDICA_PF_CPF,
    OCTET_STRING,
    PRINTABLE_STRING,
    RESPONSIBLE_CPF,
    UTF8_STRING,
    der_string,
    icp_brasil_names,
    make_ca,
    make_holder,
)

NOW = datetime.now(UTC)
CA = make_ca("AC Titulares Teste", now=NOW)


def holder(**kwargs) -> Party | None:
    return holder_document(make_holder("TITULAR", CA, now=NOW, **kwargs).cert)


def other(oid: str, value: bytes) -> x509.OtherName:
    return x509.OtherName(ObjectIdentifier(oid), value)


@pytest.mark.parametrize("tag", [OCTET_STRING, PRINTABLE_STRING, UTF8_STRING])
def test_e_cnpj_and_e_cpf_in_each_string_encoding(tag):
    assert holder(sans=icp_brasil_names(cnpj=CLINICA_B_CNPJ, tag=tag)) == Party(
        "CNPJ", CLINICA_B_CNPJ
    )
    assert holder(sans=icp_brasil_names(cpf=MEDICA_PF_CPF, tag=tag)) == Party("CPF", MEDICA_PF_CPF)


def test_the_responsible_persons_cpf_of_an_e_cnpj_is_not_the_holders():
    # 2.16.76.1.3.4 has the layout of 2.16.76.1.3.1 but names the person responsible for the
    # company: an e-CNPJ is the company's, never that person's.
    assert holder(cnpj=CLINICA_B_CNPJ) == Party("CNPJ", CLINICA_B_CNPJ)
    only_responsible = [
        n
        for n in icp_brasil_names(cnpj=CLINICA_B_CNPJ)
        if n.type_id.dotted_string == "2.16.76.1.3.4"
    ]
    assert RESPONSIBLE_CPF.encode() in only_responsible[0].value
    assert holder(sans=only_responsible) is None


def test_the_cpf_follows_the_birth_date_whatever_comes_after():
    assert holder(cpf=MEDICA_PF_CPF) == Party("CPF", MEDICA_PF_CPF)
    # Only birth date and CPF; and fields long enough for the DER long form of the length.
    assert holder(sans=[other("2.16.76.1.3.1", der_string(f"31121975{MEDICA_PF_CPF}"))]) == Party(
        "CPF", MEDICA_PF_CPF
    )
    long_value = der_string(f"31121975{MEDICA_PF_CPF}" + "0" * 150)
    assert long_value[1] == 0x81
    assert holder(sans=[other("2.16.76.1.3.1", long_value)]) == Party("CPF", MEDICA_PF_CPF)


def test_alphanumeric_cnpj_is_read_in_upper_case():
    assert holder(cnpj="12abc34501de35") == Party("CNPJ", "12ABC34501DE35")


@pytest.mark.parametrize(
    ("oid", "value"),
    [
        ("2.16.76.1.3.3", der_string("0" * 14)),  # not informed
        ("2.16.76.1.3.3", der_string("1122233300018")),  # 13 characters
        ("2.16.76.1.3.3", der_string("112223330001811")),  # 15 characters
        ("2.16.76.1.3.3", der_string("11.222.333/0001-81")),
        ("2.16.76.1.3.1", der_string("01011980" + "0" * 11 + "0" * 11)),  # CPF not informed
        ("2.16.76.1.3.1", der_string("0101198052998")),  # cut short
        ("2.16.76.1.3.1", der_string("1/1/1980" + MEDICA_PF_CPF)),
        ("2.16.76.1.3.3", b"\x02\x01\x05"),  # an INTEGER, not a string
        ("2.16.76.1.3.3", b"\x30\x10" + der_string(CLINICA_B_CNPJ)),  # a SEQUENCE around it
        ("2.16.76.1.3.2", der_string(CLINICA_B_CNPJ)),  # another field of the layout
    ],
)
def test_anything_else_names_nobody(oid, value):
    assert holder(sans=[other(oid, value)]) is None


@pytest.mark.parametrize(
    "value",
    [
        der_string(CLINICA_B_CNPJ) + b"\x00",  # bytes after the string
        der_string(CLINICA_B_CNPJ)[:-1],  # shorter than its length
        b"\x04\x84\x00\x00\x00\x0e" + CLINICA_B_CNPJ.encode(),  # a 4-byte length
        b"\x04\x82\x00",  # a length cut short
        b"\x04",
        b"",
    ],
)
def test_values_that_are_not_one_der_string_are_not_read(value):
    # cryptography refuses to build (and, in a certificate, to parse) most of these: the reader
    # does not rely on it.
    assert _other_name_text(value) is None
    assert _other_name_text(der_string(CLINICA_B_CNPJ)) == CLINICA_B_CNPJ


def test_certificates_without_icp_brasil_names():
    assert holder() is None  # no subject alternative name at all
    assert holder(sans=[x509.DNSName("prestador.example"), x509.RFC822Name("a@b.example")]) is None


def test_a_cnpj_wins_over_a_cpf_and_the_first_of_each_counts():
    both = icp_brasil_names(cnpj=CLINICA_B_CNPJ) + icp_brasil_names(cpf=MEDICA_PF_CPF)
    assert holder(sans=both) == Party("CNPJ", CLINICA_B_CNPJ)
    two = icp_brasil_names(cpf=MEDICA_PF_CPF) + icp_brasil_names(cpf=RESPONSIBLE_CPF)
    assert holder(sans=two) == Party("CPF", MEDICA_PF_CPF)


def test_read_certificate_reports_the_holder():
    issued = make_holder("CLINICA B:45723174000110", CA, now=NOW, cnpj=CLINICA_B_CNPJ)
    assert read_certificate(issued.cert_pem).holder == Party("CNPJ", CLINICA_B_CNPJ)
    assert read_certificate(make_holder("SEM", CA, now=NOW).cert_pem).holder is None
