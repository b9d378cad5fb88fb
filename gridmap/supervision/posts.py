"""Indicators of posts (岗位: 监督员, 受理员, 派遣员, 值班长; reference/cases.md §7).

A step counts for the user who did it: the ``actor`` of the case event (the username) who
holds the post (``staff_post``, active). Only state-changing events count (automatic steps
have ``from_state = to_state``). "On time" is measured from the previous state change of the
case (:class:`~gridmap.supervision.params.PostLimits`). Readings where the reference is silent:

- **监督员** (``inspector``; ``grid_worker`` the same): 上报数 = cases they reported (intake
  events); 有效上报 = of those, cases that were filed (立案); 漏报率 = cases from public
  reports or the hotline filed in the period in the grids assigned to them
  (``grid_assignment``) / all cases filed there; 按时核实率 = their reported → filed/voided
  steps within ``post_file_limit_minutes``; 按时核查率 = their handled → closed/rework steps
  within ``post_check_limit_minutes``. Composite 有效上报率 40 + (100 − 漏报率) 20 +
  按时核实率 20 + 按时核查率 20.
- **受理员** (``acceptor``): 受理数 = their reported → filed/voided steps, score by
  :attr:`PostScoring.count_steps`; 核实按时派发率 = of those, within the file limit;
  核查按时派发率 = their handled → closed/rework steps within the check limit. 25/40/35.
- **派遣员** (``dispatcher``): 派遣数 = their → dispatched steps (score as 受理数); 按时派遣率 =
  within ``post_dispatch_limit_minutes`` (a third of it for 应急 cases); 准确派遣率 = dispatches
  not followed by a 回退 (returned) before the next dispatch. 20/40/40.
- **值班长** (``shift_lead``): 立案数 = their → filed steps; 按时立案率 = within the file limit;
  准确立案率 = (立案数 − cases of those now voided) / 立案数; 按时结案率 = their → closed steps
  no later than the case's deadline. 25/40/35.

A rate without denominator counts 100 in the composite; grades A–E as the units.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.supervision.access import Viewer
from gridmap.supervision.indicators import UnitScoring, check_period, pct
from gridmap.supervision.params import PostLimits

POSTS = ("inspector", "acceptor", "dispatcher", "shift_lead")
_COMMON = {"user_id": ("用户ID", "user id"), "username": ("用户名", "username"),
           "display_name": ("姓名", "name"), "unit_code": ("单位编码", "unit code"),
           "post": ("岗位", "post")}
_RATES: dict[str, dict[str, tuple[str, tuple[str, str], str, str, float]]] = {
    # post → key → (kind, headers, numerator, denominator, weight)
    "inspector": {
        "valid_rate": ("rate", ("有效上报率(%)", "valid report rate (%)"), "valid", "reported", 40),
        "missed_rate": ("inverse", ("漏报率(%)", "missed report rate (%)"), "missed",
                        "grid_filed", 20),
        "verify_rate": ("rate", ("按时核实率(%)", "on-time verification (%)"), "verify_on_time",
                        "verified", 20),
        "check_rate": ("rate", ("按时核查率(%)", "on-time check (%)"), "check_on_time",
                       "checked", 20)},
    "acceptor": {
        "accepted_score": ("count", ("受理数得分", "acceptance count score"), "accepted", "", 25),
        "verify_rate": ("rate", ("核实按时派发率(%)", "on-time verification dispatch (%)"),
                        "verify_on_time", "accepted", 40),
        "check_rate": ("rate", ("核查按时派发率(%)", "on-time check dispatch (%)"),
                       "check_on_time", "checked", 35)},
    "dispatcher": {
        "dispatched_score": ("count", ("派遣数得分", "dispatch count score"), "dispatched", "",
                             20),
        "dispatch_rate": ("rate", ("按时派遣率(%)", "on-time dispatch (%)"), "dispatch_on_time",
                          "dispatched", 40),
        "accurate_rate": ("rate", ("准确派遣率(%)", "accurate dispatch (%)"),
                          "dispatch_accurate", "dispatched", 40)},
    "shift_lead": {
        "file_rate": ("rate", ("按时立案率(%)", "on-time filing (%)"), "file_on_time", "filed",
                      25),
        "accurate_file_rate": ("rate", ("准确立案率(%)", "accurate filing (%)"), "file_valid",
                               "filed", 40),
        "close_rate": ("rate", ("按时结案率(%)", "on-time closure (%)"), "close_on_time",
                       "closed", 35)},
}
_COUNTS = {
    "inspector": ("reported", "valid", "grid_filed", "missed", "verified", "verify_on_time",
                  "checked", "check_on_time"),
    "acceptor": ("accepted", "verify_on_time", "checked", "check_on_time"),
    "dispatcher": ("dispatched", "dispatch_on_time", "dispatch_accurate"),
    "shift_lead": ("filed", "file_on_time", "file_valid", "closed", "close_on_time"),
}
_COUNT_HEADERS = {
    "reported": ("上报数", "reported"), "valid": ("有效上报数", "valid reports"),
    "grid_filed": ("责任网格立案数", "filed in assigned grids"),
    "missed": ("漏报数", "missed"), "verified": ("核实数", "verified"),
    "verify_on_time": ("按时核实数", "verified on time"), "checked": ("核查数", "checked"),
    "check_on_time": ("按时核查数", "checked on time"), "accepted": ("受理数", "accepted"),
    "dispatched": ("派遣数", "dispatched"), "dispatch_on_time": ("按时派遣数", "on time"),
    "dispatch_accurate": ("准确派遣数", "accurate"), "filed": ("立案数", "filed"),
    "file_on_time": ("按时立案数", "filed on time"), "file_valid": ("准确立案数", "valid"),
    "closed": ("结案数", "closed"), "close_on_time": ("按时结案数", "closed on time"),
}


@dataclass(frozen=True)
class PostScoring:
    """Score table of 受理数/派遣数 and the grades (weights are in :data:`_RATES`)."""

    count_steps: tuple[tuple[float, float], ...] = (
        (2001, 100), (1201, 90), (501, 75), (301, 60), (101, 40))
    """(lower bound inclusive, score); below the last bound 0 (受理数 score of §7)."""
    grades: UnitScoring = UnitScoring()

    def count_score(self, n: int) -> float:
        """Score of a count of steps."""
        return next((float(s) for bound, s in self.count_steps if n >= bound), 0.0)


def post_fields(post: str) -> dict[str, tuple[str, str]]:
    """Export columns of one post's table."""
    out = dict(_COMMON)
    out.update({k: _COUNT_HEADERS[k] for k in _COUNTS[post]})
    out.update({k: v[1] for k, v in _RATES[post].items()})
    out.update({"score": ("综合指标值", "composite score"), "grade": ("等级", "grade")})
    return out


