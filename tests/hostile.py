"""The hostile-input corpus: what a self-service sign-up may put in a user
record, run through every input and display path by the tests that import it
(tests/services/test_services_hostile.py, tests/cli/test_cli_hostile.py,
tests/tui/test_tui_hostile.py)."""

from __future__ import annotations

import unicodedata

#: name -> value. Kept short enough for a display name where possible, so the
#: display tests see each one whole.
CORPUS: dict[str, str] = {
    "markup-bold": "[bold]x[/bold]",
    "markup-link": "[link=https://evil.example]x[/link]",
    "markup-click": "[@click=app.quit]x[/]",
    "ansi-colour": "\x1b[31mred",
    "ansi-cursor": "\x1b[2J\x1b[Hhome",
    "ansi-erase-line": "x\x1b[2Ky",
    "osc52-clipboard": "\x1b]52;c;aGVsbG8=\x07",
    "osc8-link": "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "c0-bell": "a\x07b",
    "c0-backspace": "ab\x08\x08XY",
    "c0-carriage-return": "safe\revil",
    "c0-newline": "one\ntwo",
    "c0-tab": "a\tb",
    "c1-csi": "\x9b31mred",
    "c1-nel": "a\x85b",
    "nul": "a\x00b",
    "bidi-override": "\u202eevil",
    "bidi-isolate": "\u2066x\u2069",
    "zero-width-space": "a\u200bb",
    "zero-width-joiner": "a\u200db",
    "byte-order-mark": "\ufeffx",
    "sql-quote": "'; DROP TABLE users; --",
    "sql-like": "%_\\",
    "long": "x" * 10_000,
}

#: Characters that must never reach a terminal raw.
FORBIDDEN = {chr(c) for c in range(0x20) if chr(c) != "\n"} | {chr(0x7F)} | {chr(c) for c in range(0x80, 0xA0)}


def invisible(text: str) -> set[str]:
    """Control, format (bidi, zero-width) characters in ``text``."""
    return {ch for ch in text if ch in FORBIDDEN or unicodedata.category(ch) in ("Cc", "Cf")}


def unsafe(value: str) -> bool:
    """Would the services refuse it in free text (display name, reason)?"""
    return bool(invisible(value)) or len(value) > 500
