"""Staff credentials as they arrive: a WS-Security UsernameToken (PasswordText) in the SOAP
Header, or HTTP Basic. Reading them is the adapter's job; checking them is the use case's."""

import base64
import binascii
from dataclasses import dataclass

from lxml import etree

from gateway.tiss.namespaces import SOAP11_ENV

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = f"{TOKEN_PROFILE}#PasswordText"
MISSING = "credenciais não informadas: use WS-Security UsernameToken (PasswordText) ou HTTP Basic"


@dataclass(frozen=True)
class Credentials:
    login: str
    password: str
    scheme: str  # wsse | basic


class CredentialsError(ValueError):
    """Credentials present but unusable (malformed, or a digest we cannot check)."""


# Where the Authorization header is kept out of spyne's sight: spyne logs every HTTP_* header
# at DEBUG level, and a password must not reach a log at any level.
ENV_AUTHORIZATION = "tiss.backoffice.authorization"


def hide_authorization(environ: dict) -> None:
    header = environ.pop("HTTP_AUTHORIZATION", None)
    if header is not None:
        environ[ENV_AUTHORIZATION] = header


def read_credentials(envelope: etree._Element, environ: dict) -> Credentials | None:
    """The UsernameToken when the Header has one (it is the SOAP-level identity), else HTTP
    Basic, else None. The WS-Security headers are removed from the envelope once read, so the
    password does not travel on in the document spyne handles (and may log)."""
    header = envelope.find(f"{{{SOAP11_ENV}}}Header")
    securities = [] if header is None else header.findall(f"{{{WSSE}}}Security")
    token = securities[0].find(f"{{{WSSE}}}UsernameToken") if securities else None
    for security in securities:
        header.remove(security)
    if token is not None:
        return _from_token(token)
    authorization = environ.get(ENV_AUTHORIZATION)
    if authorization:
        return _from_basic(authorization)
    return None


def _from_token(token: etree._Element) -> Credentials:
    username = token.findtext(f"{{{WSSE}}}Username")
    password = token.find(f"{{{WSSE}}}Password")
    if not username or password is None:
        raise CredentialsError("UsernameToken sem Username ou Password")
    # A PasswordDigest cannot be checked: only argon2 of the password's MD5 is stored.
    if password.get("Type", PASSWORD_TEXT) != PASSWORD_TEXT:
        raise CredentialsError("UsernameToken: use Password do tipo PasswordText (sobre TLS)")
    return Credentials(username.strip(), password.text or "", "wsse")


def _from_basic(header: str) -> Credentials:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise CredentialsError(f"autenticação HTTP {scheme} não suportada; use Basic")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise CredentialsError("cabeçalho Authorization Basic malformado") from None
    login, colon, password = decoded.partition(":")
    if not colon:
        raise CredentialsError("cabeçalho Authorization Basic malformado")
    return Credentials(login, password, "basic")
