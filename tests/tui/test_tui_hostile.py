"""Text stored in the database is shown as text: never markup, never a terminal
escape sequence, never an action link."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from console.services import listing, users
from console.services.permissions import Action
from console.tui.screens.detail import UserDetailScreen
from console.tui.screens.users import UsersScreen
from console.tui.widgets.userlist import UserList

BOLD = "[bold]x[/bold]"
ESC = "\x1b[31mred"
CLICK = "[@click=app.quit]"
HOSTILE = f"{BOLD} {ESC} {CLICK}"


def _set(ctx, username: str, **columns) -> None:
    """Behind the services' back (they refuse control characters)."""
    sets = ", ".join(f"{k} = :{k}" for k in columns)
    with ctx.engine.begin() as conn:
        conn.execute(text(f"UPDATE users SET {sets} WHERE username = :u"), {**columns, "u": username})


def _assert_inert(tui, app) -> None:
    assert app.is_running
    assert "\x1b" not in tui.raw_segments(app)
    svg = app.export_screenshot()
    assert "\x1b" not in svg


async def test_the_list_shows_markup_and_escapes_as_text(tui, ctx, admin, make_user):
    make_user("h1")
    make_user("h2")
    make_user("h3")
    _set(ctx, "h1", display_name=BOLD)
    _set(ctx, "h2", display_name=ESC)
    _set(ctx, "h3", display_name=CLICK)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        lst = app.screen.query_one(UserList)
        await tui.wait_for(pilot, lambda: len(lst.rows) == 4)
        lines = tui.lines(app)
        row = {name: next(line for line in lines if line.startswith(name + " ")) for name in ("h1", "h2", "h3")}
        assert "[bold]x[/bol" in row["h1"]  # literally, cut to the column
        assert "\\x1b[31mred" in row["h2"]  # the control character made visible
        assert "[@click=app." in row["h3"]
        _assert_inert(tui, app)
        assert "[bold]" in app.export_screenshot()
        # Clicking on the would-be link selects the row; nothing else happens.
        y = lines.index(row["h3"])
        await pilot.click(UserList, offset=(row["h3"].index("[@click") + 2, y - lst.region.y))
        await tui.settle(pilot)
        assert app.is_running and lst.current.username == "h3"


async def test_the_detail_screen_shows_them_as_text(tui, ctx, admin, make_user):
    make_user("h1")
    users.block_user(ctx, admin, "h1", reason="[red]left[/red]")
    _set(ctx, "h1", display_name=HOSTILE, blocked_reason=f"{CLICK} {ESC}")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "h1")
        account = tui.text(app, "#detail-account")
        assert "[bold]x[/bold] \\x1b[31mred [@click=app.quit]" in account
        assert "[@click=app.quit] \\x1b[31mred" in account  # the block reason
        title_line = next(line for line in tui.lines(app) if "[bold]x" in line)
        assert "[bold]x[/bold]" in title_line
        screen_text = tui.screen_text(app)
        assert "[bold]x[/bold]" in screen_text and "\\x1b" in screen_text
        _assert_inert(tui, app)
        # Click on the would-be link in the title: the app does not quit.
        x = title_line.find("[@click")
        assert x >= 0, title_line
        await pilot.click(offset=(x + 2, tui.lines(app).index(title_line)))
        await tui.settle(pilot)
        assert app.is_running and isinstance(app.screen, UserDetailScreen)
        # The activity table shows the reasons as text too.
        await pilot.press("4")
        await pilot.pause()
        assert "[red]left" in tui.screen_text(app)  # the markup as text, cut to the column
        await pilot.press("enter")  # the whole event: the reason in full, as text (4 gave the rows the keys)
        await tui.wait_for(pilot, lambda: "reason: [red]left[/red]" in tui.screen_text(app), what="the event")
        await pilot.press("escape")
        _assert_inert(tui, app)
        assert screen.detail.user.display_name == HOSTILE


async def test_the_palette_lists_a_hostile_user_as_text(tui, ctx, admin, make_user):
    make_user("h1", display_name="x")
    _set(ctx, "h1", display_name=HOSTILE)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press("h", "1")
        await tui.wait_for(pilot, lambda: "Open user h1" in tui.screen_text(app), timeout=5)
        shown = tui.screen_text(app)
        assert "[bold]x[/bold]" in shown
        _assert_inert(tui, app)
        await pilot.press("enter")
        screen = await tui.wait_screen(pilot, UserDetailScreen)
        await tui.wait_for(pilot, lambda: screen.detail is not None)
        assert screen.username == "h1" and app.is_running


