"""The 督办 scan: lights, reminders and escalation over all open cases, set-based.

One run (:func:`scan`, ``gridmap supervise scan``) at an explicit instant ``now``:

1. **Lights.** A case whose unit's clock runs (states :data:`SUPERVISED_STATES`, dispatched)
   is measured against its acceptance deadline (``accept_due_at``) until it is accepted, then
   against its handling deadline (``due_at``); the clock starts at dispatch. **Red**: the
   deadline has passed. **Yellow**: less than ``supervise_yellow_share`` of the limit is left.
   The 督办 entry (``supervision``, one row per case) keeps the light and when it was lit.
2. **Cleared.** An entry whose case is no longer lit (accepted, handled, closed, parked,
   returned, extended past the threshold …) gets ``cleared_at``.
3. **Reminders.** A lit case reminds its unit (the street centre when it has none) at each light
   change and then at most once per ``supervise_remind_hours``: a notification to the unit
   (webhook queued) and an ``incident_event``.
4. **Escalation.** A red case not escalated yet is escalated to its unit's parent (org tree)
   and to the street centre of its street: ``escalated_to``/``escalated_at``, a notification
   to both, an event. An entry re-lit after being cleared starts a new escalation.

Every automatic step is an ``incident_event`` with actor ``system``, the case's state as
both ``from_state`` and ``to_state`` (the state does not change) and ``data`` =
``{"kind": step, "reason": message code, "light", …}``. Each step is one SQL statement over
all lit cases (a temporary table holds the lit set), so the scan's cost does not depend on
a per-case loop. Time-share lights are measured on the natural clock between dispatch and
the deadline (the deadline itself already follows the working calendar).

The street centre of a street is the active 块 (``kuai``) unit of level ``street`` serving
that street's code (``org_unit_area``); when there is none, the nearest ``street``-level
ancestor of the case's unit.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.supervision import notify
from gridmap.supervision.params import ScanParams

SUPERVISED_STATES: tuple[str, ...] = ("dispatched", "handling", "extended", "rework")
"""States in which the handling unit's clock runs (parked/returned/handled stop it)."""
SCAN_TABLE = "_supervise_scan"

_CENTRES = """
WITH RECURSIVE up(unit_id, anc_id, anc_level, depth) AS (
    SELECT id, id, level, 0 FROM org_unit
    UNION ALL
    SELECT up.unit_id, p.id, p.level, up.depth + 1
    FROM up JOIN org_unit o ON o.id = up.anc_id JOIN org_unit p ON p.id = o.parent_id
    WHERE up.depth < 32
), street_anc AS (
    SELECT DISTINCT ON (unit_id) unit_id, anc_id FROM up WHERE anc_level = 'street'
    ORDER BY unit_id, depth
), area_centre AS (
    SELECT DISTINCT ON (s.id) s.id AS street_id, u.id AS unit_id
    FROM street s JOIN org_unit_area a ON a.area_level = 'street' AND a.area_code = s.code
    JOIN org_unit u ON u.id = a.unit_id AND u.level = 'street' AND u.line = 'kuai' AND u.active
    ORDER BY s.id, u.id
)"""

_LIT = _CENTRES + """, c AS (
    SELECT i.id, i.unit_id, i.street_id, i.state, i.case_no,
           (i.accept_due_at IS NOT NULL AND i.accepted_at IS NULL) AS accepting,
           CASE WHEN i.accept_due_at IS NOT NULL AND i.accepted_at IS NULL
                THEN i.accept_due_at ELSE i.due_at END AS due,
           i.dispatched_at AS start
    FROM incident i
    WHERE i.state = ANY(:states) AND i.dispatched_at IS NOT NULL
), lit AS (
    SELECT c.id AS incident_id, c.unit_id, c.street_id, c.state, c.case_no, c.accepting, c.due,
           CASE WHEN c.due <= :now THEN 'red' ELSE 'yellow' END AS light,
           o.parent_id, COALESCE(ac.unit_id, sa.anc_id) AS centre_id
    FROM c
    LEFT JOIN org_unit o ON o.id = c.unit_id
    LEFT JOIN area_centre ac ON ac.street_id = c.street_id
    LEFT JOIN street_anc sa ON sa.unit_id = c.unit_id
    WHERE c.due IS NOT NULL AND (c.due <= :now OR (c.due - :now) < (c.due - c.start) * :share)
)"""  # noqa: S608

