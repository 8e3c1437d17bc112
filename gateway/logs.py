"""Structured logs: one JSON object per line, with the request id of the request being handled.

`tiss-gateway serve` and deploy/gunicorn.conf.py call `configure()`; TISS_LOG_FORMAT=json|text
chooses the format (json under serve). The request id is bound by the WSGI router for the whole
request (a context variable), so every line logged while handling it carries the same id that is
stored in the message's archive record and sent back in X-Request-Id.

Never logged: passwords (a WS-Security wsse:Password too), their MD5 (senhaPrestador), stored
password hashes, beneficiary names. The gateway's own lines carry none of them; `redact()` is a
second line of defence for text that comes from elsewhere (an exception message quoting SQL
parameters or a piece of a message).
"""

import contextvars
import json
import logging
import logging.config
import re
from datetime import UTC, datetime

from gunicorn import glogging

from gateway.tiss.redaction import ARGON2
from gateway.tiss.redaction import ELEMENT as SECRET_ELEMENT

JSON = "json"
TEXT = "text"
FORMATS = (JSON, TEXT)

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tiss_request_id", default=None
)

# SQLAlchemy error messages quote the statement's parameters: a failed INSERT of an archive
# record would quote the raw message (with senhaPrestador), one of an account its password hash.
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\n|$)", re.DOTALL)
# Everything after a senhaPrestador (or WS-Security Password) start tag up to its end tag, or
# to the end of the text when the piece logged was cut before it: a comment or CDATA may come
# before the password.
_SENHA = re.compile(
    rf"(<{SECRET_ELEMENT}\b[^>]*>).*?(?=</{SECRET_ELEMENT}|\Z)", re.IGNORECASE | re.DOTALL
)
# The text of every element named nome* (nomeBeneficiario, nomeSocialBeneficiario, the back
# office's nome): a message dumped at DEBUG (spyne's own loggers) holds beneficiaries' names.
_NAME = re.compile(r"(<(?:[\w.-]+:)?nome\w*\b[^>/]*>)[^<]*", re.IGNORECASE)

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged as a field.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
}


def bind_request_id(request_id: str) -> contextvars.Token:
    return _request_id.set(request_id)


def unbind_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


def current_request_id() -> str | None:
    return _request_id.get()


def redact(text: str) -> str:
    text = _SQL_PARAMETERS.sub("[parameters: hidden]", text)
    text = _SENHA.sub(r"\1***", text)
    text = _NAME.sub(r"\1***", text)
    return ARGON2.sub("$argon2$***", text)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                # Fields given with `extra=` are text from elsewhere too.
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return redact(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        # One record, one line: a line break or terminal escape in text a client sent (a URL
        # path, a login) would write what reads as another record (log forging, CWE-117). A
        # traceback, appended after this, keeps its lines.
        record.message = one_line(record.message)
        return super().formatMessage(record)


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` with control characters (a tab aside) written as escapes: \\n, \\r, \\x1b."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def format_named(raw: str | None) -> str | None:
    """TISS_LOG_FORMAT as given (case and surrounding spaces do not count); None when unset. Read
    alike by `tiss-gateway serve` (gateway.config) and deploy/gunicorn.conf.py."""
    return (raw or "").strip().lower() or None


def logging_config(fmt: str = JSON, level: str = "INFO") -> dict:
    """A dictConfig for the gateway and gunicorn's own loggers (gunicorn's `logconfig_dict`)."""
    if fmt not in FORMATS:
        raise ValueError(f"TISS_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    formatter = JsonFormatter if fmt == JSON else TextFormatter
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "tiss",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"tiss": {"()": formatter}},
        "handlers": {"console": handler},
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["console"], "propagate": False},
            # The gateway writes its own access line (with the request id and duration).
            "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
        },
    }


class GunicornLogger(glogging.Logger):
    """gunicorn's logger without gunicorn's access line: the gateway writes its own, with the
    request id and duration. Given a logging config, gunicorn builds that line's fields for every
    request even though its logger then drops them (~1.5% of a status query's CPU)."""

    access_log_enabled = False


def configure(fmt: str = JSON, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(fmt, level))
