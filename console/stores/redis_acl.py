"""A Redis server's ACL users, read with ``ACL USERS`` / ``ACL GETUSER`` /
``CLIENT LIST`` and changed with the server's own commands: ``ACL SETUSER``
(``resetpass #<sha256>``, ``off`` / ``on``), ``CLIENT KILL USER``,
``ACL DELUSER``, then ``ACL SAVE`` when the server keeps its users in an ACL
file. userdesk creates nothing on the server.

A password reaches the server only as its SHA-256 (``#<hex>``), the one
form Redis stores: the plaintext is never sent. Redis redacts every argument
of ``ACL SETUSER`` in SLOWLOG (acl.c: ``redactClientCommandArgument`` on each
argument) and MONITOR never shows ACL commands (they are admin commands), so
even the hash is in neither. SHA-256 is fast and unsalted: a generated
password (192 bits and more) is safe under it, a chosen one only as far as it
is long and random (the ``dcs`` preset is the seed's rule for these servers).

ACL users are few (a server's handful of services and people): Redis has no
server-side paging of them, so ``page`` sorts the names ``ACL USERS`` gives and
pages in Python; ``count`` stays capped as the interface asks.

The connection is a user that may run ``ACL SETUSER`` (checked with
``ACL DRYRUN`` when the store is opened); ``CLIENT LIST``/``CLIENT KILL`` and
``CONFIG GET aclfile`` are used where it may. Its password comes from the
URL (``redis://admin:…@host:6379/0``), a file only its owner may read
(``redis_password_file``) or, as for redis-cli, the environment variable
``REDISCLI_AUTH``; never from the desk. ``rediss://`` is TLS.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from console.stores.base import Account, AccountPage, Credential, Store, StoreError, Written

UNSUPPORTED = {
    "issue_ticket": "Redis has no reset links: reset the password or set one",
    "email_ticket": "Redis has no reset links: reset the password or set one",
    "force_change": "Redis has no must-change flag: an ACL user cannot be made to choose a new password",
    "expire": "Redis ACL passwords do not expire",
    "unlock": "Redis has no lockout after failed sign-ins (they are only logged, in ACL LOG): block and unblock "
              "with off / on instead",
    "create": "create users with ACL SETUSER (redis-cli or your provisioning) and save them: userdesk resets and "
              "locks existing ones",
    "set_role": "a user's rights are its ACL rules (commands, keys, channels), changed with ACL SETUSER",
    "update_profile": "an ACL user has no name or email fields",
    "revoke_ticket": "Redis has no reset links",
}

#: Commands whose holder has rights over other users (changes or removes
#: them, reloads them all, or sets the default user's password through
#: requirepass): such a user is ``admin`` for permissions.
_RIGHTS_OVER_OTHERS = (("ACL", "SETUSER", "x"), ("ACL", "DELUSER", "x"), ("ACL", "LOAD"),
                       ("CONFIG", "SET", "requirepass", "x"))
#: An ACL hash in a server message (an invalid modifier is echoed back).
_HASH = re.compile(r"#?[0-9a-fA-F]{64}")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _printable(text: str) -> str:
    """Server text shown as text: control characters and undecodable bytes escaped."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()) & 0xFF:02x}", text)


def _words(exc: Exception, *secrets: str) -> str:
    """The server's (or the client library's) own words, with any hash or
    secret taken out: never the command sent."""
    text = str(exc).strip() or type(exc).__name__
    for s in secrets:
        if s:
            text = text.replace(s, "<hidden>")
    return _printable(_HASH.sub("#<hash>", text))[:500]


def _probe(hashes: list[str]) -> str:
    """What ``probe(…, "credential")`` compares: a digest of the user's stored
    password hashes (never a hash itself)."""
    return hashlib.sha256(",".join(sorted(hashes)).encode()).hexdigest()


def _pairs(reply: Any) -> dict[str, Any]:
    """A RESP2 flat [key, value, …] reply (or a RESP3 map) as a dict."""
    if isinstance(reply, dict):
        return dict(reply)
    return {reply[i]: reply[i + 1] for i in range(0, len(reply) - 1, 2)}


def _rules(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value or "")


