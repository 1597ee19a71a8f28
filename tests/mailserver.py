"""A real SMTP server for the tests (aiosmtpd) on loopback: plain, STARTTLS
and implicit TLS with a self-signed certificate the client trusts as its CA
file, with or without credentials. Import the fixtures into a test module:
``from mailserver import certificate, smtp``."""

from __future__ import annotations

import email
import ssl
import subprocess
from dataclasses import dataclass, field
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ports import free_port


@dataclass
class Inbox:
    """What the server accepted, and what it should refuse."""

    messages: list[Message] = field(default_factory=list)
    envelopes: list = field(default_factory=list)
    refuse_rcpt: bool = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (the client trusts it as its CA file)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


def _server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@pytest.fixture
def smtp(request, certificate):
    """``smtp(security="none"|"starttls"|"tls", user=None, password=None)``:
    start a server; returns (inbox, settings overrides for a context)."""
    started: list[Controller] = []

    def _start(security: str = "none", user: str | None = None, password: str | None = None):
        inbox = Inbox()
        port = free_port()
        kw: dict = {}
        if security == "starttls":
            kw.update(tls_context=_server_context(certificate), require_starttls=True)
        if user is not None:
            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                    user.encode(), password.encode())
                return AuthResult(success=ok, handled=False)
            # Over implicit TLS aiosmtpd does not know the session is encrypted: it is.
            kw.update(authenticator=authenticator, auth_require_tls=security == "starttls")
        controller = Controller(inbox, hostname="127.0.0.1", port=port,
                                ssl_context=_server_context(certificate) if security == "tls" else None,
                                server_hostname="127.0.0.1", **kw)
        controller.start()
        started.append(controller)
        overrides = {"mail_delivery": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": security,
                     "smtp_ca_file": str(certificate[0]), "smtp_timeout": 5.0, "mail_from": "Accounts <acc@example.com>"}
        if user is not None:
            overrides.update(smtp_username=user, smtp_password=password)
        return inbox, overrides

    yield _start
    for c in started:
        c.stop()
