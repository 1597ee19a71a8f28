"""The active password policy, for forms and ``policy check``."""

from __future__ import annotations

from console.security import policy as rules
from console.security.policy import Policy, RuleResult
from console.services import validation
from console.services.context import ServiceContext


def active_policy(ctx: ServiceContext) -> Policy:
    return ctx.policy


def check_password(
    ctx: ServiceContext,
    password: str,
    *,
    username: str | None = None,
    email: str | None = None,
    display_name: str | None = None,
) -> list[RuleResult]:
    """Every rule of the active policy, passing or failing, for this password.
    (Reuse of earlier passwords is checked when the password is set.)"""
    validation.secret(password)
    return rules.check(ctx.policy, password, username=username, email=email, display_name=display_name)


def unmet_rules(ctx: ServiceContext) -> list[RuleResult]:
    """Every rule of the active policy, none met yet (an empty form's checklist)."""
    return [RuleResult(r.rule, False, r.text) for r in rules.check(ctx.policy, "")]
