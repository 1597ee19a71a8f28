"""Setting up a database: ``initialize`` (schema + first admin) and ``seed_demo``."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from console import db
from console.models import ResetTicket, User, UserSession
from console.security import tokens
from console.security.generator import generate
from console.services import auditlog, validation
from console.services.context import Actor, ServiceContext
from console.services.errors import (DatabaseUnavailable, ForeignStore, InvalidInput, NotInitialized, ServiceError,
                                     UserExists)
from console.services.users import create_user
from console.services.views import OneTimeSecret, PasswordResult

#: The demo dates its passwords this long even where the policy never expires
#: them, so that the list shows passwords running out.
_DEMO_EXPIRY_DAYS = 760
DEMO_OPERATORS = (("demo-admin", "admin"), ("demo-helpdesk", "helpdesk"), ("demo-viewer", "viewer"))


def initialize(ctx: ServiceContext, admin_username: str = "admin", *, email: str | None = None) -> PasswordResult:
    """Create the schema and the first admin; the admin's generated password is
    returned once. Refused when the database already has an admin."""
    validation.username(admin_username)
    refuse_foreign(ctx)
    db.create_schema(ctx.engine)
    return create_user(ctx, Actor.system("init"), admin_username, email=email, role="admin",
                       must_change=False, reason="initial admin", first_admin=True)


def refuse_foreign(ctx: ServiceContext) -> None:
    """FOREIGN_STORE when the native store's database is another system's
    account store (a Django project's, a PostgreSQL server's maintenance
    database and so its roles): say what was found and how to open it,
    rather than add userdesk's tables to it."""
    if ctx.store is not None:
        return
    from sqlalchemy import inspect

    from console.stores.django import looks_like_django

    mysql = ctx.engine.dialect.name in ("mysql", "mariadb")
    if mysql and not ctx.engine.url.database:  # a server, no database named: nothing of userdesk's to read
        raise ForeignStore(
            "this URL names a MariaDB server but no database: to manage the server's user@host accounts open it as a "
            "store with `userdesk --store mysql-users --db URL/mysql init --admin NAME`; userdesk's own tables need "
            "a database of their own (CREATE DATABASE userdesk, and its URL)"
        )
    try:
        tables = set(inspect(ctx.engine).get_table_names())
    except NotInitialized:
        return  # no database file at all: nobody's
    except OperationalError as exc:
        raise DatabaseUnavailable.from_driver(exc) from None
    if looks_like_django(tables) and "users" not in tables:
        raise ForeignStore(
            "this database holds a Django project's users (auth_user, django_migrations): open it as a store with "
            "`userdesk --store django --db URL init --admin NAME` (userdesk adds nothing to a store's database)"
        )
    if ctx.engine.dialect.name == "postgresql" and ctx.engine.url.database == "postgres" and "users" not in tables:
        raise ForeignStore(
            "this is the PostgreSQL server's maintenance database (postgres), not a database of userdesk's: to "
            "manage the server's login roles open it as a store with `userdesk --store postgres-roles --db URL init "
            "--admin NAME`; to keep userdesk's own accounts on this server, create a database for them "
            "(CREATE DATABASE userdesk) and give its URL"
        )
    if mysql and ctx.engine.url.database == "mysql" and "users" not in tables:
        raise ForeignStore(
            "this is the MariaDB server's system database (mysql), not a database of userdesk's: to manage the "
            "server's user@host accounts open it as a store with `userdesk --store mysql-users --db URL init "
            "--admin NAME`"
        )


def check_ready(ctx: ServiceContext) -> None:
    """Raise unless the database is at this console's schema version
    (NOT_INITIALIZED, SCHEMA_OUTDATED or SCHEMA_NEWER, each saying what to run)
    and has an operator to sign in with."""
    from console import schema

    try:
        try:
            schema.check(ctx.engine)
        except NotInitialized:
            refuse_foreign(ctx)
            raise
        with ctx.read_session() as s:
            some = s.exec(select(User.id).where(User.role.in_(("admin", "helpdesk", "viewer"))).limit(1)).first()
    except OperationalError as exc:
        raise DatabaseUnavailable.from_driver(exc) from None
    if some is None:
        raise NotInitialized("this database has no operators: run `userdesk init` to create the first admin")


