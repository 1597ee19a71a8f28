"""The ``userdesk`` command: scriptable subcommands over the service layer.

Every command calls service functions and renders what they return; none opens a
database session. Errors print ``error: MESSAGE [CODE]`` on stderr and exit 1, or
``{"error_code": ..., "error_msg": ...}`` on stdout with ``--json``."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import sys
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, Optional

import typer
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from console import __version__, schema
from console.config import Settings, demo_database_url, load_settings
from console.db import describe as describe_db
from console.security.text import escape_controls
from console.services import audit, auth, bulk, passwords, policy, sessions, setup, tickets, users
from console.services.context import Actor, ServiceContext
from console.services.errors import DatabaseUnavailable, InvalidInput, ServiceError
from console.services.views import OneTimeSecret, UserView

app = typer.Typer(
    help="userdesk: administer user accounts and their passwords.",
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
users_app = typer.Typer(help="List, show, create and manage user accounts.", rich_markup_mode=None)
ticket_app = typer.Typer(help="Single-use password reset tickets.", rich_markup_mode=None)
sessions_app = typer.Typer(help="Sessions of the application that uses this database.", rich_markup_mode=None)
policy_app = typer.Typer(help="The active password policy.", rich_markup_mode=None)
app.add_typer(users_app, name="users")
app.add_typer(ticket_app, name="ticket")
app.add_typer(sessions_app, name="sessions")
app.add_typer(policy_app, name="policy")
db_app = typer.Typer(help="The database schema: its version and migrations.", rich_markup_mode=None)
app.add_typer(db_app, name="db")

LOCAL_READER = Actor(id=None, username="local", role="viewer", method="local")

# -- state shared by the commands of one invocation -------------------------------


class State:
    def __init__(self, profile: str | None, config: str | None, database: str | None, operator: str | None,
                 password_stdin: bool, read_only: bool) -> None:
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
            overrides: dict[str, Any] = {"database_url": self.database}
            if self.read_only:
                overrides["read_only"] = True
            self._settings = load_settings(profile=self.profile, config_path=self.config, overrides=overrides)
        return self._settings

    def ctx(self) -> ServiceContext:
        if self._ctx is None:
            self._ctx = ServiceContext.from_settings(self.settings())
        return self._ctx

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.engine.dispose()

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
        ctx = self.ctx()
        schema.check(ctx.engine)
        return ctx

    def actor(self) -> Actor:
        """The operator for a mutating command: signed in, or trusted by config."""
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
        return LOCAL_READER


_STATE: ContextVar[State | None] = ContextVar("userdesk_cli_state", default=None)


def state() -> State:
    st = _STATE.get()
    assert st is not None, "the root callback sets the state before any command runs"
    return st


# -- output ------------------------------------------------------------------------


def safe(value: Any) -> str:
    """User-controlled text as inert text: control and escape characters made visible."""
    return "-" if value is None else escape_controls(str(value))


def when(dt: datetime | None) -> str:
    return "-" if dt is None else dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def jsonable(obj: Any) -> Any:
    if isinstance(obj, OneTimeSecret):
        raise TypeError("one-time secrets are rendered explicitly, never serialised by accident")
    if isinstance(obj, UserView):
        return jsonable(obj.as_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        data = {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        for extra in ("status", "external", "authenticated"):
            if hasattr(type(obj), extra):
                data[extra] = jsonable(getattr(obj, extra))
        return data
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (list, tuple)):
        return [jsonable(x) for x in obj]
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    return obj


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(jsonable(data), indent=2, sort_keys=False))


def table(headers: list[str], rows: list[list[Any]], widths: list[int] | None = None) -> None:
    cells = [[safe(c) for c in row] for row in rows]
    widths = widths or [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def fit(text: str, w: int) -> str:
        return text if len(text) <= w else text[: max(1, w - 1)] + "…"

    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for r in cells:
        typer.echo("  ".join(fit(c, w).ljust(w) for c, w in zip(r, widths)).rstrip())


def _undecodable(value: Any) -> bool:
    """True if an argument held bytes that are not UTF-8: Python hands those
    over as lone surrogates (U+DC80-U+DCFF, "surrogateescape")."""
    if isinstance(value, (list, tuple)):
        return any(_undecodable(v) for v in value)
    return isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value)


def check_arguments_decode(fn: Callable, kwargs: dict[str, Any]) -> None:
    """Refuse, naming the option, any command-line argument that is not valid
    UTF-8, before it reaches a service and is judged by the wrong rule."""
    st = _STATE.get()
    given = [(flag, getattr(st, attr, None)) for flag, attr in (("--profile", "profile"), ("--config", "config"),
                                                                ("--db", "database"), ("--operator", "operator"))]
    params = inspect.signature(fn).parameters
    for key, value in kwargs.items():
        info = params[key].default if key in params else None
        decls = getattr(info, "param_decls", None) or ()  # an option: its longest flag
        metavar = getattr(info, "metavar", None)  # an argument: the name its usage line shows
        given.append((max(decls, key=len) if decls else (metavar or key).lower(), value))
    for label, value in given:
        if _undecodable(value):
            raise InvalidInput(label, "encoding", "not valid UTF-8")


def handles_errors(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            check_arguments_decode(fn, kwargs)
            return fn(*args, **kwargs)
        except ServiceError as err:
            if as_json:
                typer.echo(json.dumps(err.as_dict()))
            else:
                typer.echo(f"error: {escape_controls(err.message)} [{err.code}]", err=True)
            raise typer.Exit(1) from None
        except SQLAlchemyError as exc:  # a database fault the services did not expect: type only
            if isinstance(exc, OperationalError):  # the server or file is not there (or not answering)
                err = DatabaseUnavailable.from_driver(exc)
                err_dict = err.as_dict()
            else:
                err_dict = {"error_code": "DB_ERROR", "error_msg": f"database error ({type(exc).__name__})"}
            if as_json:
                typer.echo(json.dumps(err_dict))
            else:
                typer.echo(f"error: {err_dict['error_msg']} [{err_dict['error_code']}]", err=True)
            raise typer.Exit(1) from None
        finally:
            st = _STATE.get()
            if st is not None:
                st.close()

    return wrapper


JSON = typer.Option(False, "--json", help="Print JSON.")
REASON = typer.Option(None, "--reason", help="Why (recorded in the audit log).")
IDCHECK = typer.Option(None, "--identity-check", help="How the caller's identity was checked (helpdesk: required).")
VERSION = typer.Option(None, "--expect-version", help="Refuse (STALE_RECORD) if the account changed since this version.")


def show_user(u) -> None:
    rows = [
        ("username", u.username),
        ("display name", u.display_name or "-"),
        ("email", u.email),
        ("role", u.role),
        ("source", u.source),
        ("status", ", ".join(u.status)),
        ("password", "set" if u.has_password else "none"),
        ("changed", when(u.password_changed_at)),
        ("expires", when(u.password_expires_at) if u.password_expires_at else "never"),
        ("must change", "yes" if u.must_change_password else "no"),
        ("blocked", f"yes: {u.blocked_reason or 'no reason'} ({when(u.blocked_at)})" if u.blocked else "no"),
        ("failed sign-ins", u.failed_logins),
        ("locked until", when(u.locked_until) if u.locked else "-"),
        ("last sign-in", when(u.last_login_at)),
        ("created", when(u.created_at)),
        ("version", u.version),
    ]
    for k, v in rows:
        typer.echo(f"{k:>16}  {safe(v)}")


def print_secret(label: str, secret: OneTimeSecret, note: str) -> None:
    typer.echo(f"{label}: {secret.reveal()}")
    typer.echo(note, err=True)


# -- root ----------------------------------------------------------------------------


def _version(value: bool) -> None:
    if value:
        typer.echo(f"userdesk {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    profile: Optional[str] = typer.Option(None, "--profile", envvar="USERDESK_PROFILE",
                                          help="Named profile from the config file ('demo' is built in)."),
    config: Optional[str] = typer.Option(None, "--config", help="Config file (default: $USERDESK_CONFIG or the "
                                                                "platform config directory)."),
    database: Optional[str] = typer.Option(None, "--db", help="Database URL, overriding the config."),
    operator: Optional[str] = typer.Option(None, "--operator", envvar="USERDESK_OPERATOR",
                                           help="Operator to sign in as."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the operator's password from the first line of stdin."),
    read_only: bool = typer.Option(False, "--read-only", help="Refuse every change."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    _STATE.set(State(profile, config, database, operator, password_stdin, read_only))
    if ctx.invoked_subcommand is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            typer.echo(ctx.get_help())
            return
        open_console()


@handles_errors
def open_console(*, demo: bool = False) -> None:
    """Open the Textual console; sign-in unless the operator is trusted."""
    from console.tui.app import UserdeskApp, console_log_path

    st = state()
    ctx = st.ctx()
    setup.check_ready(ctx)
    log_path = console_log_path()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=log_path, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    operator = st.operator or (setup.DEMO_OPERATORS[0][0] if demo else None)
    actor = auth.trusted_operator(ctx, operator) if operator and ctx.settings.trusted_operator else None
    UserdeskApp(ctx, actor=actor, demo=demo).run()


@app.command()
@handles_errors
def init(
    admin: str = typer.Option("admin", "--admin", help="Username of the first admin."),
    email: Optional[str] = typer.Option(None, "--email"),
    as_json: bool = JSON,
) -> None:
    """Create the schema and the first admin. Its generated password is printed once."""
    st = state()
    result = setup.initialize(st.ctx(), admin, email=email)
    if as_json:
        data = jsonable(result.user)
        data["password"] = result.password.reveal()
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(f"database ready: {safe(describe_db(st.settings().database_url))}")
        print_secret(f"admin {safe(result.user.username)} password", result.password,
                     "This password is shown once. Store it now; use 'userdesk change-password' to change it.")


def _schema_dict(st_: "schema.State") -> dict:
    status = "current" if st_.up_to_date else ("newer" if not st_.known else
                                               "empty" if not st_.has_tables else "outdated")
    return {"current": st_.current, "head": st_.head, "status": status}


@db_app.command("current")
@handles_errors
def db_current(as_json: bool = JSON) -> None:
    """Show the database's schema version and this userdesk's."""
    data = _schema_dict(schema.state(state().ctx().engine))
    if as_json:
        emit_json(data)
        return
    typer.echo(f"database: {data['current'] or '(none)'}  userdesk: {data['head']}  ({data['status']})")
    if data["status"] == "outdated":
        typer.echo("run `userdesk db upgrade` to migrate it", err=True)
    elif data["status"] == "newer":
        typer.echo("the database is newer than this userdesk: upgrade userdesk", err=True)


@db_app.command("upgrade")
@handles_errors
def db_upgrade(as_json: bool = JSON) -> None:
    """Migrate the database to this userdesk's schema version (creating it if empty)."""
    engine = state().ctx().engine
    before = schema.state(engine)
    after = schema.upgrade(engine)
    if as_json:
        emit_json({"from": before.current, **_schema_dict(after)})
    elif before.current == after.current:
        typer.echo(f"already at {after.current}: nothing to do")
    else:
        was = before.current or ("(from before migrations)" if before.has_tables else "(empty)")
        typer.echo(f"migrated {was} -> {after.current}")


