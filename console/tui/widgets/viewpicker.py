"""Which view of the user list is shown: a one-line control that opens a menu.

Lighter than Textual's ``Select`` (which builds its drop-down list up front):
the list is built only when the menu is opened, so the user list paints
sooner."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from console.tui.keys import HELP_KEYS
from console.tui.widgets.footer import Footer


class ViewMenu(ModalScreen[str | None]):
    """The choices, the current one highlighted: Enter picks, Escape keeps."""

    CSS_PATH = "viewpicker.tcss"
    HELP_TITLE = "The views menu"
    BINDINGS = [Binding("escape", "dismiss(None)", "Keep view"), *HELP_KEYS]

    def __init__(self, choices: dict[str, str], current: str) -> None:
        super().__init__()
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        menu = OptionList(*(Option(Content(label), id=key) for key, label in self.choices.items()), id="view-menu")
        menu.highlighted = list(self.choices).index(self.current)
        yield menu
        yield Footer()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_id)

    def on_click(self, event: Click) -> None:
        if event.widget is self:  # outside the menu
            self.dismiss(None)


class ViewPicker(Widget, can_focus=True):
    """Shows the chosen view; Enter, Space, ↓ or a click opens the menu."""

    HELP_TITLE = "On the view button"
    BINDINGS = [Binding("enter,space,down", "open", "Choose view", show=False)]

    value: reactive[str] = reactive("", layout=False)

    class Changed(Message):
        def __init__(self, picker: "ViewPicker", value: str) -> None:
            super().__init__()
            self.picker = picker
            self.value = value

        @property
        def control(self) -> "ViewPicker":
            return self.picker

    class Picked(Message):
        """The operator chose a view from the menu (the same one or another)."""

        def __init__(self, picker: "ViewPicker") -> None:
            super().__init__()
            self.picker = picker

        @property
        def control(self) -> "ViewPicker":
            return self.picker

    def __init__(self, choices: dict[str, str], value: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.choices = choices
        self.set_reactive(ViewPicker.value, value)

    def render(self) -> Content:
        return Content(f"{self.choices.get(self.value, self.value)} ▾")

    def validate_value(self, value: str) -> str:
        if value not in self.choices:
            raise ValueError(f"no view named {value!r}")
        return value

    def watch_value(self, old: str, new: str) -> None:
        if old != new:
            self.post_message(self.Changed(self, new))

    def action_open(self) -> None:
        def chosen(key: str | None) -> None:
            self.focus()
            if key is not None:
                self.value = key
                self.post_message(self.Picked(self))  # the screen moves on (to its rows)

        self.app.push_screen(ViewMenu(self.choices, self.value), chosen)

    def on_click(self, event: Click) -> None:
        event.stop()
        self.action_open()
