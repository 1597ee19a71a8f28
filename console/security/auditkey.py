"""The audit log's key: HMAC-SHA-256 over the hash chain, with a key the
database does not hold (a 0600 file of the operator's, or the environment).

Anyone who can write the database can recompute a plain hash chain; without
this key they cannot make a signature that verifies. The key never appears in
a message, a repr or the database: the database holds only its *id*, an HMAC
of a fixed label, which names the key without revealing it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
from hashlib import sha256
from pathlib import Path

from console.security.files import PrivateFileError, read_private


__all__ = ["AuditKey", "KeyFileError", "KEY_BYTES"]

#: 256 bits, HMAC-SHA-256's block of security.
KEY_BYTES = 32
_ID_LABEL = b"userdesk audit key id"


class KeyFileError(Exception):
    """A key that cannot be read, or is not a key; the message names the file
    or the setting, never the key."""


class AuditKey:
    __slots__ = ("_key", "id")

    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise KeyFileError(f"an audit key must be at least {KEY_BYTES} bytes (got {len(key)})")
        self._key = key
        #: Public: stored in the database to say which key signs its log.
        self.id = hmac.new(key, _ID_LABEL, sha256).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"AuditKey(id={self.id})"

    @classmethod
    def generate(cls) -> "AuditKey":
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_text(cls, text: str, *, where: str) -> "AuditKey":
        """A key written as base64 or hex (a key file's content, or
        USERDESK_AUDIT_KEY); ``where`` names it in an error."""
        raw = text.strip()
        for decode in (bytes.fromhex, lambda s: base64.b64decode(s, validate=True)):
            try:
                key = decode(raw)
            except (ValueError, binascii.Error):
                continue
            if len(key) >= KEY_BYTES:
                return cls(key)
        raise KeyFileError(f"{where}: not an audit key (base64 or hex of at least {KEY_BYTES} random bytes; "
                           "e.g. from `openssl rand -base64 32`)")

    def text(self) -> str:
        """The key as a key file holds it (base64): for writing the file only."""
        return base64.b64encode(self._key).decode("ascii")

    # -- files ---------------------------------------------------------------------

    @classmethod
    def read(cls, path: Path) -> "AuditKey":
        """The key in ``path``; refused unless only its owner may read it
        (the mode of the file opened, not of whatever the path names later)."""
        try:
            content = read_private(path, "audit key file", nofollow=True, limit=4096).decode("ascii")
        except PrivateFileError as exc:
            raise KeyFileError(str(exc)) from None
        except UnicodeDecodeError:
            raise KeyFileError(f"audit key file {path}: cannot be read (UnicodeDecodeError)") from None
        return cls.from_text(content, where=f"audit key file {path}")

    def write(self, path: Path) -> None:
        """Write the key to a new file ``path``, 0600 in a 0700 directory, in
        one exclusive create: an existing file (another desk's key, a link) is
        never written to."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            raise KeyFileError(f"audit key file {path}: exists already; not overwritten") from None
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(self.text() + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    # -- signatures ----------------------------------------------------------------

    def _mac(self, *parts: object) -> str:
        msg = "\0".join(str(p) for p in parts).encode()
        return hmac.new(self._key, msg, sha256).hexdigest()

    def sign_event(self, event_hash: str) -> str:
        """An event's signature: over its chain hash, which covers the event
        and every event before it."""
        return self._mac("event", event_hash)

    def sign_head(self, seq: int, event_hash: str) -> str:
        """The head's signature: the newest event's number and hash."""
        return self._mac("head", seq, event_hash, self.id)

    def sign_checkpoint(self, seq: int, event_hash: str, at: str, made_at: str) -> str:
        """A checkpoint's signature, kept outside the database by an operator."""
        return self._mac("checkpoint", seq, event_hash, at, made_at, self.id)

    @staticmethod
    def same(a: str | None, b: str) -> bool:
        return a is not None and hmac.compare_digest(a, b)
