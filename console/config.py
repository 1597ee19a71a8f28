"""Settings: a TOML file, named profiles, and ``USERDESK_*`` environment overrides.

Where settings come from, later ones winning:

1. the defaults below;
2. the top-level keys of the config file (``$USERDESK_CONFIG``, else
   ``config.toml`` in the platform config directory);
3. the ``[profiles.NAME]`` table of that file for the chosen profile
   (``--profile NAME`` or ``$USERDESK_PROFILE``);
4. environment variables ``USERDESK_<SETTING>`` (e.g. ``USERDESK_DATABASE_URL``);
5. explicit overrides from the command line (e.g. ``--db``).
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from console.security.hashing import Argon2Params
from console.security.policy import PRESETS, Policy, get_policy
from console.errors import ConfigError

APP_NAME = "userdesk"
ENV_PREFIX = "USERDESK_"
MAX_TICKET_LIFETIME_MINUTES = 24 * 60
DEFAULT_MAIL_BODY = """Hello {display_name},

a password reset was requested for your account {username}.
Choose a new password here (the link works once, until {expires}):

{link}

If you did not ask for this, tell your helpdesk; your password has not changed.
"""


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def audit_keys_dir() -> Path:
    """Where the audit keys live by default: one 0600 file per key, named by its id."""
    return data_dir() / "audit-keys"


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'userdesk.db'}"


def demo_database_url() -> str:
    return f"sqlite:///{data_dir() / 'demo.db'}"


def _demo_profile() -> dict[str, Any]:
    """The demo database: operators are taken at their word (trusted mode) and
    need not say why they reset a password."""
    return {"database_url": demo_database_url(), "trusted_operator": True, "reason_required": False}


#: Profiles that exist without a config file (a file's profile of the same name wins).
BUILTIN_PROFILES = {"demo": _demo_profile}


def desk_url_for(store: str, database_url: str) -> str:
    """The default desk of a foreign store: a private SQLite file in the data
    directory, one per store database (so every profile on one Django project
    shares its operators and audit chain)."""
    try:  # the same desk whatever password the URL carries (it may change)
        from sqlalchemy.engine import make_url

        parsed = make_url(database_url)
        if parsed.password is not None:
            database_url = parsed._replace(password=None).render_as_string(hide_password=False)
    except Exception:  # noqa: BLE001 - not a URL: keyed as written
        pass
    key = hashlib.sha256(f"{store}\0{database_url}".encode()).hexdigest()[:16]
    return f"sqlite:///{data_dir() / 'desks' / f'{store}-{key}.db'}"


#: The policy preset of a store whose system has rules of its own (the seed
#: documents': GaussDB's for a MySQL instance, DCS's for a Redis one), used when
#: the profile names none.
STORE_POLICY = {"mysql-users": "gaussdb", "redis-acl": "dcs"}

STORE_NAMES = ("native", "django", "postgres-roles", "redis-acl", "mysql-users", "ldap")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)

    #: Where the accounts live: ``native`` (userdesk's own tables) or ``django``
    #: (a Django project's users, in the database at ``database_url``).
    #: ``postgres-roles``: a PostgreSQL server's login roles, through the admin
    #: connection ``database_url`` names (its password from the URL, PGPASSFILE /
    #: ~/.pgpass or PGPASSWORD). ``redis-acl``: a Redis server's ACL users,
    #: through ``database_url`` = redis://admin@host:6379/0 (rediss:// for TLS;
    #: the password from the URL, redis_password_file or REDISCLI_AUTH).
    #: ``mysql-users``: a MariaDB server's user@host accounts, through the admin
    #: connection ``database_url`` names (its password from the URL, MYSQL_PWD
    #: or an option file: ``?read_default_file=PATH``, else ~/.my.cnf).
    #: ``ldap``: people in an LDAP directory (OpenLDAP + ppolicy) at
    #: ``database_url`` (ldap://HOST with StartTLS, or ldaps://HOST), bound as
    #: ``ldap_bind_dn`` (its password from ldap_bind_password_file or the
    #: environment).
    store: Literal["native", "django", "postgres-roles", "redis-acl", "mysql-users", "ldap"] = "native"
    database_url: str = Field(default_factory=default_database_url)
    #: The desk (operators, audit) of a foreign store; default: a private SQLite
    #: file per store database in the data directory (desk_url_for). The native
    #: store's desk is ``database_url`` itself.
    desk_url: str | None = None
    #: Django: the project's SECRET_KEY, for reset links, from a file readable
    #: by its owner only, or else from the environment variable named here.
    django_secret_key_file: str | None = None
    django_secret_key_env: str = "DJANGO_SECRET_KEY"
    #: redis-acl: the store connection's password, from a file only its owner
    #: may read, when the URL has none (else REDISCLI_AUTH, as redis-cli).
    redis_password_file: str | None = None
    #: Django: the project's password-reset confirm address; {uidb64} and {token}.
    django_reset_url: str = "http://localhost:8000/accounts/reset/{uidb64}/{token}/"
    #: Django: PASSWORD_RESET_TIMEOUT (seconds; shown with a link) and TIME_ZONE
    #: (the reset token's clock is the Django process's local time).
    django_reset_timeout_seconds: int = Field(259200, ge=60, le=365 * 86400)
    django_time_zone: str = "UTC"
    #: Django: the hasher new passwords are written with; ``auto``: the one the
    #: project's most recent sign-in left (Django's first PASSWORD_HASHERS entry).
    django_hasher: Literal["auto", "pbkdf2_sha256", "argon2", "bcrypt_sha256", "scrypt"] = "auto"
    #: LDAP: the DN userdesk binds as, and its password: from a file readable by
    #: its owner only, or else the environment variable named here.
    ldap_bind_dn: str | None = None
    ldap_bind_password_file: str | None = None
    ldap_bind_password_env: str = "USERDESK_LDAP_PASSWORD"
    #: LDAP: where the people are, which entries are people, and their attributes.
    ldap_people_base: str | None = None
    ldap_people_filter: str = "(objectClass=inetOrgPerson)"
    ldap_username_attribute: str = Field("uid", pattern=r"^[A-Za-z][A-Za-z0-9-]*$")
    ldap_email_attribute: str = Field("mail", pattern=r"^[A-Za-z][A-Za-z0-9-]*$")
    ldap_name_attribute: str = Field("cn", pattern=r"^[A-Za-z][A-Za-z0-9-]*$")
    #: LDAP: TLS. ldaps:// always; ldap:// with StartTLS (``auto``: except on
    #: loopback); the CA file that signed the server's certificate (else the
    #: system's). A bind over cleartext off loopback needs ldap_allow_cleartext.
    ldap_starttls: Literal["auto", "always", "never"] = "auto"
    ldap_ca_file: str | None = None
    ldap_allow_cleartext: bool = False
    #: LDAP: the policy entry slapd applies where an entry names none
    #: (ppolicy_default: in the server's configuration, which a client cannot
    #: read), for the expiry (pwdMaxAge); and the groups whose members count as
    #: admins (helpdesk operators may not change them).
    ldap_default_policy_dn: str | None = None
    ldap_admin_groups: list[str] = Field(default_factory=list)
    #: LDAP: entries per page of the paged-results control.
    ldap_page_size: int = Field(500, ge=1, le=10000)
    #: Connection pool of a server database (PostgreSQL), per console process:
    #: connections kept open, extra ones allowed under load, seconds to wait for
    #: one, and seconds after which a connection is replaced (0: never).
    db_pool_size: int = Field(5, ge=1, le=100)
    db_max_overflow: int = Field(5, ge=0, le=100)
    db_pool_timeout: float = Field(10.0, gt=0, le=600)
    db_pool_recycle: int = Field(1800, ge=0, le=86400)
    #: Password policy preset (see ``console.security.policy.PRESETS``); when
    #: not given, the store's own rules where the seeds give them
    #: (STORE_POLICY: ``gaussdb`` for mysql-users, ``dcs`` for redis-acl), else
    #: ``nist`` ...
    policy: str = "nist"
    #: ... and per-field overrides, e.g. ``{min_length = 12, history = 10}``.
    policy_overrides: dict[str, Any] = Field(default_factory=dict)

    #: Never below OWASP's floor for argon2id (19 MiB, 2 passes): a weaker
    #: setting would also rehash strong hashes down at the next sign-in.
    argon2_time_cost: int = Field(3, ge=2, le=100)
    argon2_memory_cost: int = Field(65536, ge=19 * 1024, le=4 * 1024 * 1024)  # KiB
    argon2_parallelism: int = Field(4, ge=1, le=64)

    #: Days a new password stays valid; 0 means passwords do not expire; unset:
    #: the policy preset's own (``nist``: never). Read it through
    #: ``default_expiry_days()``, which gives the one answer.
    password_expiry_days: int | None = Field(None, ge=0, le=36500)
    ticket_lifetime_minutes: int = Field(60, ge=1, le=MAX_TICKET_LIFETIME_MINUTES)
    #: Where a reset ticket sends the user; ``{token}`` and ``{username}`` are filled in.
    ticket_url_template: str = "https://accounts.example.com/reset?token={token}"
    clipboard_clear_seconds: int = Field(30, ge=0, le=3600)

    #: How a reset link is emailed to a user: ``off``, ``smtp``, or ``outbox``
    #: (one .eml file per message in ``mail_outbox``, for development).
    mail_delivery: Literal["off", "smtp", "outbox"] = "off"
    mail_from: str = "userdesk <no-reply@localhost>"
    mail_subject: str = "Reset your password"
    #: Filled in: {display_name} {username} {link} {expires} (UTC) {minutes}.
    mail_body: str = DEFAULT_MAIL_BODY
    mail_outbox: str = Field(default_factory=lambda: str(data_dir() / "outbox"))
    smtp_host: str = "localhost"
    smtp_port: int = Field(587, ge=1, le=65535)
    #: ``starttls`` (upgrade on the submission port), ``tls`` (implicit, port
    #: 465) or ``none`` (plain: a relay on localhost only).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    #: Better given as USERDESK_SMTP_PASSWORD than written in the file.
    smtp_password: SecretStr | None = None
    #: A CA bundle for a relay whose certificate a private CA signed.
    smtp_ca_file: str | None = None
    smtp_timeout: float = Field(10.0, gt=0, le=300)

    #: The audit log's signing key (HMAC-SHA-256), which the database never
    #: holds: base64 or hex of at least 32 random bytes. Better given as
    #: USERDESK_AUDIT_KEY than written here ...
    audit_key: SecretStr | None = None
    #: ... or as a file only its owner may read. Neither given: the key made
    #: with the desk's first event, in <data dir>/audit-keys/<key id>.key.
    audit_key_file: str | None = None

    #: Console sign-in lockout for operators.
    operator_lockout_failures: int = Field(5, ge=1, le=100)
    operator_lockout_minutes: int = Field(15, ge=1, le=7 * 24 * 60)
    #: Lockout applied by ``authenticate`` for the integrating application.
    user_lockout_failures: int = Field(5, ge=1, le=100)
    user_lockout_minutes: int = Field(15, ge=1, le=7 * 24 * 60)
    #: Lifetime of an application session opened through ``open_session``.
    session_lifetime_hours: int = Field(12, ge=1, le=24 * 365)

    #: Whether admins and helpdesk may choose a user's password. Off gives
    #: OWASP ASVS 6.4.6 behaviour: only generated passwords and reset tickets.
    admin_may_set_password: bool = True
    #: An operator must say why they reset or set a user's password (the
    #: audit log records it). Off for local development (the built-in demo).
    reason_required: bool = True
    #: Trusted operator mode: ``--operator NAME`` is taken without a password.
    #: For forced-command SSH deployments and local development only.
    trusted_operator: bool = False
    read_only: bool = False
    theme: str = "userdesk-dark"

    @field_validator("django_reset_url")
    @classmethod
    def _reset_url(cls, v: str) -> str:
        if "{token}" not in v or "{uidb64}" not in v:
            raise ValueError("must contain {uidb64} and {token}")
        try:
            v.format(uidb64="u", token="t")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"only {{uidb64}} and {{token}} may be used ({exc})") from None
        return v

    @field_validator("audit_key_file")
    @classmethod
    def _key_file_absolute(cls, v: str | None) -> str | None:
        if v is not None and not Path(v).expanduser().is_absolute():
            raise ValueError("must be an absolute path (or start with ~/): a relative one would name another file "
                             "in every directory a command runs in")
        return v

    @field_validator("django_time_zone")
    @classmethod
    def _time_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (Django's TIME_ZONE, e.g. UTC or Europe/Berlin)") from None
        return v

    @model_validator(mode="before")
    @classmethod
    def _store_policy(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("policy") is None and data.get("store") in STORE_POLICY:
            data = {**data, "policy": STORE_POLICY[data["store"]]}
        return data

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, v: str) -> str:
        if v not in PRESETS:
            raise ValueError(f"unknown policy preset {v!r}; known: {', '.join(PRESETS)}")
        return v

    @field_validator("ticket_url_template")
    @classmethod
    def _template_has_token(cls, v: str) -> str:
        if "{token}" not in v:
            raise ValueError("must contain {token}")
        try:
            v.format(token="t", username="u")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"only {{token}} and {{username}} may be used ({exc})") from None
        return v

    @field_validator("mail_body", "mail_subject")
    @classmethod
    def _mail_template(cls, v: str, info) -> str:
        try:
            v.format(display_name="d", username="u", link="l", expires="e", minutes=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"only {{display_name}} {{username}} {{link}} {{expires}} {{minutes}} may be used "
                             f"({exc})") from None
        if info.field_name == "mail_body" and "{link}" not in v:
            raise ValueError("must contain {link}")
        if info.field_name == "mail_subject" and "{link}" in v:
            raise ValueError("must not contain {link} (a subject is shown in mail lists)")
        return v

    @model_validator(mode="after")
    def _policy_overrides_valid(self) -> "Settings":
        try:
            get_policy(self.policy, self.policy_overrides)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"policy_overrides: {exc}") from None
        return self

    @model_validator(mode="after")
    def _ldap_url_is_the_ldap_store(self) -> "Settings":
        ldap_url = self.database_url.lower().startswith(("ldap://", "ldaps://"))
        if ldap_url and self.store != "ldap":
            raise ValueError("database_url is an LDAP directory: open its people as a store with `userdesk --store "
                             "ldap --db URL` (and ldap_bind_dn, ldap_people_base; userdesk adds nothing to it)")
        if self.store == "ldap" and not ldap_url:
            raise ValueError("store ldap: database_url must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]")
        return self

    # -- derived ---------------------------------------------------------------

    @property
    def foreign_store(self) -> bool:
        return self.store != "native"

    def desk_database_url(self) -> str:
        """Where operators and the audit chain live."""
        if not self.foreign_store:
            return self.database_url
        return self.desk_url or desk_url_for(self.store, self.database_url)

    def django_secret_key(self) -> str | None:
        """Django's SECRET_KEY, from the key file (refused unless only its owner
        may read it) or the environment; None when neither is given."""
        if self.django_secret_key_file:
            # A key is never spaces at its ends (Django's own keys), so they go, as they always did here.
            return _owner_only_secret("django_secret_key_file", self.django_secret_key_file, strip=True)
        return os.environ.get(self.django_secret_key_env) or None

    def redis_password(self) -> str | None:
        """The redis-acl connection's password from ``redis_password_file``
        (refused unless only its owner may read it); None when not set."""
        if not self.redis_password_file:
            return None
        return _owner_only_secret("redis_password_file", self.redis_password_file)

    def ldap_bind_password(self) -> str | None:
        """The bind DN's password, from its file (refused unless only its owner
        may read it) or the environment; None when neither is given."""
        if self.ldap_bind_password_file:
            return _owner_only_secret("ldap_bind_password_file", self.ldap_bind_password_file)
        return os.environ.get(self.ldap_bind_password_env) or None

    def password_policy(self) -> Policy:
        return get_policy(self.policy, self.policy_overrides)

    def default_expiry_days(self) -> int:
        """Days a new password stays valid unless the operator says otherwise
        (0: never): ``password_expiry_days`` when it is set, else the policy
        preset's ``expiry_days`` (``policy_overrides`` applied)."""
        if self.password_expiry_days is not None:
            return self.password_expiry_days
        return self.password_policy().expiry_days

    def argon2_params(self) -> Argon2Params:
        return Argon2Params(
            time_cost=self.argon2_time_cost,
            memory_cost=self.argon2_memory_cost,
            parallelism=self.argon2_parallelism,
        )

    def ticket_url(self, token: str, username: str) -> str:
        # Percent-encoded: a '+' in a username would read as a space in a query
        # string, and a stored name with '&' or '/' must not add parts to the link.
        return self.ticket_url_template.format(token=quote(token, safe=""), username=quote(username, safe=""))


