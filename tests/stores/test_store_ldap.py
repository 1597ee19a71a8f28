"""The ldap store against a real OpenLDAP slapd with the ppolicy overlay
(tests/stores/slapdserver.py): what userdesk changes, the server itself
enforces — binds with the new password and not the old, the ppolicy response
on bind (``ldapwhoami -e ppolicy``), locks, quality checks, access control."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from console.config import ConfigError, Settings
from console.models import AuditEvent, PendingChange
from console.services import accounts, audit
from console.services.errors import NotSupported, PermissionDenied, StoreRefused, StoreUnavailable
from console.services.permissions import Action
from console.stores import StoreError
from console.stores.ldap import LdapStore

from slapdserver import (  # noqa: F401  (fixtures)
    ADMIN_DN,
    HELPDESK_DN,
    MAX_AGE,
    OLD,
    POLICY_DN,
    READER_DN,
    lctx,
    make_lctx,
    operator,
    people,
    slapd,
)


def events(ctx) -> list[AuditEvent]:
    with ctx.read_session() as s:
        return list(s.exec(select(AuditEvent).order_by(AuditEvent.seq)))


def audit_text(ctx) -> str:
    return "\n".join(f"{e.action} {e.target} {e.outcome} {e.error_code} {e.details} {e.reason}" for e in events(ctx))


def names(page) -> list[str]:
    return [a.username for a in page.items]


# -- reading ---------------------------------------------------------------------------


TWELVE = ["carol", "alice", "erin", "bob", "dave", "frank", "gina", "hank", "ivan", "judy", "kate", "liam"]


def every_page(ctx, admin, limit: int) -> list[str]:
    """The names of every page of the list, forward by cursor."""
    seen, cursor = [], None
    while True:
        page = accounts.list_accounts(ctx, admin, cursor=cursor, limit=limit)
        seen += names(page)
        cursor = page.next_cursor
        if cursor is None:
            return seen


@pytest.mark.parametrize("server_sorts", [True, False], ids=["server-sorted", "sorted-here"])
def test_lists_people_over_several_pages_of_the_paged_results_control_keyset_on_the_name(
        people, make_lctx, server_sorts):
    everyone = sorted(TWELVE)
    for n in everyone:
        people.make(n)
    ctx = make_lctx(ldap_page_size=5)  # 12 people: three pages of the control for one list
    store = ctx.store
    assert store.sorts is True  # slapd with sssvlv offers server-side sorting (RFC 2891)
    store.sorts = server_sorts
    admin = operator(ctx, "admin")
    seen = every_page(ctx, admin, limit=5)
    assert seen == everyone
    back = accounts.list_accounts(ctx, admin, from_end=True, limit=3)
    assert names(back) == everyone[-3:]
    before = accounts.list_accounts(ctx, admin, before=back.prev_cursor, limit=3)
    assert names(before) == everyone[-6:-3]
    assert accounts.count_accounts(ctx, admin).value == 12
    assert store.count(search=None, cap=7) == (7, True)
    # Only the filter's entries are people: an organizationalUnit or a group is not.
    people.group("staff", "alice")
    assert accounts.count_accounts(ctx, admin).value == 12


@pytest.mark.parametrize("busy_after", [0, 3, 5], ids=["at-once", "within-a-page", "at-the-second-page"])
def test_a_sort_the_server_says_it_is_too_busy_for_is_finished_here_from_the_last_name_given(
        people, make_lctx, monkeypatch, busy_after):
    """slapd's sssvlv answers busy (51) while it still holds another sort for
    the connection: seen at the first page of the paged results and, once in
    a full run, at a later one. The list goes on sorted here, without a name
    twice or one left out. (The busy answer is made here, after ``busy_after``
    entries of the server's sorted answer; the reading is the real server's.)"""
    everyone = sorted(TWELVE)
    for n in everyone:
        people.make(n)
    ctx = make_lctx(ldap_page_size=5)
    store = ctx.store
    real = store._paged
    busy = []

    def paged(conn, flt, attributes, controls=None):
        entries = real(conn, flt, attributes, controls)
        try:
            for i, entry in enumerate(entries):
                if controls and i == busy_after:  # the sorted search
                    busy.append(i)
                    raise StoreError("LDAP people: unavailable (busy (51): Other sort requests already in progress)")
                yield entry
        finally:
            entries.close()

    monkeypatch.setattr(store, "_paged", paged)
    admin = operator(ctx, "admin")
    seen = every_page(ctx, admin, limit=5)
    assert seen == everyone and busy
    back = accounts.list_accounts(ctx, admin, from_end=True, limit=4)
    assert names(back) == everyone[-4:]
    assert names(accounts.list_accounts(ctx, admin, before=back.prev_cursor, limit=4)) == everyone[-8:-4]


def test_search_is_a_substring_of_uid_mail_or_name_with_every_value_escaped(people, lctx):
    admin = operator(lctx, "admin")
    people.make("star*", mail="star@example.org", cn="Star")
    people.make("paren(x", mail="paren@example.org", cn="Paren")
    people.make("back\\slash", mail="back@example.org", cn="Back")
    people.make("plain", mail="plain@example.org", cn="Ann Plain")
    people.make("nul", mail="nul@example.org", cn="Nul")
    store = lctx.store
    assert names(accounts.list_accounts(lctx, admin, search="*")) == ["star*"]
    assert names(accounts.list_accounts(lctx, admin, search="(")) == ["paren(x"]
    assert names(accounts.list_accounts(lctx, admin, search="\\")) == ["back\\slash"]
    assert names(accounts.list_accounts(lctx, admin, search="*)(uid=*")) == []  # no filter injection
    assert names(accounts.list_accounts(lctx, admin, search="ann pl")) == ["plain"]  # the name, case-insensitive
    assert names(accounts.list_accounts(lctx, admin, search="PAREN@")) == ["paren(x"]  # the mail
    # RFC 4515's escapes, one for each special character.
    assert store._search_filter("a*(b)\\").endswith("(uid=*a\\2a\\28b\\29\\5c*)(mail=*a\\2a\\28b\\29\\5c*)"
                                                    "(cn=*a\\2a\\28b\\29\\5c*)(displayName=*a\\2a\\28b\\29\\5c*)))")
    # A NUL would be escaped (\00), and slapd would still cut the value at it
    # and find every "n": a search with one finds no one.
    from ldap3.utils.conv import escape_filter_chars

    assert escape_filter_chars("n\x00") == "n\\00"
    assert names(store.page(search="n\x00", after=None, before=None, from_end=False, limit=10)) == []
    assert store.count(search="n\x00", cap=10) == (0, False)
    # One entry by name: the name escaped in its filter, never a wildcard.
    assert accounts.get_account(lctx, admin, "star*").username == "star*"
    with pytest.raises(Exception) as ei:
        accounts.get_account(lctx, admin, "sta*")
    assert ei.value.code == "USER_NOT_FOUND"


def test_detail_shows_the_ppolicy_state_the_expiry_from_pwdmaxage_and_memberships(people, lctx, clock):
    admin = operator(lctx, "admin")
    people.make("amy", cn="Amy Pond")
    group = people.group("readers", "amy")
    acc = accounts.get_account(lctx, admin, "amy")
    d = dict(acc.details)
    assert acc.email == "amy@example.org" and acc.display_name == "Amy Pond" and acc.role == "member"
    changed = people.attrs("amy")["pwdChangedTime"]
    assert d["password changed"] == changed.strftime("%Y-%m-%d %H:%M UTC")
    assert d["expires"].startswith((changed + timedelta(seconds=MAX_AGE)).strftime("%Y-%m-%d %H:%M UTC"))
    assert d["password policy"] == POLICY_DN and d["must change"] == "no" and d["locked"] == "no"
    assert d["failed binds"] == "none" and group in d["member of"]
    assert acc.flags == ()
    # The clock past pwdMaxAge: the detail says the password expired (slapd refuses it then).
    clock.now = changed + timedelta(seconds=MAX_AGE + 60)
    assert any("password expired" in f for f in accounts.get_account(lctx, admin, "amy").flags)


def test_members_of_an_admin_group_are_admins_that_helpdesk_may_not_change(people, make_lctx):
    people.make("root")
    people.make("user")
    group = people.group("admins", "root")
    ctx = make_lctx(ldap_admin_groups=[group])
    hd, admin = operator(ctx, "helpdesk"), operator(ctx, "admin")
    assert accounts.get_account(ctx, hd, "root").role == "admin"
    with pytest.raises(PermissionDenied):
        accounts.reset_password(ctx, hd, "root", reason="x", identity_check="badge")
    assert people.binds("root", OLD)
    r = accounts.reset_password(ctx, hd, "user", reason="called", identity_check="callback")
    assert people.binds("user", r.password.reveal())
    r = accounts.reset_password(ctx, admin, "root", reason="x")
    assert people.binds("root", r.password.reveal())


# -- passwords ---------------------------------------------------------------------------


def test_a_reset_binds_with_the_new_password_not_the_old_and_the_server_requires_a_change(people, lctx):
    admin = operator(lctx, "admin")
    people.make("web")
    assert people.binds("web", OLD)
    r = accounts.reset_password(lctx, admin, "web", reason="forgot")
    new = r.password.reveal()
    assert r.entropy_bits >= 192
    assert people.binds("web", new)
    assert not people.binds("web", OLD)
    stored = people.attrs("web")["userPassword"][0]
    assert stored.startswith(b"{SSHA}")  # hashed by the server, by its password-hash
    # The bind DN has manage access on userPassword: a password administrator to
    # ppolicy, whose change under pwdMustChange sets pwdReset — and the screen and
    # the audit say so.
    assert "set pwdReset" in r.written_as
    assert "Password must be changed" in people.whoami_ppolicy("web", new)
    assert dict(r.account.details)["must change"] == "yes (pwdReset)"
    pend, done = events(lctx)[-2:]
    assert (pend.outcome, done.outcome) == ("pending", "ok") and "set pwdReset" in done.details
    text = audit_text(lctx)
    assert new not in text and stored.decode() not in text


def test_a_helpdesk_bind_dn_without_manage_is_quality_checked_and_sets_no_pwdreset(people, make_lctx):
    """slapo-ppolicy(5): only an identity with manage access to userPassword is
    a password administrator; another one's change is checked for quality
    like the person's own, and pwdMustChange does not apply to it."""
    people.make("kim")
    ctx = make_lctx(dn=HELPDESK_DN, policy="milvus")  # a preset allowing 11 characters: the server's minimum is 12
    admin = operator(ctx, "admin")
    with pytest.raises(StoreRefused) as ei:
        accounts.set_password(ctx, admin, "kim", "Zq7mV2pkRx3", reason="x")
    assert ei.value.message == "LDAP refused: constraintViolation (19): Password fails quality checking policy"
    assert people.binds("kim", OLD) and not people.binds("kim", "Zq7mV2pkRx3")
    pend, done = events(ctx)[-2:]
    assert pend.outcome == "pending" and done.outcome == "rejected" and done.error_code == "STORE_REFUSED"
    assert "Zq7mV2pkRx3" not in audit_text(ctx)
    r = accounts.reset_password(ctx, admin, "kim", reason="x")
    assert people.binds("kim", r.password.reveal())
    assert "pwdReset not set" in r.written_as
    assert "must be changed" not in people.whoami_ppolicy("kim", r.password.reveal())


