"""Reading the `cabecalho` of a TISS message (web-service element or mensagemTISS file)."""

from dataclasses import dataclass

from lxml import etree

from gateway.tiss.namespaces import q

# Kinds of party identification, spelled as the standard's elements.
CNPJ = "CNPJ"
CPF = "CPF"
CODIGO_PRESTADOR = "codigoPrestadorNaOperadora"
REGISTRO_ANS = "registroANS"


@dataclass(frozen=True)
class Party:
    kind: str  # CNPJ | CPF | codigoPrestadorNaOperadora | registroANS
    value: str


def documents(cnpj: str | None, cpf: str | None) -> tuple[Party, ...]:
    """A provider's CNPJ and CPF as parties (those it has), e.g. to compare with the one a
    certificate names."""
    return tuple(Party(kind, value) for kind, value in ((CNPJ, cnpj), (CPF, cpf)) if value)


def describe(parties: tuple[Party, ...]) -> str:
    """'CNPJ 11222333000181 / CPF ...', for messages to people; empty without parties."""
    return " / ".join(f"{p.kind} {p.value}" for p in parties)


@dataclass(frozen=True)
class Header:
    tipo_transacao: str
    sequencial: str
    data_registro: str
    hora_registro: str
    origem: Party | None
    destino: Party | None
    padrao: str
    login: str | None
    senha: str | None


def _text(parent: etree._Element | None, *path: str) -> str | None:
    el = parent
    for name in path:
        if el is None:
            return None
        el = el.find(q(name))
    return el.text if el is not None and el.text is not None else None


def _party(container: etree._Element | None) -> Party | None:
    if container is None:
        return None
    for child in container.iterchildren(etree.Element):
        local = etree.QName(child).localname
        if local == "identificacaoPrestador":
            inner = next(child.iterchildren(etree.Element), None)
            if inner is None:
                return None
            return Party(etree.QName(inner).localname, (inner.text or "").strip())
        if local == REGISTRO_ANS:
            return Party(REGISTRO_ANS, (child.text or "").strip())
    return None


def find_padrao(message: etree._Element) -> str | None:
    """The declared version, read before any validation (it picks the schema set)."""
    value = _text(message, "cabecalho", "Padrao")
    return value.strip() if value is not None else None


def read_header(message: etree._Element) -> Header:
    """Read the cabecalho. Missing parts come back as None/'' (schema validation reports them)."""
    cab = message.find(q("cabecalho"))
    ident = cab.find(q("identificacaoTransacao")) if cab is not None else None
    login = cab.find(q("loginSenhaPrestador")) if cab is not None else None
    return Header(
        tipo_transacao=(_text(ident, "tipoTransacao") or "").strip(),
        sequencial=(_text(ident, "sequencialTransacao") or "").strip(),
        data_registro=(_text(ident, "dataRegistroTransacao") or "").strip(),
        hora_registro=(_text(ident, "horaRegistroTransacao") or "").strip(),
        origem=_party(cab.find(q("origem")) if cab is not None else None),
        destino=_party(cab.find(q("destino")) if cab is not None else None),
        padrao=(_text(cab, "Padrao") or "").strip(),
        login=_text(login, "loginPrestador"),
        senha=_text(login, "senhaPrestador"),
    )


def informed_hash(message: etree._Element) -> str:
    """The hash the sender wrote: `hash` in web-service messages, `epilogo/hash` in files."""
    return (_text(message, "hash") or _text(message, "epilogo", "hash") or "").strip()
