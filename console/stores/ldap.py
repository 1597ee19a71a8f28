"""People in an LDAP directory (OpenLDAP with the ppolicy overlay): entries
under a base DN matching a filter, read with the paged-results control
(RFC 2696) and, where the server offers it, server-side sorting (RFC 2891);
changed the way the directory's own password policy expects:

- reset / set: the Password Modify extended operation (RFC 3062), so the
  server hashes the password by its own configuration (``password-hash``) and
  applies its policy (quality, history; ``pwdMustChange``);
- require a change: ``pwdReset: TRUE``;
- block: ``pwdAccountLockedTime: 000001010000Z``, OpenLDAP's permanent lock
  (slapo-ppolicy(5): "may only be unlocked by an administrator"), honoured
  only where the entry's policy has ``pwdLockout: TRUE``;
- unlock: delete ``pwdFailureTime`` (with the Relax Rules control: it is
  NO-USER-MODIFICATION) and a lockout's ``pwdAccountLockedTime``;
- delete: the entry.

The client is ldap3 (pure Python): python-ldap publishes no wheels and needs
libldap and libsasl headers to build, which ``pip install -e '.[test]'`` on a
fresh machine cannot assume. ldap3 does what this store needs: the Password
Modify operation, paged results, StartTLS / ldaps with a CA file, RFC 4515
filter escaping. The sort control it lacks is encoded here with pyasn1 (its
own dependency), ASN.1 only.

The bind DN's password comes from a file only its owner may read, or the
environment (console.config), never from the desk. A password crosses the
network only inside TLS (ldaps://, or ldap:// with StartTLS), except on
loopback or where a profile explicitly allows cleartext.
"""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as lx
from ldap3.operation.search import parse_filter
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn
from pyasn1.codec.ber import encoder as ber_encoder
from pyasn1.type import namedtype, tag, univ

from console.stores.base import Account, AccountPage, Credential, Store, StoreError, Written

UNSUPPORTED = {
    "revoke_sessions": "an LDAP directory keeps no sessions: an application's bind lasts one connection "
                       "(block the entry, or reset its password, to refuse the next bind)",
    "issue_ticket": "an LDAP directory has no reset links: reset the password or set one",
    "email_ticket": "an LDAP directory has no reset links: reset the password or set one",
    "revoke_ticket": "an LDAP directory has no reset links",
    "expire": "a password's lifetime is its policy's pwdMaxAge (shown as the expiry) and pwdChangedTime is the "
              "server's to set: require a change (pwdReset) instead",
    "create": "create entries with your directory's tools (ldapadd, your provisioning): userdesk resets, locks and "
              "deletes existing people",
    "set_role": "group memberships are the groups' member values: change them with your directory's tools",
    "update_profile": "edit entries (cn, mail) with your directory's tools",
}

#: OpenLDAP's value of pwdAccountLockedTime for a lock only an administrator lifts.
PERMANENT_LOCK = "000001010000Z"
PASSWORD_MODIFY = "1.3.6.1.4.1.4203.1.11.1"
SORT_REQUEST = "1.2.840.113556.1.4.473"
#: The Relax Rules control (draft-zeilenga-ldap-relax): lets an administrator
#: delete pwdFailureTime, which is NO-USER-MODIFICATION.
RELAX = "1.3.6.1.4.1.4203.666.5.12"
#: caseIgnoreOrderingMatch: the sort order for names (keyset compares casefolded).
CASE_IGNORE_ORDERING = "2.5.13.3"
_PPOLICY_ATTRS = ["pwdChangedTime", "pwdFailureTime", "pwdAccountLockedTime", "pwdReset", "pwdPolicySubentry"]
_POLICY_ATTRS = ["pwdMaxAge", "pwdMustChange", "pwdLockout", "pwdMaxFailure", "pwdLockoutDuration", "pwdInHistory"]
#: Result codes that say the server did not get to decide (nothing changed):
#: busy (51), unavailable (52), and the client-side codes ldap3 may report
#: (80 other, 81 server down, 85 timeout, 91 connect error). unwillingToPerform
#: (53) is a decision, so a refusal.
_UNAVAILABLE = {51, 52, 80, 81, 85, 91}


