"""Keys more than one screen declares."""

from __future__ import annotations

from textual.binding import Binding

#: The help keys of a dialog: a modal screen cuts the app's keys off (but for
#: F1, a priority key of the app), so a dialog declares them itself.
HELP_KEYS = [
    Binding("question_mark", "app.help", "Help", tooltip="Help: the keys of this screen"),
    Binding("f1", "app.help", "Help", tooltip="Help: the keys of this screen"),
]
