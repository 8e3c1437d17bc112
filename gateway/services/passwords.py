"""Credentials. TISS sends the password as the MD5 hex of the password (Componente
Organizacional, item 114), so the stored secret is argon2 over that MD5 value: one credential then
serves the web service (which only ever sees the MD5) and the portal (which hashes what is typed).
"""

import hashlib
import hmac
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verified against when the login is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash("0" * 32)


def md5_hex(password: str) -> str:
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest()


def hash_md5_credential(md5_of_password: str) -> str:
    return _hasher.hash(md5_of_password.strip().lower())


def hash_password(password: str) -> str:
    return hash_md5_credential(md5_hex(password))


# Web-service clients send the same credential with every message, and one argon2 verification
# costs tens of milliseconds: a credential that verified recently against the SAME stored hash is
# accepted again without argon2 for a few minutes. The cache holds only an HMAC under a key that
# never leaves the process; a password change or reset changes the stored hash, which ends it.
# Wrong and unknown credentials are never cached, so they always cost one full verification.
_CACHE_SECONDS = 300.0
_CACHE_MAX = 10_000
_cache_key = secrets.token_bytes(32)
_verified: dict[bytes, float] = {}


def _cache_entry(stored_hash: str, candidate: str) -> bytes:
    return hmac.new(_cache_key, f"{stored_hash}\0{candidate}".encode(), hashlib.sha256).digest()


def is_recently_verified(stored_hash: str | None, md5_of_password: str | None) -> bool:
    """Whether this credential verified against this stored hash a moment ago (no argon2)."""
    if not stored_hash:
        return False
    entry = _cache_entry(stored_hash, (md5_of_password or "").strip().lower())
    return _verified.get(entry, 0.0) > time.monotonic()


def verify_md5_credential(stored_hash: str | None, md5_of_password: str | None) -> bool:
    """Constant-cost check; an unknown account (stored_hash None) still costs one verification."""
    candidate = (md5_of_password or "").strip().lower()
    entry = _cache_entry(stored_hash, candidate) if stored_hash else None
    if entry is not None and _verified.get(entry, 0.0) > time.monotonic():
        return True
    try:
        ok = _hasher.verify(stored_hash or _DUMMY_HASH, candidate)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if ok and entry is not None:
        if len(_verified) >= _CACHE_MAX:
            _verified.clear()
        _verified[entry] = time.monotonic() + _CACHE_SECONDS
    return ok and stored_hash is not None


def upgraded_hash(stored_hash: str, md5_of_password: str) -> str | None:
    """For a credential that has just verified against `stored_hash`: a new hash when the stored
    one was made with other argon2 parameters than this version's (they rise with new releases of
    argon2-cffi), so that every account moves to them at its next login; None when it is current.
    """
    if not _hasher.check_needs_rehash(stored_hash):
        return None
    return hash_md5_credential(md5_of_password)
