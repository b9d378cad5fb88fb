"""Helpers of the OSM writes: values as bind arrays, and updating rows already stored.

Each table is written with one ``INSERT … SELECT … FROM unnest(…)`` statement whose arrays
come from these helpers; :func:`sync_existing` counts (or updates in place) the stored rows
of the same OSM id whose tags or geometry changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.imports.geometry import Progress
from gridmap.imports.osm.report import OsmImportReport

Geoms = npt.NDArray[np.object_]


def str_or_none(values: Iterable[Any]) -> list[str | None]:
    """Values as text, missing values (None, NaN) as None."""
    return [None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
            for v in values]


def ewkb(geoms: Geoms) -> list[bytes]:
    """EWKB (SRID 4326) of each geometry, for a ``bytea[]`` bind."""
    return list(shapely.to_wkb(shapely.set_srid(np.asarray(geoms, dtype=object), 4326),
                               include_srid=True))


def first_name(tags: pd.DataFrame) -> list[str | None]:
    """``name``, else ``name:zh``, of each row."""
    name = tags["name"].where(tags["name"].notna(), tags["name:zh"])
    return str_or_none(name)


def report_progress(progress: Progress | None, stage: str, done: int,
                    total: int | None = None) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(stage, done, total)


def sync_existing(conn: Connection, table: str, source: str, match: str, differs: str,
                  assign: str, binds: dict[str, Any], update: bool, report: OsmImportReport
                  ) -> list[int]:
    """Stored rows of ``table`` (alias ``t``) matching rows of the new data ``source`` (alias
    ``n``) by ``match`` whose values differ (``differs``): counted, and updated in place with
    ``assign`` when ``update``. Returns the updated ids. The SQL fragments are constants of
    the OSM modules; values are bound."""
    if not update:
        report.changed_existing[table] = int(conn.execute(sa.text(
            f"SELECT count(*) FROM {table} t JOIN {source} ON {match} "  # noqa: S608
            f"WHERE {differs}"), binds).scalar_one())
        return []
    ids = [int(i) for i in conn.execute(sa.text(
        f"UPDATE {table} t SET {assign} FROM {source} WHERE {match} AND ({differs}) "  # noqa: S608
        "RETURNING t.id"), binds).scalars().all()]
    report.changed_existing[table] = len(ids)
    if ids:
        report.updated[table] = len(ids)
    return ids
