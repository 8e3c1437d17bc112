"""Checking what people type into the portal: plain strings in, clean values or messages (in
Portuguese, by field) out. Used by the account and credentialing use cases."""

from collections.abc import Iterable
from datetime import date

from email_validator import EmailNotValidError, validate_email

from gateway.forms import DATE_FORMAT_MESSAGE, FieldReader, InvalidInput, digits_only, typed_day
from gateway.services.documents import normalize, valid_cnpj, valid_cpf

# InvalidInput lives in gateway.forms; the use cases import it from here.
__all__ = ["UFS", "Fields", "InvalidInput", "invalid"]
UFS = "AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split()


def invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput({field: message})


class Fields(FieldReader):
    """The portal's forms: accounts, credentialing."""

    def choice(self, name: str, choices: Iterable[str], *, required: bool = True) -> str | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, "selecione uma opção")
            return None
        if value not in set(choices):
            self.fail(name, "opção inválida")
            return None
        return value

    def choices(self, name: str, values: list[str], choices: Iterable[str]) -> list[str]:
        allowed = set(choices)
        picked = [v for v in values if v in allowed]
        if len(picked) != len(values):
            self.fail(name, "opção inválida")
        return list(dict.fromkeys(picked))

    def email(self, name: str, *, required: bool = True) -> str | None:
        value = self.text(name, required=required, max_len=254)
        if value and not _mailable(value):
            self.fail(name, "e-mail inválido")
        return value.lower() if value else None

    def digits(
        self, name: str, *, length: int | tuple[int, int], required: bool = True, what: str = ""
    ) -> str | None:
        """Only digits are kept (punctuation typed by the person is dropped)."""
        value = digits_only(self.data.get(name))
        low, high = (length, length) if isinstance(length, int) else length
        if not value:
            if required:
                self.fail(name, "campo obrigatório")
            return None
        if not low <= len(value) <= high:
            size = f"{low}" if low == high else f"de {low} a {high}"
            self.fail(name, f"{what or 'informe'} {size} dígitos".strip())
            return None
        return value

    def cpf(self, name: str, *, required: bool = True) -> str | None:
        value = self.digits(name, length=11, required=required, what="o CPF tem")
        if value and not valid_cpf(value):
            self.fail(name, "CPF inválido (dígitos verificadores não conferem)")
            return None
        return value

    def cnpj(self, name: str) -> str | None:
        """Numeric or alphanumeric CNPJ (TISS 4.03.00), check digits verified."""
        value = normalize(self.data.get(name) or "")
        if not value:
            self.fail(name, "campo obrigatório")
            return None
        if not valid_cnpj(value):
            self.fail(name, "CNPJ inválido (dígitos verificadores não conferem)")
            return None
        return value

    def uf(self, name: str, *, required: bool = True) -> str | None:
        return self.choice(name, UFS, required=required)

    def date(self, name: str, *, required: bool = True) -> date | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, "campo obrigatório")
            return None
        day = typed_day(value)
        if day is None:
            self.fail(name, DATE_FORMAT_MESSAGE)
        return day


def _mailable(address: str) -> bool:
    """An address the To header reads as that one mailbox (RFC 5322, by email-validator): a
    local part with ',', ':' or '<>' would name other mailboxes, and a reset link would go to
    them. Accents in the local part are taken (SMTPUTF8); a domain must be plain ASCII, as
    before (no conversion to punycode is made)."""
    try:
        found = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return found.domain.isascii()
