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
)
SELECT c.id AS incident_id, c.unit_id, c.street_id, c.state, c.case_no, c.accepting, c.due,
       CASE WHEN c.due <= :now THEN 'red' ELSE 'yellow' END AS light,
       o.parent_id, COALESCE(ac.unit_id, sa.anc_id) AS centre_id, false AS changed
FROM c
LEFT JOIN org_unit o ON o.id = c.unit_id
LEFT JOIN area_centre ac ON ac.street_id = c.street_id
LEFT JOIN street_anc sa ON sa.unit_id = c.unit_id
WHERE c.due IS NOT NULL AND (c.due <= :now OR (c.due - :now) < (c.due - c.start) * :share)
"""  # noqa: S608

_EVENT = """INSERT INTO incident_event (incident_id, at, actor, from_state, to_state, data)
SELECT {src}.incident_id, :now, 'system', {src}.state, {src}.state, {data} FROM {src}"""

_CLEAR = """
WITH cl AS (
    UPDATE supervision s SET cleared_at = :now
    WHERE s.cleared_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM _supervise_scan t WHERE t.incident_id = s.incident_id)
    RETURNING s.incident_id, s.light
), x AS (
    SELECT cl.incident_id, cl.light, i.state FROM cl JOIN incident i ON i.id = cl.incident_id
), ev AS (""" + _EVENT.format(src="x", data=(  # noqa: S608
    "jsonb_build_object('kind', 'supervise.cleared', 'light', x.light, 'reason', "
    "CASE WHEN x.state = ANY(:states) THEN 'supervise.reason.in_time' "
    "ELSE 'supervise.reason.clock_stopped' END)")) + """)
SELECT count(*) FROM cl
"""

_LIGHT = """
WITH up AS (
    INSERT INTO supervision AS s (incident_id, light, since, unit_id)
    SELECT incident_id, light, :now, unit_id FROM _supervise_scan
    ON CONFLICT (incident_id) DO UPDATE SET
        light = EXCLUDED.light, since = :now, unit_id = EXCLUDED.unit_id, cleared_at = NULL,
        escalated_to = CASE WHEN s.cleared_at IS NULL THEN s.escalated_to END,
        escalated_at = CASE WHEN s.cleared_at IS NULL THEN s.escalated_at END
    WHERE s.cleared_at IS NOT NULL OR s.light <> EXCLUDED.light
       OR s.unit_id IS DISTINCT FROM EXCLUDED.unit_id
    RETURNING s.incident_id
)
UPDATE _supervise_scan t SET changed = true FROM up WHERE up.incident_id = t.incident_id
"""

_REASON = ("CASE WHEN r.light = 'red' AND r.accepting THEN 'supervise.reason.accept_overdue' "
           "WHEN r.light = 'red' THEN 'supervise.reason.overdue' "
           "WHEN r.accepting THEN 'supervise.reason.accept_near' "
           "ELSE 'supervise.reason.near_due' END")
_PARAMS = ("jsonb_build_object('case_no', r.case_no, 'light', r.light, 'due_at', r.due, "
           "'phase', CASE WHEN r.accepting THEN 'accept' ELSE 'handle' END)")

_REMIND = """
WITH r AS (
    UPDATE supervision s SET reminders = s.reminders + 1, last_reminded_at = :now
    FROM _supervise_scan t
    WHERE t.incident_id = s.incident_id
      AND (t.changed OR s.last_reminded_at IS NULL
           OR s.last_reminded_at <= :now - make_interval(secs => :remind_s))
    RETURNING t.*
), n AS (
    INSERT INTO _supervise_notes (unit_id, incident_id, kind, params)
    SELECT COALESCE(r.unit_id, r.centre_id), r.incident_id, 'supervise.' || r.light,
           """ + _PARAMS + """
    FROM r WHERE COALESCE(r.unit_id, r.centre_id) IS NOT NULL
), ev AS (""" + _EVENT.format(src="r", data=(  # noqa: S608
    "jsonb_build_object('kind', CASE WHEN r.changed THEN 'supervise.light' "
    "ELSE 'supervise.reminder' END, 'light', r.light, 'reason', " + _REASON
    + ", 'unit_id', COALESCE(r.unit_id, r.centre_id), 'due_at', r.due)")) + """)