def test_force_change_sets_pwdreset_and_the_server_says_so_on_bind(people, lctx):
    admin = operator(lctx, "admin")
    people.make("lee")
    assert "must be changed" not in people.whoami_ppolicy("lee", OLD)
    acc = accounts.force_change(lctx, admin, "lee", reason="suspected leak")
    assert people.attrs("lee")["pwdReset"] is True
    assert "ldap_bind: Success (0); Password must be changed" in people.whoami_ppolicy("lee", OLD)
    assert any("pwdReset" in f for f in acc.flags)
    assert events(lctx)[-1].outcome == "ok"


def test_a_dn_that_may_only_read_is_refused_in_the_servers_words_and_nothing_is_audited_as_done(people, make_lctx):
    people.make("max")
    ctx = make_lctx(dn=READER_DN)
    admin = operator(ctx, "admin")
    with pytest.raises(StoreRefused) as ei:
        accounts.reset_password(ctx, admin, "max", reason="x")
    assert ei.value.message == "LDAP refused: insufficientAccessRights (50)"
    with pytest.raises(StoreRefused) as ei:
        accounts.block(ctx, admin, "max", reason="x")
    assert "insufficientAccessRights (50)" in ei.value.message
    assert people.binds("max", OLD)
    assert [e.outcome for e in events(ctx) if e.action in ("password.reset", "user.block")] == \
        ["pending", "rejected", "pending", "rejected"]


