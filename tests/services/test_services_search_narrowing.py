"""A search made only of common trigrams is read from its candidates: the
accounts holding two of its trigrams that a sample of the accounts never
shows together (services/search.py ``narrowing``), each tested for the whole
search. It finds what the search as it is finds, page by page, with filters
and in the attention order, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import text as sql

from console.services import listing, prepared
from console.services import search as search_index
from console.services.listing import UserFilter as F

COM, ORG = "mail.example.com", "example.org"


def text(username, email, name=""):
    return search_index.sample_text(username, email, name)


# -- the plan, from a sample ------------------------------------------------------------------


def sample(n=100):
    """Half the addresses at mail.example.com, half at example.org."""
    return [text(f"p{i}", f"p{i}@{COM if i % 2 else ORG}", f"Person {i}") for i in range(n)]


def test_a_search_of_common_trigrams_with_no_match_is_narrowed_to_two_never_found_together():
    smp = sample()
    pair = search_index.narrowing("mail.example.org", smp)
    assert pair is not None
    a, b = pair
    assert {a, b} <= set(search_index.trigrams("mail.example.org"))
    assert not any(a in t and b in t for t in smp)
    assert all(sum(g in t for t in smp) == 50 for g in pair)  # the rarer ones: not "exa", which every address holds
    assert search_index.narrowing("MAIL.Example.ORG", smp) == pair  # folded


def test_on_postgresql_only_trigrams_of_word_characters_are_chosen():
    """pg_trgm splits text into words at anything but letters and digits: a
    trigram with a dot in it is not in its index."""
    assert search_index.trigrams("il.exa", "trigram") == ["exa"]
    assert search_index.trigrams("il.exa") == ["il.", "l.e", ".ex", "exa"]
    smp = sample()
    pair = search_index.narrowing("mail.example.org", smp, "trigram")
    assert pair is not None and all(g.isalnum() for g in pair)
    assert not any(pair[0] in t and pair[1] in t for t in smp)
    assert search_index.narrowing("l.example.or", smp, "trigram") is None  # "exa"… are in every account


def keller_sample():
    """One account a Keller, one in ten a Walker at corp.net, every other address at example.org."""
    return [text("keller0" if i == 0 else f"walker{i}" if i % 10 == 5 else f"p{i}",
                 f"x{i}@{'corp.net' if i % 10 == 5 else ORG}", f"Person {i}") for i in range(100)]


def test_on_postgresql_a_search_with_a_common_word_is_read_by_its_other_words():
    """pg_trgm reads the list of each trigram of a pattern, and a common
    word's lists hold most of the accounts: a search that matches no account
    of the sample is read by its other words."""
    smp = keller_sample()
    assert search_index.focus("keller.example", smp) == "%keller%"
    assert search_index.focus("KELLER.Example.org", smp) == "%keller%"  # "org" is common too
    assert search_index.focus("keller.example.nova", smp) == "%keller%nova%"  # in the search's order
    assert search_index.focus("keller.exa", smp) == "%keller%"


@pytest.mark.parametrize("q, why", [
    ("x10@example.org", "it matches an account of the sample"),
    ("keller.nova", "no word of it is common: the index's lists are short as they are"),
    ("walker.example", "'example' narrows the index's answer: no Walker of the sample holds it"),
    ("person.example", "every word is common (narrowing's case)"),
    ("zz.example", "'zz' has no trigram in the index: the search is its common word"),
    ("keller", "one word"),
])
def test_a_search_is_read_as_it_is_where_no_word_is_common_or_all_are(q, why):
    assert search_index.focus(q, keller_sample()) is None, why


def test_a_small_sample_focuses_nothing():
    assert search_index.focus("keller.example", keller_sample()[:search_index.SAMPLE_MIN - 1]) is None


@pytest.mark.parametrize("q, smp, why", [
    ("example.org", sample(), "it matches accounts of the sample: its first page and capped count come early"),
    ("zz.example.org", sample(), "'zz.' is rare: the index's answer is short as it is"),
    ("mail", sample(), "two trigrams: the search is a pair already"),
    ("abcdab", [text(f"abcd{i}", None, "dab cda") for i in range(100)], "each pair of its trigrams is found together"),
])
def test_a_search_is_left_as_it_is_where_narrowing_would_not_pay(q, smp, why):
    assert search_index.narrowing(q, smp) is None, why


def test_a_small_sample_plans_nothing():
    assert search_index.narrowing("mail.example.org", sample(search_index.SAMPLE_MIN - 1)) is None


def test_the_sample_is_runs_of_ids_spread_from_the_first_to_the_last():
    runs, run = search_index.SAMPLE_RUNS, search_index.SAMPLE_RUN
    assert search_index.sample_ranges(5, 5 + runs * run - 1) == [(5, 5 + runs * run - 1)]
    ranges = search_index.sample_ranges(1, 1_000_000)
    assert len(ranges) == runs and all(hi - lo + 1 == run for lo, hi in ranges)
    assert ranges[0][0] == 1 and ranges[-1][1] == 1_000_000
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))


# -- the services, on both databases -------------------------------------------------------------


@pytest.fixture
def small_sample(monkeypatch):
    """The sample is two runs of 16 ids, at the two ends of the accounts."""
    monkeypatch.setattr(search_index, "SAMPLE_RUNS", 2)
    monkeypatch.setattr(search_index, "SAMPLE_RUN", 16)
    monkeypatch.setattr(search_index, "SAMPLE_MIN", 16)


@pytest.fixture
def people(ctx, make_user, small_sample):
    """60 accounts at mail.example.com and example.org, and in the middle (where
    a sample of two runs of 16 ids at the ends does not look) three that hold
    ``mail.example.org``: in an address, a display name in capitals, and a
    username, and one that holds each of its trigrams but not in one field;
    then 20 more."""
    for i in range(40):
        make_user(f"p{i:02d}", email=f"p{i:02d}@{COM if i % 2 else ORG}", display_name=f"Person {i}", source="okta")
    make_user("kai", email="kai@mail.example.org", display_name="Kai", source="okta")
    make_user("team", email=f"team@{ORG}", display_name="MAIL.EXAMPLE.ORG Team", source="okta", role="viewer")
    make_user("mail.example.org", email=f"m@{COM}", display_name="M", source="okta")
    make_user("decoy", email=f"decoy@{COM}", display_name="Example.org Fan", source="okta")
    for i in range(40, 60):
        make_user(f"p{i:02d}", email=f"p{i:02d}@{COM if i % 2 else ORG}", display_name=f"Person {i}", source="okta")
    with ctx.engine.begin() as conn:  # one match blocked, for the blocked filter
        conn.execute(sql("UPDATE users SET blocked = :b WHERE username = 'kai'"), {"b": True})


@pytest.fixture
def kinds(monkeypatch):
    """The kind each search was read as (after _narrow)."""
    seen: list[str | None] = []
    real = listing._narrow

    def spy(conn, kind, q, values):
        out = real(conn, kind, q, values)
        seen.append(out)
        return out

    monkeypatch.setattr(listing, "_narrow", spy)
    return seen


def everything(ctx, actor, q, f=None, order="username"):
    """Every page forward (two rows each), the last page, the page before it, and the count."""
    pages, cursor = [], None
    while True:
        page = listing.list_users(ctx, actor, search=q, filter=f, cursor=cursor, limit=2, order=order)
        pages.append([u.username for u in page.items])
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    last = listing.list_users(ctx, actor, search=q, filter=f, from_end=True, limit=2, order=order)
    before = (listing.list_users(ctx, actor, search=q, filter=f, before=last.prev_cursor, limit=2, order=order)
              if last.prev_cursor else None)
    count = listing.count_users(ctx, actor, search=q, filter=f)
    return pages, [u.username for u in last.items], before and [u.username for u in before.items], \
        (count.value, count.at_least)


#: (search, filter, order, narrowed on PostgreSQL too: its trigrams of word characters are enough, or read by its
#: words that are not common: search.focus).
CASES = [
    ("mail.example.org", None, "username", True),
    ("l.example.org", None, "username", False),  # pg_trgm: "exa"… with "org", found together
    ("mail.example.org", F(role="viewer"), "username", True),
    ("mail.example.org", F(external=True, role="member"), "username", True),
    ("mail.example.org", F(blocked=True), "username", True),
    ("mail.example.org", None, "attention", True),
    ("ail.example.or", None, "username", True),  # pg_trgm: by "ail", which "example" does not narrow (search.focus)
    ("@example.com", None, "username", True),  # pg_trgm: by "com", which "example" does not narrow (search.focus)
]


def test_a_narrowed_search_finds_what_the_search_as_it_is_finds(ctx, admin, people, kinds, monkeypatch):
    sqlite = ctx.engine.dialect.name == "sqlite"
    found = {}
    for q, f, order, everywhere in CASES:
        kinds.clear()
        found[q, f, order] = everything(ctx, admin, q, f, order)
        narrowed = sqlite or everywhere
        assert kinds and all(k is not None and k.endswith("_ids") == narrowed for k in kinds), (q, f, order, kinds)
    assert found["mail.example.org", None, "username"] == ([["kai", "team"], ["mail.example.org"]],
                                                           ["team", "mail.example.org"], ["kai"], (3, False))
    assert found["mail.example.org", F(role="viewer"), "username"][0] == [["team"]]
    assert found["mail.example.org", F(blocked=True), "username"][0] == [["kai"]]
    assert found["@example.com", None, "username"] == ([[]], [], None, (0, False))

    monkeypatch.setattr(search_index, "narrowing", lambda q, sample, kind="fts": None)
    monkeypatch.setattr(search_index, "focus", lambda q, sample: None)
    for q, f, order, _ in CASES:
        kinds.clear()
        assert everything(ctx, admin, q, f, order) == found[q, f, order], (q, f, order)
        assert kinds and all(k is not None and not k.endswith("_ids") for k in kinds)


def test_a_search_with_matches_in_the_sample_is_not_narrowed(ctx, admin, people, kinds):
    assert listing.count_users(ctx, admin, search="example.org").value == 34
    assert kinds == ["fts" if ctx.engine.dialect.name == "sqlite" else "trigram"]


def test_too_many_candidates_give_way_to_the_search_as_it_is(ctx, admin, people, kinds, monkeypatch):
    monkeypatch.setattr(search_index, "NARROW_CAP", 3)  # four candidates hold both trigrams (with the decoy)
    monkeypatch.setattr(prepared, "_cache", type(prepared._cache)())  # the cap is a literal of the statement
    page = listing.list_users(ctx, admin, search="mail.example.org", limit=10)
    assert [u.username for u in page.items] == ["kai", "team", "mail.example.org"]
    assert kinds == ["fts" if ctx.engine.dialect.name == "sqlite" else "trigram"]


@pytest.fixture
def kellers(ctx, make_user, small_sample):
    """60 accounts at mail.example.com and example.org, and in the middle
    (where a sample of two runs of 16 ids at the ends does not look) five
    Kellers (``keller1@example.org``) and two that hold ``keller.example``:
    an address, and a display name in capitals."""

    def crowd(numbers, name="p"):
        for i in numbers:
            make_user(f"{name}{i:02d}", email=f"{name}{i:02d}@{COM if i % 2 else ORG}", display_name=f"Person {i}",
                      source="okta")

    crowd(range(40))
    crowd(range(5), name="keller")
    make_user("kim", email="kim@keller.example.net", display_name="Kim", source="okta")
    make_user("fan", email=f"fan@{ORG}", display_name="KELLER.EXAMPLE Fan", source="okta", role="viewer")
    crowd(range(40, 60))


FOCUSED = [
    ("keller.example", None, "username"),
    ("keller.example", F(role="viewer"), "username"),
    ("keller.example", None, "attention"),
    ("KELLER.EXAMPLE.NET", None, "username"),
    ("keller.example.org", None, "username"),
]


def test_a_search_read_by_its_rarer_words_finds_what_the_search_as_it_is_finds(ctx, admin, kellers, kinds,
                                                                            monkeypatch):
    postgresql = ctx.engine.dialect.name == "postgresql"
    found = {}
    for q, f, order in FOCUSED:
        kinds.clear()
        found[q, f, order] = everything(ctx, admin, q, f, order)
        assert kinds and all(k == ("trigram_ids" if postgresql else "fts") for k in kinds), (q, f, order, kinds)
    assert found["keller.example", None, "username"] == ([["kim", "fan"]], ["kim", "fan"], None, (2, False))
    assert found["keller.example", F(role="viewer"), "username"][0] == [["fan"]]
    assert found["KELLER.EXAMPLE.NET", None, "username"][0] == [["kim"]]
    assert found["keller.example.org", None, "username"][0] == [[]]

    monkeypatch.setattr(search_index, "focus", lambda q, sample: None)
    for q, f, order in FOCUSED:
        kinds.clear()
        assert everything(ctx, admin, q, f, order) == found[q, f, order], (q, f, order)
        assert kinds and all(k in ("trigram", "fts") for k in kinds)


@pytest.mark.postgresql_only
def test_a_focus_with_too_many_matches_gives_way_to_the_search_as_it_is(ctx, admin, kellers, kinds, monkeypatch):
    monkeypatch.setattr(search_index, "NARROW_CAP", 1)
    monkeypatch.setattr(prepared, "_cache", type(prepared._cache)())  # the cap is a literal of the statement
    page = listing.list_users(ctx, admin, search="keller.example", limit=10)
    assert [u.username for u in page.items] == ["kim", "fan"]
    assert kinds == ["trigram"]
