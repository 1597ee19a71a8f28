"""The audit chain's writer: each event stores the hash of the one before it, and
the ``audit_head`` row holds the newest hash, so an edited, removed, reordered or
truncated log is detected (see ``audit.verify_chain``).

Internal to the service layer (console/services/__init__.py lists the public API).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session, select

from console.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def canonical_details(details: dict[str, Any] | None) -> str:
    return json.dumps(details or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable)


def event_hash(prev_hash: str, ev: AuditEvent) -> str:
    body = json.dumps(
        [
            ev.seq,
            ev.at.isoformat(),
            ev.operator,
            ev.action,
            ev.target,
            ev.outcome,
            ev.error_code,
            ev.reason,
            ev.identity_check,
            ev.details,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def append(
    s: Session,
    *,
    at: datetime,
    operator: str,
    action: str,
    target: str | None,
    outcome: str,
    error_code: str | None = None,
    reason: str | None = None,
    identity_check: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the chain, in the caller's transaction."""
    head = s.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        s.add(head)
    ev = AuditEvent(
        seq=head.seq + 1,
        # Stored as UTC and read back as UTC: hash the UTC form, or verify fails.
        at=at.astimezone(timezone.utc),
        operator=operator[:64],
        action=action,
        target=None if target is None else target[:64],
        outcome=outcome,
        error_code=error_code,
        reason=reason[:500] if reason else reason,
        identity_check=identity_check[:200] if identity_check else identity_check,
        details=canonical_details(details),
        prev_hash=head.hash,
        hash="",
    )
    ev.hash = event_hash(head.hash, ev)
    head.seq, head.hash = ev.seq, ev.hash
    s.add(ev)
    s.add(head)
    return ev


