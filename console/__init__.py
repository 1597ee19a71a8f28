"""userdesk: a terminal administration console for user accounts."""

__version__ = "0.1.0"