def _owner_only_secret(setting: str, name: str, *, strip: bool = False) -> str:
    """A secret from a file only its owner may read (a store's key or
    password file): the file's text but its final line break (a password may
    begin or end with a space; ``strip``: without spaces at its ends either);
    refused when others may read it, unreadable or empty."""
    from console.security.files import PrivateFileError, read_private

    path = Path(name).expanduser()
    try:
        text = read_private(path, setting).decode("utf-8")
    except PrivateFileError as exc:
        raise ConfigError(str(exc)) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{setting} {path}: not UTF-8 text") from None
    value = text.strip() if strip else text.rstrip("\r\n")
    if not value:
        raise ConfigError(f"{setting} {path}: empty")
    return value


def _coerce_env(name: str, raw: str) -> Any:
    """Environment values are strings; booleans and numbers are parsed by pydantic,
    but ``policy_overrides`` is given as inline TOML (``min_length = 12, history = 3``)."""
    if name == "policy_overrides":
        try:
            return tomllib.loads(raw.replace(",", "\n"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{ENV_PREFIX}POLICY_OVERRIDES: not valid TOML key = value pairs ({exc})") from None
    return raw


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc.strerror})") from None


def load_settings(
    *,
    profile: str | None = None,
    config_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    env = os.environ if env is None else env
    explicit_path = config_path or env.get(f"{ENV_PREFIX}CONFIG")
    path = Path(explicit_path) if explicit_path else default_config_path()
    if explicit_path and not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    raw = _read_file(path)

    profiles = raw.pop("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"config file {path}: [profiles] must be a table of tables")
    values: dict[str, Any] = dict(raw)
    builtin_demo = False
    profile = profile or env.get(f"{ENV_PREFIX}PROFILE") or None
    if profile:
        if profile not in profiles and profile in BUILTIN_PROFILES:
            profiles[profile] = BUILTIN_PROFILES[profile]()
            builtin_demo = profile == "demo"
        if profile not in profiles:
            known = ", ".join([*sorted(profiles), *(f"{name} (built in)" for name in sorted(BUILTIN_PROFILES)
                                                     if name not in profiles)])
            raise ConfigError(f"profile {profile!r} is not in {path} (profiles: {known})")
        chosen = profiles[profile]
        if not isinstance(chosen, dict):
            raise ConfigError(f"config file {path}: [profiles.{profile}] must be a table")
        values.update(chosen)

    fields = Settings.model_fields
    explicit: set[str] = set()
    for name in fields:
        key = ENV_PREFIX + name.upper()
        if key in env:
            values[name] = _coerce_env(name, env[key])
            explicit.add(name)
    if overrides:
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        explicit.update(given)
    if builtin_demo and values.get("database_url", default_database_url()) != demo_database_url():
        # The demo's password-free operators, and its resets without a reason,
        # are for the demo database only.
        for name, default in (("trusted_operator", False), ("reason_required", True)):
            if name not in explicit:
                values[name] = default

    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings ({problems})") from None
