"""The TISS message hash (gateway.tiss.hashing).

Expected values are computed here with hashlib over concatenations written out by hand, so a
mistake in the gateway's leaf-text walk cannot hide behind the same mistake in the test.
"""

import hashlib
from decimal import Decimal

import pytest
from lxml import etree

from gateway.tiss import samples
from gateway.tiss.hashing import (
    ISO_8859_1,
    UTF_8,
    HashCheck,
    check_hash,
    hashed_parts,
    leaf_texts,
    md5_hex,
    message_hash,
)
from gateway.tiss.header import Party, informed_hash
from gateway.tiss.namespaces import ANS, DS
from gateway.tiss.responses import motivo_glosa, seal, sub
from gateway.tiss.xmlsafe import parse_untrusted
from tests.tissclient import local_names


def md5_iso(text: str) -> str:
    return hashlib.md5(text.encode("iso-8859-1")).hexdigest()


def md5_utf8(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


ZERO = "0" * 32

# Hand-written cabecalho used by most messages below, and its concatenated leaf texts.
CABECALHO = """
  <ans:cabecalho>
    <ans:identificacaoTransacao>
      <ans:tipoTransacao>ENVIO_LOTE_GUIAS</ans:tipoTransacao>
      <ans:sequencialTransacao>42</ans:sequencialTransacao>
      <ans:dataRegistroTransacao>2026-11-21</ans:dataRegistroTransacao>
      <ans:horaRegistroTransacao>10:30:00</ans:horaRegistroTransacao>
    </ans:identificacaoTransacao>
    <ans:origem>
      <ans:identificacaoPrestador><ans:CNPJ>12345678000195</ans:CNPJ></ans:identificacaoPrestador>
    </ans:origem>
    <ans:destino><ans:registroANS>123456</ans:registroANS></ans:destino>
    <ans:Padrao>4.03.00</ans:Padrao>
  </ans:cabecalho>"""
CABECALHO_TEXT = (
    "ENVIO_LOTE_GUIAS" + "42" + "2026-11-21" + "10:30:00" + "12345678000195" + "123456" + "4.03.00"
)


def ws_message(
    body: str,
    *,
    hash_value: str = ZERO,
    after_hash: str = "",
    encoding: str = "utf-8",
    parse=parse_untrusted,
) -> etree._Element:
    """A loteGuiasWS with CABECALHO, `body`, a hash and whatever follows it, parsed from bytes."""
    xml = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<ans:loteGuiasWS xmlns:ans="{ANS}" xmlns:ds="{DS}">{CABECALHO}\n'
        f"  <ans:loteGuias>{body}</ans:loteGuias>\n"
        f"  <ans:hash>{hash_value}</ans:hash>{after_hash}\n"
        f"</ans:loteGuiasWS>\n"
    )
    data = xml.encode(encoding)
    if parse is parse_untrusted:
        return parse_untrusted(data).root
    return parse(data)


def with_comments(data: bytes) -> etree._Element:
    """A plain lxml parse that keeps comments and PIs, to test hashing independently of
    the hardened parser's clean-up."""
    return etree.fromstring(data, etree.XMLParser(remove_comments=False, remove_pis=False))


# ------------------------------------------------------------------------------- encodings


ACCENTED_BODY = """
    <ans:numeroLote>L1</ans:numeroLote>
    <ans:nomeProfissional>DRA. JOSÉ MARIA ÇÃO</ans:nomeProfissional>
    <ans:observacao>cefaléia</ans:observacao>"""
ACCENTED_TEXT = CABECALHO_TEXT + "L1" + "DRA. JOSÉ MARIA ÇÃO" + "cefaléia"


def test_leaf_text_concatenation_matches_the_hand_written_one():
    msg = ws_message(ACCENTED_BODY)
    assert leaf_texts(hashed_parts(msg)) == ACCENTED_TEXT
    assert local_names(hashed_parts(msg)) == ["cabecalho", "loteGuias"]


