"""cstaserver.config.passwords: salted scrypt hashes."""

from __future__ import annotations

import pytest

from cstaserver.config.passwords import (
    SCHEME,
    hash_password,
    is_password_hash,
    parse_password_hash,
    verify_password,
)

FAST = {"n": 2**4, "r": 1, "p": 1}


def test_hash_has_the_documented_form_and_verifies() -> None:
    encoded = hash_password("csta")
    scheme, n, r, p, salt, digest = encoded.split("$")
    assert (scheme, n, r, p) == (SCHEME, "16384", "8", "1")
    assert salt and digest
    assert verify_password("csta", encoded)
    assert not verify_password("cstA", encoded)
    assert not verify_password("", encoded)


def test_salt_is_random() -> None:
    assert hash_password("same", **FAST) != hash_password("same", **FAST)


def test_non_ascii_password() -> None:
    encoded = hash_password("lösenord ☎", **FAST)
    assert verify_password("lösenord ☎", encoded)
    assert not verify_password("losenord ☎", encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "csta",
        "bcrypt$16$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==",
        "scrypt$x$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$16384$8$1$!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$16384$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        # 2**30 * 8 * 128 bytes: refused before any memory is touched.
        "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$16384$8$99$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ],
)
def test_malformed_hashes_are_refused(encoded: str) -> None:
    assert not is_password_hash(encoded)
    assert not verify_password("anything", encoded)
    with pytest.raises(ValueError):
        parse_password_hash(encoded)


def test_non_string_is_not_a_hash() -> None:
    assert not is_password_hash(None)
    assert not is_password_hash(42)


def test_parameters_travel_with_the_hash() -> None:
    encoded = hash_password("x", **FAST)
    parsed = parse_password_hash(encoded)
    assert (parsed.n, parsed.r, parsed.p) == (16, 1, 1)
    assert parsed.encode() == encoded
    assert verify_password("x", encoded)
