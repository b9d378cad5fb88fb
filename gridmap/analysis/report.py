"""Emerging hot spots of the database's cases: cube → :func:`~gridmap.analysis.ehsa.emerging_hotspots`
→ one row per grid, a summary per class, an XLSX export. Shared by the CLI and the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.analysis.cube import Cube, load_cube, step_dates
from gridmap.analysis.ehsa import CLASSES, EhsaParams, EhsaResult, emerging_hotspots
from gridmap.config import Settings
from gridmap.errors import ValidationError

HOT_NOW = frozenset(c for c in CLASSES if c.endswith("_hot") and c != "historical_hot")
"""Hot classes whose last step is a significant hot spot (the map a patrol plan would use)."""


@dataclass(frozen=True)
class EhsaRun:
    """A finished run: the cube it read and the result per grid."""

    cube: Cube
    result: EhsaResult
    params: EhsaParams


def params_from(settings: Settings, **overrides: Any) -> EhsaParams:
    """:class:`EhsaParams` from the settings (``ehsa_alpha``, ``ehsa_time_lag``, ``ehsa_share``)."""
    values: dict[str, Any] = {"alpha": settings.ehsa_alpha, "time_lag": settings.ehsa_time_lag,
                              "share": settings.ehsa_share}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return EhsaParams(**values)


def street_ids_for(conn: Connection, codes: Sequence[str]) -> list[int]:
    """Ids of streets by division code; every unknown code reported at once."""
    rows = conn.execute(sa.text("SELECT code, id FROM street WHERE code = ANY(:c)"),
                        {"c": list(codes)}).all()
    found = {str(c): int(i) for c, i in rows}
    missing = [c for c in codes if c not in found]
    if missing:
        raise ValidationError("analysis.street_unknown", params={"codes": ", ".join(missing)})
    return [found[c] for c in codes]


def run(conn: Connection, step: str = "week", start: dt.date | None = None,
        end: dt.date | None = None, *, street_ids: Sequence[int] | None = None,
        community_ids: Sequence[int] | None = None, filters: Mapping[str, Any] | None = None,
        params: EhsaParams | None = None, today: dt.date | None = None) -> EhsaRun:
    """Emerging hot spots of the active grids in scope over whole weeks or months.

    Parameters
    ----------
    step:
        ``week`` or ``month``.
    start, end:
        Days inside the first and last step (default: the last 104 weeks / 24 months before
        the current step).
    street_ids, community_ids:
        The study area (default: every active grid).
    filters:
        Further incident filters (categories, sources …).
    params:
        :class:`EhsaParams` (significance, time lag, share).

    Returns
    -------
    EhsaRun
        The cube and the result.
    """
    params = params or EhsaParams()
    steps = step_dates(step, start, end, today)
    if len(steps) < 3:
        raise ValidationError("analysis.too_few_steps", params={"n": len(steps), "min": 3})
    cube = load_cube(conn, step, steps, street_ids=street_ids, community_ids=community_ids,
                     filters=filters)
    result = emerging_hotspots(cube.counts, cube.adjacency, params)
    return EhsaRun(cube=cube, result=result, params=params)


def rows(r: EhsaRun) -> list[dict[str, Any]]:
    """One plain row per grid: id, code, class, cases, significant hot/cold steps, trend."""
    res, cube = r.result, r.cube
    hot = (res.significant & (res.z > 0)).sum(axis=1)
    cold = (res.significant & (res.z < 0)).sum(axis=1)
    codes = res.class_codes()
    return [{"grid_id": int(cube.grid_ids[i]), "grid_code": cube.grid_codes[i],
             "class": codes[i], "cases": int(cube.counts[i].sum()),
             "cases_last": int(cube.counts[i, -1]), "z_last": round(float(res.z[i, -1]), 3),
             "hot_steps": int(hot[i]), "cold_steps": int(cold[i]),
             "trend_z": round(float(res.trend_z[i]), 3), "trend_p": float(res.trend_p[i])}
            for i in range(len(cube.grid_ids))]


def summary(r: EhsaRun) -> dict[str, Any]:
    """Counts per class and the run's window and settings."""
    counts = np.bincount(r.result.classes.astype(np.int64), minlength=len(CLASSES))
    return {"step": r.cube.step, "first": r.cube.steps[0].isoformat(),
            "last": r.cube.steps[-1].isoformat(), "n_steps": len(r.cube.steps),
            "n_grids": len(r.cube.grid_ids), "cases": int(r.cube.counts.sum()),
            "alpha": r.params.alpha, "time_lag": r.params.time_lag, "share": r.params.share,
            "classes": {c: int(counts[i]) for i, c in enumerate(CLASSES)}}


_GEOMS_SQL = (
    "SELECT gg.grid_id, ST_AsGeoJSON(gg.geom, 6) FROM grid_geometry gg "
    "JOIN grid_version gv ON gv.id = gg.version_id "
    "WHERE gv.status = 'active' AND gg.grid_id = ANY(:ids)")


def features(conn: Connection, r: EhsaRun, *, include_no_pattern: bool = False
             ) -> dict[str, Any]:
    """The classified grids as a GeoJSON FeatureCollection (properties: :func:`rows`).

    Grids without a pattern are left out unless ``include_no_pattern``.
    """
    import json

    picked = [row for row in rows(r) if include_no_pattern or row["class"] != "no_pattern"]
    geoms: dict[int, str] = dict(conn.execute(sa.text(_GEOMS_SQL),
                              {"ids": [row["grid_id"] for row in picked]}).all())
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": row["grid_id"], "properties": row,
         "geometry": json.loads(geoms[row["grid_id"]])}
        for row in picked if row["grid_id"] in geoms]}


def write_xlsx(r: EhsaRun, path: Path, labels: Mapping[str, str],
               headers: Sequence[str]) -> None:
    """Rows (sheet 1, class shown through ``labels``) and the cube (sheet 2) as XLSX.

    ``headers`` are the ten column titles of sheet 1 in the reader's language.
    """
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "EHSA"
    ws.append(list(headers))
    for row in rows(r):
        ws.append([row["grid_code"], labels.get(row["class"], row["class"]), row["cases"],
                   row["cases_last"], row["z_last"], row["hot_steps"], row["cold_steps"],
                   row["trend_z"], row["trend_p"], row["class"]])
    cube = wb.create_sheet("cube")
    cube.append(["grid", *[d.isoformat() for d in r.cube.steps]])
    for i, code in enumerate(r.cube.grid_codes):
        cube.append([code, *[int(v) for v in r.cube.counts[i]]])
    wb.save(path)
