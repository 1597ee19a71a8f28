"""Argon2id password hashing (argon2-cffi)."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

import argon2
from argon2.exceptions import Argon2Error, InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST

from .text import normalize

__all__ = ["Argon2Params", "VerifyResult", "PasswordHasher"]


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters (memory_cost in KiB)."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4
    hash_len: int = 32
    salt_len: int = 16

    @classmethod
    def cheapest(cls) -> "Argon2Params":
        """The cheapest parameters argon2-cffi allows: for tests only."""
        return cls(
            time_cost=CHEAPEST.time_cost,
            memory_cost=CHEAPEST.memory_cost,
            parallelism=CHEAPEST.parallelism,
            hash_len=CHEAPEST.hash_len,
            salt_len=CHEAPEST.salt_len,
        )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    needs_rehash: bool  # only meaningful when ok


def _encode(password: str) -> bytes:
    """NFKC-normalise and UTF-8 encode; never echoes the password in an error."""
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    try:
        return normalize(password).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("password contains characters that cannot be encoded") from None


class PasswordHasher:
    """Argon2id hasher. Passwords are NFKC-normalised before hashing/verifying."""

    def __init__(self, params: Argon2Params = Argon2Params()) -> None:
        self.params = params
        self._ph = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost,
            parallelism=params.parallelism,
            hash_len=params.hash_len,
            salt_len=params.salt_len,
            type=argon2.Type.ID,
        )
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PasswordHasher({self.params!r})"

    def hash(self, password: str) -> str:
        """Return the encoded argon2id hash of the NFKC-normalised *password*."""
        data = _encode(password)
        try:
            return self._ph.hash(data)
        except Argon2Error as exc:  # message comes from libargon2, never the input
            raise RuntimeError(f"password hashing failed: {type(exc).__name__}") from None

    def verify(self, stored_hash: str | None, password: str) -> VerifyResult:
        """Check *password* against *stored_hash*; never raises for a bad hash."""
        if not stored_hash or not isinstance(stored_hash, (str, bytes)):
            return VerifyResult(ok=False, needs_rehash=False)
        try:
            data = _encode(password)
        except ValueError:
            return VerifyResult(ok=False, needs_rehash=False)
        try:
            self._ph.verify(stored_hash, data)
        except (VerificationError, InvalidHashError, Argon2Error, ValueError, TypeError):
            # VerifyMismatchError is a VerificationError; a non-ASCII hash
            # raises UnicodeEncodeError (a ValueError).
            return VerifyResult(ok=False, needs_rehash=False)
        return VerifyResult(ok=True, needs_rehash=self._weaker(stored_hash))

    def _weaker(self, stored_hash: str) -> bool:
        """Rehash only upward: when the stored hash is weaker than this hasher's
        parameters in memory, passes or length and stronger in none (a hash made
        with more memory or passes is never rehashed down; parallelism is not
        strength). A hash whose parameters cannot be read is rehashed."""
        try:
            stored = argon2.extract_parameters(stored_hash)
        except (InvalidHashError, ValueError, TypeError):
            return True
        p = self.params
        if stored.type is not argon2.Type.ID or stored.version < argon2.low_level.ARGON2_VERSION:
            return True
        mine, theirs = (p.memory_cost, p.time_cost, p.hash_len), (stored.memory_cost, stored.time_cost,
                                                                   stored.hash_len)
        return mine != theirs and all(m >= t for m, t in zip(mine, theirs))

    def dummy_verify(self, password: str) -> None:
        """Spend the time of a real verification (for unknown users)."""
        if self._dummy_hash is None:
            with self._dummy_lock:
                if self._dummy_hash is None:
                    self._dummy_hash = self._ph.hash(secrets.token_urlsafe(32))
        self.verify(self._dummy_hash, password)
