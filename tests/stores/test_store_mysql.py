"""The mysql-users store against a real MariaDB server (tests/stores/mariadb.py):
what userdesk changes, the server itself enforces (sign-ins checked against
the stored hash, ACCOUNT LOCK, PASSWORD EXPIRE's "You must SET PASSWORD",
KILL, DROP USER), and what the server logs carries no password."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime, timedelta, timezone

import pymysql
import pytest
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
from console.stores.mysql_users import MySQLUsersStore, native_hash

from mariadb import (  # noqa: F401  (fixtures)
    ADMIN_PASSWORD,
    accounts_on,
    grant_option,
    make_mctx,
    mariadb_server,
    mctx,
    operator,
    store_admin,
    store_url,
)


def events(ctx) -> list[AuditEvent]:
    with ctx.read_session() as s:
        return list(s.exec(select(AuditEvent).order_by(AuditEvent.seq)))


def audit_text(ctx) -> str:
    return "\n".join(f"{e.action} {e.target} {e.outcome} {e.error_code} {e.details} {e.reason}" for e in events(ctx))


def gone(conn) -> bool:
    """Whether the server has closed ``conn`` (its next statement fails)."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        return False
    except (pymysql.err.OperationalError, pymysql.err.InterfaceError):
        return True


# -- reading ---------------------------------------------------------------------------


