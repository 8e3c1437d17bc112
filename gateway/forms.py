"""Reading what people type into a form, whatever the form is for: each field's text cleaned, and
one message (in Portuguese) per field that is wrong, all collected before anything is refused.

Neutral ground for two readers that must not import each other: the portal's account and
credentialing forms (services/validation.Fields) and the typed Guia de Consulta of the pure TISS
layer (tiss/typed_guides)."""

import re
import unicodedata
from collections.abc import Mapping
from datetime import date

_NOT_A_DIGIT = re.compile(r"[^0-9]")
# Control characters, and the format characters that print as nothing (soft hyphen, zero-width
# spaces and joiners, direction marks and overrides, BOM): "C\u00ad0001" looks like "C0001"
# on every page and print, yet is another guide number to every comparison.
_INVISIBLE = "\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
_CONTROL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
_CONTROL_BUT_LINES = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
# What a field says when it holds one of them.
CONTROL_MESSAGE = "remova os caracteres invisíveis (de controle) do texto"
_BRAZILIAN_DAY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
# What a field of dates says when what was typed is not one.
DATE_FORMAT_MESSAGE = "informe uma data válida, como 31/12/2026"


def digits_only(text: str | None) -> str:
    """The digits 0-9 of what was typed, everything else dropped. Full-width digits (some
    keyboards, text copied from PDFs) count as the digits they look like (NFKC). Digits of other
    scripts are dropped: Python's \\d would keep them, and a TISS field takes 0-9 only."""
    return _NOT_A_DIGIT.sub("", unicodedata.normalize("NFKC", text or ""))


def typed_day(text: str | None) -> date | None:
    """The day of a date field: AAAA-MM-DD, which a browser's calendar (input type=date) sends,
    or DD/MM/AAAA, which people type where the browser shows a plain text box; None for anything
    else, including days that do not exist (31/02)."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    try:
        if found := _BRAZILIAN_DAY.fullmatch(text):
            day, month, year = (int(part) for part in found.groups())
            return date(year, month, day)
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def has_invisible_characters(text: str, *, multiline: bool = False) -> bool:
    """A control character (a NUL, an escape copied with the text): PostgreSQL refuses a NUL and
    XML cannot carry most of them. In a multi-line text (a reason, a message) line breaks and
    tabs are text."""
    return bool((_CONTROL_BUT_LINES if multiline else _CONTROL).search(text))


def size_text(size: int) -> str:
    """A size in bytes as the forms say it ("até 1,5 MB", "limite de 300 KB")."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")
    return f"{max(1, round(size / 1024))} KB"


def is_digits(text: str, length: int) -> bool:
    """Exactly `length` digits 0-9 (str.isdigit() alone also takes other scripts' digits)."""
    return len(text) == length and text.isascii() and text.isdigit()


class InvalidInput(ValueError):
    """What is wrong, by field name; shown next to each field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class FieldReader:
    """Reads fields of a submitted form, collecting the first message for each wrong field."""

    invalid = InvalidInput  # what check() raises

    def __init__(self, data: Mapping[str, str]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> str:
        """The field's text with its runs of spaces (and line breaks) made single spaces."""
        return " ".join((self.data.get(name) or "").split())

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def text(self, name: str, max_len: int = 200, *, required: bool = True) -> str | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, "campo obrigatório")
            return None
        # Line breaks and tabs are spaces by now.
        if has_invisible_characters(value):
            self.fail(name, CONTROL_MESSAGE)
            return None
        if len(value) > max_len:
            self.fail(name, f"no máximo {max_len} caracteres")
        return value[:max_len]

    def check(self) -> None:
        if self.errors:
            raise self.invalid(self.errors)
