"""The errors the ground floor raises (config, db, schema, mail), and their base.

Every error is a ``ServiceError``: a stable ``code`` for scripts and a message
a person can act on. No message ever carries a password, a hash or a token.
The service layer's own errors, and these again, are in
``console.services.errors``; this module imports nothing of the console, so
the modules below the services can raise them."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    code = "SERVICE_ERROR"
    #: Outcome written to the audit log when this error ends an action.
    outcome = "rejected"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"error_code": self.code, "error_msg": self.message}


class ConfigError(ServiceError):
    code = "CONFIG_INVALID"


class DatabaseUnavailable(ServiceError):
    code = "DB_UNAVAILABLE"
    outcome = "error"

    @classmethod
    def from_driver(cls, exc) -> "DatabaseUnavailable":
        """From a driver's OperationalError: its type only (its message may quote values)."""
        orig = getattr(exc, "orig", None)
        return cls(f"database unavailable: {type(orig).__name__ if orig is not None else 'error'}")


class NotInitialized(ServiceError):
    code = "NOT_INITIALIZED"


class SchemaOutdated(ServiceError):
    """The database is at an older schema version than this console."""

    code = "SCHEMA_OUTDATED"


class SchemaNewer(ServiceError):
    """The database is at a schema version this console does not know (newer)."""

    code = "SCHEMA_NEWER"


class MailFailed(ServiceError):
    """A reset link could not be handed over for delivery (nothing was issued)."""

    code = "MAIL_FAILED"
    outcome = "error"
