"""The audit chain anchored outside the database (issue 12, item 1): every
event and the head are signed with a key the database does not hold, and
checkpoints an operator keeps elsewhere catch what a database alone cannot (a
log cut back to an earlier state it once had, a rewrite by someone with the
key). Each attack is done with raw SQL, as anyone who can write the database
could."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from console import schema
from console.config import audit_keys_dir
from console.models import AuditEvent, AuditHead
from console.services import audit, auditlog, database, users
from console.services.context import Actor
from console.services.errors import (AuditBroken, AuditKeyMismatch, AuditKeyMissing, ConfigError, InvalidInput)

SYSTEM = Actor.system("test")


def sql(ctx, stmt: str, **params) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(text(stmt), params)


def rows(ctx, stmt: str, **params) -> list:
    with ctx.engine.connect() as conn:
        return list(conn.execute(text(stmt), params))


def head(ctx) -> tuple:
    return rows(ctx, "SELECT seq, hash, key_id, mac FROM audit_head")[0]


@pytest.fixture
def chain(ctx, make_user):
    for i in range(6):
        make_user(f"u{i}")
    assert audit.verify_chain(ctx, SYSTEM) == audit.ChainReport(True, 6)


def rehash_from(ctx, seq: int, *, key=None) -> None:
    """Recompute every hash from event ``seq`` on and the head, as someone who
    can write the database can (with the desk's key too if ``key``)."""
    with Session(ctx.engine) as s:
        prev = s.exec(select(AuditEvent.hash).where(AuditEvent.seq == seq - 1)).first() or auditlog.GENESIS
        for ev in s.exec(select(AuditEvent).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq)).all():
            ev.prev_hash = prev
            ev.hash = auditlog.event_hash(prev, ev)
            if key is not None:
                ev.mac = key.sign_event(ev.hash)
            prev = ev.hash
            s.add(ev)
        h = s.get(AuditHead, 1)
        h.seq = s.exec(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())).first()
        h.hash = prev
        if key is not None:
            h.mac = key.sign_head(h.seq, h.hash)
        s.add(h)
        s.commit()


# -- what the key alone catches ------------------------------------------------------------


def test_the_two_update_truncation_is_detected(ctx, chain):
    """The attack the review found: delete the newest event and copy the
    previous one's number and hash into audit_head."""
    [(seq5, hash5)] = rows(ctx, "SELECT seq, hash FROM audit_events WHERE seq = 5")
    sql(ctx, "DELETE FROM audit_events WHERE seq = 6")
    sql(ctx, "UPDATE audit_head SET seq = :s, hash = :h", s=seq5, h=hash5)
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and "head (event #5) is not signed" in r.problem


def test_a_full_rewrite_without_the_key_is_detected(ctx, chain):
    """Remove event 3, renumber what follows and recompute every hash and
    the head: the plain chain is consistent again, its signatures are not."""
    sql(ctx, "DELETE FROM audit_events WHERE seq = 3")
    sql(ctx, "UPDATE audit_events SET seq = seq - 1 WHERE seq > 3")
    rehash_from(ctx, 3)
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 3 and "#3 is not signed" in r.problem


def test_signatures_copied_from_another_desk_do_not_verify(ctx, chain, make_ctx, tmp_path):
    other = make_ctx(database_url=f"sqlite:///{tmp_path / 'other.db'}")
    database.upgrade_schema(other)
    users.create_user(other, SYSTEM, "u0")
    [(mac,)] = rows(other, "SELECT mac FROM audit_events WHERE seq = 1")
    assert head(other)[2] != head(ctx)[2]  # each desk has its own key
    sql(ctx, "UPDATE audit_events SET mac = :m WHERE seq = 1", m=mac)
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 1


def test_a_forged_head_stops_every_change_and_is_not_audited(ctx, chain, make_user):
    """Extending a log whose head was moved would sign what was done to it."""
    [(seq5, hash5)] = rows(ctx, "SELECT seq, hash FROM audit_events WHERE seq = 5")
    sql(ctx, "DELETE FROM audit_events WHERE seq = 6")
    sql(ctx, "UPDATE audit_head SET seq = :s, hash = :h", s=seq5, h=hash5)
    with pytest.raises(AuditBroken) as ei:
        users.block_user(ctx, SYSTEM, "u1", reason="x")
    assert ei.value.code == "AUDIT_BROKEN" and "audit --verify" in ei.value.message
    assert rows(ctx, "SELECT blocked FROM users WHERE username = 'u1'") == [(False,)]
    assert rows(ctx, "SELECT count(*) FROM audit_events") == [(5,)]


