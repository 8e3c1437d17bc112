"""What every inbound TISS message goes through, whatever the service: version, schema, hash,
destination, login and sender. One code path for the web services and the portal's upload."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree
from sqlalchemy.orm import Session

from gateway.services import ws_login
from gateway.services.accounts.attempts import begin_attempt, undo_attempt
from gateway.services.accounts.delegation import FATURAMENTO, providers_for
from gateway.services.client_certificates import certificate_provider, is_registered_for
from gateway.services.gateway import Gateway
from gateway.services.passwords import (
    is_recently_verified,
    upgraded_hash,
    verify_md5_credential,
)
from gateway.services.senders import DELEGATE, ProviderRef, WsAccount, find_ws_account
from gateway.services.signatures import Sender, check_signature
from gateway.tiss import codes
from gateway.tiss.client_certificates import CertificateInfo
from gateway.tiss.codes import FaultKind
from gateway.tiss.hashing import check_hash
from gateway.tiss.header import (
    CNPJ,
    CODIGO_PRESTADOR,
    CPF,
    REGISTRO_ANS,
    Header,
    Party,
    find_padrao,
    informed_hash,
    read_header,
)
from gateway.tiss.namespaces import ANS, q
from gateway.tiss.schemas import SchemaSet
from storage.db import Database
from storage.models import Account, Provider

SENDER_MISMATCH = "O Recebedor do arquivo diverge do login utilizado"
LOGIN_INVALID = "login ou senha inválidos"
# messages.auth_method: how the sender authenticated.
PASSWORD = "password"  # loginSenhaPrestador
CERTIFICATE = "certificate"  # a client certificate registered for the provider
PORTAL = "portal"  # the portal's logged-in user (upload)
MAX_DETAIL_ERRORS = 200


@dataclass(frozen=True)
class ServiceSpec:
    """The shape of one TISS web service."""

    name: str  # e.g. tissLoteGuias
    request_root: str  # e.g. loteGuiasWS
    tipo_transacao: str  # tipoTransacao the request must declare
    response_root: str
    response_tipo: str
    # The handler only reads (a query): the message runs without a transaction, each statement
    # committing by itself, which spares the BEGIN and COMMIT round trips. Its one write is the
    # archive record. A service that stores anything must leave this False.
    reads_only: bool = False


@dataclass(frozen=True)
class Inbound:
    """A message as it arrived, before anything was concluded about it."""

    raw: bytes
    channel: str  # soap | upload
    request_id: str
    remote_addr: str | None = None
    endpoint_version: str | None = None
    declared_charset: str = "UTF-8"
    file_name: str | None = None  # the portal's upload: the name of the file sent
    # The client certificate nginx verified at the TLS handshake, when the gateway trusts its
    # headers (TISS_CLIENT_CERT_HEADERS); None otherwise.
    client_certificate: CertificateInfo | None = None
    # A request refused before its body was read (above TISS_MAX_MESSAGE_BYTES): the size it
    # announced (its Content-Length, 0 if it announced none); `raw` is then empty.
    unread_size: int | None = None

    @property
    def answer_charset(self) -> str:
        """Answer in the charset the request declared: ISO-8859-1 or else UTF-8."""
        latin = {"ISO-8859-1", "ISO8859-1", "LATIN1", "LATIN-1", "ISO_8859-1"}
        return "ISO-8859-1" if self.declared_charset.upper() in latin else "UTF-8"


@dataclass(frozen=True)
class Principal:
    """Someone already authenticated outside the message (the portal's logged-in user)."""

    account_id: int
    provider_id: int
    # The portal login: archived as who sent, whatever loginPrestador the file itself carries.
    login: str | None = None


class Rejected(Exception):
    """A check failed. Answered with a tissFault carrying `code` in the fault string;
    `faultcode` is SOAP's for an envelope-level refusal (gateway.tiss.soap), else the default."""

    def __init__(
        self,
        fault: FaultKind,
        code: str,
        description: str | None = None,
        detail: str | None = None,
        faultcode: str | None = None,
    ) -> None:
        self.fault = fault
        self.code = code
        self.description = description or codes.describe(code)
        self.detail = detail
        self.faultcode = faultcode
        super().__init__(f"{code} {self.description}")


@dataclass
class Facts:
    """What was learnt about a message so far; archived whatever the outcome."""

    version: str | None = None
    header: Header | None = None
    login: str | None = None
    provider: ProviderRef | None = None
    account: WsAccount | None = None  # loginSenhaPrestador's (not set for a principal)
    provider_id: int | None = None  # survives a rollback, for the archive
    hash_informed: str | None = None
    hash_variant: str | None = None
    schema_set: SchemaSet | None = None
    detail: str | None = None
    codes: list[str] = field(default_factory=list)
    signature_status: str | None = None  # services.signatures: verified | unverified | ...
    signature_detail: str | None = None
    login_failure: ws_login.LoginFailure | None = None  # counted when the rejection is archived
    auth_method: str | None = None  # password | certificate | portal, once authenticated


def check_message(
    gw: Gateway,
    session: Session,
    spec: ServiceSpec,
    message: etree._Element,
    facts: Facts,
    *,
    principal: Principal | None = None,
    schema_view: Callable[[etree._Element], etree._Element] | None = None,
    remote_addr: str | None = None,
    client_certificate: CertificateInfo | None = None,
) -> None:
    """Run every message-level check in the order the standard implies, filling `facts`.
    Raises Rejected on the first failure (schema errors are all reported at once)."""
    if principal is not None:
        # The portal knows who sends before reading the file: a file refused by an early check
        # is still archived as that provider's, so it shows in its "Consultar Arquivos".
        facts.provider_id = principal.provider_id
        facts.login = principal.login
    _check_root(spec, message)
    _check_version(gw, message, facts)
    _check_schema(message if schema_view is None else schema_view(message), facts)
    header = facts.header = read_header(message)
    if principal is None or principal.login is None:
        facts.login = header.login
    if header.tipo_transacao != spec.tipo_transacao:
        raise Rejected(
            FaultKind.SCHEMA_INVALIDO,
            codes.MESSAGE_OUT_OF_STANDARD,
            f"tipoTransacao {header.tipo_transacao} não corresponde ao serviço "
            f"{spec.name} ({spec.tipo_transacao})",
        )
    _check_hash(gw, message, facts)
    _check_destination(gw, header)
    if principal is None:
        _authenticate(gw.db, session, header, facts, remote_addr, client_certificate)
    else:
        facts.provider = ProviderRef.of(session.get(Provider, principal.provider_id))
        facts.provider_id = principal.provider_id
        facts.auth_method = PORTAL
    _check_sender(gw, session, header, facts, delegated=principal is None)
    _check_signature(gw, session, message, facts)


def _check_root(spec: ServiceSpec, message: etree._Element) -> None:
    if message.tag == q(spec.request_root):
        return
    received = etree.QName(message)
    if received.localname == spec.request_root:
        # The right name in another namespace (often the WSDL's own, from a hand-built client):
        # naming only the element would say "receives X, not X".
        detail = (
            f"o serviço {spec.name} recebe {spec.request_root} no namespace {ANS}, "
            f"não no namespace {received.namespace or '(nenhum)'}"
        )
    else:
        detail = f"o serviço {spec.name} recebe {spec.request_root}, não {received.localname}"
    raise Rejected(FaultKind.SCHEMA_INVALIDO, codes.MESSAGE_OUT_OF_STANDARD, detail)


def _check_version(gw: Gateway, message: etree._Element, facts: Facts) -> None:
    padrao = find_padrao(message)
    facts.version = padrao
    if not gw.accepts(padrao):
        accepted = ", ".join(gw.settings.accepted_versions)
        raise Rejected(
            FaultKind.VERSAO_INVALIDA,
            codes.VERSION_INVALID,
            f"versão {padrao or '(não informada)'} não aceita; aceitas: {accepted}",
        )
    facts.schema_set = gw.schemas.get(padrao)


def _check_schema(element: etree._Element, facts: Facts) -> None:
    errors = facts.schema_set.validate(element)
    if errors:
        facts.detail = "\n".join(str(e) for e in errors[:MAX_DETAIL_ERRORS])
        if len(errors) > MAX_DETAIL_ERRORS:
            facts.detail += f"\n... e mais {len(errors) - MAX_DETAIL_ERRORS} erros"
        summary = f"{len(errors)} erro(s) de schema; primeiro: {errors[0]}"
        raise Rejected(
            FaultKind.SCHEMA_INVALIDO, codes.MESSAGE_OUT_OF_STANDARD, summary, facts.detail
        )


def _check_hash(gw: Gateway, message: etree._Element, facts: Facts) -> None:
    facts.hash_informed = informed_hash(message)[:64]
    result = check_hash(message, facts.hash_informed, gw.settings.hash_encodings)
    facts.hash_variant = result.variant
    if not result.ok:
        raise Rejected(FaultKind.HASH_INVALIDO, codes.HASH_INVALID)


def _check_destination(gw: Gateway, header: Header) -> None:
    destino = header.destino
    if destino is None or destino.kind != REGISTRO_ANS:
        raise Rejected(
            FaultKind.DESTINATARIO_INVALIDO,
            codes.RECIPIENT_NOT_IDENTIFIED,
            "o destino deve ser o registro ANS da operadora",
        )
    if destino.value != gw.registro_ans():
        raise Rejected(
            FaultKind.DESTINATARIO_INVALIDO,
            codes.OPERATOR_REGISTRO_ANS_INVALID,
            f"registro ANS {destino.value} não é desta operadora",
        )


def _authenticate(
    db: Database,
    session: Session,
    header: Header,
    facts: Facts,
    remote_addr: str | None,
    certificate: CertificateInfo | None,
) -> None:
    """Who sends: the provider a verified client certificate is registered for (by agreement,
    Segurança e Privacidade item 3), else the account of loginSenhaPrestador.

    With a registered certificate of an approved provider, loginSenhaPrestador (optional in the
    schema) is neither required nor checked: the certificate is the credential, so failed
    passwords, the account's lock and the per-address throttle never stop a certificate user.
    Any other certificate does not count: the password decides, and without one the message is
    refused exactly as a wrong password is, and counted as a failed login."""
    if certificate is not None:
        provider = certificate_provider(session, certificate)
        if provider is not None:
            facts.provider, facts.provider_id = ProviderRef.of(provider), provider.id
            facts.auth_method = CERTIFICATE
            return
        if header.senha is None:
            verify_md5_credential(None, None)  # the cost of every refused login
            facts.login_failure = ws_login.LoginFailure(
                login="",
                account_id=None,
                remote_addr=remote_addr,
                detail=f"certificado não cadastrado: {certificate.describe()}",
            )
            raise Rejected(FaultKind.LOGIN_INVALIDO, codes.SENDER_NOT_IDENTIFIED, LOGIN_INVALID)
    _authenticate_password(db, session, header, facts, remote_addr)


def _authenticate_password(
    db: Database, session: Session, header: Header, facts: Facts, remote_addr: str | None
) -> None:
    now = datetime.now(UTC)
    login = (header.login or "").strip()
    account = find_ws_account(session, login) if login and header.senha is not None else None
    stored = account.password_hash if ws_login.usable(account, now) else None
    # A credential verified a moment ago skips the throttle query; anything else is checked
    # against the per-address window first (a throttled address is refused whatever it sends).
    argon2_runs = stored is not None and not is_recently_verified(stored, header.senha)
    if argon2_runs and ws_login.address_throttled(session, remote_addr, now):
        stored = None
    attempt = None
    if argon2_runs and stored is not None:
        attempt = begin_attempt(db, account.id, now)  # counted before argon2 runs
        if not attempt.allowed:
            stored = None  # locked meanwhile, by an attempt on another worker or host
    # One argon2 verification on every path, so timing tells an unknown login from nothing.
    ok = verify_md5_credential(stored, header.senha)
    if ok and attempt is not None:
        undo_attempt(db, account.id, attempt)
    if not ok or not (
        account.kind == DELEGATE
        or (account.provider is not None and account.provider.status == "approved")
    ):
        facts.login_failure = ws_login.password_failure(
            login[:60],
            account,
            remote_addr,
            now,
            checked=stored is not None,
            counted=attempt if attempt is not None and not ok else None,
            locked_meanwhile=attempt is not None and not attempt.allowed,
        )
        detail = (
            LOGIN_INVALID
            if login
            else "login e senha do prestador (loginSenhaPrestador) não informados"
        )
        raise Rejected(FaultKind.LOGIN_INVALIDO, codes.SENDER_NOT_IDENTIFIED, detail)
    ws_login.record_success(
        session, account, upgraded_hash(stored, header.senha) if argon2_runs else None
    )
    facts.account = account
    facts.auth_method = PASSWORD
    # A delegate (Secretária/o) has no provider of its own: the sender check picks the one it
    # acts for.
    facts.provider = account.provider
    facts.provider_id = account.provider_id


def is_provider(provider: ProviderRef | Provider | None, party: Party | None) -> bool:
    """Whether an identification (CNPJ, CPF or codigoPrestadorNaOperadora) names `provider`."""
    if provider is None or party is None:
        return False
    own = {
        CNPJ: provider.cnpj,
        CPF: provider.cpf,
        CODIGO_PRESTADOR: provider.codigo_na_operadora,
    }.get(party.kind)
    return bool(own) and party.value.upper() == own.upper()


def _check_sender(
    gw: Gateway, session: Session, header: Header, facts: Facts, *, delegated: bool = True
) -> None:
    if is_provider(facts.provider, header.origem):
        return
    # In the portal a delegate has already chosen the provider it acts for (the principal's):
    # a file of another provider it also works for is refused like any other.
    if delegated and facts.account is not None and facts.account.kind == DELEGATE:
        # A delegate may send for a provider that gave it Faturamento, and for no other.
        account = session.get(Account, facts.account.id)  # its delegations, through the ORM
        for provider in providers_for(session, account, FATURAMENTO, gw.utcnow()):
            if is_provider(provider, header.origem):
                facts.provider, facts.provider_id = ProviderRef.of(provider), provider.id
                return
    raise Rejected(FaultKind.REMETENTE_INVALIDO, codes.SENDER_NOT_IDENTIFIED, SENDER_MISMATCH)


def _check_signature(gw: Gateway, session: Session, message: etree._Element, facts: Facts) -> None:
    # Last: the provider must be known to tell whether it has to sign, and who may sign. For a
    # delegate (Secretária/o) it is the provider it acts for, chosen by the sender check: the
    # delegate sends for that provider, so the provider's certificate signs, not the delegate's.
    provider = facts.provider
    sender = Sender(
        cnpj=provider.cnpj,
        cpf=provider.cpf,
        code=provider.codigo_na_operadora,
        registered=lambda sha256: is_registered_for(session, provider.id, sha256),
    )
    outcome = check_signature(
        gw.signatures,
        message,
        sender=sender,
        required=provider.require_signature,
        at=gw.utcnow(),
        glosa_codes=facts.schema_set.glosa_codes,
    )
    facts.signature_status, facts.signature_detail = outcome.status, outcome.detail
    if outcome.code is not None:
        raise Rejected(outcome.fault, outcome.code, outcome.description)