_SCAN = _LIT + """, old AS (
    SELECT l.*, s.incident_id IS NOT NULL AND s.cleared_at IS NULL AS live,
           s.light AS old_light, s.unit_id AS old_unit, s.since AS old_since,
           s.reminders AS old_reminders, s.last_reminded_at, s.escalated_to AS old_escalated_to,
           s.escalated_at AS old_escalated_at
    FROM lit l LEFT JOIN supervision s ON s.incident_id = l.incident_id
), flags AS (
    SELECT o.*, NOT live OR old_light <> light OR old_unit IS DISTINCT FROM unit_id AS changed,
           light = 'red' AND COALESCE(parent_id, centre_id) IS NOT NULL
               AND (NOT live OR old_escalated_at IS NULL) AS escalate
    FROM old o
)
SELECT f.*, COALESCE(f.unit_id, f.centre_id) AS notify_unit,
       changed OR last_reminded_at IS NULL
           OR last_reminded_at <= :now - make_interval(secs => :remind_s) AS remind
FROM flags f
"""  # noqa: S608
"""The lit cases with their 督办 entry: what changes (light/unit), who is reminded and who
is escalated in this run."""

_CLEAR = """
WITH cl AS (
    UPDATE supervision s SET cleared_at = :now
    WHERE s.cleared_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM _supervise_scan t WHERE t.incident_id = s.incident_id)
    RETURNING s.incident_id, s.light
)
INSERT INTO incident_event (incident_id, at, actor, from_state, to_state, data)
SELECT cl.incident_id, :now, 'system', i.state, i.state,
       jsonb_build_object('kind', 'supervise.cleared', 'light', cl.light, 'reason',
           CASE WHEN i.state = ANY(:states) THEN 'supervise.reason.in_time'
                ELSE 'supervise.reason.clock_stopped' END)
FROM cl JOIN incident i ON i.id = cl.incident_id
"""

_UPSERT = """
INSERT INTO supervision AS s (incident_id, light, since, unit_id, reminders, last_reminded_at,
                              escalated_to, escalated_at, cleared_at)
SELECT t.incident_id, t.light,
       CASE WHEN t.changed THEN :now ELSE t.old_since END, t.unit_id,
       CASE WHEN t.live THEN t.old_reminders ELSE COALESCE(t.old_reminders, 0) END
           + CASE WHEN t.remind AND t.notify_unit IS NOT NULL THEN 1 ELSE 0 END,
       CASE WHEN t.remind AND t.notify_unit IS NOT NULL THEN :now ELSE t.last_reminded_at END,
       CASE WHEN t.escalate THEN COALESCE(t.parent_id, t.centre_id)
            WHEN t.live THEN t.old_escalated_to END,
       CASE WHEN t.escalate THEN :now WHEN t.live THEN t.old_escalated_at END,
       NULL
FROM _supervise_scan t
WHERE t.changed OR t.escalate OR (t.remind AND t.notify_unit IS NOT NULL)
ON CONFLICT (incident_id) DO UPDATE SET
    light = EXCLUDED.light, since = EXCLUDED.since, unit_id = EXCLUDED.unit_id,
    reminders = EXCLUDED.reminders, last_reminded_at = EXCLUDED.last_reminded_at,
    escalated_to = EXCLUDED.escalated_to, escalated_at = EXCLUDED.escalated_at,
    cleared_at = NULL
"""

_REASON = ("CASE WHEN t.light = 'red' AND t.accepting THEN 'supervise.reason.accept_overdue' "
           "WHEN t.light = 'red' THEN 'supervise.reason.overdue' "
           "WHEN t.accepting THEN 'supervise.reason.accept_near' "
           "ELSE 'supervise.reason.near_due' END")
_PARAMS = ("jsonb_build_object('case_no', t.case_no, 'light', t.light, 'due_at', t.due, "
           "'phase', CASE WHEN t.accepting THEN 'accept' ELSE 'handle' END)")

_EVENTS = """
INSERT INTO incident_event (incident_id, at, actor, from_state, to_state, data)
SELECT t.incident_id, :now, 'system', t.state, t.state,
       jsonb_build_object('kind', CASE WHEN t.changed THEN 'supervise.light'
                                       ELSE 'supervise.reminder' END,
                          'light', t.light, 'reason', """ + _REASON + """,
                          'unit_id', t.notify_unit, 'due_at', t.due)
FROM _supervise_scan t WHERE t.remind AND t.notify_unit IS NOT NULL
UNION ALL
SELECT t.incident_id, :now, 'system', t.state, t.state,
       jsonb_build_object('kind', 'supervise.escalated', 'light', t.light,
                          'reason', """ + _REASON + """, 'from_unit', t.unit_id,
                          'parent_unit', t.parent_id, 'street_centre', t.centre_id,
                          'due_at', t.due)
FROM _supervise_scan t WHERE t.escalate
"""  # noqa: S608

_NOTICES = """
INSERT INTO notification (unit_id, incident_id, kind, params, created_at)
SELECT t.notify_unit, t.incident_id, 'supervise.' || t.light, """ + _PARAMS + """, :now
FROM _supervise_scan t WHERE t.remind AND t.notify_unit IS NOT NULL
UNION ALL
SELECT DISTINCT x.uid, t.incident_id, 'supervise.escalated',
       """ + _PARAMS + """ || jsonb_build_object('from_unit', t.unit_id), :now
FROM _supervise_scan t CROSS JOIN LATERAL (VALUES (t.parent_id), (t.centre_id)) AS x(uid)
WHERE t.escalate AND x.uid IS NOT NULL AND x.uid IS DISTINCT FROM t.unit_id
"""  # noqa: S608