# -- the key: outside the database ---------------------------------------------------------


def test_the_key_is_a_private_file_named_by_its_id_and_never_in_the_database(ctx, chain, backend):
    seq, _hash, key_id, _mac = head(ctx)
    path = audit_keys_dir() / f"{key_id}.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    content = path.read_text().strip()
    key = ctx.audit_key(key_id)
    assert key.id == key_id and content not in repr(key)
    if backend == "sqlite":
        raw = open(ctx.engine.url.database, "rb").read()
        assert content.encode() not in raw


def test_without_the_key_nothing_changes_and_reads_still_work(ctx, chain, make_ctx):
    key_id = head(ctx)[2]
    path = audit_keys_dir() / f"{key_id}.key"
    path.rename(path.with_suffix(".away"))
    fresh = make_ctx()  # another process: nothing cached
    with pytest.raises(AuditKeyMissing) as ei:
        users.block_user(fresh, SYSTEM, "u1", reason="x")
    assert key_id in ei.value.message and str(path) in ei.value.message
    assert rows(ctx, "SELECT blocked FROM users WHERE username = 'u1'") == [(False,)]
    assert rows(ctx, "SELECT count(*) FROM audit_events") == [(6,)]
    assert len(audit.query(fresh, SYSTEM).items) == 6
    r = audit.verify_chain(fresh, SYSTEM)
    assert (r.ok, r.signatures_checked, r.broken_at) == (False, False, None)
    assert "cannot be checked" in r.problem and key_id in r.problem


def test_another_key_is_refused(ctx, chain, make_ctx):
    from console.security.auditkey import AuditKey

    other = AuditKey.generate()
    fresh = make_ctx(audit_key=other.text())
    with pytest.raises(AuditKeyMismatch):
        users.block_user(fresh, SYSTEM, "u1", reason="x")
    assert rows(ctx, "SELECT blocked FROM users WHERE username = 'u1'") == [(False,)]
    assert rows(ctx, "SELECT count(*) FROM audit_events") == [(6,)]
    r = audit.verify_chain(fresh, SYSTEM)
    assert not r.ok and not r.signatures_checked and other.id in r.problem


def test_a_key_file_others_may_read_is_refused(ctx, chain, make_ctx):
    path = audit_keys_dir() / f"{head(ctx)[2]}.key"
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError) as ei:
        users.block_user(make_ctx(), SYSTEM, "u1", reason="x")
    assert "chmod 600" in ei.value.message and path.read_text().strip() not in ei.value.message


def test_a_key_given_in_the_settings_signs_a_new_desk_and_no_file_is_made(make_ctx, tmp_path):
    from console.security.auditkey import AuditKey

    key = AuditKey.generate()
    c = make_ctx(database_url=f"sqlite:///{tmp_path / 'team.db'}", audit_key=key.text())
    database.upgrade_schema(c)
    users.create_user(c, SYSTEM, "ann")
    assert head(c)[2] == key.id
    assert not audit_keys_dir().exists()
    assert audit.verify_chain(c, SYSTEM).ok


def test_a_key_file_named_in_the_settings_is_made_there(make_ctx, tmp_path):
    path = tmp_path / "keys" / "desk.key"
    c = make_ctx(database_url=f"sqlite:///{tmp_path / 'k.db'}", audit_key_file=str(path))
    database.upgrade_schema(c)
    users.create_user(c, SYSTEM, "ann")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert c.audit_key(None).id == head(c)[2]


# -- a log written before audit keys -------------------------------------------------------


def unsign(ctx) -> None:
    """Strip the signatures: the columns emptied."""
    sql(ctx, "UPDATE audit_events SET mac = NULL")
    sql(ctx, "UPDATE audit_head SET key_id = NULL, mac = NULL")


def to_0005(ctx) -> None:
    """What a log written by an older userdesk is: unsigned, at migration 0005."""
    from alembic import command

    from console import schema

    unsign(ctx)
    with ctx.engine.begin() as conn:
        command.downgrade(schema.config(conn), "0005")


