"""Reading native accounts: one account, keyset pages (search, filter, order),
capped counts, and the desk's operators. Changing them is services/users.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import ARRAY, Integer, String, any_, bindparam, case, func, literal_column, or_, text
from sqlmodel import select

from console.models import LOCAL_SOURCE, User, UTCDateTime
from console.services import pagination, prepared, validation
from console.services import search as search_index
from console.services.base import get_user_row, reading, reading_prepared
from console.services.context import Actor, ServiceContext
from console.services.permissions import OPERATOR_ROLES
from console.services.errors import InvalidInput
from console.services.views import Count, Page, UserView


@dataclass(frozen=True)
class UserFilter:
    role: str | None = None
    blocked: bool | None = None
    locked: bool | None = None
    expired: bool | None = None
    must_change: bool | None = None
    external: bool | None = None
    #: Not signed in for this many days (or never).
    inactive_days: int | None = None
    #: Never signed in (True) or signed in at least once (False).
    never_signed_in: bool | None = None

    def describe(self) -> dict:
        """The filter's set fields, for audit events and previews."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


def get_user(ctx: ServiceContext, actor: Actor, username: str) -> UserView:
    with reading(ctx, actor) as s:
        return UserView.of(get_user_row(s, username), ctx.now())


ORDERS = ("username", "attention")
#: A search shorter than this matches the start of a username, email or display
#: name (a prefix, through their lower() indexes), not any substring: too short
#: for a trigram index. The list says so.
PREFIX_SEARCH_BELOW = search_index.TRIGRAM


def _attention_rank(now):
    """0 locked, 1 expired, 2 blocked, 3 never signed in, 4 the rest."""
    return case(
        ((User.locked_until.is_not(None)) & (User.locked_until > now), 0),
        ((User.password_expires_at.is_not(None)) & (User.password_expires_at <= now), 1),
        (User.blocked == True, 2),  # noqa: E712
        (User.last_login_at.is_(None), 3),
        else_=4,
    )


def filter_values(f: UserFilter, now) -> dict:
    """The bind values of a filter's conditions, validated (see filter_conditions)."""
    values: dict = {"now": now}
    if f.role is not None:
        values["role"] = validation.role(f.role)
    if f.inactive_days is not None:
        if not isinstance(f.inactive_days, int) or isinstance(f.inactive_days, bool) or not 1 <= f.inactive_days <= 36500:
            raise InvalidInput("inactive_days", "range", "a whole number of days from 1 to 36500")
        values["since"] = now - timedelta(days=f.inactive_days)
    return values


def filter_conditions(f: UserFilter, values: dict | None = None) -> list:
    """SQL conditions on ``users`` for a filter (shared with bulk actions).
    ``values``: from filter_values; None leaves ``now``, ``role`` and ``since``
    as bind parameters for a prepared statement, whose shape is then the
    filter's boolean fields and which of role and inactive_days are set."""
    param = prepared.binder(values)
    conds: list = []
    if f.role is not None:
        conds.append(User.role == param("role", String))
    if f.blocked is not None:
        conds.append(User.blocked == f.blocked)
    if f.locked is not None:
        now = param("now", UTCDateTime)
        locked = (User.locked_until.is_not(None)) & (User.locked_until > now)
        conds.append(locked if f.locked else ~locked)
    if f.expired is not None:
        now = param("now", UTCDateTime)
        expired = (User.password_expires_at.is_not(None)) & (User.password_expires_at <= now)
        conds.append(expired if f.expired else ~expired)
    if f.must_change is not None:
        conds.append(User.must_change_password == f.must_change)
    if f.external is not None:
        local = literal_column(_LOCAL)  # a literal, as the partial index ix_users_external_name writes it
        conds.append((User.source != local) if f.external else (User.source == local))
    if f.inactive_days is not None:
        since = param("since", UTCDateTime)
        conds.append(User.last_login_at.is_(None) | (User.last_login_at < since))
    if f.never_signed_in is not None:
        conds.append(User.last_login_at.is_(None) if f.never_signed_in else User.last_login_at.is_not(None))
    return conds


assert LOCAL_SOURCE.isalnum()
_LOCAL = f"'{LOCAL_SOURCE}'"


def _filtered(stmt, f: UserFilter, values: dict | None):
    conds = filter_conditions(f, values)
    return stmt.where(*conds) if conds else stmt


