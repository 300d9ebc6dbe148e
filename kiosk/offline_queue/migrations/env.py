"""Alembic environment of the kiosk's queue database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from kiosk.offline_queue.models import Base
from mynapoint.database import make_engine

config = context.config


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        run(new_connection)
    engine.dispose()
