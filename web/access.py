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
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from flask import current_app, flash, g, redirect, request, session, url_for

from gridmap.accounts import scope as scopes
from gridmap.accounts import sessions, users
from gridmap.accounts.users import User
from gridmap.config import Settings
from web import db, i18n
from web.errors import http_error, is_api_path

F = TypeVar("F", bound=Callable[..., Any])


SESSION_KEY = "sid"
"""Key of the session token in the signed cookie (the session itself is in the database)."""


def settings() -> Settings:
    """The app's :class:`~gridmap.config.Settings`."""
    s: Settings = current_app.extensions["gridmap.settings"]
    return s


def current_user() -> User | None:
    """The logged-in, active user of this request, or ``None``.

    The cookie holds a session token; the session must be open in ``user_session``
    (not logged out, not idle too long, not too old, account unchanged), checked once per
    request, so a logout, password change or disabled account ends it at the next request.
    """
    if "gm_user" in g:
        cached: User | None = g.gm_user
        return cached
    user: User | None = None
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        params = sessions.SessionParams.from_settings(settings())
        with db.write() as conn:     # the session and its account in one statement
            user = sessions.resolve_user(conn, token, params)
        if user is not None and not user.active:
            user = None
        if user is None:
            session.pop(SESSION_KEY, None)
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
        scope = _scope_of(user)
    g.gm_scope = scope
    return scope


SCOPE_TTL_S = 5.0
"""Seconds a process reuses a user's area scope for reading requests (GET/HEAD): the
communities of a supervisor's streets, a staff member's posts and the areas they serve.
A change of posts or areas made elsewhere reaches a reading request within this bound;
every writing request computes the scope afresh (and empties the cache, so a change made
through this process applies at once). The session (logout, revocation, expiry, disabled
account) is still checked on every request."""
_scope_lock = threading.Lock()


def _scope_of(user: User) -> scopes.Scope:
    cache: dict[Any, tuple[float, scopes.Scope]] = current_app.extensions.setdefault(
        "gridmap.scope_cache", {})
    key = (user.id, user.role, user.scope_streets, user.scope_communities)
    now = time.monotonic()
    reading = request.method in ("GET", "HEAD")
    hit = cache.get(key) if reading else None
    if hit is not None and hit[0] > now:
        return hit[1]
    with db.read() as conn:
        scope = scopes.scope_for(conn, user)
    with _scope_lock:
        if not reading or len(cache) > 10_000:
            cache.clear()
        if reading:
            cache[key] = (now + SCOPE_TTL_S, scope)
    return scope


def actor() -> str:
    """The username recorded for changes (``anonymous`` outside a login)."""
    user = current_user()
    return user.username if user is not None else "anonymous"


def wants_json() -> bool:
    """Whether this request is an API call (JSON answers, no redirects).

    ``/api/…``, ``/open311/…`` and any path with an ``/api/`` segment
    (``/supervisor/api/…``): see :func:`web.errors.is_api_path`.
    """
    return is_api_path(request.path)


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


_UNSAFE_NEXT = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next(target: str | None) -> str | None:
    """Only local paths (``/x``): never ``//host``, ``/\\host``, ``http://…`` (open redirect).

    Any control character, space or backslash refuses the target: browsers drop tabs and
    newlines (``/\t/evil`` becomes ``//evil``) and read ``\\`` as ``/``; a newline would
    also break the ``Location`` header.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if _UNSAFE_NEXT.search(target) or _UNSAFE_NEXT.search(unquote(target)):
        return None  # also percent-encoded: a proxy or client may decode them once
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
