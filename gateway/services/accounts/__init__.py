"""Portal accounts and their security rules (Segurança e Privacidade, TISS.md): login with lockout,
sessions with an idle timeout, password policy, change and reset, the access log, and
delegations of a provider to Secretária/o accounts. Plain values in and out; no Flask here."""
