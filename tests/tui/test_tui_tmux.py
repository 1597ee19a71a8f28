"""The console inside a real tmux (80x24): what tmux says of its clipboard
options, and what of a new password reaches the pane's output stream, read
with ``pipe-pane`` (what any pane log would keep).

Needs tmux (Debian: tmux); skipped without it."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from console.services import auth
from console.tui.clipboard import Tmux, TmuxState, osc52, tmux_passthrough

pytestmark = [pytest.mark.sqlite_only,
              pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux (Debian: tmux)")]


class Server:
    """A tmux server of its own (``-L``, no config file), killed at the end."""

    def __init__(self) -> None:
        self.name = f"userdesk-test-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.name, "-f", "/dev/null", *args], capture_output=True, text=True,
                             timeout=10, check=True)
        return out.stdout

    def env(self, pane: str) -> dict[str, str]:
        """What a program in ``pane`` finds in its environment (TMUX, TMUX_PANE)."""
        socket, pid = self("display-message", "-p", "-t", pane, "#{socket_path}\t#{pid}").strip().split("\t")
        return {"TMUX": f"{socket},{pid},0", "TMUX_PANE": pane}

    def screen(self, pane: str) -> str:
        return self("capture-pane", "-p", "-t", pane)

    def wait_for(self, pane: str, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(pane)
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on the screen:\n{screen}")
            time.sleep(0.1)

    def keys(self, pane: str, *keys: str, settle: float = 0.4) -> None:
        for key in keys:
            self("send-keys", "-t", pane, key)
            time.sleep(0.05)
        time.sleep(settle)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def tmux():
    server = Server()
    yield server
    server.kill()


def test_the_options_are_read_from_a_real_tmux_and_the_fix_is_applied(tmux):
    tmux("new-session", "-d", "-x", "80", "-y", "24", "sleep 60")
    pane = tmux("display-message", "-p", "#{pane_id}").strip()
    tmux("set-option", "-g", "set-clipboard", "off")
    tmux("set-option", "-g", "allow-passthrough", "off")
    client = Tmux(tmux.env(pane))
    assert client.state() == TmuxState("off", "off")
    tmux("set-option", "-p", "-t", pane, "allow-passthrough", "on")  # the pane's own value counts
    assert client.state() == TmuxState("off", "on")
    assert client.clipboard_on()
    assert client.state().set_clipboard == "on"
    # A server that is not there answers nothing, quickly.
    gone = Tmux({"TMUX": "/nonexistent/socket,1,0"})
    started = time.monotonic()
    assert gone.state() == TmuxState(None, None)
    assert time.monotonic() - started < 5


def _console(tmux: Server, settings, tmp_path, log) -> str:
    """Start the console (trusted operator ``root``) in a new tmux pane whose
    output goes to ``log``; returns the pane."""
    (tmp_path / "empty.toml").write_text("")
    env = {"USERDESK_DATABASE_URL": settings.database_url, "USERDESK_TRUSTED_OPERATOR": "true",
           "USERDESK_CONFIG": str(tmp_path / "empty.toml"), "USERDESK_ARGON2_TIME_COST": "2",
           "USERDESK_ARGON2_MEMORY_COST": "19456", "USERDESK_ARGON2_PARALLELISM": "1",
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": os.environ["XDG_DATA_HOME"],
           "PATH": os.environ.get("PATH", "")}
    args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
    pane = tmux("new-session", "-d", "-P", "-F", "#{pane_id}", "-x", "80", "-y", "24", *args,
                f"{sys.executable} -m console --operator root").strip()
    tmux("pipe-pane", "-O", "-t", pane, f"cat >> {log}")
    return pane


def _reset(tmux: Server, pane: str, *, notice: str | None) -> str:
    """The walk an operator takes: search, open the match, danger zone, reset
    aaa-bob's password; returns the screen of the reveal."""
    tmux.wait_for(pane, "aaa-bob")
    tmux.keys(pane, "/")
    tmux("send-keys", "-t", pane, "-l", "bob")
    tmux.keys(pane, "Enter")  # at once: opens the first match when its rows arrive
    tmux.wait_for(pane, "Danger zone")
    tmux.keys(pane, "d", "Enter")
    tmux.wait_for(pane, "Reason *")
    if notice is not None:
        tmux.wait_for(pane, notice)
    tmux.keys(pane, "Tab", "Tab")
    tmux("send-keys", "-t", pane, "-l", "locked out, called in")
    tmux.keys(pane, "C-s")
    return tmux.wait_for(pane, "New password for aaa-bob")


@pytest.mark.parametrize("passthrough", ["off", "on"])
def test_a_tmux_that_drops_osc52_gets_no_secret_and_one_with_passthrough_gets_it_wrapped(
        tmux, ctx, settings, make_user, tmp_path, passthrough):
    make_user("root", role="admin")
    make_user("aaa-bob")  # sorts first
    tmux("new-session", "-d", "-s", "keep", "sleep 120")  # the server stays up with these options
    tmux("set-option", "-g", "set-clipboard", "off")
    tmux("set-option", "-g", "allow-passthrough", passthrough)
    log = tmp_path / "pane.log"
    pane = _console(tmux, settings, tmp_path, log)
    screen = _reset(tmux, pane, notice="set-clipboard is off" if passthrough == "off" else None)
    if passthrough == "off":
        assert "No clipboard: copy it by hand now" in tmux.wait_for(pane, "No clipboard")
        time.sleep(0.5)
        stream = log.read_bytes()
        assert b"]52;" not in stream  # the secret was never put into the pane's output
    else:
        tmux.wait_for(pane, "through tmux's passthrough")
        stream = log.read_bytes()
        found = re.search(rb"\x1bPtmux;\x1b\x1b\]52;c;([A-Za-z0-9+/=]+)\x07\x1b\\", stream)
        assert found, stream[-2000:]
        password = base64.b64decode(found.group(1)).decode()
        assert auth.authenticate(ctx, "aaa-bob", password).authenticated
        assert stream.count(b"]52;c;" + found.group(1)) == 1  # only the wrapped one
        assert tmux_passthrough(osc52(password)).encode() in stream
    tmux.keys(pane, "Escape", "C-q")
    assert "aaa-bob" in screen
