"""The redis-acl store against a real Redis server (Debian's redis-server,
started by the tests): what userdesk changes, the server itself enforces (AUTH
with the new password and not the old, ``off``, connections closed by CLIENT
KILL USER and ACL DELUSER, the ACL file written by ACL SAVE)."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone

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
from console.stores.redis_acl import RedisAclStore

from redisserver import (  # noqa: F401  (fixtures)
    ADMIN,
    ADMIN_PASSWORD,
    OLD,
    Users,
    alive,
    make_rctx,
    operator,
    rctx,
    redis_conf_server,
    redis_server,
    redis_servers,
    rusers,
)


def events(ctx) -> list[AuditEvent]:
    with ctx.read_session() as s:
        return list(s.exec(select(AuditEvent).order_by(AuditEvent.seq)))


def audit_text(ctx) -> str:
    return "\n".join(f"{e.action} {e.target} {e.outcome} {e.error_code} {e.details} {e.reason}" for e in events(ctx))


def sha(pw: str) -> str:
    return hashlib.sha256(pw.encode()).hexdigest()


# -- reading ---------------------------------------------------------------------------


def test_lists_acl_users_paged_on_the_sorted_names_and_counts_them(rusers, rctx):
    admin = operator(rctx, "admin")
    names = [rusers.make(n) for n in ("carol", "alice", "erin", "bob", "dave")]
    q = rusers.prefix
    seen, cursor = [], None
    while True:
        page = accounts.list_accounts(rctx, admin, search=q, cursor=cursor, limit=2)
        seen += [a.username for a in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(names)
    back = accounts.list_accounts(rctx, admin, search=q, from_end=True, limit=3)
    assert [a.username for a in back.items] == sorted(names)[-3:]
    before = accounts.list_accounts(rctx, admin, search=q, before=back.prev_cursor, limit=3)
    assert [a.username for a in before.items] == sorted(names)[:2]
    assert accounts.count_accounts(rctx, admin, search=q).value == 5
    assert accounts.count_accounts(rctx, admin, search=q.upper() + "ALI").value == 1  # case-insensitive
    assert rctx.store.count(search=q, cap=3) == (3, True)
    everyone = [a.username for a in accounts.list_accounts(rctx, admin, limit=100).items]
    assert "default" in everyone and ADMIN in everyone


def test_detail_shows_on_off_passwords_keys_channels_commands_selectors_and_sessions(rusers, rctx):
    admin = operator(rctx, "admin")
    name = rusers.make("app", OLD, "~app:*", "%R~cache:*", "&news", "+get", "+set", "+ping", "(~tmp:* +del)")
    rusers.server.admin().execute_command("ACL", "SETUSER", name, ">a second password 2")
    held = rusers.connect(name, OLD)
    acc = accounts.get_account(rctx, admin, name)
    d = dict(acc.details)
    assert d["status"] == "on" and d["passwords"] == "2 (SHA-256, unsalted: prefer generated passwords)"
    assert d["keys"] == "~app:* %R~cache:*" and d["channels"] == "&news"
    assert "+get" in d["commands"] and "+set" in d["commands"] and "-@all" in d["commands"]
    assert d["selector 1"] == "(~tmp:* -@all +del)"
    assert d["sessions"] == "1" and d["changes users"] == "no"
    assert d["saved"] == f"by ACL SAVE to {rusers.server.acl_path}"
    assert acc.role == "member" and acc.kind == "user" and acc.flags == () and not acc.blocked
    held.close()
    open_ = accounts.get_account(rctx, admin, rusers.make("anyone", None))
    assert dict(open_.details)["passwords"] == "any (nopass)" and any("nopass" in f for f in open_.flags)
    # Rights over other users: the ACL commands, or +@all, make an admin.
    mgr = accounts.get_account(rctx, admin, rusers.make("mgr", OLD, "+acl"))
    root = accounts.get_account(rctx, admin, rusers.make("root", OLD, "~*", "+@all"))
    assert (mgr.role, mgr.kind, root.role, root.kind) == ("admin", "admin", "admin", "admin")
    assert dict(mgr.details)["changes users"] == "yes"
    d_ = accounts.get_account(rctx, admin, "default")
    assert d_.role == "admin" and d_.kind == "default" and d_.blocked
    me = accounts.get_account(rctx, admin, ADMIN)
    assert any("own connection" in f for f in me.flags)


def test_text_from_the_server_is_shown_as_text(rusers, rctx):
    admin = operator(rctx, "admin")
    name = rusers.make("odd", OLD, "~k\x1b[31m*", "+get")
    d = dict(accounts.get_account(rctx, admin, name).details)
    assert "\x1b" not in d["keys"] and "\\x1b" in d["keys"]


# -- passwords ---------------------------------------------------------------------------


def test_a_reset_auths_with_the_new_password_not_the_old_ends_sessions_and_is_saved(rusers, rctx, redis_server):
    admin = operator(rctx, "admin")
    name = rusers.make("web")
    assert rusers.signs_in(name, OLD)
    held = rusers.connect(name, OLD)
    a = redis_server.admin()
    a.execute_command("SLOWLOG", "RESET")
    a.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        r = accounts.reset_password(rctx, admin, name, reason="rotated")
    finally:
        a.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    new = r.password.reveal()
    assert rusers.signs_in(name, new)
    assert not rusers.signs_in(name, OLD)
    assert r.sessions_revoked == 1 and not alive(held)  # Redis keeps it open; CLIENT KILL USER closed it
    assert rusers.getuser(name)["passwords"] == [sha(new)]
    assert r.written_as.startswith("SHA-256")
    # The server logged neither the password nor its hash: SLOWLOG redacts ACL SETUSER's arguments.
    slow = repr(a.execute_command("SLOWLOG", "GET", "100"))
    assert "SETUSER" in slow and "(redacted)" in slow and sha(new) not in slow and new not in slow
    assert new not in audit_text(rctx) and sha(new) not in audit_text(rctx)
    # ACL SAVE wrote the file: the new hash is there, and survives a restart of the server.
    text = redis_server.acl_path.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith(f"user {name} "))
    assert f"#{sha(new)}" in line and new not in text
    redis_server.restart()
    assert rusers.signs_in(name, new) and not rusers.signs_in(name, OLD)


def test_set_password_follows_the_dcs_policy_and_redis_accepts_it(rusers, make_rctx, redis_server):
    ctx = make_rctx(redis_server, policy="dcs")
    admin = operator(ctx, "admin")
    name = rusers.make("svc")
    with pytest.raises(WeakPassword):
        accounts.set_password(ctx, admin, name, "onlylowercase", reason="x")
    assert rusers.signs_in(name, OLD)
    accounts.set_password(ctx, admin, name, "Cache-Key_2026!x", reason="x")
    assert rusers.signs_in(name, "Cache-Key_2026!x") and not rusers.signs_in(name, OLD)
    assert "Cache-Key_2026!x" not in audit_text(ctx) and sha("Cache-Key_2026!x") not in audit_text(ctx)


def test_the_credential_is_only_the_hash_and_a_reset_takes_nopass_away(rusers, rctx):
    cred = rctx.store.new_credential("x", "a chosen password 1")
    assert cred.value == "#" + sha("a chosen password 1") and "a chosen password 1" not in repr(cred)
    assert cred.value not in repr(cred)
    admin = operator(rctx, "admin")
    name = rusers.make("open", None)
    assert rusers.signs_in(name, "anything at all")
    r = accounts.reset_password(rctx, admin, name, reason="x")
    assert not rusers.signs_in(name, "anything at all") and rusers.signs_in(name, r.password.reveal())
    assert "nopass" not in rusers.getuser(name)["flags"]


# -- block, sessions, delete ------------------------------------------------------------------


def test_block_is_off_and_ends_the_connections_redis_would_keep_unblock_is_on(rusers, rctx):
    admin = operator(rctx, "admin")
    name = rusers.make("kim")
    held = rusers.connect(name, OLD)
    a = accounts.block(rctx, admin, name, reason="left the team")
    assert a.blocked and "off" in rusers.getuser(name)["flags"]
    assert not rusers.signs_in(name, OLD)
    assert not alive(held)
    last = events(rctx)[-1]
    assert last.outcome == "ok" and '"sessions_revoked":1' in last.details
    a = accounts.unblock(rctx, admin, name, reason="back")
    assert not a.blocked and rusers.signs_in(name, OLD)


def test_end_sessions_closes_the_users_connections_only(rusers, rctx):
    admin = operator(rctx, "admin")
    name, other = rusers.make("lee"), rusers.make("max")
    mine = [rusers.connect(name, OLD) for _ in range(2)]
    theirs = rusers.connect(other, OLD)
    assert accounts.revoke_sessions(rctx, admin, name, reason="x") == 2
    assert not any(alive(c) for c in mine)
    assert alive(theirs)
    theirs.close()
    assert accounts.revoke_sessions(rctx, admin, name, reason="x") == 0
    assert rusers.signs_in(name, OLD)  # the password is untouched


def test_delete_is_acl_deluser_which_closes_its_connections_and_default_is_refused_in_redis_words(rusers, rctx):
    admin = operator(rctx, "admin")
    name = rusers.make("old")
    held = rusers.connect(name, OLD)
    assert accounts.delete(rctx, admin, name, reason="leaver") == 1
    assert rusers.getuser(name) is None and not alive(held)
    assert f"user {name} " not in rusers.server.acl_path.read_text()
    with pytest.raises(StoreRefused) as ei:
        accounts.delete(rctx, admin, "default", reason="x")
    assert ei.value.message == "Redis refused: The 'default' user cannot be removed"
    last = events(rctx)[-1]
    assert last.outcome == "rejected" and last.error_code == "STORE_REFUSED"
    assert rusers.getuser("default") is not None


# -- who may do what ---------------------------------------------------------------------------


def test_default_and_users_with_rights_over_others_are_refused_to_helpdesk_and_allowed_to_admin(
        rusers, rctx, redis_server):
    hd = operator(rctx, "helpdesk")
    admin = operator(rctx, "admin")
    mgr = rusers.make("mgr", OLD, "+acl|setuser")
    member = rusers.make("member")
    for target in ("default", mgr):
        with pytest.raises(PermissionDenied):
            accounts.reset_password(rctx, hd, target, reason="x", identity_check="badge")
        with pytest.raises(PermissionDenied):
            accounts.revoke_sessions(rctx, hd, target, reason="x", identity_check="badge")
    assert rusers.signs_in(mgr, OLD)
    why = accounts.unavailable(rctx, hd, accounts.get_account(rctx, hd, "default"))
    assert "reset_password" in why and "member" in why["reset_password"]
    with pytest.raises(IdentityCheckRequired):
        accounts.reset_password(rctx, hd, member, reason="x")
    r = accounts.reset_password(rctx, hd, member, reason="called", identity_check="callback")
    assert rusers.signs_in(member, r.password.reveal())
    r = accounts.reset_password(rctx, admin, mgr, reason="x")
    assert rusers.signs_in(mgr, r.password.reveal())
    before = rusers.getuser("default")
    try:
        r = accounts.reset_password(rctx, admin, "default", reason="x")
        assert rusers.getuser("default")["passwords"] == [sha(r.password.reveal())]
    finally:  # as the run's server had it: off, no password
        redis_server.admin().execute_command("ACL", "SETUSER", "default", "resetpass", "off")
        redis_server.admin().execute_command("ACL", "SAVE")
    assert rusers.getuser("default")["passwords"] == before["passwords"] == []


def test_the_connections_own_user_is_refused_with_a_reason(rusers, rctx):
    admin = operator(rctx, "admin")
    for act, call in ((Action.RESET_PASSWORD, lambda: accounts.reset_password(rctx, admin, ADMIN, reason="x")),
                      (Action.BLOCK, lambda: accounts.block(rctx, admin, ADMIN, reason="x")),
                      (Action.DELETE, lambda: accounts.delete(rctx, admin, ADMIN, reason="x")),
                      (Action.REVOKE_SESSIONS, lambda: accounts.revoke_sessions(rctx, admin, ADMIN))):
        with pytest.raises(NotSupported) as ei:
            call()
        assert "the user userdesk connects as" in ei.value.message, act
    assert rusers.signs_in(ADMIN, ADMIN_PASSWORD) and "on" in rusers.getuser(ADMIN)["flags"]
    why = accounts.unavailable(rctx, admin, accounts.get_account(rctx, admin, ADMIN))
    assert "connects as" in why["reset_password"] and "connects as" in why["block"]


@pytest.mark.parametrize("act", [Action.FORCE_CHANGE, Action.EXPIRE, Action.UNLOCK, Action.ISSUE_TICKET,
                                 Action.EMAIL_TICKET, Action.CREATE, Action.SET_ROLE, Action.UPDATE_PROFILE])
def test_what_redis_cannot_do_is_unavailable_with_its_reason(rusers, rctx, act):
    admin = operator(rctx, "admin")
    name = rusers.make("jo")
    with pytest.raises(NotSupported) as ei:
        accounts.refuse(rctx, admin, act, name, reason="x")
    assert ei.value.message.startswith("not supported by the redis-acl store: ")
    caps = accounts.capabilities(rctx)
    assert caps[act.value] and caps["reset_password"] is None and caps["block"] is None and caps["delete"] is None
    why = accounts.unavailable(rctx, admin, accounts.get_account(rctx, admin, name))
    assert why[act.value].startswith("redis-acl: ")
    assert events(rctx)[-1].error_code == "NOT_SUPPORTED"
    with pytest.raises(NotSupported):  # and a reset with an expiry asks for what Redis has not
        accounts.reset_password(rctx, admin, name, reason="x", expiry_days=30)
    assert rusers.signs_in(name, OLD)


# -- persistence ----------------------------------------------------------------------------------


def test_without_an_aclfile_changes_are_said_to_be_lost_at_restart_and_they_are(make_rctx, redis_conf_server):
    users = Users(redis_conf_server, "udconf-")
    name = users.make("svc")
    try:
        ctx = make_rctx(redis_conf_server)
        admin = operator(ctx, "admin")
        acc = accounts.get_account(ctx, admin, name)
        said = [f for f in acc.flags if "lost at restart" in f]
        assert said and "no aclfile" in said[0]
        assert "This Redis instance is not configured to use an ACL file" in said[0]  # ACL SAVE, in Redis's words
        assert dict(acc.details)["saved"] == "no: changes are lost at restart (no aclfile)"
        r = accounts.reset_password(ctx, admin, name, reason="x")
        assert users.signs_in(name, r.password.reveal())
        assert "not saved" in r.written_as and "not saved" in events(ctx)[-1].details  # shown and audited
        redis_conf_server.restart()  # the user made at run time is gone: nothing was saved
        assert users.getuser(name) is None
        assert users.signs_in(ADMIN, ADMIN_PASSWORD)  # redis.conf's own users are back as they were
    finally:
        users.drop_all()


def test_an_acl_save_that_fails_after_the_change_is_shown_not_reported_as_refused(rusers, rctx, redis_server):
    admin = operator(rctx, "admin")
    name = rusers.make("kept")
    path = redis_server.acl_path
    aside = path.with_suffix(".aside")
    os.rename(path, aside)
    path.mkdir()  # ACL SAVE's rename onto it fails
    try:
        r = accounts.reset_password(rctx, admin, name, reason="x")
        assert rusers.signs_in(name, r.password.reveal())  # the change holds in the running server
        assert "NOT SAVED" in r.written_as and "NOT SAVED" in events(rctx)[-1].details  # shown and audited
        acc = accounts.get_account(rctx, admin, name)
        assert any("not saved to the aclfile" in f and "ACL SAVE failed" in f for f in acc.flags), acc.flags
        assert dict(acc.details)["saved"] == "no: the last ACL SAVE failed"
        assert events(rctx)[-1].outcome == "ok"
    finally:
        path.rmdir()
        os.rename(aside, path)
    accounts.block(rctx, admin, name, reason="x")  # a later save succeeds and clears the warning
    assert not any("not saved" in f for f in accounts.get_account(rctx, admin, name).flags)
    assert f"user {name} off " in path.read_text()


# -- pending → outcome; a lost server ------------------------------------------------------------


def test_every_change_is_pending_then_settled_and_a_crash_is_settled_against_the_server(rusers, rctx):
    admin = operator(rctx, "admin")
    a, b, c = rusers.make("a"), rusers.make("b"), rusers.make("c")
    accounts.reset_password(rctx, admin, a, reason="x")
    pend, done = events(rctx)[-2:]
    assert pend.outcome == "pending" and done.outcome == "ok" and f'"settles":{pend.seq}' in done.details
    import console.services.accounts as mod

    real = mod._outcome
    mod._outcome = lambda *args, **kw: None  # as a crash after the change leaves it
    try:
        accounts.reset_password(rctx, admin, b, reason="crash after the change")
        accounts.block(rctx, admin, c, reason="crash after the change")
    finally:
        mod._outcome = real
    with rctx.write_session() as s:  # and one whose change never reached the server
        s.add(PendingChange(seq=99999, store="redis-acl", target=a, change="credential",
                            probe=hashlib.sha256(b"another hash").hexdigest(), at=datetime.now(timezone.utc)))
        s.commit()
    settled = {s.target: s.outcome for s in accounts.settle_pending(rctx)}
    assert settled == {b: "ok", c: "ok", a: "failed"}
    assert accounts.pending(rctx, admin) == []
    assert audit.verify_chain(rctx, admin).ok


def test_a_server_that_cannot_be_reached_is_store_unavailable_and_the_password_never_in_an_error(
        rusers, rctx, redis_server, monkeypatch):
    admin = operator(rctx, "admin")
    name = rusers.make("far")
    rctx.store._url = redis_server.url().replace(f":{redis_server.port}/", ":1/")
    with pytest.raises(StoreUnavailable):
        accounts.reset_password(rctx, admin, name, reason="x")
    assert rusers.signs_in(name, OLD)
    monkeypatch.delenv("REDISCLI_AUTH", raising=False)
    with pytest.raises(StoreError) as ei:
        RedisAclStore(redis_server.url(password="a wrong secret"))
    assert ei.value.refused is False and "cannot connect" in ei.value.message
    assert "WRONGPASS" in ei.value.message or "invalid username-password" in ei.value.message
    assert "wrong secret" not in ei.value.message
    with pytest.raises(StoreError):
        RedisAclStore(redis_server.url(password=None))
    # The password from REDISCLI_AUTH, as redis-cli takes it, when the URL has none.
    monkeypatch.setenv("REDISCLI_AUTH", ADMIN_PASSWORD)
    store = RedisAclStore(redis_server.url(password=None))
    assert store.current_user == ADMIN and ADMIN_PASSWORD not in store.where
    for bad in ("postgresql://x@h/db", "not a url", "redis://"):
        with pytest.raises(StoreError) as ei:
            RedisAclStore(bad)
        assert "redis://" in ei.value.message


def test_a_connection_that_may_not_change_users_is_refused_when_opened(rusers):
    plain = rusers.make("plain", "plain's password 1", "~*", "+@read", "+acl|whoami", "+acl|dryrun")
    with pytest.raises(StoreError) as ei:
        RedisAclStore(rusers.server.url(plain, "plain's password 1"))
    assert "may not run ACL SETUSER" in ei.value.message
    reader = rusers.make("reader", "reader's password 1", "~*", "+@read")
    with pytest.raises(StoreError) as ei:
        RedisAclStore(rusers.server.url(reader, "reader's password 1"))
    assert "cannot read or change ACL users" in ei.value.message and "no permissions" in ei.value.message


def test_a_connection_lost_after_setuser_was_sent_stays_pending_and_is_settled_once_the_server_can_tell(
        rusers, rctx, redis_server, monkeypatch):
    admin = operator(rctx, "admin")
    name = rusers.make("inflight")
    store = rctx.store
    store._options["socket_timeout"] = 1.0
    real = store._existing

    def then_the_server_hangs(r, username):  # the user is found; the server freezes before SETUSER's answer
        got = real(r, username)
        redis_server.freeze()
        return got

    monkeypatch.setattr(store, "_existing", then_the_server_hangs)
    try:
        with pytest.raises(StoreUnavailable) as ei:
            accounts.reset_password(rctx, admin, name, reason="x")
        assert "unknown" in ei.value.message and "stays pending" in ei.value.message
        last = events(rctx)[-1]
        assert last.action == "password.reset" and last.outcome == "pending"  # no outcome claimed
        assert [p.target for p in accounts.pending(rctx, admin)] == [name]
        assert [s.outcome for s in accounts.settle_pending(rctx)] == ["unknown"]  # the server does not answer
    finally:
        redis_server.thaw()
    monkeypatch.undo()
    store._options["socket_timeout"] = 30
    # The SETUSER sat in the server's socket buffer: thawed, the server ran it.
    assert [s.outcome for s in accounts.settle_pending(rctx)] == ["ok"]
    assert not rusers.signs_in(name, OLD)
    assert accounts.pending(rctx, admin) == []
    assert audit.verify_chain(rctx, admin).ok


def test_the_default_desk_is_the_same_whatever_password_the_url_carries():
    from console.config import desk_url_for

    plain = "redis://ud-admin@cache1.example.org:6379/0"
    with_pw = "redis://ud-admin:s3cret%20pw@cache1.example.org:6379/0"
    assert desk_url_for("redis-acl", with_pw) == desk_url_for("redis-acl", plain)
    assert "s3cret" not in desk_url_for("redis-acl", with_pw)


def test_the_connections_password_from_a_file_only_its_owner_may_read(rusers, redis_server, tmp_path, monkeypatch):
    from console.errors import ConfigError
    from console.stores import open_store

    from redisserver import redis_settings

    monkeypatch.delenv("REDISCLI_AUTH", raising=False)
    secret = tmp_path / "redis-password"
    secret.write_text(ADMIN_PASSWORD + "\n")
    secret.chmod(0o644)
    settings = redis_settings(tmp_path, redis_server, url=redis_server.url(password=None),
                              redis_password_file=str(secret))
    with pytest.raises(ConfigError) as ei:
        open_store(settings)
    assert "readable by others" in str(ei.value) and ADMIN_PASSWORD not in str(ei.value)
    secret.chmod(0o600)
    store = open_store(settings)
    assert store.current_user == ADMIN
    # The URL's own password wins over the file.
    secret.write_text("not the password\n")
    with pytest.raises(StoreError):
        open_store(settings)
    assert open_store(settings.model_copy(update={"database_url": redis_server.url()})).current_user == ADMIN


def test_a_server_killed_with_setuser_unanswered_never_took_it_and_the_pending_change_settles_failed(
        rusers, rctx, redis_server, monkeypatch):
    admin = operator(rctx, "admin")
    name = rusers.make("lost")
    redis_server.admin().execute_command("ACL", "SAVE")  # the user, as the aclfile keeps it
    store = rctx.store
    store._options["socket_timeout"] = 1.0
    real = store._existing

    def then_the_server_hangs(r, username):
        got = real(r, username)
        redis_server.freeze()
        return got

    monkeypatch.setattr(store, "_existing", then_the_server_hangs)
    try:
        with pytest.raises(StoreUnavailable) as ei:
            accounts.reset_password(rctx, admin, name, reason="x")
        assert "stays pending" in ei.value.message
    finally:
        redis_server.stop()  # SIGKILL, still frozen: the SETUSER never ran, and no ACL SAVE was ever sent
        redis_server.start()  # the users as the aclfile has them
    monkeypatch.undo()
    store._options["socket_timeout"] = 30
    assert rusers.signs_in(name, OLD)
    assert [s.outcome for s in accounts.settle_pending(rctx)] == ["failed"]
    last = events(rctx)[-1]
    assert last.outcome == "error" and last.error_code == "NOT_APPLIED"
    assert accounts.pending(rctx, admin) == []


def test_a_connection_lost_after_setuser_was_answered_still_shows_the_password(rusers, rctx, monkeypatch):
    admin = operator(rctx, "admin")
    name = rusers.make("answered")
    store = rctx.store
    real_save = store._save

    def then_the_connection_goes(r):  # SETUSER answered OK; the connection is cut before the rest
        real_save(r)
        r.connection.disconnect()
        r.connection.port = 1  # (redis-py would reconnect; nothing answers there)

    monkeypatch.setattr(store, "_save", then_the_connection_goes)
    r = accounts.reset_password(rctx, admin, name, reason="x")
    assert r.sessions_revoked == 0 and rusers.signs_in(name, r.password.reveal())
    assert events(rctx)[-1].outcome == "ok"