_SQL = """
WITH people AS (
    SELECT DISTINCT ON (p.user_id, p.post) p.user_id, p.post, a.username, a.display_name,
           u.code AS unit_code
    FROM staff_post p JOIN app_user a ON a.id = p.user_id JOIN org_unit u ON u.id = p.unit_id
    WHERE p.active AND p.post = ANY(:posts)
      AND (CAST(:units AS int[]) IS NULL OR p.unit_id = ANY(:units))
    ORDER BY p.user_id, p.post, p.unit_id
), touched AS (
    SELECT DISTINCT incident_id FROM incident_event WHERE at >= :s AND at < :e
), sc AS (
    SELECT e.incident_id, e.at, e.actor, e.from_state, e.to_state, e.note,
           e.at - lag(e.at) OVER (PARTITION BY e.incident_id ORDER BY e.at, e.id) AS took
    FROM incident_event e
    WHERE e.incident_id IN (SELECT incident_id FROM touched) AND e.at <= :asof
      AND e.from_state IS DISTINCT FROM e.to_state
), ev AS (
    SELECT sc.*, i.urgency, i.filed_at, i.due_at, i.state AS cur_state
    FROM sc JOIN incident i ON i.id = sc.incident_id
    WHERE sc.at >= :s AND sc.at < :e AND sc.actor IN (SELECT username FROM people)
), per_user AS (
    SELECT actor,
      count(*) FILTER (WHERE from_state IS NULL AND COALESCE(note, '') <> 'imported') AS reported,
      count(*) FILTER (WHERE from_state IS NULL AND COALESCE(note, '') <> 'imported'
                       AND filed_at IS NOT NULL) AS valid,
      count(*) FILTER (WHERE from_state = 'reported') AS verified,
      count(*) FILTER (WHERE from_state = 'reported' AND took <= make_interval(secs => :file_s))
          AS verify_on_time,
      count(*) FILTER (WHERE from_state = 'handled') AS checked,
      count(*) FILTER (WHERE from_state = 'handled' AND took <= make_interval(secs => :check_s))
          AS check_on_time,
      count(*) FILTER (WHERE to_state = 'dispatched') AS dispatched,
      count(*) FILTER (WHERE to_state = 'dispatched' AND took <= make_interval(
          secs => CASE WHEN urgency = 'urgent' THEN :disp_s / 3 ELSE :disp_s END))
          AS dispatch_on_time,
      count(*) FILTER (WHERE to_state = 'dispatched' AND NOT EXISTS (
          SELECT 1 FROM sc r WHERE r.incident_id = ev.incident_id AND r.to_state = 'returned'
            AND r.at > ev.at AND NOT EXISTS (
                SELECT 1 FROM sc d WHERE d.incident_id = ev.incident_id
                AND d.to_state = 'dispatched' AND d.at > ev.at AND d.at < r.at)))
          AS dispatch_accurate,
      count(*) FILTER (WHERE to_state = 'filed') AS filed,
      count(*) FILTER (WHERE to_state = 'filed' AND took <= make_interval(secs => :file_s))
          AS file_on_time,
      count(*) FILTER (WHERE to_state = 'filed' AND cur_state <> 'voided') AS file_valid,
      count(*) FILTER (WHERE to_state = 'closed') AS closed,
      count(*) FILTER (WHERE to_state = 'closed' AND due_at IS NOT NULL AND at <= due_at)
          AS close_on_time
    FROM ev GROUP BY actor
), grid_cases AS (
    SELECT g.user_id, count(*) AS grid_filed,
           count(*) FILTER (WHERE i.source = ANY(:public)) AS missed
    FROM (SELECT DISTINCT ga.user_id, gr.id AS grid_id
          FROM grid_assignment ga JOIN grid gr ON gr.grid_code = ga.grid_code
          WHERE ga.user_id IN (SELECT user_id FROM people)
            AND ga.valid_from < CAST(:e AS date)
            AND (ga.valid_to IS NULL OR ga.valid_to >= CAST(:s AS date))) g
    JOIN incident i ON i.grid_id = g.grid_id AND i.filed_at >= :s AND i.filed_at < :e
    GROUP BY g.user_id
)
SELECT people.*, per_user.*, COALESCE(grid_cases.grid_filed, 0) AS grid_filed,
       COALESCE(grid_cases.missed, 0) AS missed
FROM people LEFT JOIN per_user ON per_user.actor = people.username
LEFT JOIN grid_cases ON grid_cases.user_id = people.user_id
ORDER BY people.username, people.post
"""
PUBLIC_SOURCES = ("public", "hotline_12345")


