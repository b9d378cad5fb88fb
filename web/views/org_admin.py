"""``/admin/org``: the admin page for units, staff posts and grid assignments (server-rendered
forms, CSRF through Flask-WTF, no script). Thin caller of :mod:`gridmap.org`; a library
problem is shown on the page in the session's language with the form values kept.

Self-contained until the admin shell of the pages issue exists: one page, four sections
(units tree with add/edit/deactivate, posts, assignments, coverage).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.wrappers import Response as BaseResponse
from wtforms import BooleanField, SelectField, StringField

from gridmap.accounts.users import hash_password
from gridmap.config import Settings
from gridmap.errors import GridmapError, Problem, ValidationError
from gridmap.org import assignments as asg
from gridmap.org import importing, posts, staff, tree, units
from gridmap.org.assignment_input import ROLES, parse_date
from gridmap.org.kinds import LEVELS, LINES, kinds_from_settings
from gridmap.org.sheets import read_org_file
from web import db, i18n
from web.access import roles_required
from web.views.org_admin_text import MESSAGES

bp = Blueprint("org_admin", __name__, url_prefix="/admin/org")
i18n.register(MESSAGES)


def settings() -> Settings:
    """The app's settings."""
    s: Settings = current_app.extensions["gridmap.settings"]
    return s


class UnitForm(FlaskForm):
    """Add or edit a unit (the library validates every field)."""

    code = StringField()
    name = StringField()
    kind = SelectField(validate_choice=False)
    line = SelectField(validate_choice=False)
    level = SelectField(validate_choice=False)
    parent = SelectField(validate_choice=False)
    contact_name = StringField()
    contact_phone = StringField()
    areas = StringField()
    webhook_url = StringField()


class PostForm(FlaskForm):
    """Give a user a post in a unit."""

    username = StringField()
    unit = SelectField(validate_choice=False)
    post = SelectField(validate_choice=False)


class AssignmentForm(FlaskForm):
    """Link a user to a grid (and 小区) with a duty."""

    username = StringField()
    grid_code = StringField()
    estate = StringField()
    role = SelectField(validate_choice=False)
    duty = StringField()
    valid_from = StringField()
    valid_to = StringField()


class ImportForm(FlaskForm):
    """Upload a workbook (单位, 人员, 网格分配) or a CSV; ``dry_run`` only checks."""

    file = FileField()
    dry_run = BooleanField()


class ActionForm(FlaskForm):
    """A button that changes something (deactivate, revoke, end): the CSRF token only."""


def _choices(forms: dict[str, FlaskForm], unit_list: list[units.Unit]) -> None:
    lang = i18n.current_language()
    f = forms["unit"]
    blank = [("", i18n.t("orgadmin.default"))]
    f.kind.choices = [(k.code, k.label(lang)) for k in kinds_from_settings(settings()).kinds]
    f.line.choices = blank + i18n.labels("orgadmin.line", LINES)
    f.level.choices = blank + i18n.labels("orgadmin.level", LEVELS)
    f.parent.choices = [("", i18n.t("orgadmin.none"))] + [
        (u.code, f"{u.code} {u.name}") for u in unit_list]
    forms["post"].unit.choices = [(u.code, f"{u.code} {u.name}") for u in unit_list]
    forms["post"].post.choices = [(p.code, p.label(lang)) for p in posts.CATALOGUE]
    forms["assignment"].role.choices = i18n.labels("orgadmin.role", ROLES)


def _forms(blank: bool = False) -> dict[str, FlaskForm]:
    """The page's forms, filled from the request (``blank``: empty, after a success)."""
    kw: dict[str, Any] = {"formdata": None} if blank else {}
    return {"unit": UnitForm(prefix="unit", **kw), "post": PostForm(prefix="post", **kw),
            "assignment": AssignmentForm(prefix="asg", **kw),
            "import": ImportForm(prefix="imp", **kw), "action": ActionForm(**kw)}


