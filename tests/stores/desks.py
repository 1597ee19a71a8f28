"""What every store's tests share: contexts on a store with their desk made
(as ``init`` makes it), closed when the test ends, and operators in a desk."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from console import db
from console.config import Settings
from console.security.hashing import Argon2Params
from console.services import auth, users
from console.services.context import Actor, ServiceContext


def operator(ctx: ServiceContext, role: str, name: str | None = None) -> Actor:
    """An operator of ``role`` in the desk, signed in."""
    name = name or f"op-{role}"
    made = users.create_user(ctx, Actor.system("test"), name, role=role, must_change=False)
    return auth.sign_in(ctx, name, made.password.reveal())


def desks(clock) -> Iterator[Callable[[Settings], ServiceContext]]:
    """The body of an ``open_desk`` fixture: ``open_desk(settings)`` → a
    context on that store, its desk made; every one closed at the end."""
    made: list[ServiceContext] = []

    def open_desk(settings: Settings) -> ServiceContext:
        c = ServiceContext.from_settings(settings, argon2_params=Argon2Params.cheapest(), clock=clock)
        db.create_schema(c.engine)
        made.append(c)
        return c

    yield open_desk
    for c in made:
        c.close()
