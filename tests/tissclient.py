"""Test helpers acting as a provider's system: build lots, post them in SOAP envelopes, and read
answers, validating every answer against the OFFICIAL ANS schema of its version."""

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from gateway.tiss.header import Party
from gateway.tiss.namespaces import ANS, SOAP11_ENV, version_file_tag, version_slug
from gateway.tiss.samples import SampleLot, SampleQuery, guides

SHARED_TISS = Path(__file__).resolve().parents[2] / "shared" / "tiss"
NS = {"ans": ANS, "soapenv": SOAP11_ENV}


@dataclass(frozen=True)
class Provider:
    cnpj: str
    code: str
    name: str
    password: str

    @property
    def senha_md5(self) -> str:
        return hashlib.md5(self.password.encode()).hexdigest()


def sample_query(provider: Provider, *, registro_ans: str, **overrides) -> SampleQuery:
    """A query (status, eligibility, statement) sent by `provider` under its own login."""
    values = dict(
        registro_ans=registro_ans,
        origem=Party("CNPJ", provider.cnpj),
        codigo_prestador=provider.code,
        login=provider.cnpj,
        senha_md5=provider.senha_md5,
    )
    values.update(overrides)
    return SampleQuery(**values)


def sample_lot(
    provider: Provider, numero_lote: str, count: int = 3, *, registro_ans: str, **overrides
) -> SampleLot:
    values = dict(
        registro_ans=registro_ans,
        origem=Party("CNPJ", provider.cnpj),
        numero_lote=numero_lote,
        guides=guides(count),
        login=provider.cnpj,
        senha_md5=provider.senha_md5,
        codigo_prestador=provider.code,
    )
    values.update(overrides)
    return SampleLot(**values)


def envelope(payload: etree._Element | None, encoding: str = "ISO-8859-1") -> bytes:
    env = etree.Element(f"{{{SOAP11_ENV}}}Envelope", nsmap={"soapenv": SOAP11_ENV})
    body = etree.SubElement(env, f"{{{SOAP11_ENV}}}Body")
    if payload is not None:
        body.append(payload)
    return etree.tostring(env, encoding=encoding, xml_declaration=True)


@cache
def official_schema(version: str) -> etree.XMLSchema:
    """The official web-service schema of a version, from the ANS files in shared/."""
    path = SHARED_TISS / "schemas" / version / f"tissWebServices{version_file_tag(version)}.xsd"
    parser = etree.XMLParser(no_network=True, load_dtd=True, resolve_entities=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


def assert_official(element: etree._Element, version: str) -> None:
    schema = official_schema(version)
    assert schema.validate(element), f"answer invalid for {version}: {schema.error_log}"


def leaf_md5(element: etree._Element) -> str:
    """The TISS hash computed independently of the gateway's code: every leaf text, in order,
    from cabecalho to the body, as ISO-8859-1."""
    texts = []
    for child in element:
        if etree.QName(child).localname in ("hash", "Signature", "Signatures", "epilogo"):
            continue
        texts.extend(el.text or "" for el in child.iter() if len(el) == 0)
    return hashlib.md5("".join(texts).encode("iso-8859-1")).hexdigest()


@dataclass
class SoapAnswer:
    status: int
    content_type: str
    raw: bytes
    payload: etree._Element | None = None
    faultcode: str | None = None
    faultstring: str | None = None
    tiss_fault: str | None = None

    @property
    def is_fault(self) -> bool:
        return self.tiss_fault is not None

    def text(self, path: str) -> str | None:
        return self.payload.findtext(path, namespaces=NS)

    @property
    def code(self) -> str | None:
        """The table-38 code: from mensagemErro in a body, or from the fault string."""
        if self.payload is not None:
            return self.payload.findtext(".//ans:mensagemErro/ans:codigoGlosa", namespaces=NS)
        return (self.faultstring or "").split(" ", 1)[0] or None

    @property
    def protocol(self) -> str | None:
        return self.payload.findtext(".//ans:numeroProtocolo", namespaces=NS)


def read_answer(status: int, content_type: str, raw: bytes, endpoint_version: str) -> SoapAnswer:
    """Parse an HTTP answer, asserting it is a SOAP 1.1 envelope whose content is valid under the
    official schema (and, for bodies, carries a correct hash)."""
    root = etree.fromstring(raw)
    assert root.tag == f"{{{SOAP11_ENV}}}Envelope", raw[:300]
    body = root.find(f"{{{SOAP11_ENV}}}Body")
    content = body[0]
    declared = etree.ElementTree(root).docinfo.encoding.upper()
    assert f"charset={declared}".lower() in content_type.lower(), (content_type, declared)
    if content.tag == f"{{{SOAP11_ENV}}}Fault":
        assert status == 500
        detail = content.find("detail")[0]
        assert_official(detail, endpoint_version)
        return SoapAnswer(
            status,
            content_type,
            raw,
            faultcode=content.findtext("faultcode"),
            faultstring=content.findtext("faultstring"),
            tiss_fault=detail.findtext("ans:tissFault", namespaces=NS),
        )
    assert status == 200
    version = content.findtext("ans:cabecalho/ans:Padrao", namespaces=NS)
    assert_official(content, version)
    assert content.findtext("ans:hash", namespaces=NS) == leaf_md5(content)
    return SoapAnswer(status, content_type, raw, payload=content)


def post(
    client,
    payload,
    *,
    version: str = "4.03.00",
    service: str = "tissLoteGuias",
    encoding: str = "ISO-8859-1",
    raw: bytes | None = None,
) -> SoapAnswer:
    """POST a payload element (or raw bytes) to an endpoint of the gateway's WSGI app."""
    data = raw if raw is not None else envelope(payload, encoding)
    response = client.post(
        f"/tiss/{version_slug(version)}/{service}",
        data=data,
        headers={"Content-Type": f"text/xml; charset={encoding}", "SOAPAction": '""'},
    )
    return read_answer(
        response.status_code, response.headers["Content-Type"], response.data, version
    )


def item_values(guide) -> list[tuple]:
    """What is recorded of each item of a guide, stored (models.Guide) or read (lote.Guide)."""
    return [
        (
            i.sequencial,
            i.data_realizacao,
            i.codigo_tabela,
            i.codigo_procedimento,
            i.descricao,
            i.quantidade,
            i.valor_informado,
        )
        for i in guide.items
    ]


def guide_values(guide) -> tuple:
    """What is recorded of a guide and its items; a stored guide (models.Guide) and one read from
    a lot (lote.Guide) name them alike."""
    return (
        guide.guide_type,
        guide.numero_guia_prestador,
        guide.numero_guia_operadora,
        guide.numero_carteira,
        guide.atendimento_rn,
        guide.data_realizacao,
        guide.valor_informado,
        item_values(guide),
    )


def local_names(elements) -> list[str]:
    """The elements' names without their namespace, in order."""
    return [etree.QName(el).localname for el in elements]
