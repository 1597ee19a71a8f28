"""A real Redis server (Debian's ``redis-server``) for the redis-acl store's
tests: started on loopback on a free port in a temporary directory, RDB and
AOF off, stopped and deleted at the end of the run. Started lazily, by the
first test that needs it (each pytest-xdist worker starts its own).

Two of them, as servers are set up:

- ``redis_server``: users in an ACL file (``--aclfile``), which ``ACL SAVE``
  writes;
- ``redis_conf_server``: users in ``redis.conf`` and no ACL file, so changes
  live until the server restarts and ``ACL SAVE`` refuses.

In both, ``default`` is off and the store connects as ``ud-admin`` (all
commands), whose password the server checks.

``USERDESK_TEST_REDIS``: unset or ``auto``: the tests skip with a message when
``redis-server`` is absent; ``required`` (CI): a server that cannot start
fails them; ``off``: skip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from console.config import Settings
from console.services.context import ServiceContext

from desks import operator  # noqa: F401  (the tests take it from here)
from ports import free_port

ENV = "USERDESK_TEST_REDIS"
ADMIN = "ud-admin"
ADMIN_PASSWORD = "the store admin's password 1"
OLD = "an old password 1"


class RedisUnavailable(RuntimeError):
    pass


class Server:
    """One redis-server process of this run."""

    def __init__(self, *, aclfile: bool) -> None:
        self.with_aclfile = aclfile
        self.binary = shutil.which("redis-server")
        if not self.binary:
            raise RedisUnavailable("redis-server was not found (Debian: apt-get install redis-server)")
        self.base = Path(tempfile.mkdtemp(prefix="userdesk-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        # The admin's password as its hash: an ACL file's rules are split on spaces.
        digest = hashlib.sha256(ADMIN_PASSWORD.encode()).hexdigest()
        users = f"user default off\nuser {ADMIN} on #{digest} ~* &* +@all\n"
        conf = (f"port {self.port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {self.base}\n"
                f"logfile {self.base / 'server.log'}\ndaemonize no\n")
        if aclfile:
            self.acl_path = self.base / "users.acl"
            self.acl_path.write_text(users)
            conf += f"aclfile {self.acl_path}\n"
        else:
            self.acl_path = None
            conf += users
        self.conf = self.base / "redis.conf"
        self.conf.write_text(conf)
        self.conf.chmod(0o600)
        try:
            self.start()
        except RedisUnavailable:
            self.close()
            raise
        self.version = self.admin().info("server")["redis_version"]

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
                log = (self.base / "server.log").read_text(errors="replace") if (self.base / "server.log").exists() \
                    else ""
                raise RedisUnavailable(f"redis-server exited ({self.proc.returncode}): {(err + log)[-800:]}")
            try:
                if self.admin().ping():
                    return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RedisUnavailable("redis-server did not answer within 30 s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the process (its in-memory users go with it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def client(self, username: str | None, password: str | None, **kw) -> redis.Redis:
        """A connection signed in as ``username`` (no retries: a refusal or a
        cut connection shows as it is)."""
        return redis.Redis(host="127.0.0.1", port=self.port, username=username, password=password,
                           decode_responses=True, protocol=2, socket_timeout=10, socket_connect_timeout=10,
                           retry=Retry(NoBackoff(), 0), **kw)

    def admin(self) -> redis.Redis:
        return self.client(ADMIN, ADMIN_PASSWORD)

    def url(self, user: str = ADMIN, password: str | None = ADMIN_PASSWORD) -> str:
        from urllib.parse import quote

        auth_ = quote(user, safe="") + (":" + quote(password, safe="") if password is not None else "")
        return f"redis://{auth_}@127.0.0.1:{self.port}/0"


_SERVERS: dict[bool, Server | str] = {}


def _server(aclfile: bool) -> Server:
    choice = os.environ.get(ENV, "auto").strip()
    if choice == "off":
        pytest.skip(f"the redis-acl store is tested on a real redis-server: {ENV}=off")
    got = _SERVERS.get(aclfile)
    if got is None:
        try:
            got = Server(aclfile=aclfile)
        except RedisUnavailable as exc:
            got = str(exc)
        _SERVERS[aclfile] = got
    if isinstance(got, str):
        if choice == "required":
            pytest.fail(f"{ENV}=required and no Redis server could be started: {got}")
        pytest.skip(f"the redis-acl store is tested on a real redis-server, and none could be started here "
                    f"({got}); {ENV}=required makes this a failure")
    if got.proc is None:
        got.start()  # a test stopped it
    return got


@pytest.fixture(scope="session")
def redis_servers():
    yield _server
    for s in list(_SERVERS.values()):
        if isinstance(s, Server):
            s.close()
    _SERVERS.clear()


@pytest.fixture
def redis_server(redis_servers) -> Server:
    """The run's Redis server whose users are in an ACL file."""
    return redis_servers(True)


