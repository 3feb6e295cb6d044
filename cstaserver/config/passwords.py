"""Password hashes for the exchange data: salted scrypt, never plain text.

Every password the exchange data stores (ECMA-354 authentication criteria users, web-service
accounts, admin-shell accounts) is kept as

    scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>

made by ``hashlib.scrypt`` with a fresh 16-byte random salt, and checked with
``hmac.compare_digest`` (constant time). The cost parameters travel with the hash, so they can
be raised later without invalidating stored accounts; :func:`parse_password_hash` bounds them,
so a crafted data file cannot make a verification eat gigabytes of memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets

import attrs

SCHEME = "scrypt"

#: Default cost: n=2**14, r=8 (16 MiB, ~50 ms on a small machine), p=1.
DEFAULT_N = 2**14
DEFAULT_R = 8
DEFAULT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32

_MAX_N_TIMES_R = 2**19  # 128 * n * r <= 64 MiB
_MAX_P = 16


@attrs.frozen
class ScryptHash:
    """The parts of an encoded password hash."""

    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def encode(self) -> str:
        return "$".join(
            (SCHEME, str(self.n), str(self.r), str(self.p), _b64(self.salt), _b64(self.digest))
        )

    def maxmem(self) -> int:
        """Memory bound for ``hashlib.scrypt`` (OpenSSL needs 128*r*(n+p+2) bytes)."""
        return 128 * self.r * (self.n + self.p + 2) + 2**20


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, n: int, r: int, p: int, salt: bytes, dklen: int) -> bytes:
    params = ScryptHash(n, r, p, salt, b"")
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=params.maxmem(), dklen=dklen
    )


def hash_password(
    password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P
) -> str:
    """Return the encoded salted scrypt hash of ``password``."""
    salt = os.urandom(SALT_BYTES)
    digest = _derive(password, n, r, p, salt, HASH_BYTES)
    return ScryptHash(n, r, p, salt, digest).encode()


def new_password() -> str:
    """A random password for a new account: 16 characters of ``[A-Za-z0-9_-]`` (96 bits)."""
    return secrets.token_urlsafe(12)


def parse_password_hash(encoded: str) -> ScryptHash:
    """Split an encoded hash into its parts; ``ValueError`` saying what is wrong if malformed."""
    if not isinstance(encoded, str):
        raise ValueError("a password hash must be a string")
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError("not a password hash of the form scrypt$n$r$p$salt$hash")
    try:
        n, r, p = (int(part, 10) for part in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error) as e:
        raise ValueError("password hash has a malformed field") from e
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or p > _MAX_P or n * r > _MAX_N_TIMES_R:
        raise ValueError("password hash has out-of-range scrypt parameters")
    if not 8 <= len(salt) <= 64 or not 16 <= len(digest) <= 64:
        raise ValueError("password hash has a salt or digest of the wrong length")
    return ScryptHash(n, r, p, salt, digest)


def is_password_hash(encoded: object) -> bool:
    """True if ``encoded`` is a well-formed hash (it is not verified against anything)."""
    try:
        parse_password_hash(encoded)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def verify_password(password: str, encoded: str) -> bool:
    """True if ``password`` matches ``encoded``; False for a wrong password or a malformed hash."""
    try:
        stored = parse_password_hash(encoded)
    except ValueError:
        return False
    candidate = _derive(password, stored.n, stored.r, stored.p, stored.salt, len(stored.digest))
    return hmac.compare_digest(candidate, stored.digest)
