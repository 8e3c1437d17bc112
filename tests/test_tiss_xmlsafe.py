"""Hardened parsing of untrusted XML (gateway.tiss.xmlsafe).

Every refused case must raise UnsafeXml, quickly, without reading local files or touching the
network, and without the refused content leaking into the error message.
"""

import socket
import time
from pathlib import Path

import pytest
from lxml import etree

from gateway.tiss.xmlsafe import (
    DEFAULT_MAX_DEPTH,
    ParsedXml,
    UnsafeXml,
    XmlLimits,
    parse_untrusted,
)

FAST = 1.0  # seconds; every refusal below takes well under a millisecond in practice

PASSWD = Path("/etc/passwd")


def _passwd_markers() -> list[str]:
    """Distinctive pieces of /etc/passwd that must never show up anywhere."""
    text = PASSWD.read_text(errors="replace") if PASSWD.is_file() else ""
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return ["root:x:0:0", *lines[:3]] if lines else ["root:x:0:0"]


def _refused(data: bytes, limits: XmlLimits | None = None) -> UnsafeXml:
    """Parse, assert it is refused with UnsafeXml within FAST seconds, return the exception."""
    start = time.perf_counter()
    with pytest.raises(UnsafeXml) as info:
        if limits is None:
            parse_untrusted(data)
        else:
            parse_untrusted(data, limits)
    elapsed = time.perf_counter() - start
    assert elapsed < FAST, f"refusal took {elapsed:.3f}s"
    exc = info.value
    assert isinstance(exc, ValueError)
    assert exc.reason and str(exc) == exc.reason
    return exc


def _nested(depth: int) -> bytes:
    return b"<a>" * depth + b"x" + b"</a>" * depth


# --------------------------------------------------------------------------- external entities


@pytest.mark.parametrize(
    "data",
    [
        # classic XXE: an external entity in the internal subset, referenced in text
        b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b"<r><a>&xxe;</a></r>",
        # the same entity declared but referenced nowhere: the DTD alone is refused
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>a</r>',
        # referenced from an attribute value (libxml2 refuses external entities there)
        b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r a="&xxe;">a</r>',
        # parameter entity pulling the file into the DTD itself
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r>a</r>',
        # external DTD
        b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "file:///etc/passwd"><r>a</r>',
        b'<!DOCTYPE r PUBLIC "-//X//DTD X//EN" "file:///etc/passwd"><r>a</r>',
    ],
    ids=["xxe-text", "xxe-unreferenced", "xxe-attribute", "param-entity", "ext-dtd", "public-dtd"],
)
def test_file_entities_and_external_dtds_are_refused_without_leaking(data):
    exc = _refused(data)
    for marker in _passwd_markers():
        assert marker not in str(exc)
        assert marker not in repr(exc.args)


def test_plain_doctype_without_subset_is_refused():
    _refused(b"<!DOCTYPE r><r>a</r>")


@pytest.mark.parametrize(
    "template",
    [
        b'<!DOCTYPE r [<!ENTITY net SYSTEM "{url}">]><r>&net;</r>',
        b'<!DOCTYPE r SYSTEM "{url}"><r>a</r>',
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "{url}"> %p;]><r>a</r>',
    ],
    ids=["entity", "external-dtd", "param-entity"],
)
def test_network_entities_are_refused_and_never_fetched(template):
    # A listening socket on the loopback: any fetch attempt would complete the TCP handshake
    # (connect() is synchronous), so a pending connection after parsing means a fetch happened.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        url = f"http://127.0.0.1:{port}/x.dtd".encode()
        _refused(template.replace(b"{url}", url))
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            conn, _ = server.accept()
            conn.close()


