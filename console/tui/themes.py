"""Colour themes: data files in ``themes/`` (shipped as ``console.themes``),
loaded into Textual ``Theme`` objects."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from textual.theme import Theme

DEFAULT_THEME = "userdesk-dark"
_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background", "surface",
           "panel", "boost")


def _theme_files():
    """Installed: the ``console.themes`` package. From a source checkout (where
    ``console/`` is imported straight from the tree): the ``themes/`` beside it."""
    try:
        return resources.files("console.themes").iterdir()
    except ModuleNotFoundError:
        return (Path(__file__).resolve().parents[2] / "themes").iterdir()


def load_themes() -> dict[str, Theme]:
    themes: dict[str, Theme] = {}
    for entry in sorted(_theme_files(), key=lambda p: p.name):
        if not entry.name.endswith(".toml"):
            continue
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        name = data.get("name") or entry.name.removesuffix(".toml")
        themes[name] = Theme(
            name=name,
            dark=bool(data.get("dark", True)),
            variables=dict(data.get("variables", {})),
            **{k: data[k] for k in _FIELDS if k in data},
        )
    return themes
