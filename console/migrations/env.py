"""Alembic's environment: always run from console/schema.py on a connection it
passes in (``config.attributes["connection"]``), never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from console import models  # registers the tables
from console.schema import include_object

models.declare_list_indexes()  # the list's partial indexes, as the migrations make them


def run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