def _shape_of(f: UserFilter) -> UserFilter:
    """The part of a filter that shapes its SQL: the booleans as given, role and
    inactive_days only as "set" (their values are bound at run time)."""
    return replace(f, role="" if f.role is not None else None, inactive_days=0 if f.inactive_days is not None else None)


#: SQLite: a state that comes and goes with time (locked, expired) matching
#: fewer accounts than this is read from its timestamp's range and sorted;
#: more, and a page is read in username order (where a page's rows are
#: found within about N / SMALL × page rows). See docs/architecture.md.
SMALL = 2000

#: The time states: (the filter's field, the range index, its condition).
_TIMED = (("locked", "ix_users_locked_until"), ("expired", "ix_users_password_expires_at"))
#: The rare states' username-ordered indexes, the smaller first (a role but member: by role).
_RARE = (("blocked", "ix_users_blocked_name"), ("must_change", "ix_users_must_change_name"),
         ("never_signed_in", "ix_users_never_name"), ("external", "ix_users_external_name"))


def _timed_condition(which: str, param):
    now = param("now", UTCDateTime)
    if which == "locked":
        return (User.locked_until.is_not(None)) & (User.locked_until > now)
    return (User.password_expires_at.is_not(None)) & (User.password_expires_at <= now)


def _few(conn, which: str, now) -> bool:
    """SQLite: do fewer than SMALL accounts have the time state ``which`` now?
    (At most SMALL index entries of its range, read from the index alone.)"""
    def build():
        param = prepared.binder(None)
        inner = select(literal_column("1")).select_from(User).where(_timed_condition(which, param))
        return select(func.count()).select_from(inner.limit(literal_column(str(SMALL))).subquery())

    ix = dict(_TIMED)[which]
    query = prepared.prepare(conn.dialect, ("users.few", which), build, indexed_by=ix)
    return prepared.fetch(conn, query, {"now": now}, one=True)[0] < SMALL


def _driver(conn, f: UserFilter, values: dict, *, counting: bool = False) -> str | None:
    """SQLite: the index a page (or a count) of ``f`` is read through, chosen
    here rather than by the planner, which sees neither the bound time nor how
    many accounts each state has (docs/architecture.md). Other backends: None
    (PostgreSQL plans from its statistics and the values)."""
    if conn.dialect.name != "sqlite":
        return None
    timed = [which for which, _ in _TIMED if getattr(f, which) is True]
    for which in timed:
        if _few(conn, which, values["now"]):
            return dict(_TIMED)[which]
    if f.role is not None and values.get("role") != "member":
        return "ix_users_role_name"
    for which, ix in _RARE:
        if getattr(f, which) is True:
            return ix
    if f.role is not None:
        return "ix_users_role_name"
    if counting and timed:  # many: count from the range, up to the cap
        return dict(_TIMED)[timed[0]]
    return "ix_users_name_state"


def _starting(conn, values: dict, cap: int | None = None) -> int:
    """SQLite, a search under three characters: how many accounts match, up
    to ``cap`` + 1 (None: COUNT_CAP; counted from the three lower() indexes
    alone)."""
    cap = COUNT_CAP if cap is None else cap
    query = prepared.prepare(conn.dialect, ("users.count", "prefix", UserFilter(), None, cap),
                             lambda: _count_statement("prefix", UserFilter(), None, cap))
    return prepared.fetch(conn, query, values, one=True)[0]


def _found(conn, values: dict, cap: int) -> int:
    """SQLite, a search of three characters or more: how many accounts match,
    up to ``cap`` + 1, counted from the full-text index alone."""
    query = prepared.prepare(conn.dialect, ("users.count.fts", cap), lambda: select(func.count()).select_from(
        search_index.matches().limit(literal_column(str(cap + 1))).subquery()))
    return prepared.fetch(conn, query, values, one=True)[0]


