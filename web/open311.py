"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over gridmap incidents.

Endpoints (JSON; ``services.xml`` too):

- ``GET  /open311/v2/services.json``: the event categories as services.
- ``GET  /open311/v2/requests.json``: requests, filtered by ``service_request_id``,
  ``service_code``, ``start_date``, ``end_date``, ``status`` (open|closed); default the
  last 90 days, at most :data:`MAX_REQUESTS` per call (``page`` for more).
- ``GET  /open311/v2/requests/<id>.json``: one request (a one-element list, per spec).
- ``POST /open311/v2/requests.json``: create a request.

Design decisions (see docs/api.md):

- **Who may create.** Either an API client with a key (``api_key`` form/JSON field,
  keys configured in ``OPEN311_API_KEYS`` as ``key:client-name`` pairs), or a logged-in
  officer/supervisor/admin in the browser. Anonymous public creation is refused (401):
  public reports reach gridmap through the 12345 hotline, whose operators are users.
- **CSRF.** Key-authenticated requests are exempt (a cross-site page cannot know the
  key, and API clients have no session); session-authenticated requests must carry the
  CSRF token (``X-CSRFToken`` header or ``csrf_token`` field) like every other form.
- **Personal data.** Open311 responses never contain reporter name or phone.
- **Reads** are public, as in GeoReport v2, but only carry the public fields.
- Errors use the GeoReport format: a list of ``{"code": http_status, "description": msg}``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from gridmap import incidents
from gridmap.errors import GridmapError, Problem, ValidationError
from web import db
from web.errors import status_for
from web.incidents_api import (
    current_viewer,
    intake_params,
    parse_datetime,
    parse_float,
    parse_int,
)
from web.security import csrf

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

MAX_REQUESTS = 1000
DEFAULT_DAYS = 90
CREATE_ROLES = ("supervisor", "officer", "admin")
MAX_DESCRIPTION = 4000


def _error(code: int, description: str) -> Response:
    resp = jsonify([{"code": code, "description": description}])
    resp.status_code = code
    return resp


