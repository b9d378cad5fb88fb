"""Incident JSON API: locate, incidents (GeoJSON, paginated), transitions,
aggregates for the heatmap and the per-grid choropleth, overdue cases, hotspots.

Every endpoint is a thin caller of the ``gridmap`` library (``locate``,
``incidents``, ``hotspots``, ``indicators``). This module only parses and checks
request parameters (400 with a message listing every bad parameter), applies the
viewer's role and area scope, and shapes the JSON.

A whole district's incidents are never sent as one GeoJSON: ``/api/incidents``
needs a bbox and is paginated (at most :data:`MAX_PAGE_SIZE` features per page),
and ``/api/aggregates/heat`` switches from raw points to per-cell counts above
:data:`HEAT_POINT_THRESHOLD` points.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.engine import Engine

from gridmap import incidents
from gridmap.errors import PermissionDenied, Problem, ValidationError
from gridmap.incidents import hotspots, indicators
from gridmap.incidents import locate as locate_lib
from gridmap.incidents import relocate
from web import auth, db

bp = Blueprint("incidents_api", __name__, url_prefix="/api")

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
HEAT_POINT_THRESHOLD = 20_000
"""Above this many matching incidents the heat endpoint returns per-cell counts."""
HEAT_REF_DENSITY = 5_000.0
"""Incidents per km² shown at full intensity (fixed, so colours mean the same at every zoom)."""
MAX_BBOX_SPAN_DEG = 2.0
"""Largest accepted bbox side (degrees): roughly a whole Chinese district."""
MAX_WINDOW_DAYS = 400
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
READ_ROLES = ("supervisor", "officer")  # admin passes every role check
WRITE_ROLES = ("supervisor", "officer")


# --------------------------------------------------------------------------------------
# Parameter parsing (pure functions; each collects Problems instead of raising early)
# --------------------------------------------------------------------------------------


def parse_bbox(
    raw: str | None, problems: list[Problem], *, required: bool = True
) -> tuple[float, float, float, float] | None:
    """Parse ``minlon,minlat,maxlon,maxlat`` (WGS84 degrees).

    Appends a :class:`Problem` for a missing, malformed, inverted, out-of-range or
    too large box (larger than :data:`MAX_BBOX_SPAN_DEG` on a side).
    """
    if raw is None or raw.strip() == "":
        if required:
            problems.append(Problem("bbox is required: minlon,minlat,maxlon,maxlat", field="bbox"))
        return None
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        problems.append(Problem("bbox must be four numbers: minlon,minlat,maxlon,maxlat", field="bbox"))
        return None
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        problems.append(Problem("bbox is outside WGS84 longitude/latitude ranges", field="bbox"))
        return None
    if x0 >= x1 or y0 >= y1:
        problems.append(Problem("bbox min must be less than max", field="bbox"))
        return None
    if x1 - x0 > MAX_BBOX_SPAN_DEG or y1 - y0 > MAX_BBOX_SPAN_DEG:
        problems.append(
            Problem(f"bbox is larger than {MAX_BBOX_SPAN_DEG} degrees on a side; zoom in", field="bbox")
        )
        return None
    return (x0, y0, x1, y1)


def parse_int(
    args: Mapping[str, str], name: str, default: int | None, lo: int, hi: int,
    problems: list[Problem],
) -> int | None:
    """Parse an integer parameter within ``[lo, hi]``; ``default`` when absent."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(Problem(f"{name} must be an integer", field=name))
        return default
    if not lo <= value <= hi:
        problems.append(Problem(f"{name} must be between {lo} and {hi}", field=name))
        return default
    return value


def parse_float(
    args: Mapping[str, Any], name: str, lo: float, hi: float, problems: list[Problem],
    *, required: bool = True,
) -> float | None:
    """Parse a finite float within ``[lo, hi]``."""
    raw = args.get(name)
    if raw is None or raw == "":
        if required:
            problems.append(Problem(f"{name} is required", field=name))
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        problems.append(Problem(f"{name} must be a number", field=name))
        return None
    if not math.isfinite(value) or not lo <= value <= hi:
        problems.append(Problem(f"{name} must be between {lo} and {hi}", field=name))
        return None
    return value