def _score(post: str, d: dict[str, Any], scoring: PostScoring) -> None:
    """Rates, composite and grade of one row (in place)."""
    total = weights = 0.0
    for key, (kind, _, num, den, weight) in _RATES[post].items():
        if kind == "count":
            d[key] = part = scoring.count_score(int(d[num]))
        else:
            d[key] = pct(int(d[num]), int(d[den]))
            value = 100.0 if d[key] is None else float(d[key])
            part = 100.0 - (d[key] or 0.0) if kind == "inverse" else value
        total += weight * part
        weights += weight
    d["score"] = round(total / weights, 1)
    d["grade"] = scoring.grades.grade(d["score"])


def post_indicators(conn: Connection, viewer: Viewer, post: str, start: dt.datetime,
                    end: dt.datetime, *, as_of: dt.datetime | None = None,
                    limits: PostLimits | None = None, scoring: PostScoring | None = None
                    ) -> list[dict[str, Any]]:
    """One post's indicators per holder for ``[start, end)`` (one SQL statement); keys of
    :func:`post_fields`. ``inspector`` also lists the grid workers (网格员/监督员).
    A restricted viewer sees the holders of posts in its units only."""
    if post not in POSTS:
        raise ValidationError("supervise.unknown_post",
                              params={"post": post, "choices": ", ".join(POSTS)})
    check_period(start, end)
    limits, scoring = limits or PostLimits(), scoring or PostScoring()
    rows = conn.execute(sa.text(_SQL), {
        "posts": ["inspector", "grid_worker"] if post == "inspector" else [post],
        "units": None if viewer.unit_ids is None else sorted(viewer.unit_ids),
        "s": start, "e": end, "asof": as_of or min(dt.datetime.now(dt.UTC), end),
        "file_s": limits.post_file_limit_minutes * 60,
        "check_s": limits.post_check_limit_minutes * 60,
        "disp_s": limits.post_dispatch_limit_minutes * 60,
        "public": list(PUBLIC_SOURCES)}).mappings().all()
    fields = post_fields(post)
    out = []
    for r in rows:
        d = {k: (0 if v is None and k in _COUNT_HEADERS else v) for k, v in dict(r).items()}
        d["accepted"] = d["verified"]
        _score(post, d, scoring)
        out.append({k: d.get(k) for k in fields})
    return out