def test_network_entity_on_discard_port_is_refused():
    _refused(b'<!DOCTYPE r [<!ENTITY net SYSTEM "http://127.0.0.1:9/x">]><r>&net;</r>')
    _refused(b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/x"><r>a</r>')


# ------------------------------------------------------------------------- entity expansion


def test_billion_laughs_is_refused_quickly():
    levels = [b'<!ENTITY l0 "lol">']
    for i in range(1, 10):
        refs = f"&l{i - 1};".encode() * 10
        levels.append(f"<!ENTITY l{i} ".encode() + b'"' + refs + b'">')
    data = b"<!DOCTYPE r [" + b"".join(levels) + b"]><r>&l9;</r>"
    assert len(data) < 2_000  # 10**9 "lol"s from under 2 kB
    _refused(data)


def test_quadratic_blowup_is_refused_quickly():
    big = b"A" * 100_000
    data = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY big "'
        + big
        + b'">]><r>'
        + b"&big;" * 100_000
        + b"</r>"
    )
    assert len(data) < 1_000_000  # would expand to 10 GB
    _refused(data)


def test_undefined_entity_is_refused():
    _refused(b"<r>&undefined;</r>")


# ---------------------------------------------------------------------------------- limits


def test_over_the_byte_limit_is_refused_before_parsing():
    data = b"<r>" + b"x" * 100 + b"</r>"
    exc = _refused(data, XmlLimits(max_bytes=len(data) - 1))
    assert str(len(data)) in exc.reason
    # exactly at the limit is fine
    assert parse_untrusted(data, XmlLimits(max_bytes=len(data))).root.text == "x" * 100


def test_byte_limit_applies_even_to_garbage():
    # Size is checked first: a huge non-XML body is refused for its size, not parsed.
    exc = _refused(b"\xff" * 2048, XmlLimits(max_bytes=1024))
    assert "1024" in exc.reason


@pytest.mark.parametrize("limit", [1, 5, 12])
def test_depth_exactly_at_the_limit_is_accepted_and_one_more_refused(limit):
    parsed = parse_untrusted(_nested(limit), XmlLimits(max_depth=limit))
    assert sum(1 for _ in parsed.root.iter()) == limit
    exc = _refused(_nested(limit + 1), XmlLimits(max_depth=limit))
    assert str(limit) in exc.reason


def test_default_depth_limit():
    assert parse_untrusted(_nested(DEFAULT_MAX_DEPTH)).root.tag == "a"
    _refused(_nested(DEFAULT_MAX_DEPTH + 1))


def test_absurd_nesting_is_refused_quickly():
    _refused(_nested(200_000))


def test_no_huge_tree_mode_text_node_over_libxml2_limit_is_refused():
    # Under the 20 MB byte limit, but one text node above libxml2's 10 MB non-huge limit.
    data = b"<r>" + b"a" * 10_000_001 + b"</r>"
    assert len(data) < XmlLimits().max_bytes
    _refused(data)


def test_depth_counts_elements_not_text_or_siblings():
    wide = b"<a>" + b"<b><c>1</c></b>" * 500 + b"</a>"
    assert len(parse_untrusted(wide, XmlLimits(max_depth=3)).root) == 500


# ------------------------------------------------------------------------ not XML / encodings


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \r\n\t ",
        b"hello, world",
        b"\x00\x01\x02\x03",
        b'{"json": true}',
        b"<r>unclosed",
        b"<r/><r/>",
        b"<r>\x00</r>",
        b"  <?xml version='1.0'?><r/>",
    ],
    ids=["empty", "blank", "text", "binary", "json", "unclosed", "two-roots", "nul", "late-decl"],
)
def test_not_xml_is_refused(data):
    _refused(data)


@pytest.mark.parametrize(
    "data", [b"\r\n\r\n<?xml version='1.0'?><r/>", b"  <?xml version='1.0'?><r/>"]
)
def test_anything_before_the_xml_declaration_is_named_as_such(data):
    with pytest.raises(UnsafeXml) as refused:
        parse_untrusted(data)
    assert "a declaração XML (<?xml ...?>) deve ser a primeira coisa do arquivo" in str(
        refused.value.reason
    )


