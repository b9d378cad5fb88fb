"""Grid plans of a community as versions: drafts, listing, activation, revert, history by date.

A community's grids live in *versions* (MapIt-style generations). A redraw is a **draft**
version: edited (:mod:`gridmap.grids.edit`), validated (:mod:`gridmap.grids.checks`),
previewed (:mod:`gridmap.grids.impact`), then **activated** with an effective date, which
retires the previous version (``valid_to``) without touching its geometry, so history is
never overwritten and :func:`grid_at` answers "which grid was this point in on that date".
Rules come from ``/work/shared/reference/grids.md``: §5 the responsible party (属地兜底) and
validity dates, §6 codes (:mod:`gridmap.grids.codes`).

Every function that writes runs in a savepoint.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Conflict, NotFound, Problem, ValidationError
from gridmap.grids import activation
from gridmap.grids.checks import GridRules, validate
from gridmap.grids.frame import load_frame
from gridmap.grids.store import audit, version_grids, version_row
from gridmap.grids.units import ensure_cells, rederive_members

PHASES = ("draft", "pending", "current", "historic")
"""What a version is on a date: 草稿, 待生效 (activated with a future date), 现行 (in force),
历史 (no longer in force)."""


def version_phase(status: str, valid_from: dt.datetime | None, valid_to: dt.datetime | None,
                  at: dt.datetime) -> str:
    """The phase (:data:`PHASES`) of a version on ``at``, from its status and validity.

    A plan activated with a future date is ``scheduled`` (``pending``) until that date
    (:mod:`gridmap.grids.activation`), and the version it replaces (still ``active``, with
    ``valid_to`` = that date) is ``current`` until then. An ``active`` row whose start is
    still ahead (not written by :func:`activate` any more) also reads as ``pending``.
    """
    if status == "draft":
        return "draft"
    if valid_from is not None and valid_from > at:
        return "pending"
    if valid_to is not None and valid_to <= at:
        return "historic"
    return "current" if status in ("active", "scheduled") or valid_to is not None else "historic"


_SCHEDULE_AFTER = sa.text("SELECT clock_timestamp() + interval '1 minute'")
"""An effective time later than this is scheduled; up to a minute ahead (a caller's "now"
taken after the transaction began, a client clock slightly fast) is put in force at once."""


def _with_phase(row: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    row["phase"] = version_phase(row["status"], row["valid_from"], row["valid_to"], at)
    return row


def _now(conn: Connection) -> dt.datetime:
    return conn.execute(sa.text("SELECT now()")).scalar_one()


def get_version(conn: Connection, version_id: int) -> dict[str, Any]:
    """The version row as a dict with its ``phase`` today (raises :class:`NotFound`)."""
    return _with_phase(version_row(conn, version_id), _now(conn))


def active_version(conn: Connection, community_id: int) -> int | None:
    """Id of the community's active version, if any."""
    return conn.execute(
        sa.text("SELECT id FROM grid_version WHERE community_id = :c AND status = 'active'"),
        {"c": community_id},
    ).scalar()


def community_id_for(conn: Connection, ref: str) -> int:
    """Community id from an id or a 12-digit code (CLI/API helper)."""
    if ref.isdigit() and len(ref) == 12:
        cid = conn.execute(sa.text("SELECT id FROM community WHERE code = :c"), {"c": ref}).scalar()
    elif ref.isdigit():
        cid = conn.execute(sa.text("SELECT id FROM community WHERE id = :c"),
                           {"c": int(ref)}).scalar()
    else:
        cid = None
    if cid is None:
        raise NotFound("grids.community_ref_not_found", {"ref": ref})
    return int(cid)


def communities_without_plan(conn: Connection) -> list[int]:
    """Ids of the communities without an active version, by community code."""
    return [int(c) for c in conn.execute(sa.text(
        "SELECT id FROM community c WHERE NOT EXISTS (SELECT 1 FROM grid_version v"
        " WHERE v.community_id = c.id AND v.status = 'active') ORDER BY code")).scalars()]


def list_versions(conn: Connection, community_id: int, at: dt.datetime | None = None
                  ) -> list[dict[str, Any]]:
    """All versions of a community, newest generation first, with grid counts and their
    ``phase`` on ``at`` (default: the transaction's now; :func:`version_phase`)."""
    rows = conn.execute(
        sa.text(
            "SELECT v.id, v.generation, v.status, v.valid_from, v.valid_to, v.based_on_id,"
            " v.note, v.created_by, v.created_at, v.lock_version,"
            " (SELECT count(*) FROM grid_geometry gg WHERE gg.version_id = v.id) AS grids"
            " FROM grid_version v WHERE v.community_id = :c ORDER BY v.generation DESC"
        ),
        {"c": community_id},
    ).mappings().all()
    when = at or _now(conn)
    return [_with_phase(dict(r), when) for r in rows]


