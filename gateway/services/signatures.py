"""The gateway's signature policy: trust material loaded once at start, the check every inbound
message goes through once its provider is known, and the signing of answers.

Policy (README, "Digital signatures"):
- a message that carries a signature has it verified; any failure refuses the message;
- the signer must be the provider the message is sent for (a delegate's message: the provider it
  acts for): its ICP-Brasil certificate names the provider's CNPJ or CPF, or the operator
  registered that certificate for the provider; any other signer is refused with 5018;
- a provider flagged `require_signature` must sign every message;
- with no trusted CA configured, signatures cannot be verified: a message of a provider that
  does not require them is processed as if unsigned (and archived as `unverified`), one of a
  provider that does is refused, because the operator asked for a guarantee it cannot give.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lxml import etree

from gateway.config import ConfigError, Settings
from gateway.tiss import codes
from gateway.tiss.client_certificates import CertificateInfo
from gateway.tiss.codes import FaultKind
from gateway.tiss.header import Party, describe, documents
from gateway.tiss.signatures import (
    MessageSigner,
    TrustMaterialError,
    TrustStore,
    find_signatures,
    verify_signature,
)

# messages.signature_status
VERIFIED = "verified"
UNVERIFIED = "unverified"
REJECTED = "rejected"
MISSING = "missing"

# st_tissFault has no signature category. A certificate that cannot be trusted (or a missing
# signature) leaves the sender unproven: RemetenteInvalido. A signature that does not match
# the content means the message was altered, exactly what HashInvalido reports for the MD5.
FAULTS = {
    codes.CERTIFICATE_INVALID: FaultKind.REMETENTE_INVALIDO,
    codes.CERTIFICATE_EXPIRED: FaultKind.REMETENTE_INVALIDO,
    codes.CERTIFICATE_REVOKED: FaultKind.REMETENTE_INVALIDO,
    codes.CERTIFICATION_CHAIN_INVALID: FaultKind.REMETENTE_INVALIDO,
    codes.SIGNATURE_MISMATCH: FaultKind.HASH_INVALIDO,
    codes.SIGNATURE_MISSING: FaultKind.REMETENTE_INVALIDO,
}


@dataclass(frozen=True)
class SignatureSetup:
    """What the process loaded at start. Empty: signatures are not verified, answers not signed."""

    trust: TrustStore | None = None
    signer: MessageSigner | None = None

    def sign(self, answer: etree._Element) -> etree._Element:
        """The answer as it goes out: signed when a key and certificate are configured."""
        return answer if self.signer is None else self.signer.sign(answer)


def load_signature_setup(settings: Settings) -> SignatureSetup:
    """Read the CA bundle, the CRLs and the signing key named by the settings. Any file that
    cannot be read stops the gateway from starting, rather than silently verifying less."""
    trust = None
    if settings.signature_ca_file is not None:
        crls = []
        if settings.signature_crl_dir is not None:
            if not settings.signature_crl_dir.is_dir():
                raise ConfigError(
                    f"TISS_SIGNATURE_CRL_DIR: {settings.signature_crl_dir} is not a folder"
                )
            crls = [
                _read("TISS_SIGNATURE_CRL_DIR", path)
                for path in sorted(settings.signature_crl_dir.iterdir())
                if path.is_file() and not path.name.startswith(".")
            ]
        ca_bundle = _read("TISS_SIGNATURE_CA_FILE", settings.signature_ca_file)
        try:
            trust = TrustStore.from_bytes(ca_bundle, crls)
        except TrustMaterialError as exc:
            raise ConfigError(f"TISS_SIGNATURE_CA_FILE / TISS_SIGNATURE_CRL_DIR: {exc}") from None
    elif settings.signature_crl_dir is not None:
        raise ConfigError("TISS_SIGNATURE_CRL_DIR needs TISS_SIGNATURE_CA_FILE")
    signer = None
    key_file, cert_file = settings.sign_key_file, settings.sign_cert_file
    if (key_file is None) != (cert_file is None):
        raise ConfigError("TISS_SIGN_KEY_FILE and TISS_SIGN_CERT_FILE go together")
    if key_file is not None:
        key_pem = _read("TISS_SIGN_KEY_FILE", key_file)
        try:
            signer = MessageSigner.from_pem(key_pem, _read("TISS_SIGN_CERT_FILE", cert_file))
        except TrustMaterialError as exc:
            raise ConfigError(f"TISS_SIGN_KEY_FILE / TISS_SIGN_CERT_FILE: {exc}") from None
    return SignatureSetup(trust=trust, signer=signer)


def _read(variable: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{variable}: cannot read {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class SignatureOutcome:
    """What the check concluded: archived (`status`, `detail`) and, when `code` is set, the
    reason to refuse the message."""

    status: str | None = None
    detail: str | None = None
    code: str | None = None
    fault: FaultKind | None = None
    description: str | None = None  # fault string after the code


@dataclass(frozen=True)
class Sender:
    """The provider a message is sent for: the one whose certificate must sign it."""

    cnpj: str | None
    cpf: str | None
    code: str  # codigoPrestadorNaOperadora, when it has neither document
    # Whether the certificate with this SHA-256 is registered for this provider; asked only
    # when the certificate does not name the provider's document.
    registered: Callable[[str], bool]

    @property
    def documents(self) -> tuple[Party, ...]:
        return documents(self.cnpj, self.cpf)

    def label(self) -> str:
        return describe(self.documents) or self.code


def _signer_is_sender(certificate: CertificateInfo, sender: Sender) -> tuple[bool, str]:
    """Whether the signer's certificate is the sender's, and how it was recognised (or why not)."""
    holder = certificate.holder
    if holder is not None and holder in sender.documents:
        return True, f"signatário é o prestador (o certificado traz o seu {holder.kind})"
    if sender.registered(certificate.sha256):
        return True, (
            "signatário é o prestador (certificado cadastrado para ele, "
            f"SHA-256 {certificate.sha256})"
        )
    named = (
        f"ele identifica o {holder.kind} {holder.value}"
        if holder is not None
        else "ele não traz CNPJ nem CPF ICP-Brasil"
    )
    return False, (
        f"o certificado do assinante não pertence ao prestador {sender.label()}: {named} "
        "e não está cadastrado para o prestador"
    )


def _refuse(status: str, code: str, reason: str, detail: str | None = None) -> SignatureOutcome:
    return SignatureOutcome(
        status=status,
        detail=detail or reason,
        code=code,
        fault=FAULTS[code],
        description=f"{codes.describe(code)}: {reason}",
    )


def check_signature(
    setup: SignatureSetup,
    message: etree._Element,
    *,
    sender: Sender,
    required: bool,
    at: datetime,
    glosa_codes: frozenset[str],
) -> SignatureOutcome:
    """Apply the policy above to a message whose provider (`sender`) is known."""
    if not find_signatures(message):
        if not required:
            return SignatureOutcome()
        # 3168 "ASSINATURA DIGITAL INVÁLIDA OU NÃO ENVIADA" says exactly this; a version whose
        # table 38 lacks it gets 5018.
        code = (
            codes.SIGNATURE_MISSING
            if codes.SIGNATURE_MISSING in glosa_codes
            else codes.CERTIFICATE_INVALID
        )
        return _refuse(MISSING, code, "este prestador deve assinar digitalmente as mensagens")
    if setup.trust is None:
        if not required:
            return SignatureOutcome(UNVERIFIED, "não verificada: nenhuma AC confiável configurada")
        return _refuse(
            REJECTED,
            codes.CERTIFICATION_CHAIN_INVALID,
            "a operadora não tem AC confiável configurada para verificar a assinatura",
        )
    result = verify_signature(message, setup.trust, at)
    if not result.ok:
        return _refuse(REJECTED, result.code, result.reason, result.summary())
    owned, note = _signer_is_sender(result.certificate, sender)
    if not owned:
        detail = f"{result.summary()}; recusada: {note}"
        return _refuse(REJECTED, codes.CERTIFICATE_INVALID, note, detail)
    return SignatureOutcome(VERIFIED, f"{result.summary()}; {note}")