# -- block, lockout, delete ------------------------------------------------------------------


def test_block_is_the_permanent_lock_and_unblock_lets_it_bind(people, lctx):
    admin = operator(lctx, "admin")
    people.make("kim")
    a = accounts.block(lctx, admin, "kim", reason="left the team")
    assert a.blocked and people.attrs("kim")["pwdAccountLockedTime"] == b"000001010000Z"
    assert not people.binds("kim", OLD)
    assert "Account locked" in people.whoami_ppolicy("kim", OLD)
    a = accounts.unblock(lctx, admin, "kim", reason="back")
    assert not a.blocked and people.binds("kim", OLD)


def test_a_lockout_after_failed_binds_shows_in_the_detail_and_unlock_clears_it(people, lctx):
    admin = operator(lctx, "admin")
    people.make("sam")
    for _ in range(3):  # pwdMaxFailure 3
        assert not people.binds("sam", "a wrong password")
    assert not people.binds("sam", OLD)  # locked: the right password is refused too
    acc = accounts.get_account(lctx, admin, "sam")
    d = dict(acc.details)
    assert d["locked"].startswith("since ") and d["failed binds"].startswith("3, last ")
    assert not acc.blocked and any("locked after failed binds" in f for f in acc.flags)
    acc = accounts.unlock(lctx, admin, "sam", reason="called")
    assert dict(acc.details)["locked"] == "no" and dict(acc.details)["failed binds"] == "none"
    assert people.binds("sam", OLD)
    left = people.attrs("sam")
    assert left["pwdFailureTime"] == [] and left["pwdAccountLockedTime"] == []
    # Failures short of a lockout are cleared too; nothing to clear is refused.
    assert not people.binds("sam", "a wrong password")
    accounts.unlock(lctx, admin, "sam", reason="x")
    assert people.attrs("sam")["pwdFailureTime"] == []
    with pytest.raises(StoreRefused) as ei:
        accounts.unlock(lctx, admin, "sam", reason="x")
    assert "is not locked" in ei.value.message


