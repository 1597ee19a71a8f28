"""Help for the screen on display (``?`` or F1): its keys, generated from the
bindings in effect there (the screen's, its widgets', the app's; those hidden
from the footer too), and on an account's screen what each danger-zone action
does and which roles may take it (console.services.permissions)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalGroup, Vertical, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static, Tabs

from console.services.permissions import Action, who_may
from console.tui.text import plain
from console.tui.widgets.footer import Footer

#: Textual's own widgets whose keys are worth telling (the tab bar's ←/→), with
#: their titles; the editing and scrolling keys of inputs and tables are the usual ones.
TEXTUAL_WIDGETS: dict[type, str] = {Tabs: "On the tab bar"}


@dataclass(frozen=True)
class KeyHelp:
    keys: str
    what: str


@dataclass(frozen=True)
class Section:
    title: str
    keys: list[KeyHelp]


def _title(node: DOMNode) -> str:
    cls = type(node)
    for textual_cls, title in TEXTUAL_WIDGETS.items():
        if isinstance(node, textual_cls):
            return title
    return getattr(cls, "HELP_TITLE", None) or cls.__name__


def _ours(cls: type) -> bool:
    return cls.__module__.startswith("console.")


def _origin(cls: type, binding: Binding) -> type:
    """The class whose BINDINGS declare ``binding``."""
    for base in cls.__mro__:
        for declared in Binding.make_bindings(base.__dict__.get("BINDINGS", [])):
            if declared.key == binding.key and declared.action == binding.action:
                return base
    return cls


def _does_something(node: DOMNode, binding: Binding) -> bool:
    """False for a binding its node turns off (``check_action``) here."""
    namespace, name, params = parse_action(binding.action)
    if namespace:
        return True  # another node's action (app.quit): that node's to say
    return node.check_action(name, params) is not False


def key_help(node: DOMNode, *, ours: bool | None = None) -> list[KeyHelp]:
    """The keys ``node`` binds (hidden ones too, not the system ones), those
    of one action together ("? f1"). ``ours``: only the bindings userdesk
    declares (True) or only Textual's (False)."""
    app = node.app
    grouped: dict[tuple[str, str], list[str]] = {}
    for bindings in node._bindings.key_to_bindings.values():  # as dispatched (a keymap applied)
        for binding in bindings:
            if binding.system or not _does_something(node, binding):
                continue
            if ours is not None and _ours(_origin(type(node), binding)) is not ours:
                continue
            what = binding.tooltip or binding.description or binding.action
            display = app.get_key_display(replace(binding, key_display=None))
            keys = grouped.setdefault((binding.action, what), [])
            if display not in keys:
                keys.append(display)
    return [KeyHelp(" ".join(keys), what) for (_action, what), keys in grouped.items()]


def _widgets(screen: Screen) -> Iterator[Widget]:
    """One widget of each kind on ``screen`` that has keys of its own."""
    seen: set[type] = set()
    for widget in screen.walk_children(Widget):
        cls = type(widget)
        if cls in seen or not (_ours(cls) or isinstance(widget, tuple(TEXTUAL_WIDGETS))):
            continue
        seen.add(cls)
        yield widget


def sections(screen: Screen) -> list[Section]:
    """What the help screen lists for ``screen``, in order: its own keys, its
    widgets' keys, then the keys that work everywhere."""
    out = [Section("On this screen", key_help(screen, ours=True))]
    for widget in _widgets(screen):
        keys = key_help(widget, ours=None if not _ours(type(widget)) else True)
        if keys:
            out.append(Section(_title(widget), keys))
    told = {k.keys for section in out for k in section.keys}
    everywhere = key_help(screen.app) + key_help(screen, ours=False)
    out.append(Section("Everywhere", [k for k in everywhere if k.keys not in told]))
    return [s for s in out if s.keys]


def roles_text(action: Action) -> str:
    """e.g. "admin · helpdesk (member accounts only)"."""
    roles = [role if limit is None else f"{role} ({limit} only)" for role, limit in who_may(action).items()]
    return " · ".join(roles) or "nobody"


class HelpScreen(ModalScreen[None]):
    """Esc, ? or q closes it; ↑/↓, PgUp/PgDn scroll."""

    CSS_PATH = "help.tcss"
    HELP_TITLE = "Help"
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
        Binding("f1", "dismiss", "Close", show=False),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        screen = self.for_screen
        with Vertical(id="help-box"):
            yield Static(plain(f"Keys: {_title(screen)}"), id="help-title")
            with VerticalScroll(id="help-scroll"):
                for section in sections(screen):
                    yield Static(plain(section.title), classes="help-section")
                    for k in section.keys:
                        with HorizontalGroup(classes="help-row"):
                            yield Static(plain(k.keys), classes="help-key")
                            yield Static(plain(k.what), classes="help-what")
                danger = getattr(screen, "danger_help", None)
                if danger is not None:
                    actor = self.app.actor
                    yield Static(plain("Danger zone: what each action does, who may take it"
                                       + (f" (you: {actor.role})" if actor is not None else "")),
                                 classes="help-section")
                    for action, spec in danger():
                        yield Static(Content.assemble(plain(spec.title), " — ", plain(spec.summary)),
                                     classes="help-action")
                        yield Static(plain(spec.explanation), classes="help-explain")
                        yield Static(plain(f"who: {roles_text(action)}"), classes="help-who")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()
