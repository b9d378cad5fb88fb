"""``/admin``: the administrator's landing page, users and roles, settings overview.

Server-rendered forms with CSRF through Flask-WTF, no page script; thin callers of
:mod:`gridmap.accounts.admin` (every change one ``audit_log`` row, every problem of a form
at once, the form values kept). The audit log, import runs and catalogues are in
:mod:`web.views.admin_records`; units and staff in :mod:`web.views.org_admin`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
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
from werkzeug.wrappers import Response as BaseResponse
from wtforms import PasswordField, SelectField, StringField

from gridmap.accounts import admin as accounts_admin
from gridmap.accounts import users
from gridmap.config import Settings
from gridmap.errors import GridmapError, ValidationError
from gridmap.settings_view import overview
from web import db, i18n
from web.access import actor, roles_required
from web.views.admin_text import MESSAGES

bp = Blueprint("admin", __name__, url_prefix="/admin")
i18n.register(MESSAGES)

SECTIONS: tuple[tuple[str, str], ...] = (
    ("admin.users", "admin.users"), ("org_admin.page", "admin.org"),
    ("rules_admin.page", "admin.rules"),
    ("admin_records.audit", "admin.audit"), ("admin_records.imports", "admin.imports"),
    ("admin_records.catalogues", "admin.catalogues"), ("admin.settings", "admin.settings"),
)
"""The landing page's links: (endpoint, text key); ``<key>_help`` describes each."""


def settings() -> Settings:
    """The app's settings."""
    s: Settings = current_app.extensions["gridmap.settings"]
    return s


class UserForm(FlaskForm):
    """A new account (the library checks every field)."""

    username = StringField()
    display_name = StringField()
    role = SelectField(validate_choice=False)
    scope = StringField()
    password = PasswordField()


class ChangeForm(FlaskForm):
    """Role, scope and name of an account."""

    display_name = StringField()
    role = SelectField(validate_choice=False)
    scope = StringField()


class PasswordForm(FlaskForm):
    """A new password (empty: a random one)."""

    password = PasswordField()


class ActionForm(FlaskForm):
    """A button that changes something: the CSRF token only."""


def problems_of(exc: GridmapError) -> list[str]:
    """The error's headline and each of its problems, in the session's language."""
    lang = i18n.current_language()
    if not isinstance(exc, ValidationError):
        return [exc.render(lang)]
    out = [exc.render(lang, limit=0)]
    for p in exc.problems:
        label = i18n.t(f"admin.{p.field}") if p.field else ""
        named = dataclasses.replace(p, field=label if label and label != f"admin.{p.field}"
                                    else p.field)
        out.append(named.describe(lang))
    return out


@bp.get("")
@roles_required("admin")
def index() -> str:
    """Links to every admin page."""
    return render_template("admin/index.html", sections=SECTIONS)


def _forms(blank: bool = False) -> dict[str, FlaskForm]:
    kw: dict[str, Any] = {"formdata": None} if blank else {}
    forms: dict[str, Any] = {"add": UserForm(prefix="add", **kw),
                             "change": ChangeForm(prefix="chg", **kw),
                             "password": PasswordForm(prefix="pw", **kw),
                             "action": ActionForm(**kw)}
    roles = i18n.labels("role", users.ROLES)
    forms["add"].role.choices = roles
    forms["change"].role.choices = roles
    return forms


def _users_page(forms: dict[str, FlaskForm], *, problems: list[str] | None = None,
                editing: users.User | None = None, status: int = 200,
                temp: tuple[str, str] | None = None) -> tuple[str, int]:
    with db.read() as conn:
        listed = users.list_users(conn)
    return render_template("admin/users.html", forms=forms, users=listed,
                           problems=problems or [], editing=editing, temp=temp), status


@bp.get("/users", endpoint="users")
@roles_required("admin")
def users_page() -> str | tuple[str, int]:
    """Accounts with their role, scope and state; ``?edit=<username>`` opens the edit form."""
    forms = _forms()
    editing = None
    name = request.args.get("edit", "")
    if name:
        try:
            with db.read() as conn:
                editing = users.by_username(conn, name[:64])
        except GridmapError as exc:
            return _users_page(forms, problems=problems_of(exc), status=404)
        f: Any = forms["change"]
        f.display_name.data = editing.display_name or ""
        f.role.data = editing.role
        f.scope.data = ", ".join(editing.scope_streets + editing.scope_communities)
    return _users_page(forms, editing=editing)


def _run(action: Callable[[Any], Any], done: str, forms: dict[str, FlaskForm],
         editing: users.User | None = None) -> BaseResponse | tuple[str, int]:
    """Run ``action(conn)`` in one transaction; redirect with ``done`` or show the problems."""
    try:
        with db.write() as conn:
            action(conn)
    except GridmapError as exc:
        return _users_page(forms, problems=problems_of(exc), editing=editing, status=400)
    flash(i18n.t(done))
    return redirect(url_for("admin.users"))


@bp.post("/users/add")
@roles_required("admin")
def add_user() -> BaseResponse | tuple[str, int]:
    """Create an account from the form."""
    forms = _forms()
    f: Any = forms["add"]
    return _run(lambda conn: accounts_admin.add_user(
        conn, actor(), (f.username.data or "").strip(), f.password.data or "",
        f.role.data or "", f.scope.data, (f.display_name.data or "").strip() or None),
        "admin.user_added", forms)


@bp.post("/users/<username>/change")
@roles_required("admin")
def change_user(username: str) -> BaseResponse | tuple[str, int]:
    """Save role, scope and name (the account's sessions end)."""
    forms = _forms()
    f: Any = forms["change"]
    try:
        with db.read() as conn:
            editing = users.by_username(conn, username)
    except GridmapError as exc:
        return _users_page(forms, problems=problems_of(exc), status=404)
    return _run(lambda conn: accounts_admin.change_user(
        conn, actor(), username, f.role.data or "", f.scope.data,
        (f.display_name.data or "").strip() or None), "admin.user_changed", forms, editing)


@bp.post("/users/<username>/disable")
@roles_required("admin")
def disable_user(username: str) -> BaseResponse | tuple[str, int]:
    """Disable an account (its sessions end)."""
    forms = _forms()
    return _run(lambda conn: accounts_admin.disable_user(conn, actor(), username),
                "admin.user_disabled", forms)


@bp.post("/users/<username>/enable")
@roles_required("admin")
def enable_user(username: str) -> BaseResponse | tuple[str, int]:
    """Enable a disabled account."""
    forms = _forms()
    return _run(lambda conn: accounts_admin.enable_user(conn, actor(), username),
                "admin.user_enabled", forms)


@bp.post("/users/<username>/password")
@roles_required("admin")
def reset_password(username: str) -> BaseResponse | tuple[str, int]:
    """Set a new password; a generated one is shown once on the page, never stored in clear
    nor kept in the session (``Cache-Control: no-store``)."""
    forms = _forms()
    f: Any = forms["password"]
    try:
        with db.write() as conn:
            user, made = accounts_admin.reset_password(conn, actor(), username,
                                                       f.password.data or None)
    except GridmapError as exc:
        return _users_page(forms, problems=problems_of(exc), status=400)
    flash(i18n.t("admin.password_set"))
    if made is None:
        return redirect(url_for("admin.users"))
    resp = make_response(_users_page(_forms(blank=True), temp=(user.username, made)))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/settings", endpoint="settings")
@roles_required("admin")
def settings_page() -> str:
    """The effective settings, secrets masked."""
    return render_template("admin/settings.html", rows=overview(settings()))

