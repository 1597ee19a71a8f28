"""Text helpers: Unicode normalisation and making terminal controls visible."""

from __future__ import annotations

import unicodedata

__all__ = ["normalize", "escape_controls", "has_controls"]

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


def _is_control(ch: str) -> bool:
    return ch in _EXPLICIT or unicodedata.category(ch) in _CATEGORIES


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
    """True if *s* contains a character that :func:`escape_controls` would escape."""
    return any(_is_control(ch) for ch in s)
