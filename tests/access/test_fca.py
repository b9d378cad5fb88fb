"""Two-step floating catchment (2SFCA): a hand-computed example (3 facilities, 4 demand
points, step and Gaussian decay), then the whole path on the river town
(tests/fixtures/walk_world.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access import coverage
from gridmap.access.fca import FcaParams, compute, decay_weights, two_step
from gridmap.access.fca_report import fca_summary
from gridmap.errors import NotFound, ValidationError
from tests.fixtures.walk_world import river_town

# Facilities F0 (60 places), F1 (30), F2 (20); demand points D0..D3 with 400, 200, 300, 100
# children; catchment 300 m. Pairs (facility, demand point, metres):
SUPPLY = np.array([60.0, 30.0, 20.0])
DEMAND = np.array([400.0, 200.0, 300.0, 100.0])
PAIRS = [(0, 0, 100.0), (0, 1, 200.0), (1, 1, 250.0), (1, 2, 150.0), (2, 2, 300.0),
         (2, 3, 50.0), (0, 3, 400.0)]  # the last pair is beyond the catchment
FAC = np.array([p[0] for p in PAIRS])
DEM = np.array([p[1] for p in PAIRS])
DIST = np.array([p[2] for p in PAIRS])


def _g(d: float, d0: float = 300.0) -> float:
    """The Gaussian weight written out by hand (Dai 2010)."""
    e = math.exp(-0.5)
    return (math.exp(-0.5 * (d / d0) ** 2) - e) / (1 - e)


def test_step_decay_by_hand() -> None:
    ratio, access = two_step(SUPPLY, DEMAND, FAC, DEM, DIST, 300.0, "step")
    # R0 = 60 / (400 + 200) = 0.1; R1 = 30 / (200 + 300) = 0.06; R2 = 20 / (300 + 100) = 0.05
    # (D2 is exactly at 300 m: inside the step catchment)
    assert ratio == pytest.approx([0.1, 0.06, 0.05])
    # A0 = 0.1; A1 = 0.1 + 0.06; A2 = 0.06 + 0.05; A3 = 0.05 (F0 at 400 m does not count)
    assert access * 1000 == pytest.approx([100.0, 160.0, 110.0, 50.0])
    # nothing created or lost: every place is shared out among the children who reach it
    assert float((DEMAND * access).sum()) == pytest.approx(SUPPLY.sum())


def test_gaussian_decay_by_hand() -> None:
    ratio, access = two_step(SUPPLY, DEMAND, FAC, DEM, DIST, 300.0, "gaussian")
    assert _g(100) == pytest.approx(0.862656, abs=1e-6)
    assert _g(300) == pytest.approx(0.0, abs=1e-12)
    r0 = 60 / (400 * _g(100) + 200 * _g(200))
    r1 = 30 / (200 * _g(250) + 300 * _g(150))
    r2 = 20 / (100 * _g(50))  # D2 at 300 m weighs 0 with the Gaussian decay
    assert ratio == pytest.approx([r0, r1, r2])
    assert access == pytest.approx([r0 * _g(100), r0 * _g(200) + r1 * _g(250), r1 * _g(150),
                                    r2 * _g(50)])
    assert float((DEMAND * access).sum()) == pytest.approx(SUPPLY.sum())


def test_decay_weights_and_a_facility_nobody_reaches() -> None:
    assert list(decay_weights(np.array([0.0, 300.0, 301.0]), 300.0, "step")) == [1, 1, 0]
    assert decay_weights(np.array([0.0]), 300.0, "gaussian")[0] == pytest.approx(1.0)
    ratio, access = two_step(np.array([10.0, 5.0]), np.array([20.0]), np.array([0]),
                             np.array([0]), np.array([10.0]), 300.0, "step")
    assert ratio[0] == pytest.approx(0.5) and np.isnan(ratio[1])
    assert access == pytest.approx([0.5])


def _town(conn: Connection) -> dict[str, int]:
    ids = river_town(conn)
    conn.execute(sa.text("UPDATE facility SET capacity = 30 WHERE id = :k"),
                 {"k": ids["kindergarten"]})
    conn.execute(sa.text("UPDATE building SET age_3_6 = 10 WHERE id = :a"), {"a": ids["a"]})
    coverage.refresh(conn)
    return ids


def test_fca_on_the_river_town(conn: Connection) -> None:
    ids = _town(conn)
    run = compute(conn, "kindergarten")
    res = run.results[0]
    assert res.catchment_m == 300.0 and res.decay == "step"
    by_id = dict(zip(run.demand.ids.tolist(), (res.access * 1000).tolist(), strict=True))
    # A (10 children, 300 m catchment) shares all 30 places: 3,000 per 1,000 children;
    # B is across the river (1,830 m on foot) and the far building is 400 m away: none
    assert by_id[ids["a"]] == pytest.approx(3000.0)
    assert by_id[ids["b"]] == 0.0 and by_id[ids["far"]] == 0.0
    [west_east] = fca_summary(conn, "community", "kindergarten")
    rows = {r["name"]: r for r in west_east["rows"]}
    # West: 10 imported children + 40 residents × 3 % estimated = 11.2; 30 places reached
    assert rows["West"]["population"] == pytest.approx(11.2)
    assert rows["West"]["per_1000"] == pytest.approx(30 / 11.2 * 1000, abs=0.1)
    assert rows["West"]["facilities"] == 1 and rows["West"]["capacity"] == 30
    # East: 500 residents × 3 % = 15 children, all estimated, no place in reach
    assert rows["East"] == {**rows["East"], "population": 15.0, "estimated_share": 1.0,
                            "per_1000": 0.0, "facilities": 0}
    assert west_east["rows"][0]["name"] == "East"  # worst first
    assert west_east["capacity_reached"] == 30.0


def test_fca_all_types_and_the_other_decay(conn: Connection) -> None:
    _town(conn)
    out = fca_summary(conn, "building", params=FcaParams(decay="gaussian", catchment_m=500))
    assert [t["type"] for t in out] == ["kindergarten", "nursery", "nursing_home",
                                        "elderly_day_care"]
    kg = out[0]
    assert kg["catchment_m"] == 500 and kg["decay"] == "gaussian"
    # every place still reaches someone: the population-weighted access sums to 30 places
    assert kg["capacity_reached"] == pytest.approx(30.0)
    assert out[1]["facilities"] == 0 and out[1]["per_1000"] == 0.0


def test_fca_reports_every_bad_parameter(conn: Connection) -> None:
    river_town(conn)
    with pytest.raises(ValidationError) as err:
        compute(conn, "bus_stop", params=FcaParams(decay="linear", catchment_m=-1))
    assert [p.code for p in err.value.problems] == [
        "fca.not_a_capacity_type", "fca.unknown_decay", "fca.catchment_positive"]
    with pytest.raises(ValidationError) as lvl:
        fca_summary(conn, "grid")
    assert lvl.value.code == "fca.unknown_level"
    with pytest.raises(NotFound):
        compute(conn, "kindergarten")