FIRST = ("Ada Alan Amara Anika Ben Bruno Carla Chen Chloe Dario Diego Elena Emil Eva Farah Felix Greta Hana Hugo "
         "Ines Ivan Jana Jonas Kai Karin Lars Lea Leon Lina Luca Maja Malik Marta Mateo Mei Mia Nadia Nils Noor "
         "Olga Omar Paula Pedro Priya Rafael Rosa Sami Sara Sofia Tariq Tessa Theo Uma Vera Viktor Wen Yara Yusuf "
         "Zara Zoe").split()
LAST = ("Abbott Achterberg Alvarez Andersen Bakker Baptiste Becker Bianchi Brennan Castro Chowdhury Costa Dahl "
        "Dubois Eriksen Fischer Fontaine Garcia Guerrero Haddad Hansen Herrera Ito Jansen Kaur Keller Kim Kowalski "
        "Larsen Lindqvist Lopez Marino Meyer Moreau Nakamura Nguyen Novak Okafor Olsen Ortiz Petrov Popescu Quinn "
        "Ramos Rossi Sato Schmidt Silva Sousa Suzuki Tanaka Torres Vargas Varga Weber Wong Yilmaz Young Zhang "
        "Ziegler").split()
DOMAINS = ("example.com", "example.org", "corp.example.net", "mail.example.com")
PROVIDERS = ("okta", "azure-ad", "google")
BLOCK_REASONS = ("left the company", "suspicious sign-ins from new country", "unpaid invoice", "requested by manager",
                 "security review pending")


@dataclass(frozen=True)
class DemoSummary:
    users: int
    operators: tuple[str, ...]
    blocked: int
    locked: int
    expired: int
    must_change: int
    external: int
    sessions: int
    tickets: int
    #: Each demo operator's password, to be shown once: they sign in trusted in
    #: the demo profile, but may try a password sign-in and "My password".
    operator_passwords: dict[str, OneTimeSecret] = field(default_factory=dict, repr=False)


_DEMO_COLUMNS = ("username", "email", "display_name", "role", "source", "password_hash", "password_changed_at",
                 "password_expires_at", "must_change_password", "blocked", "blocked_reason", "blocked_at",
                 "failed_logins", "locked_until", "last_login_at", "created_at", "updated_at", "version")


