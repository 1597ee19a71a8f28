"""Case-insensitive substring search over username, email and display name,
through an index on every backend:

- SQLite, 3+ characters: the FTS5 trigram table ``users_fts`` (see db.py).
- SQLite, 1–2 characters (too short for trigrams): a prefix match, which the
  ``lower(...)`` expression indexes answer as range scans.
- PostgreSQL, 3+ characters (kind ``trigram``): ``LIKE '%q%'`` on one string
  of the three fields (``SEARCH_TEXT``: lower(username), email, display name,
  joined by U+001F, which no search can hold: validation refuses control
  characters, so a match never spans two fields), answered by one pg_trgm GIN
  index on that expression (migration 0008): one bitmap index scan, not a
  BitmapOr of three.
- PostgreSQL, 1–2 characters (kind ``like_prefix``): ``lower(col) LIKE 'q%'``,
  a prefix, as on SQLite, answered by ``text_pattern_ops`` btree indexes on
  ``lower(col)`` (0008), which give a prefix as a range under any collation
  (under a linguistic one the strings that start with "ab" are not all between
  "ab" and "ac", so the plain ``lower()`` indexes cannot). They include the
  column and the id, so a capped count of a prefix is read from them alone
  (``prefix_count``).

Search results are ordered by account id (creation order), paged by id; on
SQLite that order comes straight out of the index, so a page costs the same at
any depth.

A search made only of common trigrams that matches few accounts (an address
that is not there, ``mail.example.org``, where every account's address holds
``example``) is where a trigram index is slowest: it reads the whole list of
every one of its trigrams to find nothing (0.1–0.3 s at 1M). ``narrowing``
picks, from a sample of the accounts, two of its trigrams that are seldom found
together; the accounts holding both (kinds ``fts_ids`` and ``trigram_ids``,
read from the same index) are then each tested for the whole search. On
PostgreSQL a search with a common word beside rarer ones (``keller.example``)
is read, by ``focus``, from the index's answer for the rarer words alone, each
of its rows tested for the whole search.

Internal to the service layer (console/services/__init__.py lists the public API).
"""

from __future__ import annotations

from itertools import groupby

from sqlalchemy import (ARRAY, Column, Integer, MetaData, String, Table, and_, any_, func,
                        literal_column, or_, select, union)

from sqlalchemy.orm import aliased

from console.db import fold
from console.models import User
from console.services import prepared

#: The FTS5 table as SQLAlchemy sees it (created by db.create_schema, not by metadata).
FTS = Table("users_fts", MetaData(), Column("rowid", Integer, primary_key=True), Column("users_fts", String))
TRIGRAM = 3
_COLUMNS = (User.username, User.email, User.display_name)
#: PostgreSQL: what a 3+ character search looks in, as the GIN index
#: ``ix_users_search_trgm`` (migration 0008) is built on; written out (not bound)
#: so that the planner matches it with the index's expression. U+001F (unit
#: separator) between the fields: validation.reason refuses control characters
#: in a search, so ``%q%`` can never match across two fields.
SEPARATOR = r"\x1f"  # as SQL writes it in an E'' string
SEARCH_TEXT_SQL = (f"lower(users.username || E'{SEPARATOR}' || coalesce(users.email, '') || E'{SEPARATOR}' || "
                   "users.display_name)")
#: PostgreSQL: the search key, as the key indexes are built on it (migration 0009): U+001F, then the three fields,
#: each after a U+001F (SQLite: the generated column ``users.search_key``).
KEY_SQL = f"(E'{SEPARATOR}' || {SEARCH_TEXT_SQL})"


#: The sample ``narrowing`` plans from: this many runs of consecutive accounts,
#: spread evenly over the ids, of this many ids each (reads by primary key).
SAMPLE_RUNS = 8
SAMPLE_RUN = 64
#: A sample smaller than this says too little to plan from.
SAMPLE_MIN = 64
#: A trigram found in fewer than this share of the sample is rare: the search
#: as it is reads its short list, fast.
RARE_SHARE = 0.02
#: A narrowing that finds more candidates than this gives way to the search as
#: it is (the sample misled it).
NARROW_CAP = 2000