class RedisAclStore(Store):
    name = "redis-acl"
    #: An ACL user is a name only.
    has_profile = False
    unsupported = UNSUPPORTED
    says = {
        "block": "Redis: ACL SETUSER … off, and CLIENT KILL USER",
        "unblock": "Redis: ACL SETUSER … on",
        "revoke_sessions": "Redis: CLIENT KILL USER",
        "delete": "Redis: ACL DELUSER, which closes its connections",
    }

    def __init__(self, url: str, *, password: str | None = None, connect_timeout: float = 10, timeout: float = 30,
                 env=None) -> None:
        """``password``: the connection's, when the URL has none (the
        redis_password_file setting); else ``REDISCLI_AUTH``."""
        env = os.environ if env is None else env
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise StoreError("database_url: not a Redis URL (e.g. redis://admin@127.0.0.1:6379/0)",
                             refused=False) from None
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise StoreError("the redis-acl store needs a Redis server's URL (redis://admin@127.0.0.1:6379/0, "
                             "rediss:// for TLS)", refused=False)
        self._url = url
        self._options: dict[str, Any] = {
            "socket_connect_timeout": connect_timeout, "socket_timeout": timeout, "decode_responses": True,
            "encoding_errors": "surrogateescape", "protocol": 2, "retry": Retry(NoBackoff(), 0),
            "single_connection_client": True, "health_check_interval": 0}
        if parts.password is None and (password or env.get("REDISCLI_AUTH")):
            self._options["password"] = password or env["REDISCLI_AUTH"]
        self.where = f"Redis ACL users on {parts.hostname}:{port or 6379}"
        #: The last ACL SAVE failure after a change (the change holds until the server restarts).
        self.save_error: str | None = None
        with self._client() as r:
            def opening(r):
                me = r.execute_command("ACL", "WHOAMI")
                may = r.execute_command("ACL", "DRYRUN", me, "ACL", "SETUSER", "x")
                return me, may
            try:
                self.current_user, may = self._guard(lambda: opening(r))
            except StoreError as exc:
                if not exc.refused:
                    raise
                if "unknown subcommand" in exc.message.lower():
                    raise StoreError(f"{self.where}: ACL DRYRUN is missing: the redis-acl store needs Redis 7.0 "
                                     "or later", refused=False) from None
                raise StoreError(f"{self.where}: the connection cannot read or change ACL users "
                                 f"({exc.message})", refused=False) from None
            if may != "OK":
                raise StoreError(f"{self.where}: the connection's user {self.current_user!r} may not run ACL "
                                 f"SETUSER ({_printable(str(may))}): it cannot change users", refused=False)
            self.aclfile, self.persistence = self._persistence(r)

    # -- the connection ----------------------------------------------------------

    def _client(self) -> redis.Redis:
        try:
            return redis.Redis.from_url(self._url, **self._options)
        except (redis.RedisError, OSError, ValueError) as exc:  # unreachable, or the sign-in refused
            raise StoreError(f"{self.where}: cannot connect ({_words(exc, self._options.get('password', ''))})",
                             refused=False) from None

    def _guard(self, fn: Callable[[], Any], sent: list[bool] | None = None, *, secret: str = "") -> Any:
        """``fn()``, its failures as StoreError: the server's refusal in its own
        words (refused); a lost or unreachable server refused=False, and
        in_doubt once a change was sent (``sent`` not empty)."""
        try:
            return fn()
        except StoreError:
            raise
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            words = _words(exc, secret, self._options.get("password", ""))
            if sent:
                raise StoreError(f"{self.where}: the connection was lost during the change ({words})",
                                 refused=False, in_doubt=True) from None
            raise StoreError(f"{self.where}: cannot be reached ({words})", refused=False) from None
        except redis.ResponseError as exc:
            raise StoreError(f"Redis refused: {_words(exc, secret)}") from None
        except redis.RedisError as exc:
            raise StoreError(f"{self.where}: {_words(exc, secret)}", refused=False) from None

    def _run(self, fn, *, changing: bool = False, secret: str = ""):
        """``fn(r)`` on a fresh connection (``fn(r, sent)`` for a change: it
        appends to ``sent`` just before it sends the changing command)."""
        sent: list[bool] = []
        r = self._client()
        try:
            return self._guard(lambda: fn(r, sent) if changing else fn(r), sent, secret=secret)
        finally:
            try:
                r.close()
            except (redis.RedisError, OSError):
                pass

    def _persistence(self, r) -> tuple[str | None, str]:
        """(the ACL file or None, what happens to a change at restart)."""
        try:
            reply = _pairs(r.execute_command("CONFIG", "GET", "aclfile"))
        except redis.ResponseError as exc:
            return None, (f"unknown whether changes are saved: the connection may not read the server's aclfile "
                          f"setting ({_words(exc)})")
        aclfile = reply.get("aclfile") or None
        if aclfile:
            return aclfile, f"saved with ACL SAVE to {_printable(aclfile)}"
        try:  # the server says in its own words why it cannot save users
            r.execute_command("ACL", "SAVE")
            said = ""
        except redis.ResponseError as exc:
            said = f" (ACL SAVE: {_words(exc)})"
        return None, ("changes are lost at restart: the server has no aclfile (its users are in redis.conf or were "
                      "made at run time); set aclfile in redis.conf to keep them" + said)

    # -- reading -----------------------------------------------------------------

    def _names(self, r, search: str | None) -> list[str]:
        names = sorted(r.execute_command("ACL", "USERS"))
        if search:
            needle = search.casefold()
            names = [n for n in names if needle in n.casefold()]
        return names

    def page(self, *, search, after, before, from_end, limit) -> AccountPage:
        """Users in name order; ACL users are few, so the names are sorted and
        paged here (Redis has no paging of ACL USERS)."""
        def body(r):
            names = self._names(r, search)
            if after is not None:
                names = [n for n in names if n > after]
            if before is not None:
                names = [n for n in names if n < before]
            if before is not None or from_end:
                chosen, more = names[-limit:], len(names) > limit
            else:
                chosen, more = names[:limit], len(names) > limit
            return [self._account(r, n, info) for n, info in zip(chosen, self._users(r, chosen)) if info], more
        items, more = self._run(body)
        return AccountPage(items, more)

    def count(self, *, search, cap) -> tuple[int, bool]:
        n = len(self._run(lambda r: self._names(r, search)))
        return (cap, True) if n > cap else (n, False)

    def _users(self, r, names: list[str]) -> list[dict | None]:
        """ACL GETUSER and the rights checks for each name, pipelined."""
        if not names:
            return []
        pipe = r.pipeline(transaction=False)
        for n in names:
            pipe.execute_command("ACL", "GETUSER", n)
            for cmd in _RIGHTS_OVER_OTHERS:
                pipe.execute_command("ACL", "DRYRUN", n, *cmd)
        replies = pipe.execute(raise_on_error=False)
        out: list[dict | None] = []
        step = 1 + len(_RIGHTS_OVER_OTHERS)
        for i in range(len(names)):
            got = replies[i * step]
            if isinstance(got, Exception):
                raise got
            if got is None:
                out.append(None)
                continue
            info = _pairs(got)
            info["rights"] = any(v == "OK" for v in replies[i * step + 1:(i + 1) * step])
            out.append(info)
        return out

    def _getuser(self, r, username: str) -> dict | None:
        got = r.execute_command("ACL", "GETUSER", username)
        return None if got is None else _pairs(got)

    def _sessions(self, r, username: str) -> int | None:
        try:
            listing = r.execute_command("CLIENT", "LIST")
        except redis.ResponseError:
            return None  # the connection may not list clients
        mine = f"user={username}"
        return sum(1 for line in listing.splitlines() if mine in line.split(" "))

    def get(self, username: str) -> Account | None:
        def body(r):
            info = self._users(r, [username])[0]
            if info is None:
                return None
            return self._account(r, username, info, sessions=self._sessions(r, username), detail=True)
        return self._run(body)

    def _account(self, r, name: str, info: dict, *, sessions: int | None = None, detail: bool = False) -> Account:
        flags_ = [str(f) for f in info.get("flags") or []]
        on = "on" in flags_
        nopass = "nopass" in flags_
        passwords = list(info.get("passwords") or [])
        kind = "default" if name == "default" else "admin" if info.get("rights") else "user"
        details = [
            ("status", "on" if on else "off (cannot sign in)"),
            ("passwords", "any (nopass)" if nopass else f"{len(passwords)} (SHA-256, unsalted: prefer generated "
             "passwords)" if passwords else "none"),
            ("commands", _printable(_rules(info.get("commands"))) or "none"),
            ("keys", _printable(_rules(info.get("keys"))) or "none"),
            ("channels", _printable(_rules(info.get("channels"))) or "none"),
        ]
        for i, sel in enumerate(info.get("selectors") or [], 1):
            s = _pairs(sel)
            text = " ".join(t for t in (_rules(s.get("keys")), _rules(s.get("channels")), _rules(s.get("commands")))
                            if t)
            details.append((f"selector {i}", _printable(f"({text})")))
        # May run ACL SETUSER, DELUSER or LOAD, or CONFIG SET requirepass.
        details.append(("changes users", "yes" if info.get("rights") else "no"))
        if detail:
            details.append(("saved", self._saved()))
        if sessions is not None:
            details.append(("sessions", str(sessions)))
        flags = []
        if nopass and on:
            flags.append("nopass: any password signs in as this user"
                         + (" (and every connection that does not AUTH is default)" if name == "default" else ""))
        if on and not nopass and not passwords:
            flags.append("no password: nobody can sign in as this user")
        if detail and self.aclfile is None:
            flags.append(self.persistence)
        if detail and self.save_error is not None:
            flags.append(f"the last change is not saved to the aclfile ({self.save_error}): it is lost at restart")
        if name == self.current_user:
            flags.append("userdesk's own connection user: no action is taken on it here")
        return Account(username=name, email=None, display_name="", role="admin" if kind != "user" else "member",
                       kind=kind, blocked=not on, details=tuple(details), flags=tuple(flags), sessions=sessions)

    def _saved(self) -> str:
        """One line on whether changes outlive a restart (the flags say more)."""
        if self.aclfile is None:
            return "no: changes are lost at restart (no aclfile)" if "no aclfile" in self.persistence else "unknown"
        if self.save_error is not None:
            return "no: the last ACL SAVE failed"
        return f"by ACL SAVE to {_printable(self.aclfile)}"

    def refuses(self, username: str) -> str | None:
        if username == self.current_user:
            return (f"{username} is the user userdesk connects as: change it from another connection "
                    "(a console cannot lock itself out)")
        return None

    # -- changing ------------------------------------------------------------------

    def new_credential(self, username: str, password: str) -> Credential:
        """The password's SHA-256 as ACL SETUSER takes it (``#<hex>``): the
        hash Redis itself keeps, so the plaintext never leaves this process."""
        digest = hashlib.sha256(password.encode("utf-8")).hexdigest()
        return Credential("#" + digest, _probe([digest]),
                          "SHA-256 (ACL SETUSER resetpass #<hash>: the server never receives the password; Redis "
                          "keeps it as unsalted SHA-256)")

    def _existing(self, r, username: str) -> dict:
        info = self._getuser(r, username)
        if info is None:
            raise StoreError(f"no Redis ACL user named {_printable(username)!r}")
        return info

    def _save(self, r) -> None:
        """ACL SAVE when the server has an ACL file. The change is made
        whatever happens here: a failure is kept (and shown on every account),
        not reported as the change refused."""
        if self.aclfile is None:
            return
        try:
            r.execute_command("ACL", "SAVE")
            self.save_error = None
        except (redis.RedisError, OSError) as exc:
            self.save_error = f"ACL SAVE failed: {_words(exc)}"

    def _kill(self, r, username: str) -> int:
        """CLIENT KILL USER: the user's connections, ended. The change has
        landed (the server answered it): a refusal or a lost connection here
        ends none rather than reporting the change refused or in doubt."""
        try:
            return int(r.execute_command("CLIENT", "KILL", "USER", username))
        except (redis.RedisError, OSError):
            return 0

    def write_credential(self, username: str, credential: Credential) -> int:
        """ACL SETUSER <name> resetpass #<sha256>: the user's only password is
        the new one (``nopass`` goes too); saved; then the user's open
        connections, signed in with the old one, are ended (Redis leaves them
        open). Returns the sessions ended."""
        def body(r, sent):
            self._existing(r, username)
            sent.append(True)
            r.execute_command("ACL", "SETUSER", username, "resetpass", credential.value)
            self._save(r)
            return Written(self._kill(r, username), self._unsaved())
        return self._run(body, changing=True, secret=credential.value[1:])

    def _unsaved(self) -> str:
        """What the audit and the screen add to a new password that will not
        outlive a restart of the server."""
        if self.save_error is not None:
            return f"; NOT SAVED ({self.save_error}): the old password is back if the server restarts"
        if self.aclfile is None:
            return "; not saved: the server has no aclfile, so the old password is back if it restarts"
        return ""

    def set_blocked(self, username: str, blocked: bool) -> int:
        """``off`` (no new sign-in) and, since Redis leaves the connections a
        disabled user already has, CLIENT KILL USER; unblock is ``on``."""
        def body(r, sent):
            self._existing(r, username)
            sent.append(True)
            r.execute_command("ACL", "SETUSER", username, "off" if blocked else "on")
            self._save(r)
            return self._kill(r, username) if blocked else 0
        return self._run(body, changing=True)

    def end_sessions(self, username: str) -> int:
        def body(r, sent):
            self._existing(r, username)
            sent.append(True)
            return int(r.execute_command("CLIENT", "KILL", "USER", username))
        return self._run(body, changing=True)

    def delete(self, username: str) -> int:
        """ACL DELUSER, which also closes the user's connections (counted just
        before); saved. Redis refuses to remove ``default`` in its own words."""
        def body(r, sent):
            self._existing(r, username)
            open_ = self._sessions(r, username) or 0
            sent.append(True)
            if int(r.execute_command("ACL", "DELUSER", username)) == 0:
                raise StoreError(f"no Redis ACL user named {_printable(username)!r}")
            self._save(r)
            return open_
        return self._run(body, changing=True)

    def probe(self, username: str, change: str) -> str | None:
        """``credential``: a digest of the stored password hashes; ``blocked``:
        off or on; ``deleted``: whether the user is gone; ``sessions``: whether
        any connection of the user is open."""
        def body(r):
            info = self._getuser(r, username)
            if change == "deleted":
                return "deleted" if info is None else "present"
            if info is None:
                return None
            if change == "credential":
                return _probe(list(info.get("passwords") or []))
            if change == "blocked":
                return "active" if "on" in (info.get("flags") or []) else "blocked"
            if change == "sessions":
                n = self._sessions(r, username)
                return None if n is None else "none" if n == 0 else "some"
            return None
        return self._run(body)
