"""In-app notifications (``notification``) and the outgoing webhook queue (``webhook_delivery``).

A notification goes to a unit (``unit_id``: every holder of a post in that unit sees it) or to
one user (``user_id``). A user's inbox is their own notifications plus those of the units they
hold an active post in (``staff_post``); reading a unit notification marks it read for the
unit. Every notification to a unit with a ``webhook_url`` is queued in ``webhook_delivery`` in
the same statement; :mod:`gridmap.supervision.webhook` sends the queue outside any request.

``kind`` is a message code (``supervise.red`` …) and ``params`` its parameters, so the
reader's language renders the text.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, Problem, ValidationError

QUEUE = """
INSERT INTO webhook_delivery (unit_id, notification_id, payload, next_try_at)
SELECT n.unit_id, n.id,
       jsonb_build_object('id', n.id, 'kind', n.kind, 'unit', u.code,
                          'incident_id', n.incident_id, 'params', n.params,
                          'created_at', n.created_at),
       n.created_at
FROM n JOIN org_unit u ON u.id = n.unit_id
WHERE u.webhook_url IS NOT NULL AND u.webhook_url <> '' AND u.active
"""
"""Queue the webhooks of the notifications just inserted by a CTE named ``n`` (its columns
id, unit_id, incident_id, kind, params, created_at): one delivery per notification to a unit
with a webhook. Used by :func:`send` and the 督办 scan."""
_MINE = ("(n.user_id = :uid OR n.unit_id IN "
         "(SELECT p.unit_id FROM staff_post p WHERE p.user_id = :uid AND p.active))")


def send(conn: Connection, kind: str, *, unit_ids: Iterable[int] = (),
         user_ids: Iterable[int] = (), incident_id: int | None = None,
         params: Mapping[str, Any] | None = None, at: dt.datetime | None = None) -> list[int]:
    """Notify units and/or users (one statement; webhooks of the units queued).

    Returns
    -------
    list of int
        The new notification ids.
    """
    units, users_ = sorted(set(unit_ids)), sorted(set(user_ids))
    if not units and not users_:
        return []
    rows = conn.execute(sa.text(
        "WITH t AS (SELECT unnest(CAST(:units AS int[])) AS unit_id, NULL::int AS user_id "  # noqa: S608
        "UNION ALL SELECT NULL, unnest(CAST(:users AS int[]))), "
        "n AS (INSERT INTO notification (unit_id, user_id, incident_id, kind, params, created_at) "
        "SELECT unit_id, user_id, :inc, :kind, CAST(:params AS jsonb), :at FROM t "
        "RETURNING id, unit_id, incident_id, kind, params, created_at), "
        "q AS (" + QUEUE + ") SELECT id FROM n ORDER BY id"),
        {"units": units, "users": users_, "inc": incident_id, "kind": kind,
         "params": json.dumps(dict(params or {}), default=str),
         "at": at or dt.datetime.now(dt.UTC)}).all()
    return [int(r[0]) for r in rows]


def unread_count(conn: Connection, user_id: int) -> int:
    """Unread notifications of a user (their own and their units')."""
    return int(conn.execute(sa.text(
        f"SELECT count(*) FROM notification n WHERE n.read_at IS NULL AND {_MINE}"),  # noqa: S608
        {"uid": user_id}).scalar_one())


def unread_summary(conn: Connection, user_id: int) -> dict[str, Any]:
    """A user's unread notifications: ``unread`` (all), ``own`` (addressed to the user) and
    ``units`` (per unit the user holds a post in: ``unit_id``, ``code``, ``name``, ``unread``)."""
    units = [dict(r) for r in conn.execute(sa.text(
        "SELECT u.id AS unit_id, u.code, u.name, count(n.id) AS unread FROM org_unit u "
        "LEFT JOIN notification n ON n.unit_id = u.id AND n.read_at IS NULL "
        "WHERE u.id IN (SELECT unit_id FROM staff_post WHERE user_id = :uid AND active) "
        "GROUP BY u.id ORDER BY u.code"), {"uid": user_id}).mappings()]
    own = int(conn.execute(sa.text(
        "SELECT count(*) FROM notification WHERE user_id = :uid AND read_at IS NULL"),
        {"uid": user_id}).scalar_one())
    return {"unread": own + sum(int(u["unread"]) for u in units), "own": own, "units": units}


def unread_by_unit(conn: Connection, unit_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Unread notifications per unit (all units with any, or the given ones, zeros included)."""
    rows = conn.execute(sa.text(
        "SELECT u.id, count(n.id) FROM org_unit u LEFT JOIN notification n "
        "ON n.unit_id = u.id AND n.read_at IS NULL "
        "WHERE (CAST(:ids AS int[]) IS NULL OR u.id = ANY(:ids)) GROUP BY u.id "
        "HAVING count(n.id) > 0 OR CAST(:ids AS int[]) IS NOT NULL ORDER BY u.id"),
        {"ids": None if unit_ids is None else list(unit_ids)}).all()
    return {int(a): int(b) for a, b in rows}


def list_for_user(conn: Connection, user_id: int, *, unread_only: bool = False,
                  page: int = 1, page_size: int = 50) -> dict[str, Any]:
    """A page of a user's notifications (their own and their units'), newest first."""
    where = f"{_MINE} AND (NOT :unread OR n.read_at IS NULL)"
    p = {"uid": user_id, "unread": unread_only}
    total = conn.execute(sa.text(f"SELECT count(*) FROM notification n WHERE {where}"),  # noqa: S608
                         p).scalar_one()
    rows = conn.execute(sa.text(
        "SELECT n.id, n.unit_id, u.code AS unit_code, u.name AS unit_name, n.user_id, "  # noqa: S608
        "n.incident_id, i.case_no, n.kind, n.params, n.created_at, n.read_at "
        "FROM notification n LEFT JOIN org_unit u ON u.id = n.unit_id "
        "LEFT JOIN incident i ON i.id = n.incident_id "
        f"WHERE {where} ORDER BY n.created_at DESC, n.id DESC LIMIT :lim OFFSET :off"),
        {**p, "lim": page_size, "off": (page - 1) * page_size}).mappings().all()
    return {"total": int(total), "page": page, "page_size": page_size,
            "items": [dict(r) for r in rows]}


def mark_read(conn: Connection, user_id: int, ids: Sequence[int] | None = None,
              at: dt.datetime | None = None) -> int:
    """Mark notifications read (``ids=None``: all of the user's unread ones).

    Raises
    ------
    ValidationError
        ``supervise.notification_not_yours``: one problem per id that is not the user's (or
        does not exist); nothing is changed then.
    """
    at = at or dt.datetime.now(dt.UTC)
    if ids is not None:
        mine = {int(r[0]) for r in conn.execute(sa.text(
            f"SELECT n.id FROM notification n WHERE n.id = ANY(:ids) AND {_MINE}"),  # noqa: S608
            {"ids": list(ids), "uid": user_id})}
        bad = [Problem("supervise.notification_unknown", {"id": i}, field="ids")
               for i in ids if i not in mine]
        if bad:
            raise ValidationError("supervise.notification_not_yours", bad)
    res = conn.execute(sa.text(
        f"UPDATE notification n SET read_at = :at WHERE n.read_at IS NULL AND {_MINE} "  # noqa: S608
        "AND (CAST(:ids AS bigint[]) IS NULL OR n.id = ANY(:ids))"),
        {"at": at, "uid": user_id, "ids": None if ids is None else list(ids)})
    return int(res.rowcount or 0)


def get_notification(conn: Connection, notification_id: int) -> dict[str, Any]:
    """One notification row."""
    row = conn.execute(sa.text("SELECT * FROM notification WHERE id = :id"),
                       {"id": notification_id}).mappings().first()
    if row is None:
        raise NotFound("supervise.notification_missing", {"id": notification_id})
    return dict(row)
