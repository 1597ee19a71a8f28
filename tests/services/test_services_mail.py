"""Emailing a reset link, against a real SMTP server running in the test
(aiosmtpd): plain, STARTTLS and implicit TLS with a certificate of the test's
own CA, with credentials; refused recipients, refused credentials, an
unreachable server and an unwritable outbox each leave no valid ticket behind."""

from __future__ import annotations

import email
import re
import stat

import pytest
from mailserver import certificate, smtp  # noqa: F401  (fixtures)
from ports import free_port

from console.services import audit, tickets, users
from console.services.detail import user_detail
from console.services.errors import InvalidInput, MailFailed
from console.services.permissions import Action

LINK = re.compile(r"https://accounts\.example\.com/reset\?token=([A-Za-z0-9_-]+)")
STRONG = "correct horse battery staple 42"


def _valid_tickets(ctx, admin, name) -> list[int]:
    return [t.id for t in tickets.list_tickets(ctx, admin, name)]


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_the_link_arrives_and_works_once(ctx, make_ctx, admin, make_user, smtp, security):
    inbox, overrides = smtp(security, user="relay" if security != "none" else None, password="relay-pass")
    mctx = make_ctx(**overrides)
    make_user("bob", email="bob@example.com", display_name="Bob Builder")
    sent = tickets.email_ticket(mctx, admin, "bob", lifetime_minutes=30, reason="called the helpdesk")
    assert sent.to == "bob@example.com" and sent.delivery == "smtp"
    assert [e.rcpt_tos for e in inbox.envelopes] == [["bob@example.com"]]
    msg = inbox.messages[0]
    assert msg["To"] == "bob@example.com" and msg["From"] == "Accounts <acc@example.com>"
    assert msg["Subject"] == "Reset your password" and msg["Auto-Submitted"] == "auto-generated"
    body = msg.get_payload(decode=True).decode()
    assert "Hello Bob Builder" in body and "account bob" in body
    assert f"until {sent.ticket.expires_at:%Y-%m-%d %H:%M} UTC" in body
    token = LINK.search(body).group(1)
    assert _valid_tickets(ctx, admin, "bob") == [sent.ticket.id] and sent.ticket.delivery == "email"
    assert tickets.list_tickets(ctx, admin, "bob")[0].delivery == "email"
    assert tickets.redeem_ticket(ctx, token, STRONG) == "bob"  # the link in the mail is the ticket
    with pytest.raises(Exception):
        tickets.redeem_ticket(ctx, token, STRONG + "!")
    event = [e for e in audit.query(ctx, admin, limit=50).items if e.action == "ticket.email"][0]
    assert event.outcome == "ok" and event.details["delivery"] == "smtp" and event.reason == "called the helpdesk"
    assert token not in repr(event) and "token=" not in repr(event.details)


def test_a_refused_recipient_leaves_no_ticket_and_keeps_the_old_one(ctx, make_ctx, admin, make_user, smtp):
    inbox, overrides = smtp()
    inbox.refuse_rcpt = True
    mctx = make_ctx(**overrides)
    make_user("bob", email="bob@example.com")
    earlier = tickets.issue_ticket(ctx, admin, "bob")
    with pytest.raises(MailFailed) as ei:
        tickets.email_ticket(mctx, admin, "bob")
    assert ei.value.code == "MAIL_FAILED" and "refused the recipient (550)" in ei.value.message
    assert inbox.messages == []
    assert _valid_tickets(ctx, admin, "bob") == [earlier.ticket.id]  # not superseded by a ticket never sent
    event = audit.query(ctx, admin, limit=1).items[0]
    assert (event.action, event.outcome, event.error_code) == ("ticket.email", "error", "MAIL_FAILED")


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_wrong_credentials_are_named_and_nothing_is_issued(ctx, make_ctx, admin, make_user, smtp, security):
    inbox, overrides = smtp(security, user="relay", password="right")
    mctx = make_ctx(**{**overrides, "smtp_password": "wrong"})
    make_user("bob", email="bob@example.com")
    with pytest.raises(MailFailed) as ei:
        tickets.email_ticket(mctx, admin, "bob")
    assert "refused the credentials of 'relay' (535)" in ei.value.message and "wrong" not in ei.value.message
    assert inbox.messages == [] and _valid_tickets(ctx, admin, "bob") == []


def test_an_untrusted_certificate_is_refused(ctx, make_ctx, admin, make_user, smtp):
    inbox, overrides = smtp("starttls")
    mctx = make_ctx(**{**overrides, "smtp_ca_file": None})  # the system CAs do not know the test's
    make_user("bob", email="bob@example.com")
    with pytest.raises(MailFailed) as ei:
        tickets.email_ticket(mctx, admin, "bob")
    assert "TLS with the mail server" in ei.value.message and "CERTIFICATE_VERIFY_FAILED" in ei.value.message
    assert inbox.messages == [] and _valid_tickets(ctx, admin, "bob") == []


