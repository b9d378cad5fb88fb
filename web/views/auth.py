"""Login, logout and ``/api/me``.

Failed logins are counted per (username, client address) in the database, so that every
gunicorn worker counts the same attempts: a hard brake on password guessing. Role checks
and the current user live in :mod:`web.access`.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from gridmap.accounts import users
from web import db, i18n
from web.access import current_user, safe_next
from web.errors import http_error

bp = Blueprint("auth", __name__)

MAX_FAILED_LOGINS = 10
FAILED_LOGIN_WINDOW_S = 600.0


@bp.record_once
def _setup(state: Any) -> None:
    i18n.init_app(state.app)
    state.app.jinja_env.globals.update(current_user=current_user)


def _keep_language_and_clear() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int]:
    """The login form; on success, the page asked for (``next``) or the user's home."""
    if request.method != "POST":
        return render_template("login.html", error=None, username="")
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    client = request.remote_addr or ""
    with db.write() as conn:
        if users.recent_login_failures(conn, username, client,
                                       FAILED_LOGIN_WINDOW_S) >= MAX_FAILED_LOGINS:
            return render_template("login.html", error=i18n.t("login.throttled"),
                                   username=username), 429
        user = users.authenticate(conn, username, password) if username else None
        if user is None:
            users.record_login_failure(conn, username, client, FAILED_LOGIN_WINDOW_S)
        else:
            users.clear_login_failures(conn, username, client)
    if user is None:
        return render_template("login.html", error=i18n.t("login.failed"),
                               username=username), 401
    _keep_language_and_clear()
    session["uid"] = user.id
    return redirect(safe_next(request.args.get("next")) or url_for("pages.index"))


@bp.post("/logout")
def logout() -> BaseResponse:
    """Log out (the interface language is kept)."""
    _keep_language_and_clear()
    flash(i18n.t("logout.done"))
    return redirect(url_for("auth.login"))


@bp.get("/api/me")
def me() -> Response:
    """The logged-in user (401 when not logged in)."""
    user = current_user()
    if user is None:
        raise http_error(401, "web.login_required")
    return jsonify({
        "username": user.username, "role": user.role, "display_name": user.display_name,
        "scope_streets": list(user.scope_streets),
        "scope_communities": list(user.scope_communities),
    })
