"""Basemap labels: road names along the road, estate names, zoom thresholds, bad bbox."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from gridmap.basemap import labels
from gridmap.errors import ValidationError
from tests.fixtures.web import seed_district, seed_network

BBOX = (116.400, 39.900, 116.412, 39.912)


@pytest.fixture
def district(conn: Connection) -> Connection:
    seed_district(conn)
    seed_network(conn)
    return conn


def test_roads_and_estates_at_zoom_17(district: Connection) -> None:
    found = labels.labels(district, BBOX, 17)
    roads = {lb.name: lb for lb in found if lb.kind == "road"}
    estates = {lb.name for lb in found if lb.kind == "estate"}
    assert "甲小区" in estates
    # 测试路2 runs north-south at lon 116.405: label on it, text turned by 90°
    assert abs(roads["测试路2"].lon - 116.405) < 1e-6
    assert abs(abs(roads["测试路2"].angle) - 90) < 1
    # 测试路11 runs east-west at lat 39.9075: horizontal text
    assert abs(roads["测试路11"].lat - 39.9075) < 1e-6 and abs(roads["测试路11"].angle) < 1
    assert len(roads) == len(set(roads))  # one label per road name


def test_zoom_thresholds(district: Connection) -> None:
    assert labels.labels(district, BBOX, 13) == []
    at15 = labels.labels(district, BBOX, 15)
    assert {lb.kind for lb in at15} == {"estate"}  # residential road names only from 16


def test_text_angle_never_upside_down() -> None:
    assert labels.text_angle(90) == 0  # eastwards
    assert labels.text_angle(270) == 0  # westwards: same reading direction
    assert labels.text_angle(0) == -90 or labels.text_angle(0) == 90
    assert -90 <= labels.text_angle(135) <= 90


def test_bad_requests_list_every_problem(district: Connection) -> None:
    with pytest.raises(ValidationError) as err:
        labels.labels(district, (116.5, 39.9, 116.4, 39.8), 40)
    assert {p.field for p in err.value.problems} == {"bbox", "zoom"}
    with pytest.raises(ValidationError):
        labels.labels(district, (116.0, 39.0, 117.0, 40.0), 16)