_QUEUE = """
WITH n AS (
    SELECT n.id, n.unit_id, n.incident_id, n.kind, n.params, n.created_at
    FROM notification n
    WHERE n.id > :since AND n.created_at = :now AND n.kind = ANY(:kinds)
      AND n.unit_id IN (SELECT id FROM org_unit WHERE webhook_url IS NOT NULL)
) """ + notify.QUEUE  # noqa: S608
"""The webhooks of this run's notices: read back by id range (runs are serialised by an
advisory lock), so the notices are written without a RETURNING of every row."""
KINDS = ("supervise.yellow", "supervise.red", "supervise.escalated")
LOCK_KEY = 0x5355_5045  # 'SUPE': one scan at a time

Escalated = Callable[[Connection, list[int], dt.datetime], Any]
"""Hook called with the newly escalated case ids (e.g. the dispatch engine's level raise)."""


def _lit(conn: Connection, now: dt.datetime, params: ScanParams) -> dict[str, int]:
    """Build the temporary table of lit cases with their flags; counts."""
    conn.execute(sa.text(f"DROP TABLE IF EXISTS pg_temp.{SCAN_TABLE}"))
    conn.execute(sa.text(f"CREATE TEMP TABLE {SCAN_TABLE} AS " + _SCAN),
                 {"now": now, "share": params.supervise_yellow_share,
                  "states": list(SUPERVISED_STATES),
                  "remind_s": params.supervise_remind_hours * 3600.0})
    conn.execute(sa.text(f"CREATE UNIQUE INDEX ON {SCAN_TABLE} (incident_id)"))
    conn.execute(sa.text(f"ANALYZE {SCAN_TABLE}"))
    row = conn.execute(sa.text(
        "SELECT count(*) FILTER (WHERE light = 'yellow'), count(*) FILTER (WHERE light = 'red'), "  # noqa: S608
        "count(*) FILTER (WHERE changed), "
        "count(*) FILTER (WHERE remind AND notify_unit IS NOT NULL) "
        f"FROM {SCAN_TABLE}")).one()  # noqa: S608
    return {"yellow": int(row[0]), "red": int(row[1]), "changed": int(row[2]),
            "reminded": int(row[3])}


class _Clock:
    """Seconds per step into ``timings`` (when given)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings, self.t = timings, time.perf_counter()

    def __call__(self, step: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[step] = round(now - self.t, 3)
            self.t = now


def scan(conn: Connection, now: dt.datetime | None = None, params: ScanParams | None = None,
         *, on_escalated: Escalated | None = None,
         timings: dict[str, float] | None = None) -> dict[str, Any]:
    """Run the 督办 scan at ``now`` (default: the current time) in the caller's transaction.

    Parameters
    ----------
    params:
        Yellow share and reminder interval (:class:`ScanParams`).
    on_escalated:
        Called with the ids of the cases escalated in this run (for example to raise their
        handling level); runs in the same transaction.
    timings:
        Filled with the seconds of each step (benchmarks).

    Returns
    -------
    dict
        ``yellow``, ``red`` (lit now), ``changed`` (light set or changed), ``cleared``,
        ``reminded``, ``escalated``, ``notifications``, ``webhooks`` (deliveries queued),
        ``escalated_ids``.
    """
    now = now or dt.datetime.now(dt.UTC)
    params = params or ScanParams()
    clock = _Clock(timings)
    with conn.begin_nested():
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        out: dict[str, Any] = _lit(conn, now, params)
        clock("lights")
        p = {"now": now, "states": list(SUPERVISED_STATES)}
        out["cleared"] = int(conn.execute(sa.text(_CLEAR), p).rowcount or 0)
        clock("cleared")
        conn.execute(sa.text(_UPSERT), p)
        clock("entries")
        conn.execute(sa.text(_EVENTS), p)
        clock("events")
        since = conn.execute(sa.text("SELECT COALESCE(max(id), 0) FROM notification")
                             ).scalar_one()
        out["notifications"] = int(conn.execute(sa.text(_NOTICES), p).rowcount or 0)
        out["webhooks"] = int(conn.execute(sa.text(_QUEUE), {
            **p, "since": since, "kinds": list(KINDS)}).rowcount or 0)
        clock("notifications")
        ids = [int(r[0]) for r in conn.execute(sa.text(
            f"SELECT incident_id FROM {SCAN_TABLE} WHERE escalate ORDER BY 1"))]  # noqa: S608
        out["escalated"], out["escalated_ids"] = len(ids), ids
        if ids and on_escalated is not None:
            on_escalated(conn, ids, now)
        conn.execute(sa.text(f"DROP TABLE IF EXISTS pg_temp.{SCAN_TABLE}"))
    return out
