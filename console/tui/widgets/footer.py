"""The footer every screen shows: Textual's, rebuilt only when what it shows
changes.

Textual's ``Footer`` recomposes (removes every key and mounts them again, each
restyled) whenever its screen refreshes its bindings: each focus move, each
key that may enable or disable an action. Most of those leave the keys, their
labels and whether each is enabled exactly as they were, so this footer
compares what it would show with what it shows and keeps its keys when they
are the same. Over SSH that is work the console no longer does on every key
press."""

from __future__ import annotations

from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    _shown: tuple | None = None

    def _showing(self) -> tuple | None:
        """What ``compose`` would draw now (None before the bindings are ready)."""
        if not self._bindings_ready or not self.is_attached:
            return None
        keys = tuple(
            (binding.key, self.app.get_key_display(binding), binding.description, binding.action, binding.show,
             enabled, tooltip, binding.group)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
        )
        return self.compact, self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE, keys

    async def recompose(self) -> None:
        showing = self._showing()
        if showing is not None and showing == self._shown:
            return
        self._shown = showing
        await super().recompose()
