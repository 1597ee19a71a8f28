"""The console's log and remembered state hold who did what and where: like
the database, they are readable by their owner only, whatever the umask."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from console.cli.root import log_to
from console.security.files import create_private, keep_private


@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # the usual umask would leave a new file world-readable
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_console_log_is_its_owners_only(tmp_path, open_umask):
    root = logging.getLogger()
    before = list(root.handlers)
    log = tmp_path / "logs" / "console.log"
    try:
        log_to(log)
        logging.getLogger("console.test").warning("a line")
    finally:
        for h in root.handlers[len(before):]:
            h.close()
            root.removeHandler(h)
    assert "a line" in log.read_text()
    assert (mode(log), mode(log.parent)) == (0o600, 0o700)


def test_an_existing_log_or_state_file_is_made_private_and_kept(tmp_path, open_umask):
    f = tmp_path / "console.json"
    f.write_text('{"theme": "x"}')
    f.chmod(0o644)
    keep_private(f)
    assert mode(f) == 0o600 and f.read_text() == '{"theme": "x"}'


def test_create_private_leaves_an_existing_files_mode(tmp_path, open_umask):
    f = tmp_path / "shared.db"
    f.write_text("")
    f.chmod(0o640)
    create_private(f)
    assert mode(f) == 0o640


async def test_the_remembered_console_state_is_its_owners_only(tmp_path, open_umask, ctx):
    from console.tui.app import UserdeskApp

    path = tmp_path / "state" / "console.json"
    app = UserdeskApp(ctx, actor=None, remember_path=path)
    async with app.run_test(size=(80, 24)):
        app.choose_theme(next(iter(app._themes)))
    assert path.exists() and (mode(path), mode(path.parent)) == (0o600, 0o700)
