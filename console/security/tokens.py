"""Single-use tokens (reset tickets): only their SHA-256 digest is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["new_token", "digest", "matches", "well_formed", "TOKEN_LENGTH"]

#: ``secrets.token_urlsafe(32)``: 32 bytes in unpadded URL-safe base64.
TOKEN_LENGTH = 43
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_token() -> str:
    """Return a new random URL-safe token (32 random bytes, 43 characters)."""
    return secrets.token_urlsafe(32)


def well_formed(token: object) -> bool:
    """True if *token* could be one of ours: 43 URL-safe base64 characters.
    Anything else is refused without a lookup."""
    return isinstance(token, str) and len(token) == TOKEN_LENGTH and _ALPHABET.issuperset(token)


def digest(token: str) -> str:
    """Return the hex SHA-256 digest of the UTF-8 encoded *token*."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def matches(token: str, stored_digest: str) -> bool:
    """Constant-time check that *token* hashes to *stored_digest*."""
    if not isinstance(token, str) or not isinstance(stored_digest, str):
        return False
    if not stored_digest.isascii():  # compare_digest refuses non-ASCII str
        return False
    try:
        return hmac.compare_digest(digest(token), stored_digest)
    except (TypeError, ValueError, UnicodeError):
        return False