def _insert_sql(dialect, table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _demo_rows(dialect, rng: random.Random, now: datetime, hashes: list[str], expiry_days: int, stats: dict):
    """Endless realistic user rows as driver-level tuples, made fast enough for a
    million: every timestamp comes from tables computed once, per day offset."""
    if dialect.name == "sqlite":  # stored as SQLAlchemy stores it: naive UTC text
        def stamp(dt: datetime):
            return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    else:
        def stamp(dt: datetime):
            return dt.astimezone(timezone.utc).replace(tzinfo=None)
    ago = [now - timedelta(days=d, minutes=(d * 7919) % 1440) for d in range(1601)]
    ago_s = [stamp(t) for t in ago]
    expires_s = [stamp(t + timedelta(days=expiry_days)) for t in ago]
    soon_s = [stamp(now + timedelta(minutes=m)) for m in range(1, 16)]
    first = [(f, f.lower()) for f in FIRST]
    last = [(x, x.lower()) for x in LAST]
    r = rng.random
    nf, nl, nd, np_, nb = len(first), len(last), len(DOMAINS), len(PROVIDERS), len(BLOCK_REASONS)
    i = 0
    while True:
        f, fl = first[int(r() * nf)]
        la, ll = last[int(r() * nl)]
        username = f"{fl}.{ll}{i}" if i < nf * 4 else f"{fl[0]}{ll}{i}"
        created = 1 + int(r() * 1500)
        changed = int(r() * min(700, created))
        roll = r()
        role = "member" if r() > 0.03 else ("helpdesk", "viewer", "admin")[int(r() * 3)]
        last_in = None if r() < 0.07 else ago_s[int(r() * 200)]
        if roll < 0.08:  # external identity provider: no password here
            stats["external"] += 1
            row = (username, f"{fl}.{ll}{i}@{DOMAINS[int(r() * nd)]}", f"{f} {la}", role, PROVIDERS[int(r() * np_)],
                   None, None, None, False, False, None, None, 0, None, last_in, ago_s[created], ago_s[changed], 1)
        else:
            blocked, reason, blocked_at, locked, expires, must = False, None, None, None, expires_s[changed], False
            if roll < 0.13:
                blocked, reason, blocked_at = True, BLOCK_REASONS[int(r() * nb)], ago_s[changed]
                stats["blocked"] += 1
            elif roll < 0.17:
                locked = soon_s[int(r() * 15)]
                stats["locked"] += 1
            elif roll < 0.23:
                expires = ago_s[1 + int(r() * 90)]
                stats["expired"] += 1
            elif roll < 0.28:
                must = True
                stats["must_change"] += 1
            row = (username, f"{fl}.{ll}{i}@{DOMAINS[int(r() * nd)]}", f"{f} {la}", role, "local",
                   hashes[int(r() * 4)], ago_s[changed], expires, must, blocked, reason, blocked_at, 0, locked,
                   last_in, ago_s[created], ago_s[changed], 1)
        i += 1
        yield row


def seed_demo(
    ctx: ServiceContext,
    users: int = 250,
    *,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 5000,
) -> DemoSummary:
    """Fill an empty database with realistic accounts in every state.

    Passwords: a handful are hashed once and reused, so a large demo takes seconds,
    not hours; none of them is ever shown. The operators' own passwords are
    returned, to be shown once (they sign in trusted in the demo profile)."""
    if not isinstance(users, int) or not 1 <= users <= 10_000_000:
        raise InvalidInput("users", "range", "from 1 to 10,000,000")
    db.create_schema(ctx.engine)
    with ctx.read_session() as s:
        if s.exec(select(func.count()).select_from(User)).one():
            raise UserExists("the demo database already has users; use --reset to build it again")
    rng = random.Random(seed)
    policy = ctx.policy
    hashes = [ctx.hasher.hash(generate(policy).password) for _ in range(4)]
    now = ctx.now()
    stats = dict(blocked=0, locked=0, expired=0, must_change=0, external=0, sessions=0, tickets=0)
    operators = tuple(name for name, _ in DEMO_OPERATORS)

    own = {name: generate(policy, username=name, email=f"{name}@example.com",
                          display_name=f"Demo {role.title()}").password for name, role in DEMO_OPERATORS}
    with ctx.write_session() as s:
        for name, role in DEMO_OPERATORS:
            s.add(User(username=name, email=f"{name}@example.com", display_name=f"Demo {role.title()}", role=role,
                       password_hash=ctx.hasher.hash(own[name]), password_changed_at=now, created_at=now,
                       updated_at=now))
        s.flush()
        conn = s.connection()
        rows = _demo_rows(conn.dialect, rng, now, hashes, ctx.settings.default_expiry_days() or _DEMO_EXPIRY_DAYS,
                          stats)
        sql = _insert_sql(conn.dialect, User.__tablename__, _DEMO_COLUMNS)
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Index once at the end, not row by row: the search table (5x faster) and every secondary index of
            # users (sorted builds rather than a million B-tree insertions each), all in this one transaction.
            conn.exec_driver_sql("DROP TRIGGER users_fts_insert")
            indexes = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL"
            ).all()
            index_sql = [sql for _, sql in indexes]
            for name, _ in indexes:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
            conn.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MiB for the sorts, this connection only
        done = 0
        while done < users:
            n = min(batch, users - done)
            conn.exec_driver_sql(sql, [next(rows) for _ in range(n)])
            done += n
            if progress:
                progress(done, users)
        if sqlite:
            for sql in index_sql:
                conn.exec_driver_sql(sql)
            conn.exec_driver_sql("INSERT INTO users_fts(users_fts) VALUES ('rebuild')")
            conn.exec_driver_sql(db.SQLITE_FTS_INSERT_TRIGGER)
            conn.exec_driver_sql("PRAGMA cache_size = -2000")  # back to SQLite's default
        # Sessions for a few recent sign-ins, tickets for a few must-change accounts.
        sample = s.exec(
            select(User.id, User.must_change_password).where(User.source == "local", User.blocked == False)  # noqa: E712
            .order_by(User.id).limit(min(users, 400))
        ).all()
        sessions, tickets = [], []
        for uid, must in sample:
            if rng.random() < 0.3:
                for _ in range(rng.randint(1, 3)):
                    started = now - timedelta(minutes=rng.randint(1, 600))
                    sessions.append(dict(user_id=uid, token_digest=tokens.digest(tokens.new_token()),
                                         client=rng.choice(("Firefox on Linux", "Safari on iPhone", "Chrome on Windows",
                                                            "mobile app 4.2")),
                                         created_at=started, last_seen_at=started + timedelta(minutes=5),
                                         expires_at=started + timedelta(hours=ctx.settings.session_lifetime_hours)))
            if must and rng.random() < 0.5:
                issued = now - timedelta(minutes=rng.randint(1, 50))
                tickets.append(dict(user_id=uid, token_digest=tokens.digest(tokens.new_token()),
                                    issued_by=rng.choice(operators[:2]), created_at=issued,
                                    expires_at=issued + timedelta(minutes=ctx.settings.ticket_lifetime_minutes)))
        if sessions:
            s.exec(insert(UserSession), params=sessions)
        if tickets:
            s.exec(insert(ResetTicket), params=tickets)
        stats["sessions"], stats["tickets"] = len(sessions), len(tickets)
        auditlog.append(ctx, s, at=now, operator="demo", action="demo.seed", target=None, outcome="ok",
                        details={"users": users, **stats})
        s.commit()
        ctx.writes += 1
    admin = _demo_history(ctx)
    # The history changed a few accounts: report the states as they now are.
    from console.services.listing import UserFilter, count_users

    for key, flt in (("blocked", UserFilter(blocked=True)), ("locked", UserFilter(locked=True)),
                     ("expired", UserFilter(expired=True)), ("must_change", UserFilter(must_change=True)),
                     ("external", UserFilter(external=True))):
        stats[key] = count_users(ctx, admin, filter=flt).value
    return DemoSummary(users=users, operators=operators, **stats,
                       operator_passwords={name: OneTimeSecret(pw) for name, pw in own.items()})