#: What comes before each field in the search key (0009), and between the
#: fields of a sampled account (``sample_text``): U+001F, as SEPARATOR.
KEY_SEPARATOR = "\x1f"


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _next_prefix(q: str) -> str:
    """The smallest string greater than every string that starts with q."""
    return q[:-1] + chr(ord(q[-1]) + 1)


def kind_of(dialect: str, q: str) -> str:
    """How ``q`` is searched on ``dialect``: ``fts`` or ``prefix`` (SQLite),
    ``trigram`` or ``like_prefix`` (PostgreSQL), ``like`` or ``like_prefix``
    (elsewhere). (SQLite, with a filter, listing.py: ``rows``, the substring
    of ``fts`` tested on each row of a few a filter selects; ``key`` and
    ``key_prefix``, the same tested on the search key a rare state's index
    carries; PostgreSQL, with a filter: ``key_like`` and ``key_like_prefix``,
    the same as LIKE on the key a rare state's index is built on.)"""
    short = len(q) < TRIGRAM
    if dialect == "sqlite":
        return "prefix" if short else "fts"
    if short:
        return "like_prefix"
    return "trigram" if dialect == "postgresql" else "like"


def trigrams(q: str, kind: str = "fts") -> list[str]:
    """The distinct trigrams of a search, folded, in order, that the index of
    a search of ``kind`` holds: SQLite's full-text index every one, pg_trgm
    (``trigram``) only those of three word characters (it splits text into
    words at anything else, so a trigram with a dot in it is not in its index)."""
    q = fold(q)
    grams = dict.fromkeys(q[i:i + 3] for i in range(len(q) - 2))
    return [g for g in grams if kind != "trigram" or g.isalnum()]


def sample_text(username: str, email: str | None, display_name: str) -> str:
    """One account's searchable text as a sample holds it: folded, its fields
    apart (a trigram of the index never spans two fields)."""
    return KEY_SEPARATOR.join(fold(v) for v in (username, email or "", display_name))


def sample_ranges(low: int, high: int) -> list[tuple[int, int]]:
    """The id ranges (first, last) a sample reads between the ids ``low`` and
    ``high``: SAMPLE_RUNS runs of SAMPLE_RUN, spread evenly; all of them when
    there are fewer."""
    span = high - low + 1
    if span <= SAMPLE_RUNS * SAMPLE_RUN:
        return [(low, high)]
    step = (span - SAMPLE_RUN) / (SAMPLE_RUNS - 1)
    return [(low + round(k * step), low + round(k * step) + SAMPLE_RUN - 1) for k in range(SAMPLE_RUNS)]


def narrowable(q: str, kind: str = "fts") -> bool:
    """Could ``q`` be narrowed at all (before a sample is read)? It has three
    trigrams or more: two, and the search is that pair already."""
    return len(trigrams(q, kind)) >= 3


def narrowing(q: str, sample: list[str], kind: str = "fts") -> tuple[str, str] | None:
    """Two trigrams of ``q`` (as the index of ``kind`` holds them: ``trigrams``)
    to find its candidates by, or None to search for ``q`` as it is;
    ``sample``: accounts' ``sample_text``.

    A search is narrowed when the sample says it is slow as it is: it matches
    no account of the sample (one with matches finds its first page and its
    capped count early), and each of its trigrams is common (a rare one makes
    the index's answer short). The two chosen are those found together in the
    fewest accounts of the sample (none, or it is not narrowed), then the
    rarer: "mai" and "org" for ``mail.example.org`` where addresses end in
    ``mail.example.com`` or ``example.org``."""
    if not narrowable(q, kind) or len(sample) < SAMPLE_MIN:
        return None
    grams = trigrams(q, kind)
    needle = fold(q)
    if any(needle in text for text in sample):
        return None
    holding = {g: frozenset(i for i, text in enumerate(sample) if g in text) for g in grams}
    if min(len(ids) for ids in holding.values()) < RARE_SHARE * len(sample):
        return None
    pairs = [(len(holding[a] & holding[b]), len(holding[a]) + len(holding[b]), a, b)
             for i, a in enumerate(grams) for b in grams[i + 1:]]
    together, _, a, b = min(pairs)
    return (a, b) if together == 0 else None


