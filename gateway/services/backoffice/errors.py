"""Why a back-office request was refused."""

import enum


class ErrorKind(enum.Enum):
    INVALID = "invalid"  # the request itself is wrong (values, references inside it)
    NOT_FOUND = "not_found"  # it names a protocol, message or provider that does not exist
    NOT_ALLOWED = "not_allowed"  # the current state forbids it (transition, analysis, payment)
    AUTHENTICATION = "authentication"


class BackOfficeError(ValueError):
    """A refusal with a message for the operator's staff (Portuguese). Nothing was written."""

    def __init__(
        self, message: str, kind: ErrorKind = ErrorKind.INVALID, *, logged: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        # What the log says instead, when the message quotes what was sent (it may be personal).
        self.logged = logged or message


def not_found(message: str) -> BackOfficeError:
    return BackOfficeError(message, ErrorKind.NOT_FOUND)


def not_allowed(message: str) -> BackOfficeError:
    return BackOfficeError(message, ErrorKind.NOT_ALLOWED)