#: The rare states' partial indexes that carry the search key (0009), in id
#: order (the search's), the smaller first: (the filter's field, the index, its
#: condition as a read through it states it on SQLite, on PostgreSQL). SQLite
#: uses a partial index only where the query states its condition (it proves
#: nothing from a bound value, and a role is bound); PostgreSQL proves the
#: others from the filter's own conditions, and a second copy of one would
#: square its estimated selectivity (``blocked`` twice: 0.25% of the accounts
#: where 5% are, and PostgreSQL then read 50,000 rows of the table through the
#: one-byte ``ix_users_count`` instead of this index alone: 90 ms, measured);
#: the role's it states for a generic plan, where the role is a parameter.
KEY_INDEXES = (
    ("role", "ix_users_key_role", "users.role <> 'member'", "users.role <> 'member'"),
    ("locked", "ix_users_key_locked", "users.locked_until IS NOT NULL", None),
    ("blocked", "ix_users_key_blocked", "users.blocked = 1", None),
    ("must_change", "ix_users_key_must_change", "users.must_change_password = 1", None),
    ("never_signed_in", "ix_users_key_never", "users.last_login_at IS NULL", None),
    ("external", "ix_users_key_external", f"users.source <> {_LOCAL}", None),
)


def _key_where(dialect: str, ix: str | None) -> str | None:
    """The condition a read through the key index ``ix`` states (None: not one)."""
    for _, name, lite, pg in KEY_INDEXES:
        if name == ix:
            return lite if dialect == "sqlite" else pg
    return None


#: SQLite, a search with a filter that has a key index: a search matching at
#: most this many accounts is read from its own index (each match's row
#: tested for the filter: a few thousand lookups at most); more, and from the
#: filter's key index (its entries tested, no row read but a page's).
KEY_FROM = SMALL


def _key_index(f: UserFilter, values: dict) -> str | None:
    """The key index of the filter's rarest state, if it has one."""
    for field, ix, *_ in KEY_INDEXES:
        if field == "role":
            if f.role is not None and values.get("role") != "member":
                return ix
        elif getattr(f, field) is True:
            return ix
    return None


def _id_bounds(conn) -> tuple[int | None, int | None]:
    """The first and the last account's id (None, None: no account), each
    read from an end of the primary key."""
    # Each its own subquery: SQLite reads one min() or max() from the primary key's end, both together by a scan.
    bounds = prepared.prepare(conn.dialect, ("users.id_bounds",), lambda: select(
        select(func.min(User.id)).scalar_subquery(), select(func.max(User.id)).scalar_subquery()))
    low, high = prepared.fetch(conn, bounds, {}, one=True)
    return low, high


def _sample(conn) -> list[str]:
    """The searchable text of a sample of the accounts (search.sample_ranges:
    a few runs of ids spread over them, each read by primary key), for
    search.narrowing."""
    low, high = _id_bounds(conn)
    if low is None:
        return []
    ranges = search_index.sample_ranges(low, high)

    def build():
        param = prepared.binder(None)
        return select(User.username, User.email, User.display_name).select_from(User).where(
            or_(*(User.id.between(param(f"lo{i}", Integer), param(f"hi{i}", Integer)) for i in range(len(ranges)))))

    query = prepared.prepare(conn.dialect, ("users.sample", len(ranges)), build)
    values = {k: v for i, (lo, hi) in enumerate(ranges) for k, v in ((f"lo{i}", lo), (f"hi{i}", hi))}
    return [search_index.sample_text(*row) for row in prepared.fetch(conn, query, values)]


def _narrow(conn, kind: str | None, q: str, values: dict) -> str | None:
    """A search read from its candidates where search.narrowing says it is
    slow as it is (common trigrams, few matches), or, on PostgreSQL, where
    search.focus says it has a common word beside rarer ones (its matches,
    read by the rarer ones): returns its kind then (``fts_ids``,
    ``trigram_ids``), ``values`` given the candidates' ids and the test of
    each; else ``kind`` as it was. Once per service call: a page in the
    attention order reads each rank from the same candidates."""
    if kind not in ("fts", "trigram") or not search_index.narrowable(q, kind):
        return kind
    sample = _sample(conn)
    pair = search_index.narrowing(q, sample, kind)
    if pair is not None:
        query = prepared.prepare(conn.dialect, ("users.candidates", kind), lambda: search_index.candidates(kind))
        ids = [row[0] for row in prepared.fetch(conn, query, search_index.narrow_terms(kind, pair))]
    elif kind == "trigram" and (pattern := search_index.focus(q, sample)) is not None:
        query = prepared.prepare(conn.dialect, ("users.focused",), search_index.focused)
        ids = [row[0] for row in prepared.fetch(conn, query, {"narrow_focus": pattern, "search_text": q.lower()})]
    else:
        return kind
    if len(ids) > search_index.NARROW_CAP:
        return kind
    narrowed = f"{kind}_ids"
    values.update(search_index.terms(narrowed, q))
    values["search_ids"] = json.dumps(ids) if kind == "fts" else ids
    return narrowed