def test_an_unreachable_server_is_named(ctx, make_ctx, admin, make_user):
    mctx = make_ctx(mail_delivery="smtp", smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none")
    make_user("bob", email="bob@example.com")
    with pytest.raises(MailFailed) as ei:
        tickets.email_ticket(mctx, admin, "bob")
    assert f"could not reach the mail server 127.0.0.1:{mctx.settings.smtp_port}" in ei.value.message
    assert _valid_tickets(ctx, admin, "bob") == []


def test_the_outbox_gets_one_private_file_per_message(ctx, make_ctx, admin, make_user, tmp_path):
    outbox = tmp_path / "outbox"
    mctx = make_ctx(mail_delivery="outbox", mail_outbox=str(outbox))
    make_user("bob", email="bob@example.com")
    sent = tickets.email_ticket(mctx, admin, "bob")
    files = list(outbox.iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    msg = email.message_from_bytes(files[0].read_bytes())
    token = LINK.search(msg.get_payload(decode=True).decode()).group(1)
    assert msg["To"] == "bob@example.com" and sent.delivery == "outbox"
    assert tickets.redeem_ticket(ctx, token, STRONG) == "bob"


def test_no_address_or_no_delivery_is_explained_up_front(ctx, make_ctx, admin, make_user, tmp_path):
    make_user("nomail")
    make_user("bob", email="bob@example.com")
    off = user_detail(ctx, admin, "bob").actions[Action.EMAIL_TICKET]
    assert off == "mail delivery is not configured (mail_delivery)"
    outbox = tmp_path / "outbox"
    mctx = make_ctx(mail_delivery="outbox", mail_outbox=str(outbox))
    assert user_detail(mctx, admin, "bob").actions[Action.EMAIL_TICKET] is None
    assert user_detail(mctx, admin, "nomail").actions[Action.EMAIL_TICKET] == "the account has no email address"
    with pytest.raises(InvalidInput) as ei:
        tickets.email_ticket(mctx, admin, "nomail")
    assert ei.value.field == "email" and "show the link instead" in ei.value.message
    assert not outbox.exists()
    users.block_user(ctx, admin, "bob", reason="left")
    assert user_detail(mctx, admin, "bob").actions[Action.EMAIL_TICKET] == "the account is blocked: unblock it first"


def _store(ctx, username: str, **columns) -> None:
    """Write user columns behind the services' back, as the application may."""
    from sqlalchemy import text

    sets = ", ".join(f"{k} = :{k}" for k in columns)
    with ctx.engine.begin() as conn:
        conn.execute(text(f"UPDATE users SET {sets} WHERE username = :u"), {**columns, "u": username})


@pytest.mark.parametrize("stored", [
    "bob@example.com, eve@evil.example",         # a second recipient
    "bob@example.com\r\nBcc: eve@evil.example",  # a header of its own
    "Bob <eve@evil.example>",                    # a name hiding another address
    "bob@example.com\x1b[2J",
])
def test_a_stored_address_that_is_not_one_valid_address_gets_no_link(ctx, make_ctx, admin, make_user, smtp,
                                                                         stored):
    inbox, overrides = smtp()
    mctx = make_ctx(**overrides)
    make_user("bob", email="bob@example.com")
    _store(ctx, "bob", email=stored)
    assert user_detail(mctx, admin, "bob").actions[Action.EMAIL_TICKET] == (
        "the address on the account is not a valid email address: correct it first")
    with pytest.raises(InvalidInput) as ei:
        tickets.email_ticket(mctx, admin, "bob")
    assert (ei.value.field, ei.value.rule) == ("email", "format") and stored not in ei.value.message
    assert inbox.envelopes == [] and _valid_tickets(ctx, admin, "bob") == []
    event = audit.query(ctx, admin, limit=1).items[0]
    assert (event.action, event.outcome, event.error_code) == ("ticket.email", "rejected", "INVALID_INPUT")
    users.update_profile(ctx, admin, "bob", email="bob@example.com")  # corrected, it works
    assert tickets.email_ticket(mctx, admin, "bob").to == "bob@example.com"
    assert [e.rcpt_tos for e in inbox.envelopes] == [["bob@example.com"]]


def test_a_stored_display_name_cannot_add_a_header(ctx, make_ctx, admin, make_user, smtp):
    inbox, overrides = smtp()
    mctx = make_ctx(**overrides, mail_subject="Reset the password of {display_name}")
    make_user("bob", email="bob@example.com")
    _store(ctx, "bob", display_name="Bob\r\nBcc: eve@evil.example")
    tickets.email_ticket(mctx, admin, "bob")
    assert [e.rcpt_tos for e in inbox.envelopes] == [["bob@example.com"]]
    msg = inbox.messages[0]
    assert msg["Bcc"] is None and msg["Subject"] == "Reset the password of Bob\\x0d\\x0aBcc: eve@evil.example"
    assert "Hello Bob\\x0d\\x0aBcc: eve@evil.example" in msg.get_payload(decode=True).decode()


def test_composing_writes_out_line_breaks_in_either_name(make_ctx):
    from datetime import datetime, timezone

    from console import mail

    settings = make_ctx(mail_subject="Reset for {username} ({display_name})").settings
    now = datetime(2026, 11, 24, tzinfo=timezone.utc)
    msg = mail.compose(settings, to="bob@example.com", username="bob\r\nBcc: eve@evil.example",
                       display_name="B\nX-Evil: 1", link="https://x.example/r?t=abc", expires_at=now,
                       minutes=30, now=now)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert msg["Subject"] == "Reset for bob\\x0d\\x0aBcc: eve@evil.example (B\\x0aX-Evil: 1)"
