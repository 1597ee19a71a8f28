import re

from console.security.tokens import digest, matches, new_token


def test_new_token_is_43_char_urlsafe():
    tok = new_token()
    assert len(tok) == 43
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", tok)


def test_tokens_are_unique():
    assert len({new_token() for _ in range(1000)}) == 1000


def test_digest_is_sha256_hex():
    assert digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    d = digest(new_token())
    assert re.fullmatch(r"[0-9a-f]{64}", d)


def test_matches():
    tok = new_token()
    stored = digest(tok)
    assert matches(tok, stored)
    assert not matches(new_token(), stored)
    assert not matches(tok[:-1], stored)
    assert not matches(tok, "")
    assert not matches(tok, "ü" * 64)  # non-ASCII stored value: False, not TypeError


def test_digest_differs_from_token():
    tok = new_token()
    assert tok not in digest(tok)