@app.command()
@handles_errors
def demo(
    users_count: int = typer.Option(250, "--users", min=1, max=10_000_000, help="How many users to create."),
    reset: bool = typer.Option(False, "--reset", help="Delete the demo database and build it again."),
    no_console: bool = typer.Option(False, "--no-console", help="Only build the database; do not open the console."),
    as_json: bool = JSON,
) -> None:
    """Build a demo database of realistic accounts and open the console on it
    as demo-admin (profile 'demo': trusted operators)."""
    st = state()
    if st.profile is None and st.database is None:
        st.profile = "demo"
    settings = st.settings()
    url = settings.database_url
    if reset:
        _delete_sqlite(url)
    ctx = st.ctx()
    from rich.progress import Progress

    with Progress(transient=True, disable=as_json) as bar:
        task = bar.add_task("creating demo users", total=users_count)
        try:
            summary = setup.seed_demo(ctx, users_count, progress=lambda done, total: bar.update(task, completed=done))
        except ServiceError as err:
            if err.code != "USER_EXISTS" or reset:
                raise
            summary = None
    if as_json:
        emit_json({"database": describe_db(url), "created": summary})
        return
    if summary is None:
        typer.echo(f"demo database already exists: {safe(describe_db(url))} (use --reset to rebuild it)")
    else:
        typer.echo(f"demo database: {safe(describe_db(url))}")
        typer.echo(f"  {summary.users} users: {summary.blocked} blocked, {summary.locked} locked, "
                   f"{summary.expired} expired, {summary.must_change} must change, {summary.external} external; "
                   f"{summary.sessions} sessions, {summary.tickets} tickets")
    if not no_console and sys.stdin.isatty() and sys.stdout.isatty():
        st.close()
        open_console(demo=True)
        return
    typer.echo("operators (trusted in the demo profile): demo-admin, demo-helpdesk, demo-viewer")
    typer.echo("try: userdesk demo                     (opens the console)")
    typer.echo("     userdesk --profile demo users list")
    typer.echo("     userdesk --profile demo --operator demo-admin reset-password <username>")