@bp.errorhandler(GridmapError)
def _gridmap_error(exc: GridmapError) -> Response:
    return _error(status_for(exc), exc.message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return _error(exc.code or 500, exc.description or exc.name)


def api_clients() -> dict[str, str]:
    """Configured API keys: ``{key: client name}``.

    Read from the Flask config ``OPEN311_API_KEYS`` or the setting
    ``open311_api_keys`` (environment ``GRIDMAP_OPEN311_API_KEYS``), a mapping or a
    comma-separated ``key:name`` string.
    """
    import os

    raw: Any = current_app.config.get("OPEN311_API_KEYS")
    if raw is None:
        settings = current_app.extensions["gridmap.settings"]
        raw = settings.extra.get("open311_api_keys") or os.environ.get("GRIDMAP_OPEN311_API_KEYS")
    if not raw:
        return {}
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    out = {}
    for item in str(raw).split(","):
        key, _, name = item.strip().partition(":")
        if key:
            out[key] = name or "api-client"
    return out


def client_for_key(key: str | None) -> str | None:
    """The client name of a valid API key (constant-time comparison), else ``None``."""
    if not key:
        return None
    for known, name in api_clients().items():
        if hmac.compare_digest(known.encode(), key.encode()):
            return name
    return None


def reporter_name(first: Any, last: Any) -> str | None:
    """Open311 first/last name as one name: ``张`` + ``三`` → ``张三``; ``Ann Lee`` in Latin order."""
    f, la = str(first or "").strip(), str(last or "").strip()
    if not f and not la:
        return None
    if any("\u4e00" <= ch <= "\u9fff" for ch in f + la):
        return la + f
    return " ".join(x for x in (f, la) if x)


def _status(state: str) -> str:

    return "closed" if state in incidents.CLOSED_STATES else "open"


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return None if value is None else str(value)


def as_service_request(row: Mapping[str, Any]) -> dict[str, Any]:
    """An incident row as a GeoReport v2 service request (public fields only)."""
    return {
        "service_request_id": str(row["id"]),
        "status": _status(str(row.get("status"))),
        "status_notes": row.get("status_label"),
        "service_name": row.get("category_name"),
        "service_code": row.get("category"),
        "description": row.get("description"),
        "agency_responsible": row.get("responsible_unit"),
        "service_notice": None,
        "requested_datetime": _iso(row.get("reported_at")),
        "updated_datetime": _iso(row.get("updated_at")),
        "expected_datetime": _iso(row.get("due_at")),
        "address": row.get("address"),
        "address_id": None,
        "zipcode": None,
        "lat": row.get("lat"),
        "long": row.get("lon"),
        "media_url": row.get("media_url"),
    }


def _services() -> list[dict[str, Any]]:

    with db.read() as conn:
        cats = incidents.categories(conn)
    return [
        {
            "service_code": c["code"],
            "service_name": c["name_zh"],
            "description": c.get("name_en"),
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": c.get("parent_name") or "",
        }
        for c in cats
        if c.get("parent_code")  # sub-classes only: the 大类 are groups
    ]


@bp.get("/services.json")
def services_json() -> Response:
    """The service list (event sub-classes)."""
    return jsonify(_services())


@bp.get("/services.xml")
def services_xml() -> Response:
    """The service list as GeoReport v2 XML."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>', "<services>"]
    for s in _services():
        parts.append("<service>")
        for key in ("service_code", "service_name", "description", "metadata", "type",
                    "keywords", "group"):
            value = s[key]
            text = "false" if value is False else escape(str(value or ""))
            parts.append(f"<{key}>{text}</{key}>")
        parts.append("</service>")
    parts.append("</services>")
    return Response("".join(parts), mimetype="application/xml")


@bp.get("/requests.json")
def requests_json() -> Response:
    """Service requests, newest first."""

    problems: list[Problem] = []
    args = request.args
    start = parse_datetime(args.get("start_date"), "start_date", problems)
    end = parse_datetime(args.get("end_date"), "end_date", problems)
    status = args.get("status")
    if status is not None and status not in ("open", "closed"):
        problems.append(Problem("status must be open or closed", field="status"))
    page = parse_int(args, "page", 1, 1, 100_000, problems) or 1
    ids: list[int] | None = None
    if args.get("service_request_id"):
        try:
            ids = [int(x) for x in args["service_request_id"].split(",") if x.strip()]
        except ValueError:
            problems.append(Problem("service_request_id must be integers", field="service_request_id"))
        if ids is not None and len(ids) > MAX_REQUESTS:
            problems.append(Problem("too many service_request_id values", field="service_request_id"))
    codes = [c for c in (args.get("service_code") or "").split(",") if c.strip()] or None
    if problems:
        raise ValidationError("bad request parameters", problems)
    if ids is None and start is None and end is None:
        end = datetime.now(UTC)
        start = end - timedelta(days=DEFAULT_DAYS)
    filters: dict[str, Any] = {"start": start, "end": end}
    if ids:
        filters = {"ids": ids}
    if codes:
        filters["categories"] = codes
    if status is not None:
        filters["open"] = status == "open"
    with db.read() as conn:
        result = incidents.list_incidents(conn, filters, page, MAX_REQUESTS)
    return jsonify([as_service_request(r) for r in result["items"]])


@bp.get("/requests/<string:service_request_id>.json")
def request_json(service_request_id: str) -> Response:
    """One service request as a one-element list."""

    rid = service_request_id
    if not rid.isdigit() or len(rid) > 12:
        return _error(404, f"service request {rid} not found")
    with db.read() as conn:
        row = incidents.get(conn, int(rid))
    return jsonify([as_service_request(row)])


@bp.post("/requests.json")
@csrf.exempt
def create_request() -> Response:
    """Create a service request (API key or logged-in session with CSRF token)."""

    raw: Any = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(raw, Mapping):
        return _error(400, "body must be a JSON object or form fields")
    data: Mapping[str, Any] = raw
    client = client_for_key(data.get("api_key") or request.headers.get("X-API-Key"))
    if client is not None:
        actor = f"open311:{client}"
    else:
        viewer = current_viewer()
        if viewer is None:
            return _error(401, "api_key or login required / 需要API密钥或登录")
        if viewer.role not in CREATE_ROLES:
            return _error(403, f"role {viewer.role!r} may not create requests / 无权上报")
        csrf.protect()  # session-authenticated: the browser must prove same origin
        actor = viewer.username
    problems: list[Problem] = []
    lat = parse_float(data, "lat", -90, 90, problems)
    lon = parse_float(data, "long", -180, 180, problems)
    code = data.get("service_code")
    if not code:
        problems.append(Problem("service_code is required", field="service_code"))
    description = data.get("description") or ""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        problems.append(
            Problem(f"description must be at most {MAX_DESCRIPTION} characters", field="description")
        )
    if problems:
        raise ValidationError("bad request", problems)
    name = reporter_name(data.get("first_name"), data.get("last_name"))
    record = {
        "category": code,
        "lon": lon,
        "lat": lat,
        "description": description,
        "media_url": data.get("media_url"),
        "address": data.get("address_string"),
        "reporter_name": name,
        "reporter_phone": data.get("phone"),
        # key clients are public-reporting apps; session users are hotline operators
        "source": "public" if client is not None else "hotline_12345",
        "external_id": data.get("external_id"),
    }
    with db.write() as conn:
        row = incidents.create(conn, {k: v for k, v in record.items() if v is not None},
                               actor=actor, params=intake_params())
    resp = jsonify(
        [{"service_request_id": str(row["id"]), "service_notice": None, "account_id": None}]
    )
    resp.status_code = 201
    return resp
