"""Which database a request reads from: the read replica (``GRIDMAP_READ_DATABASE_URL``)
or the primary.

- GET/HEAD requests read from the replica, unless this browser session wrote (a successful
  POST/PUT/PATCH/DELETE) within ``read_after_write_s`` seconds: then from the primary, so a
  user always sees what they just saved (read-after-write);
- every other request, and every ``db.write()``, uses the primary (so does the session check
  of :func:`web.access.current_user`: a logout takes effect at once);
- without a replica everything uses the primary.

``/health`` reports the primary and the replica lag (seconds and bytes of WAL). The answer
names the database a read used in the ``X-Gridmap-Read`` header (``replica``/``primary``).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request, session
from flask.typing import ResponseReturnValue
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Response

from gridmap.config import Settings
from gridmap.db import make_engine
from gridmap.db.replica import primary_position, read_database_url, replica_status

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
WROTE_KEY = "gm_wrote_at"
bp = Blueprint("dbroute", __name__)


def init_app(app: Flask, settings: Settings, options: str) -> None:
    """Create the replica engine when one is configured; stamp writing sessions."""
    url = read_database_url(settings)
    if url:
        app.extensions["gridmap.read_engine"] = make_engine(
            url, pool_size=10, max_overflow=10, connect_args={"options": options})
        app.after_request(_stamp_writes)
    app.after_request(_tell_target)
    app.register_blueprint(bp)


def read_engine(primary: Engine) -> Engine:
    """The engine a read of this request uses (see the module docstring)."""
    replica: Engine | None = current_app.extensions.get("gridmap.read_engine")
    target = primary
    if replica is not None and request.method in SAFE:
        wrote = session.get(WROTE_KEY)
        window = current_app.extensions["gridmap.settings"].read_after_write_s
        if not (isinstance(wrote, int | float) and time.time() - wrote < window):
            target = replica
    g.gm_read = "replica" if target is replica and replica is not None else "primary"
    return target


def _stamp_writes(response: Response) -> Response:
    if request.method not in SAFE and response.status_code < 400:
        session[WROTE_KEY] = time.time()
    return response


def _tell_target(response: Response) -> Response:
    if "gm_read" in g:
        response.headers["X-Gridmap-Read"] = g.gm_read
    return response


@bp.get("/health")
def health() -> ResponseReturnValue:
    """Primary reachable; replica lag (no personal data; for load balancers and monitors)."""
    primary: Engine = current_app.extensions["gridmap.engine"]
    replica: Engine | None = current_app.extensions.get("gridmap.read_engine")
    out: dict[str, Any] = {"primary": "ok", "replica": None}
    try:
        with primary.connect() as conn:
            lsn = primary_position(conn)
    except Exception:  # noqa: BLE001 (health reports, never raises)
        return jsonify({"primary": "unreachable", "replica": None}), 503
    if replica is not None:
        try:
            with replica.connect() as conn:
                out["replica"] = {"state": "ok", **replica_status(conn, lsn)}
        except Exception:  # noqa: BLE001
            out["replica"] = {"state": "unreachable"}
    return jsonify(out)
