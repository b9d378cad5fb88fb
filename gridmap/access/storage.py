"""Bulk writes of the access tables: text ``COPY`` of rows and hex EWKB geometries.

The walking network, snaps, coverage rows and service areas are written with these two
helpers (one ``COPY`` per table instead of row-by-row inserts).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy.engine import Connection

from gridmap.db.engine import raw_psycopg


def copy_rows(conn: Connection, table: str, columns: list[str],
              rows: list[tuple[Any, ...]]) -> None:
    """COPY ``rows`` into ``table`` (text format; None = NULL; geometries as hex EWKB).

    ``table`` and ``columns`` are fixed names chosen by the caller, never user input.
    """
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in row))
        buf.write("\n")
    cur = raw_psycopg(conn).cursor()
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        cp.write(buf.getvalue())


def ewkb_hex(geoms: Any) -> npt.NDArray[np.str_]:
    """Hex EWKB with SRID 4326 for COPY."""
    g = shapely.set_srid(np.asarray(geoms, dtype=object), 4326)
    return np.asarray(shapely.to_wkb(g, hex=True, include_srid=True))
