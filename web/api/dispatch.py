"""Dispatch JSON API (issue #13): routing rule sets (list, history, new version, activate,
import/export as CSV/XLSX, re-run over open cases) and case steps through the dispatch
engine (立案 with the proposed unit, 派遣 with an override reason, 接单, 回退, 改派,
社区呼叫 level raise) with optimistic locking.

Thin callers of :mod:`gridmap.dispatch` (rules, ruleio) and, for cases, of
:mod:`gridmap.accounts.scope` (area, unit and post checks: the same functions the CLI calls).
Rules are edited by admins; case steps need a login whose role or posts allow them.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request, send_file

from gridmap.accounts import scope as scopes
from gridmap.dispatch import events, ruleio, rules
from gridmap.dispatch.params import DispatchParams
from gridmap.errors import Problem, ValidationError
from gridmap.incidents.intake import IntakeParams
from gridmap.supervision import notify
from web import db
from web.access import actor, current_scope, roles_required
from web.api import dispatch_schemas as s
from web.api.common import json_response, jsonable, settings
from web.api.parsing import describe, parse, use

bp = Blueprint("dispatch_api", __name__, url_prefix="/api/dispatch")


def _params() -> tuple[DispatchParams, IntakeParams]:
    cfg = settings()
    return DispatchParams.from_settings(cfg), IntakeParams.from_settings(cfg)


def _plain(obj: Any) -> Any:
    """Rows (lists of mappings) as JSON-ready values."""
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return jsonable(obj)


@bp.get("/rule-sets")
@roles_required("admin")
def rule_sets() -> Response:
    """Every routing rule set, newest first (the history; one is active)."""
    with db.read() as conn:
        return json_response({"sets": _plain(rules.list_sets(conn))})


@bp.get("/rules")
@roles_required("admin")
@use(s.RuleSetQuery)
def get_rules(args: dict[str, Any]) -> Response:
    """The rules of a set (default: the active one), in evaluation order."""
    with db.read() as conn:
        set_id = args.get("set_id") or rules.active_set_id(conn)
        return json_response({"set_id": set_id, "rules": _plain(rules.get_rules(conn, set_id))})


@bp.post("/rule-sets")
@roles_required("admin")
@use(s.RuleSetBody, "json")
def create_rule_set(body: dict[str, Any]) -> Response:
    """A new rule set from ``rules`` (400 with every problem of every rule; nothing stored)."""
    bad = [Problem("dispatch.rule_not_object", {}, row=n) for n, r in
           enumerate(body["rules"], start=1) if not isinstance(r, dict)]
    if bad:
        raise ValidationError("dispatch.invalid_rules", bad)
    with db.write() as conn:
        set_id = rules.create_set(conn, body["rules"], actor=actor(), note=body.get("note"),
                                  activate=body["activate"])
        out = {"set_id": set_id, "active": body["activate"],
               "rules": _plain(rules.get_rules(conn, set_id))}
    return json_response(out, 201)


@bp.post("/rule-sets/<int:set_id>/activate")
@roles_required("admin")
def activate(set_id: int) -> Response:
    """Make a rule set the active one (the previous stays in the history)."""
    with db.write() as conn:
        rules.activate_set(conn, set_id)
    return json_response({"set_id": set_id, "active": True})


@bp.post("/rule-sets/import")
@roles_required("admin")
@describe(s.ImportForm, "form")
def import_rules() -> Response:
    """Upload a rules file (multipart ``file``: CSV or XLSX; form ``dry_run``, ``activate``,
    ``note``): validated as a whole, stored as a new set unless ``dry_run``."""
    form = parse(s.ImportForm, "form")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("dispatch.invalid_rules",
                              [Problem("dispatch.file_missing", {}, field="file")])
    suffix = Path(upload.filename).suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"rules{suffix}"
        upload.save(path)
        with db.write() as conn:
            report = ruleio.import_rules(conn, path, actor=actor(),
                                         note=form.get("note") or upload.filename,
                                         activate=form["activate"], dry_run=form["dry_run"])
    return json_response(report, 200 if form["dry_run"] else 201)


@bp.get("/rules/export")
@roles_required("admin")
@use(s.ExportQuery)
def export_rules(args: dict[str, Any]) -> Response:
    """A rule set as a CSV or XLSX download (the format the import reads)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"rules.{args['format']}"
        with db.read() as conn:
            ruleio.export_rules(conn, path, args.get("set_id"))
        data = io.BytesIO(path.read_bytes())
    return send_file(data, as_attachment=True, download_name=path.name)


@bp.post("/rules/rerun")
@roles_required("admin")
@use(s.RerunBody, "json")
def rerun(body: dict[str, Any]) -> Response:
    """Re-propose units for every open case; the changed proposals (``dry_run``: not kept)."""
    with db.write() as conn:
        changed = rules.rerun(conn, set_id=body.get("set_id"), dry_run=body["dry_run"])
    return json_response({"changed": len(changed), "cases": _plain(changed),
                          "dry_run": body["dry_run"]})


def _case(conn: Any, incident_id: int) -> dict[str, Any]:
    scope = current_scope()
    row = scopes.get_incident(conn, scope, incident_id)
    out = {k: row.get(k) for k in ("id", "state", "urgency", "category", "level", "unit_id",
                                   "proposed_unit_id", "accept_due_at", "accepted_at",
                                   "dispatched_at", "due_at", "lock_version")}
    out["events"] = events.dispatch_events(conn, incident_id)
    out.update({k: v for k, v in scopes.masked(row, scope).items()
                if k in ("reporter_name", "reporter_phone")})
    return _plain(out)


@bp.get("/cases/<int:incident_id>")
@roles_required()
def case(incident_id: int) -> Response:
    """A case's dispatch state (level, units, 接单 clock, version) and its dispatch events."""
    with db.read() as conn:
        return json_response(_case(conn, incident_id))


@bp.post("/cases/<int:incident_id>/act")
@roles_required()
@use(s.ActBody, "json")
def act(incident_id: int, body: dict[str, Any]) -> Response:
    """A case step (``to``: filed, dispatched, handling = 接单, returned, handled, closed …);
    409 on a stale ``version`` or an illegal transition, 403 outside the user's scope/posts."""
    params, intake = _params()
    extra = {k: body[k] for k in ("satisfaction", "solved") if body.get(k) is not None}
    with db.write() as conn:
        scopes.dispatch_act(conn, current_scope(), incident_id, body["to"], actor=actor(),
                            note=body.get("note"), unit_id=body.get("unit_id"),
                            expected_version=body.get("version"), params=params, intake=intake,
                            notify=notify.send, **extra)
        return json_response(_case(conn, incident_id))


@bp.post("/cases/<int:incident_id>/raise-level")
@roles_required()
@use(s.RaiseBody, "json")
def raise_level(incident_id: int, body: dict[str, Any]) -> Response:
    """社区呼叫: raise the case one handling level; it is re-targeted to the unit answering
    at the new level (the street centre, then the district)."""
    params, _ = _params()
    with db.write() as conn:
        scopes.raise_level(conn, current_scope(), incident_id, actor=actor(),
                           note=body.get("note"), params=params,
                           expected_version=body.get("version"), notify=notify.send)
        return json_response(_case(conn, incident_id))
