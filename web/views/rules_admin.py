"""``/admin/rules``: routing rules (派单规则) for admins — the versions, the rules of one in an
editable table (saved as a new version), import/export, activation and the re-run of the
proposals over open cases with a preview. Server-rendered forms with CSRF (Flask-WTF), no
script. Thin caller of :mod:`gridmap.dispatch.rules` / :mod:`gridmap.dispatch.ruleio` — the
same functions as ``gridmap dispatch rules …`` and ``/api/dispatch/*``.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse

from gridmap.dispatch import ruleio, rules
from gridmap.dispatch.params import LEVELS
from gridmap.errors import GridmapError, NotFound, Problem, ValidationError
from gridmap.incidents.intake import SOURCES
from gridmap.org import units
from gridmap.reference.categories import URGENCIES, categories
from web import db, i18n
from web.access import actor, roles_required
from web.views.admin import problems_of
from web.views.rules_admin_text import MESSAGES

bp = Blueprint("rules_admin", __name__, url_prefix="/admin/rules")
i18n.register(MESSAGES)

EDIT_FIELDS: tuple[str, ...] = ("category", "area_level", "area_code", "urgency", "source",
                                "keywords", "unit", "level")
BLANK_ROWS = 3
"""Empty rows offered under the rules for new ones."""


class CsrfForm(FlaskForm):
    """Every form of the page carries only the CSRF token; fields are read from the request."""


def _rule_rows(stored: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Stored rules as the table's text cells (keywords joined with ``|``)."""
    out = []
    for r in stored:
        row = {f: ("" if r.get(f) is None else str(r[f])) for f in EDIT_FIELDS}
        row["keywords"] = "|".join(r.get("keywords") or [])
        out.append(row)
    return out


def posted_rows(form: Any) -> list[dict[str, str]]:
    """The table's rows from the form: ordered by 顺序 (then as shown), deleted and blank rows
    left out, empty cells omitted (the library reads a missing condition as "any")."""
    n = int(form.get("rows", "0")) if str(form.get("rows", "0")).isdigit() else 0
    kept: list[tuple[float, int, dict[str, str]]] = []
    for i in range(min(n, 2000)):
        cells = {f: (form.get(f"r{i}-{f}") or "").strip() for f in EDIT_FIELDS}
        if form.get(f"r{i}-delete") or not any(cells.values()):
            continue
        try:
            order = float(form.get(f"r{i}-order") or i + 1)
        except ValueError:
            order = float(i + 1)
        kept.append((order, i, {k: v for k, v in cells.items() if v}))
    return [row for _, _, row in sorted(kept, key=lambda t: (t[0], t[1]))]


def _choices(conn: Any) -> dict[str, Any]:
    lang = i18n.current_language()
    return {
        "units": [(u.code, f"{u.code} {u.name}") for u in units.list_units(conn)],
        "categories": [(c["code"], c["name_zh"] if lang == "zh" else c["name_en"])
                       for c in categories(conn)],
        "urgencies": URGENCIES, "sources": SOURCES, "levels": LEVELS,
        "area_levels": rules.AREA_LEVELS,
    }


def _page(*, set_id: int | None = None, rows: list[dict[str, str]] | None = None,
          problems: list[str] | None = None, preview: dict[str, Any] | None = None,
          status: int = 200) -> tuple[str, int]:
    with db.read() as conn:
        sets = rules.list_sets(conn)
        shown = set_id if set_id is not None else rules.active_set_id(conn)
        if shown is None and sets:
            shown = int(sets[0]["id"])
        if rows is None:
            rows = _rule_rows(rules.get_rules(conn, shown)) if shown is not None else []
        choices = _choices(conn)
    rows = rows + [dict.fromkeys(EDIT_FIELDS, "") for _ in range(BLANK_ROWS)]
    return render_template("admin/rules.html", sets=sets, shown=shown, rows=rows,
                           fields=EDIT_FIELDS, choices=choices, problems=problems or [],
                           preview=preview, form=CsrfForm()), status


@bp.get("")
@roles_required("admin")
def page() -> str | tuple[str, int]:
    """The versions and the rules of one (``?set=ID``, default the active one)."""
    raw = request.args.get("set", "")
    try:
        return _page(set_id=int(raw) if raw.isdigit() else None)
    except NotFound as exc:
        return _page(problems=problems_of(exc), status=404)


@bp.post("")
@roles_required("admin")
def save() -> BaseResponse | tuple[str, int]:
    """Save the edited table as a new version (every problem of every row shown at once)."""
    rows = posted_rows(request.form)
    activate = bool(request.form.get("activate"))
    try:
        with db.write() as conn:
            set_id = rules.create_set(conn, rows, actor=actor(),
                                      note=(request.form.get("note") or "").strip() or None,
                                      activate=activate)
    except GridmapError as exc:
        return _page(rows=[{f: r.get(f, "") for f in EDIT_FIELDS} for r in rows],
                     problems=problems_of(exc), status=400)
    flash(i18n.t("rulesadmin.saved_active" if activate else "rulesadmin.saved", id=set_id))
    return redirect(url_for("rules_admin.page", set=set_id))


@bp.post("/<int:set_id>/activate")
@roles_required("admin")
def activate(set_id: int) -> BaseResponse | tuple[str, int]:
    """Make a version the active one."""
    try:
        with db.write() as conn:
            rules.activate_set(conn, set_id)
    except GridmapError as exc:
        return _page(problems=problems_of(exc), status=404)
    flash(i18n.t("rulesadmin.activated", id=set_id))
    return redirect(url_for("rules_admin.page", set=set_id))


@bp.post("/import")
@roles_required("admin")
def import_file() -> BaseResponse | tuple[str, int]:
    """A rules file (the export's format) as a new version, or only checked."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(problems=problems_of(ValidationError(
            "dispatch.invalid_rules", [Problem("dispatch.file_missing", {}, field="file")])),
            status=400)
    suffix = Path(upload.filename).suffix.lower() or ".csv"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"rules{suffix}"
            upload.save(path)
            with db.write() as conn:
                report = ruleio.import_rules(
                    conn, path, actor=actor(), note=upload.filename,
                    activate=bool(request.form.get("activate")),
                    dry_run=bool(request.form.get("dry_run")))
    except GridmapError as exc:
        return _page(problems=problems_of(exc), status=400)
    if report["dry_run"]:
        flash(i18n.t("rulesadmin.checked", n=report["rules"]))
        return redirect(url_for("rules_admin.page"))
    flash(i18n.t("rulesadmin.imported", n=report["rules"], id=report["set_id"]))
    return redirect(url_for("rules_admin.page", set=report["set_id"]))


@bp.post("/rerun")
@roles_required("admin")
def rerun() -> str | tuple[str, int]:
    """Re-propose units for the open cases; the preview (dry run) or the result, summarised
    by new unit and reason — every change counted, none left out."""
    dry_run = request.form.get("apply") is None
    with db.write() as conn:
        changed = rules.rerun(conn, dry_run=dry_run)
        names = {u.id: f"{u.code} {u.name}" for u in units.list_units(
            conn, include_inactive=True)}
    counts = Counter((names.get(c["unit_id"], "—"), c["reason"]) for c in changed)
    preview = {"dry_run": dry_run, "n": len(changed),
               "groups": [(u, r, n) for (u, r), n in counts.most_common()]}
    return _page(preview=preview)
