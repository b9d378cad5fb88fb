"""gridmap.users: hashing, accounts, validation, scope, demo accounts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gridmap.accounts import users
from gridmap.errors import Conflict, NotFound, ValidationError
from tests.fixtures.web import seed_district


def test_hash_is_salted_and_verifies() -> None:
    h1, h2 = users.hash_password("secret-123"), users.hash_password("secret-123")
    # werkzeug's format (scrypt:n:r:p$salt$hash); gridmap's own was scrypt$n$r$p$salt$hash
    assert h1 != h2 and h1.startswith("scrypt:") and "secret-123" not in h1
    assert users.verify_password("secret-123", h1)
    assert not users.verify_password("secret-124", h1)
    assert not users.verify_password("secret-123", "garbage")
    assert not users.verify_password("secret-123", "scrypt:x:y:z$salt$hash")


# Written by gridmap's own hashlib.scrypt code before passwords went through werkzeug.
LEGACY_HASH = ("scrypt$16384$8$1$18jBHpaJ0OOCScwXhuO/Vw==$"
               "sHKm/j4QHHDVEQbqqY/L4FCkSF3Zm9zbipwgAarwig0=")


def test_hashes_of_the_old_format_keep_verifying(conn) -> None:
    assert users.verify_password("legacy-pass-1", LEGACY_HASH)
    assert not users.verify_password("legacy-pass-2", LEGACY_HASH)
    assert not users.verify_password("legacy-pass-1", LEGACY_HASH.replace("sHKm", "sHKn"))
    assert not users.verify_password("legacy-pass-1", "scrypt$16384$8$1$not-base64")
    u = users.add(conn, "old.account", "placeholder-pw", "planner")
    conn.execute(sa.text("UPDATE app_user SET password_hash = :h WHERE id = :i"),
                 {"h": LEGACY_HASH, "i": u.id})
    assert users.authenticate(conn, "old.account", "legacy-pass-1") == u
    assert users.authenticate(conn, "old.account", "placeholder-pw") is None


def test_add_authenticate_disable(conn) -> None:
    u = users.add(conn, "Wang.Li", "long-enough", "planner", display_name="王丽")
    assert u.role == "planner" and u.active
    stored = conn.execute(sa.text("SELECT password_hash FROM app_user WHERE id = :i"),
                          {"i": u.id}).scalar()
    assert "long-enough" not in stored
    assert users.authenticate(conn, "wang.li", "long-enough") == u
    assert users.authenticate(conn, "wang.li", "wrong-pass") is None
    assert users.authenticate(conn, "nobody", "long-enough") is None
    users.disable(conn, "WANG.LI")
    assert users.authenticate(conn, "wang.li", "long-enough") is None
    assert [x.username for x in users.list_users(conn)] == ["Wang.Li"]


def test_duplicate_username_conflicts(conn) -> None:
    users.add(conn, "zhang", "long-enough", "officer")
    with pytest.raises(Conflict):
        users.add(conn, "ZHANG", "long-enough", "officer")


def test_every_problem_reported_at_once(conn) -> None:
    with pytest.raises(ValidationError) as err:
        users.add(conn, "x y", "short", "mayor")
    fields = {p.field for p in err.value.problems}
    assert fields == {"username", "password", "role"}
    assert users.list_users(conn) == []


def test_supervisor_needs_known_scope(conn) -> None:
    with pytest.raises(ValidationError, match="needs a scope"):
        users.add(conn, "sup", "long-enough", "supervisor")
    with pytest.raises(ValidationError, match="unknown street code"):
        users.add(conn, "sup", "long-enough", "supervisor", streets=["999999999"])


def test_scope_community_ids(conn) -> None:
    ids = seed_district(conn)
    by_street = users.add(conn, "s1", "long-enough", "supervisor", streets=["110101001"])
    by_comm = users.add(conn, "s2", "long-enough", "supervisor", communities=["110101002001"])
    planner = users.add(conn, "pl", "long-enough", "planner")
    c = ids["community"]
    assert users.scope_community_ids(conn, by_street) == sorted(
        [c["110101001001"], c["110101001002"]])
    assert users.scope_community_ids(conn, by_comm) == [c["110101002001"]]
    assert users.scope_community_ids(conn, planner) is None


def test_demo_accounts_get_random_passwords(conn) -> None:
    seed_district(conn)
    first = dict((u.username, pw) for u, pw in users.ensure_demo(conn))
    assert set(first) == {"planner", "supervisor", "officer", "admin"}
    second = dict((u.username, pw) for u, pw in users.ensure_demo(conn))
    assert all(first[k] != second[k] for k in first)
    assert users.authenticate(conn, "planner", second["planner"]) is not None
    assert users.authenticate(conn, "planner", first["planner"]) is None
    assert users.by_username(conn, "supervisor").scope_streets == ("110101001",)


def test_demo_never_touches_real_accounts(conn) -> None:
    users.add(conn, "planner", "my-own-password", "planner")
    made = [u.username for u, _ in users.ensure_demo(conn)]
    assert "planner" not in made
    assert users.authenticate(conn, "planner", "my-own-password") is not None


def test_get_unknown(conn) -> None:
    with pytest.raises(NotFound):
        users.by_username(conn, "ghost")


def _cli(args: list[str], env: dict[str, str], **kw):  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).parent / "gridmap")
    return subprocess.run([exe, *args], env=env,
                          capture_output=True, text=True, timeout=120, **kw)


def test_cli_add_list_disable(cli_env, tmp_path) -> None:
    env = {**cli_env, "PW": "a-long-password"}
    r = _cli(["users", "add", "wang", "--role", "planner", "--name", "王", "--password-env", "PW"],
             env)
    assert r.returncode == 0, r.stderr
    pw = tmp_path / "pw"
    pw.write_text("another-password\n")
    r = _cli(["users", "add", "li", "--role", "officer", "--password-file", str(pw)], env)
    assert r.returncode == 0, r.stderr
    r = _cli(["users", "list"], env)
    assert "wang\tplanner" in r.stdout and "li\tofficer" in r.stdout
    assert _cli(["users", "disable", "li"], env).returncode == 0
    assert "li\tofficer\t-\tdisabled" in _cli(["users", "list"], env).stdout


def test_cli_bad_input_exits_1_and_changes_nothing(cli_env) -> None:
    env = {**cli_env, "PW": "short"}
    r = _cli(["users", "add", "zhao", "--role", "supervisor", "--password-env", "PW"], env)
    assert r.returncode == 1
    assert "password must have at least" in r.stderr and "needs a scope" in r.stderr
    assert _cli(["users", "list"], env).stdout == ""
    assert _cli(["users", "disable", "ghost"], env).returncode == 1


def test_unknown_and_known_usernames_cost_the_same(conn: sa.engine.Connection,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #12 (7): one scrypt verification either way (an unknown username is checked
    against a dummy hash made once), so the answer time does not tell which names exist."""
    import hashlib
    import time

    users.add(conn, "timing_known", "long-enough-pw", "planner")
    users.authenticate(conn, "nobody-warmup", "x")  # the dummy hash is made once, here
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*a, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for _ in range(5):
        for kind, name in (("known", "timing_known"), ("unknown", "no-such-user")):
            calls.clear()
            t0 = time.perf_counter()
            assert users.authenticate(conn, name, "wrong-password") is None
            times[kind].append(time.perf_counter() - t0)
            assert len(calls) == 1, kind
    known, unknown = sorted(times["known"])[2], sorted(times["unknown"])[2]
    assert 0.5 < unknown / known < 2.0, times