def test_a_log_written_before_keys_is_signed_by_the_upgrade_that_brings_them(ctx, chain, make_ctx):
    to_0005(ctx)
    fresh = make_ctx()
    done = database.upgrade_schema(fresh)
    assert (done.before.current, done.after.current, done.signed) == ("0005", schema.HEAD, 6)
    assert audit.verify_chain(fresh, SYSTEM) == audit.ChainReport(True, 7)  # and its own audit.sign event
    assert database.upgrade_schema(fresh).signed == 0
    users.block_user(fresh, SYSTEM, "u1", reason="x")
    assert audit.verify_chain(fresh, SYSTEM).ok


def test_stripped_signatures_are_never_signed_again(ctx, chain, make_ctx):
    """Someone rewrites events and empties the signature columns: db upgrade
    at 0006 signs nothing, every change is refused, verify says so."""
    sql(ctx, "UPDATE audit_events SET reason = 'nothing happened' WHERE seq = 4")
    rehash_from(ctx, 4)
    unsign(ctx)
    fresh = make_ctx()
    assert database.upgrade_schema(fresh).signed == 0
    with pytest.raises(AuditBroken) as ei:
        users.block_user(fresh, SYSTEM, "u1", reason="x")
    assert "signatures were stripped" in ei.value.message
    r = audit.verify_chain(fresh, SYSTEM)
    assert not r.ok and "not signed" in r.problem and "stripped" in r.problem
    assert head(ctx)[2] is None


def test_a_log_written_before_keys_that_does_not_verify_is_not_signed(ctx, chain, make_ctx):
    to_0005(ctx)
    sql(ctx, "UPDATE audit_events SET reason = 'forged' WHERE seq = 2")
    keys = sorted(audit_keys_dir().glob("*.key"))
    fresh = make_ctx()
    with pytest.raises(AuditBroken) as ei:
        database.upgrade_schema(fresh)
    assert "#2" in ei.value.message
    assert head(ctx)[2] is None and rows(ctx, "SELECT count(*) FROM audit_events WHERE mac IS NOT NULL") == [(0,)]
    assert sorted(audit_keys_dir().glob("*.key")) == keys  # no key made for it


# -- a head removed or set back ------------------------------------------------------------


def test_a_removed_head_is_broken_and_the_log_is_not_started_again(ctx, chain, make_ctx):
    """Without its head the signatures would go unchecked: edit, recompute, drop the head."""
    sql(ctx, "UPDATE audit_events SET reason = 'nothing happened' WHERE seq = 3")
    rehash_from(ctx, 3)
    sql(ctx, "DELETE FROM audit_head")
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and "head is gone" in r.problem
    keys = sorted(audit_keys_dir().glob("*.key"))
    with pytest.raises(AuditBroken):
        users.block_user(make_ctx(), SYSTEM, "u1", reason="x")
    assert sorted(audit_keys_dir().glob("*.key")) == keys  # no new key for a new log
    assert rows(ctx, "SELECT count(*) FROM audit_head") == [(0,)]


def test_a_log_emptied_and_its_head_set_back_is_seen(ctx, chain, make_user):
    make_user("ops", role="admin")
    sql(ctx, "DELETE FROM audit_events")
    sql(ctx, "UPDATE audit_head SET seq = 0, hash = :g, key_id = NULL, mac = NULL", g=auditlog.GENESIS)
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and "the log was deleted" in r.problem


@pytest.mark.parametrize("key_id", ["../../etc/x", "\x1b]0;PWNED\x07abcdef", "ABCDEF0123456789"])
def test_a_head_naming_no_key_is_forged(ctx, chain, make_ctx, key_id):
    sql(ctx, "UPDATE audit_head SET key_id = :k", k=key_id)
    r = audit.verify_chain(make_ctx(), SYSTEM)
    assert not r.ok and "names no audit key" in r.problem and key_id not in r.problem
    with pytest.raises(AuditBroken):
        users.block_user(make_ctx(), SYSTEM, "u1", reason="x")


# -- without the key, counts that stop guessing still hold ---------------------------------


def test_the_applications_lockout_holds_without_the_key(ctx, chain, make_ctx, make_user):
    from console.services import auth

    pw = make_user("guessed").password.reveal()
    key_id = head(ctx)[2]
    path = audit_keys_dir() / f"{key_id}.key"
    path.rename(path.with_suffix(".away"))
    app = make_ctx(user_lockout_failures=3)
    for _ in range(3):
        assert auth.authenticate(app, "guessed", "wrong guess 123").status == "invalid"
    assert auth.authenticate(app, "guessed", pw).status == "locked"


