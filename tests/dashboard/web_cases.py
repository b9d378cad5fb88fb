"""Cases for the dashboard's web and browser tests, on :func:`tests.fixtures.web.seed_district`
(甲社区 and 乙社区 in street 110101001, 丙社区 in street 110101002), relative to now."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tests.fixtures.web import COMMUNITIES

# community, state, urgency, reported (days ago), due (days ago; negative: ahead), closed
# (days ago), level, satisfaction
CASES = (
    ("110101001001", "handling", "urgent", 3, 1, None, "grid", None),
    ("110101001001", "dispatched", "normal", 2, -3, None, "grid", None),
    ("110101001001", "closed", "normal", 10, 5, 6, "grid", None),
    ("110101001001", "evaluated", "key", 12, 8, 7, "community", 5),
    ("110101001002", "handling", "normal", 5, 2, None, "grid", None),
    ("110101001002", "closed", "normal", 9, 6, 4, "grid", None),
    ("110101002001", "dispatched", "key", 1, -2, None, "grid", None),
    ("110101002001", "evaluated", "normal", 8, 4, 5, "grid", 3),
    ("110101002001", "closed", "urgent", 6, 3, 3, "street", None),
)


def add_cases(conn: Connection) -> int:
    """Insert :data:`CASES` (at each community's centre); returns how many."""
    cat = conn.execute(sa.text("SELECT code FROM event_category WHERE parent_code IS NOT NULL "
                               "ORDER BY code LIMIT 1")).scalar_one()
    bounds = {c[0]: (c[3], c[4]) for c in COMMUNITIES}
    for k, (code, state, urg, rep, due, closed, level, sat) in enumerate(CASES):
        x0, x1 = bounds[code]
        conn.execute(sa.text(
            "INSERT INTO incident (case_no, category_code, urgency, state, reported_at, geom,"
            " street_id, community_id, grid_id, dispatched_at, due_at, closed_at, level,"
            " satisfaction_score, evaluated_at, synthetic)"
            " SELECT :no, :cat, :urg, :state, now() - make_interval(days => :rep),"
            " ST_SetSRID(ST_MakePoint(:x, 39.907), 4326), c.street_id, c.id, g.id,"
            " now() - make_interval(days => :rep), now() - make_interval(days => :due),"
            " now() - make_interval(days => CAST(:closed AS int)), :level, CAST(:sat AS smallint),"
            " CASE WHEN CAST(:sat AS smallint) IS NULL THEN NULL ELSE now() - make_interval(days => CAST(:closed AS int)) END,"
            " true FROM community c LEFT JOIN grid g ON g.community_id = c.id WHERE c.code = :code"),
            {"no": f"DASH-{k:03d}", "cat": cat, "urg": urg, "state": state, "rep": rep,
             "x": (x0 + x1) / 2 + 0.0005 * k, "due": due, "closed": closed, "level": level,
             "sat": sat, "code": code})
    return len(CASES)
