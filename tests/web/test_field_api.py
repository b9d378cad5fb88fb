"""Field-reporting API: reports with photos exactly once (also under concurrent repeats),
photos visible by scope only (no-store, EXIF gone), bad input refused with every problem
and nothing stored, my reports, duplicates, categories, and the on-site tasks 核实/核查."""

from __future__ import annotations

import io
import threading
import uuid

import sqlalchemy as sa
from flask import Flask
from PIL import Image

from tests.fixtures.field_world import E1, W1, field_app, jpeg, report, staff_client
from tests.fixtures.web import post_json

pytest_plugins = ["tests.fixtures.web"]
__all__ = ["field_app"]  # the fixture


def _count(app: Flask, sql: str, **kw: object) -> int:
    with app.extensions["gridmap.engine"].connect() as conn:
        return int(conn.execute(sa.text(sql), kw).scalar() or 0)


def test_a_report_arrives_once_and_its_photos_only_for_who_sees_the_case(
        field_app: Flask) -> None:
    gw = staff_client(field_app, "ow_gw_e")
    cid = str(uuid.uuid4())
    first = report(gw, client_id=cid, photos=[jpeg(), jpeg((600, 800))])
    assert first.status_code == 201, first.get_json()
    case = first.get_json()
    assert case["created"] and case["state"] == "reported" and len(case["photos"]) == 2
    again = report(gw, client_id=cid.upper(), photos=[jpeg()])
    assert again.status_code == 200 and again.get_json()["id"] == case["id"]
    assert _count(field_app, "SELECT count(*) FROM incident WHERE client_id = :c", c=cid) == 1
    assert _count(field_app, "SELECT count(*) FROM incident_photo") == 2

    url = case["photos"][0]["url"]
    got = gw.get(url)
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert got.headers["Cache-Control"] == "private, no-store"
    img = Image.open(io.BytesIO(got.data))
    assert not img.getexif().get_ifd(0x8825) and b"FieldPhone" not in got.data
    assert gw.get(case["photos"][0]["thumb_url"]).status_code == 200
    for who, status in (("ow_acceptor", 200), ("ow_lead", 200), ("fw_admin", 200),
                        ("ow_gw_w", 404), ("ow_jww", 404), ("fw_planner", 404)):
        assert staff_client(field_app, who).get(url).status_code == status, who
    listing = staff_client(field_app, "ow_gw_w").get(f"/api/incidents/{case['id']}/photos")
    assert listing.status_code == 403
    assert field_app.test_client().get(url).status_code == 401


def test_concurrent_repeats_of_one_report_make_one_case(field_app: Flask) -> None:
    cid = str(uuid.uuid4())
    clients = [staff_client(field_app, "ow_gw_e") for _ in range(6)]
    statuses: list[int] = []
    barrier = threading.Barrier(len(clients))

    def send(c: object) -> None:
        barrier.wait()
        statuses.append(report(c, client_id=cid).status_code)  # type: ignore[arg-type]

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [200] * 5 + [201]
    assert _count(field_app, "SELECT count(*) FROM incident WHERE client_id = :c", c=cid) == 1
    assert _count(field_app, "SELECT count(*) FROM incident_photo") == 1


def test_bad_reports_list_every_problem_and_store_nothing(field_app: Flask) -> None:
    gw = staff_client(field_app, "ow_gw_e")
    r = report(gw, photos=[jpeg(), b"<svg/>"], category="NOPE", state="closed")
    assert r.status_code == 400
    body = r.get_json()
    assert "input.state_not_allowed" in str(body)
    r = report(gw, photos=[jpeg(), b"<svg/>"], category="NOPE")
    codes = [p["code"] for p in r.get_json()["problems"]]
    assert r.status_code == 400 and "media.bad_type" in codes and len(codes) >= 2, codes
    assert "第 2 张照片" in r.get_json()["error"]
    r = report(gw, photos=[])
    assert r.status_code == 400 and "media.photo_count" in str(r.get_json())
    r = report(gw, client_id="not-a-uuid")
    assert r.status_code == 400 and "field.bad_client_id" in str(r.get_json())
    assert _count(field_app, "SELECT count(*) FROM incident") == 0
    assert _count(field_app, "SELECT count(*) FROM incident_photo") == 0
    r = report(staff_client(field_app, "ow_cg"))  # a handler has no reporting post
    assert r.status_code == 403


