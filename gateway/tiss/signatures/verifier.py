"""Verification of the enveloped signature of a TISS message.

The TISS security component asks for XAdES enveloped signatures (policy AD-RB) with ICP-Brasil
certificates. The signature is checked in this order, and the first failure names the table-38
code of the answer:

1. its shape: one signature, one reference to the whole message (URI="" with the
   enveloped-signature transform), other references only to elements of the same document
   ("#id"), only canonicalization transforms, an X.509 certificate in KeyInfo (5018);
2. the certificate: path to a trusted CA, validity, revocation (see `trust`: 5021, 5018, 5019,
   5020);
3. the cryptography, by signxml with that certificate: every reference's digest and the
   signature value, and for XAdES the signed properties and the signing-certificate digest
   (5022); algorithms signxml refuses by default (SHA-1) are 5018.

Whose certificate it is (the CNPJ or CPF it names, its fingerprint) is reported with the result;
whether that is the provider who sends is the caller's rule (`services.signatures`).

Precondition: the message was parsed by `xmlsafe` and is valid against its official schema, which
already validated the signature element against `ds:SignatureType`. signxml re-parses what it
verifies; it is given the hardened parser, no URI resolver and no CA file, so it fetches nothing.
"""

import copy
import re
from base64 import b64decode
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, SignatureConstructionMethod
from signxml.exceptions import InvalidCertificate, InvalidInput, InvalidSignature
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

from gateway.tiss import codes
from gateway.tiss.client_certificates import CertificateInfo, describe_certificate
from gateway.tiss.signatures.elements import NS, find_signatures
from gateway.tiss.signatures.trust import TrustStore, check_certificates, describe
from gateway.tiss.xmlsafe import hardened_parser

XADES_FORM = "XAdES"
XMLDSIG_FORM = "XMLDSig"

ENVELOPED = SignatureConstructionMethod.enveloped.value
_ALLOWED_TRANSFORMS = frozenset({ENVELOPED} | {m.value for m in CanonicalizationMethod})
_SAME_DOCUMENT = re.compile(r"#[A-Za-z_][\w.\-]*")
_REASON_LIMIT = 400


@dataclass(frozen=True)
class SignatureResult:
    """What the signature of a message proved. `code` is None when it verified."""

    code: str | None
    reason: str
    form: str | None = None  # XAdES | XMLDSig
    signer: str | None = None  # subject and serial of the signing certificate
    revocation: str | None = None
    policy: str | None = None  # XAdES SignaturePolicyIdentifier, when present
    # The signer's certificate once trusted: its fingerprint and the CNPJ/CPF it names.
    certificate: CertificateInfo | None = None

    @property
    def ok(self) -> bool:
        return self.code is None

    def summary(self) -> str:
        """One line for the archive."""
        parts = [self.form or "assinatura", self.reason]
        if self.signer and self.signer not in self.reason:
            parts.append(f"signatário {self.signer}")
        if self.certificate is not None:
            holder = self.certificate.holder
            parts.append(
                f"documento do signatário {holder.kind} {holder.value}"
                if holder is not None
                else "signatário sem CNPJ/CPF ICP-Brasil"
            )
        if self.policy:
            parts.append(f"política {self.policy}")
        if self.revocation:
            parts.append(f"revogação: {self.revocation}")
        return "; ".join(parts)


def verify_signature(
    message: etree._Element, trust: TrustStore, at: datetime
) -> SignatureResult | None:
    """Verify the signature of a TISS message at time `at` (aware, UTC); None when the message
    carries none."""
    signatures = find_signatures(message)
    if not signatures:
        return None
    if len(signatures) > 1:
        return SignatureResult(codes.CERTIFICATE_INVALID, "a mensagem traz mais de uma assinatura")
    signature = signatures[0]
    form = XADES_FORM if _is_xades(signature) else XMLDSIG_FORM
    problem = _shape_problem(signature)
    if problem is not None:
        return SignatureResult(codes.CERTIFICATE_INVALID, problem, form)
    try:
        certs = _certificates(signature)
    except ValueError:
        return SignatureResult(codes.CERTIFICATE_INVALID, "certificado ilegível em KeyInfo", form)
    if not certs:
        return SignatureResult(
            codes.CERTIFICATE_INVALID,
            "a assinatura não traz o certificado (KeyInfo/X509Data/X509Certificate)",
            form,
        )
    check = check_certificates(certs, trust, at)
    signer = describe(check.leaf) if check.leaf is not None else None
    if check.code is not None:
        return SignatureResult(check.code, check.reason, form, signer, check.revocation)
    # Trusted, so its extensions were read already: describing it cannot fail on them.
    certificate = describe_certificate(check.leaf)
    try:
        policy = _verify_cryptography(message, check.leaf, at, xades=form == XADES_FORM)
    except InvalidCertificate as exc:
        reason = _clip(f"certificado: {exc}")
        return SignatureResult(
            codes.CERTIFICATE_INVALID, reason, form, signer, certificate=certificate
        )
    except InvalidSignature as exc:
        reason = _clip(f"o conteúdo assinado não confere com a assinatura ({exc})")
        return SignatureResult(
            codes.SIGNATURE_MISMATCH, reason, form, signer, certificate=certificate
        )
    except Exception as exc:  # noqa: BLE001 - hostile input can break the library anywhere
        reason = _clip(f"assinatura não verificável: {type(exc).__name__}: {exc}")
        return SignatureResult(
            codes.CERTIFICATE_INVALID, reason, form, signer, certificate=certificate
        )
    return SignatureResult(
        None, "assinatura verificada", form, signer, check.revocation, policy, certificate
    )