def _delete_sqlite(url: str) -> None:
    from sqlalchemy.engine import make_url
    from pathlib import Path

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or url != demo_database_url() and not \
            parsed.database.endswith("demo.db"):
        raise InvalidInput("reset", "demo_only", "--reset only deletes a SQLite demo database (demo.db)")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(parsed.database + suffix).unlink(missing_ok=True)


# -- users -------------------------------------------------------------------------------


@users_app.command("list")
@handles_errors
def users_list(
    search: Optional[str] = typer.Option(None, "--search", "-s", help="Substring of username, email or name."),
    role: Optional[str] = typer.Option(None, "--role"),
    blocked: Optional[bool] = typer.Option(None, "--blocked/--not-blocked"),
    locked: Optional[bool] = typer.Option(None, "--locked/--not-locked"),
    expired: Optional[bool] = typer.Option(None, "--expired/--not-expired"),
    must_change: Optional[bool] = typer.Option(None, "--must-change/--no-must-change"),
    external: Optional[bool] = typer.Option(None, "--external/--local"),
    limit: int = typer.Option(50, "--limit", help="Rows per page (1-500)."),
    cursor: Optional[str] = typer.Option(None, "--cursor", help="Continue after a previous page."),
    all_pages: bool = typer.Option(False, "--all", help="Follow the cursor to the last page."),
    as_json: bool = JSON,
) -> None:
    """List users, ordered by username, one keyset page at a time."""
    st = state()
    flt = users.UserFilter(role=role, blocked=blocked, locked=locked, expired=expired, must_change=must_change,
                           external=external)
    actor = st.reader()
    items, nxt = [], cursor
    while True:
        page = users.list_users(st.ctx(), actor, search=search, filter=flt, cursor=nxt, limit=limit)
        items.extend(page.items)
        nxt = page.next_cursor
        if not all_pages or nxt is None:
            break
    if as_json:
        emit_json({"items": items, "next_cursor": nxt})
        return
    table(["USERNAME", "NAME", "EMAIL", "ROLE", "STATUS", "LAST SIGN-IN"],
          [[u.username, u.display_name, u.email, u.role, ",".join(u.status), when(u.last_login_at)] for u in items],
          widths=[20, 20, 28, 8, 18, 20] if items else None)
    if nxt:
        typer.echo(f"more: --cursor {nxt}")


