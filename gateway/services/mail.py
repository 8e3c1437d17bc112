"""Outgoing mail. Through SMTP when TISS_SMTP_HOST is set; otherwise each message is written as an
.eml file to TISS_VAR_DIR/outbox/, so that a person running the gateway locally can read it."""

import logging
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from gateway.config_portal import MailSettings

log = logging.getLogger(__name__)


def outbox_dir(var_dir: Path) -> Path:
    return Path(var_dir) / "outbox"


def send_mail(mail: MailSettings, var_dir: Path, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="tiss-gateway")
    if mail.smtp_host:
        message.set_content(body, cte="quoted-printable")
        _send_smtp(mail, message)
    else:
        # Plain 8-bit text, so a person can read the file and copy a link from it as it is;
        # quoted-printable only when a line is longer than a mail line may be (998 octets).
        short = all(len(line.encode()) <= 998 for line in body.splitlines())
        message.set_content(body, cte="8bit" if short else "quoted-printable")
        _write_outbox(outbox_dir(var_dir), message)


def _send_smtp(mail: MailSettings, message: EmailMessage) -> None:
    # Not smtp.send_message: for an all-ASCII mail it flattens with a generator that writes a
    # body line starting with "From " as ">From " (mbox quoting), changing what staff wrote.
    sender, recipients = _envelope(message)
    international = _international(sender, *recipients)
    data = message.as_bytes(policy=message.policy.clone(utf8=international))
    with smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=30) as smtp:
        if mail.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if mail.smtp_user:
            smtp.login(mail.smtp_user, mail.smtp_password or "")
        options = []
        if international:  # an accented address travels only to a server that takes SMTPUTF8
            smtp.ehlo_or_helo_if_needed()
            if not smtp.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("the mail server does not offer SMTPUTF8")
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        smtp.sendmail(sender, recipients, data, mail_options=options)


def _envelope(message: EmailMessage) -> tuple[str, list[str]]:
    sender = message["From"].addresses[0].addr_spec
    return sender, [address.addr_spec for address in message["To"].addresses]


def _international(*addresses: str) -> bool:
    """An address with an accent: the mail is written with UTF-8 headers (RFC 6532), since an
    address may not hold an RFC 2047 encoded word (=?utf-8?q?usu=C3=A1rio?=@...)."""
    return not all(address.isascii() for address in addresses)


def _write_outbox(folder: Path, message: EmailMessage) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
    # Written under a temporary name and renamed, so a reader never sees half a message.
    tmp = path.with_suffix(".tmp")
    sender, recipients = _envelope(message)
    utf8 = _international(sender, *recipients)
    tmp.write_bytes(message.as_bytes(policy=message.policy.clone(utf8=utf8)))
    tmp.replace(path)
    log.info("mail to %s written to %s", message["To"], path)


class Mailer:
    """What the use cases get to send mail: the settings and the outbox folder bound together."""

    def __init__(self, mail: MailSettings, var_dir: Path) -> None:
        self.mail = mail
        self.var_dir = Path(var_dir)

    def send(self, to: str, subject: str, body: str) -> None:
        send_mail(self.mail, self.var_dir, to, subject, body)
