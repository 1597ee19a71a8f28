"""The service layer: every rule, every transaction, every audit event.

The TUI and the CLI call these functions and render what they return."""
