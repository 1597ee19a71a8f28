"""Command palette: jump to a user by name, act on the user on screen."""

from __future__ import annotations

import asyncio
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from console.services import listing
from console.services.errors import ServiceError
from console.tui.text import markup_safe, plain


class UserdeskCommands(Provider):
    def _detail(self):
        from console.tui.screens.detail import UserDetailScreen

        screen = self.screen
        return screen if isinstance(screen, UserDetailScreen) and screen.detail is not None else None

    def _action_hits(self):
        from console.tui.actions import ACTIONS

        screen = self._detail()
        if screen is None:
            return []
        name = screen.detail.user.username
        return [
            (f"{spec.title}: {name}", partial(screen.start_action, action), spec.summary)
            for action, spec in ACTIONS.items()
            if screen.detail.actions.get(action) is None
        ]

    async def discover(self) -> Hits:
        for title, callback, help_ in self._action_hits():
            yield DiscoveryHit(plain(title), callback, text=title, help=markup_safe(help_))

    async def search(self, query: str) -> Hits:
        # Titles are shown as plain Content: the matcher's highlighter would
        # read a stored username as markup.
        matcher = self.matcher(query)
        for title, callback, help_ in self._action_hits():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, plain(title), callback, text=title, help=markup_safe(help_))
        app = self.app
        if len(query.strip()) < 2 or app.actor is None or app.ctx.settings.foreign_store:
            return  # (a foreign store's list has its own search)
        try:
            page = await asyncio.to_thread(listing.list_users, app.ctx, app.actor, search=query.strip(), limit=8)
        except ServiceError:
            return
        for u in page.items:
            title = f"Open user {u.username}"
            yield Hit(max(matcher.match(title), 0.5), plain(title), partial(self._open, u.username), text=title,
                      help=markup_safe(f"{u.display_name} <{u.email or '-'}>"))

    def _open(self, username: str) -> None:
        """Over an account: that account gives way to this one (Esc goes back
        to the list, not through every account jumped to)."""
        from console.tui.screens.detail import UserDetailScreen

        if isinstance(self.app.screen, UserDetailScreen):
            self.app.switch_screen(UserDetailScreen(username))
        else:
            self.app.push_screen(UserDetailScreen(username))