def _page(forms: dict[str, FlaskForm], *, problems: list[str] | None = None,
          editing: units.Unit | None = None, status: int = 200,
          report: importing.OrgImportReport | None = None) -> tuple[str, int]:
    with db.read() as conn:
        roots = tree.tree(conn, include_inactive=True)
        members = staff.all_members(conn)
        current = asg.list_assignments(conn, on=asg.today())
        coverage = asg.coverage(conn)
        gaps = asg.unassigned_grids(conn)
    rows = [row for root in roots for row in root.walk()]
    _choices(forms, [u for _, u in rows if u.active])
    by_id = {u.id: u for _, u in rows}
    lang = i18n.current_language()
    kind_labels = {k.code: k.label(lang) for k in kinds_from_settings(settings()).kinds}
    post_labels = {p.code: p.label(lang) for p in posts.CATALOGUE}
    return render_template(
        "admin/org.html", forms=forms, rows=rows, members=members, by_id=by_id,
        assignments=current, coverage=coverage, gaps=gaps, problems=problems or [],
        editing=editing, kind_labels=kind_labels, post_labels=post_labels, report=report,
        warnings=[w.describe(lang) for w in report.warnings] if report else []), status


_LABELS = {"contact_name": "contact", "contact_phone": "phone", "webhook_url": "webhook",
           "grid_code": "grid", "unit_id": "unit", "user_id": "username"}


def _fail(exc: GridmapError) -> list[str]:
    """The error's headline and each problem, its field named as on the form."""
    lang = i18n.current_language()
    if not isinstance(exc, ValidationError):
        return [exc.render(lang)]
    out = [exc.render(lang, limit=0)]
    for p in exc.problems:
        name = _LABELS.get(p.field or "", p.field or "")
        label = i18n.t(f"orgadmin.{name}") if name else ""
        out.append(dataclasses.replace(p, field=label if label != f"orgadmin.{name}"
                                       else p.field).describe(lang))
    return out


def _run(action: Callable[[Any], Any], done: str, forms: dict[str, FlaskForm],
         editing: units.Unit | None = None) -> BaseResponse | tuple[str, int]:
    """Run ``action(conn)`` in one transaction; redirect with ``done`` or show the problems."""
    try:
        with db.write() as conn:
            action(conn)
    except GridmapError as exc:
        return _page(forms, problems=_fail(exc), editing=editing, status=400)
    flash(i18n.t(done))
    return redirect(url_for("org_admin.page"))


@bp.get("")
@roles_required("admin")
def page() -> str | tuple[str, int]:
    """The units, posts, assignments and coverage, with their forms."""
    forms = _forms()
    editing = None
    edit = request.args.get("edit", "")
    if edit.isdigit():
        try:
            with db.read() as conn:
                editing = units.get_unit(conn, int(edit))
        except GridmapError as exc:
            return _page(forms, problems=_fail(exc), status=404)
        f = forms["unit"]
        for name in ("code", "name", "kind", "line", "level", "contact_name", "contact_phone",
                     "webhook_url"):
            getattr(f, name).data = getattr(editing, name) or ""
        f.parent.data = editing.parent_code or ""
        f.areas.data = "; ".join(f"{a.level}:{a.code}" for a in editing.areas)
    return _page(forms, editing=editing)


def _unit_data(form: UnitForm) -> dict[str, Any]:
    return {k: (getattr(form, k).data or None) for k in (
        "code", "name", "kind", "line", "level", "parent", "contact_name", "contact_phone",
        "areas", "webhook_url")}


@bp.post("/units")
@roles_required("admin")
def add_unit() -> BaseResponse | tuple[str, int]:
    """Create a unit from the form."""
    forms = _forms()
    data = _unit_data(forms["unit"])
    kinds = kinds_from_settings(settings())
    return _run(lambda conn: units.create_unit(conn, data, kinds), "orgadmin.unit_saved",
                forms)


@bp.post("/units/<int:unit_id>")
@roles_required("admin")
def edit_unit(unit_id: int) -> BaseResponse | tuple[str, int]:
    """Save the edited unit (its code stays)."""
    forms = _forms()
    data = _unit_data(forms["unit"])
    data.pop("code", None)
    kinds = kinds_from_settings(settings())
    with db.read() as conn:
        editing = units.get_unit(conn, unit_id)
    return _run(lambda conn: units.update_unit(conn, unit_id, data, kinds),
                "orgadmin.unit_saved", forms, editing)


