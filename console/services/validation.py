"""Validation of operator- and user-supplied text. Each failure names the field and
the rule; nothing is changed when validation fails.

What a field may hold:

- username: 1–64 ASCII characters from letters, digits and ``. _ - @ +``,
  starting with a letter or digit. Compared case-insensitively.
- email: at most 254 characters, ``local@domain``; no spaces, control or
  non-ASCII characters; the domain has a dot and only letters, digits, ``-``, ``.``.
- display name: at most 128 characters of any script, no control, format or
  bidi characters.
- reason / identity check: at most 500 / 200 characters, same rule as display names.
- provider (source): ``local`` or 1–32 of lowercase letters, digits, ``. _ -``.
"""

from __future__ import annotations

import re

from console.models import ROLES
from console.security.text import has_controls
from console.services.errors import InvalidInput, ReasonRequired

USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
EMAIL_LOCAL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}")
EMAIL_DOMAIN_RE = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
SOURCE_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")


def _text(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidInput(field, "max_length", f"at most {limit} characters (got {len(value)})")
    if has_controls(value):
        raise InvalidInput(field, "no_control", "may not contain control, format, bidi or invisible characters")


def username(value: str | None, field: str = "username") -> str:
    if value is None or value == "":
        raise InvalidInput(field, "required", "is required")
    if len(value) > 64:
        raise InvalidInput(field, "max_length", f"at most 64 characters (got {len(value)})")
    if not USERNAME_RE.fullmatch(value):
        raise InvalidInput(
            field,
            "charset",
            "use letters, digits and . _ - @ + only (ASCII), starting with a letter or digit",
        )
    return value


def email(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > 254:
        raise InvalidInput("email", "max_length", f"at most 254 characters (got {len(value)})")
    local, sep, domain = value.rpartition("@")
    if not sep or not EMAIL_LOCAL_RE.fullmatch(local) or not EMAIL_DOMAIN_RE.fullmatch(domain):
        raise InvalidInput("email", "format", "must look like name@example.com (ASCII, no spaces)")
    return value


def deliverable(value: str | None) -> bool:
    """True if ``value`` is one address the email rules accept. A stored address
    may have been written by the application, not by these services: one with a
    comma, a line break or a second address must never become a mail's recipient."""
    try:
        return email(value) is not None
    except InvalidInput:
        return False


def display_name(value: str | None) -> str:
    value = (value or "").strip()
    _text("display_name", value, 128)
    return value


def role(value: str) -> str:
    if value not in ROLES:
        raise InvalidInput("role", "choice", f"must be one of {', '.join(ROLES)}")
    return value


def source(value: str | None) -> str:
    value = value or "local"
    if not SOURCE_RE.fullmatch(value):
        raise InvalidInput("source", "charset", "lowercase letters, digits and . _ - only, at most 32")
    return value


def reason(value: str | None, *, required: bool = False, field: str = "reason", limit: int = 500) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ReasonRequired() if field == "reason" else InvalidInput(field, "required", "is required")
        return None
    _text(field, value, limit)
    return value


def identity_check(value: str | None, *, required: bool = False) -> str | None:
    return reason(value, required=required, field="identity_check", limit=200)


def expiry_days(value: int | None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 36500:
        raise InvalidInput("expiry_days", "range", "a whole number of days from 0 (never expires) to 36500")
    return value


def secret(value: str | None, field: str = "password", limit: int = 1024) -> str:
    """Shape checks on a password before it reaches the policy (never echoes it)."""
    if value is None or value == "":
        raise InvalidInput(field, "required", "is required")
    if len(value) > limit:
        raise InvalidInput(field, "max_length", f"at most {limit} characters")
    return value
