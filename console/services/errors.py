"""Service errors: a stable ``code`` for scripts and a message a person can act on.

No message ever carries a password, a hash or a token.
"""

from __future__ import annotations

# Defined on the ground floor (config, db, schema and mail raise them), here as well:
# every error is importable from console.services.errors.
from console.errors import (  # noqa: F401
    ConfigError,
    DatabaseUnavailable,
    MailFailed,
    NotInitialized,
    SchemaNewer,
    SchemaOutdated,
    ServiceError,
)


class InvalidInput(ServiceError):
    code = "INVALID_INPUT"

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field, rule=rule)
        self.field = field
        self.rule = rule


class NoChange(InvalidInput):
    """Nothing to do: the account is already as asked (force-change twice, block
    a blocked account). Not a failure: audited as ``ok``, unchanged, and the
    CLI exits 0 saying so."""

    code = "NO_CHANGE"
    outcome = "ok"

    def __init__(self, field: str, message: str) -> None:
        ServiceError.__init__(self, message, field=field, rule="no_change")
        self.field, self.rule = field, "no_change"


class ReasonRequired(InvalidInput):
    """The action must record why (a block, a password reset or set, anything
    helpdesk does): the field ``reason`` is empty."""

    code = "REASON_REQUIRED"

    def __init__(self, message: str = "is required") -> None:
        super().__init__("reason", "required", message)


class UserNotFound(ServiceError):
    code = "USER_NOT_FOUND"


class UserExists(ServiceError):
    code = "USER_EXISTS"


class WeakPassword(ServiceError):
    code = "WEAK_PASSWORD"

    def __init__(self, failures: list) -> None:  # list[RuleResult]
        texts = "; ".join(f"{f.rule}: {f.text}" for f in failures)
        super().__init__(f"password: does not meet the policy ({texts})", rules=[f.rule for f in failures])
        self.failures = failures


class PermissionDenied(ServiceError):
    code = "PERMISSION_DENIED"
    outcome = "denied"


class ReadOnly(PermissionDenied):
    code = "READ_ONLY"


class IdentityCheckRequired(PermissionDenied):
    code = "IDENTITY_CHECK_REQUIRED"
    #: The field a form asks it in.
    field = "identity_check"


class PasswordChoiceDisabled(PermissionDenied):
    code = "SET_PASSWORD_DISABLED"


class PasswordChangeRequired(PermissionDenied):
    code = "PASSWORD_CHANGE_REQUIRED"


class SelfAction(PermissionDenied):
    code = "SELF_ACTION"


class LastAdmin(ServiceError):
    code = "LAST_ADMIN"


class StaleRecord(ServiceError):
    code = "STALE_RECORD"


class ExternalAccount(ServiceError):
    code = "EXTERNAL_ACCOUNT"


class TicketInvalid(ServiceError):
    code = "TICKET_INVALID"


class TicketNotFound(ServiceError):
    code = "TICKET_NOT_FOUND"


class RateLimited(ServiceError):
    """Too many refused attempts in a time window: try again later."""

    code = "RATE_LIMITED"
    outcome = "rejected"


class AuthFailed(ServiceError):
    code = "AUTH_FAILED"
    outcome = "denied"


class LockedOut(ServiceError):
    code = "LOCKED_OUT"
    outcome = "denied"

    def __init__(self, message: str, until=None) -> None:
        super().__init__(message, until=until)
        self.until = until


# -- stores (console/stores/) ---------------------------------------------------


class NotSupported(ServiceError):
    """The store cannot do this action; the message names the store and why."""

    code = "NOT_SUPPORTED"


class StoreRefused(ServiceError):
    """The store's system said no (its own words); nothing changed."""

    code = "STORE_REFUSED"


class StoreUnavailable(ServiceError):
    """The store's database or server could not be opened or reached."""

    code = "STORE_UNAVAILABLE"
    outcome = "error"


class ForeignStore(ServiceError):
    """The database holds another system's accounts (a Django project's):
    userdesk opens it as that store instead of adding its tables to it."""

    code = "FOREIGN_STORE"


class AuditUnavailable(ServiceError):
    """The audit log cannot be extended, so nothing may change (reads work)."""

    code = "AUDIT_UNAVAILABLE"
    outcome = "error"


class AuditKeyMissing(AuditUnavailable):
    """The log is signed with a key this machine does not have."""

    code = "AUDIT_KEY_MISSING"


class AuditKeyMismatch(AuditUnavailable):
    """The key given is not the one the log is signed with."""

    code = "AUDIT_KEY_MISMATCH"


class AuditBroken(AuditUnavailable):
    """The log's signatures do not hold: extending or signing it would hide that."""

    code = "AUDIT_BROKEN"
