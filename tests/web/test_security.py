"""Issue #12 (16): the client address behind a reverse proxy (``trusted_proxies``,
werkzeug ProxyFix) and the login throttle at the web layer: one address spraying many
usernames is refused, while the real owner's address still logs in."""

from __future__ import annotations

import sqlalchemy as sa

from gridmap.db import make_engine
from tests.fixtures.web import PASSWORD, WebDB, csrf_token, make_app

pytest_plugins = ["tests.fixtures.web"]


def _clients(web_db: WebDB) -> list[str]:
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        rows = conn.execute(sa.text("SELECT DISTINCT client FROM login_failure")).scalars().all()
    eng.dispose()
    return sorted(rows)


def _try(c, username: str, password: str, addr: str | None = None) -> int:  # type: ignore[no-untyped-def]
    headers = {"X-Forwarded-For": addr} if addr else {}
    return c.post("/login", data={"username": username, "password": password,
                                  "csrf_token": csrf_token(c)}, headers=headers).status_code


def test_forwarded_for_is_ignored_without_trusted_proxies(web_db: WebDB) -> None:
    c = make_app(web_db.url).test_client()
    assert _try(c, "planner", "wrong-one", "203.0.113.5") == 401
    assert _clients(web_db) == ["127.0.0.1"]


def test_forwarded_for_from_a_trusted_proxy_is_the_client(web_db: WebDB) -> None:
    app = make_app(web_db.url, trusted_proxies=1)
    c = app.test_client()
    assert _try(c, "planner", "wrong-one", "203.0.113.5") == 401
    assert _try(c, "planner", "wrong-one", "198.51.100.1, 203.0.113.6") == 401  # last hop
    assert _clients(web_db) == ["203.0.113.5", "203.0.113.6"]


def test_spraying_is_refused_but_nobody_is_locked_out_from_elsewhere(web_db: WebDB) -> None:
    app = make_app(web_db.url, trusted_proxies=1, login_max_per_address=5,
                   login_max_per_user_address=3, login_max_per_user=6)
    c = app.test_client()
    assert _try(c, "officer", PASSWORD, "192.0.2.10") == 302  # the owner's usual address
    sprayer = "203.0.113.66"
    for name in ("planner", "officer", "admin", "supervisor", "ghost"):
        assert _try(c, name, "Summer2026!", sprayer) == 401
    assert _try(c, "admin", PASSWORD, sprayer) == 429  # even the right password: refused
    # many addresses guessing the officer's password
    for i in range(8):
        assert _try(c, "officer", f"guess-{i}", f"198.51.100.{i}") == 401
    assert _try(c, "officer", "guess-again", "198.51.100.3") == 429  # slowed
    assert _try(c, "officer", PASSWORD, "192.0.2.10") == 302  # the owner is not locked out
    assert _try(c, "admin", PASSWORD, "192.0.2.99") == 302  # nor anyone else elsewhere