def _clip(text: str) -> str:
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 3] + "..."


def _is_xades(signature: etree._Element) -> bool:
    path = "ds:Object/xades:QualifyingProperties/xades:SignedProperties"
    return signature.find(path, namespaces=NS) is not None


def _shape_problem(signature: etree._Element) -> str | None:
    """Refuse what signxml would otherwise try to follow or silently skip: references outside the
    document, transforms other than canonicalization (XSLT, XPath), and signatures that do not
    cover the whole message."""
    references = signature.findall("ds:SignedInfo/ds:Reference", namespaces=NS)
    whole = []
    for reference in references:
        uri = reference.get("URI")
        if uri is None or (uri != "" and not _SAME_DOCUMENT.fullmatch(uri)):
            return f"referência {uri!r} fora da mensagem não é aceita"
        algorithms = [
            t.get("Algorithm")
            for t in reference.findall("ds:Transforms/ds:Transform", namespaces=NS)
        ]
        unknown = [a for a in algorithms if a not in _ALLOWED_TRANSFORMS]
        if unknown:
            return f"transformação {unknown[0]!r} não é aceita"
        if uri == "":
            whole.append(ENVELOPED in algorithms)
    if whole != [True]:
        return (
            'a assinatura deve cobrir a mensagem inteira: uma referência URI="" com a '
            "transformação enveloped-signature"
        )
    return None


def _certificates(signature: etree._Element) -> list[x509.Certificate]:
    texts = signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS)
    return [
        x509.load_der_x509_certificate(b64decode(el.text or "", validate=False)) for el in texts
    ]


class _TissSignatureMixin:
    """signxml 5.2.0 looks for `ds:Signature`; TISS messages carry `ans:Signature` (or
    `ans:Signatures`), whose content is the same ds:SignatureType. Both places where signxml
    locates the signature (to read it, and to cut it out for the enveloped transform) go through
    this method, so pointing it at the TISS element is enough."""

    def _get_signature(self, root: etree._Element) -> etree._Element:
        found = find_signatures(root)
        if len(found) != 1:
            raise InvalidInput("expected exactly one signature element under the message")
        return found[0]


class _XmlDsigVerifier(_TissSignatureMixin, XMLVerifier):
    pass


class _XadesVerifier(_TissSignatureMixin, XAdESVerifier):
    pass


def _verify_cryptography(
    message: etree._Element, leaf: x509.Certificate, at: datetime, *, xades: bool
) -> str | None:
    """Digests and signature value, checked with the certificate already trusted. Returns the
    XAdES signature policy identifier when there is one."""
    # The provider signed the *WS element as a document of its own, before a SOAP envelope was
    # put around it: a deep copy has exactly the namespace declarations it uses, without the
    # envelope's, which inclusive canonicalization would otherwise pick up.
    standalone = copy.deepcopy(message)
    # expect_references=True: any number (XAdES has 3, plain XML-DSig 1); the shape check above
    # already demanded the one that covers the whole message.
    verifier = _XadesVerifier() if xades else _XmlDsigVerifier()
    config_type = XAdESSignatureConfiguration if xades else SignatureConfiguration
    config = config_type(expect_references=True, verification_time=at)
    results = verifier.verify(
        standalone,
        x509_cert=leaf,
        parser=hardened_parser(),
        validate_schema=False,  # validated with the message's official schema
        expect_config=config,
    )
    for result in results:
        properties = getattr(result, "signed_properties", None)
        if properties is not None:
            return properties.findtext(
                "xades:SignaturePolicyIdentifier/xades:SignaturePolicyId/xades:SigPolicyId/"
                "xades:Identifier",
                namespaces=NS,
            )
    return None