def test_lists_user_at_host_accounts_keyset_paged_and_counts_them(accounts_on, mctx, store_admin):
    admin = operator(mctx, "admin")
    names = [accounts_on.make(n) for n in ("carol", "alice", "erin", "bob", "dave")]
    other_host = accounts_on.make("alice", host="10.0.0.%")  # the same user name at another host: another account
    accounts_on.server.sql(f"CREATE ROLE {accounts_on.prefix}readers")  # a role is not an account
    q = accounts_on.prefix
    seen, cursor = [], None
    while True:
        page = accounts.list_accounts(mctx, admin, search=q, cursor=cursor, limit=2)
        seen += [a.username for a in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = sorted([*names, other_host, store_admin], key=lambda n: tuple(n.rsplit("@", 1)))
    assert seen == expected
    assert f"{accounts_on.prefix}readers@" not in " ".join(seen)
    back = accounts.list_accounts(mctx, admin, search=q, from_end=True, limit=3)
    assert [a.username for a in back.items] == expected[-3:]
    before = accounts.list_accounts(mctx, admin, search=q, before=back.prev_cursor, limit=3)
    assert [a.username for a in before.items] == expected[-6:-3]
    assert accounts.count_accounts(mctx, admin, search=q).value == len(expected)
    assert accounts.count_accounts(mctx, admin, search=(q + "ALICE").upper()).value == 2  # case-insensitive
    assert [a.username for a in accounts.list_accounts(mctx, admin, search=q + "alice@10.").items] == [other_host]
    assert mctx.store.count(search=q, cap=3) == (3, True)


def test_a_search_takes_like_characters_literally(accounts_on, mctx):
    admin = operator(mctx, "admin")
    accounts_on.make("under_score")
    accounts_on.make("underXscore")
    found = [a.username for a in accounts.list_accounts(mctx, admin, search=accounts_on.prefix + "under_").items]
    assert found == [accounts_on.name("under_score")]
    assert accounts.list_accounts(mctx, admin, search=accounts_on.prefix + "%").items == []


def test_detail_shows_lock_expiry_lifetime_plugin_rights_and_connections(accounts_on, mctx):
    admin = operator(mctx, "admin")
    app = accounts_on.make("app", options="PASSWORD EXPIRE INTERVAL 30 DAY")
    with accounts_on.connect(app, "an old password 1"):
        acc = accounts.get_account(mctx, admin, app)
    d = dict(acc.details)
    assert d["locked"] == "no" and d["password expired"] == "no" and d["lifetime"] == "30 days"
    changed = datetime.strptime(d["last changed"], "%Y-%m-%d %H:%M UTC").replace(tzinfo=timezone.utc)
    assert abs(changed - datetime.now(timezone.utc)) < timedelta(minutes=2)
    assert d["expires"].startswith((changed + timedelta(days=30)).strftime("%Y-%m-%d"))
    assert d["plugin"].startswith("mysql_native_password") and d["admin rights"] == "none global"
    assert d["connections"] == "1" and acc.role == "member" and acc.kind == "user" and acc.flags == ()
    locked = accounts.get_account(mctx, admin, accounts_on.make("gone", options="ACCOUNT LOCK PASSWORD EXPIRE"))
    assert locked.blocked and dict(locked.details)["locked"].startswith("yes")
    assert dict(locked.details)["password expired"].startswith("yes") and any("expired" in f for f in locked.flags)
    empty = accounts.get_account(mctx, admin, accounts_on.make("empty", None))
    assert any("no password" in f for f in empty.flags)
    assert dict(empty.details)["lifetime"] == "server default (never)"
    for grant, rights in (("SUPER ON *.*", "SUPER"), ("CREATE USER ON *.*", "CREATE USER"),
                          ("ALL PRIVILEGES ON *.*", "SUPER, CREATE USER, writes *.* (the grant tables too)")):
        boss = accounts.get_account(mctx, admin, accounts_on.make("b" + str(len(rights)), grant=grant))
        assert boss.role == "admin" and boss.kind == "admin" and dict(boss.details)["admin rights"] == rights
    accounts_on.server.sql("INSTALL SONAME 'auth_ed25519'") if not accounts_on.server.sql(
        "SELECT 1 FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'") else None
    ed = accounts_on.make("ed", None, options="IDENTIFIED VIA ed25519 USING PASSWORD('an ed password 1')")
    e = accounts.get_account(mctx, admin, ed)
    assert dict(e.details)["plugin"] == "ed25519" and any("ed25519" in f for f in e.flags)
    with pytest.raises(StoreRefused) as ei:  # its plugin is kept: no silent downgrade to mysql_native_password
        accounts.reset_password(mctx, admin, ed, reason="x")
    assert "authenticates with ed25519" in ei.value.message
    assert accounts_on.priv(ed)["plugin"] == "ed25519"  # unchanged


# -- passwords ---------------------------------------------------------------------------


def test_a_reset_signs_in_with_the_new_password_not_the_old_and_the_server_logs_no_password(
        accounts_on, mctx, mariadb_server):
    admin = operator(mctx, "admin")
    name = accounts_on.make("web")
    assert accounts_on.signs_in(name, "an old password 1")
    old_session = accounts_on.connect(name, "an old password 1")
    log = mariadb_server.general_log
    log_before = log.stat().st_size
    r = accounts.reset_password(mctx, admin, name, reason="rotated")
    new = r.password.reveal()
    stored = accounts_on.priv(name)["authentication_string"]
    assert stored == native_hash(new)
    assert accounts_on.signs_in(name, new)
    assert not accounts_on.signs_in(name, "an old password 1")
    assert r.sessions_revoked == 1 and gone(old_session)  # the connection opened with the old password is ended
    old_session.close()
    # The general log is on and records the store's connection (its reads), but
    # neither the password nor its hash: the change went to the server as the
    # hash, on a connection with sql_log_off.
    logged = log.read_bytes()[log_before:].decode(errors="replace")
    assert "mysql.global_priv" in logged and "sql_log_off" in logged
    assert new not in logged and stored not in logged and "IDENTIFIED" not in logged
    assert new not in audit_text(mctx) and stored not in audit_text(mctx)
    # The binary log (replicas apply it) carries the statement with the hash, never the password.
    binlog = mariadb_server.binlog_text()
    assert f"IDENTIFIED WITH mysql_native_password AS '{stored}'" in binlog and new not in binlog


def test_a_connection_without_super_sends_only_the_hash_which_the_general_log_shows_never_the_password(
        accounts_on, make_mctx, mariadb_server):
    mgr = accounts_on.make("mgr", "the admin's password 1", grant="CREATE USER ON *.*")
    accounts_on.server.sql("GRANT SELECT ON mysql.* TO %s@%s", tuple(mgr.rsplit("@", 1)))
    ctx = make_mctx(mgr)
    admin = operator(ctx, "admin")
    name = accounts_on.make("svc")
    log_before = mariadb_server.general_log.stat().st_size
    accounts.set_password(ctx, admin, name, "Staple-9-battery-Horse", reason="x")
    assert accounts_on.signs_in(name, "Staple-9-battery-Horse")
    logged = mariadb_server.general_log.read_bytes()[log_before:].decode(errors="replace")
    assert f"IDENTIFIED WITH mysql_native_password AS '{native_hash('Staple-9-battery-Horse')}'" in logged
    assert "Staple-9-battery-Horse" not in logged


def test_what_mariadb_logs_of_identified_by_is_the_plaintext(accounts_on, mariadb_server):
    """Why the store never sends IDENTIFIED BY 'password': MariaDB 10.11
    writes the statement to its general log and its binary log as sent."""
    name = accounts_on.make("plain")
    user, host = name.rsplit("@", 1)
    before = mariadb_server.general_log.stat().st_size
    mariadb_server.sql("ALTER USER %s@%s IDENTIFIED BY 'visible plaintext 7'", (user, host))
    assert "visible plaintext 7" in mariadb_server.general_log.read_bytes()[before:].decode(errors="replace")
    assert "IDENTIFIED BY 'visible plaintext 7'" in mariadb_server.binlog_text()  # and to its binary log


def test_set_password_follows_the_gaussdb_policy_and_the_server_accepts_it(accounts_on, mctx):
    assert mctx.settings.policy == "gaussdb"  # the store's default policy (no policy named)
    admin = operator(mctx, "admin")
    name = accounts_on.make("svc")
    with pytest.raises(WeakPassword):
        accounts.set_password(mctx, admin, name, "password", reason="x")
    assert accounts_on.signs_in(name, "an old password 1")
    accounts.set_password(mctx, admin, name, "Correct-Horse-9-battery", reason="x")
    assert accounts_on.signs_in(name, "Correct-Horse-9-battery")
    assert not accounts_on.signs_in(name, "an old password 1")


def test_a_reset_with_expiry_days_sets_the_lifetime_and_without_sets_never(accounts_on, mctx):
    admin = operator(mctx, "admin")
    name = accounts_on.make("tmp", options="PASSWORD EXPIRE")
    r = accounts.reset_password(mctx, admin, name, reason="x", expiry_days=30)
    priv = accounts_on.priv(name)
    assert priv["password_lifetime"] == 30 and priv["password_last_changed"] > 0
    assert accounts_on.signs_in(name, r.password.reveal())
    assert '"expires_at"' in events(mctx)[-1].details
    accounts.reset_password(mctx, admin, name, reason="x", expiry_days=0)
    assert accounts_on.priv(name)["password_lifetime"] == 0  # PASSWORD EXPIRE NEVER


def test_expire_and_force_change_are_password_expire_and_the_client_is_told_to_change_it(accounts_on, mctx):
    admin = operator(mctx, "admin")
    for short, call in (("exp", accounts.expire), ("must", accounts.force_change)):
        name = accounts_on.make(short)
        call(mctx, admin, name, reason="leaver")
        assert accounts_on.priv(name)["password_last_changed"] == 0
        # The server lets the client in only to set a new password (sandbox mode).
        with accounts_on.connect(name, "an old password 1") as conn, conn.cursor() as cur:
            with pytest.raises(pymysql.err.OperationalError) as ei:
                cur.execute("SELECT 1")
            assert ei.value.args[0] == 1820 and "You must SET PASSWORD" in ei.value.args[1]
        pend, done = events(mctx)[-2:]
        assert pend.outcome == "pending" and done.outcome == "ok" and f'"settles":{pend.seq}' in done.details
        acc = accounts.get_account(mctx, admin, name)
        assert any("must choose a new one" in f for f in acc.flags)
    # A reset lifts it.
    r = accounts.reset_password(mctx, admin, name, reason="x")
    with accounts_on.connect(name, r.password.reveal()) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")


def test_a_future_expiry_date_is_refused_with_the_reason(accounts_on, mctx):
    name = accounts_on.make("later")
    with pytest.raises(StoreError) as ei:
        mctx.store.set_expiry(name, datetime.now(timezone.utc) + timedelta(days=3))
    assert "lifetime counted from the last change" in ei.value.message


# -- block, sessions, delete ------------------------------------------------------------------


def test_block_is_account_lock_and_ends_connections_unblock_lets_it_sign_in(accounts_on, mctx):
    admin = operator(mctx, "admin")
    name = accounts_on.make("kim")
    open_conn = accounts_on.connect(name, "an old password 1")
    a = accounts.block(mctx, admin, name, reason="left the team")
    assert a.blocked and accounts_on.priv(name)["account_locked"] is True
    assert not accounts_on.signs_in(name, "an old password 1")
    with pytest.raises(pymysql.err.OperationalError) as ei:
        accounts_on.connect(name, "an old password 1")
    assert ei.value.args[0] == 4151 and "locked" in ei.value.args[1]  # ER_ACCOUNT_HAS_BEEN_LOCKED
    assert gone(open_conn)
    open_conn.close()
    a = accounts.unblock(mctx, admin, name, reason="back")
    assert not a.blocked and accounts_on.signs_in(name, "an old password 1")


def test_end_sessions_kills_the_accounts_connections_only(accounts_on, mctx):
    admin = operator(mctx, "admin")
    name, other = accounts_on.make("lee"), accounts_on.make("max")
    mine = [accounts_on.connect(name, "an old password 1") for _ in range(2)]
    theirs = accounts_on.connect(other, "an old password 1")
    assert accounts.get_account(mctx, admin, name).sessions == 2
    assert accounts.revoke_sessions(mctx, admin, name, reason="x") == 2
    for c in mine:
        assert gone(c)
        c.close()
    assert not gone(theirs)
    theirs.close()
    assert accounts.revoke_sessions(mctx, admin, name, reason="x") == 0


def test_connections_belong_to_the_most_specific_matching_account(accounts_on, mctx):
    admin = operator(mctx, "admin")
    exact = accounts_on.make("dup")
    wide = accounts_on.make("dup", "another password 2", host="%")
    held = accounts_on.connect(exact, "an old password 1")  # from 127.0.0.1: the exact account
    assert accounts.get_account(mctx, admin, exact).sessions == 1
    assert accounts.get_account(mctx, admin, wide).sessions == 0
    assert accounts.revoke_sessions(mctx, admin, wide, reason="x") == 0 and not gone(held)
    held.close()


def test_delete_is_drop_user_and_a_refusal_is_shown_in_the_servers_words(accounts_on, mctx):
    admin = operator(mctx, "admin")
    old = accounts_on.make("old")
    held = accounts_on.connect(old, "an old password 1")
    assert accounts.delete(mctx, admin, old, reason="leaver") == 1
    assert accounts_on.priv(old) is None and gone(held)
    held.close()
    pend, done = events(mctx)[-2:]
    assert (pend.action, pend.outcome, done.outcome) == ("user.delete", "pending", "ok")
    # The account disappears between the read and the DROP (another admin): the server's own refusal.
    victim = accounts_on.make("victim")
    store = mctx.store
    real = store._existing

    def then_someone_drops_it(cur, username):
        found = real(cur, username)
        accounts_on.server.sql("DROP USER %s@%s", tuple(victim.rsplit("@", 1)))
        return found

    store._existing = then_someone_drops_it
    try:
        with pytest.raises(StoreRefused) as ei:
            accounts.delete(mctx, admin, victim, reason="leaver")
    finally:
        del store._existing
    user, host = victim.rsplit("@", 1)
    assert ei.value.message == f"MariaDB refused: Operation DROP USER failed for '{user}'@'{host}' (error 1396)"
    last = events(mctx)[-1]
    assert last.outcome == "rejected" and last.error_code == "STORE_REFUSED" and "1396" in last.details


# -- who may do what ---------------------------------------------------------------------------


def test_an_account_with_admin_rights_is_refused_to_helpdesk_and_allowed_to_admin(accounts_on, mctx):
    hd = operator(mctx, "helpdesk")
    admin = operator(mctx, "admin")
    root = accounts_on.make("root", grant="ALL PRIVILEGES ON *.*")
    member = accounts_on.make("member")
    with pytest.raises(PermissionDenied):
        accounts.reset_password(mctx, hd, root, reason="x", identity_check="badge")
    with pytest.raises(PermissionDenied):
        accounts.block(mctx, hd, root, reason="x", identity_check="badge")
    assert accounts_on.signs_in(root, "an old password 1")
    why = accounts.unavailable(mctx, hd, accounts.get_account(mctx, hd, root))
    assert "reset_password" in why and "member" in why["reset_password"]
    with pytest.raises(IdentityCheckRequired):
        accounts.reset_password(mctx, hd, member, reason="x")
    r = accounts.reset_password(mctx, hd, member, reason="called", identity_check="callback")
    assert accounts_on.signs_in(member, r.password.reveal())
    r = accounts.reset_password(mctx, admin, root, reason="x")
    assert accounts_on.signs_in(root, r.password.reveal())


@pytest.mark.parametrize("grant, said", [("UPDATE ON *.*", "writes *.*"), ("INSERT ON mysql.*", "writes mysql.*"),
                                         ("DELETE ON `mysq_`.*", "writes mysql.*")])
def test_an_account_that_may_write_the_grant_tables_counts_as_admin(accounts_on, mctx, grant, said):
    """Whoever may write mysql.* may give themselves any right: not a helpdesk's to reset."""
    hd = operator(mctx, "helpdesk")
    name = accounts_on.make("writer", grant=grant)
    acc = accounts.get_account(mctx, hd, name)
    assert acc.role == "admin" and said in dict(acc.details)["admin rights"]
    with pytest.raises(PermissionDenied):
        accounts.reset_password(mctx, hd, name, reason="x", identity_check="badge")
    plain = accounts.get_account(mctx, hd, accounts_on.make("reader", grant="SELECT ON *.*"))
    assert plain.role == "member"


def test_an_account_with_a_default_role_counts_as_admin(accounts_on, mctx, mariadb_server):
    role = f"{accounts_on.prefix}role"
    with mariadb_server.admin() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE ROLE `{role}`")
        cur.execute(f"GRANT SUPER ON *.* TO `{role}`")
    name = accounts_on.make("roled")
    user, host = name.rsplit("@", 1)
    with mariadb_server.admin() as conn, conn.cursor() as cur:
        cur.execute(f"GRANT `{role}` TO %s@%s", (user, host))
        cur.execute(f"SET DEFAULT ROLE `{role}` FOR %s@%s", (user, host))
    try:
        acc = accounts.get_account(mctx, operator(mctx, "helpdesk"), name)
        assert acc.role == "admin" and f"default role {role}" in dict(acc.details)["admin rights"]
    finally:
        with mariadb_server.admin() as conn, conn.cursor() as cur:
            cur.execute(f"DROP ROLE `{role}`")


def test_the_connections_own_account_is_refused_with_a_reason(accounts_on, mctx, store_admin):
    admin = operator(mctx, "admin")
    for act, call in ((Action.RESET_PASSWORD, lambda: accounts.reset_password(mctx, admin, store_admin, reason="x")),
                      (Action.BLOCK, lambda: accounts.block(mctx, admin, store_admin, reason="x")),
                      (Action.DELETE, lambda: accounts.delete(mctx, admin, store_admin, reason="x")),
                      (Action.FORCE_CHANGE, lambda: accounts.force_change(mctx, admin, store_admin, reason="x")),
                      (Action.REVOKE_SESSIONS, lambda: accounts.revoke_sessions(mctx, admin, store_admin))):
        with pytest.raises(NotSupported) as ei:
            call()
        assert "the account userdesk connects as" in ei.value.message, act
    assert accounts_on.signs_in(store_admin, ADMIN_PASSWORD)
    why = accounts.unavailable(mctx, admin, accounts.get_account(mctx, admin, store_admin))
    assert "connects as" in why["reset_password"] and "connects as" in why["block"]


@pytest.mark.parametrize("act", [Action.ISSUE_TICKET, Action.UNLOCK, Action.CREATE, Action.SET_ROLE])
def test_what_mariadb_cannot_do_is_unavailable_with_its_reason(accounts_on, mctx, act):
    admin = operator(mctx, "admin")
    name = accounts_on.make("jo")
    with pytest.raises(NotSupported) as ei:
        accounts.refuse(mctx, admin, act, name, reason="x")
    assert ei.value.message.startswith("not supported by the mysql-users store: ")
    caps = accounts.capabilities(mctx)
    assert caps[act.value]
    assert all(caps[a] is None for a in ("reset_password", "set_password", "force_change", "expire", "block",
                                         "unblock", "revoke_sessions", "delete"))
    why = accounts.unavailable(mctx, admin, accounts.get_account(mctx, admin, name))
    assert why[act.value].startswith("mysql-users: ")
    assert events(mctx)[-1].error_code == "NOT_SUPPORTED"


def test_a_connection_without_create_user_is_refused_when_opened(accounts_on, mariadb_server):
    plain = accounts_on.make("plain", ADMIN_PASSWORD)
    with pytest.raises(StoreError) as ei:
        MySQLUsersStore(store_url(mariadb_server, plain))
    assert "Access denied for user" in ei.value.message and "(error 1044)" in ei.value.message  # the server's words
    accounts_on.server.sql("GRANT SELECT ON mysql.* TO %s@%s", tuple(plain.rsplit("@", 1)))
    with pytest.raises(StoreError) as ei:
        MySQLUsersStore(store_url(mariadb_server, plain))
    assert "no CREATE USER privilege" in ei.value.message


def test_a_privilege_error_is_the_servers_words_and_without_process_the_connections_are_unknown(
        accounts_on, make_mctx):
    mgr = accounts_on.make("mgr", ADMIN_PASSWORD, grant="CREATE USER ON *.*")
    accounts_on.server.sql("GRANT SELECT ON mysql.* TO %s@%s", tuple(mgr.rsplit("@", 1)))
    ctx = make_mctx(mgr)
    admin = operator(ctx, "admin")
    held_name = accounts_on.make("held")
    held = accounts_on.connect(held_name, "an old password 1")
    # Without PROCESS it cannot see the connection: it says so rather than "0".
    assert dict(accounts.get_account(ctx, admin, held_name).details)["connections"].startswith("unknown")
    with pytest.raises(StoreRefused) as ei:
        accounts.revoke_sessions(ctx, admin, held_name, reason="x")
    assert "needs PROCESS and CONNECTION ADMIN" in ei.value.message
    # With PROCESS it sees it, and the server refuses the KILL in its own words.
    accounts_on.server.sql("GRANT PROCESS ON *.* TO %s@%s", tuple(mgr.rsplit("@", 1)))
    ctx = make_mctx(mgr)
    assert accounts.get_account(ctx, admin, held_name).sessions == 1
    with pytest.raises(StoreRefused) as ei:
        accounts.revoke_sessions(ctx, admin, held_name, reason="x")
    assert ei.value.message.startswith("MariaDB refused: You are not owner of thread") and "(error 1095)" in \
        ei.value.message
    assert events(ctx)[-1].error_code == "STORE_REFUSED"
    assert not gone(held)
    held.close()


# -- pending → outcome; a lost server ------------------------------------------------------------


def test_every_change_is_pending_then_settled_and_a_crash_is_settled_against_the_server(accounts_on, mctx):
    admin = operator(mctx, "admin")
    a, b, c, d = (accounts_on.make(n) for n in "abcd")
    accounts.reset_password(mctx, admin, a, reason="x")
    pend, done = events(mctx)[-2:]
    assert pend.outcome == "pending" and done.outcome == "ok" and f'"settles":{pend.seq}' in done.details
    import console.services.accounts as mod

    real = mod._outcome
    mod._outcome = lambda *args, **kw: None  # as a crash after the change leaves it
    try:
        accounts.reset_password(mctx, admin, b, reason="crash after the change")
        accounts.block(mctx, admin, c, reason="crash after the change")
        accounts.expire(mctx, admin, d, reason="crash after the change")
    finally:
        mod._outcome = real
    with mctx.write_session() as s:  # and one whose change never reached the server
        s.add(PendingChange(seq=99999, store="mysql-users", target=a, change="credential",
                            probe=hashlib.sha256(b"another hash").hexdigest(), at=datetime.now(timezone.utc)))
        s.commit()
    settled = {s.target: s.outcome for s in accounts.settle_pending(mctx)}
    assert settled == {b: "ok", c: "ok", d: "ok", a: "failed"}
    assert accounts.pending(mctx, admin) == []
    assert audit.verify_chain(mctx, admin).ok


def test_a_server_that_cannot_be_reached_is_store_unavailable_and_nothing_is_shown(accounts_on, mctx, store_admin,
                                                                                  mariadb_server):
    admin = operator(mctx, "admin")
    name = accounts_on.make("far")
    mctx.store._params["port"] = 1  # as if the server went away after the store was opened
    with pytest.raises(StoreUnavailable):
        accounts.reset_password(mctx, admin, name, reason="x")
    assert accounts_on.signs_in(name, "an old password 1")
    with pytest.raises(StoreError) as ei:
        MySQLUsersStore(store_url(mariadb_server, store_admin).replace(f":{mariadb_server.port}/", ":1/"))
    assert ei.value.refused is False and "cannot connect" in ei.value.message


def test_the_connections_password_comes_from_the_url_or_an_option_file_and_never_shows_in_an_error(
        accounts_on, mariadb_server, store_admin, tmp_path, monkeypatch):
    monkeypatch.delenv("MYSQL_PWD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.my.cnf
    wrong = store_url(mariadb_server, store_admin, "a wrong secret")
    with pytest.raises(StoreError) as ei:
        MySQLUsersStore(wrong)
    assert "Access denied" in ei.value.message and "wrong secret" not in ei.value.message
    bare = store_url(mariadb_server, store_admin, None)
    option_file = tmp_path / "my.cnf"
    option_file.write_text(f"[client]\npassword = {ADMIN_PASSWORD}\n")
    option_file.chmod(0o600)
    assert MySQLUsersStore(f"{bare}?read_default_file={option_file}").current_user == store_admin
    (tmp_path / ".my.cnf").write_text(f"[client]\npassword = {ADMIN_PASSWORD}\n")
    (tmp_path / ".my.cnf").chmod(0o644)
    with pytest.raises(StoreError) as ei:  # a password file others may read is not used
        MySQLUsersStore(bare)
    assert "readable by others" in ei.value.message and ADMIN_PASSWORD not in ei.value.message
    (tmp_path / ".my.cnf").chmod(0o600)
    store = MySQLUsersStore(bare)
    assert store.current_user == store_admin and "password" not in store.where
    monkeypatch.setenv("MYSQL_PWD", ADMIN_PASSWORD)
    (tmp_path / ".my.cnf").unlink()
    assert MySQLUsersStore(bare).current_user == store_admin


def test_a_connection_lost_after_the_change_was_sent_stays_pending_until_the_server_can_tell(
        accounts_on, mctx, mariadb_server):
    admin = operator(mctx, "admin")
    name = accounts_on.make("inflight")
    blocker = mariadb_server.admin()
    with blocker.cursor() as cur:
        cur.execute("LOCK TABLES mysql.global_priv READ")  # reads go on; the reset's ALTER USER waits
    killed = threading.Event()

    def kill_the_resets_connection_while_it_waits():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = mariadb_server.sql("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE "
                                      "'ALTER USER%%IDENTIFIED WITH%%'")
            if rows:
                mariadb_server.sql("KILL CONNECTION %s", (rows[0][0],))
                killed.set()
                return
            time.sleep(0.05)

    t = threading.Thread(target=kill_the_resets_connection_while_it_waits)
    t.start()
    try:
        with pytest.raises(StoreUnavailable) as ei:
            accounts.reset_password(mctx, admin, name, reason="x")
        t.join()
        assert killed.is_set()
        assert "unknown" in ei.value.message and "stays pending" in ei.value.message
        assert "*" not in ei.value.message  # no hash in the message
        last = events(mctx)[-1]
        assert last.action == "password.reset" and last.outcome == "pending"
        assert [p.target for p in accounts.pending(mctx, admin)] == [name]
    finally:
        t.join()
        blocker.close()  # the lock goes with it
    assert [s.outcome for s in accounts.settle_pending(mctx)] == ["failed"]  # it never landed
    assert accounts_on.signs_in(name, "an old password 1")
    assert accounts.pending(mctx, admin) == []
    assert audit.verify_chain(mctx, admin).ok


def test_the_statement_sent_carries_the_hash_as_a_parameter(accounts_on, mctx):
    stmt, args = MySQLUsersStore.password_statement("we'ird", "%", native_hash("a chosen password 1"))
    assert "a chosen password 1" not in stmt + repr(args)
    cred = mctx.store.new_credential(accounts_on.make("q'uote"), "a chosen password 1")
    assert cred.value == native_hash("a chosen password 1") and "a chosen" not in repr(cred)
    admin = operator(mctx, "admin")
    r = accounts.reset_password(mctx, admin, accounts_on.name("q'uote"), reason="x")
    assert accounts_on.signs_in(accounts_on.name("q'uote"), r.password.reveal())


def test_a_server_message_that_quotes_the_statement_is_not_shown_and_a_secret_is_scrubbed():
    from console.stores.mysql_users import _server_words

    h = native_hash("a chosen password 1")
    syntax = pymysql.err.ProgrammingError(1064, f"You have an error in your SQL syntax; near '{h}' at line 1")
    assert h not in _server_words(syntax, (h,)) and "(error 1064)" in _server_words(syntax, (h,))
    other = pymysql.err.OperationalError(1396, f"Operation ALTER USER failed for '{h}'@'x'")
    assert _server_words(other, (h,)) == "Operation ALTER USER failed for '<secret>'@'x' (error 1396)"


def test_a_lifetime_that_has_run_out_is_flagged_on_the_consoles_clock(accounts_on, mctx, clock):
    admin = operator(mctx, "admin")
    name = accounts_on.make("aging", options="PASSWORD EXPIRE INTERVAL 30 DAY")
    assert accounts.get_account(mctx, admin, name).flags == ()
    clock.advance(days=31)
    assert any("its lifetime ended" in f for f in accounts.get_account(mctx, admin, name).flags)
    # PASSWORD EXPIRE NEVER (set_expiry(None)) reads back as what expected_expiry says.
    mctx.store.set_expiry(name, None)
    assert mctx.store.probe(name, "expiry") == mctx.store.expected_expiry(None) == "never"
    assert accounts.get_account(mctx, admin, name).flags == ()


def test_the_pending_event_names_the_account_as_the_store_does(accounts_on, mctx):
    """user@% is no native username: the audit still names it, pending and outcome alike."""
    admin = operator(mctx, "admin")
    web = accounts_on.make("web", host="10.0.%")
    accounts.block(mctx, admin, web, reason="x")
    pend, done = events(mctx)[-2:]
    assert (pend.outcome, pend.target, done.target) == ("pending", web, web)


def test_an_account_with_another_sign_in_method_besides_its_password_is_not_reset(accounts_on, mctx):
    """IDENTIFIED VIA unix_socket OR mysql_native_password: mysql.user shows
    the native plugin, and ALTER USER … IDENTIFIED BY PASSWORD would leave
    only the password (the server drops unix_socket)."""
    admin = operator(mctx, "admin")
    user = accounts_on.prefix + "both"
    accounts_on.server.sql("CREATE USER %s@'127.0.0.1' IDENTIFIED VIA unix_socket OR mysql_native_password "
                           "USING PASSWORD('an old password 1')", (user,))
    name = f"{user}@127.0.0.1"
    with pytest.raises(StoreRefused) as ei:
        accounts.reset_password(mctx, admin, name, reason="x")
    assert "more than one method" in ei.value.message
    assert [m.get("plugin", "mysql_native_password") for m in accounts_on.priv(name)["auth_or"]] == \
        ["unix_socket", "mysql_native_password"]
    assert accounts_on.signs_in(name, "an old password 1")


def test_probe_cannot_tell_while_another_connection_of_the_stores_account_is_open(accounts_on, mctx, store_admin):
    """A console killed after sending ALTER USER leaves the server finishing
    it: until that connection is gone, what the server shows is not the answer."""
    web = accounts_on.make("web")
    other = accounts_on.connect(store_admin, ADMIN_PASSWORD)  # as a killed console's connection still is
    try:
        assert mctx.store.probe(web, "blocked") is None
    finally:
        other.close()
    deadline = time.monotonic() + 10
    while mctx.store.probe(web, "blocked") is None:
        assert time.monotonic() < deadline, "the closed connection never left the process list"
    assert mctx.store.probe(web, "blocked") == "active"


def test_an_option_the_store_does_not_take_is_refused_not_dropped():
    """?ssl=… (not PyMySQL's name) would be dropped without a word, and the
    operator would believe the connection encrypted: refused, naming what is taken."""
    with pytest.raises(StoreError) as ei:
        MySQLUsersStore("mysql+pymysql://admin@db.example.org:3306/mysql?ssl=true")
    assert "unknown option(s) ssl" in ei.value.message and "ssl_ca" in ei.value.message
