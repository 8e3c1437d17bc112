"""Credentials. TISS sends the password as the MD5 hex of the password (Componente
Organizacional, item 114), so the stored secret is argon2 over that MD5 value: one credential then
serves the web service (which only ever sees the MD5) and the portal (which hashes what is typed).
"""

import hashlib

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


def verify_md5_credential(stored_hash: str | None, md5_of_password: str | None) -> bool:
    """Constant-cost check; an unknown account (stored_hash None) still costs one verification."""
    candidate = (md5_of_password or "").strip().lower()
    try:
        ok = _hasher.verify(stored_hash or _DUMMY_HASH, candidate)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
