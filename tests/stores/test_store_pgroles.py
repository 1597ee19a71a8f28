"""The postgres-roles store against the run's real PostgreSQL server: what
userdesk changes, the server itself enforces (sign-ins with the password
checked over SCRAM-SHA-256, NOLOGIN, VALID UNTIL, ended backends, DROP ROLE's
refusal)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql
from sqlmodel import select

from console.models import AuditEvent, PendingChange
from console.services import accounts, audit
from console.services.errors import (
    IdentityCheckRequired,
    NotSupported,
    PermissionDenied,
    StoreRefused,
    StoreUnavailable,
    WeakPassword,
)
from console.services.permissions import Action
from console.stores import StoreError
from console.stores.postgres_roles import PostgresRolesStore

from pgroles import make_pctx, operator, pctx, pg_cluster, roles, store_admin, store_url  # noqa: F401  (fixtures)


def events(ctx) -> list[AuditEvent]:
    with ctx.read_session() as s:
        return list(s.exec(select(AuditEvent).order_by(AuditEvent.seq)))


def audit_text(ctx) -> str:
    return "\n".join(f"{e.action} {e.target} {e.outcome} {e.error_code} {e.details} {e.reason}" for e in events(ctx))


# -- reading ---------------------------------------------------------------------------


def test_lists_login_roles_keyset_paged_on_the_name_and_counts_them(roles, pctx):
    admin = operator(pctx, "admin")
    names = [roles.make(n) for n in ("carol", "alice", "erin", "bob", "dave")]
    group = roles.make("staff", None, options="NOLOGIN")  # a group role: no login, no password
    blocked = roles.make("frank", options="NOLOGIN")  # blocked with NOLOGIN: still an account (it has a password)
    q = roles.prefix
    seen, cursor = [], None
    while True:
        page = accounts.list_accounts(pctx, admin, search=q, cursor=cursor, limit=2)
        seen += [a.username for a in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = sorted([*names, blocked, roles.name("admin"), roles.name("probe")])
    assert seen == expected and group not in seen
    back = accounts.list_accounts(pctx, admin, search=q, from_end=True, limit=3)
    assert [a.username for a in back.items] == expected[-3:]
    before = accounts.list_accounts(pctx, admin, search=q, before=back.prev_cursor, limit=3)
    assert [a.username for a in before.items] == expected[-6:-3]
    assert accounts.count_accounts(pctx, admin, search=q).value == len(expected)
    assert accounts.count_accounts(pctx, admin, search=roles.name("ali")).value == 1
    frank = accounts.get_account(pctx, admin, blocked)
    assert frank.blocked and frank.kind == "nologin"
    # The count is capped as the other stores' are.
    assert pctx.store.count(search=q, cap=3) == (3, True)


def test_a_search_is_a_substring_of_the_name_or_comment_with_like_characters_taken_literally(roles, pctx):
    admin = operator(pctx, "admin")
    roles.make("under_score")
    roles.make("underXscore")
    with roles.admin() as conn:
        conn.execute(sql.SQL("COMMENT ON ROLE {} IS 'Backup Robot'").format(sql.Identifier(roles.name("underXscore"))))
    found = [a.username for a in accounts.list_accounts(pctx, admin, search=roles.prefix + "under_").items]
    assert found == [roles.name("under_score")]
    found = [a for a in accounts.list_accounts(pctx, admin, search="backup robot").items]
    assert [a.username for a in found] == [roles.name("underXscore")] and found[0].display_name == "Backup Robot"


def test_detail_shows_the_roles_attributes_sessions_and_flags_an_md5_password(roles, pctx):
    admin = operator(pctx, "admin")
    group = roles.make("readers", None, options="NOLOGIN")
    name = roles.make("app", options="LOGIN CREATEDB CONNECTION LIMIT 7 VALID UNTIL '2030-01-02 03:04:00+00'")
    weak = roles.make("legacy", encryption="md5")
    none = roles.make("nopass", None)
    with roles.admin() as conn:
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(name)))
    with roles.connect(name, "an old password 1"):
        d = dict(accounts.get_account(pctx, admin, name).details)
    assert d["can log in"] == "yes" and d["valid until"] == "2030-01-02 03:04 UTC"
    assert d["superuser"] == "no" and d["create role"] == "no" and d["create db"] == "yes"
    assert d["connection limit"] == "7" and group in d["member of"] and d["password"] == "SCRAM-SHA-256"
    assert d["sessions"] == "1"
    acc = accounts.get_account(pctx, admin, name)
    assert acc.role == "member" and acc.flags == ()
    w = accounts.get_account(pctx, admin, weak)
    assert dict(w.details)["password"] == "md5" and any("md5" in f and "weak" in f for f in w.flags)
    n = accounts.get_account(pctx, admin, none)
    assert dict(n.details)["password"] == "none" and any("no password" in f for f in n.flags)
    sup = accounts.get_account(pctx, admin, roles.make("root", options="LOGIN SUPERUSER"))
    assert sup.role == "admin" and sup.kind == "superuser"
    cr = accounts.get_account(pctx, admin, roles.make("mgr", options="LOGIN CREATEROLE"))
    assert cr.role == "admin" and cr.kind == "createrole"


# -- passwords ---------------------------------------------------------------------------


def test_a_reset_signs_in_over_scram_with_the_new_password_and_not_the_old(roles, pctx, pg_cluster):
    admin = operator(pctx, "admin")
    name = roles.make("web")
    assert roles.signs_in(name, "an old password 1")
    old_session = roles.connect(name, "an old password 1")
    log_before = pg_cluster.log_path.stat().st_size
    r = accounts.reset_password(pctx, admin, name, reason="rotated")
    new = r.password.reveal()
    stored = roles.row(name)[2]
    assert stored.startswith("SCRAM-SHA-256$4096:")
    assert roles.signs_in(name, new)
    assert not roles.signs_in(name, "an old password 1")
    assert r.sessions_revoked == 1  # the session opened with the old password is ended
    with pytest.raises(psycopg.OperationalError):
        old_session.execute("SELECT 1")
    old_session.close()
    # The server received (and logged) the verifier, never the password.
    log = pg_cluster.log_path.read_bytes()[log_before:].decode(errors="replace")
    assert "ALTER ROLE" in log and stored in log
    assert new not in log
    assert new not in audit_text(pctx) and stored not in audit_text(pctx)


def test_the_statement_sent_carries_only_a_quoted_identifier_and_the_verifier(roles, pctx):
    store = pctx.store
    cred = store.new_credential('we"ird name', "a chosen password 1")
    stmt = PostgresRolesStore.password_statement('we"ird name', cred.value).as_string(None)
    assert stmt == f"ALTER ROLE \"we\"\"ird name\" PASSWORD '{cred.value}'"
    assert "a chosen password 1" not in stmt and cred.value.startswith("SCRAM-SHA-256$")
    assert "a chosen password 1" not in repr(cred)
    # A role name with a quote is an identifier, not SQL.
    name = roles.make('q"uote')
    admin = operator(pctx, "admin")
    r = accounts.reset_password(pctx, admin, name, reason="x")
    assert roles.signs_in(name, r.password.reveal())


def test_set_password_follows_the_policy_and_the_server_accepts_it(roles, pctx):
    admin = operator(pctx, "admin")
    name = roles.make("svc")
    with pytest.raises(WeakPassword):
        accounts.set_password(pctx, admin, name, "password", reason="x")
    assert roles.signs_in(name, "an old password 1")
    accounts.set_password(pctx, admin, name, "correct horse battery staple 9", reason="x")
    assert roles.signs_in(name, "correct horse battery staple 9")
    assert not roles.signs_in(name, "an old password 1")


def test_a_reset_with_an_expiry_sets_valid_until_and_expire_now_stops_the_password(roles, pctx, clock):
    admin = operator(pctx, "admin")
    name = roles.make("tmp")
    r = accounts.reset_password(pctx, admin, name, reason="x", expiry_days=30)
    until = datetime.fromisoformat(roles.row(name)[1])
    assert abs(until - (clock() + timedelta(days=30))) < timedelta(seconds=2)
    assert roles.signs_in(name, r.password.reveal())
    accounts.reset_password(pctx, admin, name, reason="x", expiry_days=0)
    assert roles.row(name)[1] == "infinity"
    r = accounts.reset_password(pctx, admin, name, reason="x")
    assert roles.signs_in(name, r.password.reveal())
    accounts.expire(pctx, admin, name, reason="leaver")
    assert datetime.fromisoformat(roles.row(name)[1]) <= datetime.now(timezone.utc)
    assert not roles.signs_in(name, r.password.reveal())  # the server refuses an expired password
    acc = accounts.get_account(pctx, admin, name)
    assert any("expired" in f for f in acc.flags)
    pend, done = events(pctx)[-2:]
    assert (pend.action, pend.outcome, done.outcome) == ("password.expire", "pending", "ok")


# -- block, sessions, delete ------------------------------------------------------------------


def test_block_is_nologin_and_ends_sessions_unblock_lets_it_sign_in(roles, pctx):
    admin = operator(pctx, "admin")
    name = roles.make("kim")
    open_conn = roles.connect(name, "an old password 1")
    a = accounts.block(pctx, admin, name, reason="left the team")
    assert a.blocked and roles.row(name)[0] is False
    assert not roles.signs_in(name, "an old password 1")
    with pytest.raises(psycopg.OperationalError):
        open_conn.execute("SELECT 1")
    open_conn.close()
    a = accounts.unblock(pctx, admin, name, reason="back")
    assert not a.blocked and roles.signs_in(name, "an old password 1")


def test_end_sessions_terminates_the_roles_open_connections_only(roles, pctx):
    admin = operator(pctx, "admin")
    name, other = roles.make("lee"), roles.make("max")
    mine = [roles.connect(name, "an old password 1") for _ in range(2)]
    theirs = roles.connect(other, "an old password 1")
    assert accounts.revoke_sessions(pctx, admin, name, reason="x") == 2
    for c in mine:
        with pytest.raises(psycopg.OperationalError):
            c.execute("SELECT 1")
        c.close()
    assert theirs.execute("SELECT 1").fetchone() == (1,)
    theirs.close()
    assert accounts.revoke_sessions(pctx, admin, name, reason="x") == 0


def test_delete_is_drop_role_and_a_role_owning_a_table_is_refused_in_the_servers_words(roles, pctx):
    admin = operator(pctx, "admin")
    gone = roles.make("old")
    assert accounts.delete(pctx, admin, gone, reason="leaver") == 0
    with roles.admin() as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [gone]).fetchone() is None
    owner = roles.make("owner")
    table = roles.name("t")
    with roles.admin() as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(table)))
        conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(table), sql.Identifier(owner)))
    with pytest.raises(StoreRefused) as ei:
        accounts.delete(pctx, admin, owner, reason="leaver")
    msg = ei.value.message
    assert "cannot be dropped because some objects depend on it" in msg and f"owner of table {table}" in msg
    assert roles.signs_in(owner, "an old password 1")
    last = events(pctx)[-1]
    assert last.outcome == "rejected" and last.error_code == "STORE_REFUSED"


# -- who may do what ---------------------------------------------------------------------------


def test_a_superuser_or_createrole_role_is_refused_to_helpdesk_and_allowed_to_admin(roles, pctx):
    hd = operator(pctx, "helpdesk")
    admin = operator(pctx, "admin")
    root = roles.make("root", options="LOGIN SUPERUSER")
    member = roles.make("member")
    with pytest.raises(PermissionDenied):
        accounts.reset_password(pctx, hd, root, reason="x", identity_check="badge")
    with pytest.raises(PermissionDenied):
        accounts.block(pctx, hd, root, reason="x", identity_check="badge")
    assert roles.signs_in(root, "an old password 1") and roles.row(root)[0] is True
    why = accounts.unavailable(pctx, hd, accounts.get_account(pctx, hd, root))
    assert "reset_password" in why and "member" in why["reset_password"]
    with pytest.raises(IdentityCheckRequired):
        accounts.reset_password(pctx, hd, member, reason="x")
    r = accounts.reset_password(pctx, hd, member, reason="called", identity_check="callback")
    assert roles.signs_in(member, r.password.reveal())
    r = accounts.reset_password(pctx, admin, root, reason="x")
    assert roles.signs_in(root, r.password.reveal())


@pytest.mark.parametrize("attribute", ["REPLICATION", "BYPASSRLS"])
def test_a_replication_or_bypassrls_role_counts_as_admin(roles, pctx, attribute):
    """Either reads every row of the server (a replica, or past row security):
    a helpdesk operator may not take it over with a reset."""
    hd = operator(pctx, "helpdesk")
    name = roles.make(attribute.lower(), options=f"LOGIN {attribute}")
    acc = accounts.get_account(pctx, hd, name)
    assert acc.role == "admin" and dict(acc.details)["also"] == attribute
    with pytest.raises(PermissionDenied):
        accounts.reset_password(pctx, hd, name, reason="x", identity_check="badge")
    assert roles.signs_in(name, "an old password 1")


def test_the_connections_own_role_is_refused_with_a_reason(roles, pctx, store_admin):
    admin = operator(pctx, "admin")
    for act, call in ((Action.RESET_PASSWORD, lambda: accounts.reset_password(pctx, admin, store_admin, reason="x")),
                      (Action.BLOCK, lambda: accounts.block(pctx, admin, store_admin, reason="x")),
                      (Action.DELETE, lambda: accounts.delete(pctx, admin, store_admin, reason="x")),
                      (Action.REVOKE_SESSIONS, lambda: accounts.revoke_sessions(pctx, admin, store_admin))):
        with pytest.raises(NotSupported) as ei:
            call()
        assert "the role userdesk connects as" in ei.value.message, act
    assert roles.row(store_admin)[0] is True
    why = accounts.unavailable(pctx, admin, accounts.get_account(pctx, admin, store_admin))
    assert "the role userdesk connects as" in why["reset_password"] and "connects as" in why["block"]


@pytest.mark.parametrize("act", [Action.FORCE_CHANGE, Action.ISSUE_TICKET, Action.UNLOCK, Action.CREATE])
def test_what_postgresql_cannot_do_is_unavailable_with_its_reason(roles, pctx, act):
    admin = operator(pctx, "admin")
    name = roles.make("jo")
    with pytest.raises(NotSupported) as ei:
        accounts.refuse(pctx, admin, act, name, reason="x")
    assert ei.value.message.startswith("not supported by the postgres-roles store: ")
    caps = accounts.capabilities(pctx)
    assert caps[act.value] and caps["reset_password"] is None and caps["expire"] is None and caps["delete"] is None
    why = accounts.unavailable(pctx, admin, accounts.get_account(pctx, admin, name))
    assert why[act.value].startswith("postgres-roles: ")
    assert events(pctx)[-1].error_code == "NOT_SUPPORTED"


def test_a_createrole_connection_cannot_change_a_superuser_and_says_so_without_a_secret(roles, make_pctx):
    mgr = roles.name("mgr")
    with roles.admin() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE").format(sql.Identifier(mgr)))
    ctx = make_pctx(mgr)
    admin = operator(ctx, "admin")
    root = roles.make("root", options="LOGIN SUPERUSER")
    member = roles.make("member")
    with pytest.raises(StoreRefused) as ei:
        accounts.reset_password(ctx, admin, root, reason="x")
    assert "PostgreSQL refused: " in ei.value.message and "superuser" in ei.value.message
    assert "SCRAM" not in ei.value.message and "SCRAM" not in audit_text(ctx)
    assert roles.signs_in(root, "an old password 1")
    # Without pg_authid: the password's type is unknown, and a reset still works.
    acc = accounts.get_account(ctx, admin, member)
    assert dict(acc.details)["password"].startswith("unknown")
    r = accounts.reset_password(ctx, admin, member, reason="x")
    assert roles.signs_in(member, r.password.reveal())
    assert ctx.store.probe(member, "credential") is None  # cannot tell: the outcome stays unknown


# -- pending → outcome; a lost server ------------------------------------------------------------


def test_every_change_is_pending_then_settled_and_a_crash_is_settled_against_the_server(roles, pctx):
    admin = operator(pctx, "admin")
    a, b, c = roles.make("a"), roles.make("b"), roles.make("c")
    accounts.reset_password(pctx, admin, a, reason="x")
    pend, done = events(pctx)[-2:]
    assert pend.outcome == "pending" and done.outcome == "ok" and f'"settles":{pend.seq}' in done.details
    import console.services.accounts as mod

    real = mod._outcome
    mod._outcome = lambda *args, **kw: None  # as a crash after the change leaves it
    try:
        accounts.reset_password(pctx, admin, b, reason="crash after the change")
        accounts.block(pctx, admin, c, reason="crash after the change")
    finally:
        mod._outcome = real
    with pctx.write_session() as s:  # and one whose change never reached the server
        s.add(PendingChange(seq=99999, store="postgres-roles", target=a, change="credential",
                            probe=hashlib.sha256(b"another verifier").hexdigest(), at=datetime.now(timezone.utc)))
        s.commit()
    settled = {s.target: s.outcome for s in accounts.settle_pending(pctx)}
    assert settled == {b: "ok", c: "ok", a: "failed"}
    assert accounts.pending(pctx, admin) == []
    assert audit.verify_chain(pctx, admin).ok


def test_a_server_that_cannot_be_reached_is_store_unavailable_and_nothing_is_shown(roles, pctx, store_admin):
    admin = operator(pctx, "admin")
    name = roles.make("far")
    pctx.store._params["port"] = 1  # as if the server went away after the store was opened
    with pytest.raises(StoreUnavailable):
        accounts.reset_password(pctx, admin, name, reason="x")
    assert roles.signs_in(name, "an old password 1")
    assert events(pctx)[-1].error_code in ("STORE_UNAVAILABLE", None)
    with pytest.raises(StoreError) as ei:
        PostgresRolesStore(store_url(roles.cluster, store_admin).replace(f":{roles.cluster.port}/", ":1/"))
    assert ei.value.refused is False and "cannot connect" in ei.value.message


def test_a_connection_without_createrole_is_refused_when_opened(roles):
    plain = roles.name("plain")
    with roles.admin() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(plain)))
    with pytest.raises(StoreError) as ei:
        PostgresRolesStore(store_url(roles.cluster, plain))
    assert "neither SUPERUSER nor CREATEROLE" in ei.value.message


def test_a_server_lost_mid_action_is_store_unavailable_audited_and_a_crash_then_settles_when_it_is_back(
        roles, pctx, pg_cluster, monkeypatch):
    admin = operator(pctx, "admin")
    name = roles.make("mid")
    store = pctx.store
    real = store.new_credential

    def then_the_server_goes(username, password):  # the verifier is made, then the server stops
        cred = real(username, password)
        pg_cluster.pause()
        return cred

    monkeypatch.setattr(store, "new_credential", then_the_server_goes)
    try:
        with pytest.raises(StoreUnavailable) as ei:
            accounts.reset_password(pctx, admin, name, reason="x")
        pend, done = events(pctx)[-2:]
        assert pend.outcome == "pending" and done.outcome == "error" and done.error_code == "STORE_UNAVAILABLE"
        assert "cannot connect" in ei.value.message
        with pctx.write_session() as s:  # as a crash leaves a block it may or may not have sent
            s.add(PendingChange(seq=99998, store="postgres-roles", target=name, change="blocked", probe="blocked",
                                at=datetime.now(timezone.utc)))
            s.commit()
        # While the server is down the pending change cannot be told.
        assert [s.outcome for s in accounts.settle_pending(pctx)] == ["unknown"]
        assert len(accounts.pending(pctx, admin)) == 1
    finally:
        if pg_cluster.datadir is not None and not _up(pg_cluster):
            pg_cluster.resume()
    assert roles.signs_in(name, "an old password 1")  # nothing changed
    assert [s.outcome for s in accounts.settle_pending(pctx)] == ["failed"]  # the block never landed
    assert accounts.pending(pctx, admin) == []


def _up(cluster) -> bool:
    try:
        with cluster.admin():
            return True
    except psycopg.OperationalError:
        return False


def test_the_connections_password_comes_from_pgpassfile_or_the_url_and_never_shows_in_an_error(
        roles, tmp_path, monkeypatch):
    # An admin role whose password the server checks (a member of the checked group).
    admin_role = roles.make("pwadmin", "the admin's password 1", options="LOGIN CREATEROLE")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    url = store_url(roles.cluster, admin_role)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "absent"))
    with pytest.raises(StoreError) as ei:
        PostgresRolesStore(url)
    assert ei.value.refused is False and "cannot connect" in ei.value.message
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{roles.cluster.port}:*:{admin_role}:the admin's password 1\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    store = PostgresRolesStore(url)
    assert store.current_user == admin_role and "password" not in store.where
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "absent"))
    wrong = url.replace(f"{admin_role}@", f"{admin_role}:a%20wrong%20secret@")
    with pytest.raises(StoreError) as ei:
        PostgresRolesStore(wrong)
    assert "password authentication failed" in ei.value.message and "wrong secret" not in ei.value.message
    right = url.replace(f"{admin_role}@", f"{admin_role}:the%20admin%27s%20password%201@")
    assert PostgresRolesStore(right).current_user == admin_role


def test_a_createrole_connection_resets_with_a_session_open_and_says_why_it_cannot_end_it(roles, make_pctx):
    mgr = roles.name("mgr")
    with roles.admin() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE").format(sql.Identifier(mgr)))
    ctx = make_pctx(mgr)
    admin = operator(ctx, "admin")
    member = roles.make("member")
    held = roles.connect(member, "an old password 1")
    r = accounts.reset_password(ctx, admin, member, reason="x")  # the password changed: that is what counts
    assert r.sessions_revoked == 0 and roles.signs_in(member, r.password.reveal())
    with pytest.raises(StoreRefused) as ei:
        accounts.revoke_sessions(ctx, admin, member, reason="x")
    assert "pg_signal_backend" in ei.value.message
    assert held.execute("SELECT 1").fetchone() == (1,)
    with roles.admin() as conn:
        conn.execute(sql.SQL("GRANT pg_signal_backend TO {}").format(sql.Identifier(mgr)))
    assert accounts.revoke_sessions(ctx, admin, member, reason="x") == 1
    with pytest.raises(psycopg.OperationalError):
        held.execute("SELECT 1")
    held.close()


def test_the_default_desk_is_the_same_whatever_password_the_url_carries():
    from console.config import desk_url_for

    plain = "postgresql+psycopg://admin@db1.example.org:5432/postgres"
    with_pw = "postgresql+psycopg://admin:s3cret%20pw@db1.example.org:5432/postgres"
    assert desk_url_for("postgres-roles", with_pw) == desk_url_for("postgres-roles", plain)
    assert "s3cret" not in desk_url_for("postgres-roles", with_pw)
    # A URL without a password keeps the desk it had (keyed as written).
    key = hashlib.sha256(f"django\0{plain}".encode()).hexdigest()[:16]
    assert desk_url_for("django", plain).endswith(f"django-{key}.db")


def test_a_connection_lost_after_the_change_was_sent_leaves_it_pending_until_the_server_can_tell(
        roles, pctx, pg_cluster):
    import threading
    import time

    admin = operator(pctx, "admin")
    name = roles.make("inflight")
    blocker = roles.admin()
    blocker.autocommit = False
    blocker.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT 5").format(sql.Identifier(name)))  # holds the row
    stopped = threading.Event()

    def stop_the_server_while_the_reset_waits():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with roles.admin() as conn:
                waiting = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND query LIKE 'ALTER ROLE%%PASSWORD%%'").fetchone()[0]
            if waiting:
                pg_cluster.pause()  # every connection cut: the reset's ALTER ROLE was sent, its answer never comes
                stopped.set()
                return
            time.sleep(0.05)

    t = threading.Thread(target=stop_the_server_while_the_reset_waits)
    t.start()
    try:
        with pytest.raises(StoreUnavailable) as ei:
            accounts.reset_password(pctx, admin, name, reason="x")
        t.join()
        assert stopped.is_set()
        assert "unknown" in ei.value.message and "stays pending" in ei.value.message
        last = events(pctx)[-1]
        assert last.action == "password.reset" and last.outcome == "pending"  # no outcome claimed
        assert [p.target for p in accounts.pending(pctx, admin)] == [name]
        assert [s.outcome for s in accounts.settle_pending(pctx)] == ["unknown"]  # the server is still down
    finally:
        t.join()
        if not _up(pg_cluster):
            pg_cluster.resume()
        blocker.close()
    assert [s.outcome for s in accounts.settle_pending(pctx)] == ["failed"]  # it never landed
    assert roles.signs_in(name, "an old password 1")
    assert accounts.pending(pctx, admin) == []
    assert audit.verify_chain(pctx, admin).ok
