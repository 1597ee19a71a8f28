"""What every service function is given: the context (database, settings, hasher,
clock) and the actor (the signed-in operator on whose behalf it acts)."""

from __future__ import annotations

from collections.abc import Callable
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy.engine import Engine

from console import db
from console.config import Settings
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