@pytest.fixture
def redis_conf_server(redis_servers) -> Server:
    """The run's Redis server whose users are in redis.conf (no ACL file)."""
    return redis_servers(False)


class Users:
    """ACL users on a server for one test, all named ``prefix + name``."""

    def __init__(self, server: Server, prefix: str) -> None:
        self.server, self.prefix = server, prefix

    def name(self, short: str) -> str:
        return self.prefix + short

    def make(self, short: str, password: str | None = OLD, *rules: str) -> str:
        name = self.name(short)
        pw = [f">{password}"] if password is not None else ["nopass"]
        self.server.admin().execute_command("ACL", "SETUSER", name, "reset", "on", *pw,
                                            *(rules or ("~app:*", "+@read", "+@write", "+ping")))
        return name

    def connect(self, name: str, password: str) -> redis.Redis:
        """A connection kept open (one socket), signed in as ``name``."""
        c = self.server.client(name, password, single_connection_client=True)
        c.ping()
        return c

    def signs_in(self, name: str, password: str) -> bool:
        """AUTH name password on a fresh connection: whether the server accepts it."""
        c = self.server.client(None, None, single_connection_client=True)
        try:
            return c.execute_command("AUTH", name, password) in (True, "OK")
        except redis.AuthenticationError:
            return False
        except redis.ResponseError as exc:
            if "WRONGPASS" in str(exc) or "disabled" in str(exc):
                return False
            raise
        finally:
            c.close()

    def getuser(self, name: str) -> dict | None:
        got = self.server.admin().execute_command("ACL", "GETUSER", name)
        return None if got is None else {got[i]: got[i + 1] for i in range(0, len(got), 2)}

    def drop_all(self) -> None:
        if self.server.proc is None:
            return
        a = self.server.admin()
        mine = [n for n in a.execute_command("ACL", "USERS") if n.startswith(self.prefix)]
        if mine:
            a.execute_command("ACL", "DELUSER", *mine)
        if self.server.with_aclfile:
            a.execute_command("ACL", "SAVE")


def alive(c: redis.Redis) -> bool:
    """Whether a kept connection still answers (not closed by the server)."""
    try:
        return bool(c.ping())
    except (redis.ConnectionError, redis.AuthenticationError):
        return False


@pytest.fixture
def rusers(redis_server):
    u = Users(redis_server, f"ud{uuid.uuid4().hex[:8]}-")
    yield u
    u.drop_all()


def redis_settings(tmp_path, server: Server, **kw) -> Settings:
    return Settings(store="redis-acl", database_url=kw.pop("url", None) or server.url(),
                    desk_url=f"sqlite:///{tmp_path / 'desk.db'}", **kw)


@pytest.fixture
def make_rctx(tmp_path, open_desk):
    def make(server: Server, **kw) -> ServiceContext:
        return open_desk(redis_settings(tmp_path, server, **kw))

    return make


@pytest.fixture
def rctx(make_rctx, redis_server, rusers):
    """A context on the redis-acl store (the ACL-file server), its desk made."""
    return make_rctx(redis_server)