def parse_datetime(raw: str | None, name: str, problems: list[Problem]) -> datetime | None:
    """Parse an ISO 8601 timestamp; naive values are taken as UTC."""
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        problems.append(Problem(f"{name} must be an ISO 8601 date or timestamp", field=name))
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def parse_window(
    args: Mapping[str, str], problems: list[Problem], *, now: datetime | None = None,
    default: str | None = "30d",
) -> tuple[datetime | None, datetime | None]:
    """Time window from ``window`` (24h | 7d | 30d | custom | all) and ``start``/``end``.

    ``start``/``end`` alone imply ``custom``. The window must not be longer than
    :data:`MAX_WINDOW_DAYS` days and ``end`` must be after ``start``.
    """
    now = now or datetime.now(UTC)
    start = parse_datetime(args.get("start"), "start", problems)
    end = parse_datetime(args.get("end"), "end", problems)
    window = args.get("window") or ("custom" if (start or end) else default)
    if window is None or window == "all":
        return start, end
    if window in WINDOWS:
        end = end or now
        return end - WINDOWS[window], end
    if window != "custom":
        problems.append(
            Problem("window must be one of 24h, 7d, 30d, custom, all", field="window")
        )
        return None, None
    if start is None and "start" not in {p.field for p in problems}:
        problems.append(Problem("a custom window needs start", field="start"))
        return None, None
    end = end or now
    if start is not None and end <= start:
        problems.append(Problem("end must be after start", field="end"))
    elif start is not None and end - start > timedelta(days=MAX_WINDOW_DAYS):
        problems.append(Problem(f"window longer than {MAX_WINDOW_DAYS} days", field="start"))
    return start, end


def parse_list(
    args: Mapping[str, str], name: str, allowed: Iterable[str] | None, problems: list[Problem]
) -> list[str] | None:
    """Comma-separated (or repeated) values, each checked against ``allowed``."""
    getlist = getattr(args, "getlist", None)
    raws = getlist(name) if getlist else ([args[name]] if name in args else [])
    values = [v.strip() for raw in raws for v in raw.split(",") if v.strip()]
    if not values:
        return None
    if allowed is not None:
        allowed_set = set(allowed)
        bad = [v for v in values if v not in allowed_set]
        if bad:
            problems.append(
                Problem(f"unknown {name}: {', '.join(bad[:5])}", field=name)
            )
            return None
    return values


def check(problems: list[Problem]) -> None:
    """Raise a 400 :class:`ValidationError` listing every problem, if any."""
    if problems:
        raise ValidationError("bad request parameters", problems)


# --------------------------------------------------------------------------------------
# Viewer and role checks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who is asking: username, role and area scope.

    ``community_ids`` is ``None`` for unscoped roles (the whole district) and the
    supervisor's community ids otherwise (see :func:`web.auth.scope_community_ids`).
    """

    username: str
    role: str
    community_ids: tuple[int, ...] | None = None

    @property
    def scoped(self) -> bool:
        """True when the viewer only sees incidents of their own area."""
        return self.community_ids is not None


def current_viewer() -> Viewer | None:
    """The logged-in user as a :class:`Viewer`, or ``None`` when anonymous."""
    user = auth.current_user()
    if user is None:
        return None
    scope = auth.scope_community_ids()
    return Viewer(
        username=user.username,
        role=user.role,
        community_ids=None if scope is None else tuple(scope),
    )


def viewer_required() -> Viewer:
    """The current viewer; only called behind :func:`web.auth.roles_required`."""
    viewer = current_viewer()
    if viewer is None:  # pragma: no cover - roles_required already answered 401
        raise PermissionDenied("login required / 请先登录")
    return viewer


# --------------------------------------------------------------------------------------
# Filters shared by list / heat / hotspots / overdue
# --------------------------------------------------------------------------------------


def _catalogue() -> dict[str, list[str]]:
    """Allowed values for category, status, urgency and source (from the library)."""
    with db.read() as conn:
        cats = incidents.category_codes(conn)
    return {
        "category": list(cats),
        "status": list(incidents.STATES),
        "urgency": list(incidents.URGENCIES),
        "source": list(incidents.SOURCES),
    }


def parse_filters(
    args: Mapping[str, str], problems: list[Problem], viewer: Viewer | None, *,
    bbox_required: bool = False, window_default: str | None = "30d",
) -> dict[str, Any]:
    """Build the library filter mapping from query parameters and the viewer's scope."""
    allowed = _catalogue()
    start, end = parse_window(args, problems, default=window_default)
    filters: dict[str, Any] = {
        "start": start,
        "end": end,
        "categories": parse_list(args, "category", allowed["category"], problems),
        "statuses": parse_list(args, "status", allowed["status"], problems),
        "urgencies": parse_list(args, "urgency", allowed["urgency"], problems),
        "sources": parse_list(args, "source", allowed["source"], problems),
        "bbox": parse_bbox(args.get("bbox"), problems, required=bbox_required),
    }
    grid_id = parse_int(args, "grid_id", None, 1, 2**31 - 1, problems)
    if grid_id is not None:
        filters["grid_ids"] = [grid_id]
    if viewer is not None and viewer.community_ids is not None:
        filters["community_ids"] = list(viewer.community_ids)
    return {k: v for k, v in filters.items() if v is not None}


