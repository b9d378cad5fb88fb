"""Who is asking: the current user, their area scope, role checks.

Shared by every blueprint (pages and API)::

    from web.access import current_scope, current_user, roles_required

    @bp.get("/supervisor")
    @roles_required("supervisor")
    def page(): ...

``roles_required()`` with no roles only requires a login. The ``admin`` role passes
every role check. Not logged in: pages redirect to the login form, ``/api/`` and
``/open311/`` requests get 401 JSON. Wrong role: 403. The area scope itself is a
library concern (:mod:`gridmap.accounts.scope`); :func:`current_scope` only builds it
once per request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, g, redirect, request, session, url_for

from gridmap.accounts import scope as scopes
from gridmap.accounts import users
from gridmap.accounts.users import User
from gridmap.errors import NotFound
from web import db, i18n
from web.errors import http_error

F = TypeVar("F", bound=Callable[..., Any])


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


def current_scope() -> scopes.Scope:
    """The current user's area scope (:data:`gridmap.accounts.scope.NOBODY` when anonymous)."""
    if "gm_scope" in g:
        cached: scopes.Scope = g.gm_scope
        return cached
    user = current_user()
    scope = scopes.NOBODY
    if user is not None:
        with db.read() as conn:
            scope = scopes.scope_for(conn, user)
    g.gm_scope = scope
    return scope


def actor() -> str:
    """The username recorded for changes (``anonymous`` outside a login)."""
    user = current_user()
    return user.username if user is not None else "anonymous"


def wants_json() -> bool:
    """Whether this request is an API call (JSON answers, no redirects)."""
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
                if wants_json():
                    raise http_error(401, "web.login_required")
                flash(i18n.t("login.required"))
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if roles and user.role not in roles and user.role != "admin":
                raise http_error(403, "web.role_forbidden")
            return view(*args, **kwargs)

        wrapper.gm_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


login_required = roles_required()


def safe_next(target: str | None) -> str | None:
    """Only local paths (``/x``), never ``//host`` or ``http://…`` (open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
