"""The clipboard routes (console/tui/clipboard.py), without an app: what is sent
where, and what the operator is told."""

from __future__ import annotations

import pyperclip
import pytest

from console.tui import clipboard as clipboard_module
from console.tui.clipboard import LOCAL, OSC52, TMUX_HINT, Clipboard

SECRET = "Zq8#mW2!pL5&xR9@"


class Local:
    """A local clipboard (pyperclip's stand-in); ``backend=False``: none, as on a headless host."""

    def __init__(self, backend: bool = True) -> None:
        self.backend = backend
        self.copies: list[str] = []
        self.holds = ""

    def copy(self, text: str) -> None:
        if not self.backend:
            raise pyperclip.PyperclipException("could not find a copy/paste mechanism")
        self.copies.append(text)
        self.holds = text

    def paste(self) -> str:
        if not self.backend:
            raise pyperclip.PyperclipException("could not find a copy/paste mechanism")
        return self.holds


def make(env: dict, local: Local) -> tuple[Clipboard, list[str]]:
    sent: list[str] = []
    return Clipboard(sent.append, env=env, local_copy=local.copy, local_paste=local.paste), sent


@pytest.fixture(autouse=True)
def no_real_tmux(monkeypatch):
    """Never ask a real tmux; a test says what tmux would answer."""
    monkeypatch.setattr(clipboard_module, "_tmux_set_clipboard", lambda env: None)


@pytest.mark.parametrize("var", ["SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT"])
def test_over_ssh_only_osc52_is_used(var):
    local = Local()
    clip, sent = make({var: "x"}, local)
    report = clip.copy(SECRET)
    assert local.copies == []  # never onto the server's clipboard
    assert sent == [SECRET]
    assert report.routes == (OSC52,) and report.copied
    assert report.message == "Sent to your terminal's clipboard (OSC 52)"


def test_without_a_local_backend_osc52_is_used_and_said():
    local = Local(backend=False)
    clip, sent = make({}, local)
    report = clip.copy(SECRET)
    assert sent == [SECRET]
    assert report.routes == (OSC52,)
    assert report.message == "Sent to your terminal's clipboard (OSC 52)"


def test_with_a_local_backend_both_routes_are_used_and_named():
    local = Local()
    clip, sent = make({}, local)
    report = clip.copy(SECRET)
    assert local.copies == [SECRET] and sent == [SECRET]
    assert report.routes == (LOCAL, OSC52)
    assert "copied to this computer's clipboard" in report.message.lower()
    assert "OSC 52" in report.message
    assert report.message[0].isupper()


@pytest.mark.parametrize("setting", ["off", "external"])
def test_tmux_that_drops_osc52_means_no_clipboard_with_the_fix(monkeypatch, setting):
    monkeypatch.setattr(clipboard_module, "_tmux_set_clipboard", lambda env: setting)
    local = Local()
    clip, sent = make({"SSH_CONNECTION": "x", "TMUX": "/tmp/tmux-0/default,1,0"}, local)
    report = clip.copy(SECRET)
    assert sent == [SECRET]  # still sent: it costs nothing
    assert not report.copied and report.routes == ()
    assert report.message.startswith("No clipboard")
    assert "set -g set-clipboard on" in report.message


def test_tmux_that_passes_osc52_on_counts_as_a_route(monkeypatch):
    monkeypatch.setattr(clipboard_module, "_tmux_set_clipboard", lambda env: "on")
    clip, sent = make({"SSH_CONNECTION": "x", "TMUX": "t"}, Local())
    report = clip.copy(SECRET)
    assert report.routes == (OSC52,)
    assert report.message == "Sent to your terminal's clipboard (OSC 52)"


def test_tmux_of_unknown_setting_sends_and_gives_the_hint():
    clip, sent = make({"SSH_CONNECTION": "x", "TMUX": "t"}, Local())
    report = clip.copy(SECRET)
    assert sent == [SECRET] and report.routes == (OSC52,)
    assert report.message.startswith("Sent to your terminal's clipboard (OSC 52)")
    assert TMUX_HINT in report.message


def test_tmux_locally_still_uses_the_local_clipboard(monkeypatch):
    monkeypatch.setattr(clipboard_module, "_tmux_set_clipboard", lambda env: "off")
    local = Local()
    clip, sent = make({"TMUX": "t"}, local)
    report = clip.copy(SECRET)
    assert report.routes == (LOCAL,) and local.copies == [SECRET]
    assert report.message == "Copied to this computer's clipboard"


def test_clear_overwrites_through_the_same_routes():
    local = Local()
    clip, sent = make({}, local)
    clip.copy(SECRET)
    assert clip.pending
    clip.clear()
    assert sent == [SECRET, ""]
    assert local.copies == [SECRET, ""] and local.holds == ""
    assert not clip.pending
    clip.clear()  # nothing of ours left: nothing sent
    assert sent == [SECRET, ""] and local.copies == [SECRET, ""]