@pytest.mark.parametrize(
    "data",
    [
        # declares UTF-8, but \xe9 alone is not valid UTF-8
        b'<?xml version="1.0" encoding="UTF-8"?><r>caf\xe9</r>',
        # no declaration means UTF-8: same lie
        b"<r>S\xc3O PAULO \xc7</r>",
        # declares US-ASCII, carries 8-bit bytes
        b'<?xml version="1.0" encoding="US-ASCII"?><r>caf\xe9</r>',
        # declares UTF-16, bytes are single-byte
        b'<?xml version="1.0" encoding="UTF-16"?><r>a</r>',
        # an encoding nobody knows
        b'<?xml version="1.0" encoding="X-NO-SUCH-ENCODING"?><r>a</r>',
    ],
    ids=["utf8-invalid", "implicit-utf8-invalid", "ascii-8bit", "utf16-lie", "unknown"],
)
def test_encoding_that_lies_about_the_bytes_is_refused(data):
    _refused(data)


def test_iso_8859_1_declared_is_decoded_correctly():
    text = "AÇÃO, cefaléia, JOSÉ MARIA ÇÃO, São Paulo, ü ñ ÿ"
    data = ('<?xml version="1.0" encoding="ISO-8859-1"?><r><n>' + text + "</n></r>").encode(
        "iso-8859-1"
    )
    assert "é".encode() not in data  # really single-byte on the wire
    parsed = parse_untrusted(data)
    assert isinstance(parsed, ParsedXml)
    assert parsed.declared_encoding == "ISO-8859-1"
    assert parsed.root.findtext("n") == text


def test_declared_encoding_is_upper_case_and_utf8_when_absent():
    lower = '<?xml version="1.0" encoding="iso-8859-1"?><r>é</r>'.encode("iso-8859-1")
    assert parse_untrusted(lower).declared_encoding == "ISO-8859-1"
    assert parse_untrusted(b"<r>a</r>").declared_encoding == "UTF-8"
    utf8 = '<?xml version="1.0" encoding="utf-8"?><r>é</r>'.encode()
    parsed = parse_untrusted(utf8)
    assert parsed.declared_encoding == "UTF-8"
    assert parsed.root.text == "é"


def test_utf8_bom_is_accepted():
    assert parse_untrusted(b"\xef\xbb\xbf<r>\xc3\xa9</r>").root.text == "é"


# ------------------------------------------------------------------ what comes back is clean


def test_comments_and_processing_instructions_are_removed():
    data = (
        b'<?xml version="1.0"?><!-- before --><r><!-- secret comment -->'
        b"<a>1<!-- inside -->2</a><?app do-something?><b>3</b></r><!-- after -->"
    )
    root = parse_untrusted(data).root
    assert [child.tag for child in root] == ["a", "b"]
    assert not any(isinstance(n, etree._Comment) for n in root.iter())
    assert not any(isinstance(n, etree._ProcessingInstruction) for n in root.iter())
    assert root.getprevious() is None and root.getnext() is None
    assert "".join(root.find("a").itertext()) == "12"
    out = etree.tostring(root.getroottree())
    assert b"secret" not in out and b"do-something" not in out
    assert b"before" not in out and b"after" not in out


def test_predefined_entities_and_character_references_are_decoded():
    root = parse_untrusted(b"<r>a &amp; b &lt;c&gt; &#233;&#xE7; &quot;&apos;</r>").root
    assert root.text == "a & b <c> éç \"'"


def test_cdata_is_kept_as_text():
    assert parse_untrusted(b"<r><![CDATA[x < y & z]]></r>").root.text == "x < y & z"


def test_namespaced_tiss_message_parses():
    data = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<ans:loteGuiasWS xmlns:ans="http://www.ans.gov.br/padroes/tiss/schemas">'
        b"<ans:cabecalho><ans:Padrao>4.03.00</ans:Padrao></ans:cabecalho></ans:loteGuiasWS>"
    )
    root = parse_untrusted(data).root
    assert root.tag == "{http://www.ans.gov.br/padroes/tiss/schemas}loteGuiasWS"
    assert root.findtext("{*}cabecalho/{*}Padrao") == "4.03.00"


def test_parser_is_usable_from_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    docs = [f"<r><n>{i}</n></r>".encode() for i in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        texts = list(pool.map(lambda d: parse_untrusted(d).root.findtext("n"), docs))
    assert texts == [str(i) for i in range(200)]