def _demo_history(ctx: ServiceContext) -> Actor:
    """A few real actions by the demo operators, so the audit log and the
    accounts have a history (including one refusal)."""
    from console.services import passwords, tickets
    from console.services.listing import UserFilter, list_users
    from console.services.users import block_user, unlock_user

    with ctx.read_session() as s:
        names = [n for n, _ in DEMO_OPERATORS]
        ids = dict(s.exec(select(User.username, User.id).where(User.username.in_(names))).all())
    admin, helpdesk = (Actor(ids[n], n, r, "trusted") for n, r in DEMO_OPERATORS[:2])
    members = UserFilter(role="member", external=False, blocked=False, locked=False)
    picks = [u.username for u in list_users(ctx, admin, filter=members, limit=5).items]
    locked = [u.username for u in list_users(ctx, admin, filter=UserFilter(role="member", locked=True), limit=1).items]
    steps = []
    if len(picks) >= 4:
        steps += [
            lambda: passwords.reset_password(ctx, helpdesk, picks[0], reason="forgot password, called the helpdesk",
                                             identity_check="call-back to the number on file", must_change=True),
            lambda: tickets.issue_ticket(ctx, helpdesk, picks[1], reason="new phone, asked for a reset link",
                                         identity_check="employee id and manager confirmation"),
            lambda: block_user(ctx, admin, picks[2], reason="suspicious sign-ins from a new country"),
            lambda: passwords.expire_now(ctx, admin, picks[3], reason="password shared in a ticket"),
            # refused and audited: helpdesk may not touch admin accounts
            lambda: passwords.reset_password(ctx, helpdesk, admin.username, reason="asked by phone",
                                             identity_check="voice"),
        ]
    if locked:
        steps.append(lambda: unlock_user(ctx, helpdesk, locked[0], reason="locked out after the holidays",
                                         identity_check="video call"))
    for step in steps:
        try:
            step()
        except ServiceError:
            pass
    return admin
