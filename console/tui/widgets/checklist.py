"""The live password-policy checklist shown under a new-password field."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.services import policy as policy_service


def _line(ok: bool, text: str) -> Content:
    return Content.assemble(("✓ " if ok else "✗ ", "bold $success" if ok else "bold $error"), text)


def _pending(text: str) -> Content:
    """A rule not judged yet: nothing has been typed."""
    return Content.assemble(("· ", "bold $text-muted"), text)


def render_checklist(results, entries_match: bool | None) -> Content:
    """One line per policy rule, then whether the two entries match. Reuse of an
    earlier password can only be checked against the stored hashes when saving.
    ``entries_match`` None: nothing typed yet, so nothing is judged."""
    lines = []
    for r in results:
        if not r.checked:
            lines.append(Content.assemble(("• ", "bold $text-muted"), r.text, (" (on saving)", "dim")))
        elif entries_match is None:
            lines.append(_pending(r.text))
        else:
            lines.append(_line(r.ok, r.text))
    both = "both entries match"
    lines.append(_pending(both) if entries_match is None else _line(entries_match, both))
    return Content("\n").join(lines)


class PolicyChecklist(Static):
    """Every rule of the active policy, passing or failing, as the operator
    types. The check runs in a worker; a newer keystroke supersedes it."""

    def check(self, password: str, again: str, *, username: str | None = None, email: str | None = None,
              display_name: str | None = None) -> None:
        app = self.app
        match = password == again
        if not password:
            # Nothing typed: every rule listed, none judged; a repeat typed alone does not match.
            self.update(render_checklist(policy_service.unmet_rules(app.ctx), None if not again else False))
            return
        app.service(policy_service.check_password, app.ctx, password, username=username, email=email,
                    display_name=display_name, done=lambda results: self._show(results, match),
                    failed=lambda _err: None, group="checklist", exclusive=True)

    def _show(self, results, match: bool) -> None:
        if self.is_attached:
            self.update(render_checklist(results, match))
