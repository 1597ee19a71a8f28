"""A user list that stays fast at a million rows.

It draws only the lines on screen (Textual's line API) and holds at most
``MAX_ROWS`` users: keyset pages are fetched from the service as the cursor
nears either end of what is loaded, and pages at the far end are dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.markup import escape
from rich.segment import Segment
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from console.services import listing
from console.services.views import Count, Page, UserView
from console.tui.text import age, day, safe

PAGE = 100
MAX_ROWS = 4 * PAGE


@dataclass(frozen=True)
class Column:
    title: str
    #: A fixed column's width; a flexible column's least (when its values need that much).
    width: int
    flexible: bool = False


#: The columns: ROLE, STATUS, LAST IN and AGE fit their widest value; USERNAME,
#: NAME and EMAIL share the rest of the width (column_widths()).
COLUMNS = (Column("USERNAME", 10, True), Column("NAME", 8, True), Column("EMAIL", 10, True),
           Column("ROLE", 8), Column("STATUS", 8), Column("LAST IN", 10), Column("AGE", 4))
USERNAME, NAME, EMAIL = 0, 1, 2
#: Room for usernames first, up to this: one far longer than the others does not take all.
USERNAME_FIRST = 32


def column_widths(needed: tuple[int, ...], width: int) -> tuple[int, ...]:
    """Each column's width in ``width`` cells (one between columns), given the
    cells its widest value needs. Usernames get room first (no two alike cut to
    one); then the emails whole if they fit, else the names whole if they fit;
    what is left is shared between the two. No wider than the values: a table
    stretched over a wide terminal is hard to read across."""
    out = [min(c.width, n) if c.flexible else c.width for c, n in zip(COLUMNS, needed)]
    room = width - sum(out) - (len(COLUMNS) - 1)

    def grow(i: int, to: int) -> None:
        nonlocal room
        give = max(0, min(room, to - out[i]))
        out[i] += give
        room -= give

    grow(USERNAME, min(USERNAME_FIRST, needed[USERNAME]))
    for i in (EMAIL, NAME):
        if needed[i] - out[i] <= room:
            grow(i, needed[i])
    while room > 0 and (out[EMAIL] < needed[EMAIL] or out[NAME] < needed[NAME]):
        for i in (EMAIL, NAME):
            if room > 0 and out[i] < needed[i]:
                out[i] += 1
                room -= 1
    grow(USERNAME, needed[USERNAME])
    return tuple(out)


@dataclass(frozen=True)
class Query:
    search: str = ""
    filter: listing.UserFilter = field(default_factory=listing.UserFilter)
    order: str = "username"


def _fit(text: str, width: int) -> str:
    """Pad or cut to exactly ``width`` terminal cells (wide characters count twice)."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


