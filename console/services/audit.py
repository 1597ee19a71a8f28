"""The audit log: query it, verify its signed hash chain, and export and compare
checkpoints (what an operator keeps outside the database)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlmodel import select

from console.models import AuditEvent, AuditHead, User
from console.services import pagination, validation
from console.security.auditkey import AuditKey
from console.services.auditlog import GENESIS, KEY_ID, event_hash
from console.services.base import action, find_user, reading
from console.services.listing import OPERATOR_ROLES
from console.services.context import Actor, ServiceContext
from console.services.errors import AuditBroken, AuditKeyMismatch, AuditKeyMissing, InvalidInput
from console.services.views import AuditView, Page


def query(
    ctx: ServiceContext,
    actor: Actor,
    *,
    user: str | None = None,
    operator: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
    partial: bool = False,
) -> Page[AuditView]:
    """Events newest first, filtered; keyset-paginated on ``seq``. The user,
    operator and action filters name one exactly (any case for the user), or
    with ``partial`` match any part, regardless of case (``greta`` finds
    ``greta.svensson``, ``password`` finds ``password.reset`` and
    ``password.set``)."""
    limit = pagination.check_limit(limit)
    for field, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(field, "timezone", "give a time zone (UTC is assumed by the CLI)")
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until", "order", "must be after since")
    stmt = select(AuditEvent)
    if partial:
        for column, value in ((AuditEvent.target, user), (AuditEvent.operator, operator),
                              (AuditEvent.action, action)):
            if value:
                stmt = stmt.where(column.icontains(value, autoescape=True))
        user = None
    if operator and not partial:
        stmt = stmt.where(AuditEvent.operator == operator)
    if action and not partial:
        stmt = stmt.where(AuditEvent.action == action)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    if cursor:
        (last_seq,) = pagination.decode(cursor, (int,))
        stmt = stmt.where(AuditEvent.seq < last_seq)
    stmt = stmt.order_by(AuditEvent.seq.desc()).limit(limit + 1)
    with reading(ctx, actor) as s:
        if user:
            # Events name the account as it is spelled; accept any case.
            row = find_user(s, user) if validation.USERNAME_RE.fullmatch(user) else None
            stmt = stmt.where(AuditEvent.target == (row.username if row else user))
        rows = s.exec(stmt).all()
    items = [AuditView.of(r) for r in rows[:limit]]
    nxt = pagination.encode(rows[limit - 1].seq) if len(rows) > limit else None
    return Page(items=items, next_cursor=nxt)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    #: Sequence number of the first event where the chain breaks, if any.
    broken_at: int | None = None
    problem: str | None = None
    #: False when the signatures could not be checked (no key here, another
    #: key): then ``ok`` is False too, and ``problem`` says why.
    signatures_checked: bool = True


@dataclass(frozen=True)
class _Last:
    seq: int
    hash: str
    at: datetime


def _key_for_verify(ctx: ServiceContext, head: AuditHead) -> tuple[AuditKey | None, str | None]:
    """The key to check a signed head's log with, or why there is none here."""
    if head.key_id is None:
        return None, (f"the log's {head.seq} events are not signed: written before audit keys (`db upgrade` "
                      "signs such a log when it migrates it to this version), or the signatures were stripped")
    key = ctx.audit_key(head.key_id)
    if key is None:
        return None, (f"the signatures cannot be checked here: the log is signed with key {head.key_id}, "
                      f"not found at {ctx.audit_key_location(head.key_id)}")
    if key.id != head.key_id:
        return None, (f"the signatures cannot be checked: the audit key given (id {key.id}) is not the one the "
                      f"log is signed with ({head.key_id})")
    return key, None