def test_accented_text_iso_and_utf8_hashes_differ_and_the_variant_is_reported():
    msg = ws_message(ACCENTED_BODY)
    iso, utf = md5_iso(ACCENTED_TEXT), md5_utf8(ACCENTED_TEXT)
    assert iso != utf

    assert message_hash(msg) == iso
    assert md5_hex(ACCENTED_TEXT) == iso
    assert md5_hex(ACCENTED_TEXT, UTF_8) == utf

    # default policy: ISO-8859-1 only
    assert check_hash(msg, iso) == HashCheck(ok=True, variant=ISO_8859_1, expected_iso=iso)
    assert check_hash(msg, utf) == HashCheck(ok=False, variant=None, expected_iso=iso)
    # UTF-8 accepted only when the policy lists it
    both = (ISO_8859_1, UTF_8)
    assert check_hash(msg, utf, both) == HashCheck(ok=True, variant=UTF_8, expected_iso=iso)
    assert check_hash(msg, iso, both) == HashCheck(ok=True, variant=ISO_8859_1, expected_iso=iso)
    # UTF-8 only: the ISO hash is no longer accepted, but expected_iso is still recorded
    assert check_hash(msg, iso, (UTF_8,)) == HashCheck(ok=False, variant=None, expected_iso=iso)
    assert check_hash(msg, utf, (UTF_8,)).variant == UTF_8


def test_same_text_gives_same_hash_whatever_the_wire_encoding():
    iso_wire = ws_message(ACCENTED_BODY, encoding="iso-8859-1")
    utf_wire = ws_message(ACCENTED_BODY, encoding="utf-8")
    assert message_hash(iso_wire) == message_hash(utf_wire) == md5_iso(ACCENTED_TEXT)


def test_ascii_only_text_hashes_the_same_in_both_variants():
    body = "<ans:numeroLote>L1</ans:numeroLote>"
    text = CABECALHO_TEXT + "L1"
    assert md5_iso(text) == md5_utf8(text)
    msg = ws_message(body)
    # ISO is tried first, so it is the variant recorded
    assert check_hash(msg, md5_iso(text), (ISO_8859_1, UTF_8)).variant == ISO_8859_1


def test_text_outside_iso_8859_1_fails_iso_but_can_pass_utf8():
    body = "<ans:observacao>custo 10 €</ans:observacao>"
    text = CABECALHO_TEXT + "custo 10 €"
    msg = ws_message(body)
    utf = md5_utf8(text)

    assert md5_hex(text, ISO_8859_1) is None
    iso_only = check_hash(msg, utf)
    assert iso_only == HashCheck(ok=False, variant=None, expected_iso=None)
    # a hash computed over a lossy ISO encoding ('?' for '€') is not accepted either
    lossy = hashlib.md5(text.encode("iso-8859-1", errors="replace")).hexdigest()
    assert not check_hash(msg, lossy).ok
    assert not check_hash(msg, lossy, (ISO_8859_1, UTF_8)).ok
    assert check_hash(msg, utf, (ISO_8859_1, UTF_8)) == HashCheck(
        ok=True, variant=UTF_8, expected_iso=None
    )
    # the gateway never writes such a hash itself
    with pytest.raises(ValueError):
        message_hash(msg)


# ------------------------------------------------------------------------------ comparison


def test_comparison_is_case_insensitive():
    msg = ws_message(ACCENTED_BODY)
    iso = md5_iso(ACCENTED_TEXT)
    assert any(c.isalpha() for c in iso)
    assert check_hash(msg, iso.upper()).ok
    assert check_hash(msg, iso.upper()).variant == ISO_8859_1
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(iso))
    assert check_hash(msg, mixed).ok


@pytest.mark.parametrize("informed", ["", ZERO, "not-a-hash", "d41d8cd98f00b204e9800998ecf8427e"])
def test_wrong_or_empty_hash_is_refused(informed):
    result = check_hash(ws_message(ACCENTED_BODY), informed)
    assert not result.ok and result.variant is None
    assert result.expected_iso == md5_iso(ACCENTED_TEXT)


