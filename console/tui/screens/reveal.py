"""Showing a one-time secret (a generated password or a reset link) once.

Shown only after the change committed (the service returned), copied to the
clipboard with the route named, cleared after the configured delay. Closing
the dialog discards the secret: it cannot be shown again."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from console.services.views import OneTimeSecret
from console.tui.keys import HELP_KEYS
from console.tui.text import plain
from console.tui.widgets.footer import Footer

GROUP = 4
GROUPS_PER_LINE = 6
LEGEND = "A upper  a lower  9 digit  # symbol"
#: Where a link may be broken across lines (after these), never inside a token.
LINK_BREAKS = "/?&=#"
#: The columns the reveal box takes around its text (border, padding, the secret's padding).
BOX_CHROME = 10
BOX_WIDTH = 76


def link_lines(link: str, width: int) -> list[str]:
    """The link as lines of at most ``width`` cells, broken only after
    ``/ ? & = #`` so that a token (and any part without those) stays whole; a
    part longer than ``width`` alone is cut only as a last resort."""
    parts, start = [], 0
    for i, ch in enumerate(link):
        if ch in LINK_BREAKS:
            parts.append(link[start:i + 1])
            start = i + 1
    if start < len(link):
        parts.append(link[start:])
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(part) <= width:
            lines[-1] += part
        else:
            lines.extend(part[i:i + width] for i in range(0, len(part), width))
    return lines or [""]


def char_class(ch: str) -> tuple[str, str]:
    """(marker, style) for one character of a secret."""
    if ch.isupper():
        return "A", "bold $primary"
    if ch.islower():
        return "a", "bold $foreground"
    if ch.isdigit():
        return "9", "bold $accent"
    return "#", "bold $warning"


def font_safe(secret: str) -> Content:
    """The secret spaced out in groups of four, each character coloured by its
    class with a marker line beneath, so l/1/I and O/0 cannot be confused."""
    lines: list[Content] = []
    rows = max(1, -(-len(secret) // (GROUP * GROUPS_PER_LINE)))
    per_line = -(-len(secret) // rows)
    per_line += -per_line % GROUP  # whole groups: 32 characters make two rows of 16
    for start in range(0, len(secret), per_line):
        chunk = secret[start:start + per_line]
        top: list[tuple[str, str] | str] = []
        bottom: list[str] = []
        for i, ch in enumerate(chunk):
            marker, style = char_class(ch)
            sep = "   " if i and i % GROUP == 0 else " "
            top += [sep if i else "", (ch, style)]
            bottom += [sep if i else "", marker]
        lines.append(Content.assemble(*top))
        lines.append(Content.styled("".join(bottom), "dim"))
    return Content("\n").join(lines)


def masked(secret: str) -> Content:
    groups = ["•" * len(secret[i:i + GROUP]) for i in range(0, len(secret), GROUP)]
    return Content(" ".join(groups))


class RevealScreen(ModalScreen):
    CSS_PATH = "reveal.tcss"
    HELP_TITLE = "The one-time secret"
    BINDINGS = [
        Binding("c", "copy", "Copy again"),
        Binding("h", "toggle_hide", "Hide/show"),
        Binding("escape", "close", "Close (gone for good)"),
        Binding("enter", "close", "Close", show=False),
        *HELP_KEYS,
    ]

    def __init__(self, secret: OneTimeSecret, *, kind: str, username: str, note: str = "") -> None:
        super().__init__()
        self.secret = secret
        self.kind = kind  # "password" | "link"
        self.username = username
        self.note = note
        self.hidden = False
        self._ticker = None
        self._report = ""
        #: Times the secret was copied (1: the copy made on opening).
        self.copies = 0

    def compose(self) -> ComposeResult:
        what = "New password" if self.kind == "password" else "Reset link"
        with VerticalScroll(id="reveal-box"):  # scrolls below 80x24; the title stays (docked)
            yield Static(Content.assemble((what, "bold"), " for ", plain(self.username, "bold")), id="reveal-title")
            yield Static("", id="reveal-secret")
            yield Static(LEGEND if self.kind == "password" else "", id="reveal-legend")
            yield Static(plain(self.note), id="reveal-note")
            yield Static("", id="reveal-clipboard")
            yield Static("This is shown once. When you close this window it is gone for good.",
                         id="reveal-warning")
        yield Footer()

    def on_mount(self) -> None:
        self._render_secret()
        self.action_copy()
        self._ticker = self.set_interval(1, self._tick)

    def on_resize(self) -> None:
        if self.kind == "link":
            self._render_secret()

    def _link_width(self) -> int:
        return max(20, min(BOX_WIDTH, self.app.size.width) - BOX_CHROME)

    def _render_secret(self) -> None:
        secret = self.secret.reveal()
        box = self.query_one("#reveal-secret", Static)
        if self.hidden:
            box.update(Content.assemble(masked(secret if self.kind == "password" else "x" * 24),
                                        ("\n(hidden: press h to show)", "dim")))
        elif self.kind == "password":
            box.update(font_safe(secret))
        else:
            # Copied by hand, perhaps: broken only between the link's parts, never inside its token.
            lines = [plain(line, "bold") for line in link_lines(secret, self._link_width())]
            heading = "copy this as one line:" if len(lines) == 1 else "copy this as one line, without the breaks:"
            box.update(Content("\n").join([Content.styled(heading, "dim"), *lines]))

    def action_copy(self) -> None:
        """Copy (again): tmux is asked in a worker first, then the secret is
        sent from here, and the line under it says where it went."""
        if self.secret.discarded:
            return
        app = self.app
        if not app.clip.in_tmux:  # nothing to ask
            self._copy(None)
            return
        self._report = "copying…"
        self._tick()
        app.service(app.clip.tmux_state, done=self._copy, group="clipboard", exclusive=True)

    def _copy(self, tmux: Any) -> None:
        if self.secret.discarded or not self.is_attached:
            return
        report = self.app.copy_secret(self.secret.reveal(), tmux)
        self.copies += 1
        if self.copies == 1:
            self._report = report.message
        else:
            self._report = f"Copied again: {report.message[0].lower()}{report.message[1:]}" if report.copied \
                else f"Not copied again. {report.message}"
            self.app.notify(self._report, markup=False, timeout=4)
        self._tick()

    def _tick(self) -> None:
        left = self.app.clipboard_seconds_left()
        text = self._report
        if left is not None:
            text += f" · cleared in {left} s"
        elif self.app.clip.pending is False and self._report and "No clipboard" not in self._report \
                and self._report != "copying…":
            text += " · clipboard cleared"
        self.query_one("#reveal-clipboard", Static).update(plain(text))

    def action_toggle_hide(self) -> None:
        self.hidden = not self.hidden
        self._render_secret()

    def action_close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        self.query_one("#reveal-secret", Static).update("")
        self.secret.discard()
        self.app.forget_clipboard()
        self.dismiss(None)