# --------------------------------------------------------------------------------------
# Serialisation
# --------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def incident_feature(row: Mapping[str, Any], viewer: Viewer | None) -> dict[str, Any]:
    """One incident as a GeoJSON Feature, personal data masked for ``viewer``."""
    props = {k: _jsonable(v) for k, v in row.items() if k not in ("lon", "lat", "geom")}
    if viewer is None:
        visible = incidents.masked_for(props, role=None)
    elif viewer.community_ids is None:
        visible = incidents.masked_for(props, role=viewer.role, street_ids=None, community_ids=None)
    else:
        visible = incidents.masked_for(
            props, role=viewer.role, street_ids=(), community_ids=viewer.community_ids
        )
    return {
        "type": "Feature",
        "id": row.get("id"),
        "geometry": {"type": "Point", "coordinates": [row.get("lon"), row.get("lat")]},
        "properties": visible,
    }


def _json(body: Any, status: int = 200) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    return resp


def json_body() -> dict[str, Any]:
    """The request's JSON object; 400 if it is not one (413 is raised by Flask)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("request body must be a JSON object")
    return data


# --------------------------------------------------------------------------------------
# Short-lived cache of aggregate responses
# --------------------------------------------------------------------------------------

AGGREGATE_CACHE_SECONDS = 15.0
"""Default life of a cached aggregate (heat, grid indicators, hotspots) per worker process.