@users_app.command("show")
@handles_errors
def users_show(username: str, as_json: bool = JSON) -> None:
    """Show one account."""
    st = state()
    u = users.get_user(st.ctx(), st.reader(), username)
    if as_json:
        emit_json(u)
    else:
        show_user(u)


@users_app.command("create")
@handles_errors
def users_create(
    username: str,
    email: Optional[str] = typer.Option(None, "--email"),
    name: Optional[str] = typer.Option(None, "--name", help="Display name."),
    role: str = typer.Option("member", "--role", help="member, helpdesk, admin or viewer."),
    source: str = typer.Option("local", "--source", help="'local' or the external identity provider's name."),
    no_password: bool = typer.Option(False, "--no-password", help="Create without a password (issue a ticket later)."),
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    as_json: bool = JSON,
) -> None:
    """Create an account; a local one gets a generated password, printed once."""
    st = state()
    r = users.create_user(st.ctx(), st.actor(), username, email=email, display_name=name, role=role, source=source,
                          generate_password=not no_password, reason=reason, identity_check=identity_check)
    if as_json:
        data = jsonable(r.user)
        data["password"] = r.password.reveal() if r.password else None
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"created {safe(r.user.username)} ({r.user.role})")
    if r.password:
        print_secret("password", r.password, "Shown once; the user must change it at first sign-in.")


def _simple(fn: Callable, label: str, *args: Any, as_json: bool, **kw: Any) -> None:
    st = state()
    result = fn(st.ctx(), st.actor(), *args, **kw)
    if as_json:
        emit_json(result)
    else:
        typer.echo(label.format(result=result))


@users_app.command("update")
@handles_errors
def users_update(
    username: str,
    email: Optional[str] = typer.Option(None, "--email", help="New email ('' to clear)."),
    name: Optional[str] = typer.Option(None, "--name", help="New display name."),
    expected_version: Optional[int] = VERSION,
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    as_json: bool = JSON,
) -> None:
    """Change an account's email or display name."""
    kw: dict[str, Any] = {}
    if email is not None:
        kw["email"] = email
    if name is not None:
        kw["display_name"] = name
    _simple(users.update_profile, "updated {result.username}", username, as_json=as_json,
            expected_version=expected_version, reason=reason, identity_check=identity_check, **kw)


