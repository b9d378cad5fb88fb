"""Index (sends each role to its home page) and the language switch.

Role home pages are found by path, so a page blueprint only needs to serve
``/planner``, ``/supervisor``, ``/officer`` (a GET rule at that exact path).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from gridmap.accounts.users import User
from gridmap.org import staff
from gridmap.supervision import notify
from web import db
from web.access import current_user, login_required, safe_next
from web.i18n import LANGUAGES

bp = Blueprint("pages", __name__)

ROLE_PAGES: tuple[tuple[str, str], ...] = (
    ("planner", "/planner"),
    ("supervisor", "/supervisor"),
    ("officer", "/officer"),
    ("admin", "/admin"),
)
STAFF_HOME = "/cases/todo"
"""A staff user's home: their worklist (the case workspace) when that page exists."""


@bp.record_once
def _setup(state: Any) -> None:
    state.app.jinja_env.globals.update(nav_links=nav_links, print_date=print_date)


def print_date() -> str:
    """Today's date for the printed page header (base.html ``.gm-print-base``)."""
    return date.today().isoformat()


def _endpoint_for(path: str) -> str | None:
    for rule in current_app.url_map.iter_rules():
        if rule.rule == path and "GET" in (rule.methods or ()):
            return rule.endpoint
    return None


def nav_links(user: User | None) -> list[tuple[str, str]]:
    """``(role, endpoint)`` of the role pages ``user`` may open (admin: all)."""
    if user is None:
        return []
    out = []
    for role, path in ROLE_PAGES:
        endpoint = _endpoint_for(path)
        if endpoint and (user.role == role or user.role == "admin"):
            out.append((role, endpoint))
    return out


@bp.get("/")
@login_required
def index() -> str | BaseResponse:
    """Redirect to the user's home: their role's page (admin: ``/admin``; staff: the
    worklist); a plain home page when it does not exist."""
    user = current_user()
    assert user is not None
    for role, endpoint in nav_links(user):
        if role == user.role:
            return redirect(url_for(endpoint))
    if user.role == "staff":
        worklist = _endpoint_for(STAFF_HOME)
        if worklist:
            return redirect(url_for(worklist))
        return _staff_home(user)
    return render_template("home.html")


def _staff_home(user: User) -> str:
    """Posts and unread notifications of a staff user (no worklist page installed)."""
    with db.read() as conn:
        held = staff.posts_of(conn, user.id)
        unread = notify.list_for_user(conn, user.id, unread_only=True, page_size=20)
    return render_template("home.html", posts=held, notifications=unread["items"],
                           unread_total=unread["total"], staff_home=True)


@bp.post("/lang")
def set_language() -> BaseResponse:
    """Switch the interface language (``zh`` or ``en``) for this session."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")) or url_for("pages.index"))