Aggregates over 10^5 incidents take a few hundred ms; a dashboard asks for the same view
again and again (playback, panning back, several tabs). 15 s of staleness is acceptable for
a supervision overview; set ``AGGREGATE_CACHE_SECONDS`` (Flask config) to 0 to disable.
Off by default under ``TESTING``.
"""
_CACHE_MAX = 256


def cached_json(kind: str, viewer: Viewer | None, compute: Callable[[], Any]) -> Response:
    """``compute()`` as JSON, reused for identical requests by the same scope for a while."""
    default = 0.0 if current_app.testing else AGGREGATE_CACHE_SECONDS
    ttl = float(current_app.config.get("AGGREGATE_CACHE_SECONDS", default))
    if ttl <= 0:
        return _json(compute())
    store: dict[Any, tuple[float, Any]] = current_app.extensions.setdefault(
        "gridmap.aggregate_cache", {}
    )
    key = (
        kind,
        viewer.role if viewer else None,
        viewer.community_ids if viewer else None,
        request.query_string,
        current_app.config.get("HEAT_POINT_THRESHOLD"),
    )
    now = time.monotonic()
    hit = store.get(key)
    if hit is not None and hit[0] > now:
        body = hit[1]
    else:
        body = compute()
        if len(store) >= _CACHE_MAX:
            for k in [k for k, v in store.items() if v[0] <= now] or list(store)[: _CACHE_MAX // 2]:
                store.pop(k, None)
        store[key] = (now + ttl, body)
    resp = _json(body)
    resp.headers["Cache-Control"] = f"private, max-age={int(ttl)}"
    return resp


# --------------------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------------------


_ENGINE_LOCK = threading.Lock()


def locate_engine() -> Engine:
    """A small pool for ``/api/locate`` only: autocommit, no pre-ping.

    Locate is read-only and latency-critical (p99 ≤ 20 ms at 200 req/s). The shared engine
    pings every checked-out connection and wraps each request in BEGIN … ROLLBACK: three
    extra round trips, more than the query itself on a busy machine. A connection that
    died is invalidated on its error and :func:`locate` retries once.
    """
    eng: Engine | None = current_app.extensions.get("gridmap.locate_engine")
    if eng is None:
        with _ENGINE_LOCK:
            eng = current_app.extensions.get("gridmap.locate_engine")
            if eng is None:
                eng = sa.create_engine(
                    db.engine().url, pool_size=4, max_overflow=4, pool_pre_ping=False,
                    pool_recycle=600, isolation_level="AUTOCOMMIT",
                )
                current_app.extensions["gridmap.locate_engine"] = eng
    return eng


@bp.get("/locate")
def locate() -> Response:
    """Street, community, estate, building and grid of a point (open to any user)."""
    problems: list[Problem] = []
    lon = parse_float(request.args, "lon", -180, 180, problems)
    lat = parse_float(request.args, "lat", -90, 90, problems)
    at = parse_datetime(request.args.get("at"), "at", problems)
    check(problems)
    assert lon is not None and lat is not None
    settings = current_app.extensions["gridmap.settings"]
    for attempt in (0, 1):
        try:
            with locate_engine().connect() as conn:
                result = locate_lib.locate_point(
                    conn, lon, lat, at=at, near_boundary_m=settings.near_boundary_m
                )
            break
        except sa.exc.DBAPIError as exc:  # a pooled connection died (DB restart): retry once
            if attempt or not exc.connection_invalidated:
                raise
    return _json({k: _jsonable(v) for k, v in result.items()})


@bp.get("/incidents")
@auth.roles_required(*READ_ROLES)
def list_incidents() -> Response:
    """A page of incidents in a bbox as a GeoJSON FeatureCollection."""
    viewer = current_viewer()
    problems: list[Problem] = []
    filters = parse_filters(request.args, problems, viewer, bbox_required=True)
    page = parse_int(request.args, "page", 1, 1, 100_000, problems) or 1
    size = parse_int(request.args, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE, problems)
    check(problems)
    with db.read() as conn:
        result = incidents.list_incidents(conn, filters, page, size or DEFAULT_PAGE_SIZE)
    rows = result["items"]
    return _json(
        {
            "type": "FeatureCollection",
            "features": [incident_feature(r, viewer) for r in rows],
            "page": page,
            "page_size": size,
            "total": result["total"],
        }
    )


@bp.post("/incidents")
@auth.roles_required(*WRITE_ROLES)
def create_incident() -> Response:
    """Create an incident from a JSON object (located and deadline set by the library)."""
    viewer = current_viewer()
    assert viewer is not None
    data = json_body()
    with db.write() as conn:
        row = incidents.create(conn, data, actor=viewer.username, params=intake_params())
    return _json(incident_feature(row, viewer), 201)


@bp.get("/incidents/<int:incident_id>")
@auth.roles_required(*READ_ROLES)
def get_incident(incident_id: int) -> Response:
    """One incident with its transition history."""
    viewer = current_viewer()
    with db.read() as conn:
        row = incidents.get(conn, incident_id)
        _check_scope(row, viewer)
        history = incidents.history(conn, incident_id)
    feature = incident_feature(row, viewer)
    feature["properties"]["history"] = [
        {k: _jsonable(v) for k, v in h.items()} for h in history
    ]
    return _json(feature)


@bp.post("/incidents/<int:incident_id>/transitions")
@auth.roles_required(*WRITE_ROLES)
def transition(incident_id: int) -> Response:
    """Move a case to another state: body ``{"to": state, "note": text}``."""
    viewer = current_viewer()
    assert viewer is not None
    data = json_body()
    problems: list[Problem] = []
    to_state = data.get("to")
    if not isinstance(to_state, str) or to_state not in incidents.STATES:
        problems.append(Problem(f"to must be one of {', '.join(incidents.STATES)}", field="to"))
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 2000):
        problems.append(Problem("note must be text of at most 2000 characters", field="note"))
    check(problems)
    with db.write() as conn:
        row = incidents.get(conn, incident_id)
        _check_scope(row, viewer)
        incidents.transition(conn, incident_id, str(to_state), actor=viewer.username, note=note,
                             params=intake_params())
        row = incidents.get(conn, incident_id)
    return _json(incident_feature(row, viewer))


def intake_params() -> incidents.IntakeParams:
    """Intake parameters (near-boundary distance, duplicates, working day) from the app's
    settings."""
    return incidents.IntakeParams.from_settings(current_app.extensions["gridmap.settings"])


def _check_scope(row: Mapping[str, Any], viewer: Viewer | None) -> None:
    """Supervisors may only read or act on incidents of their own area."""
    if viewer is None or viewer.community_ids is None:
        return
    if row.get("community_id") in viewer.community_ids:
        return
    raise PermissionDenied("incident is outside your area / 不在您的管辖范围")


@bp.get("/aggregates/heat")
@auth.roles_required(*READ_ROLES)
def heat() -> Response:
    """Heatmap data: raw points when few, else per-H3-cell counts with normalised intensity."""
    viewer = current_viewer()
    problems: list[Problem] = []
    filters = parse_filters(request.args, problems, viewer, bbox_required=True)
    zoom = parse_int(request.args, "zoom", 14, 0, 22, problems)
    check(problems)
    threshold = int(current_app.config.get("HEAT_POINT_THRESHOLD", HEAT_POINT_THRESHOLD))

    def compute() -> dict[str, Any]:
        with db.read() as conn:
            result = hotspots.heat_counts(
                conn, bbox=filters.pop("bbox"), zoom=zoom or 14, filters=filters,
                point_threshold=threshold,
            )
        return shape_heat(result)

    return cached_json("heat", viewer, compute)


def density_intensity(count: int, area_km2: float, ref_density: float = HEAT_REF_DENSITY) -> float:
    """Zoom-independent colour value in (0, 1]: log density against a fixed reference.

    ``log1p(count / area) / log1p(ref_density)``, clipped to 1. Using density (per km²)
    instead of count / max-count means a colour stands for the same density at every
    zoom and in every view (an H3 cell is ~7× smaller per resolution step).
    """
    density = count / max(area_km2, 1e-9)
    return float(min(1.0, max(math.log1p(density) / math.log1p(ref_density), 1e-3)))


def shape_heat(result: Mapping[str, Any]) -> dict[str, Any]:
    """Library heat counts → the page's payload.

    Points become ``[lat, lon]`` (Leaflet order); H3 cells get their hexagon ``boundary``
    (``[[lat, lon], …]``) and a density-based ``intensity``.
    """

    out: dict[str, Any] = {"mode": result["mode"], "total": result["total"]}
    if result["mode"] == "points":
        out["points"] = [[p[1], p[0]] for p in result["points"]]
        return out
    out["resolution"] = result.get("resolution")
    cells = []
    for c in result["cells"]:
        cell = {k: c[k] for k in ("count", "lat", "lon") if k in c}
        if "h3" in c:
            cell["h3"] = c["h3"]
            cell["boundary"] = [[round(a, 6), round(b, 6)] for a, b in h3.cell_to_boundary(c["h3"])]
            cell["intensity"] = density_intensity(int(c["count"]), h3.cell_area(c["h3"], "km^2"))
        else:
            cell["grid_id"] = c.get("grid_id")
            cell["intensity"] = float(c.get("intensity", 0))
        cells.append(cell)
    out["cells"] = cells
    return out


@bp.get("/aggregates/grids")
@auth.roles_required(*READ_ROLES)
def grid_indicators() -> Response:
    """Per-grid indicators (结案率, 按期结案率, 超期未结) for the choropleth, in a bbox."""
    viewer = current_viewer()
    problems: list[Problem] = []
    start, end = parse_window(request.args, problems, default="30d")
    bbox = parse_bbox(request.args.get("bbox"), problems, required=True)
    check(problems)
    assert start is not None and end is not None and bbox is not None
    scope = {}
    if viewer is not None and viewer.community_ids is not None:
        scope = {"community_ids": list(viewer.community_ids)}
    def compute() -> dict[str, Any]:
        assert start is not None and end is not None and bbox is not None
        with db.read() as conn:
            fc = indicators.grid_choropleth(conn, start, end, bbox=bbox, **scope)
        for f in fc["features"]:
            f["properties"] = grid_indicator_props(f["properties"])
        return fc

    return cached_json("grids", viewer, compute)


def grid_indicator_props(stats: Mapping[str, Any]) -> dict[str, Any]:
    """Indicator row of :mod:`gridmap.indicators` → the page's keys (rates as 0..1)."""
    def frac(v: Any) -> float | None:
        return None if v is None else round(float(v) / 100.0, 6)

    out = {k: _jsonable(v) for k, v in stats.items()}
    out["grid_id"] = stats.get("unit_id")
    out["grid_code"] = stats.get("code")
    out["closure_rate"] = frac(stats.get("close_rate"))
    out["ontime_rate"] = frac(stats.get("on_time_rate"))
    out.setdefault("overdue_open", 0)
    return out