def _search_plan(conn, kind: str | None, f: UserFilter, values: dict, q: str, *, counting: bool = False):
    """SQLite: how a search with a filter is read, as (kind, index):

    - the filter has a time state that few accounts have now (locked, mostly),
      or selects at most COUNT_CAP accounts through a list index (counted
      there, index only): those accounts, each tested for the search (a 3+
      character search then as kind ``rows``: the same case-insensitive
      substring, tested on the row);
    - a search under three characters that matches many: the table in id
      order (the search's order), whose first page is found within a few
      hundred rows, instead of sorting every match by id; one that matches
      few, with a filter: its ids from its indexes, then each row's filter
      (``prefix_ids``);
    - else as the search index gives it, each match tested for the filter:
      the accounts read by rowid only (``NOT INDEXED``), since the planner
      would otherwise drive the join from a filter's partial index and probe
      the full-text index once a row.
    - a narrowed search (``fts_ids``): its candidates, each read by rowid and
      tested for the search and the filter;
    - a filter with a rare state that has a key index (KEY_INDEXES: a role
      but member, locked, blocked, must change, never signed in, external):
      a search matching at most KEY_FROM accounts from its own index, each
      match's row tested for the filter; one matching more from the key
      index (kinds ``key``, ``key_prefix``): each entry of the state tested
      for the search and the rest of the filter, no row read but a page's;
    PostgreSQL: a filter with a key index, the search as LIKE on its key
    (``key_like``, ``key_like_prefix``), which PostgreSQL reads from that
    index alone, each entry tested (the index named only for its condition:
    PostgreSQL plans it); else the search as it is. Elsewhere: the search as
    it is, planned by the database."""
    if conn.dialect.name == "postgresql" and kind in ("trigram", "like_prefix"):
        key_ix = _key_index(f, values)
        if key_ix is not None:
            kind = "key_like" if kind == "trigram" else "key_like_prefix"
            values.update(search_index.terms(kind, q))
            return kind, key_ix
    if conn.dialect.name != "sqlite" or kind is None:
        return kind, None
    if kind == "fts_ids":
        return kind, prepared.NOT_INDEXED
    for which, ix in _TIMED:
        if getattr(f, which) is True and _few(conn, which, values["now"]):
            if kind == "fts":
                kind = "rows"
                values.update(search_index.terms(kind, q))
            return kind, ix
    starting = _starting(conn, values) if kind == "prefix" else None
    many = starting is not None and starting > COUNT_CAP
    key_ix = _key_index(f, values)
    if key_ix is not None:
        few = (starting if kind == "prefix" else _found(conn, values, KEY_FROM)) <= KEY_FROM
        if few:  # each match's row tested for the filter
            return ("prefix_ids" if kind == "prefix" else kind), prepared.NOT_INDEXED
        kind = "key_prefix" if kind == "prefix" else "key"
        values.update(search_index.terms(kind, q))
        return kind, key_ix
    if f != UserFilter():
        driver = _driver(conn, f, values)
        if driver != "ix_users_name_state" and _at_most(conn, driver, f, values, COUNT_CAP):
            # the filter's few accounts, each tested for the search
            if kind == "fts":
                kind = "rows"
                values.update(search_index.terms(kind, q))
            return kind, driver
        if kind == "prefix" and not many:
            return "prefix_ids", prepared.NOT_INDEXED  # the prefix's ids from its indexes, then each row's filter
    if many and not counting:
        return kind, prepared.NOT_INDEXED
    if many and f != UserFilter():  # counting many starts: walk the filter's index (its partial or range), not them
        driver = _driver(conn, f, values, counting=True)
        if driver != "ix_users_name_state":
            return kind, driver
    if kind == "fts" and f != UserFilter():
        # the accounts by rowid from the full-text index: never a filter's partial index driving the join and
        # probing the full-text index once a row (seconds for 50,000 blocked accounts)
        return kind, prepared.NOT_INDEXED
    return kind, None


def _at_most(conn, driver: str, f: UserFilter, values: dict, cap: int) -> bool:
    """SQLite: does ``f`` select at most ``cap`` accounts? (Read through
    ``driver``, a list index that carries the filter's columns.)"""
    query = prepared.prepare(conn.dialect, ("users.count", None, _shape_of(f)),
                             lambda: _count_statement(None, _shape_of(f)), indexed_by=driver)
    return prepared.fetch(conn, query, values, one=True)[0] <= cap


