"""The clipboard routes (console/tui/clipboard.py), without an app: what is sent
where, and what the operator is told."""

from __future__ import annotations

import pyperclip
import pytest

from console.tui import clipboard as clipboard_module
from console.tui.clipboard import LOCAL, OSC52, TMUX_FIX, Clipboard, Tmux, TmuxState, osc52, tmux_passthrough

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


class FakeTmux:
    """tmux's command line as a test says it answers: ``options`` maps an option
    to its value (absent: tmux does not answer); every command is recorded."""

    def __init__(self, **options: str) -> None:
        self.options = {k.replace("_", "-"): v for k, v in options.items()}
        self.commands: list[list[str]] = []

    def __call__(self, args: list[str]) -> bytes | None:
        self.commands.append(args)
        if args[0] == "show-options":
            value = self.options.get(args[-1])
            return None if value is None else f"{value}\n".encode()
        if args[:3] == ["set-option", "-g", "set-clipboard"]:
            self.options["set-clipboard"] = args[3]
            return b""
        if args[0] == "list-buffers":
            return b""
        return None


def make(env: dict, local: Local, tmux: FakeTmux | None = None) -> tuple[Clipboard, list[str], list[str]]:
    """A clipboard; returns it, the OSC 52 texts sent, and the raw sequences written."""
    sent: list[str] = []
    written: list[str] = []
    clip = Clipboard(sent.append, env=env, local_copy=local.copy, local_paste=local.paste, write=written.append,
                     tmux=Tmux(env, run=tmux or FakeTmux()))
    return clip, sent, written


@pytest.mark.parametrize("var", ["SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT"])
def test_over_ssh_only_osc52_is_used(var):
    local = Local()
    clip, sent, _ = make({var: "x"}, local)
    report = clip.copy(SECRET)
    assert local.copies == []  # never onto the server's clipboard
    assert sent == [SECRET]
    assert report.routes == (OSC52,) and report.copied
    assert report.message == "Sent to your terminal's clipboard (OSC 52)"


def test_without_a_local_backend_osc52_is_used_and_said():
    local = Local(backend=False)
    clip, sent, _ = make({}, local)
    report = clip.copy(SECRET)
    assert sent == [SECRET]
    assert report.routes == (OSC52,)
    assert report.message == "Sent to your terminal's clipboard (OSC 52)"


def test_with_a_local_backend_both_routes_are_used_and_named():
    local = Local()
    clip, sent, _ = make({}, local)
    report = clip.copy(SECRET)
    assert local.copies == [SECRET] and sent == [SECRET]
    assert report.routes == (LOCAL, OSC52)
    assert "copied to this computer's clipboard" in report.message.lower()
    assert "OSC 52" in report.message
    assert report.message[0].isupper()


@pytest.mark.parametrize("setting", ["off", "external"])
def test_tmux_that_drops_osc52_gets_no_secret_at_all_and_the_fix_is_named(setting):
    """Sent anyway, it landed in the pane's stream (and any pipe-pane log) for nothing."""
    local = Local()
    clip, sent, written = make({"SSH_CONNECTION": "x", "TMUX": "/tmp/tmux-0/default,1,0"}, local,
                               FakeTmux(set_clipboard=setting, allow_passthrough="off"))
    report = clip.copy(SECRET)
    assert sent == [] and written == []  # not into the terminal stream
    assert not report.copied and report.routes == ()
    assert report.message.startswith("No clipboard")
    assert f"set-clipboard is {setting}" in report.message and TMUX_FIX in report.message
    clip.clear()
    assert sent == [] and written == []  # nothing to clear there either


def test_tmux_that_passes_osc52_on_counts_as_a_route():
    clip, sent, written = make({"SSH_CONNECTION": "x", "TMUX": "t"}, Local(), FakeTmux(set_clipboard="on"))
    report = clip.copy(SECRET)
    assert report.routes == (OSC52,) and sent == [SECRET] and written == []
    assert report.message == "Sent to your terminal's clipboard (OSC 52, through tmux)"


@pytest.mark.parametrize("passthrough", ["on", "all"])
def test_tmux_without_set_clipboard_but_with_passthrough_gets_it_wrapped(passthrough):
    clip, sent, written = make({"SSH_CONNECTION": "x", "TMUX": "t"}, Local(),
                               FakeTmux(set_clipboard="external", allow_passthrough=passthrough))
    report = clip.copy(SECRET)
    assert sent == []  # not the plain sequence tmux would drop
    assert written == [tmux_passthrough(osc52(SECRET))]
    assert report.routes == (OSC52,)
    assert report.message == "Sent to your terminal's clipboard (OSC 52, through tmux's passthrough)"
    clip.clear()
    assert written[-1] == tmux_passthrough(osc52(""))  # cleared the same way


def test_passthrough_is_preferred_to_set_clipboard_which_keeps_a_paste_buffer():
    """set-clipboard on keeps what it passes on as a tmux paste buffer, which a
    killed console never clears: passthrough leaves nothing in tmux."""
    clip, sent, written = make({"SSH_CONNECTION": "x", "TMUX": "t"}, Local(),
                               FakeTmux(set_clipboard="on", allow_passthrough="on"))
    clip.copy(SECRET)
    assert sent == [] and written == [tmux_passthrough(osc52(SECRET))]


