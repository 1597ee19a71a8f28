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
    Reuse of an earlier password is not checked here (that would answer "was
    this one of bob's passwords?" to anyone): it comes back ``checked=False``,
    and is checked when the password is set."""
    validation.secret(password)
    return [RuleResult(r.rule, True, r.text, checked=False) if r.rule == "not_reused" else r
            for r in rules.check(ctx.policy, password, username=username, email=email, display_name=display_name)]


def unmet_rules(ctx: ServiceContext) -> list[RuleResult]:
    """Every rule of the active policy, none met yet (an empty form's checklist)."""
    return [RuleResult(r.rule, False, r.text, checked=r.rule != "not_reused") for r in rules.check(ctx.policy, "")]