@users_app.command("delete")
@handles_errors
def users_delete(
    username: str,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    expected_version: Optional[int] = VERSION,
    reason: Optional[str] = REASON,
    as_json: bool = JSON,
) -> None:
    """Delete an account with its sessions, tickets and password history."""
    st = state()
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("yes", "required", "deleting needs --yes when not run from a terminal")
        typed = typer.prompt(f"Type the username to delete it ({safe(username)})")
        if typed != username:
            raise InvalidInput("confirmation", "mismatch", "the typed username does not match; nothing deleted")
    users.delete_user(st.ctx(), st.actor(), username, reason=reason, expected_version=expected_version)
    if as_json:
        emit_json({"deleted": username})
    else:
        typer.echo(f"deleted {safe(username)}")


@users_app.command("block")
@handles_errors
def users_block(username: str, reason: str = typer.Option(..., "--reason", help="Why (required, shown on the account)."),
                identity_check: Optional[str] = IDCHECK, expected_version: Optional[int] = VERSION,
                as_json: bool = JSON) -> None:
    """Block an account; its sessions and reset tickets are revoked."""
    _simple(users.block_user, "blocked {result.username}", username, as_json=as_json, reason=reason,
            identity_check=identity_check, expected_version=expected_version)


@users_app.command("unblock")
@handles_errors
def users_unblock(username: str, reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
                  expected_version: Optional[int] = VERSION, as_json: bool = JSON) -> None:
    """Unblock an account."""
    _simple(users.unblock_user, "unblocked {result.username}", username, as_json=as_json, reason=reason,
            identity_check=identity_check, expected_version=expected_version)


@users_app.command("unlock")
@handles_errors
def users_unlock(username: str, reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
                 expected_version: Optional[int] = VERSION, as_json: bool = JSON) -> None:
    """Clear a lockout after failed sign-ins."""
    _simple(users.unlock_user, "unlocked {result.username}", username, as_json=as_json, reason=reason,
            identity_check=identity_check, expected_version=expected_version)


@users_app.command("set-role")
@handles_errors
def users_set_role(username: str, role: str, reason: Optional[str] = REASON,
                   expected_version: Optional[int] = VERSION, as_json: bool = JSON) -> None:
    """Change an account's role (admins only)."""
    _simple(users.set_role, "{result.username} is now {result.role}", username, role, as_json=as_json,
            reason=reason, expected_version=expected_version)


# -- passwords ---------------------------------------------------------------------------


@app.command("reset-password")
@handles_errors
def reset_password(
    username: str,
    expiry: Optional[int] = typer.Option(None, "--expiry", help="Days until the new password expires (0: never; "
                                                                "default from config)."),
    must_change: Optional[bool] = typer.Option(None, "--must-change/--no-must-change",
                                               help="Require a change at next sign-in (default: keep as is)."),
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    expected_version: Optional[int] = VERSION,
    as_json: bool = JSON,
) -> None:
    """Reset to a generated password and print it once."""
    st = state()
    r = passwords.reset_password(st.ctx(), st.actor(), username, reason=reason, identity_check=identity_check,
                                 expiry_days=expiry, must_change=must_change, expected_version=expected_version)
    if as_json:
        data = {"username": r.user.username, "password": r.password.reveal(), "entropy_bits": r.entropy_bits,
                "must_change": r.user.must_change_password, "expires_at": jsonable(r.user.password_expires_at),
                "sessions_revoked": r.sessions_revoked, "tickets_revoked": r.tickets_revoked}
        typer.echo(json.dumps(data, indent=2))
        return
    print_secret(f"new password for {safe(r.user.username)}", r.password,
                 f"Shown once ({r.entropy_bits:.0f} bits). Revoked {r.sessions_revoked} session(s) and "
                 f"{r.tickets_revoked} ticket(s). Expires: {when(r.user.password_expires_at)}. "
                 f"Must change at next sign-in: {'yes' if r.user.must_change_password else 'no'}.")


