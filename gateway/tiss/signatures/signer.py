"""Signing the gateway's own answers: XAdES enveloped, as the TISS security component asks.

The answer is signed after `responses.seal()`, so the signature covers the hash too; the hash
itself never covers the signature. signxml writes `ds:Signature`; the element is then renamed to
the name the official schema gives it (`ans:Signature`, or `ans:Signatures` in three answers).
Renaming does not disturb the signature: the enveloped transform removes the element before
digesting, and its namespace declarations, which are all that canonicalization of SignedInfo and
of the signed properties sees of it, stay as they were.
"""

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.xades import XAdESDataObjectFormat, XAdESSigner

from gateway.tiss.namespaces import DS
from gateway.tiss.signatures.elements import signature_tag
from gateway.tiss.signatures.trust import TrustMaterialError, load_certificates

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class MessageSigner:
    key: SigningKey
    chain: tuple[x509.Certificate, ...]  # the signing certificate first, then its CAs

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes) -> "MessageSigner":
        """An unencrypted PEM private key (RSA or EC) and the PEM certificate of that key,
        optionally followed by the certificates of its CAs."""
        try:
            key = load_pem_private_key(key_pem, password=None)
        except (TypeError, ValueError) as exc:
            raise TrustMaterialError(f"unreadable signing key: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TrustMaterialError("the signing key must be RSA or EC")
        chain = tuple(load_certificates(cert_pem))
        if not chain:
            raise TrustMaterialError("no certificate in the signing certificate file")
        if _spki(chain[0].public_key()) != _spki(key.public_key()):
            raise TrustMaterialError("the first certificate is not the signing key's")
        return cls(key, chain)

    def sign(self, message: etree._Element) -> etree._Element:
        """A copy of `message` with its enveloped XAdES signature as the last child."""
        algorithm = (
            SignatureMethod.ECDSA_SHA256
            if isinstance(self.key, ec.EllipticCurvePrivateKey)
            else SignatureMethod.RSA_SHA256
        )
        signer = XAdESSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm=algorithm,
            digest_algorithm=DigestAlgorithm.SHA256,
            # Inclusive C14N 1.0: what Brazilian verifiers expect, and what signxml's XAdES
            # references (which carry no Transforms) are verified with by default.
            c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
            data_object_format=XAdESDataObjectFormat(Description="Mensagem TISS"),
        )
        signed = signer.sign(
            message, key=self.key, cert=list(self.chain), always_add_key_value=False
        )
        signature = signed.find(f"{{{DS}}}Signature")
        signature.tag = signature_tag(signed)
        return signed


def _spki(public_key) -> bytes:  # noqa: ANN001 - any cryptography public key
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
