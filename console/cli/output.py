"""Output: a command's result as JSON (``--json``) or as text for a person.

Every command ends in :func:`emit`; user-controlled text goes through
:func:`safe`, so control and escape characters are shown, never obeyed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import typer

from typing import TYPE_CHECKING

from console.security.text import escape_controls

if TYPE_CHECKING:  # imported where used: `userdesk --help` loads no service
    from console.services.views import OneTimeSecret


def emit(as_json: bool, data: Any, text: str | Callable[[], None], *, indent: int | None = 2) -> None:
    """Print a result: ``data`` as JSON on stdout with ``--json``, else ``text``
    (a line for stdout, or a function that writes the text form).

    ``data`` may be a function returning the value, so what only the JSON form
    holds (a revealed one-time secret) is computed only when JSON is printed."""
    if as_json:
        import json

        typer.echo(json.dumps(jsonable(data() if callable(data) else data), indent=indent))
    elif callable(text):
        text()
    else:
        typer.echo(text)


def safe(value: Any) -> str:
    """User-controlled text as inert text: control and escape characters made visible."""
    return "-" if value is None else escape_controls(str(value))


def when(dt: datetime | None) -> str:
    return "-" if dt is None else dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def jsonable(obj: Any) -> Any:
    from console.services.views import OneTimeSecret, UserView

    if isinstance(obj, OneTimeSecret):
        raise TypeError("one-time secrets are rendered explicitly, never serialised by accident")
    if isinstance(obj, UserView):
        return jsonable(obj.as_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        data = {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        for extra in ("status", "external", "authenticated"):
            if hasattr(type(obj), extra):
                data[extra] = jsonable(getattr(obj, extra))
        return data
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (list, tuple)):
        return [jsonable(x) for x in obj]
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    return obj


def table(headers: list[str], rows: list[list[Any]], widths: list[int] | None = None) -> None:
    cells = [[safe(c) for c in row] for row in rows]
    widths = widths or [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def fit(text: str, w: int) -> str:
        return text if len(text) <= w else text[: max(1, w - 1)] + "…"

    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for r in cells:
        typer.echo("  ".join(fit(c, w).ljust(w) for c, w in zip(r, widths)).rstrip())


def print_secret(label: str, secret: OneTimeSecret, note: str | None) -> None:
    typer.echo(f"{label}: {secret.reveal()}")
    if note:
        typer.echo(note, err=True)


def print_reset(username: str, secret: OneTimeSecret, note: str) -> None:
    """A reset password, in the form Zato's CLI prints (one line on stdout, the
    note on stderr)."""
    typer.echo(f"Password for user `{safe(username)}` reset to `{secret.reveal()}`")
    typer.echo(note, err=True)
