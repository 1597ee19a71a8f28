"""The console over SSH, for real: an ``sshd`` on loopback whose
``authorized_keys`` entry forces ``userdesk --operator hd`` (trusted operator
mode, no shell), a client ``ssh -tt`` in a pseudo-terminal of 80x24, a reset
driven through the console by keystrokes, and the OSC 52 clipboard sequence
with the new password arriving on the client's side.

Needs OpenSSH's server (Debian: openssh-server); ``USERDESK_TEST_SSH=required``
(set by .ci/run) fails instead of skipping without it."""

from __future__ import annotations

import base64
import fcntl
import getpass
import os
import pty
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from ports import free_port

from console.services import audit, auth
from console.services.context import Actor

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def sshd(tmp_path, settings):
    """Start sshd; returns (port, client key, login user)."""
    if not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("ssh-keygen")):
        if os.environ.get("USERDESK_TEST_SSH") == "required":
            pytest.fail("USERDESK_TEST_SSH=required but OpenSSH's server or client is missing")
        pytest.skip("needs OpenSSH's server and client (Debian: openssh-server)")
    d = tmp_path / "ssh"
    d.mkdir()
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    (d / "empty.toml").write_text("")
    env = {"USERDESK_DATABASE_URL": settings.database_url, "USERDESK_TRUSTED_OPERATOR": "true",
           "USERDESK_CONFIG": str(d / "empty.toml"), "USERDESK_ARGON2_TIME_COST": "2",
           "USERDESK_ARGON2_MEMORY_COST": "19456", "USERDESK_ARGON2_PARALLELISM": "1",
           "XDG_STATE_HOME": str(d / "state"),
           # the test's own data directory: the desk's audit key is there
           "XDG_DATA_HOME": os.environ["XDG_DATA_HOME"]}
    forced = "env " + " ".join(f"{k}={v}" for k, v in env.items()) + f" {sys.executable} -m console --operator hd"
    (d / "authorized_keys").write_text(f'command="{forced}",restrict,pty {(d / "client.pub").read_text()}')
    (d / "authorized_keys").chmod(0o600)
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\nAuthorizedKeysFile {d / 'authorized_keys'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n"
        f"StrictModes no\nPermitRootLogin prohibit-password\nPidFile {d / 'sshd.pid'}\n")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation
    server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(server.stderr.read().decode()[-1000:]) from None
            time.sleep(0.05)
    yield port, d / "client", getpass.getuser()
    server.terminate()
    server.wait(10)


class Terminal:
    """The client's side: ``ssh -tt`` on a pseudo-terminal of 80x24."""

    def __init__(self, port: int, key: Path, user: str) -> None:
        self.fd, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.proc = subprocess.Popen(
            ["ssh", "-tt", "-i", str(key), "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o",
             "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", f"{user}@127.0.0.1"],
            stdin=slave, stdout=slave, stderr=slave, close_fds=True, env={**os.environ, "TERM": "xterm-256color"})
        os.close(slave)
        self.out = b""

    def read_until(self, needle: bytes | None, timeout: float = 20.0) -> bool:
        """Collect output until ``needle`` has arrived (None: for ``timeout``)."""
        deadline = time.monotonic() + timeout
        while (needle is None or needle not in self.out) and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                self.out += chunk
        return needle is None or needle in self.out

    def keys(self, data: bytes, settle: float = 0.6) -> None:
        """Type ``data``, then take in what the console draws for ``settle`` seconds."""
        os.write(self.fd, data)
        self.read_until(None, settle)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        os.close(self.fd)


def test_a_helpdesk_reset_over_ssh_puts_the_password_on_the_clients_clipboard(ctx, make_user, sshd):
    make_user("hd", role="helpdesk")
    make_user("aaa-bob")  # sorts first in the list
    term = Terminal(*sshd)
    try:
        assert term.read_until(b"USERNAME"), term.out[-2000:]  # the list, drawn on the client's terminal
        assert term.read_until(b"aaa-bob")
        term.keys(b"\r")  # open the first account
        assert term.read_until(b"Danger zone")
        term.keys(b"d")
        term.keys(b"\r")  # Reset password: its dialog
        assert term.read_until(b"Identity check")
        term.keys(b"\t\t")  # past the expiry and must-change fields, to the reason
        term.keys(b"called the helpdesk\t", 0.3)
        term.keys(b"asked for the employee number\t", 0.3)
        term.keys(b"\x13")  # ctrl+s
        assert term.read_until(b"\x1b]52;c;"), term.out[-2000:]
        assert term.read_until(b"\x07", 5)
        encoded = re.search(rb"\x1b\]52;c;([A-Za-z0-9+/=]+)\x07", term.out).group(1)
        password = base64.b64decode(encoded).decode()
        term.keys(b"\x1b")  # close the reveal
        term.keys(b"\x11")  # ctrl+q
    finally:
        term.close()
    assert auth.authenticate(ctx, "aaa-bob", password).authenticated  # what arrived is the new password
    reader = Actor(None, "test", "viewer", "local")
    event = next(e for e in audit.query(ctx, reader, limit=20).items if e.action == "password.reset")
    assert (event.operator, event.target, event.outcome) == ("hd", "aaa-bob", "ok")
    assert event.identity_check == "asked for the employee number" and event.reason == "called the helpdesk"