def _page_statement(order: str, mode: str, kind: str | None, shape: UserFilter, n: int, where: str | None = None,
                    ids_only: bool = False):
    """A list page's statement, from its shape only (prepared.py): bind
    parameters ``now``, ``role``, ``since``, the search terms and ``k0``… (the
    cursor); ``n`` rows, a literal (SQLite plans a bound LIMIT as if it were
    unbounded, and may then scan the table rather than use an index);
    ``where``: a key index's condition (KEY_INDEXES), which it reads through;
    ``ids_only``: the page's ids, not its rows."""
    param = prepared.binder(None)
    columns = [User.id] if ids_only else UserView.columns()
    stmt = _filtered(select(*columns).select_from(User), shape, None)
    if where is not None:
        stmt = stmt.where(text(where))
    if kind is not None:
        stmt, id_col = search_index.apply(stmt, kind)
        cols = [id_col]
    else:
        cols = [func.lower(User.username), User.id]
    if order == "attention":
        cols.insert(0, _attention_rank(param("now", UTCDateTime)))
    keys = [param(f"k{i}") for i in range(len(cols))]
    if mode == "after":
        stmt = stmt.where(pagination.after(cols, keys))
    elif mode == "before":
        stmt = stmt.where(pagination.before(cols, keys))
    backwards = mode in ("before", "end")
    return stmt.order_by(*(c.desc() for c in cols) if backwards else cols).limit(literal_column(str(n)))


#: PostgreSQL, a search with a filter: a page is read from the ids of every
#: match when there are fewer than this (see _few_ids).
FEW_MATCHES = SMALL

#: PostgreSQL, a search with a filter: a page is first looked for among the
#: accounts whose ids are within this many of the cursor's (see _window_page).
WINDOW = 40_000


def _window_page(conn, order: str, mode: str, kind: str, f: UserFilter, values: dict, n: int) -> list | None:
    """PostgreSQL, a search with a filter: its page when the accounts whose
    ids are within WINDOW of the cursor's (of the first or the last id, with
    none), on the page's side, hold all of it, read from those alone; else
    None. Those ``n`` rows are then the page itself, as every other account's
    id is beyond them. (A range of ids, not the next WINDOW accounts counted:
    no OFFSET, and where accounts were deleted the window holds fewer.)

    A search and a filter that both match many (``a`` and the expired
    accounts, a rank of the attention order, a day after the demo was built:
    60,000 and 150,000) have a page among the first few thousand ids, but
    the ids of every match (_few_ids) are read only to find there are more
    than FEW_MATCHES: 30,000 rows of the table, 73 ms, measured at 1M. The
    window costs at most its WINDOW rows (about 10 ms), and where the matches
    are few (fewer than ``n`` among them) _few_ids follows."""
    backwards = mode in ("before", "end")
    if mode in ("after", "before"):
        start = values["k0"]
    else:  # from before the first id, or after the last
        low, high = _id_bounds(conn)
        if low is None:
            return None
        start = high + 1 if backwards else low - 1
    where = f"users.id {'>=' if backwards else '<='} :window_edge"
    query = prepared.prepare(conn.dialect, ("users.page", order, mode, kind, _shape_of(f), n, where),
                             lambda: _page_statement(order, mode, kind, _shape_of(f), n, where))
    edge = start - WINDOW if backwards else start + WINDOW
    rows = prepared.fetch(conn, query, {**values, "window_edge": edge})
    return rows if len(rows) >= n else None


