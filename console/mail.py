"""Emailing a reset link: composing the message and handing it over, by SMTP
(STARTTLS, implicit TLS or plain, with or without credentials) or into a file
outbox for development.

A failure is a ``MailFailed`` whose message names the cause (refused
connection, timeout, authentication, a refused sender or recipient, an
unwritable outbox) and never the link, the message or the credentials."""

from __future__ import annotations

import os
import smtplib
import ssl
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from console.config import Settings
from console.security.text import escape_controls
from console.errors import MailFailed


def compose(settings: Settings, *, to: str, username: str, display_name: str, link: str, expires_at: datetime,
            minutes: int, now: datetime) -> EmailMessage:
    # The names may have been stored by the application unchecked: their
    # control characters are written out (\x0d), so none can end a header line.
    fields = {"display_name": escape_controls(display_name or username), "username": escape_controls(username),
              "link": link, "expires": expires_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "minutes": minutes}
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = settings.mail_subject.format(**fields)
    msg["Date"] = format_datetime(now.astimezone(timezone.utc))
    msg["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2].strip("> ") or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(settings.mail_body.format(**fields))
    return msg


def send(settings: Settings, msg: EmailMessage) -> None:
    """Hand ``msg`` over for delivery, or raise MailFailed."""
    if settings.mail_delivery == "outbox":
        _to_outbox(Path(settings.mail_outbox).expanduser(), msg)
    elif settings.mail_delivery == "smtp":
        _by_smtp(settings, msg)
    else:
        raise MailFailed("mail delivery is off (set mail_delivery to smtp or outbox)")


def _to_outbox(outbox: Path, msg: EmailMessage) -> None:
    """One .eml file per message, readable by its owner only (it holds a live link)."""
    name = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}-{os.getpid()}.eml"
    try:
        outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(outbox / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(msg.as_bytes())
    except OSError as exc:
        raise MailFailed(f"could not write to the mail outbox {outbox} ({exc.strerror or type(exc).__name__})") from None


def _tls_context(settings: Settings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.smtp_ca_file)


def _by_smtp(settings: Settings, msg: EmailMessage) -> None:
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        if settings.smtp_security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                                    timeout=settings.smtp_timeout, context=_tls_context(settings))
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=_tls_context(settings))
            if settings.smtp_username:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                client.login(settings.smtp_username, password)
            client.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailFailed(f"the mail server {where} refused the credentials of {settings.smtp_username!r} "
                         f"({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = ", ".join(str(code) for code, _ in exc.recipients.values())
        raise MailFailed(f"the mail server {where} refused the recipient ({codes})") from None
    except smtplib.SMTPSenderRefused as exc:
        raise MailFailed(f"the mail server {where} refused the sender address ({exc.smtp_code})") from None
    except smtplib.SMTPNotSupportedError:
        raise MailFailed(f"the mail server {where} does not offer STARTTLS or AUTH as configured") from None
    except smtplib.SMTPResponseException as exc:
        raise MailFailed(f"the mail server {where} refused the message ({exc.smtp_code})") from None
    except ssl.SSLError as exc:
        raise MailFailed(f"TLS with the mail server {where} failed ({exc.reason or type(exc).__name__})") from None
    except (smtplib.SMTPException, OSError) as exc:
        cause = "timed out" if isinstance(exc, TimeoutError) else (
            getattr(exc, "strerror", None) or type(exc).__name__)
        raise MailFailed(f"could not reach the mail server {where} ({cause})") from None
