"""Login, logout and ``/api/me``.

Failed logins are counted in the database (every gunicorn worker counts the same
attempts) per (username, address), per address and per username: a brake on guessing and
spraying that lets nobody lock a user out (:mod:`gridmap.accounts.throttle`). Role checks,
sessions and the current user live in :mod:`web.access`.
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

from gridmap import messages
from gridmap.accounts import sessions, throttle, users
from web import db, i18n
from web.access import SESSION_KEY, current_user, safe_next, settings
from web.errors import http_error

bp = Blueprint("auth", __name__)


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
    """The login form; on success, the page asked for (``next``) or the user's home.

    Throttled per (username, address), per address and per username
    (:mod:`gridmap.accounts.throttle`); a success opens a server-side session
    (:mod:`gridmap.accounts.sessions`) whose token is all the cookie holds.
    """
    if request.method != "POST":
        return render_template("login.html", error=None, username="")
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    client = request.remote_addr or ""
    limits = throttle.LoginLimits.from_settings(settings())
    with db.write() as conn:
        refused = throttle.refusal(conn, username, client, limits)
        if refused is not None:
            return render_template("login.html", username=username, error=messages.render(
                refused, None, i18n.current_language())), 429
        user = users.authenticate(conn, username, password)
        if user is None:
            throttle.record_failure(conn, username, client, limits)
            token = None
        else:
            throttle.clear(conn, username, client)
            token = sessions.start(conn, user.id, client)
    if user is None or token is None:
        return render_template("login.html", error=i18n.t("login.failed"),
                               username=username), 401
    _keep_language_and_clear()
    session.permanent = True
    session[SESSION_KEY] = token
    return redirect(safe_next(request.args.get("next")) or url_for("pages.index"))


@bp.post("/logout")
def logout() -> BaseResponse:
    """Log out: the server-side session ends (the interface language is kept)."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        with db.write() as conn:
            sessions.end(conn, token)
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