SELECT count(*) FROM r
"""

_ESCALATE = """
WITH r AS (
    UPDATE supervision s SET escalated_to = COALESCE(t.parent_id, t.centre_id),
                             escalated_at = :now
    FROM _supervise_scan t
    WHERE t.incident_id = s.incident_id AND t.light = 'red' AND s.escalated_at IS NULL
      AND COALESCE(t.parent_id, t.centre_id) IS NOT NULL
    RETURNING t.*
), n AS (
    INSERT INTO _supervise_notes (unit_id, incident_id, kind, params)
    SELECT DISTINCT x.uid, r.incident_id, 'supervise.escalated',
           """ + _PARAMS + """ || jsonb_build_object('from_unit', r.unit_id)
    FROM r CROSS JOIN LATERAL (VALUES (r.parent_id), (r.centre_id)) AS x(uid)
    WHERE x.uid IS NOT NULL AND x.uid IS DISTINCT FROM r.unit_id
), ev AS (""" + _EVENT.format(src="r", data=(  # noqa: S608
    "jsonb_build_object('kind', 'supervise.escalated', 'light', r.light, 'reason', "
    + _REASON + ", 'from_unit', r.unit_id, 'parent_unit', r.parent_id, "
    "'street_centre', r.centre_id, 'due_at', r.due)")) + """)
SELECT r.incident_id FROM r ORDER BY r.incident_id
"""

Escalated = Callable[[Connection, list[int], dt.datetime], Any]
"""Hook called with the newly escalated case ids (e.g. the dispatch engine's level raise)."""


def _lit(conn: Connection, now: dt.datetime, params: ScanParams) -> dict[str, int]:
    """Build the temporary table of lit cases; counts per light."""
    conn.execute(sa.text(f"DROP TABLE IF EXISTS pg_temp.{SCAN_TABLE}"))
    conn.execute(sa.text(f"CREATE TEMP TABLE {SCAN_TABLE} AS " + _LIT),
                 {"now": now, "share": params.supervise_yellow_share,
                  "states": list(SUPERVISED_STATES)})
    conn.execute(sa.text(f"CREATE UNIQUE INDEX ON {SCAN_TABLE} (incident_id)"))
    conn.execute(sa.text(f"ANALYZE {SCAN_TABLE}"))
    rows = conn.execute(sa.text(f"SELECT light, count(*) FROM {SCAN_TABLE} GROUP BY 1")).all()  # noqa: S608
    counts = {"yellow": 0, "red": 0}
    counts.update({str(k): int(v) for k, v in rows})
    return counts


def scan(conn: Connection, now: dt.datetime | None = None, params: ScanParams | None = None,
         *, on_escalated: Escalated | None = None) -> dict[str, Any]:
    """Run the 督办 scan at ``now`` (default: the current time) in the caller's transaction.

    Parameters
    ----------
    params:
        Yellow share and reminder interval (:class:`ScanParams`).
    on_escalated:
        Called with the ids of the cases escalated in this run (for example to raise their
        handling level); runs in the same transaction.

    Returns
    -------
    dict
        ``yellow``, ``red`` (lit now), ``changed`` (light set or changed), ``cleared``,
        ``reminded``, ``escalated``, ``notifications``, ``webhooks`` (deliveries queued),
        ``escalated_ids``.
    """
    now = now or dt.datetime.now(dt.UTC)
    params = params or ScanParams()
    with conn.begin_nested():
        out: dict[str, Any] = _lit(conn, now, params)
        p = {"now": now, "states": list(SUPERVISED_STATES)}
        out["cleared"] = int(conn.execute(sa.text(_CLEAR), p).scalar_one())
        out["changed"] = int(conn.execute(sa.text(_LIGHT), p).rowcount or 0)
        notify.create_pending(conn)
        out["reminded"] = int(conn.execute(sa.text(_REMIND), {
            **p, "remind_s": params.supervise_remind_hours * 3600.0}).scalar_one())
        ids = [int(r[0]) for r in conn.execute(sa.text(_ESCALATE), p)]
        out["escalated"], out["escalated_ids"] = len(ids), ids
        out["notifications"], out["webhooks"] = notify.emit_pending(conn, now)
        if ids and on_escalated is not None:
            on_escalated(conn, ids, now)
        conn.execute(sa.text(f"DROP TABLE IF EXISTS pg_temp.{SCAN_TABLE}"))
    return out
