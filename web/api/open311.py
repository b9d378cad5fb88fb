"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over gridmap incidents.

Endpoints (JSON; ``services.xml`` too):

- ``GET  /open311/v2/services.json``: the event categories as services.
- ``GET  /open311/v2/requests.json``: requests, filtered by ``service_request_id``,
  ``service_code``, ``start_date``, ``end_date``, ``status`` (open|closed); default the
  last 90 days, ``page_size`` per call (default 100, at most
  :data:`web.api.schemas.MAX_OPEN311_PAGE`; ``page`` for more).
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
- Errors use the GeoReport format: a list of ``{"code": http_status, "description": msg}``
  (the message in the session's language; parameters are parsed by the schemas of
  :mod:`web.api.schemas`).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from gridmap import incidents
from gridmap import messages as msgs
from gridmap.errors import GridmapError
from gridmap.incidents import addressing
from web import db
from web.access import current_user
from web.api import schemas
from web.api.common import settings
from web.api.parsing import describe, parse, use
from web.errors import error_body
from web.i18n import current_language
from web.security import csrf

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

DEFAULT_DAYS = 90
CREATE_ROLES = ("supervisor", "officer", "admin")


def _error(status: int, code: str, **params: Any) -> Response:
    """A GeoReport error list with the message ``code`` in the session's language."""
    return _georeport(status, msgs.render(code, params, current_language()))


def _georeport(status: int, description: str) -> Response:
    resp = jsonify([{"code": status, "description": description}])
    resp.status_code = status
    return resp


@bp.errorhandler(GridmapError)
@bp.errorhandler(HTTPException)
def _error_list(exc: Exception) -> Response:
    status, body = error_body(exc, current_language())
    return _georeport(status, body["error"])


def api_clients() -> dict[str, str]:
    """Configured API keys: ``{key: client name}``.

    Read from the Flask config ``OPEN311_API_KEYS`` or the setting
    ``open311_api_keys`` (environment ``GRIDMAP_OPEN311_API_KEYS``), a mapping or a
    comma-separated ``key:name`` string.
    """
    raw: Any = current_app.config.get("OPEN311_API_KEYS")
    if raw is None:
        raw = (settings().extra.get("open311_api_keys")
               or os.environ.get("GRIDMAP_OPEN311_API_KEYS"))
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


def client_for_key(key: Any) -> str | None:
    """The client name of a valid API key (constant-time comparison), else ``None``."""
    if not key or not isinstance(key, str):
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
@use(schemas.RequestsQuery)
def requests_json(args: dict[str, Any]) -> Response:
    """GeoReport v2 service requests (public fields only), newest first."""
    ids, start, end = args.get("service_request_id"), args.get("start_date"), args.get("end_date")
    if ids is None and start is None and end is None:
        end = datetime.now(UTC)
        start = end - timedelta(days=DEFAULT_DAYS)
    filters: dict[str, Any] = {"ids": ids} if ids else {"start": start, "end": end}
    if args.get("service_code"):
        filters["categories"] = args["service_code"]
    if args.get("status") is not None:
        filters["open"] = args["status"] == "open"
    with db.read() as conn:
        result = incidents.list_incidents(conn, filters, args["page"], args["page_size"])
    return jsonify([as_service_request(r) for r in result["items"]])


@bp.get("/requests/<string:service_request_id>.json")
def request_json(service_request_id: str) -> Response:
    """One service request (a one-element list)."""
    rid = service_request_id
    if not rid.isdigit() or len(rid) > 12:
        return _error(404, "web.open311_not_found", id=rid)
    with db.read() as conn:
        row = incidents.get(conn, int(rid))
    return jsonify([as_service_request(row)])


def _actor(data: Mapping[str, Any]) -> tuple[str | None, str | Response]:
    """``(client, actor)`` of a create request, or ``(None, error response)``."""
    key = data.get("api_key")
    if key is not None and not isinstance(key, str):
        return None, _error(400, "input.not_text", field="api_key")
    client = client_for_key(key or request.headers.get("X-API-Key"))
    if client is not None:
        return client, f"open311:{client}"
    user = current_user()
    if user is None:
        return None, _error(401, "web.open311_key_or_login")
    if user.role not in CREATE_ROLES:
        return None, _error(403, "web.open311_role_forbidden", role=user.role)
    csrf.protect()  # session-authenticated: the browser must prove same origin
    return None, user.username


@bp.post("/requests.json")
@csrf.exempt
@describe(schemas.Open311Create, "json_or_form")
def create_request() -> Response:
    """Create a service request (api_key, or a logged-in session with the CSRF token)."""
    raw: Any = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(raw, Mapping):
        return _error(400, "web.body_not_object_or_form")
    client, actor = _actor(raw)
    if isinstance(actor, Response):
        return actor
    data = parse(schemas.Open311Create, "json_or_form")
    record = {
        "category": data["service_code"],
        "lon": data.get("long"),
        "lat": data.get("lat"),
        "description": data.get("description") or "",
        "media_url": data.get("media_url"),
        "address": data.get("address_string"),
        "reporter_name": reporter_name(data.get("first_name"), data.get("last_name")),
        "reporter_phone": data.get("phone"),
        # key clients are public-reporting apps; session users are hotline operators
        "source": "public" if client is not None else "hotline_12345",
        "external_id": data.get("external_id"),
    }
    params = incidents.IntakeParams.from_settings(settings())
    with db.write() as conn:  # placed from its address, or queued for a supervisor (#19)
        out = addressing.create_or_queue(
            conn, {k: v for k, v in record.items() if v is not None}, actor=actor,
            channel="open311", params=params,
            address_params=addressing.AddressParams.from_settings(settings()))
    if "queued" in out:
        resp = jsonify([{"token": f"address-{out['queued']}", "service_notice": None,
                         "account_id": None}])
        resp.status_code = 202
        return resp
    row = out["incident"]
    resp = jsonify(
        [{"service_request_id": str(row["id"]), "service_notice": None, "account_id": None}]
    )
    resp.status_code = 201
    return resp