def test_any_change_in_the_body_breaks_the_hash():
    original = md5_iso(ACCENTED_TEXT)
    tampered = ws_message(ACCENTED_BODY.replace("cefaléia", "cefaleia"))
    assert not check_hash(tampered, original).ok
    swapped = ws_message(ACCENTED_BODY.replace("L1", "L2"))
    assert not check_hash(swapped, original, (ISO_8859_1, UTF_8)).ok


# ---------------------------------------------------------------------------- what counts


def test_whitespace_inside_leaves_is_kept_without_trimming():
    body = (
        "<ans:numeroLote>  L1 </ans:numeroLote>"
        "<ans:observacao>\n\tlinha 1\n  linha 2\t\n</ans:observacao>"
        "<ans:espaco> </ans:espaco>"
    )
    text = CABECALHO_TEXT + "  L1 " + "\n\tlinha 1\n  linha 2\t\n" + " "
    msg = ws_message(body)
    assert leaf_texts(hashed_parts(msg)) == text
    assert message_hash(msg) == md5_iso(text)
    trimmed = CABECALHO_TEXT + "L1" + "linha 1\n  linha 2" + ""
    assert not check_hash(msg, md5_iso(trimmed)).ok


def test_whitespace_between_tags_does_not_count():
    compact = ws_message(ACCENTED_BODY.replace("\n    ", ""))
    indented = ws_message(ACCENTED_BODY.replace("\n    ", "\n\n\t\t      "))
    assert message_hash(compact) == message_hash(indented) == md5_iso(ACCENTED_TEXT)


def test_attributes_are_excluded():
    body = (
        '<ans:numeroLote tipo="IGNORADO" xmlns:x="urn:x" x:y="z">L1</ans:numeroLote>'
        '<ans:vazio atributo="nada"/>'
    )
    assert message_hash(ws_message(body)) == md5_iso(CABECALHO_TEXT + "L1")


def test_comments_and_processing_instructions_are_excluded():
    body = (
        "<!-- a comment between elements -->"
        "<ans:numeroLote>L<!-- inside a leaf -->1</ans:numeroLote>"
        "<?app instruction?>"
        "<ans:observacao><!--only a comment--></ans:observacao>"
    )
    expected = md5_iso(CABECALHO_TEXT + "L1")
    # with the hardened parser (which drops them) ...
    assert message_hash(ws_message(body)) == expected
    # ... and with a parser that keeps them in the tree
    kept = ws_message(body, parse=with_comments)
    assert any(isinstance(n, etree._Comment) for n in kept.iter())
    assert message_hash(kept) == expected


def test_entities_and_character_references_are_decoded():
    body = (
        "<ans:observacao>A &amp; B &lt;C&gt; &quot;D&quot; &apos;E&apos;</ans:observacao>"
        "<ans:nome>JOS&#201; &#xC7;&#195;O</ans:nome>"
        "<ans:cdata><![CDATA[x < y & z]]></ans:cdata>"
    )
    text = CABECALHO_TEXT + "A & B <C> \"D\" 'E'" + "JOSÉ ÇÃO" + "x < y & z"
    msg = ws_message(body)
    assert leaf_texts(hashed_parts(msg)) == text
    assert message_hash(msg) == md5_iso(text)
    # hashing the raw markup instead would be wrong
    raw = CABECALHO_TEXT + "A &amp; B &lt;C&gt; &quot;D&quot; &apos;E&apos;"
    assert not check_hash(msg, md5_iso(raw + "JOS&#201; &#xC7;&#195;O")).ok


def test_empty_leaves_contribute_nothing():
    body = "<ans:a/><ans:b></ans:b><ans:numeroLote>L1</ans:numeroLote>"
    assert message_hash(ws_message(body)) == md5_iso(CABECALHO_TEXT + "L1")