# -- checkpoints: what an operator keeps outside the database ------------------------------


def test_a_checkpoint_round_trips_and_verifies(ctx, chain, clock):
    cp = audit.checkpoint(ctx, SYSTEM)
    assert (cp.seq, cp.hash) == head(ctx)[:2]
    again = audit.read_checkpoint(cp.to_json())
    assert again == cp
    assert audit.verify_against(ctx, SYSTEM, again) == audit.ChainReport(True, 6)
    users.create_user(ctx, SYSTEM, "later")  # the log goes on: still holds the checkpoint
    assert audit.verify_against(ctx, SYSTEM, again).ok


def test_a_log_cut_back_to_a_state_it_once_had_is_caught_only_by_a_checkpoint(ctx, chain, make_user):
    """Someone who kept a copy of the head row (its signature too) deletes the
    newest events and puts the old head back: every signature holds. Only a
    checkpoint made after those events tells."""
    saved = head(ctx)
    make_user("v1")
    make_user("v2")
    cp = audit.checkpoint(ctx, SYSTEM)
    sql(ctx, "DELETE FROM audit_events WHERE seq > 6")
    sql(ctx, "UPDATE audit_head SET seq = :s, hash = :h, mac = :m", s=saved[0], h=saved[1], m=saved[3])
    assert audit.verify_chain(ctx, SYSTEM).ok  # what no database-only check can see
    r = audit.verify_against(ctx, SYSTEM, cp)
    assert not r.ok and r.broken_at == 8
    assert "#8" in r.problem and "is gone" in r.problem and "ends at #6" in r.problem


def test_a_rewrite_by_someone_with_the_key_is_caught_by_a_checkpoint(ctx, chain):
    cp = audit.checkpoint(ctx, SYSTEM)
    key = ctx.audit_key(head(ctx)[2])
    sql(ctx, "UPDATE audit_events SET reason = 'nothing happened' WHERE seq = 4")
    rehash_from(ctx, 4, key=key)
    assert audit.verify_chain(ctx, SYSTEM).ok
    r = audit.verify_against(ctx, SYSTEM, cp)
    assert not r.ok and "#6 is not the one the checkpoint" in r.problem and "rewritten" in r.problem


def test_an_altered_checkpoint_is_refused(ctx, chain):
    cp = audit.checkpoint(ctx, SYSTEM)
    forged = cp.to_json().replace(cp.hash, "0" * 64)
    r = audit.verify_against(ctx, SYSTEM, audit.read_checkpoint(forged))
    assert not r.ok and "was altered" in r.problem


def test_another_desks_checkpoint_says_so(ctx, chain, make_ctx, tmp_path):
    other = make_ctx(database_url=f"sqlite:///{tmp_path / 'other.db'}")
    database.upgrade_schema(other)
    users.create_user(other, SYSTEM, "x")
    r = audit.verify_against(ctx, SYSTEM, audit.checkpoint(other, SYSTEM))
    assert not r.ok and "another desk's checkpoint" in r.problem


def test_no_checkpoint_of_a_broken_or_empty_log(ctx, chain, make_ctx, tmp_path):
    sql(ctx, "UPDATE audit_events SET reason = 'x' WHERE seq = 2")
    with pytest.raises(AuditBroken):
        audit.checkpoint(ctx, SYSTEM)
    empty = make_ctx(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    database.upgrade_schema(empty)
    with pytest.raises(InvalidInput) as ei:
        audit.checkpoint(empty, SYSTEM)
    assert ei.value.field == "checkpoint"


@pytest.mark.parametrize("content", ["", "not json", "[]", '{"kind": "something else"}',
                                     '{"kind": "userdesk audit checkpoint", "version": 2}',
                                     '{"kind": "userdesk audit checkpoint", "version": 1, "seq": "1"}'])
def test_a_file_that_is_not_a_checkpoint_is_invalid_input(content):
    with pytest.raises(InvalidInput) as ei:
        audit.read_checkpoint(content)
    assert ei.value.field == "against"


def test_a_deleted_log_is_seen_once_the_desk_has_operators(ctx, chain, make_user):
    make_user("ops", role="admin")
    sql(ctx, "DELETE FROM audit_events")
    sql(ctx, "DELETE FROM audit_head")
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and "the log was deleted" in r.problem
