"""Getting a one-time secret to the operator's clipboard, wherever they sit.

Two routes:

- **OSC 52** through Textual's ``App.copy_to_clipboard``: the terminal the
  operator is looking at sets its clipboard, across SSH. Always sent, unless
  tmux is known to drop it (``set-clipboard off``).
- **pyperclip**, the clipboard of the machine the console runs on: tried only
  when not over SSH (there it would leave the secret on the server's clipboard)
  and dropped quietly when it has no backend (headless host).

The operator is told which route was taken, or that there was none. After the
configured delay the clipboard is overwritten with an empty value through the
same routes; inside tmux, the paste buffers tmux made of the secret are deleted
too. This object never keeps the secret itself, only its SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pyperclip

LOCAL = "local"
OSC52 = "osc52"

TMUX_HINT = "tmux passes it on only with `set -g set-clipboard on`"


@dataclass(frozen=True)
class CopyReport:
    routes: tuple[str, ...]
    message: str

    @property
    def copied(self) -> bool:
        return bool(self.routes)


def _tmux(*args: str) -> bytes | None:
    try:
        out = subprocess.run(["tmux", *args], capture_output=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _tmux_forget(digest: str) -> int:
    """Delete tmux paste buffers holding the secret (tmux keeps every OSC 52 it
    accepts as a buffer, and an empty OSC 52 does not replace it)."""
    names = _tmux("list-buffers", "-F", "#{buffer_name}")
    removed = 0
    for name in (names or b"").decode(errors="replace").split():
        content = _tmux("show-buffer", "-b", name)
        if content is not None and hashlib.sha256(content).hexdigest() == digest:
            if _tmux("delete-buffer", "-b", name) is not None:
                removed += 1
    return removed


def _tmux_set_clipboard(env: Mapping[str, str]) -> str | None:
    """tmux's set-clipboard option ("on", "external", "off"), or None if unknown."""
    if not env.get("TMUX") or not shutil.which("tmux"):
        return None
    out = _tmux("show-options", "-gv", "set-clipboard")
    if out is None:
        return None
    return out.decode(errors="replace").strip() or None


class Clipboard:
    def __init__(
        self,
        osc52: Callable[[str], None],
        *,
        env: Mapping[str, str] | None = None,
        local_copy: Callable[[str], None] = pyperclip.copy,
        local_paste: Callable[[], str] = pyperclip.paste,
        tmux_forget: Callable[[str], int] = _tmux_forget,
    ) -> None:
        self._forget_in_tmux = tmux_forget
        self._osc52 = osc52
        self._env = os.environ if env is None else env
        self._local_copy = local_copy
        self._local_paste = local_paste
        self._routes: tuple[str, ...] = ()
        self._sent_osc52 = False
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
        return bool(self._routes) or self._sent_osc52

    def copy(self, text: str) -> CopyReport:
        routes: list[str] = []
        if not self.over_ssh:
            try:
                self._local_copy(text)
            except pyperclip.PyperclipException:
                pass
            else:
                routes.append(LOCAL)
        self._digest = hashlib.sha256(text.encode()).hexdigest()
        tmux = _tmux_set_clipboard(self._env) if self.in_tmux else None
        # Always sent (it costs nothing); counted as a route unless tmux is
        # known to drop it: only `set-clipboard on` lets an application's OSC 52 out.
        self._osc52(text)
        self._sent_osc52 = True
        if not self.in_tmux or tmux in ("on", None):
            routes.append(OSC52)
        self._routes = tuple(routes)
        return CopyReport(self._routes, self._describe(tmux))

    def _describe(self, tmux: str | None) -> str:
        parts = []
        if LOCAL in self._routes:
            parts.append("copied to this computer's clipboard")
        if OSC52 in self._routes:
            parts.append("sent to your terminal's clipboard (OSC 52)")
        if not parts:
            msg = "No clipboard: copy it by hand now"
            return f"{msg} ({TMUX_HINT})" if self.in_tmux else msg
        msg = " and ".join(parts)
        if self.in_tmux and OSC52 in self._routes and tmux is None:
            msg += f"; {TMUX_HINT}"
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
        if self._sent_osc52:
            self._osc52("")
            if self.in_tmux and self._digest:
                self._forget_in_tmux(self._digest)
        self._sent_osc52 = False
        self._routes = ()
        self._digest = None