def _digest(value: bytes | str | None) -> str:
    if isinstance(value, str):
        value = value.encode()
    return hashlib.sha256(value or b"").hexdigest()


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _key(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


def _first(attrs: dict, name: str):
    v = attrs.get(name)
    if isinstance(v, list):
        return v[0] if v else None
    return v


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _time(v) -> datetime | None:
    """A GeneralizedTime (``20261206050911Z``, ``20261206050911.372617Z``) as UTC."""
    if isinstance(v, datetime) or v is None:
        return v
    t = _text(v).strip()
    if not t.endswith("Z") or len(t) < 15 or t == PERMANENT_LOCK:
        return None
    try:
        when = datetime.strptime(t[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    frac = t[14:-1].lstrip(".,")
    if frac.isdigit():
        when += timedelta(microseconds=int((frac + "000000")[:6]))
    return when


def _bool(v) -> bool | None:
    if isinstance(v, bool) or v is None:
        return v
    return {"TRUE": True, "FALSE": False}.get(_text(v).strip().upper())


def _int(v) -> int:
    try:
        return int(_text(v).strip() or 0)
    except ValueError:
        return 0


def _when(v) -> str:
    t = _time(v)
    if t is not None:
        return t.strftime("%Y-%m-%d %H:%M UTC")
    return _text(v)


def _norm_dn(dn: str) -> str:
    try:
        return ",".join(f"{a.lower()}={v.casefold()}" for a, v, _ in parse_dn(dn, escape=False))
    except Exception:  # noqa: BLE001 - not a DN: compared as written
        return dn.casefold()


class _SortKey(univ.Sequence):
    """RFC 2891: SortKey ::= SEQUENCE { attributeType, orderingRule [0] OPTIONAL,
    reverseOrder [1] BOOLEAN DEFAULT FALSE }."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("attributeType", univ.OctetString()),
        namedtype.OptionalNamedType("orderingRule", univ.OctetString().subtype(
            implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 0))),
        namedtype.DefaultedNamedType("reverseOrder", univ.Boolean(False).subtype(
            implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 1))))


class _SortKeyList(univ.SequenceOf):
    componentType = _SortKey()


def _sort_control(attribute: str, reverse: bool):
    """The server-side sort request (RFC 2891), one key, as ldap3 takes a raw
    control (ldap3 has none of its own): ASN.1 encoding with pyasn1."""
    key = _SortKey()
    key["attributeType"] = attribute
    key["orderingRule"] = CASE_IGNORE_ORDERING
    if reverse:
        key["reverseOrder"] = True
    keys = _SortKeyList()
    keys.append(key)
    return (SORT_REQUEST, False, ber_encoder.encode(keys))


def server_words(result: dict) -> str:
    """The server's own answer: its result name and code, and its message
    (e.g. ``constraintViolation (19): Password fails quality checking policy``);
    a referral names where it points."""
    words = f"{result.get('description') or 'error'} ({result.get('result')})"
    message = (result.get("message") or "").strip()
    if message:
        words += f": {message[:300]}"
    if result.get("result") == 10 and result.get("referrals"):
        words += f" (referred to {', '.join(result['referrals'][:3])})"
    return words


class LdapStore(Store):
    name = "ldap"
    unsupported = UNSUPPORTED

    def __init__(self, url: str, *, bind_dn: str, password: str, base: str,
                 people_filter: str = "(objectClass=inetOrgPerson)", username_attribute: str = "uid",
                 email_attribute: str = "mail", name_attribute: str = "cn", ca_file: str | None = None,
                 starttls: str = "auto", allow_cleartext: bool = False, default_policy: str | None = None,
                 admin_groups: tuple[str, ...] | list[str] = (), page_size: int = 500, timeout: float = 10,
                 clock=None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise StoreError("ldap store: database_url must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]",
                             refused=False)
        if not bind_dn:
            raise StoreError("ldap store: ldap_bind_dn is required (the DN userdesk binds as)", refused=False)
        if not base:
            raise StoreError("ldap store: ldap_people_base is required (where the people entries are)",
                             refused=False)
        if not password:
            raise StoreError("ldap store: no bind password: give ldap_bind_password_file (mode 600) or the "
                             "environment variable ldap_bind_password_env names", refused=False)
        host, ldaps = parts.hostname, parts.scheme == "ldaps"
        port = parts.port or (636 if ldaps else 389)
        self._starttls = not ldaps and (starttls == "always" or (starttls == "auto" and not _loopback(host)))
        if not ldaps and not self._starttls and not _loopback(host) and not allow_cleartext:
            raise StoreError(f"ldap store: ldap://{host}:{port} without TLS would send the bind password in clear "
                             "over the network: use ldaps://, or StartTLS (ldap_starttls = \"auto\" or \"always\"), or set "
                             "ldap_allow_cleartext = true", refused=False)
        tls = None
        if ldaps or self._starttls:
            try:
                tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file, version=ssl.PROTOCOL_TLS_CLIENT)
            except lx.LDAPException as exc:  # a CA file that is missing or unreadable
                raise StoreError(f"ldap_ca_file: {exc}", refused=False) from None
        self._server = ldap3.Server(host, port=port, use_ssl=ldaps, tls=tls, get_info=ldap3.NONE,
                                    connect_timeout=timeout)
        self._bind_dn, self._password, self._timeout = bind_dn, password, timeout
        self.base, self.filter = base, people_filter
        self.uid, self.mail_attr, self.name_attr = username_attribute, email_attribute, name_attribute
        self.default_policy, self.page_size = default_policy, page_size
        self.admin_groups = tuple(admin_groups)
        self.where = f"LDAP people under {base} on {host}:{port}"
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        try:
            parse_filter(people_filter, None, False, False, None, False)
        except lx.LDAPException:
            raise StoreError(f"ldap store: ldap_people_filter {people_filter!r} is not an LDAP filter (RFC 4515)",
                             refused=False) from None

        def root_dse(conn):
            conn.search("", "(objectClass=*)", search_scope=ldap3.BASE,
                        attributes=["supportedControl", "supportedExtension"])
            attrs = conn.response[0]["attributes"] if conn.response else {}
            return set(attrs.get("supportedControl") or []), set(attrs.get("supportedExtension") or [])
        controls, extensions = self._run(root_dse)
        self.sorts = SORT_REQUEST in controls
        self.password_modify = PASSWORD_MODIFY in extensions

    # -- the connection ----------------------------------------------------------

    def _connect(self) -> ldap3.Connection:
        conn = ldap3.Connection(self._server, user=self._bind_dn, password=self._password, raise_exceptions=False,
                                receive_timeout=self._timeout, auto_referrals=False)
        try:
            conn.open()
            if self._starttls and not conn.start_tls():
                conn.unbind()
                raise StoreError(f"{self.where}: StartTLS failed ({server_words(conn.result)})", refused=False)
            if not conn.bind():
                words = server_words(conn.result)
                conn.unbind()
                raise StoreError(f"{self.where}: cannot bind as {self._bind_dn} ({words})", refused=False)
        except lx.LDAPException as exc:
            raise StoreError(f"{self.where}: cannot connect ({type(exc).__name__}: {_text(exc)[:200]})",
                             refused=False) from None
        return conn

    def _run(self, fn, *, changing: bool = False):
        """``fn(conn)`` on a fresh bound connection (``fn(conn, sent)`` for a
        change: it appends to ``sent`` before it sends the change). A lost
        connection is refused=False, and in_doubt once the change was sent."""
        sent: list[bool] = []
        conn = self._connect()
        try:
            return fn(conn, sent) if changing else fn(conn)
        except StoreError:
            raise
        except lx.LDAPException as exc:
            what = "the connection was lost during the change" if sent else \
                "the change failed" if changing else "cannot be read"
            raise StoreError(f"{self.where}: {what} ({type(exc).__name__})", refused=False,
                             in_doubt=bool(sent)) from None
        finally:
            try:
                conn.unbind()
            except Exception:  # noqa: BLE001 - already gone
                pass

    def _check(self, conn, ok: bool, *, sent: list | None = None) -> None:
        """Raise the server's answer as a StoreError unless ``ok``."""
        if ok:
            return
        result = conn.result or {}
        if not result:  # no answer at all: the change may have been taken
            raise StoreError(f"{self.where}: no answer from the server", refused=False, in_doubt=bool(sent))
        if result.get("result") in _UNAVAILABLE:  # busy, unavailable…: the server did not perform it
            raise StoreError(f"{self.where}: unavailable ({server_words(result)})", refused=False)
        raise StoreError(f"LDAP refused: {server_words(result)}")

    # -- reading -----------------------------------------------------------------

    def _search_filter(self, search: str | None) -> str:
        if not search:
            return self.filter
        if "\x00" in search:  # escaped (\00) it is still cut at the NUL by slapd's C strings: no name has one
            return f"(&{self.filter}(!(objectClass=*)))"
        v = escape_filter_chars(search)
        return (f"(&{self.filter}(|({self.uid}=*{v}*)({self.mail_attr}=*{v}*)({self.name_attr}=*{v}*)"
                f"(displayName=*{v}*)))")

    def _entry_filter(self, username: str) -> str:
        return f"(&{self.filter}({self.uid}={escape_filter_chars(username)}))"

    def _paged(self, conn, flt: str, attributes: list[str], controls=None) -> Iterator[dict]:
        """Entries matching ``flt`` under the base, a page of the paged-results
        control at a time. A caller that stops early closes the generator,
        which abandons the search the way RFC 2696 says (size 0 with the
        cookie), so the server drops its state (a server-side sort's too)."""
        cookie = None
        try:
            while True:
                ok = conn.search(self.base, flt, search_scope=ldap3.SUBTREE, attributes=attributes,
                                 paged_size=self.page_size, paged_cookie=cookie, controls=controls)
                if not ok and (conn.result or {}).get("result") not in (0, None):
                    cookie = None
                    self._check(conn, False)
                entries = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
                cookie = ((conn.result or {}).get("controls") or {}).get("1.2.840.113556.1.4.319", {}) \
                    .get("value", {}).get("cookie")
                yield from entries
                if not cookie:
                    return
        finally:
            if cookie:
                try:
                    conn.search(self.base, flt, search_scope=ldap3.SUBTREE, attributes=["1.1"], paged_size=0,
                                paged_cookie=cookie, controls=controls)
                except lx.LDAPException:
                    pass

    def _names(self, conn, flt: str, reverse: bool) -> Iterator[str]:
        """The people's names in order (server-side sorted where offered, so a
        page stops reading once it has its rows)."""
        def name_of(entry):
            return _text(_first(entry["attributes"], self.uid))

        last = None  # the last name given in the server's order
        tied: set[str] = set()  # the names given that fold as it does (the server's order ties them)
        if self.sorts:
            entries = self._paged(conn, flt, [self.uid], [_sort_control(self.uid, reverse)])
            try:
                for entry in entries:
                    name = name_of(entry)
                    if name:
                        if last is None or name.casefold() != last.casefold():
                            tied.clear()
                        last = name
                        tied.add(name)
                        yield name
                return
            except StoreError as exc:
                # slapd's sssvlv answers busy (51) while it still holds a sort
                # for the connection slot this one reuses (at the first page
                # of the paged results, and once seen at a later one): sort
                # here instead, from after the last name given.
                if "busy (51)" not in exc.message:
                    raise
            finally:
                entries.close()
        names = sorted((n for n in (name_of(e) for e in self._paged(conn, flt, [self.uid])) if n), key=_key,
                       reverse=reverse)
        if last is not None:
            fold = last.casefold()
            names = [n for n in names if (n.casefold() < fold if reverse else n.casefold() > fold)
                     or (n.casefold() == fold and n not in tied)]
        yield from names

    def page(self, *, search, after, before, from_end, limit) -> AccountPage:
        flt = self._search_filter(search)
        backwards = bool(before) or from_end

        def body(conn):
            picked: list[str] = []
            names = self._names(conn, flt, backwards)
            try:
                for name in names:
                    if after is not None and _key(name) <= _key(after):
                        continue
                    if before is not None and _key(name) >= _key(before):
                        continue
                    picked.append(name)
                    if len(picked) > limit:
                        break
            finally:
                names.close()  # abandons the paged search (RFC 2696) before the next one
            more = len(picked) > limit
            picked = picked[:limit]
            picked.sort(key=_key)
            return self._accounts(conn, picked), more
        accounts, more = self._run(body)
        return AccountPage(accounts, more)

    def _accounts(self, conn, names: list[str]) -> list[Account]:
        if not names:
            return []
        ors = "".join(f"({self.uid}={escape_filter_chars(n)})" for n in names)
        by_name: dict[str, Account] = {}
        admins = self._admin_members(conn)
        for entry in self._paged(conn, f"(&{self.filter}(|{ors}))", self._attributes()):
            acc = self._account(entry["dn"], entry["attributes"], admins=admins)
            by_name.setdefault(acc.username, acc)
        return [by_name[n] for n in names if n in by_name]

    def count(self, *, search, cap) -> tuple[int, bool]:
        flt = self._search_filter(search)

        def body(conn):
            n = 0
            entries = self._paged(conn, flt, ["1.1"])
            try:
                for _ in entries:
                    n += 1
                    if n > cap:
                        break
            finally:
                entries.close()
            return n
        n = self._run(body)
        return (cap, True) if n > cap else (n, False)

    def _attributes(self) -> list[str]:
        return sorted({self.uid, self.mail_attr, self.name_attr, "displayName", "memberOf",
                       *_PPOLICY_ATTRS})

    def _find(self, conn, username: str, attributes: list[str] | None = None) -> dict | None:
        """The one entry whose username is ``username`` (the filter escaped),
        or None; two is an error (the username must name one entry)."""
        wanted = sorted({self.uid, *(attributes or self._attributes())} - {"1.1"})
        found = list(self._paged(conn, self._entry_filter(username), wanted))
        exact = [e for e in found if _text(_first(e["attributes"], self.uid)).casefold() == username.casefold()]
        if len(exact) > 1:
            raise StoreError(f"{len(exact)} entries under {self.base} have {self.uid}={username}: userdesk acts on "
                             "one entry per name")
        return exact[0] if exact else None

    def _admin_members(self, conn) -> set[str]:
        """The DNs of the admin groups' members (member / uniqueMember), normalized."""
        out: set[str] = set()
        for group in self.admin_groups:
            ok = conn.search(group, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["member", "uniqueMember"])
            if ok and conn.response:
                attrs = conn.response[0].get("attributes", {})
                for v in [*(attrs.get("member") or []), *(attrs.get("uniqueMember") or [])]:
                    out.add(_norm_dn(_text(v)))
        return out

    def _policy(self, conn, entry_attrs: dict, cache: dict | None = None) -> tuple[str | None, dict]:
        """The entry's password policy: its pwdPolicySubentry, else the
        configured default (ppolicy_default is in the server's configuration,
        which a client may not read)."""
        dn = _text(_first(entry_attrs, "pwdPolicySubentry")) or self.default_policy
        if not dn:
            return None, {}
        if cache is not None and dn in cache:
            return dn, cache[dn]
        ok = conn.search(dn, "(objectClass=pwdPolicy)", search_scope=ldap3.BASE, attributes=_POLICY_ATTRS)
        policy = dict(conn.response[0]["attributes"]) if ok and conn.response else {}
        if cache is not None:
            cache[dn] = policy
        return dn, policy

    def get(self, username: str) -> Account | None:
        def body(conn):
            entry = self._find(conn, username)
            if entry is None:
                return None
            policy_dn, policy = self._policy(conn, entry["attributes"])
            return self._account(entry["dn"], entry["attributes"], admins=self._admin_members(conn),
                                 policy=(policy_dn, policy), full=True)
        return self._run(body)

    def _account(self, dn: str, a: dict, *, admins: set[str], policy: tuple | None = None,
                 full: bool = False) -> Account:
        name = _text(_first(a, self.uid))
        email = _text(_first(a, self.mail_attr)) or None
        display = _text(_first(a, "displayName")) or _text(_first(a, self.name_attr))
        locked_at = _first(a, "pwdAccountLockedTime")
        blocked = locked_at is not None and _text(locked_at) == PERMANENT_LOCK
        failures = [t for t in (_time(f) for f in (a.get("pwdFailureTime") or [])) if t is not None]
        changed = _time(_first(a, "pwdChangedTime"))
        reset = _bool(_first(a, "pwdReset"))
        member_of = [_text(g) for g in (a.get("memberOf") or [])]
        is_admin = _norm_dn(dn) == _norm_dn(self._bind_dn) or _norm_dn(dn) in admins or any(
            _norm_dn(g) in {_norm_dn(x) for x in self.admin_groups} for g in member_of)
        details = [("entry", dn)]
        flags: list[str] = []
        details.append(("password changed", _when(changed) if changed else "never recorded (no pwdChangedTime)"))
        if policy is not None:
            policy_dn, p = policy
            details.append(("password policy", policy_dn or "unknown (no pwdPolicySubentry; set "
                                                             "ldap_default_policy_dn)"))
            max_age = _int(_first(p, "pwdMaxAge")) if p else 0
            if not p:
                details.append(("expires", "unknown (the policy cannot be read)"))
            elif max_age <= 0:
                details.append(("expires", "never (the policy has no pwdMaxAge)"))
            elif not isinstance(changed, datetime):
                details.append(("expires", "never (no pwdChangedTime: slapd does not expire it)"))
            else:
                until = changed + timedelta(seconds=max_age)
                details.append(("expires", f"{_when(until)} (pwdMaxAge {max_age // 86400} days)"))
                if until <= self._clock():
                    flags.append(f"password expired {_when(until)} (pwdMaxAge): binds are refused until it is reset")
            if p and _bool(_first(p, "pwdMustChange")) is True:
                details.append(("policy", "pwdMustChange: a password admin's reset sets pwdReset"))
            if blocked and p and _bool(_first(p, "pwdLockout")) is not True:
                flags.append("blocked, but the policy has no pwdLockout: slapd still accepts binds")
        details.append(("must change", "yes (pwdReset)" if reset is True else "no"))
        details.append(("failed binds", f"{len(failures)}, last {_when(max(failures))}" if failures else "none"))
        if blocked:
            details.append(("locked", "blocked by an administrator (pwdAccountLockedTime 000001010000Z)"))
        elif locked_at is not None:
            details.append(("locked", f"since {_when(locked_at)} after failed binds"))
            flags.append(f"locked after failed binds since {_when(locked_at)}: unlock to let it bind")
        else:
            details.append(("locked", "no"))
        if full:
            details.append(("member of", ", ".join(member_of) if member_of else "none recorded (memberOf)"))
        if reset is True:
            flags.append("must choose a new password at the next bind (pwdReset)")
        if _norm_dn(dn) == _norm_dn(self._bind_dn):
            flags.append("the DN userdesk binds as: no action is taken on it here")
        kind = "admin" if is_admin else "person"
        return Account(username=name, email=email, display_name=display, role="admin" if is_admin else "member",
                       kind=kind, blocked=blocked, details=tuple(details), flags=tuple(flags))

    def refuses(self, username: str) -> str | None:
        try:
            entry = self._run(lambda c: self._find(c, username, ["1.1"]))
        except StoreError:
            return None  # the action's own read says why
        if entry is not None and _norm_dn(entry["dn"]) == _norm_dn(self._bind_dn):
            return (f"{username} is the entry userdesk binds as: change it with another DN "
                    "(a console cannot lock itself out)")
        return None

    # -- changing ------------------------------------------------------------------

    def _dn(self, conn, username: str, attributes: list[str] | None = None) -> dict:
        entry = self._find(conn, username, attributes or ["1.1"])
        if entry is None:
            raise StoreError(f"no entry with {self.uid}={username} under {self.base}")
        return entry

    def _history_probe(self, conn, dn: str) -> str | None:
        """The newest value of pwdHistory (the hash a change replaced), digested:
        what ``probe`` compares once a change landed. None where it cannot
        tell: no history (the policy keeps none, or there was no password
        before), or a userPassword this DN may not read (then ``new_credential``
        could not read the hash it replaced either)."""
        ok = conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["pwdHistory", "userPassword"])
        attrs = conn.response[0]["attributes"] if ok and conn.response else {}
        values = attrs.get("pwdHistory") or []
        if not values or not attrs.get("userPassword"):
            return None
        # Values carry their time to the second; ppolicy appends, so among
        # equal times the last one returned is the newest.
        newest = max(enumerate(values), key=lambda iv: (_text(iv[1]).split("#", 1)[0], iv[0]))[1]
        raw = newest if isinstance(newest, bytes) else str(newest).encode()
        return _digest(raw.split(b"#", 3)[3] if raw.count(b"#") >= 3 else raw)

    def new_credential(self, username: str, password: str) -> Credential:
        """The password itself (the server hashes it), and as its probe a
        digest of the hash it replaces: once the change lands, ppolicy keeps
        that hash as the newest pwdHistory value."""
        def body(conn):
            entry = self._dn(conn, username, ["userPassword"])
            stored = entry["attributes"].get("userPassword") or []
            return _digest(b"\n".join(sorted(v if isinstance(v, bytes) else str(v).encode() for v in stored))) \
                if stored else "no previous password"
        if not self.password_modify:
            raise StoreError(f"{self.where}: the server does not offer the Password Modify extended operation "
                             "(RFC 3062)")
        return Credential(password, self._run(body),
                          "the server's own hash (Password Modify extended operation, RFC 3062)")

    def write_credential(self, username: str, credential: Credential) -> int:
        """Password Modify as the bind DN for the entry; then reads back
        whether the server set pwdReset (ppolicy does with pwdMustChange when
        the bind DN is a password administrator: manage access) and says so
        in a note the audit and the screen add to the credential's description."""
        def body(conn, sent):
            dn = self._dn(conn, username)["dn"]
            sent.append(True)
            ok = conn.extend.standard.modify_password(user=dn, new_password=credential.value)
            self._check(conn, bool(ok) and (conn.result or {}).get("result") == 0, sent=sent)
            try:
                conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["pwdReset"])
                # Absent is not set; only a read that failed leaves it unknown.
                reset = _bool(_first(conn.response[0]["attributes"], "pwdReset")) is True if conn.response else None
            except lx.LDAPException:
                reset = None
            said = ("; the server's policy (pwdMustChange) set pwdReset: a new password is required at the next bind"
                    if reset is True else "; pwdReset not set: the password is usable as it is" if reset is False
                    else "; whether the server set pwdReset is unknown (it could not be read back)")
            return Written(0, said)  # known only once the server answered
        return self._run(body, changing=True)

    def _modify(self, username: str, changes, *, controls=None, fetch: list[str] | None = None,
                check=None) -> None:
        def body(conn, sent):
            entry = self._dn(conn, username, fetch)
            mods = changes(entry) if callable(changes) else changes
            if check is not None:
                check(conn, entry)
            sent.append(True)
            self._check(conn, conn.modify(entry["dn"], mods, controls=controls), sent=sent)
        self._run(body, changing=True)

    def set_blocked(self, username: str, blocked: bool) -> int:
        def lockout_honoured(conn, entry):
            policy_dn, p = self._policy(conn, entry["attributes"])
            if blocked and p and _bool(_first(p, "pwdLockout")) is not True:
                raise StoreError(f"the entry's password policy {policy_dn} has no pwdLockout: TRUE, and slapd "
                                 "ignores pwdAccountLockedTime without it: blocking would not stop binds")
        if blocked:
            self._modify(username, {"pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, [PERMANENT_LOCK])]},
                         fetch=["pwdPolicySubentry"], check=lockout_honoured)
        else:
            self._modify(username, {"pwdAccountLockedTime": [(ldap3.MODIFY_DELETE, [PERMANENT_LOCK])]})
        return 0

    def end_sessions(self, username: str) -> int:
        raise StoreError(UNSUPPORTED["revoke_sessions"])

    def require_change(self, username: str) -> None:
        self._modify(username, {"pwdReset": [(ldap3.MODIFY_REPLACE, ["TRUE"])]})

    def unlock(self, username: str) -> None:
        """Deletes a lockout's pwdAccountLockedTime (not an administrator's
        block: that is unblock's) and pwdFailureTime, the latter with the
        Relax Rules control (NO-USER-MODIFICATION; slapd lets an identity
        with manage access remove it so)."""
        def changes(entry):
            a = entry["attributes"]
            mods = {}
            locked = _first(a, "pwdAccountLockedTime")
            if locked is not None and _text(locked) != PERMANENT_LOCK:
                mods["pwdAccountLockedTime"] = [(ldap3.MODIFY_DELETE, [])]
            if a.get("pwdFailureTime"):
                mods["pwdFailureTime"] = [(ldap3.MODIFY_DELETE, [])]
            if not mods:
                raise StoreError(f"{username} is not locked: no lockout pwdAccountLockedTime or pwdFailureTime "
                                 "to clear")
            return mods
        self._modify(username, changes, fetch=["pwdAccountLockedTime", "pwdFailureTime"],
                     controls=[(RELAX, True, None)])

    def delete(self, username: str) -> int:
        def body(conn, sent):
            dn = self._dn(conn, username)["dn"]
            sent.append(True)
            self._check(conn, conn.delete(dn), sent=sent)
            return 0
        return self._run(body, changing=True)

    def probe(self, username: str, change: str) -> str | None:
        """``credential``: the newest pwdHistory hash, digested (the hash the
        change replaced; None without history: cannot tell); ``blocked``;
        ``must_change``; ``locked``; ``deleted``."""
        def body(conn):
            entry = self._find(conn, username, [*_PPOLICY_ATTRS])
            if change == "deleted":
                return "deleted" if entry is None else "present"
            if entry is None:
                return None
            a = entry["attributes"]
            locked = _first(a, "pwdAccountLockedTime")
            if change == "credential":
                return self._history_probe(conn, entry["dn"])
            if change == "blocked":
                return "blocked" if locked is not None and _text(locked) == PERMANENT_LOCK else "active"
            if change == "must_change":
                return "required" if _bool(_first(a, "pwdReset")) is True else "not required"
            if change == "locked":
                lockout = locked is not None and _text(locked) != PERMANENT_LOCK
                return "locked" if lockout or a.get("pwdFailureTime") else "unlocked"
            return None
        return self._run(body)