class UserList(Widget, can_focus=True):
    """Keyboard: ↑/↓, PgUp/PgDn, Home/End, Enter to open."""

    HELP_TITLE = "In the list of users"

    COMPONENT_CLASSES = {
        "userlist--header",
        "userlist--cursor",
        "userlist--blocked",
        "userlist--locked",
        "userlist--expired",
        "userlist--attention",
        "userlist--muted",
    }

    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False, tooltip="Previous user"),
        Binding("down", "move(1)", "Down", show=False, tooltip="Next user"),
        Binding("pageup", "page(-1)", "Page up", show=False, tooltip="A page up"),
        Binding("pagedown", "page(1)", "Page down", show=False, tooltip="A page down"),
        Binding("home", "first", "First", show=False, tooltip="The first user"),
        Binding("end", "last", "Last", show=False, tooltip="The last user"),
        Binding("enter", "open", "Open", show=True, tooltip="Open the account"),
    ]

    class Opened(Message):
        def __init__(self, user: UserView) -> None:
            super().__init__()
            self.user = user

    class Changed(Message):
        """The visible window, the cursor or the total changed."""

    total: reactive[Count | None] = reactive(None, layout=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.query_ = Query()
        self.pages: list[Page[UserView]] = []
        #: How each loaded page was fetched, to fetch the same window again.
        self.page_args: list[dict] = []
        self.rows: list[UserView] = []
        self.base = 0  # absolute index of rows[0]
        self.cursor = 0  # absolute index
        self.top = 0  # absolute index of the first visible row
        #: The reads under way ("first", "next", "prev", "last"). (Not ``loading``:
        #: that is Widget's own, and a widget that is loading refuses the focus.)
        self.fetching: set[str] = set()
        #: Bumped by a new query: drops every answer to an older one.
        self.generation = 0
        #: Bumped by a jump (End): drops page answers from before the jump only.
        self.jump = 0
        #: The window came from the end and its place from the top is unknown (the
        #: count is not in, or capped): numbered from the end, rebased when an exact count arrives.
        self.from_end_unanchored = False
        #: The absolute index after the last row, once the window came from the end.
        self.end_index = 0
        self.now: datetime | None = None
        #: The cells the widest value of each column needs, among the rows held.
        self.needed: tuple[int, ...] = tuple(cell_len(c.title) for c in COLUMNS)

    # -- loading ---------------------------------------------------------------------------

    @staticmethod
    def list_args(query: Query) -> dict:
        """The arguments of ``listing.list_users`` for pages of ``query`` (for
        its first page, as they are)."""
        return dict(search=query.search or None, filter=query.filter, order=query.order, limit=PAGE)

    def reload(self, query: Query | None = None, *, first: Page[UserView] | None = None) -> None:
        """Start over (new search, filter or order): first page and the count.
        ``first``: that first page, already read (``list_users`` with
        ``list_args(query)``)."""
        if query is not None:
            self.query_ = query
        self.generation += 1
        self.pages, self.page_args, self.rows, self.base, self.cursor, self.top = [], [], [], 0, 0, 0
        self.fetching = set()
        self.total = None
        self.from_end_unanchored = False
        if first is not None:
            self._got((self.generation, self.jump), "first", self.list_args(self.query_), first)
        else:
            self._fetch("first")
        self.refresh()

    def _count(self) -> None:
        """Started once the first page is in: the rows are drawn first, the count follows."""
        app, q, gen = self.app, self.query_, self.generation
        app.service(listing.count_users, app.ctx, app.actor, search=q.search or None, filter=q.filter,
                    done=lambda n: self._got_count(gen, n), group="userlist-count", exclusive=True)

    def _fetch(self, where: str) -> None:
        if where in self.fetching:
            return
        self.fetching.add(where)
        app, token = self.app, (self.generation, self.jump)
        kw = self.list_args(self.query_)
        if where == "next":
            kw["cursor"] = self.pages[-1].next_cursor
        elif where == "prev":
            kw["before"] = self.pages[0].prev_cursor
        elif where == "last":
            kw["from_end"] = True
        app.service(listing.list_users, app.ctx, app.actor, **kw, done=lambda page: self._got(token, where, kw, page),
                    failed=lambda err: self._failed(token, where, err), group=f"userlist-{where}",
                    exclusive=where in ("first", "last"))

    def _failed(self, token: tuple[int, int], where: str, err) -> None:
        if token == (self.generation, self.jump):
            self.fetching.discard(where)
        self.app.notify(f"{safe(err.message)} [{err.code}]", severity="error", markup=False)

    def _got_count(self, gen: int, count: Count) -> None:
        if gen != self.generation:
            return
        self.total = count
        if self.pages and self.pages[-1].next_cursor is None and not self.pages[0].prev_cursor:
            self.total = Count(len(self.rows))  # everything is loaded: exact
        if self.from_end_unanchored and not count.at_least:
            # The end's place is known now: the last row is the total's.
            self._rebase(max(0, self.base + count.value - self.end_index))
            self.from_end_unanchored = False
        self.refresh()
        self.post_message(self.Changed())

    def _rebase(self, base: int) -> None:
        """The window's absolute position became known: shift every index."""
        delta = base - self.base
        self.base, self.cursor, self.top = base, self.cursor + delta, self.top + delta
        self.end_index += delta

    def _got(self, token: tuple[int, int], where: str, args: dict, page: Page[UserView]) -> None:
        if token != (self.generation, self.jump):
            return
        self.fetching.discard(where)
        self.now = self.app.ctx.now()
        if where == "first" and self.total is None:
            if page.next_cursor is None:  # the first page holds every match: its count is its length
                self.total = Count(len(page.items))
            else:
                self.call_after_refresh(self._count)
        if where in ("first", "last"):
            self.pages = [page] if page.items else []
            self.page_args = [args] if page.items else []
            self.rows = list(page.items)
            if where == "last":
                self.from_end_unanchored = self.total is None or self.total.at_least
                known = self.total is not None and not self.from_end_unanchored
                self.base = max(0, self.total.value - len(self.rows)) if known else 0
                self.end_index = self.base + len(self.rows)
                self.cursor = self.base + max(0, len(self.rows) - 1)
                self.top = self.base
            else:
                self.base = self.cursor = self.top = 0
        elif where == "next" and page.items:
            self.pages.append(page)
            self.page_args.append(args)
            self.rows.extend(page.items)
            while len(self.rows) > MAX_ROWS and len(self.pages) > 1:
                dropped = self.pages.pop(0)
                self.page_args.pop(0)
                self.rows = self.rows[len(dropped.items):]
                self.base += len(dropped.items)
        elif where == "prev" and page.items:
            self.pages.insert(0, page)
            self.page_args.insert(0, args)
            self.rows[:0] = page.items
            if self.from_end_unanchored:
                # Position still unknown: renumber so the new first row is not below 0.
                self._rebase(self.base + len(page.items))
            self.base -= len(page.items)
            while len(self.rows) > MAX_ROWS and len(self.pages) > 1:
                dropped = self.pages.pop()
                self.page_args.pop()
                del self.rows[-len(dropped.items):]
        self._measure()
        self._clamp()
        self._maybe_fetch()
        self.refresh()
        self.post_message(self.Changed())

    def _measure(self) -> None:
        """What each column's widest value among the rows held needs."""
        needed = [cell_len(c.title) for c in COLUMNS]
        now = self.now or self.app.ctx.now()
        for u in self.rows:
            for n, value in enumerate(self._values(u, now)):
                needed[n] = max(needed[n], cell_len(value))
        self.needed = tuple(needed)

    def _maybe_fetch(self) -> None:
        if not self.pages:
            return
        end = self.base + len(self.rows)
        if self.pages[-1].next_cursor and self.cursor >= end - PAGE // 5:
            self._fetch("next")
        above = self.base > 0 or self.from_end_unanchored  # (numbered from the end, the top may be 0)
        if self.pages[0].prev_cursor and above and self.cursor < self.base + PAGE // 5:
            self._fetch("prev")

    # -- cursor ----------------------------------------------------------------------------

    @property
    def visible_rows(self) -> int:
        return max(1, self.size.height - 1)

    def _clamp(self) -> None:
        if not self.rows:
            self.cursor = self.top = self.base
            return
        self.cursor = min(max(self.cursor, self.base), self.base + len(self.rows) - 1)
        if self.cursor < self.top:
            self.top = self.cursor
        if self.cursor >= self.top + self.visible_rows:
            self.top = self.cursor - self.visible_rows + 1
        self.top = max(self.top, self.base)

    @property
    def current(self) -> UserView | None:
        i = self.cursor - self.base
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def action_move(self, delta: int) -> None:
        self.cursor += delta
        self._clamp()
        self._maybe_fetch()
        self.refresh()
        self.post_message(self.Changed())

    def action_page(self, direction: int) -> None:
        self.action_move(direction * self.visible_rows)

    def action_first(self) -> None:
        if self.base == 0 and not self.from_end_unanchored:
            self.cursor = 0
            self._clamp()
            self.refresh()
            self.post_message(self.Changed())
        else:
            self.reload()

    def action_last(self) -> None:
        if self.pages and self.pages[-1].next_cursor is None:
            self.action_move(len(self.rows))
            return
        self.jump += 1
        self.fetching = set()
        self._fetch("last")

    def refresh_window(self) -> None:
        """Fetch the loaded pages again (after an action elsewhere): changed rows
        are redrawn, deleted ones drop out, and the cursor stays where it was."""
        if not self.page_args:
            self.reload()
            return
        app, token, first, n = self.app, (self.generation, self.jump), dict(self.page_args[0]), len(self.page_args)

        def fetch_all() -> tuple[list[dict], list[Page[UserView]]]:
            # From the window's first page on, each next page follows the fresh one
            # before it: a row deleted or added meanwhile neither repeats nor leaves a gap.
            args, pages = [first], [listing.list_users(app.ctx, app.actor, **first)]
            base = {k: v for k, v in first.items() if k not in ("cursor", "before", "from_end")}
            while len(pages) < n and pages[-1].next_cursor:
                args.append({**base, "cursor": pages[-1].next_cursor})
                pages.append(listing.list_users(app.ctx, app.actor, **args[-1]))
            return args, pages

        app.service(fetch_all, done=lambda result: self._got_window(token, *result), group="userlist-window",
                    exclusive=True)

    def _got_window(self, token: tuple[int, int], args: list[dict], pages: list[Page[UserView]]) -> None:
        if token != (self.generation, self.jump):
            return
        current = self.current
        pages_args = [(p, a) for p, a in zip(pages, args) if p.items]
        self.pages, self.page_args = [p for p, _ in pages_args], [a for _, a in pages_args]
        self.rows = [u for p in pages for u in p.items]
        if not self.rows:  # everything shown is gone (deleted): start over, and count, to say so
            self.reload()
            return
        self.now = self.app.ctx.now()
        if current is not None:
            ids = [u.id for u in self.rows]
            if current.id in ids:
                self.cursor = self.base + ids.index(current.id)
        self._measure()
        self._clamp()
        self.refresh()
        self.post_message(self.Changed())

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.Opened(self.current))

    def on_mouse_scroll_down(self) -> None:
        self.action_move(3)

    def on_mouse_scroll_up(self) -> None:
        self.action_move(-3)

    def on_click(self, event) -> None:
        row = event.y - 1
        if row >= 0:
            self.cursor = self.top + row
            self._clamp()
            self.refresh()
            self.post_message(self.Changed())

    def on_resize(self) -> None:
        self._clamp()
        self.post_message(self.Changed())  # the status line: as many rows as now fit

    # -- drawing ---------------------------------------------------------------------------

    def position(self) -> str:
        """e.g. "rows 51–70 of 1,234"; from the end while the window's place from
        the top is unknown: "last 17 rows of 10,000+", "rows 18–34 from the end of …"."""
        total = self.total
        # A search shorter than a trigram matches the start of a username, email or name only: say so.
        q = (self.query_.search or "").strip()
        prefix = f" · starting with “{escape(safe(q))}”" if q and len(q) < listing.PREFIX_SEARCH_BELOW else ""
        if not self.rows:
            if self.fetching:
                return "loading…"
            return f"no users match{prefix}" if total is not None and total.value == 0 else ""
        first = self.top + 1
        last = min(self.top + self.visible_rows, self.base + len(self.rows))
        of = total.label() if total is not None else "…"
        if self.from_end_unanchored:
            near, far = self.end_index - last + 1, self.end_index - first + 1
            if near == 1:
                return f"last {far:,} rows of {of}{prefix}"
            return f"rows {near:,}–{far:,} from the end of {of}{prefix}"
        return f"rows {first:,}–{last:,} of {of}{prefix}"

    @property
    def widths(self) -> tuple[int, ...]:
        return column_widths(self.needed, self.size.width)

    def cut(self, u: UserView) -> set[int]:
        """The columns whose value of ``u`` does not fit (drawn ending in "…")."""
        values = self._values(u, self.now or self.app.ctx.now())
        return {n for n, (w, value) in enumerate(zip(self.widths, values)) if cell_len(value) > w}

    @staticmethod
    def _status(u: UserView) -> tuple[str, str]:
        for flag, cls in (("locked", "userlist--locked"), ("blocked", "userlist--blocked"),
                          ("expired", "userlist--expired"), ("must-change", "userlist--attention")):
            if flag in u.status:
                return ("must-chg" if flag == "must-change" else flag), cls
        if u.external:
            return "external", "userlist--muted"
        return "active", ""

    @staticmethod
    def _values(u: UserView, now: datetime) -> list[str]:
        status, _ = UserList._status(u)
        return [safe(v) for v in (u.username, u.display_name, u.email, u.role, status, day(u.last_login_at),
                                  age(u.password_changed_at, now) if u.has_password else "-")]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base_style = self.rich_style
        cols = self.widths
        if y == 0:
            text = " ".join(_fit(c.title, w) for c, w in zip(COLUMNS, cols))
            style = base_style + self.get_component_rich_style("userlist--header")
            return Strip([Segment(_fit(text, width), style)]).adjust_cell_length(width, style)
        index = self.top + y - 1
        i = index - self.base
        if not 0 <= i < len(self.rows):
            if y == 1 and not self.rows:
                return Strip([Segment(_fit(self.position() or "", width), base_style)]).adjust_cell_length(width)
            return Strip.blank(width, base_style)
        u = self.rows[i]
        now = self.now or self.app.ctx.now()
        _, status_cls = self._status(u)
        values = self._values(u, now)
        row_style = base_style
        if index == self.cursor:
            row_style = base_style + self.get_component_rich_style(
                "userlist--cursor" if self.has_focus else "userlist--muted")
        segments: list[Segment] = []
        for n, (w, value) in enumerate(zip(cols, values)):
            style = row_style
            if n == 4 and status_cls and index != self.cursor:
                style = row_style + self.get_component_rich_style(status_cls)
            segments.append(Segment(_fit(value, w), style))
            segments.append(Segment(" ", row_style))
        return Strip(segments[:-1]).adjust_cell_length(width, row_style)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
