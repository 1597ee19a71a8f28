"""The root command: global options, ``--version``, and the console itself
(``userdesk`` with no subcommand, on a terminal)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from console import __version__
from typer.core import TyperGroup

from console.cli.common import handles_errors, zato_must_change
from console.cli.state import _STATE, State, state
from console.security.files import keep_private

class _Root(TyperGroup):
    def parse_args(self, ctx, args: list[str]) -> list[str]:
        return super().parse_args(ctx, zato_must_change(list(args)))


app = typer.Typer(
    cls=_Root,
    help="userdesk: administer user accounts and their passwords.",
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
    store: Optional[str] = typer.Option(None, "--store", envvar="USERDESK_STORE",
                                        help="Where the accounts are: 'native' (userdesk's tables), 'django' "
                                             "(the Django project whose database --db names), 'postgres-roles' "
                                             "(the login roles of the PostgreSQL server --db names), 'redis-acl' "
                                             "(the ACL users of the Redis server --db names), 'mysql-users' "
                                             "(the user@host accounts of the MariaDB server --db names) or 'ldap' "
                                             "(the people of the LDAP directory --db names: ldap:// or ldaps://)."),
    operator: Optional[str] = typer.Option(None, "--operator", envvar="USERDESK_OPERATOR",
                                           help="Operator to sign in as."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the operator's password from the first line of stdin."),
    read_only: bool = typer.Option(False, "--read-only", help="Refuse every change."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    _STATE.set(State(profile, config, database, operator, password_stdin, read_only, store))
    if ctx.invoked_subcommand is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            typer.echo(ctx.get_help())
            return
        open_console()


def log_to(path: Path) -> None:
    """The console's log: its owner's only, as the database is."""
    import logging

    keep_private(path)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


@handles_errors
def open_console(*, demo: bool = False) -> None:
    """Open the Textual console; sign-in unless the operator is trusted."""
    from console.services import auth, setup
    from console.tui.app import UserdeskApp, console_log_path

    st = state()
    ctx = st.ctx()
    setup.check_ready(ctx)
    log_to(console_log_path())
    operator = st.operator or (setup.DEMO_OPERATORS[0][0] if demo else None)
    actor = auth.trusted_operator(ctx, operator) if operator and ctx.settings.trusted_operator else None
    UserdeskApp(ctx, actor=actor, demo=demo).run()