def _verify(ctx: ServiceContext, s, batch: int) -> tuple[ChainReport, _Last | None]:
    head = s.get(AuditHead, 1)
    # No head, or one never signed at event 0: what a desk looks like before its first event.
    fresh = head is None or head.key_id is None and head.seq == 0
    if head is not None and head.key_id is not None and not KEY_ID.fullmatch(head.key_id):
        return ChainReport(False, 0, head.seq, "the log's head names no audit key (its key id is not one): "
                           "the head was forged"), None
    key, key_problem = (None, None) if fresh else _key_for_verify(ctx, head)
    prev = GENESIS
    expected_seq = 1
    count = 0
    last: _Last | None = None
    last_id = 0
    while True:
        rows = s.exec(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            count += 1
            if ev.seq != expected_seq:
                # A later seq first means #expected was removed, unless it is
                # still in the log further on (then the rows were reordered).
                missing = s.exec(select(AuditEvent.id).where(AuditEvent.seq == expected_seq)).first() is None
                what = "removed" if ev.seq > expected_seq and missing else "reordered or duplicated"
                return ChainReport(
                    False, count, ev.seq, f"event #{expected_seq} expected, found #{ev.seq}: events {what}"
                ), None
            if ev.prev_hash != prev:
                return ChainReport(False, count, ev.seq, f"event #{ev.seq} does not follow the event before it"), None
            if event_hash(prev, ev) != ev.hash:
                return ChainReport(False, count, ev.seq, f"event #{ev.seq} was edited after it was written"), None
            if key is not None and not key.same(ev.mac, key.sign_event(ev.hash)):
                return ChainReport(False, count, ev.seq, f"event #{ev.seq} is not signed by this desk's audit key: "
                                   "the log was rewritten from here (hashes recomputed)"), None
            prev = ev.hash
            last = _Last(ev.seq, ev.hash, ev.at)
            expected_seq += 1
        last_id = rows[-1].id
    if count == 0 and s.exec(select(User.id).where(User.role.in_(OPERATOR_ROLES))).first():
        # Operators are made by audited actions (init, user.create): their log cannot be empty.
        return ChainReport(False, 0, 1, "the log is empty but this desk has operators, whose creation was "
                           "audited: the log was deleted"), None
    if fresh and count:
        return ChainReport(False, count, 1, f"{count} events but the log's head is gone or set back to none: "
                           "the head was removed to stop the signatures being checked"), None
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        return ChainReport(
            False, count, expected_seq, f"the log ends at event #{expected_seq - 1} but #{head.seq} was written: events removed from the end"
        ), None
    if key is not None and not key.same(head.mac, key.sign_head(head.seq, head.hash)):
        return ChainReport(False, count, expected_seq, f"the log's head (event #{head.seq}) is not signed by this "
                           "desk's audit key: events removed from the end, or the head forged"), None
    if key_problem is not None:
        return ChainReport(False, count, None, key_problem, signatures_checked=False), last
    return ChainReport(True, count), last


def verify_chain(ctx: ServiceContext, actor: Actor, *, batch: int = 5000) -> ChainReport:
    """Recompute every event's hash in order, compare with the stored chain,
    and check each event's and the head's signature with the desk's key."""
    with reading(ctx, actor) as s:
        return _verify(ctx, s, batch)[0]


@dataclass(frozen=True)
class KeyStatus:
    #: The id the log's head records (None: nothing written yet).
    key_id: str | None
    #: Where this machine looks for it (a path, or the setting).
    where: str


def key_status(ctx: ServiceContext, actor: Actor) -> KeyStatus:
    """Which key signs the log, and whether this machine has it."""
    with reading(ctx, actor) as s:
        head = s.get(AuditHead, 1)
    key_id = head.key_id if head is not None else None
    return KeyStatus(key_id, ctx.audit_key_location(key_id))


# -- checkpoints: the log's state, signed, kept by an operator outside the database ------

_CHECKPOINT_KIND = "userdesk audit checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    """Event ``seq`` and its chain hash (which covers every event up to it),
    signed with the desk's key. Holds no secret: a file an operator keeps (or
    mails, or prints) away from the database."""

    seq: int
    hash: str
    #: When event ``seq`` was written, and when the checkpoint was made.
    at: datetime
    made_at: datetime
    key_id: str
    signature: str

    def to_json(self) -> str:
        return json.dumps({"kind": _CHECKPOINT_KIND, "version": 1, "seq": self.seq, "hash": self.hash,
                           "at": self.at.isoformat(), "made_at": self.made_at.isoformat(),
                           "key_id": self.key_id, "signature": self.signature}, indent=2) + "\n"

    def signed_by(self, key: AuditKey) -> bool:
        return key.id == self.key_id and key.same(
            self.signature, key.sign_checkpoint(self.seq, self.hash, self.at.isoformat(), self.made_at.isoformat()))


def checkpoint(ctx: ServiceContext, actor: Actor, *, batch: int = 5000) -> Checkpoint:
    """A signed checkpoint of the log as it is: refused (AUDIT_BROKEN) unless
    the whole log verifies, since a checkpoint vouches for everything before it."""
    with reading(ctx, actor) as s:
        report, last = _verify(ctx, s, batch)
        head = s.get(AuditHead, 1)
    if not report.ok:
        if report.signatures_checked or head is None or head.key_id is None:
            raise AuditBroken(f"no checkpoint: {report.problem}")
        key = ctx.audit_key(head.key_id)
        raise (AuditKeyMissing if key is None else AuditKeyMismatch)(f"no checkpoint: {report.problem}")
    if last is None:
        raise InvalidInput("checkpoint", "empty", "the audit log has no event yet")
    key = ctx.audit_key(head.key_id)
    at = last.at.astimezone(timezone.utc)
    made_at = ctx.now().astimezone(timezone.utc)
    return Checkpoint(last.seq, last.hash, at, made_at, key.id,
                      key.sign_checkpoint(last.seq, last.hash, at.isoformat(), made_at.isoformat()))


def read_checkpoint(text: str, *, field: str = "against") -> Checkpoint:
    """A checkpoint file's content, as ``Checkpoint.to_json`` wrote it;
    INVALID_INPUT naming ``field`` otherwise."""
    def bad(why: str) -> InvalidInput:
        return InvalidInput(field, "checkpoint", f"not a userdesk audit checkpoint ({why})")

    try:
        data = json.loads(text)
    except ValueError:
        raise bad("not JSON") from None
    if not isinstance(data, dict) or data.get("kind") != _CHECKPOINT_KIND:
        raise bad("no 'kind' of a checkpoint")
    if data.get("version") != 1:
        raise bad(f"version {data.get('version')!r}, this userdesk reads 1")
    try:
        seq, hash_, key_id, sig = data["seq"], data["hash"], data["key_id"], data["signature"]
        at, made_at = datetime.fromisoformat(data["at"]), datetime.fromisoformat(data["made_at"])
    except (KeyError, TypeError, ValueError):
        raise bad("a field is missing or malformed") from None
    hexes = (hash_, key_id, sig)
    if not (isinstance(seq, int) and seq > 0 and all(isinstance(h, str) and h and
                                                      all(c in "0123456789abcdef" for c in h) for h in hexes)):
        raise bad("a field is missing or malformed")
    if at.tzinfo is None or made_at.tzinfo is None:
        raise bad("a time without its zone")
    return Checkpoint(seq, hash_, at, made_at, key_id, sig)


def verify_against(ctx: ServiceContext, actor: Actor, cp: Checkpoint, *, batch: int = 5000) -> ChainReport:
    """``verify_chain``, and the log must still hold the checkpoint's event as
    it was: a log cut back to before it, or rewritten up to it (even by
    someone holding the key), does not pass."""
    with reading(ctx, actor) as s:
        report, _last = _verify(ctx, s, batch)
        head = s.get(AuditHead, 1)
        row = s.exec(select(AuditEvent).where(AuditEvent.seq == cp.seq)).first()
    made = cp.made_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    key = ctx.audit_key(head.key_id if head is not None else None)
    if key is not None and key.id == cp.key_id and not cp.signed_by(key):
        return ChainReport(False, report.events, cp.seq, f"the checkpoint of {made} was altered: its signature "
                           "does not match", report.signatures_checked)
    if head is not None and head.key_id is not None and head.key_id != cp.key_id:
        return ChainReport(False, report.events, cp.seq, f"the checkpoint of {made} was made with audit key "
                           f"{cp.key_id}, this log is signed with {head.key_id}: another desk's checkpoint, or "
                           "this desk's key was replaced", report.signatures_checked)
    if row is None:
        return ChainReport(False, report.events, cp.seq, f"event #{cp.seq}, which the checkpoint of {made} "
                           f"holds, is gone: the log was cut back (it now ends at #{head.seq if head else 0})",
                           report.signatures_checked)
    if row.hash != cp.hash:
        return ChainReport(False, report.events, cp.seq, f"event #{cp.seq} is not the one the checkpoint of "
                           f"{made} holds: the log was rewritten up to it", report.signatures_checked)
    return report


def sign_log(ctx: ServiceContext, actor: Actor) -> int:
    """Sign a log written before audit keys. Only ``db upgrade`` calls this,
    and only in the run that migrates the database to 0006 (after that, an
    unsigned log is one whose signatures were stripped: AUDIT_BROKEN, never
    signed over). The unsigned chain must verify and no event may carry a
    signature; every event and the head are then signed with a new key (or
    the one given), in one transaction. Returns how many events were signed
    (0: empty)."""
    with ctx.read_session() as s:
        head = s.get(AuditHead, 1)
        if head is None or head.key_id is None and head.seq == 0:
            return 0
    with action(ctx, actor, "audit.sign") as tx:
        head = tx.s.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
        if head.key_id is not None or tx.s.exec(select(AuditEvent.id).where(AuditEvent.mac.is_not(None))).first():
            raise AuditBroken("the log already carries signatures: it was not written before audit keys, and "
                              "is not signed again")
        report, _last = _verify(ctx, tx.s, 5000)
        if report.broken_at is not None:
            raise AuditBroken(f"the log is not signed, and it does not verify ({report.problem}): signing it "
                              "would vouch for that; look into it first")
        key = ctx.new_audit_key()
        last_id = 0
        while True:
            rows = tx.s.exec(select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
                             .limit(5000)).all()
            if not rows:
                break
            for ev in rows:
                ev.mac = key.sign_event(ev.hash)
                tx.s.add(ev)
            tx.s.flush()
            last_id = rows[-1].id
        head.key_id, head.mac = key.id, key.sign_head(head.seq, head.hash)
        tx.s.add(head)
        tx.s.flush()
        tx.details = {"events": report.events, "key_id": key.id}
        return report.events