@app.command("set-password")
@handles_errors
def set_password(
    username: str,
    new_stdin: bool = typer.Option(False, "--password-stdin", help="Read the new password from stdin (after the "
                                                                   "operator's password, if that is read too)."),
    expiry: Optional[int] = typer.Option(None, "--expiry", help="Days until it expires (0: never)."),
    must_change: Optional[bool] = typer.Option(None, "--must-change/--no-must-change"),
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    expected_version: Optional[int] = VERSION,
    as_json: bool = JSON,
) -> None:
    """Set a password you choose (policy enforced). Prompts twice, up to 3 tries."""
    st = state()
    ctx, actor = st.ctx(), st.actor()
    tries = 1 if new_stdin else 3
    for attempt in range(1, tries + 1):
        pw = st.secret("new_password", f"New password for {safe(username)}", from_stdin=new_stdin, confirm=True)
        try:
            u = passwords.set_password(ctx, actor, username, pw, reason=reason, identity_check=identity_check,
                                       expiry_days=expiry, must_change=must_change, expected_version=expected_version)
            break
        except ServiceError as err:
            if err.code != "WEAK_PASSWORD" or attempt == tries:
                raise
            for f in err.failures:
                typer.echo(f"  ✗ {f.text}", err=True)
    if as_json:
        emit_json(u)
    else:
        typer.echo(f"password set for {safe(u.username)}; expires {when(u.password_expires_at)}")


@app.command("change-password")
@handles_errors
def change_password(as_json: bool = JSON) -> None:
    """Change the signed-in operator's own password (old one first, then the new
    one; with --password-stdin, one per line)."""
    st = state()
    ctx = st.ctx()
    if not st.operator:
        raise InvalidInput("operator", "required", "give --operator NAME")
    old = st.secret("old_password", "Current password", from_stdin=st.password_stdin)
    actor = auth.sign_in(ctx, st.operator, old)
    new = st.secret("new_password", "New password", from_stdin=st.password_stdin, confirm=True)
    actor = passwords.change_own_password(ctx, actor, old, new)
    if as_json:
        emit_json({"username": actor.username, "changed": True})
    else:
        typer.echo(f"password changed for {safe(actor.username)}")


@app.command("force-change")
@handles_errors
def force_change(username: str, off: bool = typer.Option(False, "--off", help="Stop requiring a change."),
                 reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
                 expected_version: Optional[int] = VERSION, as_json: bool = JSON) -> None:
    """Require a password change at the next sign-in."""
    _simple(passwords.force_change, "{result.username} must change password: "
            + ("no" if off else "yes"), username, as_json=as_json, on=not off, reason=reason,
            identity_check=identity_check, expected_version=expected_version)


@app.command("expire")
@handles_errors
def expire(username: str, reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
           expected_version: Optional[int] = VERSION, as_json: bool = JSON) -> None:
    """Expire the password now."""
    _simple(passwords.expire_now, "password of {result.username} expired", username, as_json=as_json, reason=reason,
            identity_check=identity_check, expected_version=expected_version)


# -- tickets -------------------------------------------------------------------------------


@ticket_app.command("issue")
@handles_errors
def ticket_issue(username: str,
                 lifetime: Optional[int] = typer.Option(None, "--lifetime", help="Minutes (1-1440; default config)."),
                 reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK, as_json: bool = JSON) -> None:
    """Issue a reset ticket and print its link once; older tickets stop working."""
    st = state()
    t = tickets.issue_ticket(st.ctx(), st.actor(), username, lifetime_minutes=lifetime, reason=reason,
                             identity_check=identity_check)
    if as_json:
        data = jsonable(t.ticket)
        data["url"] = t.url.reveal()
        data["token"] = t.token.reveal()
        typer.echo(json.dumps(data, indent=2))
        return
    print_secret(f"reset link for {safe(t.ticket.username)}", t.url,
                 f"Shown once; valid until {when(t.ticket.expires_at)}, single use.")


@ticket_app.command("email")
@handles_errors
def ticket_email(username: str,
                 lifetime: Optional[int] = typer.Option(None, "--lifetime", help="Minutes (1-1440; default config)."),
                 reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK, as_json: bool = JSON) -> None:
    """Issue a reset ticket and email its link to the user's address (you do not
    see it); older tickets stop working. If the mail cannot be sent, nothing is issued."""
    st = state()
    sent = tickets.email_ticket(st.ctx(), st.actor(), username, lifetime_minutes=lifetime, reason=reason,
                                identity_check=identity_check)
    if as_json:
        emit_json(sent)
        return
    typer.echo(f"reset link for {safe(sent.ticket.username)} emailed to {safe(sent.to)} ({sent.delivery}); "
               f"valid until {when(sent.ticket.expires_at)}, single use")


