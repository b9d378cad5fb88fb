"""Request schemas of the grid-plan API (``/api/grids``): bodies of the draft edits and
the query strings of the reads. Errors are headed ``invalid request`` (``web.invalid_request``).
"""

from __future__ import annotations

import datetime as dt
import math
from datetime import datetime
from typing import Any

from gridmap.errors import Problem
from gridmap.inputs import bad_text
from web.api.fields import INT32, Bool, Int, Limit, Num, OneOf, Range, Raw, Str, Timestamp
from web.api.parsing import Base
from web.api.schemas import DisplayQuery, check_point

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
UNIT_TYPE_MAX = 32


class GridsBase(Base):
    """Grid editing requests: errors headed ``invalid request``."""

    headline = "web.invalid_request"


def _lock() -> Int:
    return Int(required=True, metadata={"description": "the draft's lock_version last seen"})


def _effective() -> Timestamp:
    return Timestamp(CHINA_TZ, "web.not_iso_date", blank_is_default=True,
                     load_default=lambda: datetime.now(CHINA_TZ))


class DraftBody(GridsBase):
    """A new draft: an optional note."""

    note = Str(allow_none=True, validate=Limit("note"))


_SECOND_TARGET = {"validate": OneOf(("cases", "patrol")), "allow_none": True,
                  "metadata": {"description": "also even out workload: cases per month (last 12 "
                                              "months) or patrol length; households stay hard"}}


class SeedBody(GridsBase):
    """Auto-partition: the random seed and an optional second (workload) target."""

    seed = Int(allow_none=True, validate=Range(0, INT32))
    second_target = Str(**_SECOND_TARGET)


class LockBody(GridsBase):
    """An edit of a draft: the ``lock_version`` the client last saw."""

    lock_version = _lock()


class RebalanceBody(LockBody):
    """Rebalance: the ``lock_version`` and an optional second (workload) target."""

    second_target = Str(**_SECOND_TARGET)


class MovesBody(LockBody):
    """Units to move (``[[type, id], ...]``) and the grid to move them into (null: new)."""

    to_grid = Int(allow_none=True)
    units = Raw(required=True, metadata={"description": "[[unit type, unit id], ...]"})

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        raw = data.get("units")
        units: list[tuple[str, int]] = []
        if not isinstance(raw, list) or not raw:
            if not any(p.field == "units" for p in problems):
                problems.append(Problem("web.units_list", field="units"))
            data["units"] = units
            return
        for i, u in enumerate(raw, start=1):
            pair = (u[0], u[1]) if isinstance(u, list) and len(u) == 2 else (
                (u.get("type"), u.get("id")) if isinstance(u, dict) else (None, None))
            if (isinstance(pair[0], str) and len(pair[0]) <= UNIT_TYPE_MAX
                    and bad_text(pair[0]) is None and isinstance(pair[1], int)
                    and not isinstance(pair[1], bool) and 0 < pair[1] <= INT32):
                units.append((pair[0], pair[1]))
            else:
                problems.append(Problem("web.unit_item", row=i, field="units"))
        data["units"] = units


class GeometryBody(LockBody):
    """A drawn polygon for a grid (null ``grid_id``: a new grid) and its CRS."""

    grid_id = Int(allow_none=True)
    geometry = Raw(required=True, metadata={"description": "a GeoJSON Polygon (or Feature)"})
    crs = Str(load_default="wgs84", validate=OneOf(("wgs84", "gcj02")))

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        geom = data.get("geometry")
        if isinstance(geom, dict) and geom.get("type") == "Feature":
            geom = data["geometry"] = geom.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
            if not any(p.field == "geometry" for p in problems):
                problems.append(Problem("web.polygon_required", field="geometry"))
        elif not finite_coordinates(geom.get("coordinates")):
            problems.append(Problem("input.not_finite", {"field": "geometry"},
                                    field="geometry"))


def finite_coordinates(coords: Any, depth: int = 0) -> bool:
    """True if ``coords`` is nested lists (≤ 4 deep) of finite numbers, none of them a
    boolean (NaN, Infinity or 1e400 in a drawn polygon are refused here, not by GEOS)."""
    if isinstance(coords, (int, float)) and not isinstance(coords, bool):
        return math.isfinite(coords)
    if not isinstance(coords, list) or depth > 4:
        return False
    return all(finite_coordinates(c, depth + 1) for c in coords)


class GridAttrsBody(LockBody):
    """A grid's name, responsible party (责任主体) or lock."""

    locked = Bool(allow_none=True)
    name = Str(allow_none=True, validate=Limit("grid_name"))
    responsible_party = Str(allow_none=True, validate=Limit("responsible_party"))


class ActivateBody(LockBody):
    """Activation of a draft from ``effective`` (default now, Beijing time)."""

    effective = _effective()


class RevertBody(GridsBase):
    """Revert to a version from ``effective`` (default now)."""

    effective = _effective()


class DiffQuery(GridsBase, DisplayQuery):
    """Two versions to compare."""

    old = Int(required=True)
    new = Int(required=True)


class AtQuery(GridsBase, DisplayQuery):
    """A point (WGS84) and a time (default now); swapped coordinates get the swap hint."""

    lon = Num(required=True, metadata={"description": "longitude, WGS84 (-180..180)"})
    lat = Num(required=True, metadata={"description": "latitude, WGS84 (-90..90)"})
    at = _effective()

    def check(self, data: dict[str, Any], problems: list[Problem]) -> None:
        check_point(data, problems)


class ImpactQuery(GridsBase, DisplayQuery):
    """The version to compare with (default the active one)."""

    against = Int()
