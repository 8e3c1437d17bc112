"""Digital signatures of TISS messages: verifying the provider's, signing the gateway's answers.

One module per role: `elements` (where the signature sits and its name), `trust` (certificate
path, validity, CRL), `verifier`, `signer`. Pure: no files, network, or database.
"""

from gateway.tiss.signatures.elements import find_signatures, signature_tag
from gateway.tiss.signatures.signer import MessageSigner
from gateway.tiss.signatures.trust import (
    CertificateCheck,
    TrustMaterialError,
    TrustStore,
    check_certificates,
    load_certificates,
    load_crls,
)
from gateway.tiss.signatures.verifier import (
    XADES_FORM,
    XMLDSIG_FORM,
    SignatureResult,
    verify_signature,
)

__all__ = [
    "XADES_FORM",
    "XMLDSIG_FORM",
    "CertificateCheck",
    "MessageSigner",
    "SignatureResult",
    "TrustMaterialError",
    "TrustStore",
    "check_certificates",
    "find_signatures",
    "load_certificates",
    "load_crls",
    "signature_tag",
    "verify_signature",
]
