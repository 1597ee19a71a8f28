"""Alembic migrations of the userdesk schema (run by console/schema.py, never by hand-edited alembic.ini)."""