# -------------------------------------------------------------------- hash and Signature


SIGNATURE_CHILDREN = (
    "<{p}:SignedInfo><{p}:CanonicalizationMethod Algorithm='urn:c14n'/>"
    "<{p}:Reference URI=''><{p}:DigestValue>QUJDREVGRw==</{p}:DigestValue></{p}:Reference>"
    "</{p}:SignedInfo><{p}:SignatureValue>c2lnbmF0dXJl</{p}:SignatureValue>"
)


@pytest.mark.parametrize(
    "signature",
    [
        # ans:Signature (type extends ds:SignatureType, children in the ds namespace)
        "<ans:Signature>" + SIGNATURE_CHILDREN.format(p="ds") + "</ans:Signature>",
        "<ds:Signature>" + SIGNATURE_CHILDREN.format(p="ds") + "</ds:Signature>",
    ],
    ids=["ans-Signature", "ds-Signature"],
)
def test_hash_element_and_following_signature_are_excluded(signature):
    unsigned = ws_message(ACCENTED_BODY, hash_value="ABCDEF0123456789ABCDEF0123456789")
    signed = ws_message(ACCENTED_BODY, hash_value=ZERO, after_hash="\n  " + signature)
    expected = md5_iso(ACCENTED_TEXT)
    assert message_hash(unsigned) == message_hash(signed) == expected
    assert local_names(hashed_parts(signed)) == ["cabecalho", "loteGuias"]
    assert check_hash(signed, expected).ok
    # the signature's texts would have changed the hash had they been included
    assert expected != md5_iso(ACCENTED_TEXT + "QUJDREVGRw==c2lnbmF0dXJl")


def test_the_hash_covers_the_right_thing_when_informed_hash_is_correct():
    msg = ws_message(ACCENTED_BODY, hash_value=md5_iso(ACCENTED_TEXT))
    assert informed_hash(msg) == md5_iso(ACCENTED_TEXT)
    assert check_hash(msg, informed_hash(msg)).ok


# ----------------------------------------------------------------------------- mensagemTISS


MENSAGEM_TISS = f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<ans:mensagemTISS xmlns:ans="{ANS}">{CABECALHO}
  <ans:prestadorParaOperadora>
    <ans:loteGuias>
      <ans:numeroLote>987</ans:numeroLote>
      <ans:guiasTISS><ans:guiaConsulta><ans:nome>AÇÃO</ans:nome></ans:guiaConsulta></ans:guiasTISS>
    </ans:loteGuias>
  </ans:prestadorParaOperadora>
  <ans:epilogo>
    <ans:hash>{{hash}}</ans:hash>
  </ans:epilogo>