def _next_generation(conn: Connection, community_id: int) -> int:
    return int(conn.execute(
        sa.text("SELECT COALESCE(max(generation), 0) + 1 FROM grid_version WHERE community_id = :c"),
        {"c": community_id},
    ).scalar_one())


def create_draft(
    conn: Connection,
    community_id: int,
    *,
    actor: str,
    based_on: int | None = None,
    note: str | None = None,
    copy: bool = True,
) -> int:
    """Create a draft version, by default a copy of the active version.

    Parameters
    ----------
    based_on:
        Version to copy (default: the active one). Activation later refuses the draft if
        the active version is no longer the one it was based on (:class:`Conflict`).
    copy:
        False for an empty draft (auto-partition fills it).

    Returns
    -------
    int
        The new version id.
    """
    load_frame(conn, community_id)
    active = active_version(conn, community_id)
    source = based_on if based_on is not None else active
    if source is not None:
        src = version_row(conn, source)
        if src["community_id"] != community_id:
            raise ValidationError("grids.version_of_other_community", params={"version": source})
    with conn.begin_nested():
        vid = int(conn.execute(
            sa.text(
                "INSERT INTO grid_version (community_id, generation, status, based_on_id, note,"
                " created_by, updated_by, updated_at)"
                " VALUES (:c, :gen, 'draft', :base, :note, :actor, :actor, now()) RETURNING id"
            ),
            {"c": community_id, "gen": _next_generation(conn, community_id), "base": active,
             "note": note, "actor": actor},
        ).scalar_one())
        if copy and source is not None:
            conn.execute(
                sa.text(
                    "INSERT INTO grid_geometry (version_id, grid_id, responsible_party, geom)"
                    " SELECT :v, grid_id, responsible_party, geom FROM grid_geometry"
                    " WHERE version_id = :s"
                ),
                {"v": vid, "s": source},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO grid_member (version_id, unit_type, unit_id, grid_id)"
                    " SELECT :v, unit_type, unit_id, grid_id FROM grid_member WHERE version_id = :s"
                ),
                {"v": vid, "s": source},
            )
            # Plans imported as bare polygons have no unit members: derive them.
            ensure_cells(conn, community_id)
            rederive_members(conn, vid, community_id, only_missing=True)
        audit(conn, actor, "grid.draft", vid, None, {"based_on": active, "copied_from": source})
    return vid


def discard_draft(conn: Connection, version_id: int, *, actor: str) -> None:
    """Delete a draft (active and retired versions are history and cannot be deleted)."""
    v = version_row(conn, version_id, for_update=True)
    if v["status"] != "draft":
        raise Conflict("grids.discard_not_draft", {"version": version_id, "status": v["status"]})
    with conn.begin_nested():
        conn.execute(sa.text("DELETE FROM grid_version WHERE id = :v"), {"v": version_id})
        audit(conn, actor, "grid.discard", version_id, {"generation": v["generation"]}, None)


def version_geojson(conn: Connection, version_id: int) -> dict[str, Any]:
    """The grids of a version as a GeoJSON FeatureCollection (WGS84)."""
    version_row(conn, version_id)
    stats = {r["grid_id"]: r for r in version_grids(conn, version_id)}
    rows = conn.execute(
        sa.text("SELECT grid_id, ST_AsGeoJSON(geom, 7) FROM grid_geometry WHERE version_id = :v"),
        {"v": version_id},
    ).all()
    feats = []
    for gid, gj in rows:
        props = {k: v for k, v in stats[gid].items()}
        feats.append({"type": "Feature", "id": gid, "properties": props,
                      "geometry": json.loads(gj)})
    feats.sort(key=lambda f: (f["properties"]["provisional"], f["properties"]["grid_seq"]))
    return {"type": "FeatureCollection", "features": feats}