async def test_the_palette_offers_the_danger_actions_of_the_user_on_screen(tui, admin, make_user):
    from console.tui.screens.action import ActionDialog

    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"force")
        await tui.wait_for(pilot, lambda: "Force change: bob" in tui.screen_text(app), timeout=5)
        await pilot.press("enter")
        dialog = await tui.wait_screen(pilot, ActionDialog)
        assert dialog.action_ is Action.FORCE_CHANGE and dialog.user.username == "bob"


async def test_wide_characters_keep_the_columns_aligned(tui, ctx, admin, make_user):
    make_user("wide", display_name="山田太郎山田太郎山田太郎")  # 12 characters, 24 cells
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        lst = app.screen.query_one(UserList)
        await tui.wait_for(pilot, lambda: len(lst.rows) == 2)
        header = lst.render_line(0)
        row = next(lst.render_line(i) for i in range(1, 3) if lst.render_line(i).text.startswith("wide"))
        assert row.cell_length == header.cell_length == lst.size.width
        # The ROLE column starts at the same cell in the row as in the header.
        role_at = sum(w + 1 for w in lst.widths[:3])
        assert header.crop(role_at, role_at + 4).text == "ROLE"
        assert row.crop(role_at, role_at + 6).text == "member", row.text


async def test_a_crash_prints_no_local_variables(tui, admin, capfd):
    """Textual's default crash report shows locals; a password typed or shown
    would be among them."""
    app, _ = tui.app(admin)

    def boom() -> None:
        password = "Hunter2-local-secret-value"  # noqa: F841 - what a traceback with locals would show
        raise ValueError("boom")

    with pytest.raises(ValueError):
        async with app.run_test(size=tui.size) as pilot:
            app.call_later(boom)
            await pilot.pause()
            await pilot.pause()
    out, err = capfd.readouterr()
    printed = out + err
    assert "userdesk stopped on an unexpected ValueError" in printed
    assert "Hunter2" not in printed


async def test_the_whole_corpus_is_drawn_inertly(tui, ctx, admin, make_user):
    """Every corpus value as a display name and block reason: the list and each
    account's screen draw no control or format character, the console keeps
    running and the screen is not moved or cleared."""
    from hostile import CORPUS, invisible

    names = []
    for i, value in enumerate(CORPUS.values()):
        if "\x00" in value and ctx.engine.dialect.name == "postgresql":
            value = value.replace("\x00", "")  # PostgreSQL text cannot hold NUL at all
        make_user(f"h{i:02d}")
        _set(ctx, f"h{i:02d}", display_name=value[:128], blocked=True, blocked_reason=value[:500])
        names.append(f"h{i:02d}")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        lst = app.screen.query_one(UserList)
        await tui.wait_for(pilot, lambda: len(lst.rows) == len(names) + 1)
        for _ in range(3):
            assert not invisible(tui.raw_segments(app)), sorted(invisible(tui.raw_segments(app)))
            assert tui.lines(app)[0].strip().startswith("⭘") or "userdesk" in tui.lines(app)[0]
            await pilot.press("pagedown")
            await pilot.pause()
        for name in names:
            await tui.open_user(pilot, name)
            assert not invisible(tui.raw_segments(app)), (name, sorted(invisible(tui.raw_segments(app))))
            assert "userdesk" in tui.lines(app)[0]  # the header is still where it was: nothing moved the cursor
            await pilot.press("escape")
            await tui.wait_screen(pilot, UsersScreen)
        assert app.is_running