def _special_list(flag: str) -> Response:
    """A page of the viewer's incidents with ``flag`` set (``overdue`` or ``to_confirm``),
    any time, filtered by the usual parameters."""
    viewer = current_viewer()
    problems: list[Problem] = []
    filters = parse_filters(request.args, problems, viewer, window_default="all")
    page = parse_int(request.args, "page", 1, 1, 100_000, problems) or 1
    size = parse_int(request.args, "page_size", 50, 1, MAX_PAGE_SIZE, problems) or 50
    check(problems)
    filters[flag] = True
    with db.read() as conn:
        result = incidents.list_incidents(conn, filters, page, size)
    return _json(
        {
            "type": "FeatureCollection",
            "features": [incident_feature(r, viewer) for r in result["items"]],
            "page": page,
            "page_size": size,
            "total": result["total"],
        }
    )


@bp.get("/incidents/overdue")
@auth.roles_required(*READ_ROLES)
def overdue() -> Response:
    """Open cases past their deadline, most overdue first (paginated, not a GeoJSON dump)."""
    return _special_list("overdue")


CONFIRM_ROLES = ("supervisor",)  # admin passes every role check


@bp.get("/incidents/to-confirm")
@auth.roles_required(*CONFIRM_ROLES)
def to_confirm() -> Response:
    """Open cases near a grid boundary or outside every grid whose location no supervisor
    has confirmed yet (the viewer's area), newest first, paginated."""
    return _special_list("to_confirm")