def _check_activation(conn: Connection, v: dict[str, Any], effective: dt.datetime,
                      expected_lock_version: int | None, r: GridRules,
                      ) -> tuple[int | None, list[Problem]]:
    """Refuse a stale, non-draft or invalid draft, or a too early date; lock the active
    version. Returns the active version id and the draft's problems (warnings only)."""
    version_id = v["id"]
    if v["status"] != "draft":
        raise Conflict("grids.activate_not_draft", {"version": version_id, "status": v["status"]})
    if expected_lock_version is not None and expected_lock_version != v["lock_version"]:
        raise Conflict("grids.activate_stale", {"who": v["updated_by"]})
    prev = conn.execute(sa.text(
        "SELECT id, valid_from FROM grid_version WHERE community_id = :c AND status = 'active'"
        " FOR UPDATE"), {"c": v["community_id"]}).first()
    prev_id = int(prev[0]) if prev else None
    if prev_id != v["based_on_id"]:
        raise Conflict("grids.active_plan_changed",
                       {"draft": version_id, "based_on": v["based_on_id"], "active": prev_id})
    problems = validate(conn, version_id, r)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError("grids.draft_has_errors", errors, {"draft": version_id})
    if prev is not None and prev[1] is not None and effective <= prev[1]:
        raise ValidationError("grids.effective_too_early",
                              params={"effective": effective, "current": prev[1]})
    return prev_id, problems


def activate(
    conn: Connection,
    version_id: int,
    *,
    effective: dt.datetime,
    actor: str,
    expected_lock_version: int | None = None,
    rules: GridRules | None = None,
) -> str:
    """Activate a draft from ``effective`` on: in force now, or scheduled for a later date.

    With ``effective`` not more than a minute ahead of the clock the plan is put in force at once
    (:func:`gridmap.grids.activation.promote`): the previous active version is closed
    (``valid_to = effective``, status retired), new grids get their codes (kept grids keep
    theirs), names and responsible parties are copied onto the grids, open incidents are
    re-assigned (:func:`gridmap.incidents.relocate.reassign_open`) and the audit log gets the
    before/after geometry of every changed grid. With a later ``effective`` the draft is
    **scheduled** (待生效, :func:`gridmap.grids.activation.schedule`): the current plan stays
    active until :func:`gridmap.grids.activation.activate_due` promotes it at its date.

    Returns
    -------
    str
        ``"active"`` or ``"scheduled"``.

    Raises
    ------
    ValidationError
        If the draft has errors (warnings do not block) or ``effective`` is not after the
        previous version's start.
    Conflict
        If the draft is stale (lock_version), the active version changed since it was
        drafted, or another plan of the community is already scheduled.
    """
    r = rules or GridRules()
    if effective.tzinfo is None:
        effective = effective.replace(tzinfo=dt.UTC)
    v = version_row(conn, version_id, for_update=True)
    prev_id, problems = _check_activation(conn, v, effective, expected_lock_version, r)
    warnings = [p.reason for p in problems if p.severity == "warning"]
    if effective > conn.execute(_SCHEDULE_AFTER).scalar_one():
        activation.schedule(conn, v, prev_id, effective, actor, r, warnings)
        return "scheduled"
    if conn.execute(sa.text(
            "SELECT 1 FROM grid_version WHERE community_id = :c AND status = 'scheduled'"),
            {"c": v["community_id"]}).first():
        raise Conflict("grids.already_scheduled", {"version": version_id})
    activation.promote(conn, version_id, prev_id, effective, actor, r, warnings)
    return "active"


def revert(conn: Connection, to_version_id: int, *, effective: dt.datetime, actor: str,
           rules: GridRules | None = None) -> int:
    """Re-activate an earlier version's plan as a new generation (history is kept).

    Returns the id of the new active version (a copy of ``to_version_id``).
    """
    old = version_row(conn, to_version_id)
    if old["status"] == "draft":
        raise ValidationError("grids.revert_to_draft", params={"version": to_version_id})
    with conn.begin_nested():
        vid = create_draft(conn, old["community_id"], actor=actor, based_on=to_version_id,
                           note=f"revert to generation {old['generation']}")
        activate(conn, vid, effective=effective, actor=actor, rules=rules)
    return vid


def grid_at(conn: Connection, lon: float, lat: float, at: dt.datetime) -> dict[str, Any] | None:
    """The grid (of the version valid at ``at``: active, retired, or scheduled for a date
    before ``at``) containing a WGS84 point."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    row = conn.execute(sa.text(
        "SELECT g.id AS grid_id, g.grid_code, g.name, gg.responsible_party, v.id AS version_id,"
        " v.generation, v.community_id, v.valid_from, v.valid_to"
        " FROM grid_version v JOIN grid_geometry gg ON gg.version_id = v.id"
        " JOIN grid g ON g.id = gg.grid_id"
        " WHERE v.status IN ('active', 'retired', 'scheduled') AND v.valid_from <= :at"
        " AND (v.valid_to IS NULL OR v.valid_to > :at)"
        " AND gg.geom && ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
        " AND ST_Covers(gg.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
        " ORDER BY g.grid_seq LIMIT 1"), {"x": lon, "y": lat, "at": at}).mappings().first()
    return dict(row) if row else None
