"""The audit log: filter by user, operator, action and date; chain verification."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from console.services import audit
from console.services.views import AuditView, Page
from console.tui.text import cell, plain, safe, when

PAGE = 100
MAX_ROWS = 1000

#: Fixed widths that fit 80 columns (with the scrollbar); a longer value ends
#: in "…", and the highlighted event is shown whole, with its reason, below.
COLUMNS = (("#", 7), ("at (UTC)", 16), ("by", 10), ("action", 21), ("target", 10), ("", 1))


def clip(value: object, width: int) -> str:
    text = safe(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def outcome_mark(e: AuditView) -> Text:
    """✓ or ✗: legible without colour (NO_COLOR) too."""
    return cell("✓", "green") if e.outcome == "ok" else cell("✗", "bold red")


def describe(e: AuditView) -> Content:
    """The whole event, as text: for the line under the table."""
    outcome = e.outcome + (f" ({e.error_code})" if e.error_code else "")
    head = f"#{e.seq} · {when(e.at, seconds=True)} UTC · {e.operator}" + (f" → {e.target}" if e.target else "")
    parts = [plain(head, "bold"), plain(f" · {e.action} · "),
             plain(outcome, "$success" if e.outcome == "ok" else "bold $error")]
    extra = []
    if e.reason:
        extra.append(f"reason: {e.reason}")
    if e.identity_check:
        extra.append(f"identity check: {e.identity_check}")
    if e.details:
        extra.append("details: " + ", ".join(f"{k}={v}" for k, v in e.details.items()))
    if extra:
        parts += ["\n", plain(" · ".join(extra), "$text-muted")]
    return Content.assemble(*parts)


class AuditScreen(Screen):
    CSS_PATH = "audit.tcss"
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
            yield Input(placeholder="since YYYY-MM-DD", id="a-since", compact=True, max_length=10,
                        restrict=r"[0-9-]*")
        yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
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

        since = v("a-since")
        since_dt = None
        if since:
            try:
                since_dt = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            except ValueError:
                self.query_one("#audit-status", Static).update(plain("since: use YYYY-MM-DD", "$error"))
                return None
        return {"user": v("a-user"), "operator": v("a-operator"), "action": v("a-action"), "since": since_dt}

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
            table.add_row(*(cell(clip(v, w)) for v, (_, w) in zip((e.seq, when(e.at), e.operator, e.action, e.target),
                                                                   COLUMNS)),
                          outcome_mark(e), key=str(e.seq))
        if self.shown == 0 and page.items:
            self.query_one("#audit-event", Static).update(describe(page.items[0]))
        self.shown += len(page.items)
        self.next_cursor = page.next_cursor
        more = " · m: more" if page.next_cursor and self.shown < MAX_ROWS else ""
        self.query_one("#audit-status", Static).update(f"{self.shown:,} event(s) shown, newest first{more}")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        e = self.events.get(event.row_key.value) if event.row_key else None
        if e is not None:
            self.query_one("#audit-event", Static).update(describe(e))

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.reload()
        self.query_one(DataTable).focus()

    def action_more(self) -> None:
        if self.next_cursor and self.shown < MAX_ROWS:
            self._load(self.next_cursor)

    def action_verify(self) -> None:
        app = self.app
        app.service(audit.verify_chain, app.ctx, app.actor, done=self._chain, group="audit-verify", exclusive=True)

    def _chain(self, report) -> None:
        if not self.is_attached:
            return
        if report.ok:
            text = Content.assemble(("chain verified ✓", "bold $success"), f"  {report.events:,} events intact")
        else:
            text = Content.assemble((f"chain BROKEN at event #{report.broken_at} ✗", "bold $error"), "  ",
                                    plain(report.problem))
        self.query_one("#audit-chain", Static).update(text)

    def action_focus_filters(self) -> None:
        self.query_one("#a-user", Input).focus()

    def action_back(self) -> None:
        self.dismiss()