@bp.post("/units/<int:unit_id>/deactivate")
@roles_required("admin")
def deactivate_unit(unit_id: int) -> BaseResponse | tuple[str, int]:
    """Deactivate a unit."""
    return _run(lambda conn: units.deactivate_unit(conn, unit_id), "orgadmin.unit_deactivated",
                _forms())


@bp.post("/units/<int:unit_id>/reactivate")
@roles_required("admin")
def reactivate_unit(unit_id: int) -> BaseResponse | tuple[str, int]:
    """Make a deactivated unit active again."""
    return _run(lambda conn: units.reactivate_unit(conn, unit_id), "orgadmin.unit_reactivated",
                _forms())


@bp.post("/posts")
@roles_required("admin")
def assign_post() -> BaseResponse | tuple[str, int]:
    """Give a user a post in a unit."""
    forms = _forms()
    f: Any = forms["post"]

    def act(conn: Any) -> None:
        uid = staff.user_id(conn, (f.username.data or "").strip())
        staff.assign_post(conn, uid, units.unit_by_code(conn, f.unit.data or "").id,
                          f.post.data or "")

    return _run(act, "orgadmin.post_saved", forms)


@bp.post("/posts/revoke")
@roles_required("admin")
def revoke_post() -> BaseResponse | tuple[str, int]:
    """Take a post away (user id, unit id and post from the row's button)."""
    uid, unit_id = request.form.get("user_id", ""), request.form.get("unit_id", "")
    post = request.form.get("post", "")
    if not (uid.isdigit() and unit_id.isdigit()):
        return _page(_forms(), problems=[i18n.t("orgadmin.bad_request")], status=400)
    return _run(lambda conn: staff.revoke_post(conn, int(uid), int(unit_id), post),
                "orgadmin.post_revoked", _forms())


@bp.post("/assignments")
@roles_required("admin")
def add_assignment() -> BaseResponse | tuple[str, int]:
    """Assign a user to a grid from the form."""
    forms = _forms()
    f: Any = forms["assignment"]
    row = {k: getattr(f, k).data or None for k in (
        "username", "grid_code", "estate", "role", "duty", "valid_from", "valid_to")}
    return _run(lambda conn: asg.save_assignments(conn, [row]), "orgadmin.assignment_saved",
                forms)


@bp.post("/assignments/<int:assignment_id>/end")
@roles_required("admin")
def end_assignment(assignment_id: int) -> BaseResponse | tuple[str, int]:
    """End an assignment today (or on the day given)."""
    day = parse_date(request.form.get("on", "")) if request.form.get("on") else None
    return _run(lambda conn: asg.end_assignment(conn, assignment_id, day),
                "orgadmin.assignment_ended", _forms())


@bp.post("/import")
@roles_required("admin")
def import_file() -> BaseResponse | tuple[str, int]:
    """Import an uploaded file; the report (and new accounts' passwords) shown once, never
    stored in the session."""
    forms = _forms()
    f: Any = forms["import"]
    upload = f.file.data
    if upload is None or not getattr(upload, "filename", ""):
        return _page(forms, problems=_fail(ValidationError(
            "org.import_invalid", [Problem("org.file_missing", field="file")])), status=400)
    suffix = Path(upload.filename).suffix.lower() or ".csv"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"org{suffix}"
            upload.save(path)
            sheets, found = read_org_file(path)
            with db.write() as conn:
                report = importing.import_org(conn, sheets, hash_password=hash_password,
                                              kinds=kinds_from_settings(settings()),
                                              dry_run=bool(f.dry_run.data),
                                              read_problems=found)
    except GridmapError as exc:
        return _page(forms, problems=_fail(exc), status=400)
    resp = make_response(_page(_forms(blank=True), report=report))
    resp.headers["Cache-Control"] = "no-store"  # temporary passwords: never cached
    return resp
