"""Outgoing mail: SMTP (with STARTTLS and login) when TISS_SMTP_HOST is set, else a readable
.eml file in TISS_VAR_DIR/outbox/."""

from email import message_from_bytes, policy

from gateway.config_portal import MailSettings
from gateway.services import mail


class FakeSMTP:
    sent: list = []

    def __init__(self, host, port, timeout):
        self.calls = [("connect", host, port)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context):
        self.calls.append(("starttls",))

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def sendmail(self, sender, recipients, data, mail_options=()):
        self.calls.append(("send", sender, recipients, list(mail_options)))
        FakeSMTP.sent.append((self.calls, message_from_bytes(data, policy=policy.default)))


def test_smtp_when_configured(monkeypatch, tmp_path):
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    settings = MailSettings(smtp_host="smtp.example", smtp_user="u", smtp_password="p")
    mail.send_mail(settings, tmp_path, "a@example.com", "Assunto", "Olá, redefinição de senha\n")
    calls, message = FakeSMTP.sent[-1]
    assert calls == [
        ("connect", "smtp.example", 587),
        ("starttls",),
        ("login", "u", "p"),
        ("send", "nao-responda@localhost", ["a@example.com"], []),
    ]
    assert message.get_content() == "Olá, redefinição de senha\n"
    assert not (tmp_path / "outbox").exists()


def test_outbox_by_default(tmp_path):
    mail.send_mail(MailSettings(), tmp_path, "a@example.com", "Assunto", "Link: http://x/é\n")
    (written,) = (tmp_path / "outbox").glob("*.eml")
    raw = written.read_bytes()
    assert "Link: http://x/é".encode() in raw  # readable as it is, not encoded
    assert message_from_bytes(raw)["To"] == "a@example.com"
