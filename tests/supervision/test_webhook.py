"""Outgoing webhooks against a real HTTP server on 127.0.0.1: signed, retried with backoff,
given up after the configured attempts; a notification queues its delivery."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.supervision import notify, webhook
from gridmap.supervision.params import WebhookParams
from tests.fixtures.supervision_world import build_street

T = dt.datetime(2025, 11, 20, 1, 0, tzinfo=dt.UTC)
SECRET = "s3cret-for-CG"


class _Gateway(http.server.BaseHTTPRequestHandler):
    """Answers 500 to the first ``fail`` requests, then 204; records every request."""

    received: list[dict[str, Any]] = []
    fail = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"headers": dict(self.headers), "body": body})
        status = 500 if len(type(self).received) <= type(self).fail else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[_Gateway]]]:
    handler = type("Gateway", (_Gateway,), {"received": [], "fail": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def _round(conn: Connection, at: dt.datetime, params: WebhookParams) -> dict[str, int]:
    return webhook.record(conn, webhook.send(webhook.claim(conn, at, params), at, params),
                          at, params)


def test_notice_is_signed_retried_and_delivered(conn: Connection, gateway: Any) -> None:
    url, handler = gateway
    handler.fail = 2
    ids = build_street(conn)
    conn.execute(sa.text("UPDATE org_unit SET webhook_url = :u, webhook_secret = :s "
                         "WHERE id = :id"), {"u": url, "s": SECRET, "id": ids["CG"]})
    nid = notify.send(conn, "supervise.red", unit_ids=[ids["CG"], ids["SC"]],
                      params={"case_no": "E0102202511200001", "due_at": "x"}, at=T)
    assert len(nid) == 2  # SC has no webhook: one delivery
    params = WebhookParams(webhook_backoff_seconds=60, webhook_max_attempts=5)
    assert _round(conn, T, params) == {"delivered": 0, "retry": 1, "given_up": 0}
    assert _round(conn, T + dt.timedelta(seconds=59), params)["retry"] == 0  # not due yet
    assert _round(conn, T + dt.timedelta(seconds=60), params)["retry"] == 1  # 2nd failure
    # backoff doubled: due 120 s after the second attempt
    assert _round(conn, T + dt.timedelta(seconds=179), params)["delivered"] == 0
    assert _round(conn, T + dt.timedelta(seconds=180), params)["delivered"] == 1
    assert webhook.queue_status(conn, params) == {"pending": 0, "delivered": 1, "given_up": 0}
    assert len(handler.received) == 3
    last = handler.received[-1]
    ts = int(last["headers"][webhook.TIMESTAMP_HEADER])
    assert webhook.verify(SECRET, ts, last["body"], last["headers"][webhook.SIGNATURE_HEADER])
    assert not webhook.verify("other", ts, last["body"], last["headers"][webhook.SIGNATURE_HEADER])
    payload = json.loads(last["body"])
    assert (payload["kind"], payload["unit"]) == ("supervise.red", "U-CG")
    assert payload["id"] in nid
    assert payload["params"]["case_no"] == "E0102202511200001"


def test_delivery_is_given_up_after_the_last_attempt(conn: Connection, gateway: Any) -> None:
    url, handler = gateway
    handler.fail = 99
    ids = build_street(conn)
    conn.execute(sa.text("UPDATE org_unit SET webhook_url = :u WHERE id = :id"),
                 {"u": url, "id": ids["CG"]})
    notify.send(conn, "supervise.yellow", unit_ids=[ids["CG"]], at=T)
    params = WebhookParams(webhook_backoff_seconds=1, webhook_max_attempts=2)
    assert _round(conn, T, params)["retry"] == 1
    assert _round(conn, T + dt.timedelta(hours=1), params)["given_up"] == 1
    assert _round(conn, T + dt.timedelta(days=1), params) == {
        "delivered": 0, "retry": 0, "given_up": 0}
    assert webhook.queue_status(conn, params)["given_up"] == 1
    assert webhook.SIGNATURE_HEADER not in handler.received[0]["headers"]  # no secret
    err = conn.execute(sa.text("SELECT last_error FROM webhook_delivery")).scalar_one()
    assert "500" in err


def test_only_http_urls_are_called(conn: Connection) -> None:
    ids = build_street(conn)
    conn.execute(sa.text("UPDATE org_unit SET webhook_url = 'file:///etc/passwd' "
                         "WHERE id = :id"), {"id": ids["CG"]})
    notify.send(conn, "supervise.yellow", unit_ids=[ids["CG"]], at=T)
    assert _round(conn, T, WebhookParams())["retry"] == 1
    err = conn.execute(sa.text("SELECT last_error FROM webhook_delivery")).scalar_one()
    assert "scheme" in err