async def test_the_corpus_in_every_other_field_is_drawn_inertly(tui, ctx, admin, make_user):
    """Every corpus value as an account's email, a session's client, and an
    audit event's reason and identity check, all written by "the application"
    behind the services' back: the audit log (with its broken-chain report),
    each account's screen, its danger zone and an action dialog draw no control
    or format character, and hold none in any widget, drawn or cut off."""
    from hostile import CORPUS, invisible

    from console.services import passwords, sessions
    from console.tui.screens.audit import AuditScreen

    def clean(value: str) -> str:
        if "\x00" in value and ctx.engine.dialect.name == "postgresql":
            return value.replace("\x00", "")  # PostgreSQL text cannot hold NUL at all
        return value

    names = []
    for i, value in enumerate(map(clean, CORPUS.values())):
        name = f"h{i:02d}"
        make_user(name)
        sessions.open_session(ctx, name, client="laptop")
        passwords.force_change(ctx, admin, name, reason="audited")
        _set(ctx, name, email=value[:254])
        with ctx.engine.begin() as conn:
            conn.execute(text("UPDATE user_sessions SET client = :c WHERE user_id = "
                              "(SELECT id FROM users WHERE username = :u)"), {"c": value[:200], "u": name})
            conn.execute(text("UPDATE audit_events SET reason = :r, identity_check = :i WHERE target = :u"),
                         {"r": value[:500], "i": value[:200], "u": name})
        names.append(name)

    def assert_inert(where: str, *, header: bool = True) -> None:
        drawn = invisible(tui.raw_segments(app))
        texts = tui.widget_texts(app)
        held = set().union(*(invisible(t.replace("\n", "")) for t in texts))  # a Static's own line breaks
        assert not drawn and not held, (where, sorted(drawn), sorted(held))
        assert not any(CORPUS["c0-newline"] in t for t in texts), where  # the stored one is written out
        if header:  # the header is where it was: nothing moved the cursor
            assert "userdesk" in tui.lines(app)[0], where

    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        await pilot.press("a")
        audit_screen = await tui.wait_screen(pilot, AuditScreen)
        await tui.wait_for(pilot, lambda: "BROKEN" in tui.text(app, "#audit-chain"), what="the chain report")
        table = audit_screen.query_one("#audit-table")
        assert table.row_count >= len(names)
        for _ in range(len(names) // 10 + 2):
            assert_inert("audit log")
            await pilot.press("pagedown")
            await pilot.pause()
        await pilot.press("escape")
        for name in names:
            await tui.open_user(pilot, name)
            assert_inert(f"{name}: account")
            if name == names[list(CORPUS).index("ansi-colour")]:  # shown, written out: email and client
                assert tui.screen_text(app).count("\\x1b[31mred") >= 2, tui.screen_text(app)
            await pilot.press("4")  # activity: the audit reasons and identity checks
            await pilot.pause()
            assert_inert(f"{name}: activity")
            if name in names[::4]:  # a dialog shows the same fields of every account: a sample is enough
                dialog = await tui.start(pilot, Action.REVOKE_SESSIONS)
                assert_inert(f"{name}: dialog", header=False)
                assert dialog.user.username in tui.screen_text(app)
                await pilot.press("escape")
                await tui.wait_screen(pilot, UserDetailScreen)
            await pilot.press("escape")
            await tui.wait_screen(pilot, UsersScreen)
        assert app.is_running


async def test_an_error_message_is_shown_with_its_controls_written_out(tui, admin):
    """A service's message may quote stored text: the notification shows it inertly."""
    from console.services.errors import ServiceError

    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        app._failed(ServiceError("no user named \u202eevil\x1b[2J [bold]x[/]"), None)
        await pilot.pause()
        (note,) = list(app._notifications)
        assert note.message == "no user named \\u202eevil\\x1b[2J [bold]x[/] [SERVICE_ERROR]"


async def test_a_list_error_is_shown_with_its_controls_written_out(tui, admin, monkeypatch):
    from console.services.errors import ServiceError

    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)

        def refuse(*_args, **_kwargs):
            raise ServiceError("cannot list \u202eevil\x1b[2J")

        monkeypatch.setattr(listing, "list_users", refuse)
        await pilot.press("r")  # refresh: the list reads its first page again, and fails
        await tui.wait_for(pilot, lambda: list(app._notifications), what="the notification")
        assert [n.message for n in app._notifications] == ["cannot list \\u202eevil\\x1b[2J [SERVICE_ERROR]"]
        assert app.is_running


async def test_nothing_in_the_palette_or_the_actions_saves_the_screen(tui, admin, make_user, tmp_path, monkeypatch):
    """The reveal dialog holds a one-time password in clear: no built-in command
    may write the screen to a file (Textual's Screenshot wrote a 0644 SVG)."""
    from console.tui.screens.reveal import RevealScreen

    home = tmp_path / "home"
    home.mkdir()
    for var in ("HOME", "XDG_DOWNLOAD_DIR"):
        monkeypatch.setenv(var, str(home))
    monkeypatch.chdir(home)
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        await tui.start(pilot, Action.RESET_PASSWORD)
        await tui.fill(pilot, "#f-reason", "asked")
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, RevealScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Quit" in titles  # the palette's commands, read where the secret is shown
        saving = ("screenshot", "save", "export", "copy", "deliver")
        assert [t for t in titles if any(word in t.lower() for word in saving)] == []
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"screenshot")
        await pilot.pause(0.5)
        assert "Screenshot" not in tui.screen_text(app)
        await pilot.press("escape")
        await app.run_action("app.screenshot")  # a binding or a link could still name the action
        app.deliver_screenshot()
        await pilot.pause(0.5)
    assert [p.name for p in home.rglob("*") if p.is_file()] == []