#: PostgreSQL: a word of a search (a run of letters and digits: pg_trgm splits
#: text into words at anything else) each of whose trigrams at least this
#: share of the sample holds is common.
COMMON_SHARE = 0.5


def focus(q: str, sample: list[str]) -> str | None:
    """PostgreSQL (kind ``trigram``): a LIKE pattern of the words of ``q``
    that are not common (COMMON_SHARE), to read the trigram index by, where
    ``q`` has common words too, and matches no account of the sample; None
    to read it as it is. Not where the common words narrow the index's
    answer: the sample's accounts that hold every trigram of the others are
    not rare (RARE_SHARE) and under half of them hold the common words' too
    (``mail`` without ``org`` where every address is at ``mail.example.com``
    or ``example.org``).

    pg_trgm reads the list of every trigram of a pattern, and a common word's
    lists hold most of the accounts. For ``keller.example`` at 1M (every
    address holds ``example``) the index took 30 ms and the rows it gave
    25 ms more; by ``%keller%`` alone the index takes 3.5 ms and gives the
    same rows (pg_trgm cannot tell that the two words are apart in them
    either). Every account that holds ``q`` holds the pattern (its words, in
    the order of ``q``), and each one the index gives is tested for the whole
    of ``q`` (``focused``)."""
    if len(sample) < SAMPLE_MIN or any(fold(q) in text for text in sample):
        return None
    words = ["".join(run) for alnum, run in groupby(q.lower(), str.isalnum) if alnum]
    words = [w for w in words if len(w) >= TRIGRAM]  # a shorter one has no trigram in the index

    grams = {w: trigrams(w, "trigram") for w in words}

    def holding(gs) -> int:
        return sum(all(g in text for g in gs) for text in sample)

    kept = [w for w in words if not all(holding([g]) >= COMMON_SHARE * len(sample) for g in grams[w])]
    if not kept or len(kept) == len(words):
        return None
    others = holding([g for w in kept for g in grams[w]])
    if others >= RARE_SHARE * len(sample) and 2 * holding([g for w in words for g in grams[w]]) < others:
        return None
    return "%" + "%".join(_escape_like(w) for w in kept) + "%"


def _phrase(q: str) -> str:
    return '"' + q.lower().replace('"', '""') + '"'


def narrow_terms(kind: str, pair: tuple[str, str]) -> dict[str, str]:
    """The bind values of ``candidates`` for a search of ``kind`` (``fts`` or
    ``trigram``) narrowed to the trigrams ``pair``."""
    if kind == "fts":
        return {"narrow_match": " AND ".join(_phrase(g) for g in pair)}
    return {"narrow_a": f"%{_escape_like(pair[0])}%", "narrow_b": f"%{_escape_like(pair[1])}%"}


def candidates(kind: str):
    """The ids of the accounts holding both trigrams of a narrowing
    (``narrow_terms``), up to NARROW_CAP + 1, from the search's own index:
    SQLite's full-text index, or PostgreSQL's trigram index (a bitmap of the
    two trigrams' lists)."""
    param = prepared.binder(None)
    cap = literal_column(str(NARROW_CAP + 1))
    if kind == "fts":
        return select(FTS.c.rowid).where(FTS.c.users_fts.op("MATCH")(param("narrow_match", String))).limit(cap)
    text_ = literal_column(SEARCH_TEXT_SQL)
    # A MATERIALIZED CTE, planned for all its rows (a bitmap of the two trigrams' lists) and read up to the cap:
    # with the LIMIT on it, PostgreSQL estimates the two as independent (6% of the accounts), expects the cap
    # within the first rows of the table, and scans all of it for the few there are (1.1 s at 1M, measured).
    found = select(User.id).where(text_.like(param("narrow_a", String), escape="\\"),
                                  text_.like(param("narrow_b", String), escape="\\")).cte("candidates")
    return select(found.prefix_with("MATERIALIZED").c.id).limit(cap)


