"""Getting a one-time secret to the operator's clipboard, wherever they sit.

Two routes:

- **OSC 52**: the terminal the operator is looking at sets its clipboard,
  across SSH. Outside tmux it is sent as it is (Textual's
  ``App.copy_to_clipboard``). Inside tmux it reaches the terminal only if tmux
  lets it: with ``set-clipboard on`` tmux takes it and passes it on; else, with
  ``allow-passthrough on``, it is wrapped in tmux's DCS passthrough
  (``ESC P tmux; … ESC \\``) and goes through untouched; else it is not sent at
  all: tmux would drop it, and the secret would only land in pane logs.
- **pyperclip**, the clipboard of the machine the console runs on: tried only
  when not over SSH (there it would leave the secret on the server's clipboard)
  and dropped quietly when it has no backend (headless host).

tmux's options are asked with ``tmux show-options`` (a subprocess with a short
timeout, run in a worker by the screens: ``Clipboard.tmux_state``). The
operator is told which route was taken, or that there was none, and inside a
tmux that drops it, before the secret is made (the dialogs ask first), with the
fix. After the configured delay the clipboard is overwritten with an empty
value through the same routes; inside tmux, the paste buffers tmux made of the
secret are deleted too. This object never keeps the secret itself, only its
SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pyperclip

LOCAL = "local"
OSC52 = "osc52"

#: What makes tmux pass an application's OSC 52 on.
TMUX_FIX = "tmux set -g set-clipboard on"
TMUX_HINT = f"tmux passes it on only after `{TMUX_FIX}`"
#: How long a tmux command may take before its answer counts as unknown.
TMUX_TIMEOUT = 1.0


def osc52(text: str) -> str:
    """The OSC 52 sequence that sets the terminal's clipboard to ``text``."""
    return f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\x07"


def tmux_passthrough(sequence: str) -> str:
    """``sequence`` wrapped in tmux's DCS passthrough: every ESC inside doubled."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


@dataclass(frozen=True)
class TmuxState:
    """What the tmux around the console does with an application's OSC 52.
    None: tmux did not answer (or this tmux has no such option)."""

    set_clipboard: str | None
    allow_passthrough: str | None

    @property
    def passes_osc52(self) -> bool:
        """tmux takes the sequence and sets the terminal's clipboard itself."""
        return self.set_clipboard == "on"

    @property
    def passthrough(self) -> bool:
        return self.allow_passthrough in ("on", "all")

    @property
    def reaches_terminal(self) -> bool:
        return self.passes_osc52 or self.passthrough

    def why_not(self) -> str:
        """Why an OSC 52 would not reach the terminal (when it would not)."""
        if self.set_clipboard is None:
            return "tmux did not say whether it passes the clipboard on"
        return f"tmux's set-clipboard is {self.set_clipboard}"