def _few_ids(conn, mode: str, kind: str, f: UserFilter, values: dict) -> list[int] | None:
    """PostgreSQL, a search with a filter: the ids of all its matches on the
    cursor's side, when there are fewer than FEW_MATCHES; None when there are
    more (then a page in id order is found early in the primary key's order).

    The planner cannot tell which: it multiplies the filter's and the search's
    selectivities as if they were independent (expired and external: 4,000
    estimated at 1M, none in fact, since external accounts have no expiry), and
    for a page of 100 in id order it then walks the primary key and filters
    every row (0.2 s). Here the matches are read in a MATERIALIZED CTE, which
    PostgreSQL plans for all its rows (through the filter's partial index or a
    bitmap of the search's), and runs only as far as the outer LIMIT reads it."""
    def build():
        param = prepared.binder(None)
        stmt = _filtered(select(User.id).select_from(User), _shape_of(f), None)
        stmt, id_col = search_index.apply(stmt, kind)
        if mode == "after":
            stmt = stmt.where(pagination.after([id_col], [param("k0")]))
        elif mode == "before":
            stmt = stmt.where(pagination.before([id_col], [param("k0")]))
        matches = stmt.cte("matches").prefix_with("MATERIALIZED")
        return select(matches.c.id).limit(literal_column(str(FEW_MATCHES)))

    query = prepared.prepare(conn.dialect, ("users.few_ids", mode, kind, _shape_of(f), FEW_MATCHES), build)
    ids = [r[0] for r in prepared.fetch(conn, query, values)]
    return ids if len(ids) < FEW_MATCHES else None


def _rows_by_id(conn, ids: list[int], backwards: bool) -> list:
    """The list's rows of the accounts ``ids``, by id (descending: ``backwards``)."""
    if not ids:
        return []

    def build():
        wanted = bindparam("ids", type_=ARRAY(Integer))
        stmt = select(*UserView.columns()).select_from(User).where(User.id == any_(wanted))
        return stmt.order_by(User.id.desc() if backwards else User.id)

    query = prepared.prepare(conn.dialect, ("users.by_id", backwards), build)
    return prepared.fetch(conn, query, {"ids": ids})


def _read_page(conn, order: str, mode: str, kind: str | None, f: UserFilter, values: dict, n: int,
               q: str = "") -> list:
    if kind is None:
        driver = _driver(conn, f, values)
    else:
        values = dict(values)
        kind, driver = _search_plan(conn, kind, f, values, q)
    if kind in ("trigram", "like_prefix") and conn.dialect.name == "postgresql" and f != UserFilter():
        rows = _window_page(conn, order, mode, kind, f, values, n)
        if rows is not None:
            return rows
        ids = _few_ids(conn, mode, kind, f, values)
        if ids is not None:
            backwards = mode in ("before", "end")
            return _rows_by_id(conn, sorted(ids, reverse=backwards)[:n], backwards)
    where = _key_where(conn.dialect.name, driver)
    if kind in ("key_like", "key_like_prefix"):
        # PostgreSQL tests a plain index scan's filter on the table's row, so a page whose matches are sparse in
        # the state (expired and external: none of 80,000) read a row for each entry (0.17 s); its ids come from
        # the index alone (an index-only scan, the filter on the index's entry), then their rows, in one
        # statement (one snapshot: an account deleted in between cannot shorten the page).
        backwards = mode in ("before", "end")

        def build():
            ids = _page_statement(order, mode, kind, _shape_of(f), n, where, ids_only=True).subquery("page_ids")
            stmt = select(*UserView.columns()).select_from(User).where(User.id.in_(select(ids.c.id)))
            return stmt.order_by(User.id.desc() if backwards else User.id)

        query = prepared.prepare(conn.dialect, ("users.page_by_ids", order, mode, kind, _shape_of(f), n, where),
                                 build)
        return prepared.fetch(conn, query, values)
    shape = ("users.page", order, mode, kind, _shape_of(f), n)
    query = prepared.prepare(conn.dialect, shape + (where,),
                             lambda: _page_statement(order, mode, kind, _shape_of(f), n, where),
                             indexed_by=driver if conn.dialect.name == "sqlite" else None)
    return prepared.fetch(conn, query, values)


#: The ``attention`` order's ranks as filters (views.UserView.attention_rank):
#: each rank is read as a username-ordered filter of its own, so that each is
#: answered by an index (a CASE over the timestamps is not).
RANKS = (
    UserFilter(locked=True),
    UserFilter(expired=True, locked=False),
    UserFilter(blocked=True, expired=False, locked=False),
    UserFilter(never_signed_in=True, blocked=False, expired=False, locked=False),
    UserFilter(never_signed_in=False, blocked=False, expired=False, locked=False),
)


def _with_rank(f: UserFilter, rank: int) -> UserFilter | None:
    """``f`` and rank ``rank``'s conditions, or None where they contradict."""
    extra = RANKS[rank].describe()
    for k, v in extra.items():
        if getattr(f, k) is not None and getattr(f, k) != v:
            return None
    return replace(f, **extra)