def test_my_reports_duplicates_and_categories(field_app: Flask) -> None:
    gw = staff_client(field_app, "ow_gw_e")
    cid = report(gw).get_json()["id"]
    mine = gw.get("/api/field/reports").get_json()["reports"]
    assert [m["id"] for m in mine] == [cid] and mine[0]["photos"] == 1
    assert mine[0]["status_label"] == "信息收集"
    assert staff_client(field_app, "ow_gw_w").get("/api/field/reports").get_json() == {
        "reports": []}
    near = gw.get(f"/api/field/duplicates?lon={E1[0] + 0.0002}&lat={E1[1]}&category=E0102")
    cases = near.get_json()["cases"]
    assert [c["id"] for c in cases] == [cid] and 0 < cases[0]["distance_m"] < 50
    assert "description" not in cases[0]
    far = gw.get(f"/api/field/duplicates?lon={W1[0]}&lat={W1[1]}&category=E0102")
    assert far.get_json()["cases"] == []
    other = gw.get(f"/api/field/duplicates?lon={E1[0]}&lat={E1[1]}&category=E0101")
    assert other.get_json()["cases"] == []
    cats = gw.get("/api/field/categories").get_json()["categories"]
    assert cats[0]["code"] == "E0102" and cats[0]["common"]
    assert {c["code"] for c in cats} >= {"E0101", "E0102"}


def _act(client: object, iid: int, to: str, **extra: object) -> object:
    return post_json(client, f"/api/dispatch/cases/{iid}/act", {"to": to, **extra})  # type: ignore[arg-type]


def test_check_on_site_with_an_after_photo_closes_the_case(field_app: Flask) -> None:
    gw, gw_w = staff_client(field_app, "ow_gw_e"), staff_client(field_app, "ow_gw_w")
    iid = report(gw).get_json()["id"]
    assert [t["task"] for t in gw.get("/api/field/tasks").get_json()["tasks"]] == []
    other = report(staff_client(field_app, "ow_inspector")).get_json()["id"]
    tasks = gw.get("/api/field/tasks").get_json()["tasks"]
    assert [(t["id"], t["task"]) for t in tasks] == [(other, "verify")]
    v = post_json(gw, f"/api/field/tasks/{other}/verify", {"found": True, "note": "属实"})
    assert v.status_code == 201
    assert post_json(gw_w, f"/api/field/tasks/{other}/verify", {"found": True}
                     ).status_code == 403
    for who, to in (("ow_acceptor", "filed"), ("ow_dispatch", "dispatched"),
                    ("ow_wy", "handling"), ("ow_wy", "handled")):
        r = _act(staff_client(field_app, who), iid, to)
        assert r.status_code == 200, (who, to, r.get_json())  # type: ignore[attr-defined]
    tasks = gw.get("/api/field/tasks").get_json()["tasks"]
    assert (iid, "check") in [(t["id"], t["task"]) for t in tasks]
    assert gw_w.get("/api/field/tasks").get_json()["tasks"] == []
    up = gw.post(f"/api/incidents/{iid}/photos", data={
        "stage": "after", "photos": [(io.BytesIO(jpeg()), "after.jpg")]},
        content_type="multipart/form-data", headers={"X-CSRFToken": gw.csrf})  # type: ignore[attr-defined]
    assert up.status_code == 201 and up.get_json()["photos"][0]["stage"] == "after"
    assert _act(gw_w, iid, "closed").status_code == 403  # type: ignore[attr-defined]
    done = _act(gw, iid, "closed", note="核查通过")
    assert done.status_code == 200 and done.get_json()["state"] == "closed"  # type: ignore[attr-defined]
    photos = gw.get(f"/api/incidents/{iid}/photos").get_json()["photos"]
    assert [p["stage"] for p in photos] == ["before", "after"]
    late = gw.post(f"/api/incidents/{iid}/photos", data={
        "photos": [(io.BytesIO(jpeg()), "x.jpg")]}, content_type="multipart/form-data",
        headers={"X-CSRFToken": gw.csrf})  # type: ignore[attr-defined]
    assert late.status_code == 409 and "核查结案" in late.get_json()["error"]
