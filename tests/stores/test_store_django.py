"""The Django store against a real Django project (tests/stores/django_project.py):
what userdesk writes, Django itself accepts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from console.models import AuditEvent, PendingChange
from mailserver import certificate, smtp  # noqa: F401  (fixtures)
from console.services import accounts, audit
from console.services.errors import (
    ForeignStore,
    IdentityCheckRequired,
    InvalidInput,
    MailFailed,
    NotSupported,
    PermissionDenied,
    StoreRefused,
    StoreUnavailable,
    UserNotFound,
    WeakPassword,
)
from console.services.context import ServiceContext
from console.services.permissions import Action
from console.config import Settings
from console.security.hashing import Argon2Params


def make_django_user(dj, username, password="an old password 1", *, hasher=None, staff=False, superuser=False,
                     active=True, email="", first="", last="", login_at=None):
    from django.contrib.auth.hashers import make_password

    u = dj.User(username=username, email=email, first_name=first, last_name=last, is_staff=staff,
                is_superuser=superuser, is_active=active, password=make_password(password, hasher=hasher or "default"))
    if login_at is not None:
        u.last_login = login_at
    u.save()
    return u


def events(ctx: ServiceContext) -> list[AuditEvent]:
    with ctx.read_session() as s:
        return list(s.exec(select(AuditEvent).order_by(AuditEvent.seq)))


# -- reading ---------------------------------------------------------------------


def test_lists_searches_and_pages_auth_user_in_username_order(dj, dctx, desk_operator):
    viewer = desk_operator("viewer")
    for i in range(7):
        make_django_user(dj, f"user{i}", email=f"u{i}@example.org", first="Ann" if i == 3 else "Bo", last="Lee")
    first = accounts.list_accounts(dctx, viewer, limit=3)
    assert [a.username for a in first.items] == ["user0", "user1", "user2"]
    second = accounts.list_accounts(dctx, viewer, cursor=first.next_cursor, limit=3)
    assert [a.username for a in second.items] == ["user3", "user4", "user5"]
    back = accounts.list_accounts(dctx, viewer, before=second.prev_cursor, limit=3)
    assert [a.username for a in back.items] == ["user0", "user1", "user2"]
    last = accounts.list_accounts(dctx, viewer, from_end=True, limit=3)
    assert [a.username for a in last.items] == ["user4", "user5", "user6"]
    # Substring, case-insensitive, over username, email, first and last name.
    assert [a.username for a in accounts.list_accounts(dctx, viewer, search="aNN").items] == ["user3"]
    assert [a.username for a in accounts.list_accounts(dctx, viewer, search="u5@ex").items] == ["user5"]
    assert [a.username for a in accounts.list_accounts(dctx, viewer, search="ser4").items] == ["user4"]
    assert accounts.list_accounts(dctx, viewer, search="100%").items == []
    assert accounts.count_accounts(dctx, viewer).value == 7
    assert accounts.count_accounts(dctx, viewer, search="lee").label() == "7"


def test_a_search_is_counted_to_the_search_cap_and_the_list_to_the_list_cap(dj, dctx, desk_operator, monkeypatch):
    """As the native store's counts: a search to SEARCH_COUNT_CAP ("1,000+"),
    the whole list to COUNT_CAP."""
    from console.services import listing

    viewer = desk_operator("viewer")
    for i in range(7):
        make_django_user(dj, f"user{i}", email=f"u{i}@example.org", last="Lee")
    monkeypatch.setattr(listing, "SEARCH_COUNT_CAP", 5)
    monkeypatch.setattr(listing, "COUNT_CAP", 6)
    assert accounts.count_accounts(dctx, viewer, search="lee").label() == "5+"
    assert accounts.count_accounts(dctx, viewer, search="user3").label() == "1"
    assert accounts.count_accounts(dctx, viewer).label() == "6+"


def test_detail_shows_django_fields_and_the_hash_algorithm_and_flags_weak_ones(dj, dctx, desk_operator):
    viewer = desk_operator("viewer")
    from django.contrib.auth.models import Group
    from django.utils import timezone

    now = timezone.now()
    make_django_user(dj, "current", login_at=now)  # sets the project's current hasher: fast pbkdf2
    old = make_django_user(dj, "legacy", hasher="md5", email="l@example.org", first="Lea", last="Gacy",
                           staff=True, login_at=now - timedelta(days=3))
    old.groups.add(Group.objects.create(name="editors"))
    nopw = make_django_user(dj, "nopass")
    nopw.set_unusable_password()
    nopw.save()

    acc = accounts.get_account(dctx, viewer, "legacy")
    d = dict(acc.details)
    assert acc.kind == "staff" and acc.role == "admin" and acc.display_name == "Lea Gacy"
    assert d["active"] == "yes" and d["staff"] == "yes" and d["superuser"] == "no" and d["groups"] == "editors"
    assert d["password hash"] == "md5" and d["sessions"] == "0"
    assert any("weaker than the project's current pbkdf2_sha256" in f for f in acc.flags)
    cur = dict(accounts.get_account(dctx, viewer, "current").details)
    assert cur["password hash"] == "pbkdf2_sha256" and cur["work factor"] == "2,000 iterations"
    assert accounts.get_account(dctx, viewer, "current").flags == ()
    flags = accounts.get_account(dctx, viewer, "nopass").flags
    assert flags and "unusable password" in flags[0]
    # Fields Django has no place for are absent, not blank.
    assert not {"expires", "must change", "locked"} & set(d)
    with pytest.raises(UserNotFound):
        accounts.get_account(dctx, viewer, "nobody")


# -- reset and set ------------------------------------------------------------------


@pytest.mark.parametrize("hasher", ["pbkdf2_sha256", "argon2", "bcrypt_sha256", "scrypt"])
def test_reset_writes_the_projects_current_hasher_and_django_authenticates_it(dj, dctx, desk_operator, hasher):
    from django.utils import timezone

    admin = desk_operator("admin")
    make_django_user(dj, "leader", hasher=hasher, login_at=timezone.now())  # the newest sign-in: current hasher
    make_django_user(dj, "bob", "bob's old password")
    result = accounts.reset_password(dctx, admin, "bob", reason="forgot it")
    new = result.password.reveal()
    assert result.written_as.startswith(hasher)
    stored = dj.User.objects.get(username="bob").password
    assert stored.startswith(hasher + "$")
    # (Django then rehashes it to its first PASSWORD_HASHERS entry, as it does
    # at every sign-in with another hasher.)
    assert dj.authenticate("bob", new) is not None
    assert dj.authenticate("bob", "bob's old password") is None
    # Nothing secret in the desk's audit rows.
    for ev in events(dctx):
        for value in (ev.details, ev.reason or "", ev.target or ""):
            assert new not in value and stored not in value


def test_set_password_follows_the_policy_and_django_accepts_it(dj, dctx, desk_operator):
    admin = desk_operator("admin")
    make_django_user(dj, "carol", email="carol@example.org")
    with pytest.raises(WeakPassword) as ei:
        accounts.set_password(dctx, admin, "carol", "12345678901", reason="asked")
    assert "not_numeric" in ei.value.message
    assert dj.authenticate("carol", "an old password 1") is not None  # nothing changed
    accounts.set_password(dctx, admin, "carol", "kettle blue harbour", reason="asked")
    assert dj.authenticate("carol", "kettle blue harbour") is not None


def test_a_reset_ends_the_users_django_sessions(dj, dctx, desk_operator):
    admin = desk_operator("admin")
    make_django_user(dj, "dave", "dave's password 1")
    c = dj.client()
    assert c.login(username="dave", password="dave's password 1")
    assert c.get("/whoami/").content == b"dave"
    assert dict(accounts.get_account(dctx, admin, "dave").details)["sessions"] == "1"
    result = accounts.reset_password(dctx, admin, "dave", reason="compromised")
    assert result.sessions_revoked == 1
    r = c.get("/whoami/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


# -- block, sessions ---------------------------------------------------------------


def test_block_deactivates_and_ends_sessions_unblock_restores(dj, dctx, desk_operator):
    admin = desk_operator("admin")
    make_django_user(dj, "erin", "erin's password 1")
    c = dj.client()
    assert c.login(username="erin", password="erin's password 1")
    acc = accounts.block(dctx, admin, "erin", reason="left the company")
    assert acc.blocked and dict(acc.details)["active"].startswith("no")
    assert c.get("/whoami/").status_code == 302
    assert dj.authenticate("erin", "erin's password 1") is None
    accounts.unblock(dctx, admin, "erin", reason="back")
    assert dj.authenticate("erin", "erin's password 1") is not None


def test_revoke_sessions_ends_only_that_users_sessions(dj, dctx, desk_operator):
    admin = desk_operator("admin")
    make_django_user(dj, "fay", "fay's password 1")
    make_django_user(dj, "gus", "gus's password 1")
    fay, gus = dj.client(), dj.client()
    assert fay.login(username="fay", password="fay's password 1")
    assert gus.login(username="gus", password="gus's password 1")
    assert accounts.revoke_sessions(dctx, admin, "fay", reason="lost laptop") == 1
    assert fay.get("/whoami/").status_code == 302
    assert gus.get("/whoami/").content == b"gus"


# -- reset link ---------------------------------------------------------------------


def test_a_reset_link_is_accepted_by_djangos_reset_view_exactly_once(dj, dctx, desk_operator):
    admin = desk_operator("admin")
    make_django_user(dj, "hana", email="hana@example.org")
    issued = accounts.issue_reset_link(dctx, admin, "hana", reason="asked by phone")
    link = issued.link.reveal()
    assert "PASSWORD_RESET_TIMEOUT" in issued.note and "stay valid" in issued.note
    path = link.removeprefix("http://testserver")
    c = dj.client()
    r = c.get(path)
    assert r.status_code == 302 and r["Location"].endswith("/set-password/")
    form = c.get(r["Location"])
    assert form.context["validlink"] is True
    done = c.post(r["Location"], {"new_password1": "hana's new kettle", "new_password2": "hana's new kettle"})
    assert done.status_code == 302 and done["Location"].endswith("/reset/done/")
    assert dj.authenticate("hana", "hana's new kettle") is not None
    again = dj.client().get(path)
    assert again.status_code == 200 and again.context["validlink"] is False
    assert link not in str([e.details for e in events(dctx)])


def test_an_emailed_reset_link_arrives_and_djangos_reset_view_accepts_it_once(dj, dj_settings, clock, smtp,
                                                                             desk_operator, dctx):
    import re

    inbox, overrides = smtp("none")
    mctx = ServiceContext.from_settings(dj_settings.model_copy(update=overrides),
                                        argon2_params=Argon2Params.cheapest(), clock=clock)
    admin = desk_operator("admin")
    make_django_user(dj, "gus", email="gus@example.org", first="Gus", last="Grey")
    sent = accounts.email_reset_link(mctx, admin, "gus", reason="asked by mail")
    assert (sent.to, sent.delivery) == ("gus@example.org", "smtp")
    assert sent.expires_at == clock() + timedelta(seconds=dj_settings.django_reset_timeout_seconds)
    [msg] = inbox.messages
    assert msg["To"] == "gus@example.org"
    body = msg.get_payload(decode=True).decode()
    assert "Hello Gus Grey" in body and "account gus" in body and f"{sent.expires_at:%Y-%m-%d %H:%M} UTC" in body
    path = re.search(r"http://testserver(/accounts/reset/\S+/)", body).group(1)
    c = dj.client()
    r = c.get(path)
    assert r.status_code == 302 and c.get(r["Location"]).context["validlink"] is True
    done = c.post(r["Location"], {"new_password1": "gus's new kettle", "new_password2": "gus's new kettle"})
    assert done.status_code == 302 and dj.authenticate("gus", "gus's new kettle") is not None
    assert dj.client().get(path).context["validlink"] is False
    event = events(mctx)[-1]
    assert (event.action, event.outcome, event.target) == ("ticket.email", "ok", "gus")
    assert path.split("/")[-2] not in str(event.details) and "smtp" in event.details
    mctx.store.close()
    mctx.engine.dispose()


def test_an_email_link_needs_an_address_and_mail_settings_and_sends_nothing_otherwise(dj, dctx, desk_operator,
                                                                                      tmp_path):
    admin = desk_operator("admin")
    make_django_user(dj, "noaddr")
    with pytest.raises(MailFailed):  # mail_delivery is off by default
        accounts.email_reset_link(dctx, admin, "noaddr", reason="x")
    outbox = tmp_path / "outbox"
    octx = ServiceContext(dctx.engine, dctx.settings.model_copy(update={"mail_delivery": "outbox",
                                                                        "mail_outbox": str(outbox)}),
                          clock=dctx.clock, argon2_params=Argon2Params.cheapest(), store=dctx.store)
    with pytest.raises(InvalidInput) as ei:
        accounts.email_reset_link(octx, admin, "noaddr", reason="x")
    assert ei.value.field == "email" and "show the link instead" in ei.value.message
    assert not outbox.exists() or not any(outbox.iterdir())
    assert [(e.action, e.error_code) for e in events(dctx)[-2:]] == [("ticket.email", "MAIL_FAILED"),
                                                                   ("ticket.email", "INVALID_INPUT")]


def test_django_refuses_a_reset_link_for_an_inactive_user_and_that_is_shown_as_its_refusal(dj, dctx,
                                                                                         desk_operator):
    admin = desk_operator("admin")
    make_django_user(dj, "ina", active=False)
    with pytest.raises(StoreRefused) as ei:
        accounts.issue_reset_link(dctx, admin, "ina", reason="x")
    assert "deactivated" in ei.value.message
    assert events(dctx)[-1].error_code == "STORE_REFUSED" and events(dctx)[-1].outcome == "rejected"


def test_no_reset_link_without_the_secret_key(dj, dj_settings, clock, desk_operator, dctx):
    admin = desk_operator("admin")
    make_django_user(dj, "ivan")
    bare = ServiceContext.from_settings(dj_settings.model_copy(update={"django_secret_key_file": None,
                                                                       "django_secret_key_env": "NO_SUCH_VAR"}),
                                        argon2_params=Argon2Params.cheapest(), clock=clock)
    with pytest.raises(NotSupported) as ei:
        accounts.issue_reset_link(bare, admin, "ivan", reason="x")
    assert "SECRET_KEY" in ei.value.message and ei.value.code == "NOT_SUPPORTED"
    bare.store.close()


# -- what Django has no place for; who may do what -----------------------------------------


@pytest.mark.parametrize("act", [Action.DELETE, Action.FORCE_CHANGE, Action.EXPIRE])
def test_actions_django_cannot_do_are_refused_naming_the_store_and_reason(dj, dctx, desk_operator, act):
    admin = desk_operator("admin")
    make_django_user(dj, "jo")
    with pytest.raises(NotSupported) as ei:
        accounts.refuse(dctx, admin, act, "jo", reason="x")
    assert ei.value.message.startswith("not supported by the django store: ")
    caps = accounts.capabilities(dctx)
    assert caps[act.value] and caps["reset_password"] is None
    why = accounts.unavailable(dctx, admin, accounts.get_account(dctx, admin, "jo"))
    assert why[act.value].startswith("django: ")
    assert events(dctx)[-1].error_code == "NOT_SUPPORTED"


def test_helpdesk_may_reset_users_but_not_staff_and_must_say_why(dj, dctx, desk_operator):
    hd = desk_operator("helpdesk")
    viewer = desk_operator("viewer")
    make_django_user(dj, "kim")
    make_django_user(dj, "boss", staff=True)
    with pytest.raises(PermissionDenied):
        accounts.reset_password(dctx, hd, "boss", reason="x", identity_check="badge")
    with pytest.raises(IdentityCheckRequired):
        accounts.reset_password(dctx, hd, "kim", reason="x")
    with pytest.raises(PermissionDenied):
        accounts.reset_password(dctx, viewer, "kim")
    assert dj.authenticate("kim", "an old password 1") is not None
    accounts.reset_password(dctx, hd, "kim", reason="called", identity_check="callback to desk phone")
    assert dj.authenticate("kim", "an old password 1") is None


# -- pending → outcome, and the Django database untouched ----------------------------------------


def test_every_change_is_pending_then_settled_in_the_desk(dj, dctx, desk_operator):
    admin = desk_operator("admin")
    make_django_user(dj, "lou")
    accounts.reset_password(dctx, admin, "lou", reason="x")
    pend, done = events(dctx)[-2:]
    assert pend.outcome == "pending" and pend.action == "password.reset"
    assert done.outcome == "ok" and f'"settles":{pend.seq}' in done.details
    with dctx.read_session() as s:
        assert s.exec(select(PendingChange)).all() == []
    assert audit.verify_chain(dctx, admin).ok


def test_a_change_left_pending_by_a_crash_is_settled_against_the_store(dj, dctx, desk_operator):
    admin = desk_operator("admin")
    make_django_user(dj, "max")
    make_django_user(dj, "ned")
    # As a crash leaves it: the pending event committed, the store changed (or
    # not), no outcome. Simulated by dropping the outcome write.
    import console.services.accounts as mod

    real = mod._outcome
    mod._outcome = lambda *a, **k: None
    try:
        accounts.block(dctx, admin, "max", reason="crash after the change")
    finally:
        mod._outcome = real
    with dctx.engine.begin() as conn:  # and one whose change never reached the store
        conn.execute(text("INSERT INTO pending_changes (seq, store, target, change, probe, at) "
                          "VALUES (9999, 'django', 'ned', 'blocked', 'blocked', '2026-01-01 00:00:00')"))
    assert {p.target for p in accounts.pending(dctx, admin)} == {"max", "ned"}
    read_only = ServiceContext.from_settings(dctx.settings.model_copy(update={"read_only": True}),
                                             argon2_params=Argon2Params.cheapest(), clock=dctx.clock)
    assert accounts.settle_pending(read_only) == []  # a read-only console writes nothing
    read_only.store.close()
    assert len(accounts.pending(dctx, admin)) == 2
    settled = {s.target: s.outcome for s in accounts.settle_pending(dctx)}
    assert settled == {"max": "ok", "ned": "failed"}
    assert accounts.pending(dctx, admin) == []
    assert audit.verify_chain(dctx, admin).ok


def test_userdesk_never_changes_the_django_schema(dj, dctx, desk_operator):
    before = dj.tables()
    admin = desk_operator("admin")
    make_django_user(dj, "oli", email="o@example.org")
    accounts.list_accounts(dctx, admin, search="o")
    accounts.reset_password(dctx, admin, "oli", reason="x")
    accounts.block(dctx, admin, "oli", reason="x")
    assert dj.tables() == before
    assert not any(t.startswith(("users", "audit", "pending", "alembic")) for t in before)


def test_a_database_that_is_not_django_is_refused(tmp_path, clock):
    s = Settings(store="django", database_url=f"sqlite:///{tmp_path / 'missing.sqlite3'}",
                 desk_url=f"sqlite:///{tmp_path / 'desk.db'}")
    with pytest.raises(StoreUnavailable) as ei:
        ServiceContext.from_settings(s, clock=clock)
    assert "no such Django database file" in ei.value.message
    assert not (tmp_path / "missing.sqlite3").exists()


def test_the_native_store_on_a_django_database_says_what_it_found_and_adds_nothing(dj, tmp_path, clock):
    """Not a table, not a byte: no WAL mode either (SQLite keeps that in the file)."""
    import hashlib

    from console.services import setup

    from django.db import connections

    connections.close_all()
    before = dj.tables()
    if dj.db is not None:
        files = sorted(p.name for p in dj.db.parent.iterdir())
        digest = hashlib.sha256(dj.db.read_bytes()).hexdigest()
    native = ServiceContext.from_settings(Settings(database_url=dj.url), argon2_params=Argon2Params.cheapest(),
                                          clock=clock)
    for attempt in (setup.check_ready, lambda c: setup.initialize(c, "root")):
        with pytest.raises(ForeignStore) as ei:
            attempt(native)
        assert "Django project" in ei.value.message and "--store django" in ei.value.message
    native.engine.dispose()
    if dj.db is not None:
        assert sorted(p.name for p in dj.db.parent.iterdir()) == files
        assert hashlib.sha256(dj.db.read_bytes()).hexdigest() == digest
    assert dj.tables() == before