def _read_attention(conn, mode: str, kind: str | None, f: UserFilter, values: dict, n: int, q: str) -> list:
    """Up to ``n`` rows in the attention order (rank, then username, or id for
    a search), rank by rank from the cursor's (``k0``), each rank a read of
    its own filter."""
    backwards = mode in ("before", "end")
    ranks = range(len(RANKS) - 1, -1, -1) if backwards else range(len(RANKS))
    if mode in ("after", "before"):
        at = values["k0"]
        ranks = [r for r in ranks if (r <= at if backwards else r >= at)]
    rows: list = []
    for r in ranks:
        fr = _with_rank(f, r)
        if fr is None:
            continue
        within = mode if mode in ("after", "before") and r == values["k0"] else ("end" if backwards else "first")
        vals = {**values, "k0": values.get("k1"), "k1": values.get("k2")} if within in ("after", "before") else values
        rows += _read_page(conn, "username", within, kind, fr, filter_values(fr, values["now"]) | vals,
                           n - len(rows), q)
        if len(rows) >= n:
            break
    return rows


def list_users(
    ctx: ServiceContext,
    actor: Actor,
    *,
    search: str | None = None,
    filter: UserFilter | None = None,
    cursor: str | None = None,
    before: str | None = None,
    from_end: bool = False,
    limit: int = 50,
    order: str = "username",
) -> Page[UserView]:
    """One keyset page of users (never an offset).

    ``search`` is a case-insensitive substring of username, email or display name
    (under three characters: a prefix of one of them; see services/search.py);
    its results come in account-creation order.
    ``order``: ``username`` (case-insensitive), or ``attention``: locked, expired,
    blocked and never-signed-in accounts first, each group by username.
    ``cursor`` continues after a page (its ``next_cursor``); ``before`` gives the
    page that ends just before a page (its ``prev_cursor``); ``from_end`` gives
    the last page."""
    limit = pagination.check_limit(limit)
    if order not in ORDERS:
        raise InvalidInput("order", "choice", f"one of {', '.join(ORDERS)}")
    if sum(map(bool, (cursor, before, from_end))) > 1:
        raise InvalidInput("cursor", "exclusive", "give one of cursor, before and from_end")
    now = ctx.now()
    f = filter or UserFilter()
    values = filter_values(f, now)
    q = search.strip() if search else ""
    kind = None
    if q:
        validation.reason(search, field="search", limit=200)
        kind = search_index.kind_of(ctx.engine.dialect.name, q)
        values.update(search_index.terms(kind, q))
    mode = "after" if cursor else "before" if before else "end" if from_end else "first"
    if cursor or before:
        types = ((int,) if order == "attention" else ()) + ((int,) if kind else (str, int))
        values.update((f"k{i}", v) for i, v in enumerate(pagination.decode(cursor or before, types)))
    with reading_prepared(ctx, actor) as conn:
        kind = _narrow(conn, kind, q, values)
        if order == "attention":
            rows = _read_attention(conn, mode, kind, f, values, limit + 1, q)
        else:
            rows = _read_page(conn, order, mode, kind, f, values, limit + 1, q)
    more = len(rows) > limit
    rows = rows[:limit]
    backwards = mode in ("before", "end")
    if backwards:
        rows.reverse()
    items = [UserView(r, now) for r in rows]
    searching = kind is not None

    def key_of(u: UserView) -> str:
        parts: list = [u.id] if searching else [u.username.lower(), u.id]
        if order == "attention":
            parts.insert(0, u.attention_rank)
        return pagination.encode(*parts)

    if not items:
        return Page(items=[], next_cursor=None, prev_cursor=None)
    return Page(
        items=items,
        next_cursor=key_of(items[-1]) if (more and not backwards) or before else None,
        prev_cursor=key_of(items[0]) if (more and backwards) or cursor else None,
    )


#: Counts beyond this are reported as "at least", never scanned to the end.
COUNT_CAP = 10_000
#: A search's matches are counted up to this ("1,000+" beyond): a search that
#: matches more asks for more letters, not for its exact count. On PostgreSQL
#: each match counted is tested on its row of the table (pg_trgm's index can
#: only say which rows may hold the search): ten thousand took 20-30 ms at 1M,
#: a thousand 3-5 ms. The same on every backend and store, so a search shows
#: the same count wherever the accounts are.
SEARCH_COUNT_CAP = 1_000
TOTAL_TTL = 60.0


