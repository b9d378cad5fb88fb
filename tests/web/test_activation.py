"""A scheduled grid plan comes into force by itself in the web app (web.activation, #16):
the first request after its date promotes it, without any timer running."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask.testing import FlaskClient

from gridmap import grids
from gridmap.db import make_engine
from tests.fixtures.web import WebDB

pytest_plugins = ["tests.fixtures.web"]

JIA = "110101001001"


def test_first_request_after_its_date_puts_a_scheduled_plan_in_force(
        web_db: WebDB, client: FlaskClient) -> None:
    cid = web_db.ids["community"][JIA]
    eng = make_engine(web_db.url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.execute(sa.text(
            "UPDATE grid_geometry SET responsible_party = '甲社区居委会' WHERE grid_id IN"
            " (SELECT id FROM grid WHERE community_id = :c)"), {"c": cid})
        old = grids.active_version(conn, cid)
        draft = grids.create_draft(conn, cid, actor="officer")
        when = conn.execute(sa.text("SELECT now()")).scalar_one() + dt.timedelta(days=3)
        assert grids.activate(conn, draft, effective=when, actor="officer") == "scheduled"
    assert client.get("/login").status_code == 200  # before its date: nothing happens
    with eng.connect() as conn:
        assert grids.active_version(conn, cid) == old
    with eng.begin() as conn:  # the date comes (the clock cannot move: the dates do)
        conn.execute(sa.text("UPDATE grid_version SET valid_to = now() - interval '1 minute'"
                             " WHERE id = :v"), {"v": old})
        conn.execute(sa.text("UPDATE grid_version SET valid_from = now() - interval '1 minute'"
                             " WHERE id = :v"), {"v": draft})
    client.application.extensions["gridmap.activation"]["next"] = 0.0  # the minute is up
    assert client.get("/login").status_code == 200
    with eng.connect() as conn:
        assert grids.active_version(conn, cid) == draft
        actor = conn.execute(sa.text(
            "SELECT actor FROM audit_log WHERE action = 'grid.activate' AND object_id = :v"),
            {"v": str(draft)}).scalar_one()
    assert actor == "system:activate-due"
    eng.dispose()