@ticket_app.command("list")
@handles_errors
def ticket_list(username: str, all_: bool = typer.Option(False, "--all", help="Include used, revoked, expired."),
                as_json: bool = JSON) -> None:
    """Outstanding reset tickets of a user."""
    st = state()
    rows = tickets.list_tickets(st.ctx(), st.reader(), username, include_ended=all_)
    if as_json:
        emit_json(rows)
        return
    table(["ID", "ISSUED BY", "SENT", "CREATED", "EXPIRES", "STATE"],
          [[t.id, t.issued_by, "emailed" if t.delivery == "email" else "shown", when(t.created_at),
            when(t.expires_at),
            "used" if t.used_at else (t.revoked_reason or "revoked") if t.revoked_at else "outstanding"]
           for t in rows])


@ticket_app.command("revoke")
@handles_errors
def ticket_revoke(ticket_id: int, reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
                  as_json: bool = JSON) -> None:
    """Revoke one reset ticket."""
    _simple(tickets.revoke_ticket, "revoked ticket {result.id} of {result.username}", ticket_id, as_json=as_json,
            reason=reason, identity_check=identity_check)


@ticket_app.command("redeem")
@handles_errors
def ticket_redeem(as_json: bool = JSON) -> None:
    """Redeem a ticket as its user would: the token on the first line of stdin,
    the new password on the second."""
    st = state()
    token = st.stdin_line("token")
    new = st.stdin_line("new_password")
    username = tickets.redeem_ticket(st.ctx(), token, new)
    if as_json:
        emit_json({"username": username, "redeemed": True})
    else:
        typer.echo(f"password set for {safe(username)}")


# -- sessions -----------------------------------------------------------------------------


@sessions_app.command("list")
@handles_errors
def sessions_list(username: str, all_: bool = typer.Option(False, "--all", help="Include revoked and expired."),
                  as_json: bool = JSON) -> None:
    """A user's application sessions."""
    st = state()
    rows = sessions.list_sessions(st.ctx(), st.reader(), username, include_ended=all_)
    if as_json:
        emit_json(rows)
        return
    table(["ID", "CLIENT", "STARTED", "LAST SEEN", "EXPIRES", "STATE"],
          [[r.id, r.client, when(r.created_at), when(r.last_seen_at), when(r.expires_at),
            f"revoked ({r.revoked_reason})" if r.revoked_at else "active"] for r in rows])


@sessions_app.command("revoke")
@handles_errors
def sessions_revoke(username: str, reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
                    as_json: bool = JSON) -> None:
    """Revoke every active session of a user."""
    _simple(sessions.revoke_sessions, "revoked {result} session(s) of " + safe(username), username, as_json=as_json,
            reason=reason, identity_check=identity_check)


# -- bulk ---------------------------------------------------------------------------------------


