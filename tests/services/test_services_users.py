"""console.services.users (create, update, role, block, unblock, unlock,
delete) and console.services.listing (get, list/search/filter/paginate):
success paths and their own rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.services import auth, listing, passwords, sessions, tickets, users
from console.services.context import Actor
from console.services.errors import InvalidInput, ServiceError, UserNotFound
from console.services.listing import UserFilter
from console.services.views import UserView

SYSTEM = Actor.system("test")


def names(page_or_items) -> list[str]:
    items = getattr(page_or_items, "items", page_or_items)
    return [u.username for u in items]


def all_users(ctx, actor, **kw) -> list[str]:
    out, cursor = [], None
    while True:
        page = listing.list_users(ctx, actor, cursor=cursor, limit=500, **kw)
        out += names(page)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


# -- create / get ------------------------------------------------------------------


@pytest.mark.settings(password_expiry_days=760)  # passwords that expire
def test_create_user_generates_a_password_that_signs_in(ctx, admin, clock, audit_events):
    res = users.create_user(ctx, admin, "alice", email="alice@example.com", display_name="Alice Liddell")
    v = res.user
    assert (v.username, v.email, v.display_name, v.role, v.source) == (
        "alice", "alice@example.com", "Alice Liddell", "member", "local")
    assert v.has_password and v.must_change_password  # default: change at first sign-in
    assert v.password_changed_at == clock.now
    assert v.password_expires_at == clock.now + timedelta(days=ctx.settings.password_expiry_days)
    assert v.version == 1 and not v.blocked and v.status == ["must-change"]
    assert res.entropy_bits >= 192
    pw = res.password.reveal()
    policy = ctx.policy
    assert policy.min_length <= len(pw) <= policy.max_length
    assert listing.get_user(ctx, admin, "alice") == v
    assert auth.authenticate(ctx, "alice", pw).status == "must_change"

    ev = audit_events()[-1]
    assert (ev.action, ev.operator, ev.target, ev.outcome) == ("user.create", "admin", "alice", "ok")
    assert ev.details == {"role": "member", "source": "local", "password": "generated"}


def test_create_user_options(ctx, admin):
    r = users.create_user(ctx, admin, "bob", role="viewer", must_change=False)
    assert r.user.role == "viewer" and not r.user.must_change_password
    assert auth.authenticate(ctx, "bob", r.password.reveal()).status == "ok"

    no_pw = users.create_user(ctx, admin, "carol", generate_password=False)
    assert no_pw.password is None and no_pw.entropy_bits is None
    assert not no_pw.user.has_password and no_pw.user.password_expires_at is None

    ext = users.create_user(ctx, admin, "dave", source="okta")
    assert ext.password is None and ext.user.source == "okta" and ext.user.external
    assert not ext.user.has_password
    assert "external:okta" in ext.user.status


def test_create_user_with_expiry_zero_means_never(make_ctx, ctx, system_actor):
    c0 = make_ctx(password_expiry_days=0)
    r = users.create_user(c0, system_actor, "eve", must_change=False)
    assert r.user.password_expires_at is None and not r.user.expired


def test_get_user_is_case_insensitive_and_returns_canonical_name(ctx, viewer, make_user):
    make_user("MixedCase")
    assert listing.get_user(ctx, viewer, "mixedcase").username == "MixedCase"
    assert listing.get_user(ctx, viewer, "MIXEDCASE").username == "MixedCase"


def test_get_user_unknown(ctx, viewer):
    with pytest.raises(UserNotFound) as ei:
        listing.get_user(ctx, viewer, "ghost")
    assert ei.value.code == "USER_NOT_FOUND" and "ghost" in ei.value.message


def test_user_view_never_carries_the_hash(ctx, viewer, make_user):
    made = make_user("hashless").user
    assert made.has_password and not any("hash" in f for f in UserView.FIELDS)
    for v in (made, listing.get_user(ctx, viewer, "hashless"), listing.list_users(ctx, viewer, search="hashless").items[0]):
        assert v.username == "hashless" and v.has_password is True
        assert "$argon2" not in repr(v) and "$argon2" not in repr(v.as_dict())
        assert not any(isinstance(x, str) and "$argon2" in x for x in v._row)  # not even held unshown


# -- list / search / filter / paginate --------------------------------------------------


def test_list_users_is_ordered_case_insensitively(ctx, viewer, make_user):
    for n in ("bravo", "Alpha", "charlie", "ALPHA2"):
        make_user(n)
    got = [n for n in all_users(ctx, viewer) if n != "viewer"]
    assert got == ["Alpha", "ALPHA2", "bravo", "charlie"]


def test_search_matches_username_email_or_display_name_case_insensitively(ctx, viewer, make_user):
    make_user("jdoe", email="john@corp.example.com", display_name="John Doe")
    make_user("msmith", email="mary@home.example.org", display_name="Mary Smith")
    make_user("corpbot", display_name="Robot")
    assert sorted(all_users(ctx, viewer, search="CORP")) == ["corpbot", "jdoe"]
    assert all_users(ctx, viewer, search="smith") == ["msmith"]
    assert all_users(ctx, viewer, search="home.example") == ["msmith"]
    assert all_users(ctx, viewer, search="nobody-matches") == []
    # an empty search is no filter
    assert sorted(all_users(ctx, viewer, search="")) == sorted(["corpbot", "jdoe", "msmith", "viewer"])


def test_search_treats_like_wildcards_literally(ctx, viewer, make_user):
    make_user("a_b")
    make_user("axb")
    make_user("p100", display_name="100% sure")
    make_user("p1000", display_name="1000 sure")
    assert all_users(ctx, viewer, search="a_b") == ["a_b"]
    assert all_users(ctx, viewer, search="0% s") == ["p100"]
    assert all_users(ctx, viewer, search="a_") == ["a_b"]  # short: a prefix, wildcards literal


def test_short_searches_match_prefixes_through_the_indexes(ctx, viewer, make_user):
    """Under three characters there are no trigrams: username, email or display
    name must start with the query."""
    make_user("zed", email="zed@example.com", display_name="Zed Zulu")
    make_user("azure", email="sky@example.com", display_name="Blue Sky")
    assert all_users(ctx, viewer, search="ZE") == ["zed"]
    assert all_users(ctx, viewer, search="sk") == ["azure"]  # email prefix
    assert all_users(ctx, viewer, search="bl") == ["azure"]  # display name prefix
    assert all_users(ctx, viewer, search="zu") == []  # inside "Zed Zulu", not a prefix
    assert all_users(ctx, viewer, search="zul") == ["zed"]  # three characters: substring


def test_filter_role(ctx, viewer, make_user):
    make_user("m1")
    make_user("h1", role="helpdesk")
    make_user("a1", role="admin")
    assert all_users(ctx, viewer, filter=UserFilter(role="admin")) == ["a1"]
    assert all_users(ctx, viewer, filter=UserFilter(role="helpdesk")) == ["h1"]
    assert all_users(ctx, viewer, filter=UserFilter(role="viewer")) == ["viewer"]
    assert all_users(ctx, viewer, filter=UserFilter(role="member")) == ["m1"]


def test_filter_blocked(ctx, viewer, make_user):
    make_user("ok1")
    make_user("bad1")
    users.block_user(ctx, SYSTEM, "bad1", reason="spam")
    assert all_users(ctx, viewer, filter=UserFilter(blocked=True)) == ["bad1"]
    assert all_users(ctx, viewer, filter=UserFilter(blocked=False)) == ["ok1", "viewer"]


def test_filter_locked_follows_the_clock(ctx, viewer, make_user, clock):
    make_user("calm")
    make_user("locky")
    for _ in range(ctx.settings.user_lockout_failures):
        auth.authenticate(ctx, "locky", "not the password at all")
    assert all_users(ctx, viewer, filter=UserFilter(locked=True)) == ["locky"]
    assert all_users(ctx, viewer, filter=UserFilter(locked=False)) == ["calm", "viewer"]
    clock.advance(minutes=ctx.settings.user_lockout_minutes, seconds=1)
    assert all_users(ctx, viewer, filter=UserFilter(locked=True)) == []
    assert "locky" in all_users(ctx, viewer, filter=UserFilter(locked=False))


@pytest.mark.settings(password_expiry_days=760)  # passwords that expire
def test_filter_expired_follows_the_clock(make_ctx, ctx, viewer, make_user, clock, system_actor):
    make_user("fresh")
    make_user("stale")
    never_expires = make_ctx(password_expiry_days=0)
    users.create_user(never_expires, system_actor, "forever", must_change=False)
    passwords.expire_now(ctx, SYSTEM, "stale")
    assert all_users(ctx, viewer, filter=UserFilter(expired=True)) == ["stale"]
    assert all_users(ctx, viewer, filter=UserFilter(expired=False)) == ["forever", "fresh", "viewer"]
    clock.advance(days=ctx.settings.password_expiry_days, seconds=1)
    assert all_users(ctx, viewer, filter=UserFilter(expired=True)) == ["fresh", "stale", "viewer"]
    assert all_users(ctx, viewer, filter=UserFilter(expired=False)) == ["forever"]


def test_filter_must_change(ctx, viewer, make_user):
    make_user("mc", must_change=True)
    make_user("free")
    assert all_users(ctx, viewer, filter=UserFilter(must_change=True)) == ["mc"]
    assert all_users(ctx, viewer, filter=UserFilter(must_change=False)) == ["free", "viewer"]


def test_filter_external(ctx, viewer, make_user):
    make_user("ext1", source="okta")
    make_user("ext2", source="azure-ad")
    make_user("loc1")
    assert all_users(ctx, viewer, filter=UserFilter(external=True)) == ["ext1", "ext2"]
    assert all_users(ctx, viewer, filter=UserFilter(external=False)) == ["loc1", "viewer"]


def test_filters_and_search_combine(ctx, viewer, make_user):
    make_user("sales-ab", role="helpdesk")
    make_user("sales-b")
    make_user("dev-ab", role="helpdesk")
    users.block_user(ctx, SYSTEM, "sales-b", reason="left")
    assert all_users(ctx, viewer, search="sales", filter=UserFilter(role="helpdesk")) == ["sales-ab"]
    assert all_users(ctx, viewer, search="sales", filter=UserFilter(blocked=True)) == ["sales-b"]
    # Search results come in creation order (the index's order).
    assert all_users(ctx, viewer, search="-ab", filter=UserFilter(role="helpdesk", blocked=False)) == [
        "sales-ab", "dev-ab"]


def test_keyset_pagination_visits_every_user_once(ctx, viewer, make_user):
    created = [make_user(f"{'U' if i % 2 else 'u'}ser{i:02d}").user.username for i in range(23)]
    expected = sorted(created + ["viewer"], key=str.lower)
    seen, cursor, pages = [], None, 0
    while True:
        page = listing.list_users(ctx, viewer, cursor=cursor, limit=5)
        pages += 1
        assert len(page.items) <= 5
        seen += names(page)
        if page.next_cursor is None:
            break
        assert len(page.items) == 5
        cursor = page.next_cursor
    assert pages == 5
    assert seen == expected  # same order, no duplicates, no gaps
    assert len(set(seen)) == len(seen)


def test_keyset_pagination_exact_multiple_has_no_empty_last_page(ctx, viewer, make_user):
    for i in range(9):
        make_user(f"p{i}")  # + viewer = 10
    p1 = listing.list_users(ctx, viewer, limit=5)
    p2 = listing.list_users(ctx, viewer, limit=5, cursor=p1.next_cursor)
    assert len(p1.items) == len(p2.items) == 5 and p2.next_cursor is None


def test_keyset_pagination_is_stable_under_inserts(ctx, viewer, make_user):
    for n in ("b", "d", "f", "h"):
        make_user(n)
    p1 = listing.list_users(ctx, viewer, limit=2)
    assert names(p1) == ["b", "d"]
    make_user("a")  # sorts before the cursor: must not shift the next page
    make_user("e")  # sorts after: must appear
    p2 = listing.list_users(ctx, viewer, limit=2, cursor=p1.next_cursor)
    assert names(p2) == ["e", "f"]


def test_pagination_with_filter(ctx, viewer, make_user):
    for i in range(7):
        make_user(f"x{i}", role="helpdesk")
        make_user(f"y{i}")
    seen, cursor = [], None
    while True:
        page = listing.list_users(ctx, viewer, filter=UserFilter(role="helpdesk"), cursor=cursor, limit=3)
        seen += names(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [f"x{i}" for i in range(7)]


@pytest.mark.parametrize(
    "kw, field, rule",
    [
        (dict(limit=0), "limit", "range"),
        (dict(limit=501), "limit", "range"),
        (dict(cursor="not-a-cursor"), "cursor", "format"),
        (dict(search="\x1b[31m"), "search", "no_control"),
        (dict(search="x" * 10_000), "search", "max_length"),
        (dict(filter=UserFilter(role="root")), "role", "choice"),
    ],
)
def test_list_users_rejects_bad_arguments(ctx, viewer, kw, field, rule):
    with pytest.raises(InvalidInput) as ei:
        listing.list_users(ctx, viewer, **kw)
    assert (ei.value.code, ei.value.field, ei.value.rule) == ("INVALID_INPUT", field, rule)


# -- update / role / block / unblock / unlock / delete -------------------------------------


def test_update_profile(ctx, admin, make_user, clock, audit_events):
    v0 = make_user("frank", email="f@example.com", display_name="Frank").user
    clock.advance(minutes=1)
    v = users.update_profile(ctx, admin, "frank", email="frank@example.org", display_name="  Frank Zappa ",
                             expected_version=v0.version)
    assert (v.email, v.display_name) == ("frank@example.org", "Frank Zappa")
    assert v.version == v0.version + 1 and v.updated_at == clock.now
    assert listing.get_user(ctx, admin, "frank") == v
    assert audit_events()[-1].details == {"changed": ["email", "display_name"]}

    v2 = users.update_profile(ctx, admin, "FRANK", email=None)  # only the email, removed
    assert v2.email is None and v2.display_name == "Frank Zappa"
    assert audit_events()[-1].details == {"changed": ["email"]}


def test_set_role(ctx, admin, make_user, audit_events):
    make_user("gina")
    v = users.set_role(ctx, admin, "gina", "helpdesk", reason="promoted")
    assert v.role == "helpdesk" and listing.get_user(ctx, admin, "gina").role == "helpdesk"
    ev = audit_events()[-1]
    assert (ev.action, ev.reason) == ("user.set_role", "promoted")
    assert ev.details == {"from": "member", "to": "helpdesk", "tickets_revoked": 0, "sessions_revoked": 0,
                          "must_change": "the password was set by test, who has no rights over a helpdesk account"}


def test_demotion_takes_effect_for_a_signed_in_operator(ctx, admin, make_operator, make_user):
    hd = make_operator("helpdesk", "hd2").actor
    make_user("target")
    users.set_role(ctx, admin, "hd2", "member")
    with pytest.raises(ServiceError) as ei:
        users.block_user(ctx, hd, "target", reason="x", identity_check="y")
    assert ei.value.code == "PERMISSION_DENIED" and "members" in ei.value.message


def test_block_revokes_sessions_and_tickets_and_unblock_restores(ctx, admin, make_user, clock, audit_events):
    r = make_user("hank")
    pw = r.password.reveal()
    s1 = sessions.open_session(ctx, "hank", client="web")
    tickets.issue_ticket(ctx, admin, "hank")
    v = users.block_user(ctx, admin, "hank", reason="  fraud suspected ")
    assert v.blocked and v.blocked_reason == "fraud suspected" and v.blocked_at == clock.now
    assert v.status == ["blocked"]
    ev = audit_events()[-1]
    assert (ev.action, ev.reason, ev.details) == (
        "user.block", "fraud suspected", {"sessions_revoked": 1, "tickets_revoked": 1})
    assert not sessions.check_session(ctx, s1.token.reveal()).valid
    assert tickets.list_tickets(ctx, admin, "hank") == []
    assert auth.authenticate(ctx, "hank", pw).status == "blocked"
    with pytest.raises(ServiceError):  # a blocked user cannot open a session
        sessions.open_session(ctx, "hank")

    v2 = users.unblock_user(ctx, admin, "hank", reason="cleared")
    assert not v2.blocked and v2.blocked_reason is None and v2.blocked_at is None
    assert audit_events()[-1].details == {"was_blocked_for": "fraud suspected"}
    assert auth.authenticate(ctx, "hank", pw).status == "ok"
    assert not sessions.check_session(ctx, s1.token.reveal()).valid  # revoked sessions stay revoked


def test_unlock_clears_lockout_and_failure_count(ctx, admin, make_user, audit_events):
    pw = make_user("ivan").password.reveal()
    auth.authenticate(ctx, "ivan", "wrong-password-1")
    assert listing.get_user(ctx, admin, "ivan").failed_logins == 1
    v = users.unlock_user(ctx, admin, "ivan")
    assert v.failed_logins == 0 and v.locked_until is None
    assert audit_events()[-1].details == {"failed_logins": 1, "was_locked": False}

    for _ in range(ctx.settings.user_lockout_failures):
        auth.authenticate(ctx, "ivan", "wrong-password-2")
    assert listing.get_user(ctx, admin, "ivan").locked
    assert auth.authenticate(ctx, "ivan", pw).status == "locked"
    v = users.unlock_user(ctx, admin, "ivan", reason="called in")
    assert not v.locked and v.locked_until is None
    assert audit_events()[-1].details["was_locked"] is True
    assert auth.authenticate(ctx, "ivan", pw).status == "ok"


def test_delete_user_removes_account_sessions_and_tickets(ctx, admin, make_user, db_rows, audit_events):
    make_user("judy", email="judy@example.com")
    sessions.open_session(ctx, "judy")
    tickets.issue_ticket(ctx, admin, "judy")
    users.delete_user(ctx, admin, "judy", reason="GDPR request")
    with pytest.raises(UserNotFound):
        listing.get_user(ctx, admin, "judy")
    rows = db_rows()
    assert rows["user_sessions"] == [] and rows["reset_tickets"] == []
    ev = audit_events()[-1]
    assert (ev.action, ev.target, ev.outcome, ev.reason) == ("user.delete", "judy", "ok", "GDPR request")
    assert ev.details == {"role": "member", "sessions_revoked": 1}  # no personal data kept
    assert "judy@example.com" not in str(ev)
    # the name is free again
    assert users.create_user(ctx, admin, "Judy").user.username == "Judy"


def test_delete_removes_password_history(ctx, admin, make_user, db_rows):
    make_user("kim")
    passwords.reset_password(ctx, admin, "kim", reason="forgot it")
    assert len(db_rows()["password_history"]) == 1
    users.delete_user(ctx, admin, "kim")
    assert db_rows()["password_history"] == []


def test_deleted_operator_can_no_longer_act(ctx, admin, make_operator, make_user):
    hd = make_operator("helpdesk", "hd3").actor
    make_user("m")
    users.delete_user(ctx, admin, "hd3")
    with pytest.raises(ServiceError) as ei:
        users.unblock_user(ctx, hd, "m", reason="r", identity_check="i")
    assert ei.value.code == "PERMISSION_DENIED"


def test_blocked_operator_can_no_longer_act(ctx, admin, make_operator, make_user):
    other = make_operator("admin", "admin2").actor
    make_user("m")
    users.block_user(ctx, admin, "admin2", reason="compromised")
    with pytest.raises(ServiceError) as ei:
        users.block_user(ctx, other, "m", reason="x")
    assert ei.value.code == "PERMISSION_DENIED"
    assert not listing.get_user(ctx, admin, "m").blocked


# -- no privilege carried across a promotion ---------------------------------------------

STRONG_PW = "violet Harbour lamps 2031 quay"


def test_a_ticket_issued_before_a_promotion_does_not_work_after_it(ctx, admin, helpdesk, make_user):
    from console.services.errors import TicketInvalid

    make_user("mem")
    issued = tickets.issue_ticket(ctx, helpdesk, "mem", reason="phoned", identity_check="called back")
    session = sessions.open_session(ctx, "mem", client="laptop")
    promoted = users.set_role(ctx, admin, "mem", "admin", reason="new sysadmin")
    assert promoted.role == "admin"
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ctx, issued.token.reveal(), STRONG_PW)
    assert not sessions.check_session(ctx, session.token.reveal()).valid


@pytest.mark.parametrize("to_role", ["helpdesk", "admin"])
def test_a_password_chosen_by_helpdesk_must_be_changed_once_the_account_is_above_helpdesk_reach(
        ctx, admin, helpdesk, make_user, to_role):
    make_user("mem")
    passwords.set_password(ctx, helpdesk, "mem", STRONG_PW, must_change=False, reason="phoned",
                           identity_check="called back")
    assert auth.authenticate(ctx, "mem", STRONG_PW).status == "ok"
    users.set_role(ctx, admin, "mem", to_role, reason="promoted")
    assert auth.authenticate(ctx, "mem", STRONG_PW).status == "must_change"
    event = [e for e in listing_events(ctx, admin) if e.action == "user.set_role"][0]
    assert event.details["must_change"].startswith("the password was set by " + helpdesk.username)


def test_a_redeemed_ticket_that_helpdesk_saw_counts_as_set_by_helpdesk(ctx, admin, helpdesk, make_user):
    make_user("mem")
    issued = tickets.issue_ticket(ctx, helpdesk, "mem", reason="phoned", identity_check="called back")
    tickets.redeem_ticket(ctx, issued.token.reveal(), STRONG_PW)  # whoever held the link: helpdesk saw it
    users.set_role(ctx, admin, "mem", "admin", reason="promoted")
    assert auth.authenticate(ctx, "mem", STRONG_PW).status == "must_change"


def test_a_password_an_admin_set_or_the_user_chose_stays_valid_across_a_promotion(ctx, make_ctx, admin, helpdesk,
                                                                                  make_user, tmp_path):
    import email
    import re

    make_user("a1")
    passwords.set_password(ctx, admin, "a1", STRONG_PW, must_change=False, reason="x")
    users.set_role(ctx, admin, "a1", "admin", reason="promoted")
    assert auth.authenticate(ctx, "a1", STRONG_PW).status == "ok"
    # A link mailed to the user's own address: the password is the one the user chose.
    make_user("a2", email="a2@example.com")
    mailing = make_ctx(mail_delivery="outbox", mail_outbox=str(tmp_path / "outbox"))
    tickets.email_ticket(mailing, helpdesk, "a2", reason="phoned", identity_check="called back")
    [eml] = (tmp_path / "outbox").iterdir()
    body = email.message_from_bytes(eml.read_bytes()).get_payload(decode=True).decode()
    tickets.redeem_ticket(ctx, re.search(r"token=([A-Za-z0-9_-]+)", body).group(1), "a2 own secret phrase 42")
    users.set_role(ctx, admin, "a2", "helpdesk", reason="promoted")
    assert auth.authenticate(ctx, "a2", "a2 own secret phrase 42").status == "ok"


def test_a_generated_password_nobody_with_rights_set_must_be_changed_after_a_promotion(ctx, admin, make_user):
    make_user("gen")  # by the integrating application (a system actor): its password was handed to it
    assert not listing.get_user(ctx, admin, "gen").must_change_password
    users.set_role(ctx, admin, "gen", "viewer", reason="promoted")
    assert listing.get_user(ctx, admin, "gen").must_change_password


def test_a_demotion_ends_nothing(ctx, admin, make_user):
    make_user("boss", role="helpdesk")
    session = sessions.open_session(ctx, "boss", client="laptop")
    users.set_role(ctx, admin, "boss", "member", reason="left the team")
    assert sessions.check_session(ctx, session.token.reveal()).valid


def listing_events(ctx, actor):
    from console.services import audit

    return audit.query(ctx, actor, limit=20).items
