"""The TISS message hash: MD5 (hex) over the text of every leaf element, in document order.

Rule (ANS, Componente de Comunicação): concatenate the text of each element that has no child
elements, from `cabecalho` through the body, skipping the `hash` element itself and the
`Signature` after it; no separators, no trimming; tags, attributes and comments do not count;
entities are decoded. The bytes hashed are ISO-8859-1. Some clients in the field hash the UTF-8
bytes instead, which a configurable policy may also accept.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from gateway.tiss.namespaces import ANS, DS

ISO_8859_1 = "iso-8859-1"
UTF_8 = "utf-8"

# Top-level children of a message that the hash does not cover.
_SKIPPED = {
    f"{{{ANS}}}hash",
    f"{{{ANS}}}Signature",
    f"{{{ANS}}}Signatures",
    f"{{{DS}}}Signature",
    f"{{{ANS}}}epilogo",
}


# Text nodes of elements with no element children, in document order. Leaf elements have no
# tails inside them, so their text() nodes are exactly their text.
_LEAF_TEXT = etree.XPath("descendant-or-self::*[not(*)]/text()", smart_strings=False)


def leaf_texts(parts: Iterable[etree._Element]) -> str:
    """Concatenated text of the leaf elements under each of `parts`, in document order."""
    # A list, not a generator: joining a few thousand chunks a generator yields one by one cost
    # more than the XPath that finds them.
    return "".join([chunk for part in parts for chunk in _LEAF_TEXT(part)])


def hashed_parts(message: etree._Element) -> list[etree._Element]:
    """The children of a TISS message that the hash covers: all but hash, Signature, epilogo."""
    return [child for child in message.iterchildren(etree.Element) if child.tag not in _SKIPPED]


def md5_hex(text: str, encoding: str = ISO_8859_1) -> str | None:
    """MD5 of the text in `encoding`; None when the text cannot be written in that encoding."""
    try:
        return hashlib.md5(text.encode(encoding), usedforsecurity=False).hexdigest()
    except UnicodeEncodeError:
        return None


def message_hash(message: etree._Element) -> str:
    """The hash the gateway writes into its own answers (always ISO-8859-1)."""
    digest = md5_hex(leaf_texts(hashed_parts(message)), ISO_8859_1)
    if digest is None:
        raise ValueError("answer contains text outside ISO-8859-1")
    return digest


@dataclass(frozen=True)
class HashCheck:
    ok: bool
    variant: str | None  # the encoding whose hash matched, or None
    expected_iso: str | None  # what ISO-8859-1 hashing gives, for the record


def check_hash(
    message: etree._Element, informed: str, encodings: tuple[str, ...] = (ISO_8859_1,)
) -> HashCheck:
    """Compare the informed hash with the hash of the message, case-insensitively, trying each
    accepted encoding in order. Records which variant matched."""
    text = leaf_texts(hashed_parts(message))
    informed = (informed or "").strip().lower()
    expected_iso = md5_hex(text, ISO_8859_1)
    for encoding in encodings:
        digest = expected_iso if encoding == ISO_8859_1 else md5_hex(text, encoding)
        if digest is not None and digest == informed:
            return HashCheck(ok=True, variant=encoding, expected_iso=expected_iso)
    return HashCheck(ok=False, variant=None, expected_iso=expected_iso)
