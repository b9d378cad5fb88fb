"""``/admin/audit``, ``/admin/imports`` and ``/admin/catalogues``: what happened and the
reference catalogues, for administrators.

Thin callers of :mod:`gridmap.audit` and :mod:`gridmap.reference.summary`; a catalogue upload
goes through :func:`gridmap.imports.catalogues.import_catalogue_file`, the import of
``gridmap import catalogue`` (same checks, every problem at once, ``dry run`` writes nothing).
A grid edit's before/after geometry is put in the page as a JSON data block (not a script)
and drawn by ``static/js/admin_audit.js``.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, send_file
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField

from gridmap.audit import export as audit_export
from gridmap.audit import log, runs
from gridmap.errors import GridmapError, NotFound, Problem, ValidationError
from gridmap.imports.catalogues import KINDS, import_catalogue_file
from gridmap.reference.summary import summary
from web import db, i18n
from web.access import roles_required
from web.views.admin import problems_of

bp = Blueprint("admin_records", __name__, url_prefix="/admin")
PAGE_SIZE = 50


@bp.get("/audit")
@roles_required("admin")
def audit() -> tuple[str, int]:
    """The audit log filtered by user, object and time (a bad filter: every problem)."""
    raw = {k: request.args.get(k, "")[:200] for k in
           ("actor", "object_type", "object_id", "since", "until")}
    page = request.args.get("page", "1")
    page_no = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
    edit = request.args.get("edit", "")
    plan = request.args.get("plan", "")
    problems: list[str] = []
    entries: list[log.Entry] = []
    total = 0
    geometry: dict[str, Any] | None = None
    status = 200
    try:
        f = log.parse_filter(raw)
        with db.read() as conn:
            entries, total = log.list_entries(conn, f, limit=PAGE_SIZE,
                                              offset=(page_no - 1) * PAGE_SIZE)
            if edit.isdigit() and len(edit) < 19:
                geometry = log.edit_geometry(conn, int(edit))
            elif plan.isdigit() and len(plan) < 19:  # a plan put in force / scheduled (#16)
                geometry = log.plan_geometry(conn, int(plan))
    except GridmapError as exc:
        problems, status = problems_of(exc), (404 if isinstance(exc, NotFound) else 400)
    return render_template(
        "admin/audit.html", raw=raw, entries=entries, total=total, page=page_no,
        pages=max(1, -(-total // PAGE_SIZE)), problems=problems, geometry=geometry,
        object_types=log.OBJECT_TYPES, plan_actions=log.PLAN_ACTIONS), status


@bp.get("/audit.xlsx")
@roles_required("admin")
def audit_xlsx() -> Response | tuple[str, int]:
    """Every entry of the filtered audit log as an XLSX download (not only one page)."""
    raw = {k: request.args.get(k, "")[:200] for k in
           ("actor", "object_type", "object_id", "since", "until")}
    try:
        f = log.parse_filter(raw)
    except GridmapError as exc:
        return render_template("admin/audit.html", raw=raw, entries=[], total=0, page=1,
                               pages=1, problems=problems_of(exc), geometry=None,
                               object_types=log.OBJECT_TYPES,
                               plan_actions=log.PLAN_ACTIONS), 400
    buf = io.BytesIO()
    with db.read() as conn:
        audit_export.write_xlsx(conn, f, buf, lang=i18n.current_language())
    buf.seek(0)
    name = f"audit-{dt.date.today().isoformat()}.xlsx"
    return send_file(buf, as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/imports")
@roles_required("admin")
def imports() -> str:
    """The latest import runs (optionally of one kind)."""
    kind = request.args.get("kind", "")[:64] or None
    with db.read() as conn:
        listed = runs.list_runs(conn, kind)
        kinds = runs.kinds(conn)
    return render_template("admin/imports.html", runs=listed, kinds=kinds, kind=kind or "")


@bp.get("/imports/<int:run_id>")
@roles_required("admin")
def import_run(run_id: int) -> str:
    """One import run with its report as tables."""
    try:
        with db.read() as conn:
            run = runs.get_run(conn, run_id)
    except NotFound:
        abort(404)
    return render_template("admin/import_run.html", run=run,
                           tables=runs.report_tables(run.report))


class CatalogueForm(FlaskForm):
    """Upload a catalogue file; ``dry_run`` only checks."""

    kind = SelectField(validate_choice=False)
    file = FileField()
    dry_run = BooleanField(default=True)
    replace_years = BooleanField()


def _catalogue_page(form: CatalogueForm, *, problems: list[str] | None = None,
                    result: str | None = None, status: int = 200) -> tuple[str, int]:
    form.kind.choices = i18n.labels("admin.kind", KINDS)
    with db.read() as conn:
        data = summary(conn)
    return render_template("admin/catalogues.html", form=form, data=data,
                           problems=problems or [], result=result), status


@bp.get("/catalogues")
@roles_required("admin")
def catalogues() -> tuple[str, int]:
    """The catalogues (read-only) and the upload form."""
    return _catalogue_page(CatalogueForm(prefix="cat"))


def _upload(form: CatalogueForm) -> dict[str, Any]:
    """Save the upload in a temporary directory and import it in one transaction."""
    kind = form.kind.data or ""
    upload: Any = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        raise ValidationError("admin.invalid_upload", [Problem("admin.file_missing",
                                                               field="file")])
    suffix = Path(upload.filename).suffix.lower()[:8] or ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind or 'catalogue'}{suffix}"
        upload.save(path)
        with db.write() as conn:
            return import_catalogue_file(conn, kind, path, dry_run=bool(form.dry_run.data),
                                         replace_years=bool(form.replace_years.data))


@bp.post("/catalogues")
@roles_required("admin")
def upload_catalogue() -> tuple[str, int]:
    """Import an uploaded catalogue file (or only check it: dry run)."""
    form = CatalogueForm(prefix="cat")  # the CSRF token is checked by CSRFProtect
    try:
        rep = _upload(form)
    except GridmapError as exc:
        return _catalogue_page(form, problems=problems_of(exc), status=400)
    key = "admin.upload_dry" if form.dry_run.data else "admin.upload_done"
    text = i18n.t(key, kind=i18n.t(f"admin.kind.{form.kind.data}"), rows=rep.get("rows", 0),
                  inserted=rep.get("inserted", 0), updated=rep.get("updated", 0),
                  removed=rep.get("removed", 0))
    return _catalogue_page(form, result=text)