</ans:mensagemTISS>
"""
MENSAGEM_TEXT = CABECALHO_TEXT + "987" + "AÇÃO"


def test_mensagem_tiss_hash_sits_in_epilogo_and_epilogo_is_excluded():
    expected = md5_iso(MENSAGEM_TEXT)
    data = MENSAGEM_TISS.replace("{hash}", expected.upper()).encode("iso-8859-1")
    msg = parse_untrusted(data).root
    assert local_names(hashed_parts(msg)) == ["cabecalho", "prestadorParaOperadora"]
    assert message_hash(msg) == expected
    assert informed_hash(msg) == expected.upper()
    assert check_hash(msg, informed_hash(msg)) == HashCheck(True, ISO_8859_1, expected)
    # the epilogo's own text would change the hash had it been included
    assert expected != md5_iso(MENSAGEM_TEXT + expected.upper())


def test_mensagem_tiss_from_samples_carries_its_own_hash():
    lot = samples.SampleLot("123456", Party("CNPJ", "12345678000195"), "77", samples.guides(2))
    msg = samples.mensagem_tiss(lot)
    written = msg.findtext(f"{{{ANS}}}epilogo/{{{ANS}}}hash")
    assert written == md5_iso(independent_leaf_text(msg, skip={"epilogo"}))
    assert check_hash(msg, informed_hash(msg)).ok


# ---------------------------------------------------------------------------------- samples


def independent_leaf_text(message: etree._Element, skip: set[str]) -> str:
    """Leaf texts by a plain recursive walk (no XPath), skipping top-level children by name."""
    out: list[str] = []

    def walk(el: etree._Element) -> None:
        children = [c for c in el if isinstance(c.tag, str)]
        if not children:
            out.append(el.text or "")
        for child in children:
            walk(child)

    for child in message:
        if isinstance(child.tag, str) and etree.QName(child).localname not in skip:
            walk(child)
    return "".join(out)


@pytest.mark.parametrize("version", ["4.02.00", "4.03.00"])
@pytest.mark.parametrize("guide_type", ["guiaConsulta", "guiaSP-SADT"])
def test_sample_lot_hash_element_equals_message_hash(guide_type, version):
    lot = samples.SampleLot(
        "123456",
        Party("CNPJ", "12345678000195"),
        "L1",
        samples.guides(3, valor=Decimal("99.99")),
        guide_type=guide_type,
        version=version,
        login="usuario",
        senha_md5=hashlib.md5(b"senha").hexdigest(),
    )
    ws = samples.lote_guias_ws(lot)
    written = ws.findtext(f"{{{ANS}}}hash")
    text = independent_leaf_text(ws, skip={"hash", "Signature"})
    assert "JOSÉ MARIA ÇÃO" in text and version in text and "usuario" in text
    assert written == message_hash(ws) == md5_iso(text)
    assert written != md5_utf8(text)
    assert check_hash(ws, written).ok


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-8"])
def test_sample_lot_survives_the_wire(encoding):
    lot = samples.SampleLot("123456", Party("CPF", "12345678909"), "L5", samples.guides(2))
    ws = samples.lote_guias_ws(lot)
    data = etree.tostring(ws, encoding=encoding, xml_declaration=True, pretty_print=True)
    parsed = parse_untrusted(data)
    assert parsed.declared_encoding == encoding
    result = check_hash(parsed.root, informed_hash(parsed.root))
    assert result.ok and result.variant == ISO_8859_1


def test_sample_with_overridden_hash_fails_the_check():
    lot = samples.SampleLot("123456", Party("CNPJ", "12345678000195"), "L1", samples.guides(1))
    good = samples.lote_guias_ws(lot)
    bad = samples.lote_guias_ws(lot, hash_value="f" * 32)
    assert bad.findtext(f"{{{ANS}}}hash") == "f" * 32
    assert not check_hash(bad, informed_hash(bad)).ok
    assert check_hash(bad, informed_hash(good)).ok  # same content, the correct hash passes


def test_sealed_answer_text_is_iso_8859_1_and_hashed_as_sent():
    """An answer whose text ISO-8859-1 cannot carry (table-38 descriptions have en dashes,
    free text may have anything) is made latin-1-safe before its hash; an ASCII answer is left
    as it is."""
    root = etree.Element(f"{{{ANS}}}respostaTeste", nsmap={"ans": ANS})
    sub(root, "cabecalho", "ação")
    motivo_glosa(root, "mensagemErro", "1006", "Guia – “inválida”… ₿")
    sealed = seal(root)
    texts = [el.text for el in sealed.iter() if el.text]
    assert texts[:3] == ["ação", "1006", 'Guia - "inválida"... ?']
    wire = etree.tostring(sealed, encoding="ISO-8859-1")
    assert b"&#" not in wire  # no character references: every character is ISO-8859-1
    assert sealed.findtext(f"{{{ANS}}}hash") == md5_iso('ação1006Guia - "inválida"... ?')

    ascii_root = etree.Element(f"{{{ANS}}}respostaTeste", nsmap={"ans": ANS})
    sub(ascii_root, "cabecalho", "abc")
    assert seal(ascii_root).findtext(f"{{{ANS}}}hash") == md5_iso("abc")
