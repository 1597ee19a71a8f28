"""The service layer: every rule, every transaction, every audit event.

The TUI and the CLI call these functions and render what they return.

The public API (what the TUI and CLI may import; an import contract in
pyproject.toml holds them to it):

- accounts   a foreign store's accounts: list, show, reset, set, block, sessions, reset link, pending changes
- listing    the native store's accounts read: get, list (search, filter, order), count; the operators
- users      the native store's accounts changed: create, update, role, block, unlock, delete; add an operator
- passwords  reset, set, change one's own, force a change, expire
- tickets    single-use reset tickets: issue, email, list, revoke, redeem
- sessions   the application's sessions: list, revoke
- auth       operator sign-in, trusted operators, the application's authenticate
- audit      the audit log and the check of its chain
- bulk       one action over a filtered set of accounts
- detail     one account with its sessions, tickets, activity and danger zone
- policy     the active password policy and checking a password against it
- setup      init, the demo database, readiness checks
- database   the schema's version and upgrade, a database described for display
- context, views, errors, permissions, validation: the values these take and return

Internal to the layer (never imported by the TUI or CLI): base (the
transaction and audit shape of every action), auditlog (the chain's writer),
prepared, pagination and search (the list reads).
"""
