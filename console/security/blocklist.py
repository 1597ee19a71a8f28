"""Common-password list (zxcvbn's 30,000 most frequent passwords)."""

from __future__ import annotations

import functools

from .text import normalize

__all__ = ["is_common", "common_password_count"]


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(normalize(p).casefold() for p in FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    """True if the whole *password* (case-insensitively) is a common password."""
    return normalize(password).casefold() in _common()


def common_password_count() -> int:
    """Number of distinct entries in the common-password list."""
    return len(_common())
