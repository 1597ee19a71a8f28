"""Setting a database up: init, demo data, readiness."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import Settings
from console.security.hashing import Argon2Params
from console.services import auth, listing, setup
from console.services.context import Actor, ServiceContext
from console.services.errors import NotInitialized, UserExists
from console.services.listing import UserFilter


@pytest.fixture
def empty_ctx(tmp_path):
    c = ServiceContext.from_settings(Settings(database_url=f"sqlite:///{tmp_path / 'e.db'}"),
                                     argon2_params=Argon2Params.cheapest())
    yield c
    c.engine.dispose()


def test_check_ready_explains_what_to_run(empty_ctx):
    with pytest.raises(NotInitialized) as ei:
        setup.check_ready(empty_ctx)
    assert "userdesk init" in ei.value.message
    from console import db

    db.create_schema(empty_ctx.engine)
    with pytest.raises(NotInitialized) as ei:
        setup.check_ready(empty_ctx)
    assert "no operators" in ei.value.message
    r = setup.initialize(empty_ctx, "root")
    setup.check_ready(empty_ctx)  # ready now: no error
    assert auth.sign_in(empty_ctx, "root", r.password.reveal()).role == "admin"
    with pytest.raises(UserExists):
        setup.initialize(empty_ctx, "another")


def test_demo_has_every_state_and_refuses_to_run_twice(empty_ctx):
    summary = setup.seed_demo(empty_ctx, 400)
    assert summary.users == 400
    reader = Actor(None, "t", "viewer", "local")
    assert listing.count_users(empty_ctx, reader).value == 400 + len(setup.DEMO_OPERATORS)
    for flt, expected in ((UserFilter(blocked=True), summary.blocked), (UserFilter(external=True), summary.external),
                          (UserFilter(must_change=True), summary.must_change)):
        assert listing.count_users(empty_ctx, reader, filter=flt).value == expected > 0
    assert listing.count_users(empty_ctx, reader, filter=UserFilter(locked=True)).value == summary.locked > 0
    with pytest.raises(UserExists):
        setup.seed_demo(empty_ctx, 10)


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    """It holds the password hashes: so do its WAL and shared-memory files."""
    import os
    import stat

    old = os.umask(0o022)  # the usual umask would leave a new file world-readable
    try:
        c = ServiceContext.from_settings(Settings(database_url=f"sqlite:///{tmp_path / 'new' / 'u.db'}"),
                                         argon2_params=Argon2Params.cheapest())
        setup.initialize(c, "root")
        with c.engine.connect():
            files = sorted(p.name for p in (tmp_path / "new").iterdir())
            assert files == ["u.db", "u.db-shm", "u.db-wal"]
            modes = {name: stat.S_IMODE((tmp_path / "new" / name).stat().st_mode) for name in files}
        c.engine.dispose()
    finally:
        os.umask(old)
    assert modes == {"u.db": 0o600, "u.db-shm": 0o600, "u.db-wal": 0o600}
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_a_database_behind_a_symlink_or_under_home_is_private_and_where_it_says(tmp_path, monkeypatch):
    import os
    import stat

    from console import db

    old = os.umask(0o022)
    try:
        (tmp_path / "real").mkdir()
        (tmp_path / "link.db").symlink_to(tmp_path / "real" / "target.db")  # dangling until the database exists
        engine = db.make_engine(f"sqlite:///{tmp_path / 'link.db'}")
        db.create_schema(engine)
        engine.dispose()
        assert stat.S_IMODE((tmp_path / "real" / "target.db").stat().st_mode) == 0o600
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        engine = db.make_engine("sqlite:///~/data/u.db")
        db.create_schema(engine)
        engine.dispose()
    finally:
        os.umask(old)
    made = tmp_path / "home" / "data" / "u.db"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600 and made.stat().st_size > 0  # the schema went in there
    assert not (Path.cwd() / "~").exists()