def test_delete_removes_the_entry_admin_only(people, lctx):
    hd, admin = operator(lctx, "helpdesk"), operator(lctx, "admin")
    people.make("old")
    with pytest.raises(PermissionDenied):
        accounts.delete(lctx, hd, "old", reason="x")
    assert accounts.delete(lctx, admin, "old", reason="leaver") == 0
    assert people.attrs("old") == {} and not people.binds("old", OLD)
    assert events(lctx)[-1].outcome == "ok"


def test_the_entry_userdesk_binds_as_is_refused_with_a_reason(people, slapd, make_lctx):
    people.make("ops", slapd.admin_pw)  # a person who binds the console (people may read the people)
    ctx = make_lctx(dn=people.dn("ops"))
    admin = operator(ctx, "admin")
    with pytest.raises(NotSupported) as ei:
        accounts.block(ctx, admin, "ops", reason="x")
    assert "the entry userdesk binds as" in ei.value.message
    why = accounts.unavailable(ctx, admin, accounts.get_account(ctx, admin, "ops"))
    assert "binds as" in why["reset_password"]
    assert people.binds("ops", slapd.admin_pw)


@pytest.mark.parametrize("act", [Action.REVOKE_SESSIONS, Action.ISSUE_TICKET, Action.EXPIRE, Action.CREATE,
                                 Action.SET_ROLE])
