"""The read replica: a PostgreSQL streaming standby (``pg_basebackup -R``) that serves
pages and read APIs (``GRIDMAP_READ_DATABASE_URL``; the web app decides per request in
``web/dbroute.py``), and its lag as the health check reports it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.config import Settings


def read_database_url(settings: Settings) -> str | None:
    """The replica's SQLAlchemy URL (psycopg 3 driver), or None when none is configured."""
    url = settings.read_database_url
    if not url:
        return None
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def primary_position(conn: Connection) -> str:
    """The primary's current WAL position (LSN text)."""
    return str(conn.execute(sa.text("SELECT pg_current_wal_lsn()::text")).scalar_one())


def replica_status(conn: Connection, primary_lsn: str | None = None) -> dict[str, Any]:
    """How far the server behind ``conn`` is behind its primary.

    Parameters
    ----------
    conn:
        A connection to the replica.
    primary_lsn:
        The primary's current position (:func:`primary_position`), to report the bytes of
        WAL not yet replayed.

    Returns
    -------
    dict
        ``in_recovery`` (False: this is no standby), ``lag_s`` (seconds since the last
        replayed transaction when WAL is waiting to be replayed, else 0), ``lag_bytes``
        (None without ``primary_lsn``), ``replay_paused``.
    """
    row = conn.execute(sa.text(
        """
        SELECT pg_is_in_recovery() AS rec,
               CASE WHEN NOT pg_is_in_recovery() THEN 0
                    WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
                         AND (CAST(:p AS pg_lsn) IS NULL
                              OR pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn)) THEN 0
                    ELSE EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp()) END AS lag_s,
               CASE WHEN CAST(:p AS pg_lsn) IS NULL OR NOT pg_is_in_recovery() THEN NULL
                    ELSE GREATEST(0, pg_wal_lsn_diff(CAST(:p AS pg_lsn),
                                                     pg_last_wal_replay_lsn())) END AS lag_bytes,
               CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END
                   AS paused
        """), {"p": primary_lsn}).mappings().one()
    return {"in_recovery": bool(row["rec"]),
            "lag_s": round(float(row["lag_s"] or 0.0), 3),
            "lag_bytes": None if row["lag_bytes"] is None else int(row["lag_bytes"]),
            "replay_paused": bool(row["paused"])}