@app.command("bulk")
@handles_errors
def bulk_cmd(
    action_name: str = typer.Argument(..., metavar="ACTION", help="force-change, expire or revoke-sessions"),
    role: Optional[str] = typer.Option(None, "--role"),
    inactive_days: Optional[int] = typer.Option(None, "--inactive-days", help="Not signed in for N days (or never)."),
    blocked: Optional[bool] = typer.Option(None, "--blocked/--not-blocked"),
    locked: Optional[bool] = typer.Option(None, "--locked/--not-locked"),
    expired: Optional[bool] = typer.Option(None, "--expired/--not-expired"),
    must_change: Optional[bool] = typer.Option(None, "--must-change/--no-must-change"),
    external: Optional[bool] = typer.Option(None, "--external/--local"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only preview."),
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    as_json: bool = JSON,
) -> None:
    """Apply an action to every account a filter selects: previewed, confirmed,
    set-based, one audit event."""
    st = state()
    name = action_name.replace("-", "_")
    flt = users.UserFilter(role=role, blocked=blocked, locked=locked, expired=expired, must_change=must_change,
                           external=external, inactive_days=inactive_days)
    ctx, actor = st.ctx(), st.actor()
    preview = bulk.preview(ctx, actor, name, flt)
    what = f"{bulk.TITLES.get(name, name)}: {preview.count:,} account(s)"
    if name == "revoke_sessions":
        what += f", {preview.sessions:,} active session(s)"
    if dry_run or not preview.count:
        if as_json:
            emit_json(preview)
        else:
            typer.echo(what + (f" (e.g. {', '.join(safe(u) for u in preview.sample)})" if preview.sample else ""))
        return
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("yes", "required", "a bulk action needs --yes when not run from a terminal")
        typer.echo(what + f" (e.g. {', '.join(safe(u) for u in preview.sample)})")
        if not typer.confirm("Go ahead?"):
            raise typer.Exit(1)
    from rich.progress import Progress

    with Progress(transient=True, disable=as_json) as bar:
        task = bar.add_task(bulk.TITLES.get(name, name), total=preview.count)
        result = bulk.run(ctx, actor, name, flt, expected_count=preview.count, reason=reason,
                          identity_check=identity_check,
                          progress=lambda done, total: bar.update(task, completed=done))
    if as_json:
        emit_json(result)
    else:
        extra = f", {result.sessions_revoked:,} session(s) revoked" if name == "revoke_sessions" else ""
        typer.echo(f"{bulk.TITLES.get(name, name)}: done for {result.count:,} account(s){extra}")


# -- audit and policy ------------------------------------------------------------------------


def _date(value: Optional[str], field: str) -> Optional[datetime]:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "format", "an ISO date or date-time, e.g. 2026-11-24 or 2026-11-24T13:00") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@app.command("audit")
@handles_errors
def audit_cmd(
    user: Optional[str] = typer.Option(None, "--user", help="Events about this user."),
    operator_name: Optional[str] = typer.Option(None, "--by", help="Events by this operator."),
    action: Optional[str] = typer.Option(None, "--action", help="e.g. password.reset"),
    since: Optional[str] = typer.Option(None, "--since", help="ISO date/time (UTC unless given)."),
    until: Optional[str] = typer.Option(None, "--until"),
    limit: int = typer.Option(50, "--limit"),
    cursor: Optional[str] = typer.Option(None, "--cursor"),
    verify: bool = typer.Option(False, "--verify", help="Check the hash chain instead of listing."),
    as_json: bool = JSON,
) -> None:
    """The audit log, newest first; --verify checks that no event was edited, removed or reordered."""
    st = state()
    actor = st.reader()
    if verify:
        report = audit.verify_chain(st.ctx(), actor)
        if as_json:
            emit_json(report)
        elif report.ok:
            typer.echo(f"audit chain verified: {report.events} events, intact")
        else:
            typer.echo(f"audit chain BROKEN at event #{report.broken_at}: {report.problem}", err=True)
        if not report.ok:
            raise typer.Exit(1)
        return
    page = audit.query(st.ctx(), actor, user=user, operator=operator_name, action=action,
                       since=_date(since, "since"), until=_date(until, "until"), cursor=cursor, limit=limit)
    if as_json:
        emit_json({"items": page.items, "next_cursor": page.next_cursor})
        return
    table(["#", "AT", "OPERATOR", "ACTION", "TARGET", "OUTCOME", "REASON"],
          [[e.seq, when(e.at), e.operator, e.action, e.target, e.outcome + (f" {e.error_code}" if e.error_code else ""),
            e.reason] for e in page.items])
    if page.next_cursor:
        typer.echo(f"more: --cursor {page.next_cursor}")


@policy_app.command("check")
@handles_errors
def policy_check(
    username: Optional[str] = typer.Option(None, "--username"),
    email: Optional[str] = typer.Option(None, "--email"),
    name: Optional[str] = typer.Option(None, "--name"),
    as_json: bool = JSON,
) -> None:
    """Check a password (first line of stdin) against every rule of the active policy."""
    st = state()
    pw = st.stdin_line("password")
    results = policy.check_password(st.ctx(), pw, username=username, email=email, display_name=name)
    ok = all(r.ok for r in results)
    if as_json:
        emit_json({"policy": st.ctx().policy.name, "ok": ok, "rules": results})
    else:
        typer.echo(f"policy {st.ctx().policy.name}:")
        for r in results:
            typer.echo(f"  {'✓' if r.ok else '✗'} {r.text}")
    if not ok:
        raise typer.Exit(1)


@policy_app.command("show")
@handles_errors
def policy_show(as_json: bool = JSON) -> None:
    """The active policy's rules."""
    p = policy.active_policy(state().ctx())
    if as_json:
        emit_json({"policy": p.name, "rules": p.describe(), "settings": dataclasses.asdict(p)})
    else:
        typer.echo(f"policy {p.name}:")
        for line in p.describe():
            typer.echo(f"  - {line}")


def main() -> None:
    app(prog_name="userdesk")


if __name__ == "__main__":
    main()