def _count_statement(kind: str | None, shape: UserFilter, where: str | None = None, cap: int | None = None):
    """Counts up to ``cap`` + 1 (None: COUNT_CAP)."""
    cap = COUNT_CAP if cap is None else cap
    stmt = _filtered(select(literal_column("1")).select_from(User), shape, None)
    if where is not None:  # a key index's condition (_page_statement)
        stmt = stmt.where(text(where))
    if kind == "like_prefix" and shape == UserFilter():  # PostgreSQL: each prefix index alone, capped; their union
        return search_index.prefix_count(stmt, cap + 1)
    if kind is not None:
        stmt, _ = search_index.apply(stmt, kind)
    return select(func.count()).select_from(stmt.limit(literal_column(str(cap + 1))).subquery())


#: PostgreSQL: from this many accounts on, the unfiltered total is the
#: planner's estimate (labelled "~"), not a count.
ESTIMATE_FROM = 100_000


def _estimated_total(s) -> int | None:
    """PostgreSQL: the table's row estimate (``pg_class.reltuples``, kept by
    autovacuum and ANALYZE), where it says ESTIMATE_FROM or more; None
    elsewhere, or below that, or before the table was first analysed. A
    ``count(*)`` there visits every row (150 ms at a million); SQLite counts
    from the one-byte ``ix_users_count`` in a few ms, exactly."""
    if s.get_bind().dialect.name != "postgresql":
        return None
    n = s.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'users'::regclass")).scalar()
    return int(n) if n is not None and n >= ESTIMATE_FROM else None


def count_users(
    ctx: ServiceContext, actor: Actor, *, search: str | None = None, filter: UserFilter | None = None
) -> Count:
    """How many users match, without scanning a million rows on each keystroke:
    filters are counted up to COUNT_CAP ("10,000+" beyond), searches up to
    SEARCH_COUNT_CAP ("1,000+"; a plain search from the full-text index
    alone); the unfiltered total is cached (labelled "~")."""
    f = filter or UserFilter()
    now = ctx.now()
    searching = bool(search and search.strip())
    if not searching and f == UserFilter():
        with reading(ctx, actor) as s:
            cached = ctx.cache_get("users.total", TOTAL_TTL)
            if cached is None:
                estimate = _estimated_total(s)
                if estimate is not None:
                    return Count(estimate, exact=False)
                cached = s.exec(select(func.count()).select_from(User)).one()
                ctx.cache_put("users.total", cached)
                return Count(cached)
            return Count(cached, exact=False)
    if searching:
        validation.reason(search, field="search", limit=200)
    dialect = ctx.engine.dialect.name
    values = filter_values(f, now)
    kind = None
    if searching:
        q = search.strip()
        kind = search_index.kind_of(dialect, q)
        values.update(search_index.terms(kind, q))
    cap = SEARCH_COUNT_CAP if searching else COUNT_CAP
    with reading_prepared(ctx, actor) as conn:
        kind = _narrow(conn, kind, q, values) if searching else kind
        if kind == "fts" and f == UserFilter():  # the index alone, no table lookups
            n = _found(conn, values, cap)
        elif kind == "prefix" and f == UserFilter():  # SQLite: the lower() indexes alone (the count _search_plan
            n = _starting(conn, values, cap)  # would read first, to choose how, and then again)
        else:
            if kind is None:
                driver = _driver(conn, f, values, counting=True)
            else:
                kind, driver = _search_plan(conn, kind, f, values, q, counting=True)
            where = _key_where(conn.dialect.name, driver)
            query = prepared.prepare(conn.dialect, ("users.count", kind, _shape_of(f), where, cap),
                                     lambda: _count_statement(kind, _shape_of(f), where, cap),
                                     indexed_by=driver if conn.dialect.name == "sqlite" else None)
            n = prepared.fetch(conn, query, values, one=True)[0]
    return Count(cap, at_least=True) if n > cap else Count(n)


#: The roles that sign in to the console (everyone else is an account it manages).


def list_operators(ctx: ServiceContext, actor: Actor) -> list[UserView]:
    """The desk's operators, by name (a short list: the people who run the
    console). On a foreign store these are the desk's only accounts."""
    with reading(ctx, actor) as s:
        now = ctx.now()
        rows = s.exec(select(User).where(User.role.in_(OPERATOR_ROLES)).order_by(func.lower(User.username))).all()
        return [UserView.of(u, now) for u in rows]
