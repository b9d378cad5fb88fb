"""Login, logout, the current user, role checks and the supervisor's area scope.

Use in other blueprints::

    from web.auth import roles_required, current_user, scope_community_ids

    @bp.get("/supervisor")
    @roles_required("supervisor")
    def page(): ...

``roles_required()`` with no roles only requires a login. The ``admin`` role passes
every role check. Not logged in: pages redirect to the login form, ``/api/`` and
``/open311/`` requests get 401 JSON. Wrong role: 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from gridmap.accounts import users
from gridmap.accounts.users import User
from gridmap.errors import NotFound
from web import db, i18n

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


@bp.record_once
def _setup(state: Any) -> None:
    i18n.init_app(state.app)
    state.app.jinja_env.globals.update(current_user=current_user)


def current_user() -> User | None:
    """The logged-in, active user of this request, or ``None``.

    Loaded from the database once per request, so a disabled account loses access at
    its next request.
    """
    if "gm_user" in g:
        cached: User | None = g.gm_user
        return cached
    user: User | None = None
    uid = session.get("uid")
    if isinstance(uid, int):
        try:
            with db.read() as conn:
                user = users.get(conn, uid)
        except NotFound:
            user = None
        if user is not None and not user.active:
            user = None
    g.gm_user = user
    return user


def scope_community_ids() -> list[int] | None:
    """Community ids the current user may see; ``None`` = the whole district.

    Supervisors are limited to their streets/communities; an empty list means a
    scoped user whose area has no community loaded (sees nothing).
    """
    if "gm_scope" in g:
        cached: list[int] | None = g.gm_scope
        return cached
    user = current_user()
    scope: list[int] | None = []
    if user is not None:
        with db.read() as conn:
            scope = users.scope_community_ids(conn, user)
    g.gm_scope = scope
    return scope


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/open311/"))


def roles_required(*roles: str) -> Callable[[F], F]:
    """Decorator: the view needs a login and, if ``roles`` are given, one of them.

    ``admin`` passes every check.
    """
    unknown = set(roles) - set(users.ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if _wants_json():
                    abort(401, description="login required / 请先登录")
                flash(i18n.t("login.required"))
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if roles and user.role not in roles and user.role != "admin":
                abort(403, description="your role does not allow this / 当前角色无权访问")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


login_required = roles_required()


# Failed logins per (username, client address), stored in the database so that every
# gunicorn worker counts the same attempts: a hard brake on password guessing.
MAX_FAILED_LOGINS = 10
FAILED_LOGIN_WINDOW_S = 600.0


def _safe_next(target: str | None) -> str | None:
    """Only local paths (``/x``), never ``//host`` or ``http://…`` (open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int]:
    if request.method == "POST":
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
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        session["uid"] = user.id
        return redirect(_safe_next(request.args.get("next")) or url_for("pages.index"))
    return render_template("login.html", error=None, username="")


@bp.post("/logout")
def logout() -> BaseResponse:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(i18n.t("logout.done"))
    return redirect(url_for("auth.login"))


@bp.get("/api/me")
def me() -> Response | tuple[Response, int]:
    """The logged-in user (401 when not logged in)."""
    from flask import jsonify

    user = current_user()
    if user is None:
        return jsonify({"error": "login required / 请先登录"}), 401
    return jsonify({
        "username": user.username, "role": user.role, "display_name": user.display_name,
        "scope_streets": list(user.scope_streets),
        "scope_communities": list(user.scope_communities),
    })
