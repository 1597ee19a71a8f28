"""The audit log: filter by user, operator, action and date; chain verification."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Header, Input, Static

from console.services import audit
from console.services.views import AuditView, Page
from console.tui.keys import HELP_KEYS
from console.tui.text import cell, clip, plain, safe, when
from console.tui.widgets.footer import Footer

PAGE = 100
MAX_ROWS = 1000
NO_MATCH = "no event matches the filters"
#: What the filters match (services.audit.query with partial=True).
FILTER_HINT = "filters match any part, any case · dates in UTC; until includes its day"

#: Widths that fit 80 columns (with the scrollbar): "#" as wide as its numbers,
#: the others fixed, a longer value ending in "…". The highlighted event is
#: summed up under the table; Enter shows it whole.
COLUMNS = (("#", None), ("at (UTC)", 16), ("by", 10), ("action", 21), ("target", 10), ("", 1))


def outcome_mark(e: AuditView) -> Text:
    """✓ or ✗: legible without colour (NO_COLOR) too."""
    return cell("✓", "green") if e.outcome == "ok" else cell("✗", "bold red")


def _head(e: AuditView) -> tuple[str, str, str]:
    outcome = e.outcome + (f" ({e.error_code})" if e.error_code else "")
    who = f"#{e.seq} · {when(e.at, seconds=True)} UTC · {e.operator}" + (f" → {e.target}" if e.target else "")
    return who, e.action, outcome


def _facts(e: AuditView) -> list[tuple[str, str]]:
    facts = [("reason", e.reason or "-")]
    if e.identity_check:
        facts.append(("identity check", e.identity_check))
    if e.details:
        facts.append(("details", ", ".join(f"{k}={v}" for k, v in e.details.items())))
    return facts


def summary(e: AuditView, width: int) -> Content:
    """Three lines under the table, each cut to ``width`` cells: who did what,
    the reason, and the identity check and details."""
    who, action_name, outcome = _head(e)
    style = "$success" if e.outcome == "ok" else "bold $error"
    facts = [f"{k}: {safe(v)}" for k, v in _facts(e)]
    lines = [
        Content.assemble(plain(clip(f"{who} · {action_name} · ", max(1, width - len(outcome))), "bold"),
                         plain(outcome, style)),
        plain(clip(facts[0], width)),
        plain(clip(" · ".join(facts[1:]), width), "$text-muted"),
    ]
    return Content("\n").join(lines)


def whole(e: AuditView) -> Content:
    """Every field of the event, wrapped, for the event dialog."""
    who, action_name, outcome = _head(e)
    lines = [Content.assemble(plain(f"{who} · {action_name} · ", "bold"),
                              plain(outcome, "$success" if e.outcome == "ok" else "bold $error")), Content("")]
    lines += [Content.assemble((f"{k}: ", "bold"), plain(v)) for k, v in _facts(e)]
    return Content("\n").join(lines)


class EventTable(DataTable):
    """A table of audit events whose Enter (shown in the footer) opens the
    highlighted one whole."""

    HELP_TITLE = "In a table of events"
    BINDINGS = [Binding("enter", "select_cursor", "Whole event")]


class AuditEventScreen(ModalScreen):
    """One audit event, whole (a reason may be 500 characters)."""

    CSS_PATH = "audit.tcss"
    HELP_TITLE = "An audit event"
    BINDINGS = [Binding("escape", "dismiss", "Close"), *HELP_KEYS]

    def __init__(self, event: AuditView) -> None:
        super().__init__()
        self.event_ = event

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="event-box"):
            yield Static(whole(self.event_), id="event-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#event-box").focus()


class AuditScreen(Screen):
    CSS_PATH = "audit.tcss"
    HELP_TITLE = "The audit log"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("m", "more", "More"),
        Binding("v", "verify", "Verify chain"),
        Binding("slash", "focus_filters", "Filter"),
    ]

    def __init__(self, user: str | None = None) -> None:
        super().__init__()
        self.initial_user = user
        self.next_cursor: str | None = None
        self.events: dict[str, AuditView] = {}
        self.shown = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("chain: checking…", id="audit-chain")
        with Horizontal(id="audit-filters"):
            yield Input(self.initial_user or "", placeholder="user", id="a-user", compact=True, max_length=64)
            yield Input(placeholder="operator", id="a-operator", compact=True, max_length=64)
            yield Input(placeholder="action", id="a-action", compact=True, max_length=64)
            yield Input(placeholder="since Y-M-D", id="a-since", compact=True, max_length=10, restrict=r"[0-9-]*")
            yield Input(placeholder="until Y-M-D", id="a-until", compact=True, max_length=10, restrict=r"[0-9-]*")
        yield Static(FILTER_HINT, id="audit-hint")
        yield EventTable(id="audit-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-event")
        yield Static("", id="audit-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        self.reload()
        self.action_verify()
        table.focus()

    def _filters(self) -> dict | None:
        def v(id_: str) -> str | None:
            return self.query_one(f"#{id_}", Input).value.strip() or None

        days: dict[str, datetime | None] = {}
        for name in ("since", "until"):
            day = v(f"a-{name}")
            try:
                days[name] = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc) if day else None
            except ValueError:
                self.query_one("#audit-status", Static).update(plain(f"{name}: use YYYY-MM-DD", "$error"))
                return None
        if days["until"] is not None:
            days["until"] += timedelta(days=1)  # "until 2026-11-24" takes in that whole day
        return {"user": v("a-user"), "operator": v("a-operator"), "action": v("a-action"), **days, "partial": True}

    def reload(self) -> None:
        filters = self._filters()
        if filters is None:
            return
        self.filters = filters
        self.query_one(DataTable).clear()
        self.query_one("#audit-event", Static).update("")
        self.events = {}
        self.shown = 0
        self._load(None)

    def _load(self, cursor: str | None) -> None:
        app = self.app
        app.service(audit.query, app.ctx, app.actor, cursor=cursor, limit=PAGE, **self.filters, done=self._show,
                    group="audit", exclusive=True)

    def _show(self, page: Page[AuditView]) -> None:
        if not self.is_attached:
            return
        table = self.query_one(DataTable)
        for e in page.items:
            self.events[str(e.seq)] = e
            values = (e.seq, when(e.at), e.operator, e.action, e.target)
            table.add_row(*(cell(clip(v, w) if w else safe(v)) for v, (_, w) in zip(values, COLUMNS)),
                          outcome_mark(e), key=str(e.seq))
        if self.shown == 0 and page.items:
            self._summarise(page.items[0])
        self.shown += len(page.items)
        self.next_cursor = page.next_cursor
        more = " · m: more" if page.next_cursor and self.shown < MAX_ROWS else ""
        self.query_one("#audit-status", Static).update(
            f"{self.shown:,} event(s) shown, newest first{more}" if self.shown else NO_MATCH)

    def _summarise(self, e: AuditView) -> None:
        pane = self.query_one("#audit-event", Static)
        pane.update(summary(e, pane.content_region.width or self.app.size.width - 2))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        e = self.events.get(event.row_key.value) if event.row_key else None
        if e is not None:
            self._summarise(e)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        e = self.events.get(event.row_key.value) if event.row_key else None
        if e is not None:
            self.app.push_screen(AuditEventScreen(e))

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.reload()
        self.query_one(DataTable).focus()

    def action_more(self) -> None:
        if self.next_cursor and self.shown < MAX_ROWS:
            self._load(self.next_cursor)
            return
        status = self.query_one("#audit-status", Static)
        if self.next_cursor:
            status.update(f"{self.shown:,} event(s) shown, the most this screen holds: narrow the filters "
                          "(or use `userdesk audit` for the rest)")
        else:
            status.update(f"no more: all {self.shown:,} event(s) that match are shown" if self.shown else NO_MATCH)

    def action_verify(self) -> None:
        app = self.app
        app.service(audit.verify_chain, app.ctx, app.actor, done=self._chain, group="audit-verify", exclusive=True)

    def _chain(self, report) -> None:
        if not self.is_attached:
            return
        if report.ok:
            text = Content.assemble(("chain verified ✓", "bold $success"), f"  {report.events:,} events intact, signed")
        elif report.broken_at is None:  # intact as far as could be checked: the signatures could not be
            text = Content.assemble(("chain NOT VERIFIED ?", "bold $warning"), "  ", plain(report.problem))
        else:
            text = Content.assemble((f"chain BROKEN at event #{report.broken_at} ✗", "bold $error"), "  ",
                                    plain(report.problem))
        self.query_one("#audit-chain", Static).update(text)

    def action_focus_filters(self) -> None:
        self.query_one("#a-user", Input).focus()

    def action_back(self) -> None:
        self.dismiss()
