"""The audit screen: the log newest first, filters, and the hash chain's verdict."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from textual.widgets import DataTable

from console.services import users
from console.tui.screens.audit import AuditEventScreen, AuditScreen
from console.tui.screens.users import UsersScreen


def _rows(screen) -> list[list[str]]:
    table = screen.query_one("#audit-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def _open_audit(tui, pilot) -> AuditScreen:
    await tui.wait_screen(pilot, UsersScreen)
    await pilot.press("a")
    screen = await tui.wait_screen(pilot, AuditScreen)
    await tui.wait_for(pilot, lambda: "checking" not in tui.text(screen, "#audit-chain") and _rows(screen),
                       what="the audit log and its chain check")
    return screen


async def test_audit_lists_events_newest_first_and_the_chain_verifies(tui, ctx, admin, make_user, system_actor,
                                                                      audit_events):
    make_user("bob")
    users.block_user(ctx, admin, "bob", reason="left the company")
    events = audit_events()
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_audit(tui, pilot)
        rows = _rows(screen)
        assert len(rows) == len(events)
        assert [r[0] for r in rows] == [str(e.seq) for e in reversed(events)]
        newest = rows[0]
        assert newest[2:] == ["admin", "user.block", "bob", "✓"]
        # The highlighted event, whole, under the table: here the newest.
        shown = tui.text(screen, "#audit-event")
        assert f"#{events[-1].seq} · " in shown and "admin → bob · user.block · ok" in shown
        assert "reason: left the company" in shown
        await pilot.press("down")  # the next one down: the account's creation
        await pilot.pause()
        shown = tui.text(screen, "#audit-event")
        assert f"#{events[-2].seq} · " in shown and "user.create" in shown and "left the company" not in shown
        # Enter: the whole event, in a dialog; Esc goes back to the log.
        await pilot.press("up", "enter")
        dialog = await tui.wait_screen(pilot, AuditEventScreen)
        whole = tui.text(dialog, "#event-text")
        assert "admin → bob · user.block · ok" in whole and "reason: left the company" in whole
        await pilot.press("escape")
        await tui.wait_screen(pilot, AuditScreen)
        chain = tui.text(screen, "#audit-chain")
        assert "chain verified" in chain and f"{len(events)} events intact" in chain
        assert f"{len(events)} event(s) shown" in tui.text(screen, "#audit-status")
        assert "user.block" in tui.screen_text(app)
        await pilot.press("escape")
        await tui.wait_screen(pilot, UsersScreen)


async def test_a_filter_narrows_the_log(tui, ctx, admin, make_user):
    make_user("bob")
    make_user("carol")
    users.block_user(ctx, admin, "bob", reason="left")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_audit(tui, pilot)
        await pilot.press("slash")
        assert app.focused.id == "a-user"
        await tui.fill(pilot, "#a-user", "bob")
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: {r[4] for r in _rows(screen)} == {"bob"})
        assert [r[3] for r in _rows(screen)] == ["user.block", "user.create"]
        # A malformed date is refused with a hint, the table left as it was.
        await tui.fill(pilot, "#a-since", "2024-13-45")
        await pilot.press("enter")
        await tui.settle(pilot)
        assert "YYYY-MM-DD" in tui.text(screen, "#audit-status")
        assert len(_rows(screen)) == 2


async def test_a_tampered_event_shows_the_chain_broken(tui, ctx, admin, make_user):
    make_user("bob")
    users.block_user(ctx, admin, "bob", reason="left the company")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_audit(tui, pilot)
        assert "chain verified" in tui.text(screen, "#audit-chain")
        await pilot.press("escape")
        await tui.wait_screen(pilot, UsersScreen)
        with ctx.engine.begin() as conn:
            seq = conn.execute(text("SELECT seq FROM audit_events WHERE action = 'user.block'")).scalar_one()
            conn.execute(text("UPDATE audit_events SET reason = 'routine' WHERE seq = :seq"), {"seq": seq})
        screen = await _open_audit(tui, pilot)
        chain = tui.text(screen, "#audit-chain")
        assert "BROKEN" in chain and f"#{seq}" in chain and "edited" in chain
        assert "chain verified" not in chain
        assert "BROKEN" in tui.screen_text(app)
        # The edited row is still listed, as it now reads.
        assert _rows(screen)[0][0] == str(seq)
        assert "reason: routine" in tui.text(screen, "#audit-event")


async def test_a_removed_event_is_detected_on_verify(tui, ctx, admin, make_user):
    make_user("bob")
    make_user("carol")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_audit(tui, pilot)
        assert "chain verified" in tui.text(screen, "#audit-chain")
        with ctx.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
        await pilot.press("v")  # verify again, on the open screen
        await tui.wait_for(pilot, lambda: "BROKEN" in tui.text(screen, "#audit-chain"))
        assert "removed" in tui.text(screen, "#audit-chain")


async def test_a_long_reason_is_cut_under_the_table_and_whole_in_the_event_dialog(tui, ctx, admin, make_user):
    make_user("bob")
    reason = " ".join(f"word{i}" for i in range(70))  # 479 characters
    users.block_user(ctx, admin, "bob", reason=reason)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_audit(tui, pilot)
        pane = tui.text(screen, "#audit-event").splitlines()
        assert len(pane) == 3 and pane[1].startswith("reason: word0 word1") and pane[1].endswith("…")
        assert all(len(line) <= screen.query_one("#audit-event").content_region.width for line in pane)
        await pilot.press("enter")
        dialog = await tui.wait_screen(pilot, AuditEventScreen)
        assert " ".join(tui.text(dialog, "#event-text").split()).count("word69") == 1


async def test_filters_match_any_part_and_until_takes_in_its_day(tui, ctx, admin, make_user, clock):
    make_user("greta.svensson")
    make_user("bob")
    users.block_user(ctx, admin, "greta.svensson", reason="left")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_audit(tui, pilot)
        assert "any part" in tui.text(screen, "#audit-hint")  # says what they match
        await pilot.press("slash")
        await tui.fill(pilot, "#a-user", "GRETA")
        await tui.fill(pilot, "#a-action", "block")
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: [r[3:5] for r in _rows(screen)] == [["user.block", "greta.sve…"]],
                           what=lambda: _rows(screen))
        # until a day before today: nothing; until today: the day's events
        await tui.fill(pilot, "#a-action", "")
        yesterday = (clock.now - timedelta(days=1)).strftime("%Y-%m-%d")
        await tui.fill(pilot, "#a-until", yesterday)
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: _rows(screen) == [])
        await tui.fill(pilot, "#a-until", clock.now.strftime("%Y-%m-%d"))
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: {r[3] for r in _rows(screen)} == {"user.block", "user.create"})


async def test_more_says_when_there_is_nothing_more(tui, ctx, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_audit(tui, pilot)
        shown = len(_rows(screen))
        await pilot.press("m")
        await tui.settle(pilot)
        assert f"no more: all {shown} event(s) that match are shown" in tui.text(screen, "#audit-status")


async def test_a_filter_that_matches_nothing_says_so(tui, ctx, admin):
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_audit(tui, pilot)
        await pilot.press("slash")
        await tui.fill(pilot, "#a-user", "nobody-at-all")
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: _rows(screen) == [])
        await tui.settle(pilot)
        assert tui.text(screen, "#audit-status") == "no event matches the filters"
        await pilot.press("m")
        await tui.settle(pilot)
        assert tui.text(screen, "#audit-status") == "no event matches the filters"
