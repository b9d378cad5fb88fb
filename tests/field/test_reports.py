"""Field reports in the library: exactly once per client id, never a later state, every
problem at once, who may report, my reports."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import Connection

from gridmap.accounts import scope as scopes
from gridmap.accounts.users import get
from gridmap.errors import PermissionDenied, ValidationError
from gridmap.field import reports
from gridmap.incidents.intake import IntakeParams
from gridmap.media.images import MediaParams
from tests.fixtures.dispatch_world import POINTS, build_dispatch_world
from tests.fixtures.field_world import jpeg


def _submit(conn: Connection, tmp: Path, user: str, ids: dict[str, int], cid: str,
            photos: list[bytes] | None = None, **data: object) -> tuple[dict, bool]:
    scope = scopes.scope_for(conn, get(conn, ids[user]))
    lon, lat = POINTS["E1"]
    return reports.submit(conn, scope, user_id=ids[user], username=user, client_id=cid,
                          data={"category": "E0102", "lon": lon, "lat": lat, **data},
                          photos=[jpeg((320, 240))] if photos is None else photos,
                          params=IntakeParams(), media_params=MediaParams(), media_dir=tmp)


def test_one_case_per_client_id(conn: Connection, tmp_path: Path) -> None:
    ids = build_dispatch_world(conn).org.users
    cid = str(uuid.uuid4())
    row, created = _submit(conn, tmp_path, "ow_gw_e", ids, cid)
    again, created_again = _submit(conn, tmp_path, "ow_gw_e", ids, cid.upper(),
                                   photos=[jpeg(), jpeg()])
    assert created and not created_again and again["id"] == row["id"]
    assert row["state"] == "reported" and row["source"] == "patrol"
    mine = reports.my_reports(conn, ids["ow_gw_e"])
    assert [m["id"] for m in mine] == [row["id"]] and mine[0]["photos"] == 1
    assert reports.my_reports(conn, ids["ow_gw_w"]) == []


def test_bad_reports_name_every_problem(conn: Connection, tmp_path: Path) -> None:
    ids = build_dispatch_world(conn).org.users
    with pytest.raises(ValidationError) as err:
        _submit(conn, tmp_path, "ow_gw_e", ids, str(uuid.uuid4()), photos=[b"nope"],
                state="closed", category="E9999")
    codes = {p.code for p in err.value.problems}
    assert {"input.state_not_allowed", "media.bad_type"} <= codes and len(codes) >= 3
    with pytest.raises(ValidationError):
        _submit(conn, tmp_path, "ow_gw_e", ids, "12345")
    with pytest.raises(ValidationError) as err:
        _submit(conn, tmp_path, "ow_gw_e", ids, str(uuid.uuid4()), photos=[])
    assert err.value.problems[0].code == "media.photo_count"
    assert reports.my_reports(conn, ids["ow_gw_e"]) == [] and not any(tmp_path.iterdir())


def test_who_may_report(conn: Connection, tmp_path: Path) -> None:
    ids = build_dispatch_world(conn).org.users
    _submit(conn, tmp_path, "ow_louzhang", ids, str(uuid.uuid4()))  # 楼长: a grid assignment
    _submit(conn, tmp_path, "ow_inspector", ids, str(uuid.uuid4()))
    with pytest.raises(PermissionDenied):
        _submit(conn, tmp_path, "ow_cg", ids, str(uuid.uuid4()))  # a handler