def test_clear_leaves_a_local_clipboard_that_holds_something_else_by_then():
    local = Local()
    clip, sent = make({}, local)
    clip.copy(SECRET)
    local.holds = "the operator copied this since"
    clip.clear()
    assert local.holds == "the operator copied this since"
    assert local.copies == [SECRET]
    assert sent == [SECRET, ""]  # the terminal's clipboard cannot be read back: overwritten


def test_clear_over_ssh_never_touches_the_local_clipboard():
    local = Local()
    local.holds = "the server's own"
    clip, sent = make({"SSH_CONNECTION": "x"}, local)
    clip.copy(SECRET)
    clip.clear()
    assert local.copies == [] and local.holds == "the server's own"
    assert sent == [SECRET, ""]


def test_clear_survives_a_backend_that_went_away():
    local = Local()
    clip, sent = make({}, local)
    clip.copy(SECRET)
    local.backend = False
    clip.clear()
    assert sent == [SECRET, ""] and not clip.pending


def test_tmux_that_drops_osc52_is_still_cleared(monkeypatch):
    monkeypatch.setattr(clipboard_module, "_tmux_set_clipboard", lambda env: "off")
    clip, sent = make({"SSH_CONNECTION": "x", "TMUX": "t"}, Local())
    clip.copy(SECRET)
    clip.clear()
    assert sent == [SECRET, ""]


def test_the_clipboard_object_keeps_no_copy_of_the_secret():
    local = Local()
    clip, _ = make({}, local)
    clip.copy(SECRET)
    state = {k: v for k, v in vars(clip).items() if not callable(v) and k != "_env"}
    assert all(SECRET not in repr(v) for v in state.values()), state


def test_tmux_is_asked_only_inside_tmux(monkeypatch):
    asked = []
    monkeypatch.setattr(clipboard_module, "_tmux_set_clipboard", lambda env: asked.append(env) or "on")
    make({"SSH_CONNECTION": "x"}, Local())[0].copy(SECRET)
    assert asked == []
    # The real helper, outside tmux, answers "unknown" without running anything.
    monkeypatch.undo()
    assert clipboard_module._tmux_set_clipboard({}) is None


# -- in the app -------------------------------------------------------------------------------------------


async def _reveal_a_reset(tui, pilot):
    from console.services.permissions import Action
    from console.tui.screens.reveal import RevealScreen

    await tui.open_user(pilot, "bob")
    await tui.start(pilot, Action.RESET_PASSWORD)
    await tui.fill(pilot, "#f-reason", "forgot it")
    await tui.confirm(pilot)
    return await tui.wait_screen(pilot, RevealScreen)


async def test_over_ssh_the_reveal_names_the_osc52_route_only(tui, admin, make_user):
    make_user("bob")
    app, fake = tui.app(admin, env={"SSH_CONNECTION": "10.0.0.1 22 10.0.0.2 50000"}, local_backend=True)
    async with app.run_test(size=tui.size) as pilot:
        reveal = await _reveal_a_reset(tui, pilot)
        shown = reveal.secret.reveal()
        assert fake.osc52 == [shown] and fake.local == []
        message = tui.text(app, "#reveal-clipboard")
        assert message.startswith("Sent to your terminal's clipboard (OSC 52)")
        assert "computer" not in message
        await pilot.press("escape")


async def test_when_tmux_drops_osc52_the_reveal_says_copy_by_hand(tui, admin, make_user, monkeypatch):
    monkeypatch.setattr(clipboard_module, "_tmux_set_clipboard", lambda env: "off")
    make_user("bob")
    app, fake = tui.app(admin, env={"SSH_CONNECTION": "x", "TMUX": "t"})
    async with app.run_test(size=tui.size) as pilot:
        reveal = await _reveal_a_reset(tui, pilot)
        message = tui.text(app, "#reveal-clipboard")
        assert "No clipboard: copy it by hand now" in message and "set -g set-clipboard on" in message
        assert "cleared in" not in message  # nothing to clear on a timer
        assert app.clipboard_deadline is None
        assert fake.osc52 == [reveal.secret.reveal()]
        await pilot.press("escape")


async def test_quitting_before_the_delay_still_clears_the_clipboard(tui, admin, make_user):
    make_user("bob")
    app, fake = tui.app(admin, local_backend=True)
    async with app.run_test(size=tui.size) as pilot:
        reveal = await _reveal_a_reset(tui, pilot)
        shown = reveal.secret.reveal()
        assert fake.local_holds == shown
        await pilot.press("escape")
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert not app.is_running
    assert fake.local_holds != shown, "the password is still on this computer's clipboard"
    assert fake.osc52[-1] == "", "the terminal's clipboard was never overwritten"
