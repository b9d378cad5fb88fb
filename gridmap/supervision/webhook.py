"""The outgoing webhook deliverer (``gridmap supervise deliver``): sends the queue of
``webhook_delivery`` to each unit's ``webhook_url`` (an SMS/WeChat gateway), never inside a
web request.

One round: :func:`claim` leases due deliveries (one statement, ``FOR UPDATE SKIP LOCKED``, so
several deliverers never send the same row) and commits; :func:`send` POSTs each payload
(no database connection held); :func:`record` writes every outcome in one statement. A failed
attempt is retried after ``webhook_backoff_seconds × 2^(attempt-1)``; after
``webhook_max_attempts`` the delivery is given up (kept with its last error).

Signature: the body is the JSON payload (UTF-8); the request carries
``X-Gridmap-Timestamp`` (Unix seconds), ``X-Gridmap-Delivery`` (the delivery id) and
``X-Gridmap-Signature: sha256=<hex>`` = HMAC-SHA256 with the unit's ``webhook_secret`` over
``"<timestamp>." + body``. A receiver recomputes it (:func:`verify`) and rejects old
timestamps. A unit without a secret gets no signature header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.supervision.params import WebhookParams

SIGNATURE_HEADER = "X-Gridmap-Signature"
TIMESTAMP_HEADER = "X-Gridmap-Timestamp"
DELIVERY_HEADER = "X-Gridmap-Delivery"


@dataclass(frozen=True)
class Delivery:
    """One leased delivery."""

    id: int
    url: str
    secret: str | None
    payload: Mapping[str, Any]
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt (``error`` is None on a 2xx answer)."""

    id: int
    error: str | None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of ``"<timestamp>." + body`` with ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is the signature of ``body`` at ``timestamp`` (constant time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def claim(conn: Connection, now: dt.datetime, params: WebhookParams | None = None
          ) -> list[Delivery]:
    """Lease up to ``params.batch`` due deliveries (not delivered, attempts left, due)."""
    params = params or WebhookParams()
    rows = conn.execute(sa.text(
        "UPDATE webhook_delivery d SET next_try_at = :now + make_interval(secs => :lease) "
        "FROM org_unit u WHERE u.id = d.unit_id AND d.id IN ("
        "  SELECT id FROM webhook_delivery WHERE delivered_at IS NULL AND attempts < :max "
        "  AND next_try_at <= :now ORDER BY next_try_at, id LIMIT :batch "
        "  FOR UPDATE SKIP LOCKED) "
        "RETURNING d.id, u.webhook_url, u.webhook_secret, d.payload, d.attempts"),
        {"now": now, "lease": params.lease_seconds, "max": params.webhook_max_attempts,
         "batch": params.batch}).all()
    return sorted((Delivery(int(r[0]), str(r[1] or ""), r[2], r[3], int(r[4])) for r in rows),
                  key=lambda d: d.id)


def _post(d: Delivery, now: dt.datetime, timeout: float) -> None:
    """POST one delivery; raises on anything but a 2xx answer."""
    if urlsplit(d.url).scheme not in ("http", "https"):
        raise ValueError(f"unsupported webhook URL scheme: {d.url!r}")
    body = json.dumps(d.payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    ts = int(now.timestamp())
    headers = {"Content-Type": "application/json; charset=utf-8",
               TIMESTAMP_HEADER: str(ts), DELIVERY_HEADER: str(d.id),
               "User-Agent": "gridmap-webhook/1"}
    if d.secret:
        headers[SIGNATURE_HEADER] = sign(d.secret, ts, body)
    req = urllib.request.Request(d.url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked
        if not 200 <= resp.status < 300:
            raise urllib.error.HTTPError(d.url, resp.status, "not 2xx", resp.headers, None)


def send(deliveries: Sequence[Delivery], now: dt.datetime,
         params: WebhookParams | None = None) -> list[Outcome]:
    """Send each delivery (no database access); the outcome of every attempt."""
    params = params or WebhookParams()
    out = []
    for d in deliveries:
        try:
            _post(d, now, params.webhook_timeout_seconds)
            out.append(Outcome(d.id, None))
        except (OSError, ValueError, urllib.error.URLError) as exc:
            out.append(Outcome(d.id, f"{type(exc).__name__}: {exc}"[:500]))
    return out


def record(conn: Connection, outcomes: Sequence[Outcome], now: dt.datetime,
           params: WebhookParams | None = None) -> dict[str, int]:
    """Write the outcomes (one statement): delivered, or retried with backoff, or given up.

    Returns
    -------
    dict
        ``delivered``, ``retry`` and ``given_up`` counts of this round.
    """
    params = params or WebhookParams()
    if not outcomes:
        return {"delivered": 0, "retry": 0, "given_up": 0}
    rows = conn.execute(sa.text(
        "UPDATE webhook_delivery d SET attempts = d.attempts + 1, last_error = t.err, "
        "delivered_at = CASE WHEN t.err IS NULL THEN CAST(:now AS timestamptz) END, "
        "next_try_at = CASE WHEN t.err IS NULL THEN d.next_try_at ELSE CAST(:now AS timestamptz) "
        "  + make_interval(secs => :backoff * power(2, d.attempts)) END "
        "FROM unnest(CAST(:ids AS bigint[]), CAST(:errs AS text[])) AS t(id, err) "
        "WHERE d.id = t.id RETURNING t.err IS NULL, d.attempts >= :max"),
        {"now": now, "backoff": params.webhook_backoff_seconds,
         "max": params.webhook_max_attempts, "ids": [o.id for o in outcomes],
         "errs": [o.error for o in outcomes]}).all()
    delivered = sum(1 for ok, _ in rows if ok)
    given_up = sum(1 for ok, last in rows if not ok and last)
    return {"delivered": delivered, "retry": len(rows) - delivered - given_up,
            "given_up": given_up}


def queue_status(conn: Connection, params: WebhookParams | None = None) -> dict[str, int]:
    """Counts of the queue: ``pending`` (attempts left), ``delivered``, ``given_up``."""
    params = params or WebhookParams()
    row = conn.execute(sa.text(
        "SELECT count(*) FILTER (WHERE delivered_at IS NULL AND attempts < :max), "
        "count(*) FILTER (WHERE delivered_at IS NOT NULL), "
        "count(*) FILTER (WHERE delivered_at IS NULL AND attempts >= :max) "
        "FROM webhook_delivery"), {"max": params.webhook_max_attempts}).one()
    return {"pending": int(row[0]), "delivered": int(row[1]), "given_up": int(row[2])}
