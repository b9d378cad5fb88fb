"""Honest hotspot maps: how well last period's hot spots caught this period's cases.

- **Hit rate** = n / N: the share of this period's cases that fell in last period's hot grids.
- **PAI** (predictive accuracy index, Chainey et al. 2008) = (n / N) / (a / A): the hit rate
  divided by the share of the study area the hot grids cover. PAI 1 is no better than
  spreading patrols evenly; a map that flags 5 % of the area catching 30 % of the cases has
  PAI 6. Areas are spheroidal (``ST_Area`` on geography, m²).

Both maps of the supervisor page are scored the same way, per whole week or month:
``gi`` (Getis-Ord Gi\\* grids with z ≥ the hotspot threshold over last period's cases,
:func:`gridmap.incidents.hotspots.hotspots`) and ``ehsa`` (grids of an emerging-hot-spot
class whose last step is hot, over the cube that ends with last period).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.analysis import cube as cubes
from gridmap.analysis import report
from gridmap.analysis.ehsa import EhsaParams
from gridmap.errors import ValidationError
from gridmap.incidents import hotspots
from gridmap.incidents.query import filter_sql

METHODS = ("gi", "ehsa")

_SCORE_SQL = (
    "WITH g AS (SELECT gg.grid_id, ST_Area(gg.geom::geography) AS a FROM grid_geometry gg "
    "JOIN grid_version gv ON gv.id = gg.version_id WHERE gv.status = 'active' "
    "AND gg.grid_id = ANY(:ids)), "
    "c AS (SELECT i.grid_id, count(*) AS n FROM incident i WHERE {where} "
    "AND i.grid_id = ANY(:ids) GROUP BY 1) "
    "SELECT coalesce(sum(g.a), 0), coalesce(sum(g.a) FILTER (WHERE g.grid_id = ANY(:hot)), 0), "
    "coalesce(sum(c.n), 0), coalesce(sum(c.n) FILTER (WHERE g.grid_id = ANY(:hot)), 0) "
    "FROM g LEFT JOIN c ON c.grid_id = g.grid_id")


def score(conn: Connection, hot_ids: Sequence[int], grid_ids: Sequence[int],
          start: dt.datetime, end: dt.datetime,
          filters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Hit rate and PAI of the grids ``hot_ids`` for the cases of [start, end).

    Parameters
    ----------
    hot_ids:
        The predicted hot grids.
    grid_ids:
        The study area (every grid the map could have flagged).
    start, end:
        The period whose cases are scored.
    filters:
        Further incident filters (categories, …).

    Returns
    -------
    dict
        ``cases`` (N), ``cases_hot`` (n), ``area_km2`` (A), ``area_hot_km2`` (a), ``hit_rate``
        (n/N, None without cases), ``area_share`` (a/A), ``pai`` (None when N or a is 0),
        ``n_hot``.
    """
    where, fp = filter_sql({**(filters or {}), "start": start, "end": end})
    big_a, a, big_n, n = conn.execute(sa.text(_SCORE_SQL.format(where=where)), {
        **fp, "ids": list(grid_ids), "hot": list(hot_ids)}).one()
    big_a, a, big_n, n = float(big_a), float(a), int(big_n), int(n)
    hit = n / big_n if big_n else None
    share = a / big_a if big_a else None
    pai = hit / share if hit is not None and share else None
    return {"cases": big_n, "cases_hot": n, "area_km2": round(big_a / 1e6, 4),
            "area_hot_km2": round(a / 1e6, 4), "hit_rate": hit, "area_share": share,
            "pai": pai, "n_hot": len(hot_ids)}


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=cubes.LOCAL_TZ)


def _hot_gi(conn: Connection, prev: tuple[dt.date, dt.date], filters: Mapping[str, Any],
            z_threshold: float) -> list[int]:
    res = hotspots.hotspots(conn, "grid", {**filters, "start": _midnight(prev[0]),
                                           "end": _midnight(prev[1])},
                            hotspots.HotspotParams(z_threshold=z_threshold))
    return [int(item["id"]) for item in res["items"]]


def hotspot_accuracy(conn: Connection, method: str, step: str = "week",
                     end: dt.date | None = None, *, street_ids: Sequence[int] | None = None,
                     community_ids: Sequence[int] | None = None,
                     filters: Mapping[str, Any] | None = None,
                     params: EhsaParams | None = None, z_threshold: float = 1.96,
                     today: dt.date | None = None) -> dict[str, Any]:
    """PAI and hit rate of last period's hot spots for this period's cases.

    Parameters
    ----------
    method:
        ``gi`` (Gi\\* hotspot grids) or ``ehsa`` (emerging hot spots whose last step is hot).
    step:
        Period length: ``week`` or ``month`` (whole local weeks/months).
    end:
        A day in "this period" (default: the last whole period before today).
    street_ids, community_ids:
        The study area (default: every active grid).

    Returns
    -------
    dict
        :func:`score`'s figures plus ``method``, ``step``, ``predicted_from`` (last period's
        first day), ``period`` (this period's first day) and ``period_end`` (exclusive).
    """
    if method not in METHODS:
        raise ValidationError("analysis.method", params={"value": method})
    this = cubes.step_dates(step, None, end, today)[-1]
    prev = cubes.step_start(this - dt.timedelta(days=1), step)
    after = cubes.next_start(this, step)
    scope: dict[str, Any] = dict(filters or {})
    if street_ids is not None:
        scope["street_ids"] = list(street_ids)
    if community_ids is not None:
        scope["community_ids"] = list(community_ids)
    grid_ids, _, _ = cubes.load_grids(conn, street_ids, community_ids)
    if method == "gi":
        hot = _hot_gi(conn, (prev, this), scope, z_threshold)
    else:
        r = report.run(conn, step, None, prev, street_ids=street_ids,
                       community_ids=community_ids, filters=filters, params=params)
        hot = [row["grid_id"] for row in report.rows(r) if row["class"] in report.HOT_NOW]
    out = score(conn, hot, grid_ids.tolist(), _midnight(this), _midnight(after), filters)
    return {"method": method, "step": step, "predicted_from": prev.isoformat(),
            "period": this.isoformat(), "period_end": after.isoformat(), **out}
