"""Retention (gridmap incidents archive): whole months to files and back; rollups keep counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import city
from gridmap.errors import ValidationError
from gridmap.incidents import archive, rollups

_COUNTS = ("SELECT (SELECT count(*) FROM incident), (SELECT count(*) FROM incident_event), "
           "(SELECT sum(hashtext(i::text)) FROM incident i)")


def test_archive_round_trip_keeps_rollups(conn: Connection, tmp_path: Path) -> None:
    city.generate(conn, "tiny", 5, incidents_per_year=2000)
    before = conn.execute(sa.text(_COUNTS)).one()
    q1 = conn.execute(sa.text("SELECT count(*) FROM incident WHERE reported_at < "
                              "'2025-04-01 00:00+08'")).scalar_one()
    trend = rollups.day_counts(conn, dt.date(2025, 1, 1), dt.date(2025, 12, 31), by=("day",))

    dry = archive.archive(conn, dt.date(2025, 4, 1), tmp_path, dry_run=True)
    assert dry.incidents == q1 and not list(tmp_path.iterdir())
    assert conn.execute(sa.text(_COUNTS)).one() == before

    done = archive.archive(conn, dt.date(2025, 4, 1), tmp_path)
    assert done.incidents == q1
    assert sorted(p.name for p in tmp_path.iterdir())[:3] == [
        "incident_event_p2025_01.csv.gz", "incident_event_p2025_02.csv.gz",
        "incident_event_p2025_03.csv.gz"]
    assert conn.execute(sa.text("SELECT count(*) FROM incident")).scalar_one() == before[0] - q1
    # the dashboard's trend still shows January–March
    assert rollups.day_counts(conn, dt.date(2025, 1, 1), dt.date(2025, 12, 31),
                              by=("day",)).equals(trend)

    for f in sorted(tmp_path.iterdir(), reverse=True):  # incident files first
        archive.restore(conn, f)
    assert conn.execute(sa.text(_COUNTS)).one() == before
    assert rollups.day_counts(conn, dt.date(2025, 1, 1), dt.date(2025, 12, 31),
                              by=("day",)).equals(trend)


def test_archive_refuses_a_month_not_over(conn: Connection, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        archive.archive(conn, dt.date.today() + dt.timedelta(days=40), tmp_path)
    assert err.value.code == "city.archive_future"