def test_what_the_directory_cannot_do_is_unavailable_with_its_reason(people, lctx, act):
    admin = operator(lctx, "admin")
    people.make("jo")
    with pytest.raises(NotSupported) as ei:
        accounts.refuse(lctx, admin, act, "jo", reason="x")
    assert ei.value.message.startswith("not supported by the ldap store: ")
    caps = accounts.capabilities(lctx)
    assert caps[act.value]
    for can in ("reset_password", "set_password", "force_change", "block", "unblock", "unlock", "delete"):
        assert caps[can] is None, can
    why = accounts.unavailable(lctx, admin, accounts.get_account(lctx, admin, "jo"))
    assert why[act.value].startswith("ldap: ")


# -- pending → outcome; a lost server ------------------------------------------------------------


def test_every_change_is_pending_then_settled_and_a_crash_is_settled_against_the_directory(people, lctx):
    admin = operator(lctx, "admin")
    for n in ("a", "b", "c", "d", "e"):
        people.make(n)
    for _ in range(3):
        people.binds("e", "wrong")
    accounts.reset_password(lctx, admin, "a", reason="x")  # a's entry has a password history now
    import console.services.accounts as mod

    real = mod._outcome
    mod._outcome = lambda *args, **kw: None  # as a crash after each change leaves it
    try:
        accounts.reset_password(lctx, admin, "b", reason="crash after the change")
        accounts.block(lctx, admin, "c", reason="crash after the change")
        accounts.force_change(lctx, admin, "d", reason="crash after the change")
        accounts.unlock(lctx, admin, "e", reason="crash after the change")
    finally:
        mod._outcome = real
    with lctx.write_session() as s:  # one that never reached the server
        s.add(PendingChange(seq=99999, store="ldap", target="a", change="credential", probe="0" * 64,
                            at=datetime.now(timezone.utc)))
        s.commit()
    settled = {s.target: s.outcome for s in accounts.settle_pending(lctx)}
    assert settled == {"b": "ok", "c": "ok", "d": "ok", "e": "ok", "a": "failed"}
    assert accounts.pending(lctx, admin) == []
    assert audit.verify_chain(lctx, admin).ok


def test_a_directory_that_cannot_be_reached_is_store_unavailable_and_changes_nothing(people, lctx, slapd):
    admin = operator(lctx, "admin")
    people.make("far")
    import ldap3

    lctx.store._server = ldap3.Server("127.0.0.1", port=1, connect_timeout=2)  # as if the server went away
    with pytest.raises(StoreUnavailable) as ei:
        accounts.reset_password(lctx, admin, "far", reason="x")
    assert "cannot connect" in ei.value.message
    assert people.binds("far", OLD)
    with pytest.raises(StoreError) as ei:
        LdapStore(slapd.url, bind_dn=ADMIN_DN, password="a wrong secret", base=people.base)
    assert ei.value.refused is False and "invalidCredentials (49)" in ei.value.message
    assert "wrong secret" not in ei.value.message


def test_a_bind_password_never_crosses_a_network_in_clear_and_its_file_must_be_private(people, slapd, tmp_path,
                                                                                   monkeypatch):
    with pytest.raises(StoreError) as ei:
        LdapStore("ldap://192.0.2.10", bind_dn=ADMIN_DN, password="x", base=people.base, starttls="never")
    assert "in clear" in ei.value.message and "ldap_allow_cleartext" in ei.value.message
    loose = tmp_path / "loose"
    loose.write_text(slapd.admin_pw)
    loose.chmod(0o644)
    settings = Settings(store="ldap", database_url=slapd.url, ldap_bind_password_file=str(loose))
    with pytest.raises(ConfigError) as ei:
        settings.ldap_bind_password()
    assert "readable by others" in str(ei.value) and slapd.admin_pw not in str(ei.value)
    monkeypatch.setenv("USERDESK_LDAP_PASSWORD", slapd.admin_pw)
    from console.stores import open_store

    store = open_store(Settings(store="ldap", database_url=slapd.url, ldap_bind_dn=ADMIN_DN,
                                ldap_people_base=people.base))
    assert store.count(search=None, cap=10) == (0, False) and slapd.admin_pw not in store.where
    with pytest.raises(StoreError) as ei:
        LdapStore(slapd.url, bind_dn=ADMIN_DN, password="x", base=people.base, people_filter="(objectClass=person")
    assert "ldap_people_filter" in ei.value.message


