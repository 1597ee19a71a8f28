"""Rendering user-controlled values: always plain text, control characters visible."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.content import Content
from textual.markup import escape as escape_markup

from console.security.text import escape_controls


def safe(value: object) -> str:
    return "-" if value is None or value == "" else escape_controls(str(value))


def plain(value: object, style: str = "") -> Content:
    """A value as inert text: never markup, never an escape sequence."""
    content = Content(safe(value))
    return content.stylize(style) if style else content


def markup_safe(value: object) -> str:
    """For the few Textual APIs that only take markup strings (command palette
    help): the value escaped so that it is shown, not interpreted."""
    return escape_markup(safe(value))


def clip(value: object, width: int) -> str:
    """The value as inert text in at most ``width`` terminal cells, ending in
    "…" when cut (wide characters count two)."""
    text = safe(value)
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + "…"


def cell(value: object, style: str = "") -> Text:
    """A DataTable cell (plain strings there would be read as markup)."""
    return Text(safe(value), style=style)


def when(dt: datetime | None, *, seconds: bool = False) -> str:
    if dt is None:
        return "-"
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def day(dt: datetime | None) -> str:
    return "-" if dt is None else dt.astimezone(timezone.utc).strftime("%Y-%m-%d")


def relative(dt: datetime | None, now: datetime) -> str:
    """"3d ago", "in 2h", "now"."""
    if dt is None:
        return "-"
    delta = dt - now
    secs = abs(delta.total_seconds())
    for unit, size in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            n = int(secs // size)
            return f"in {n}{unit}" if delta.total_seconds() > 0 else f"{n}{unit} ago"
    return "now"


def age(dt: datetime | None, now: datetime) -> str:
    """Compact age for a column: "12d", "3y"."""
    if dt is None:
        return "-"
    days = (now - dt).days
    if days >= 730:
        return f"{days // 365}y"
    return f"{max(days, 0)}d"
