import dataclasses

import argon2
import pytest

from console.security.hashing import Argon2Params, PasswordHasher, VerifyResult

CHEAP = Argon2Params.cheapest()


@pytest.fixture(scope="module")
def hasher():
    return PasswordHasher(CHEAP)


def test_cheapest_matches_argon2_profile():
    c = argon2.profiles.CHEAPEST
    assert (CHEAP.time_cost, CHEAP.memory_cost, CHEAP.parallelism, CHEAP.hash_len, CHEAP.salt_len) == (
        c.time_cost,
        c.memory_cost,
        c.parallelism,
        c.hash_len,
        c.salt_len,
    )
    assert Argon2Params() == Argon2Params(3, 65536, 4, 32, 16)


def test_hash_is_argon2id_with_params(hasher):
    h = hasher.hash("correct horse battery staple")
    assert h.startswith("$argon2id$")
    assert f"m={CHEAP.memory_cost},t={CHEAP.time_cost},p={CHEAP.parallelism}" in h
    assert "correct" not in h
    assert hasher.hash("same") != hasher.hash("same")  # salted


def test_verify_ok_and_wrong(hasher):
    h = hasher.hash("correct horse battery staple")
    assert hasher.verify(h, "correct horse battery staple") == VerifyResult(ok=True, needs_rehash=False)
    assert hasher.verify(h, "correct horse battery stapler").ok is False
    assert hasher.verify(h, "").ok is False


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "",
        "not-a-hash",
        "$argon2id$v=19$m=8,t=1,p=1$garbage",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAA",
        "$2b$12$abcdefghijklmnopqrstuuJ3F6ZyPGbz2ZRMZ.8kZQ8a9rk8OkD4a",  # bcrypt
        "$argon2id$ü",
        "x" * 10_000,
    ],
)
def test_verify_never_raises_for_bad_hash(hasher, bad):
    assert hasher.verify(bad, "whatever") == VerifyResult(ok=False, needs_rehash=False)


def test_nfkc_before_hashing(hasher):
    h = hasher.hash("password123")
    assert hasher.verify(h, "ｐａｓｓｗｏｒｄ１２３").ok
    h2 = hasher.hash("ｐａｓｓｗｏｒｄ１２３")
    assert hasher.verify(h2, "password123").ok
    assert hasher.verify(hasher.hash("é"), "e\u0301").ok  # composed vs decomposed


def test_needs_rehash_when_params_change(hasher):
    h = hasher.hash("pw-one")
    stronger = PasswordHasher(dataclasses.replace(CHEAP, time_cost=2))
    r = stronger.verify(h, "pw-one")
    assert r.ok and r.needs_rehash
    assert stronger.verify(stronger.hash("pw-one"), "pw-one") == VerifyResult(True, False)
    assert stronger.params.time_cost == 2


def test_other_argon2_type_verifies_but_needs_rehash(hasher):
    legacy = argon2.PasswordHasher(
        time_cost=1, memory_cost=8, parallelism=1, hash_len=4, salt_len=8, type=argon2.Type.I
    )
    h = legacy.hash("pw-legacy")
    assert h.startswith("$argon2i$")
    r = hasher.verify(h, "pw-legacy")
    assert r.ok and r.needs_rehash


def test_dummy_verify_does_not_raise(hasher):
    assert hasher.dummy_verify("anything") is None
    assert hasher.dummy_verify("anything else") is None


def test_unencodable_password_never_echoed(hasher):
    secret = "s3cret-value\ud800"
    with pytest.raises(ValueError) as exc:
        hasher.hash(secret)
    assert "s3cret" not in str(exc.value) and "s3cret" not in repr(exc.value)
    assert exc.value.__suppress_context__  # the UnicodeEncodeError (holding it) is hidden
    assert hasher.verify(hasher.hash("x"), secret).ok is False


def test_default_params():
    assert PasswordHasher().params == Argon2Params()


def test_never_rehashed_down(hasher):
    """A hash stronger than the hasher's settings, in any dimension, stays."""
    for stronger in (dataclasses.replace(CHEAP, time_cost=2), dataclasses.replace(CHEAP, memory_cost=16)):
        h = PasswordHasher(stronger).hash("pw")
        assert hasher.verify(h, "pw") == VerifyResult(True, False), stronger
    # More passes, less memory than the settings: mixed, not weaker; left alone.
    more_memory = PasswordHasher(dataclasses.replace(CHEAP, memory_cost=16))
    assert more_memory.verify(PasswordHasher(dataclasses.replace(CHEAP, time_cost=2)).hash("pw"), "pw") == \
        VerifyResult(True, False)
    two_lanes = PasswordHasher(dataclasses.replace(CHEAP, memory_cost=16, parallelism=2)).hash("pw")
    assert more_memory.verify(two_lanes, "pw") == VerifyResult(True, False)  # parallelism is not strength
