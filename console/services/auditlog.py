"""The audit chain's writer: each event stores the hash of the one before it, and
the ``audit_head`` row holds the newest hash, so an edited, removed, reordered or
truncated log is detected (see ``audit.verify_chain``). Each event's hash and the
head are signed with the desk's audit key (HMAC-SHA-256, a key the database does
not hold), so a chain recomputed by someone who can write the database does not
verify, and a head moved back is not signed.

Internal to the service layer (console/services/__init__.py lists the public API).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session, select

from console.models import AuditEvent, AuditHead
from console.security.auditkey import AuditKey
from console.services.errors import (AuditBroken, AuditKeyMismatch, AuditKeyMissing, AuditUnavailable,
                                     ConfigError)

GENESIS = "0" * 64

log = logging.getLogger(__name__)


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


#: What an audit key's id looks like (anything else in the head is forged).
KEY_ID = re.compile(r"[0-9a-f]{16}")


def head_key(ctx, head: AuditHead) -> AuditKey:
    """The key that signs ``head``'s log, checked against the head's own
    signature: a log whose head was moved or forged is not extended (each new
    event would sign what was done to it)."""
    if not KEY_ID.fullmatch(head.key_id):
        raise AuditBroken("the audit log's head names no audit key (its key id is not one): the log was changed "
                          "outside userdesk; run `userdesk audit --verify`")
    key = ctx.audit_key(head.key_id)
    if key is None:
        raise AuditKeyMissing(
            f"the audit log is signed with key {head.key_id}, which this machine does not have "
            f"(looked for {ctx.audit_key_location(head.key_id)}): copy the key file from the machine that made "
            "the desk (mode 0600), or give it as USERDESK_AUDIT_KEY; until then nothing can change")
    if key.id != head.key_id:
        raise AuditKeyMismatch(
            f"the audit key given (id {key.id}) is not the one this desk's log is signed with ({head.key_id}); "
            "nothing can change with it")
    if not key.same(head.mac, key.sign_head(head.seq, head.hash)):
        raise AuditBroken(
            f"the audit log's head (event #{head.seq}) is not signed by this desk's key: the log was changed "
            "outside userdesk; run `userdesk audit --verify`. Nothing can change until it is looked into")
    return key


def append(
    ctx,
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
    """Add one event to the chain, signed, in the caller's transaction. The
    first event of a desk makes its key (``ctx.new_audit_key``)."""
    head = s.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
    if head.key_id is not None:
        key = head_key(ctx, head)
    elif head.seq == 0:
        if s.exec(select(AuditEvent.id).limit(1)).first() is not None:
            raise AuditBroken("the audit log has events but its head is gone or set back to none: the log was "
                              "changed outside userdesk; run `userdesk audit --verify`")
        key = ctx.new_audit_key()
        head.key_id = key.id
    else:
        raise AuditBroken(f"the audit log's {head.seq} events are not signed: written before audit keys and not "
                          "migrated (`userdesk db upgrade` signs them), or the signatures were stripped; run "
                          "`userdesk audit --verify`")
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
    ev.mac = key.sign_event(ev.hash)
    head.seq, head.hash, head.mac = ev.seq, ev.hash, key.sign_head(ev.seq, ev.hash)
    s.add(ev)
    s.add(head)
    return ev




def append_or_log(ctx, s: Session, **event: Any) -> AuditEvent | None:
    """``append`` for bookkeeping that must hold even when the log cannot be
    extended (a lockout's failure count, a rate limit's): the caller's
    transaction commits its counts without the event, which is logged by its
    action and code only. Guessing must not go unlimited for want of a key."""
    try:
        return append(ctx, s, **event)
    except (AuditUnavailable, ConfigError) as err:
        log.warning("audit event %s not written: %s", event.get("action"), err.code)
        return None
