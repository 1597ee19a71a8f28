"""The search box above a list: type to search, then the keys of k9s and lazygit."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class SearchBox(Input):
    """Enter opens the first match (the screen waits for the search to be read),
    ↓ goes to the rows, Esc clears the search or, when it is empty, goes back
    to the rows."""

    HELP_TITLE = "In the search box"
    BINDINGS = [
        Binding("enter", "submit", "Open first", tooltip="Open the first match (once the search is read)"),
        Binding("down", "leave", "Rows", tooltip="To the rows"),
        Binding("escape", "clear_or_leave", "Clear", tooltip="Clear the search; when empty, back to the rows"),
    ]

    class Leave(Message):
        """The operator leaves the box for the rows."""

        def __init__(self, box: "SearchBox") -> None:
            super().__init__()
            self.box = box

        @property
        def control(self) -> "SearchBox":
            return self.box

    def action_leave(self) -> None:
        self.post_message(self.Leave(self))

    def action_clear_or_leave(self) -> None:
        if self.value:
            self.value = ""
        else:
            self.action_leave()
