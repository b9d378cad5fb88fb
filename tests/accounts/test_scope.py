"""Area scope (gridmap/accounts/scope.py): a supervisor sees and changes only the
communities of their streets, the same rule for the web app and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.accounts import scope, users
from gridmap.db import make_engine
from gridmap.errors import PermissionDenied
from gridmap.incidents import write
from tests.fixtures.web import CATEGORY, EAST, WEST, seed_accounts, seed_district


def _incident(conn: Connection, lonlat: tuple[float, float]) -> dict:
    return write.create(conn, {"category": CATEGORY, "lon": lonlat[0], "lat": lonlat[1],
                               "reporter_name": "张三", "reporter_phone": "13812345678"},
                        actor="test")


def test_supervisor_scope_masking_and_checks(conn: Connection) -> None:
    ids = seed_district(conn)
    seed_accounts(conn)
    sup = scope.scope_for(conn, users.by_username(conn, "supervisor"))
    street1 = {ids["community"]["110101001001"], ids["community"]["110101001002"]}
    assert sup.community_ids == street1 and sup.role == "supervisor"
    assert scope.scope_for(conn, users.by_username(conn, "officer")).unrestricted
    assert scope.scope_for(conn, None) == scope.NOBODY
    west, east = _incident(conn, WEST), _incident(conn, EAST)
    assert scope.get_incident(conn, sup, west["id"])["id"] == west["id"]
    with pytest.raises(PermissionDenied) as info:
        scope.get_incident(conn, sup, east["id"])
    assert info.value.code == "scope.incident_outside"
    assert info.value.render("zh") == "该事件不在您的管辖范围"
    with pytest.raises(PermissionDenied):
        scope.transition(conn, sup, east["id"], "filed", actor="supervisor")
    listed = scope.list_incidents(conn, sup, {}, 1, 10)
    assert [r["id"] for r in listed["items"]] == [west["id"]]
    assert scope.list_incidents(conn, scope.ALL, {}, 1, 10)["total"] == 2
    with pytest.raises(PermissionDenied) as info:
        scope.get_grid(conn, sup, ids["grid"]["110101002001"])
    assert info.value.code == "scope.grid_outside"
    # personal data: unmasked only for a supervisor of the incident's area
    assert scope.masked(west, sup)["reporter_phone"] == "13812345678"
    assert scope.masked(west, scope.ALL)["reporter_phone"] == "138****5678"
    officer = scope.scope_for(conn, users.by_username(conn, "officer"))
    assert scope.masked(west, officer)["reporter_phone"] == "138****5678"
    assert scope.masked(west, scope.NOBODY)["reporter_name"] != "张三"


def test_cli_acts_unrestricted_unless_a_user_is_given(fresh_db_url: str) -> None:
    eng = make_engine(fresh_db_url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        seed_district(conn)
        seed_accounts(conn)
        east = _incident(conn, EAST)["id"]
    eng.dispose()
    exe = str(Path(sys.executable).parent / "gridmap")
    env = {"DATABASE_URL": fresh_db_url, "GRIDMAP_LANG": "en", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([exe, "incidents", "transition", str(east), "filed", "--user",
                        "supervisor"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "incident is outside your area" in r.stderr
    r = subprocess.run([exe, "incidents", "transition", str(east), "filed"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
