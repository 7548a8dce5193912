"""argon2 off the event loop: hash, verify, burn; a malformed hash is a wrong password."""

from __future__ import annotations

import pytest

from server.passwords import _DUMMY_HASH, Passwords, verify_password


async def test_hash_and_verify_in_the_pool() -> None:
    passwords = Passwords(threads=1)
    try:
        digest = await passwords.hash("a long password")
        assert digest.startswith("$argon2id$")
        assert await passwords.verify(digest, "a long password") is True
        assert await passwords.verify(digest, "another one") is False
        assert await passwords.verify("not a hash", "a long password") is False
        await passwords.burn("anything")  # returns, whatever the password
    finally:
        passwords.close()


def test_the_dummy_hash_is_a_real_argon2_hash_with_current_parameters() -> None:
    from argon2 import PasswordHasher

    assert verify_password(_DUMMY_HASH, "not-a-real-password")
    assert not PasswordHasher().check_needs_rehash(_DUMMY_HASH)


def test_at_least_one_thread() -> None:
    with pytest.raises(ValueError, match=r"^threads must be >= 1, got 0$"):
        Passwords(threads=0)