def focused():
    """PostgreSQL: the ids of the accounts that match a search read by its
    ``focus`` (bind ``narrow_focus``), up to NARROW_CAP + 1: the trigram
    index's answer for the focus, each of its rows tested for the whole
    search (``search_text``) by strpos(), which no index answers, so that the
    planner reads the index for the focus alone (a second LIKE would be read
    from the index too, with the common words' lists)."""
    param = prepared.binder(None)
    text_ = literal_column(SEARCH_TEXT_SQL)
    found = select(User.id).where(text_.like(param("narrow_focus", String), escape="\\"),
                                  func.strpos(text_, param("search_text", String)) > 0).cte("focused")
    # MATERIALIZED, as in candidates: planned for all its rows (a bitmap of the focus's lists), read up to the cap.
    return select(found.prefix_with("MATERIALIZED").c.id).limit(literal_column(str(NARROW_CAP + 1)))


def _escape_glob(text: str) -> str:
    """``text`` as a GLOB pattern that matches it literally (each of ``*?[``
    in brackets of its own; GLOB has no ESCAPE)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def terms(kind: str, q: str) -> dict[str, str]:
    """The bind values of a search of ``kind`` for ``q`` (``fts_ids`` and
    ``trigram_ids``: the test of each candidate; their ids, ``search_ids``,
    come from ``candidates``)."""
    q = q.lower()
    if kind == "fts":
        return {"search_phrase": _phrase(q)}
    if kind in ("rows", "fts_ids"):
        return {"search_text": fold(q)}  # as each row's fields are folded (userdesk_fold)
    if kind in ("prefix", "prefix_ids"):
        return {"search_lo": q, "search_hi": _next_prefix(q)}
    if kind == "key":  # a GLOB pattern, and the needle itself for a key folded again
        return {"search_key": f"*{_escape_glob(fold(q))}*", "search_text": fold(q)}
    if kind == "key_prefix":  # the start of a field: after its separator
        return {"search_key": f"*{KEY_SEPARATOR}{_escape_glob(q)}*"}
    if kind == "key_like":
        return {"search_key_like": f"%{_escape_like(q)}%"}
    if kind == "key_like_prefix":
        return {"search_key_like": f"%{KEY_SEPARATOR}{_escape_like(q)}%"}
    if kind == "like_prefix":
        return {"search_like": f"{_escape_like(q)}%"}  # "like" and "trigram": "%q%", below
    return {"search_like": f"%{_escape_like(q)}%"}


def matches(q: str | None = None):
    """SQLite, 3+ characters: the ids of matching accounts, from the index alone
    (``q`` None: the phrase left a bind parameter, ``search_phrase``)."""
    phrase = prepared.binder(None if q is None else terms("fts", q))("search_phrase", String)
    return select(FTS.c.rowid).where(FTS.c.users_fts.op("MATCH")(phrase))


def apply(stmt, kind: str, values: dict[str, str] | None = None):
    """Restrict ``stmt`` (a select from users) to the accounts matching a
    search of ``kind`` with ``values`` (``terms``; None: bind parameters left
    open for a prepared statement); returns (statement, the id column to order
    and page by)."""
    param = prepared.binder(values)
    if kind == "fts":
        stmt = stmt.join(FTS, FTS.c.rowid == User.id).where(FTS.c.users_fts.op("MATCH")(param("search_phrase", String)))
        return stmt, FTS.c.rowid
    if kind in ("rows", "fts_ids"):  # a case-insensitive substring, as the trigram index matches it
        needle = param("search_text", String)
        if kind == "fts_ids":  # of the candidates only (a JSON array of ids), each read by rowid
            ids = select(literal_column("value")).select_from(func.json_each(param("search_ids", String)))
            stmt = stmt.where(User.id.in_(ids))
        return stmt.where(or_(*(func.instr(func.userdesk_fold(c), needle) > 0 for c in _COLUMNS))), User.id
    # SQLite, the key: GLOB "*needle*" (case-sensitive, as the key is lower-cased; 10–30% quicker than instr()
    # over a state's tens of thousands of entries, measured).
    if kind == "key_prefix":  # SQLite: the start of a field in the search key, ASCII-folded as the lower() indexes
        # that answer a prefix otherwise fold it (SQLite's lower()), so a prefix finds the same by either way
        return stmt.where(literal_column("users.search_key").op("GLOB")(param("search_key", String))), User.id
    if kind == "key":  # SQLite: the generated search key (0009), from a list index that carries it
        key = literal_column("users.search_key")
        # lower() folded ASCII only: a key with other characters (search_ascii 0, 0010: longer in bytes than in
        # characters) is folded again, by the console's Unicode fold, as the full-text index folds it.
        other = literal_column("users.search_ascii") == 0
        return stmt.where(or_(key.op("GLOB")(param("search_key", String)),
                              and_(other, func.instr(func.userdesk_fold(key), param("search_text", String)) > 0))), \
            User.id
    if kind in ("key_like", "key_like_prefix"):  # PostgreSQL: the search key (0009), as a key index is built on it
        return stmt.where(literal_column(KEY_SQL).like(param("search_key_like", String), escape="\\")), User.id
    if kind == "trigram_ids":  # of the candidates only, each tested on its row
        stmt = stmt.where(User.id == any_(param("search_ids", ARRAY(Integer))))
        return stmt.where(literal_column(SEARCH_TEXT_SQL).like(param("search_like", String), escape="\\")), User.id
    if kind == "prefix":
        lo, hi = param("search_lo", String), param("search_hi", String)
        return stmt.where(or_(*(and_(func.lower(c) >= lo, func.lower(c) < hi) for c in _COLUMNS))), User.id
    if kind == "prefix_ids":  # the prefix's ids first (its three indexes), then their rows by id
        lo, hi = param("search_lo", String), param("search_hi", String)
        m = aliased(User, name="m")
        ids = select(m.id).where(or_(*(and_(func.lower(getattr(m, c.key)) >= lo, func.lower(getattr(m, c.key)) < hi)
                                       for c in _COLUMNS)))
        return stmt.where(User.id.in_(ids)), User.id
    like = param("search_like", String)
    if kind == "trigram":
        return stmt.where(literal_column(SEARCH_TEXT_SQL).like(like, escape="\\")), User.id
    return stmt.where(or_(*(func.lower(c).like(like, escape="\\") for c in _COLUMNS))), User.id


def prefix_count(base, cap: int):
    """PostgreSQL, a prefix (``like_prefix``) and no filter: how many accounts
    start with it, counted up to ``cap``: each field's matches up to ``cap``
    from its own prefix index alone (index-only scans, which stop at ``cap``
    entries), then their union. One field with ``cap`` matches is enough to
    say "at least ``cap``"; otherwise the union is exact. (One OR over the
    three fields reads the table for every match it counts: a one-letter
    prefix, a tenth of the accounts, 0.1–0.2 s at 1M.) ``base``: a select from
    users; the bind parameter ``search_like`` is left open."""
    like = prepared.binder(None)("search_like", String)
    # In the prefix index's own order (its operator class sorts by ~<~): read from the index up to cap entries,
    # and, where the visibility map is not set yet (a table just loaded), each entry's row; never a scan of the
    # table until cap rows match, which the planner otherwise prefers there.
    branches = [base.with_only_columns(User.id).where(func.lower(c).like(like, escape="\\"))
                .order_by(literal_column(f"lower(users.{c.key}) USING ~<~")).limit(literal_column(str(cap)))
                for c in _COLUMNS]
    return select(func.count()).select_from(union(*branches).subquery())
