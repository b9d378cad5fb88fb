"""Scheduled grid plans put in force lazily by the web app (issue #16).

Before a request, at most once per :data:`INTERVAL_S` seconds per process, a cheap check
(one indexed count) looks for scheduled plans whose date has come and promotes them
(:func:`gridmap.grids.activation.activate_due`) in their own transaction, so a plan is in
force on the first request after its date even when no ``gridmap grids activate-due``
timer runs. A failure is logged and never fails the request; the next check retries.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from gridmap.grids import activation
from web import db

INTERVAL_S = 60.0
log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Register the throttled due check before every request of ``app``."""
    lock = threading.Lock()
    state = {"next": 0.0}
    app.extensions["gridmap.activation"] = state  # the next check's time (tests reset it)

    @app.before_request
    def _activate_due() -> None:
        now = time.monotonic()
        if now < state["next"] or not lock.acquire(blocking=False):
            return
        try:
            state["next"] = now + INTERVAL_S
            with db.read() as conn:
                due = activation.due_count(conn)
            if due:
                with db.write() as conn:
                    done = activation.activate_due(conn)
                log.info("scheduled grid plans put in force: %s", done)
        except Exception:  # noqa: BLE001 - a failed check must not fail the request
            log.exception("activate-due check failed; retried in %.0f s", INTERVAL_S)
        finally:
            lock.release()
