"""Obvious patterns that no list of passwords holds in full.

:func:`is_obvious` is true when the whole password is nothing but

- one short unit repeated (``aaaaaaaaaaaaaaaa``, ``abcabcabcabcabc``,
  ``passwordpassword``), or else, cut into at most five pieces, each of them
- a run of one character (``!!!``, at least 3), a sequence up or down (``123456789``,
  ``abcdefg``, ``9876``; digits wrap round: ``7890123``), or a keyboard walk
  (``qwerty``, ``asdfgh``, ``1qaz``, ``zse4``, ``1q2w3e``, ``!@#$``, a numpad
  row or column), or
- a word: one of the common-password list's words (letters only, at least 4),
  in any case and leet-speak (0→o, 1→i or l, 3→e, 4→a, 5→s, 7→t, @→a, $→s;
  one such word, which may come back), or a context word (the service's own
  name, the system's), any number of times, or
- up to 4 digits of any kind once (a year, a PIN), and up to 2 symbols twice
  (``@``, ``#$``);

which is how ``Admin@123``, ``Passw0rd!``, ``Huawei12#$``, ``password123456789``,
``Password!!!!!!!!``, ``1qaz2wsx3edc4rfv`` and ``qwertyuiopasdfgh`` are made.
A random password is not: it holds characters none of these explain (none of
100,000 random 15-character ones from the generator's alphabet was; 2 in 10,000
at 8 characters, where a 4-letter word and a few symbols can turn up by
chance). Two different list words are a passphrase, not a pattern
(``blue kettle 42``).

The user's own fields are not looked for here: the ``not_personal`` rule
refuses a password that contains them, padded or not.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Set

from .text import normalize

__all__ = ["is_obvious", "SERVICE_NAME", "context_key", "leet_readings"]

#: This console's own name: a context word under every policy.
SERVICE_NAME = "userdesk"

#: Leet-speak read back as letters; "1" reads as "i" or as "l".
_LEET = str.maketrans({"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_CHARS = frozenset("013457@$")
_ONE_AS = ("i", "l")

_MAX_PIECES = 5
_MAX_FREE_DIGITS = 4  # one piece of up to 4 digits: a year, a PIN, "42"
_MAX_FREE_SYMBOLS = 2  # a piece of symbols holds 1 or 2: "@", "#$" ...
_FREE_SYMBOL_PIECES = 2  # ... and there may be two such pieces
_MIN_RUN = 3
_MIN_SEQUENCE = 3
_MIN_WALK = 3
_MIN_BENT_WALK = 4
_CONTEXT_MIN_LEN = 3
#: The longest word looked for (the list's longest has 36 letters).
_MAX_WORD = 40
#: Past this length only the whole-password checks run (one repeated unit, one
#: sequence): the cutting into pieces is quadratic in the worst case.
_CUT_MAX_LEN = 256

_DIGITS = "0123456789"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _keyboard_lines() -> list[tuple[str, int]]:
    """US keyboard lines, each with the shortest stretch of it that counts as a
    walk: 3 along a row, a column or the numpad; 4 on a slant or a zigzag
    between two rows (3 of those turn up in random text too often)."""
    top, shifted = "1234567890", "!@#$%^&*()"
    r1, r2, r3 = "qwertyuiop", "asdfghjkl;", "zxcvbnm,./"
    straight = ["`1234567890-=", "~!@#$%^&*()_+", "qwertyuiop[]\\", "qwertyuiop{}|", "asdfghjkl;'", 'asdfghjkl:"',
                "zxcvbnm,./", "zxcvbnm<>?", "789", "456", "123", "147", "258", "369", "159", "357"]  # rows, numpad
    bent: list[str] = []
    for row in (top, shifted):
        straight += [row[i] + r1[i] + r2[i] + r3[i] for i in range(10)]  # 1qaz 2wsx ... (columns)
        bent += [r3[i] + r2[i + 1] + r1[i + 2] + row[i + 3] for i in range(7)]  # zse4 xdr5 ... (the other slant)
        bent += ["".join(a + b for a, b in zip(row, r1)), "".join(b + a for a, b in zip(row, r1))]  # 1q2w3e, q1w2e3
    for upper, lower in ((r1, r2), (r2, r3)):
        bent += ["".join(a + b for a, b in zip(upper, lower)), "".join(b + a for a, b in zip(upper, lower))]
    return [(line, _MIN_WALK) for line in straight] + [(line, _MIN_BENT_WALK) for line in bent]


def _walks() -> frozenset[str]:
    out: set[str] = set()
    for line, shortest in _keyboard_lines():
        for text in (line, line[::-1]):
            for i in range(len(text)):
                for j in range(i + shortest, len(text) + 1):
                    out.add(text[i:j])
    return frozenset(out)


_WALKS = _walks()
_MAX_WALK = max(map(len, _WALKS))


def leet_readings(chunk: str) -> set[str]:
    """*chunk* (casefolded) read back from leet-speak: every reading of its 1s
    (at most 8; with more than 3, all as i or all as l)."""
    base = chunk.translate(_LEET)
    ones = base.count("1")
    if not ones:
        return {base}
    if ones > 3:
        return {base.replace("1", c) for c in _ONE_AS}
    parts = base.split("1")
    return {parts[0] + "".join(c + p for c, p in zip(choice, parts[1:]))
            for choice in itertools.product(_ONE_AS, repeat=ones)}


def context_key(word: str) -> set[str]:
    """How a context word is matched: NFKC, casefolded, read back from
    leet-speak (``auth0`` is ``autho``); nothing if it is not letters."""
    folded = normalize(word).casefold().strip()
    return {v for v in leet_readings(folded) if len(v) >= _CONTEXT_MIN_LEN and v.isalpha()}


def _period(s: str) -> int:
    """The smallest p with s[i] == s[i - p] throughout (the prefix function)."""
    pi = [0] * len(s)
    k = 0
    for q in range(1, len(s)):
        while k and s[q] != s[k]:
            k = pi[k - 1]
        if s[q] == s[k]:
            k += 1
        pi[q] = k
    return len(s) - pi[-1]


def _step(a: str, b: str) -> int:
    """+1 or -1 when b follows or precedes a among digits (round) or letters; else 0."""
    if a in _DIGITS and b in _DIGITS:
        d = (int(b) - int(a)) % 10
        return 1 if d == 1 else -1 if d == 9 else 0
    if a in _LETTERS and b in _LETTERS:
        d = ord(b) - ord(a)
        return d if d in (1, -1) else 0
    return 0


def _sequence_end(s: str, i: int) -> int:
    """The end of the longest sequence starting at *i* (i + 1 if none)."""
    if i + 1 >= len(s):
        return i + 1
    step = _step(s[i], s[i + 1])
    if not step:
        return i + 1
    j = i + 2
    while j < len(s) and _step(s[j - 1], s[j]) == step:
        j += 1
    return j


def _pieces(s: str, i: int, words: Set[str], context: Set[str], max_word: int) -> list[tuple[int, str, str]]:
    """Every piece that can start at *i*: (end, kind, word)."""
    n = len(s)
    out: list[tuple[int, str, str]] = []
    run = i + 1
    while run < n and s[run] == s[i]:
        run += 1
    out += [(j, "free", "") for j in range(i + _MIN_RUN, run + 1)]
    seq = _sequence_end(s, i)
    out += [(j, "free", "") for j in range(i + _MIN_SEQUENCE, seq + 1)]
    out += [(j, "free", "") for j in range(i + _MIN_WALK, min(n, i + _MAX_WALK) + 1) if s[i:j] in _WALKS]
    j = i
    while j < n and j - i < _MAX_FREE_DIGITS and s[j] in _DIGITS:
        j += 1
        out.append((j, "digits", ""))
    j = i
    while j < n and j - i < _MAX_FREE_SYMBOLS and not s[j].isalnum():
        j += 1
        out.append((j, "symbols", ""))
    for j in range(i + 1, min(n, i + max_word) + 1):
        ch = s[j - 1]
        if not (ch.isalpha() or ch in _LEET_CHARS):
            break
        if j - i < _CONTEXT_MIN_LEN:
            continue
        for v in leet_readings(s[i:j]):
            if v in context:
                out.append((j, "context", ""))
                break
            if v in words:
                out.append((j, "word", v))
                break
    return out


def _cut(s: str, words: Set[str], context: Set[str]) -> bool:
    """Whether *s* is at most five pieces of the kinds above."""
    n = len(s)
    max_word = max([_MAX_WORD, *map(len, context)])
    starts: dict[int, list[tuple[int, str, str]]] = {}
    seen: set[tuple] = set()
    # Depth-first over (position, pieces used, the list word, digits used, symbol pieces used).
    stack = [(0, 0, "", False, 0)]
    while stack:
        state = stack.pop()
        if state in seen:
            continue
        seen.add(state)
        i, used, word, digits, symbols = state
        if i == n:
            return True
        if used == _MAX_PIECES:
            continue
        if i not in starts:
            starts[i] = _pieces(s, i, words, context, max_word)
        for end, kind, w in starts[i]:
            if kind == "word":
                if word and w != word:
                    continue
                stack.append((end, used + 1, w, digits, symbols))
            elif kind == "digits":
                if not digits:
                    stack.append((end, used + 1, word, True, symbols))
            elif kind == "symbols":
                if symbols < _FREE_SYMBOL_PIECES:
                    stack.append((end, used + 1, word, digits, symbols + 1))
            else:  # free: runs, sequences, walks, context words
                stack.append((end, used + 1, word, digits, symbols))
    return False


def is_obvious(password: str, *, words: Set[str], context: Iterable[str] = ()) -> bool:
    """True when the whole *password* (NFKC-normalised already) is an obvious
    pattern: see the module's text. *words*: the list's base words
    (``blocklist.common_words()``); *context*: words of this service and system
    (``SERVICE_NAME`` is always one)."""
    s = password.casefold()
    n = len(s)
    if n < 2:
        return False
    if 2 * _period(s) <= n:
        return True
    if n > _CUT_MAX_LEN:
        return _sequence_end(s, 0) == n
    keys: set[str] = set()
    for w in (SERVICE_NAME, *context):
        keys |= context_key(w)
    return _cut(s, words, frozenset(keys))