class Tmux:
    """tmux's command line, as the console's own tmux client: ``TMUX`` (and
    ``TMUX_PANE``) from ``env`` name the server and pane. ``run``: a stand-in
    for tests (args → stdout bytes, or None on failure)."""

    def __init__(self, env: Mapping[str, str], *, run: Callable[[list[str]], bytes | None] | None = None,
                 timeout: float = TMUX_TIMEOUT) -> None:
        self._env = env
        self._run = run
        self._timeout = timeout

    def run(self, *args: str) -> bytes | None:
        if self._run is not None:
            return self._run(list(args))
        if not shutil.which("tmux"):
            return None
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        env.update({k: self._env[k] for k in ("TMUX", "TMUX_PANE") if self._env.get(k)})
        try:
            out = subprocess.run(["tmux", *args], capture_output=True, timeout=self._timeout, check=False, env=env,
                                 stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout if out.returncode == 0 else None

    def _option(self, *args: str) -> str | None:
        out = self.run("show-options", *args)
        return (out.decode(errors="replace").strip() or None) if out is not None else None

    def state(self) -> TmuxState:
        """Blocking (a subprocess or two): run it in a worker."""
        pane = self._env.get("TMUX_PANE")
        # allow-passthrough is a pane option: the console's pane's own value, inherited ones included.
        passthrough = (self._option("-Apv", "-t", pane, "allow-passthrough") if pane else None) \
            or self._option("-gv", "allow-passthrough")
        return TmuxState(self._option("-gv", "set-clipboard"), passthrough)

    def clipboard_on(self) -> bool:
        """``tmux set -g set-clipboard on``, asked for by the operator. True if tmux took it."""
        return self.run("set-option", "-g", "set-clipboard", "on") is not None

    def forget(self, digest: str) -> int:
        """Delete tmux paste buffers holding the secret (tmux keeps every OSC 52 it
        accepts as a buffer, and an empty OSC 52 does not replace it)."""
        names = self.run("list-buffers", "-F", "#{buffer_name}")
        removed = 0
        for name in (names or b"").decode(errors="replace").split():
            content = self.run("show-buffer", "-b", name)
            if content is not None and hashlib.sha256(content).hexdigest() == digest:
                if self.run("delete-buffer", "-b", name) is not None:
                    removed += 1
        return removed


@dataclass(frozen=True)
class CopyReport:
    routes: tuple[str, ...]
    message: str

    @property
    def copied(self) -> bool:
        return bool(self.routes)


class Clipboard:
    def __init__(
        self,
        osc52: Callable[[str], None],
        *,
        env: Mapping[str, str] | None = None,
        local_copy: Callable[[str], None] = pyperclip.copy,
        local_paste: Callable[[], str] = pyperclip.paste,
        write: Callable[[str], None] | None = None,
        tmux: Tmux | None = None,
    ) -> None:
        """``osc52``: sets the terminal's clipboard (``App.copy_to_clipboard``);
        ``write``: writes a raw sequence to the terminal (for tmux's
        passthrough; None: no passthrough route)."""
        self._osc52 = osc52
        self._write = write
        self._env = os.environ if env is None else env
        self.tmux = tmux or Tmux(self._env)
        self._local_copy = local_copy
        self._local_paste = local_paste
        self._routes: tuple[str, ...] = ()
        #: How the terminal was sent our secret: "plain", "passthrough" or None.
        self._sent: str | None = None
        #: SHA-256 of what was copied, to clear only our own.
        self._digest: str | None = None

    @property
    def over_ssh(self) -> bool:
        return bool(self._env.get("SSH_CONNECTION") or self._env.get("SSH_TTY") or self._env.get("SSH_CLIENT"))

    @property
    def in_tmux(self) -> bool:
        return bool(self._env.get("TMUX"))

    @property
    def pending(self) -> bool:
        """Something of ours may still be on a clipboard."""
        return bool(self._routes) or self._sent is not None

    def tmux_state(self) -> TmuxState | None:
        """What the tmux around the console does with OSC 52 (None: not in tmux).
        Blocking: run it in a worker, and hand the answer to ``copy``."""
        return self.tmux.state() if self.in_tmux else None

    def _terminal_route(self, tmux: TmuxState | None) -> str | None:
        if not self.in_tmux or tmux is None:
            return "plain" if not self.in_tmux else None
        # Passthrough first: set-clipboard also keeps what it passes on as a
        # tmux paste buffer, which outlives the console if it is killed.
        if tmux.passthrough and self._write is not None:
            return "passthrough"
        if tmux.passes_osc52:
            return "plain"
        return None

    def _send(self, route: str, text: str) -> None:
        if route == "plain":
            self._osc52(text)
        elif self._write is not None:
            self._write(tmux_passthrough(osc52(text)))

    def copy(self, text: str, *, tmux: TmuxState | None = None) -> CopyReport:
        """``tmux``: ``tmux_state()``'s answer (asked here, blocking, if not given
        inside tmux)."""
        if tmux is None and self.in_tmux:
            tmux = self.tmux_state()
        routes: list[str] = []
        if not self.over_ssh:
            try:
                self._local_copy(text)
            except pyperclip.PyperclipException:
                pass
            else:
                routes.append(LOCAL)
        self._digest = hashlib.sha256(text.encode()).hexdigest()
        route = self._terminal_route(tmux)
        if route is not None:
            self._send(route, text)
            self._sent = route
            routes.append(OSC52)
        self._routes = tuple(routes)
        return CopyReport(self._routes, self._describe(tmux))

    def _describe(self, tmux: TmuxState | None) -> str:
        parts = []
        if LOCAL in self._routes:
            parts.append("copied to this computer's clipboard")
        if OSC52 in self._routes:
            how = {"plain": ", through tmux", "passthrough": ", through tmux's passthrough"}.get(
                self._sent or "", "") if self.in_tmux else ""
            parts.append(f"sent to your terminal's clipboard (OSC 52{how})")
        if not parts:
            msg = "No clipboard: copy it by hand now"
            if self.in_tmux and tmux is not None:
                msg += f" ({tmux.why_not()}: `{TMUX_FIX}` lets it through)"
            return msg
        msg = " and ".join(parts)
        return msg[0].upper() + msg[1:]

    def clear(self) -> None:
        """Overwrite what we copied with an empty value, through the same routes."""
        if LOCAL in self._routes:
            try:
                current = self._local_paste()
                if hashlib.sha256(current.encode()).hexdigest() == self._digest:
                    self._local_copy("")
            except pyperclip.PyperclipException:
                pass
        if self._sent is not None:
            self._send(self._sent, "")
            if self._sent == "plain" and self.in_tmux and self._digest:
                self.tmux.forget(self._digest)
        self._sent = None
        self._routes = ()
        self._digest = None
