"""What every command shares: error handling (``handles_errors``), the common
options, and ``simple`` for a command that calls one service and prints one line."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import typer

from console.cli.output import emit, safe
from console.cli.state import _STATE, state
from console.security.text import escape_controls
from console.services.errors import InvalidInput, NoChange, ServiceError


def _undecodable(value: Any) -> bool:
    """True if an argument held bytes that are not UTF-8: Python hands those
    over as lone surrogates (U+DC80-U+DCFF, "surrogateescape")."""
    if isinstance(value, (list, tuple)):
        return any(_undecodable(v) for v in value)
    return isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value)


def check_arguments_decode(fn: Callable, kwargs: dict[str, Any]) -> None:
    """Refuse, naming the option, any command-line argument that is not valid
    UTF-8, before it reaches a service and is judged by the wrong rule."""
    st = _STATE.get()
    given = [(flag, getattr(st, attr, None)) for flag, attr in (("--profile", "profile"), ("--config", "config"),
                                                                ("--db", "database"), ("--operator", "operator"))]
    params = inspect.signature(fn).parameters
    for key, value in kwargs.items():
        info = params[key].default if key in params else None
        decls = getattr(info, "param_decls", None) or ()  # an option: its longest flag
        metavar = getattr(info, "metavar", None)  # an argument: the name its usage line shows
        given.append((max(decls, key=len) if decls else (metavar or key).lower(), value))
    for label, value in given:
        if _undecodable(value):
            raise InvalidInput(label, "encoding", "not valid UTF-8")


def handles_errors(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            check_arguments_decode(fn, kwargs)
            return fn(*args, **kwargs)
        except NoChange as err:  # already as asked: done, saying nothing changed
            emit(as_json, {"changed": False, "message": err.message},
                 lambda: typer.echo(f"nothing changed: {escape_controls(err.message)}"))
            return None
        except ServiceError as err:
            emit(as_json, err.as_dict(),
                 lambda: typer.echo(f"error: {escape_controls(err.message)} [{err.code}]", err=True), indent=None)
            raise typer.Exit(1) from None
        except Exception as exc:
            from console.services import database

            err_dict = database.fault(exc)  # a database fault the services did not expect: type only
            if err_dict is None:
                raise
            emit(as_json, err_dict,
                 lambda: typer.echo(f"error: {err_dict['error_msg']} [{err_dict['error_code']}]", err=True),
                 indent=None)
            raise typer.Exit(1) from None
        finally:
            st = _STATE.get()
            if st is not None:
                st.close()

    return wrapper


JSON = typer.Option(False, "--json", help="Print JSON.")
REASON = typer.Option(None, "--reason", help="Why (recorded in the audit log). Required of helpdesk, to block, "
                                                "and to reset or set a password unless reason_required is off.")
IDCHECK = typer.Option(None, "--identity-check", help="How the caller's identity was checked (helpdesk: required).")
VERSION = typer.Option(None, "--expect-version", help="Refuse (STALE_RECORD) if the account changed since this version.")


class _Inert:
    """A result as ``label.format`` sees it: every field it names comes out
    through ``safe`` (control and escape characters shown, never obeyed)."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __getattr__(self, name: str) -> "_Inert":
        return _Inert(getattr(self._obj, name))

    def __format__(self, spec: str) -> str:
        return format(safe(self._obj), spec)


def simple(fn: Callable, label: str, *args: Any, as_json: bool, **kw: Any) -> None:
    """Call a service as the operator and print its result (``label`` formatted
    with it, each field inert)."""
    st = state()
    result = fn(st.ctx(), st.actor(), *args, **kw)
    emit(as_json, result, lambda: typer.echo(label.format(result=_Inert(result))))



#: ``--must-change true|false``, as Zato's CLI takes it, alongside the flags:
#: the value form is read as the flag it means before the options are parsed.
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def zato_must_change(args: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return out + args[i:]
        nxt = args[i + 1].lower() if i + 1 < len(args) else None
        if arg == "--must-change" and nxt in _TRUE + _FALSE:
            out.append("--must-change" if nxt in _TRUE else "--no-must-change")
            i += 2
            continue
        if arg.startswith("--must-change=") and arg.split("=", 1)[1].lower() in _TRUE + _FALSE:
            out.append("--must-change" if arg.split("=", 1)[1].lower() in _TRUE else "--no-must-change")
            i += 1
            continue
        out.append(arg)
        i += 1
    return out