@bp.get("/incidents/<int:incident_id>/location")
@auth.roles_required(*CONFIRM_ROLES)
def location_candidates(incident_id: int) -> Response:
    """The grids the incident may be confirmed in (nearest active grids, containing first)."""
    viewer = current_viewer()
    with db.read() as conn:
        row = incidents.get(conn, incident_id)
        _check_scope(row, viewer)
        cands = relocate.boundary_candidates(conn, incident_id)
    return _json({"incident_id": incident_id, "grid_id": row["grid_id"],
                  "near_boundary": row["near_boundary"], "located_by": row["located_by"],
                  "location_confirmed_at": _jsonable(row["location_confirmed_at"]),
                  "location_confirmed_by": row["location_confirmed_by"],
                  "candidates": cands})


@bp.post("/incidents/<int:incident_id>/location")
@auth.roles_required(*CONFIRM_ROLES)
def confirm_location(incident_id: int) -> Response:
    """Confirm the incident's grid, or move it to a candidate: ``{"grid_id": id?, "note"?}``."""
    viewer = current_viewer()
    assert viewer is not None
    data = json_body()
    problems: list[Problem] = []
    grid_id = data.get("grid_id")
    if grid_id is not None and (isinstance(grid_id, bool) or not isinstance(grid_id, int)):
        problems.append(Problem("grid_id must be an integer", field="grid_id"))
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 2000):
        problems.append(Problem("note must be text of at most 2000 characters", field="note"))
    check(problems)
    with db.write() as conn:
        _check_scope(incidents.get(conn, incident_id), viewer)
        out = relocate.confirm_location(conn, incident_id, actor=viewer.username,
                                      grid_id=grid_id, note=note)
        if viewer.community_ids is not None and out["community_id"] not in viewer.community_ids:
            raise PermissionDenied("that grid is outside your area / 该网格不在您的管辖范围")
        row = incidents.get(conn, incident_id)
    return _json({**incident_feature(row, viewer), "moved": out["moved"]})


@bp.get("/hotspots")
@auth.roles_required(*READ_ROLES)
def hotspot_list() -> Response:
    """Grids (or H3 cells) whose counts are significantly high (Getis-Ord Gi*)."""
    viewer = current_viewer()
    problems: list[Problem] = []
    level = request.args.get("level", "grid")
    if level not in ("grid", "h3"):
        problems.append(Problem("level must be grid or h3", field="level"))
    filters = parse_filters(request.args, problems, viewer)
    check(problems)
    def compute() -> dict[str, Any]:
        with db.read() as conn:
            return hotspots.hotspots(conn, level, filters)

    return cached_json("hotspots", viewer, compute)