@pytest.mark.parametrize("what", ["reset", "block"])
def test_a_connection_cut_after_the_change_was_sent_leaves_it_pending_until_the_directory_tells(
        people, make_lctx, slapd, what):
    """A relay passes the change to slapd, then cuts the connection before its
    answer: the change landed, and the console cannot know. No password is
    shown, no outcome is claimed; the next settle reads the directory."""
    from slapdserver import CuttingProxy

    people.make("far")
    proxy = CuttingProxy(slapd, cut_on=0x77 if what == "reset" else 0x66)  # extended request / modify request
    try:
        ctx = make_lctx(database_url=proxy.url)
        admin = operator(ctx, "admin")
        proxy.armed = True
        with pytest.raises(StoreUnavailable) as ei:
            if what == "reset":
                accounts.reset_password(ctx, admin, "far", reason="x")
            else:
                accounts.block(ctx, admin, "far", reason="x")
        assert proxy.cut.is_set()
        assert "unknown" in ei.value.message and "stays pending" in ei.value.message
        last = events(ctx)[-1]
        assert last.outcome == "pending"  # no outcome claimed
        assert [p.target for p in accounts.pending(ctx, admin)] == ["far"]
        assert not people.binds("far", OLD)  # the directory took it
        assert [s.outcome for s in accounts.settle_pending(ctx)] == ["unknown"]  # while it cannot be reached
        proxy.heal()
        assert [s.outcome for s in accounts.settle_pending(ctx)] == ["ok"]
        assert accounts.pending(ctx, admin) == []
        assert audit.verify_chain(ctx, admin).ok
    finally:
        proxy.close()


@pytest.mark.parametrize("how", ["starttls", "ldaps"])
def test_tls_with_the_ca_file_binds_and_a_certificate_the_console_cannot_verify_is_refused(people, slapd, how):
    if slapd.tls_port is None:
        pytest.skip("no openssl command to make the test server's certificate")
    people.make("tls")
    url = slapd.url if how == "starttls" else slapd.ldaps_url
    store = LdapStore(url, bind_dn=ADMIN_DN, password=slapd.admin_pw, base=people.base, starttls="always",
                      ca_file=str(slapd.ca))
    assert store.get("tls").username == "tls"
    with pytest.raises(StoreError) as ei:  # the system's CAs did not sign the test server's certificate
        LdapStore(url, bind_dn=ADMIN_DN, password=slapd.admin_pw, base=people.base, starttls="always")
    assert ei.value.refused is False and "certificate" in ei.value.message.lower()
    assert slapd.admin_pw not in ei.value.message


def test_a_bind_dn_under_slapds_default_size_limit_is_told_in_the_servers_words(people, slapd, make_lctx):
    """slapd stops any search, paged or not, at its size limit (500 unless
    ``limits`` lifts it for the bind DN): the list says so rather than
    showing part of the directory as if it were all."""
    c = slapd.conn()
    for i in range(505):
        assert c.add(people.dn(f"u{i:04d}"), attributes={"objectClass": ["inetOrgPerson"], "uid": f"u{i:04d}",
                                                         "cn": "Someone", "sn": "Someone"}), c.result
    c.unbind()
    reader = make_lctx(dn=READER_DN, ldap_page_size=100)
    admin = operator(reader, "admin")
    with pytest.raises(StoreRefused) as ei:
        accounts.count_accounts(reader, admin)
    assert ei.value.message == "LDAP refused: sizeLimitExceeded (4)"
    unlimited = make_lctx(ldap_page_size=100)  # the fixture's bind DN has limits … size=unlimited
    assert accounts.count_accounts(unlimited, operator(unlimited, "admin", "op-admin2")).value == 505


def test_a_ca_file_that_cannot_be_read_is_a_clear_store_error(tmp_path):
    from console.stores.ldap import LdapStore

    with pytest.raises(StoreError) as ei:
        LdapStore("ldaps://127.0.0.1:1", bind_dn="cn=x", password="a secret 1", base="dc=example,dc=org",
                  ca_file=str(tmp_path / "missing-ca.pem"))
    assert ei.value.message.startswith("ldap_ca_file:") and "a secret 1" not in ei.value.message
