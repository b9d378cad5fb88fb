"""Request-scoped database access for the web app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy.engine import Connection, Engine

from gridmap.config import Settings
from gridmap.db import database_url, make_engine
from web import dbroute


def session_options(settings: Settings) -> str:
    """libpq ``options`` of web sessions: statement and lock timeouts from the settings.

    A slow request or one waiting on a lock (e.g. behind a bulk import) gives up and
    answers 503 instead of holding a worker and a connection.
    """
    return (f"-c statement_timeout={int(settings.db_statement_timeout_ms)}"
            f" -c lock_timeout={int(settings.db_lock_timeout_ms)}")


def init_app(app: Flask, settings: Settings) -> None:
    """Create the engine once per app (starting the embedded cluster if needed)."""
    app.extensions["gridmap.engine"] = make_engine(
        database_url(settings), pool_size=10, max_overflow=10,
        connect_args={"options": session_options(settings)},
    )
    dbroute.init_app(app, settings, session_options(settings))  # read replica (#18)


def engine() -> Engine:
    eng: Engine = current_app.extensions["gridmap.engine"]
    return eng


@contextmanager
def read() -> Iterator[Connection]:
    """A connection for reads (its transaction is rolled back at the end): the read
    replica when one is configured and this request may use it (web/dbroute.py)."""
    with dbroute.read_engine(engine()).connect() as conn:
        yield conn


def replica_or_primary() -> Engine:
    """The replica's engine when one is configured, else the primary's: for read-only
    pools that never need read-after-write (``/api/locate``)."""
    replica: Engine | None = current_app.extensions.get("gridmap.read_engine")
    return replica if replica is not None else engine()


@contextmanager
def write() -> Iterator[Connection]:
    """A transaction committed on success and rolled back on any error."""
    with engine().begin() as conn:
        yield conn
