"""Pure password-security helpers: hashing, policy, generator, tokens, text.

Nothing in this package knows about a database or a user interface. No
password, hash or token ever appears in an exception message or a log line.
"""
