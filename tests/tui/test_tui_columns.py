"""The user list's columns follow the terminal's width, and its status line
says only what it knows (issue 13)."""

from __future__ import annotations

import re

from console.services import listing
from console.tui.screens.users import UsersScreen
from console.tui.widgets.userlist import UserList


async def _list_ready(tui, pilot) -> UserList:
    await tui.wait_screen(pilot, UsersScreen)
    lst = pilot.app.screen.query_one(UserList)
    await tui.wait_for(pilot, lambda: lst.total is not None and not lst.fetching, what="the first page")
    await tui.settle(pilot)
    return lst


def _rows(tui, app, start: str) -> list[str]:
    return [line for line in tui.lines(app) if line.startswith(start)]


async def test_usernames_and_emails_are_whole_at_80_columns_when_there_is_room(tui, admin, make_user):
    """Two usernames alike up to their 13th character were both cut to
    "ben.nakamura…" (and their emails to 14 characters) in 80 columns, though
    the names left room for them."""
    for n in ("78", "81"):
        make_user(f"ben.nakamura{n}", email=f"ben.nakamura{n}@example.com", display_name="Ben")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await _list_ready(tui, pilot)
        rows = _rows(tui, app, "ben.nakamura")
        assert len(rows) == 2
        for n, row in zip(("78", "81"), rows):
            assert row.startswith(f"ben.nakamura{n} ") and f"ben.nakamura{n}@example.com" in row, row
            assert "…" not in row, row


async def test_a_cut_value_ends_in_an_ellipsis_and_the_detail_line_shows_it_whole(tui, admin, make_user):
    email, name = "ben.nakamura78@example.com", "Benedict Featherstonehaugh"
    make_user("ben.nakamura78", email=email, display_name=name)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("down")
        await pilot.pause()
        assert lst.current.username == "ben.nakamura78"
        [row] = _rows(tui, app, "ben.nakamu")
        assert row.startswith("ben.nakamura78 ") and email not in row and name not in row, row
        assert "ben.nakamura78@" in row and "Benedict" in row and row.count("…") == 2, row
        detail = tui.text(app, "#users-current")
        assert detail.startswith(f"ben.nakamura78  <{email}>  {name}"), detail
        assert email in tui.screen_text(app)  # the detail line is on screen, below the table
        narrow = lst.widths
        # In 200 columns the columns widen and nothing is cut.
        await pilot.resize_terminal(200, 24)
        await pilot.pause()
        await pilot.pause()
        [row] = _rows(tui, app, "ben.nakamu")
        assert email in row and name in row and "…" not in row, row
        assert all(wide >= was for wide, was in zip(lst.widths, narrow)) and sum(lst.widths) > sum(narrow)
        header = tui.lines(app)[lst.region.y]
        assert header.index("EMAIL") == row.index(email)  # the header follows the columns


async def test_the_status_line_follows_a_resize_at_once(tui, admin, make_user):
    for i in range(40):
        make_user(f"user{i:02d}")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        assert tui.text(app, "#users-position") == f"rows 1–{lst.visible_rows} of 41"
        await pilot.resize_terminal(80, 34)
        await pilot.pause()
        await pilot.pause()
        assert lst.visible_rows > 20
        assert tui.text(app, "#users-position") == f"rows 1–{lst.visible_rows} of 41"


async def test_end_of_a_capped_count_claims_no_row_numbers(tui, ctx, make_operator, monkeypatch):
    """A count capped at COUNT_CAP ("50+" here) says nothing of where the last
    rows are: End shows "last N rows", and paging up counts from the end."""
    from console.services.setup import seed_demo

    seed_demo(ctx, 200)
    admin = make_operator("admin", "zz-admin").actor
    monkeypatch.setattr(listing, "COUNT_CAP", 50)
    members = []
    cursor = None
    while True:
        page = listing.list_users(ctx, admin, filter=listing.UserFilter(role="member"), cursor=cursor, limit=500)
        members += [u.username for u in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(members) > 100
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("f")
        await tui.settle(pilot)
        from console.tui.screens.users import VIEWS

        for _ in range(list(VIEWS).index("member")):
            await pilot.press("down")
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: lst.total is not None and lst.total.label() == "50+" and not lst.fetching)
        await tui.settle(pilot)
        assert tui.text(app, "#users-position") == f"rows 1–{lst.visible_rows} of 50+"  # from the top: known
        await pilot.press("end")
        await tui.wait_for(pilot, lambda: lst.current is not None and lst.current.username == members[-1])
        await tui.settle(pilot)
        v = lst.visible_rows
        position = tui.text(app, "#users-position")
        assert position == f"last {v} rows of 50+", position
        await pilot.press("pageup")
        await tui.settle(pilot)
        position = tui.text(app, "#users-position")
        assert not re.search(r"\b(3[3-9]|4\d)\b", position), position  # not "rows 34–49 of 50+"
        assert position == f"rows 2–{v + 1} from the end of 50+", position  # the cursor on the top row
        assert lst.current.username == members[-1 - v]
        for _ in range(7):  # past the page read from the end: the pages before it are read
            await pilot.press("pageup")
            await tui.settle(pilot, rounds=1)
        assert lst.current.username == members[-1 - 8 * v]
        position = tui.text(app, "#users-position")
        assert position == f"rows {7 * v + 2}–{8 * v + 1} from the end of 50+", position
        # Home: numbered from the top again.
        await pilot.press("home")
        await tui.wait_for(pilot, lambda: lst.current is not None and lst.current.username == members[0])
        await tui.settle(pilot)
        assert tui.text(app, "#users-position") == f"rows 1–{v} of 50+"


def test_the_room_goes_to_usernames_then_to_whole_emails_or_names():
    from console.tui.widgets.userlist import column_widths

    fixed = (8, 8, 10, 4)
    # Room for everything: each column as wide as its widest value, no wider.
    assert column_widths((14, 4, 26, 6, 6, 10, 3), 80) == (14, 4, 26, *fixed)
    assert column_widths((14, 4, 26, 6, 6, 10, 3), 200) == (14, 4, 26, *fixed)
    # Not for the emails: the names whole, the emails get the rest.
    assert column_widths((14, 12, 40, 6, 6, 10, 3), 80) == (14, 12, 18, *fixed)
    # For neither: shared.
    assert column_widths((19, 16, 35, 6, 6, 10, 3), 80) == (19, 11, 14, *fixed)
    # A username far longer than the rest takes up to 32 cells first, beyond that it comes last.
    assert column_widths((60, 10, 20, 6, 6, 10, 3), 80) == (26, 8, 10, *fixed)
    assert column_widths((60, 10, 20, 6, 6, 10, 3), 120) == (54, 10, 20, *fixed)
    assert column_widths((60, 10, 20, 6, 6, 10, 3), 200) == (60, 10, 20, *fixed)
