"""The profile's HTML (page body and the CLI's printable document): escaped data, labels in
the reader's language, the print stylesheet, no script."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.profiles import checkup, profile
from gridmap.profiles.html import render_body, render_document
from tests.profiles.world import UNTIL, WEST, profile_world

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def world(conn: Connection) -> dict[str, int]:
    ids = profile_world(conn)
    conn.execute(sa.text("UPDATE estate SET name = :n WHERE id = :e"),
                 {"n": EVIL, "e": ids["estate"]})
    return ids


def test_body_escapes_data_and_follows_the_language(conn: Connection,
                                                    world: dict[str, int]) -> None:
    prof, check = profile(conn, WEST, until=UNTIL), checkup(conn, WEST)
    zh = render_body(prof, check, "zh")
    assert EVIL not in zh and "&lt;img src=x onerror=alert(1)&gt;" in zh
    assert "West · 社区画像" in zh and "未评" in zh and "缺失" in zh and "候选点位" in zh
    en = render_body(prof, check, "en")
    assert "Community profile" in en and "Not rated" in en and "Candidate sites" in en
    doc = render_document(prof, None, "en")
    assert doc.startswith("<!doctype html>") and "@media print" in doc
    assert "<script" not in doc and "Candidate sites" not in doc
