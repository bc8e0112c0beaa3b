"""Password hashing with argon2id (argon2-cffi's recommended defaults)."""

from __future__ import annotations

import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# The test suite sets TONGBAN_PASSWORD_PROFILE=cheapest (argon2-cffi's profile for tests);
# everything else uses the library's recommended RFC 9106 low-memory defaults.
_PROFILE = (
    profiles.CHEAPEST
    if os.environ.get("TONGBAN_PASSWORD_PROFILE") == "cheapest"
    else profiles.RFC_9106_LOW_MEMORY
)
_hasher = PasswordHasher.from_parameters(_PROFILE)

# A hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("no-such-user-dummy-password")


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash or _DUMMY_HASH, password)) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
