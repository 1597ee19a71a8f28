"""Hot reads, compiled once and run at the driver.

The user list is read on every scroll and keystroke. Building a SQLAlchemy
statement, running it through the engine and converting every column of every
row costs about ten times the query itself (bench/list_vs_raw.py). For such
reads a statement is built by SQLAlchemy once per *shape* — from the shape
alone, so a runtime value can only reach it as a bind parameter — compiled for
the engine's dialect, and then run on the DBAPI cursor, its parameters
converted by the bind processors SQLAlchemy itself would apply. Rows come back
as the driver returns them; views convert fields on access (views.UserView).

Driver errors are wrapped as SQLAlchemy's ``DBAPIError`` family, parameters
hidden, as an engine with ``hide_parameters`` would raise them, and a
connection the driver reports lost is invalidated so the pool replaces it.
These reads bypass the engine, so its ``echo`` and cursor events do not see
them (tests trace them at the driver).

Internal to the service layer (console/services/__init__.py lists the public API).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from threading import Lock
from weakref import WeakKeyDictionary
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

#: ``indexed_by``: read the table itself, in rowid order (SQLite).
NOT_INDEXED = "NOT INDEXED"
_FROM_USERS = re.compile(r"\bFROM users\b(?!_)")
#: Shapes are few (order × direction × search kind × which filters); the bound
#: only guards against a caller putting a runtime value into a shape by mistake.
MAX_SHAPES = 1024


class Prepared:
    """One statement compiled for one dialect."""

    __slots__ = ("sql", "names", "named", "fixed", "processors")

    def __init__(self, stmt: Any, dialect: Dialect, indexed_by: str | None = None) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql: str = compiled.string
        if indexed_by is not None:  # SQLite: the index this read must use (SQLAlchemy has no hint for it)
            hint = NOT_INDEXED if indexed_by == NOT_INDEXED else f"INDEXED BY {indexed_by}"
            self.sql, n = _FROM_USERS.subn(f"FROM users {hint}", self.sql, count=1)
            if not n or dialect.name != "sqlite":
                raise ValueError("INDEXED BY: a SQLite read from users only")
        if "POSTCOMPILE" in self.sql:
            raise ValueError("a prepared statement cannot have expanding or literal-execute parameters")
        self.named = not compiled.positional
        by_name: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            by_name.setdefault(name, bind)
        self.names: tuple[str, ...] = tuple(by_name if self.named else compiled.positiontup or ())
        #: Values fixed when the statement was built (literals SQLAlchemy binds,
        #: such as the ranks of a CASE): part of the shape, not of the call.
        self.fixed: dict[str, Any] = {n: by_name[n].effective_value for n in self.names if not by_name[n].required}
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for n in set(self.names):
            proc = by_name[n].type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                self.processors[n] = proc

    def parameters(self, values: Mapping[str, Any]) -> tuple | dict:
        out = []
        for n in self.names:
            v = values[n] if n in values else self.fixed[n]
            proc = self.processors.get(n)
            out.append(proc(v) if proc is not None and v is not None else v)
        return dict(zip(self.names, out)) if self.named else tuple(out)


#: Per dialect instance (so per engine): two engines of one backend may be
#: configured differently (PostgreSQL's standard_conforming_strings changes how
#: a literal is written).
def binder(values: Mapping[str, Any] | None) -> Callable[..., Any]:
    """``param(name, type_)``: one bind parameter per name for a statement
    being built, bound to ``values[name]``, or (``values`` None) left open for
    a prepared statement's caller to fill at run time."""
    made: dict[str, Any] = {}

    def param(name: str, type_: Any = None) -> Any:
        if name not in made:
            made[name] = bindparam(name, type_=type_) if values is None else bindparam(name, values[name], type_=type_)
        return made[name]

    return param


_cache: WeakKeyDictionary[Dialect, dict[Hashable, Prepared]] = WeakKeyDictionary()
_lock = Lock()


def prepare(dialect: Dialect, shape: Hashable, build: Callable[[], Any], *, indexed_by: str | None = None) -> Prepared:
    """The statement ``build()`` makes for ``shape``, compiled once per engine
    (``indexed_by``, SQLite: read ``users`` through that index; part of the shape)."""
    shape = (shape, indexed_by)
    shapes = _cache.get(dialect)
    hit = shapes.get(shape) if shapes is not None else None
    if hit is not None:
        return hit
    prepared = Prepared(build(), dialect, indexed_by)
    with _lock:
        shapes = _cache.setdefault(dialect, {})
        if len(shapes) >= MAX_SHAPES:
            shapes.clear()
        shapes[shape] = prepared
    return prepared


def fetch(conn: Connection, prepared: Prepared, values: Mapping[str, Any], *, one: bool = False) -> Any:
    """Run on ``conn``'s DBAPI connection: all rows as plain tuples (or the
    first row, or None, with ``one``)."""
    params = prepared.parameters(values)
    dbapi_conn = conn.connection.driver_connection
    cursor = dbapi_conn.cursor()
    dbapi = conn.dialect.loaded_dbapi
    try:
        cursor.execute(prepared.sql, params)
        return cursor.fetchone() if one else cursor.fetchall()
    except dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, dbapi_conn, cursor)
        if lost:
            conn.invalidate()
        raise DBAPIError.instance(prepared.sql, params, exc, dbapi.Error, hide_parameters=True, dialect=conn.dialect,
                                  connection_invalidated=lost) from None
    finally:
        try:
            cursor.close()
        except dbapi.Error:
            pass  # the connection went with the error above
