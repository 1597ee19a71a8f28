"""What every service function is given: the context (database, settings, hasher,
clock) and the actor (the signed-in operator on whose behalf it acts)."""

from __future__ import annotations

from collections.abc import Callable
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy.engine import Engine

from pathlib import Path

from console import db
from console.config import Settings, audit_keys_dir
from console.security.auditkey import AuditKey, KeyFileError
from console.models import utcnow
from console.security.hashing import Argon2Params, PasswordHasher
from console.security.policy import Policy
from console.stores import Store, open_store


@dataclass
class ServiceContext:
    #: The desk: operators and the audit chain (for the native store, also the accounts).
    engine: Engine
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    #: Overrides the configured argon2 parameters (tests use the cheapest profile).
    argon2_params: Argon2Params | None = None
    #: A foreign store (console/stores/), or None for the native one.
    store: Store | None = None
    hasher: PasswordHasher = field(init=False)

    def __post_init__(self) -> None:
        self.hasher = PasswordHasher(self.argon2_params or self.settings.argon2_params())
        self._cache: dict[str, tuple[object, float, int]] = {}
        #: Bumped by every committed change made through this context.
        self.writes = 0
        self._audit_key: AuditKey | None = None

    # A small cache for expensive, slowly changing answers (the total user
    # count): valid for ``ttl`` seconds and until this context writes.
    def cache_get(self, key: str, ttl: float):
        hit = self._cache.get(key)
        if hit is None:
            return None
        value, at, writes = hit
        if writes != self.writes or time.monotonic() - at > ttl:
            return None
        return value

    def cache_put(self, key: str, value: object) -> None:
        self._cache[key] = (value, time.monotonic(), self.writes)

    @classmethod
    def from_settings(cls, settings: Settings, **kw) -> "ServiceContext":
        """The desk's engine, and the store ``settings`` name (opened here: a
        store that cannot be opened is STORE_UNAVAILABLE, naming why)."""
        engine = db.make_engine(settings.desk_database_url(), settings=settings)
        if settings.foreign_store and "store" not in kw:
            from console.services.errors import StoreUnavailable
            from console.stores import StoreError

            try:
                kw["store"] = open_store(settings, kw.get("clock"))
            except StoreError as exc:
                engine.dispose()
                raise StoreUnavailable(exc.message) from None
        return cls(engine=engine, settings=settings, **kw)

    # -- the audit key: outside the database (settings.audit_key, a 0600 file) --

    def audit_key_location(self, key_id: str | None) -> str:
        """Where the key ``key_id`` is looked for, for a message."""
        if self.settings.audit_key is not None:
            return "the audit_key setting (USERDESK_AUDIT_KEY)"
        return str(self._audit_key_path(key_id))

    def _audit_key_path(self, key_id: str | None) -> Path:
        if self.settings.audit_key_file:
            return Path(self.settings.audit_key_file).expanduser()
        # The id comes from the database: only one shaped as an id names a file.
        ok = key_id is not None and len(key_id) == 16 and all(c in "0123456789abcdef" for c in key_id)
        return audit_keys_dir() / f"{key_id if ok else '<key id>'}.key"

    def audit_key(self, key_id: str | None) -> AuditKey | None:
        """The audit key: the one given (setting or file) whatever its id, else
        the key file named by ``key_id`` (the id the log's head records); None
        where this machine has none. A key that cannot be read, or is readable
        by others, is CONFIG_INVALID naming the file (never the key)."""
        if self._audit_key is not None and (key_id is None or self._audit_key.id == key_id):
            return self._audit_key
        from console.services.errors import ConfigError

        try:
            if self.settings.audit_key is not None:
                key = AuditKey.from_text(self.settings.audit_key.get_secret_value(),
                                         where="audit_key (USERDESK_AUDIT_KEY)")
            else:
                if key_id is None and not self.settings.audit_key_file:
                    return None
                path = self._audit_key_path(key_id)
                if path.name == "<key id>.key" or not path.exists():
                    return None
                key = AuditKey.read(path)
        except KeyFileError as exc:
            raise ConfigError(str(exc)) from None
        self._audit_key = key
        return key

    def new_audit_key(self) -> AuditKey:
        """The key a new log is signed with: the one given, else a new one,
        written to its 0600 file before the first event commits."""
        key = self.audit_key(None)
        if key is None:
            key = AuditKey.generate()
            path = self._audit_key_path(key.id)
            try:
                key.write(path)
            except (KeyFileError, OSError) as exc:
                if self.settings.audit_key_file and path.exists():
                    return self.audit_key(None)  # another process made the named file first: its key it is
                from console.services.errors import ConfigError

                raise ConfigError(f"the audit key cannot be written: {exc}") from None
            self._audit_key = key
        return key

    def close(self) -> None:
        """Let go of the desk's connections and the store's."""
        self.engine.dispose()
        if self.store is not None:
            self.store.close()

    @property
    def store_name(self) -> str:
        return self.store.name if self.store is not None else "native"

    @property
    def policy(self) -> Policy:
        return self.settings.password_policy()

    def now(self) -> datetime:
        return self.clock()

    @cached_property
    def _write_engine(self) -> Engine:
        if self.engine.dialect.name == "sqlite":
            return self.engine.execution_options(sqlite_begin="IMMEDIATE")
        return self.engine

    def write_session(self):
        from sqlmodel import Session

        return Session(self._write_engine, expire_on_commit=False)

    def read_session(self):
        return db.read_session(self.engine)


@dataclass(frozen=True)
class Actor:
    """An operator, as signed in. Its role is re-read from the database by every
    action, so a demotion or block takes effect at once."""

    id: int | None
    username: str
    role: str
    #: How the operator was identified: ``password``, ``trusted`` or ``system``.
    method: str = "password"
    must_change_password: bool = False

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        """The console itself (``init``, ``demo``) or the integrating application."""
        return cls(id=None, username=name, role="system", method="system")

    @property
    def is_system(self) -> bool:
        return self.role == "system"
