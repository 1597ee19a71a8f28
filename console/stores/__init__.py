"""Stores: where the accounts live (docs/architecture.md, "Stores").

``native``: userdesk's own tables, in the desk database itself (the services'
own code, one transaction with the audit). Every other store is a module here
implementing ``console.stores.base.Store``; the desk is then a database of its
own (operators and the audit chain), and the store's database is only read and
changed through its adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from console.stores.base import Account, AccountPage, Credential, Store, StoreError

if TYPE_CHECKING:
    from console.config import Settings

#: Every store a profile can name, with what it is.
STORES = {
    "native": "userdesk's own tables (the desk database)",
    "django": "a Django project's users (auth_user, django_session)",
    "postgres-roles": "a PostgreSQL server's login roles (pg_roles, ALTER ROLE, pg_terminate_backend)",
    "redis-acl": "a Redis server's ACL users (ACL GETUSER, ACL SETUSER, CLIENT KILL USER)",
    "mysql-users": "a MariaDB server's user@host accounts (mysql.global_priv, ALTER USER, KILL)",
    "ldap": "an LDAP directory's people (OpenLDAP + ppolicy: Password Modify, pwdReset, pwdAccountLockedTime)",
}

__all__ = ["Account", "AccountPage", "Credential", "STORES", "Store", "StoreError", "open_store"]


def open_store(settings: "Settings", clock: Callable[[], datetime] | None = None) -> Store | None:
    """The store ``settings`` name, opened; None for ``native``."""
    if settings.store == "native":
        return None
    if settings.store == "django":
        from console.stores.django import DjangoStore

        return DjangoStore(
            settings.database_url, secret_key=settings.django_secret_key(), reset_url=settings.django_reset_url,
            reset_timeout_seconds=settings.django_reset_timeout_seconds, time_zone=settings.django_time_zone,
            hasher=settings.django_hasher, clock=clock,
        )
    if settings.store == "postgres-roles":
        from console.stores.postgres_roles import PostgresRolesStore

        return PostgresRolesStore(settings.database_url, clock=clock)
    if settings.store == "redis-acl":
        from console.stores.redis_acl import RedisAclStore

        return RedisAclStore(settings.database_url, password=settings.redis_password())
    if settings.store == "mysql-users":
        from console.stores.mysql_users import MySQLUsersStore

        return MySQLUsersStore(settings.database_url, clock=clock)
    if settings.store == "ldap":
        from console.stores.ldap import LdapStore

        return LdapStore(
            settings.database_url, bind_dn=settings.ldap_bind_dn or "", password=settings.ldap_bind_password() or "",
            base=settings.ldap_people_base or "", people_filter=settings.ldap_people_filter,
            username_attribute=settings.ldap_username_attribute, email_attribute=settings.ldap_email_attribute,
            name_attribute=settings.ldap_name_attribute, ca_file=settings.ldap_ca_file,
            starttls=settings.ldap_starttls, allow_cleartext=settings.ldap_allow_cleartext,
            default_policy=settings.ldap_default_policy_dn, admin_groups=settings.ldap_admin_groups,
            page_size=settings.ldap_page_size, clock=clock,
        )
    raise StoreError(f"unknown store {settings.store!r}", refused=False)  # pragma: no cover - Settings validates