def test_the_passthrough_sequence_is_tmuxs_dcs_with_its_escapes_doubled():
    assert osc52("hi") == "\x1b]52;c;aGk=\x07"
    assert tmux_passthrough(osc52("hi")) == "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\"


def test_tmux_of_unknown_setting_gets_nothing_and_is_said():
    """tmux did not answer: it may drop the sequence, so it is not sent."""
    clip, sent, written = make({"SSH_CONNECTION": "x", "TMUX": "t"}, Local(), FakeTmux())
    report = clip.copy(SECRET)
    assert sent == [] and written == [] and not report.copied
    assert "tmux did not say" in report.message and TMUX_FIX in report.message


def test_tmux_locally_still_uses_the_local_clipboard():
    local = Local()
    clip, sent, _ = make({"TMUX": "t"}, local, FakeTmux(set_clipboard="off", allow_passthrough="off"))
    report = clip.copy(SECRET)
    assert report.routes == (LOCAL,) and local.copies == [SECRET] and sent == []
    assert report.message == "Copied to this computer's clipboard"


def test_the_pane_s_own_passthrough_setting_is_asked():
    """allow-passthrough is a pane option: the console's pane (TMUX_PANE) is asked first."""
    tmux = FakeTmux(set_clipboard="off", allow_passthrough="on")
    state = Tmux({"TMUX": "t", "TMUX_PANE": "%3"}, run=tmux).state()
    assert state == TmuxState("off", "on") and state.reaches_terminal
    assert ["show-options", "-Apv", "-t", "%3", "allow-passthrough"] in tmux.commands
    assert ["show-options", "-gv", "set-clipboard"] in tmux.commands


def test_clear_overwrites_through_the_same_routes():
    local = Local()
    clip, sent, _ = make({}, local)
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
    clip, sent, _ = make({}, local)
    clip.copy(SECRET)
    local.holds = "the operator copied this since"
    clip.clear()
    assert local.holds == "the operator copied this since"
    assert local.copies == [SECRET]
    assert sent == [SECRET, ""]  # the terminal's clipboard cannot be read back: overwritten


def test_clear_over_ssh_never_touches_the_local_clipboard():
    local = Local()
    local.holds = "the server's own"
    clip, sent, _ = make({"SSH_CONNECTION": "x"}, local)
    clip.copy(SECRET)
    clip.clear()
    assert local.copies == [] and local.holds == "the server's own"
    assert sent == [SECRET, ""]


def test_clear_survives_a_backend_that_went_away():
    local = Local()
    clip, sent, _ = make({}, local)
    clip.copy(SECRET)
    local.backend = False
    clip.clear()
    assert sent == [SECRET, ""] and not clip.pending


def test_a_tmux_that_passes_osc52_on_is_cleared_and_its_buffers_forgotten():
    tmux = FakeTmux(set_clipboard="on")
    clip, sent, _ = make({"SSH_CONNECTION": "x", "TMUX": "t"}, Local(), tmux)
    clip.copy(SECRET)
    clip.clear()
    assert sent == [SECRET, ""]
    assert ["list-buffers", "-F", "#{buffer_name}"] in tmux.commands


def test_the_clipboard_object_keeps_no_copy_of_the_secret():
    local = Local()
    clip, _, _ = make({}, local)
    clip.copy(SECRET)
    state = {k: v for k, v in vars(clip).items() if not callable(v) and k != "_env"}
    assert all(SECRET not in repr(v) for v in state.values()), state


def test_tmux_is_asked_only_inside_tmux():
    tmux = FakeTmux(set_clipboard="on")
    make({"SSH_CONNECTION": "x"}, Local(), tmux)[0].copy(SECRET)
    assert tmux.commands == []
    # The real helper, outside tmux, asks nothing.
    assert Clipboard(lambda _t: None, env={}).tmux_state() is None


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


async def test_when_tmux_drops_osc52_the_reveal_says_copy_by_hand_and_sends_nothing(tui, admin, make_user):
    make_user("bob")
    env = {"SSH_CONNECTION": "x", "TMUX": "t"}
    app, fake = tui.app(admin, env=env, tmux=Tmux(env, run=FakeTmux(set_clipboard="off", allow_passthrough="off")))
    async with app.run_test(size=tui.size) as pilot:
        reveal = await _reveal_a_reset(tui, pilot)
        await tui.wait_for(pilot, lambda: "No clipboard" in tui.text(app, "#reveal-clipboard"))
        message = tui.text(app, "#reveal-clipboard")
        assert "No clipboard: copy it by hand now" in message and TMUX_FIX in message
        assert "cleared in" not in message  # nothing to clear on a timer
        assert app.clipboard_deadline is None
        assert fake.everything == [] and reveal.secret.reveal()  # it was sent before, and tmux dropped it
        await pilot.press("escape")


