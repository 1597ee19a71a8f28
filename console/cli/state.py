"""The state shared by the commands of one invocation: settings, the service
context, standard input and the operator."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import typer

from typing import TYPE_CHECKING

from console.services.errors import InvalidInput

if TYPE_CHECKING:  # imported where used: `userdesk --help` loads neither
    from console.config import Settings
    from console.services.context import Actor, ServiceContext


def local_reader() -> "Actor":
    """Who reads when no operator is named: a viewer without an account."""
    from console.services.context import Actor

    return Actor(id=None, username="local", role="viewer", method="local")


class State:
    def __init__(self, profile: str | None, config: str | None, database: str | None, operator: str | None,
                 password_stdin: bool, read_only: bool, store: str | None = None) -> None:
        self.store = store
        self.profile = profile
        self.config = config
        self.database = database
        self.operator = operator
        self.password_stdin = password_stdin
        self.read_only = read_only
        self._settings: Settings | None = None
        self._ctx: ServiceContext | None = None
        self._stdin: Iterable[bytes] | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            overrides: dict[str, Any] = {"database_url": self.database, "store": self.store}
            if self.read_only:
                overrides["read_only"] = True
            from console.config import load_settings

            self._settings = load_settings(profile=self.profile, config_path=self.config, overrides=overrides)
        return self._settings

    def ctx(self) -> ServiceContext:
        if self._ctx is None:
            from console.services.context import ServiceContext

            self._ctx = ServiceContext.from_settings(self.settings())
        return self._ctx

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()

    # stdin: read as bytes, line by line, decoded strictly so bad bytes are a clear error
    def stdin_line(self, field: str) -> str:
        if self._stdin is None:
            self._stdin = iter(sys.stdin.buffer.readline, b"")
        raw = next(iter(self._stdin), b"")
        if not raw:
            raise InvalidInput(field, "required", "expected one more line on standard input")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(field, "encoding", "standard input is not valid UTF-8") from None
        return text.rstrip("\n").removesuffix("\r")

    def secret(self, field: str, prompt: str, *, from_stdin: bool, confirm: bool = False) -> str:
        if from_stdin:
            return self.stdin_line(field)
        if not sys.stdin.isatty():
            raise InvalidInput(field, "no_terminal", "no terminal to prompt on: give it on standard input "
                                                     "with --password-stdin")
        return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)

    def ready(self) -> ServiceContext:
        """The context, on a database at this console's schema version (or an
        error saying what to run)."""
        from console.services import accounts, database

        ctx = self.ctx()
        database.check_schema(ctx)
        if ctx.settings.foreign_store:
            accounts.settle_pending(ctx)  # what a crash left pending (docs/architecture.md)
        return ctx

    @property
    def foreign(self) -> bool:
        """Whether the accounts are in a foreign store (``--store django``)."""
        return self.settings().foreign_store

    def actor(self) -> Actor:
        """The operator for a mutating command: signed in, or trusted by config."""
        from console.services import auth

        ctx = self.ready()
        if not self.operator:
            raise InvalidInput("operator", "required", "this command changes data: give --operator NAME "
                                                       "(or set USERDESK_OPERATOR)")
        if ctx.settings.trusted_operator:
            return auth.trusted_operator(ctx, self.operator)
        password = self.secret("operator_password", f"Password for operator {self.operator}",
                               from_stdin=self.password_stdin)
        return auth.sign_in(ctx, self.operator, password)

    def reader(self) -> Actor:
        """Reading needs no sign-in unless an operator is named."""
        if self.operator:
            return self.actor()
        self.ready()
        return local_reader()


_STATE: ContextVar[State | None] = ContextVar("userdesk_cli_state", default=None)


def state() -> State:
    st = _STATE.get()
    assert st is not None, "the root callback sets the state before any command runs"
    return st