async def test_the_reset_dialog_says_before_the_reveal_that_tmux_drops_it_and_offers_the_fix(tui, admin, make_user):
    make_user("bob")
    env = {"SSH_CONNECTION": "x", "TMUX": "/tmp/tmux-0/default,1,0"}
    tmux = FakeTmux(set_clipboard="off", allow_passthrough="off")
    app, fake = tui.app(admin, env=env, tmux=Tmux(env, run=tmux))
    async with app.run_test(size=tui.size) as pilot:
        from console.services.permissions import Action
        from console.tui.screens.reveal import RevealScreen

        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.RESET_PASSWORD)
        await tui.wait_for(pilot, lambda: "set-clipboard is off" in tui.text(dialog, "#action-clipboard"),
                           what="the notice")
        notice = tui.text(dialog, "#action-clipboard")
        assert "cannot reach your terminal's clipboard" in notice and TMUX_FIX in notice
        assert "tmux clipboard on" in tui.screen_text(app)  # the key, in the footer
        assert fake.everything == []  # nothing made yet
        await pilot.press("ctrl+t")
        await tui.wait_for(pilot, lambda: "now passes" in tui.text(dialog, "#action-clipboard"), what="the fix")
        assert ["set-option", "-g", "set-clipboard", "on"] in tmux.commands
        assert "tmux clipboard on" not in tui.screen_text(app)
        await tui.fill(pilot, "#f-reason", "forgot it")
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        await tui.wait_for(pilot, lambda: fake.osc52 == [reveal.secret.reveal()], what="the copy")
        assert "(OSC 52, through tmux)" in tui.text(app, "#reveal-clipboard")
        await pilot.press("escape")


async def test_a_tmux_that_passes_osc52_on_gets_no_notice(tui, admin, make_user):
    from console.services.permissions import Action

    make_user("bob")
    env = {"TMUX": "t"}
    app, _ = tui.app(admin, env=env, tmux=Tmux(env, run=FakeTmux(set_clipboard="on")))
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.RESET_PASSWORD)
        await tui.wait_for(pilot, lambda: dialog.tmux is not None, what="tmux's answer")
        assert tui.text(dialog, "#action-clipboard") == ""
        assert "tmux clipboard on" not in tui.screen_text(app)


async def test_with_passthrough_the_reveal_wraps_osc52_for_tmux(tui, admin, make_user):
    make_user("bob")
    env = {"SSH_CONNECTION": "x", "TMUX": "t"}
    app, fake = tui.app(admin, env=env, tmux=Tmux(env, run=FakeTmux(set_clipboard="external",
                                                                      allow_passthrough="on")))
    async with app.run_test(size=tui.size) as pilot:
        reveal = await _reveal_a_reset(tui, pilot)
        shown = reveal.secret.reveal()
        await tui.wait_for(pilot, lambda: fake.written, what="the copy")
        assert fake.written == [tmux_passthrough(osc52(shown))] and fake.osc52 == []
        assert "through tmux's passthrough" in tui.text(app, "#reveal-clipboard")
        assert app._clipboard == ""  # Textual's own copy is not kept either
        await pilot.press("escape")


async def test_copy_again_says_where_it_went(tui, admin, make_user):
    make_user("bob")
    app, fake = tui.app(admin, env={"SSH_CONNECTION": "x"})
    async with app.run_test(size=tui.size) as pilot:
        reveal = await _reveal_a_reset(tui, pilot)
        assert tui.text(app, "#reveal-clipboard").startswith("Sent to your terminal's clipboard (OSC 52)")
        await pilot.press("c")
        await tui.settle(pilot)
        shown = reveal.secret.reveal()
        assert fake.osc52 == [shown, shown]
        said = "Copied again: sent to your terminal's clipboard (OSC 52)"
        assert tui.text(app, "#reveal-clipboard").startswith(said)
        assert any(str(n.message) == said for n in app._notifications)
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


async def test_a_reset_link_is_shown_in_a_copy_block_that_never_breaks_inside_the_token(tui, admin, make_user):
    """It wrapped at the box's edge, wherever that fell: in the middle of the token."""
    from urllib.parse import parse_qs, urlparse

    from console.services.permissions import Action
    from console.tui.screens.reveal import RevealScreen

    make_user("bob")
    for size in (tui.size, (60, 20)):
        app, _ = tui.app(admin)
        async with app.run_test(size=size) as pilot:
            await tui.open_user(pilot, "bob")
            await tui.start(pilot, Action.ISSUE_TICKET)
            await tui.confirm(pilot)
            reveal = await tui.wait_screen(pilot, RevealScreen)
            await pilot.pause()
            url = reveal.secret.reveal()
            token = parse_qs(urlparse(url).query)["token"][0]
            assert len(url) > 80  # too long for one line of the terminal
            screen = tui.screen_text(app)
            assert "copy this as one line" in screen
            assert token in screen, screen  # whole, on one line
            shown = [line.strip(" │║") for line in screen.splitlines()]
            start = next(i for i, line in enumerate(shown) if line.startswith("https://"))
            assert "".join(shown[start:start + 2]) == url
            await pilot.press("escape")
