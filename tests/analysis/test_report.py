"""gridmap.analysis.cube and .report against PostGIS: the cube from one aggregate, the
contiguity, the classes of a planted surge, the XLSX export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Connection

from gridmap.analysis import cube, report
from gridmap.errors import ValidationError
from tests.analysis.world import (
    FIRST_MONDAY,
    HOT,
    LAST_MONDAY,
    WEEKS,
    N,
    build_lattice,
    planned_counts,
)


@pytest.fixture
def lattice(conn: Connection) -> dict[str, object]:
    return build_lattice(conn)


def test_step_dates_whole_weeks_and_months() -> None:
    weeks = cube.step_dates("week", dt.date(2025, 6, 4), dt.date(2025, 6, 29))
    assert weeks == [dt.date(2025, 6, d) for d in (2, 9, 16, 23)]
    # default: 104 whole weeks before the current one
    d = cube.step_dates("week", None, None, today=dt.date(2025, 7, 2))
    assert len(d) == 104 and d[-1] == dt.date(2025, 6, 23)
    months = cube.step_dates("month", None, None, today=dt.date(2025, 7, 2))
    assert len(months) == 24 and months[-1] == dt.date(2025, 6, 1)
    assert months[0] == dt.date(2023, 7, 1)
    with pytest.raises(ValidationError) as err:
        cube.step_dates("day", None, None)
    assert err.value.code == "analysis.step"
    with pytest.raises(ValidationError) as far:
        cube.step_dates("week", dt.date(1, 1, 1), None)
    assert far.value.code == "analysis.day_out_of_range"
    with pytest.raises(ValidationError) as many:
        cube.step_dates("week", dt.date(2000, 1, 1), dt.date(2025, 1, 1))
    assert many.value.code == "analysis.too_many_steps" and many.value.params["max"] == 520


def test_cube_counts_every_case_in_its_grid_and_week(conn: Connection,
                                                     lattice: dict[str, object]) -> None:
    ids: list[int] = lattice["ids"]  # type: ignore[assignment]
    steps = cube.step_dates("week", FIRST_MONDAY, LAST_MONDAY)
    c = cube.load_cube(conn, "week", steps)
    assert len(c.steps) == WEEKS and len(c.grid_ids) == N * N + 3  # + C1's three grids
    rows = np.searchsorted(c.grid_ids, ids)
    np.testing.assert_array_equal(c.counts[rows], planned_counts())
    # queen contiguity: a corner grid has 3 neighbours, an inner one 8
    corner, inner = rows[N * N - 1], rows[N + 1]  # rows[0] also touches C1's G2
    assert c.adjacency[corner].nnz == 3 and c.adjacency[inner].nnz == 8
    only_c2 = cube.load_cube(conn, "week", steps, community_ids=[lattice["C2"]])  # type: ignore[list-item]
    assert len(only_c2.grid_ids) == N * N


def test_planted_surge_is_a_consecutive_hot_spot(conn: Connection,
                                                 lattice: dict[str, object], tmp_path: Path
                                                 ) -> None:
    ids: list[int] = lattice["ids"]  # type: ignore[assignment]
    run = report.run(conn, "week", FIRST_MONDAY, LAST_MONDAY,
                     community_ids=[lattice["C2"]])  # type: ignore[list-item]
    by_id = {r["grid_id"]: r for r in report.rows(run)}
    for i, j in HOT:
        row = by_id[ids[i * N + j]]
        assert row["class"] == "consecutive_hot" and row["hot_steps"] == 3
    assert by_id[ids[0]]["class"] == "no_pattern"
    other = report.run(conn, "week", FIRST_MONDAY, LAST_MONDAY, filters={"categories": ["E05"]},
                       community_ids=[lattice["C2"]])  # type: ignore[list-item]
    assert report.summary(other)["cases"] == 0  # every planted case is E0102
    summ = report.summary(run)
    assert summ["classes"]["consecutive_hot"] >= 4 and summ["n_steps"] == WEEKS
    out = tmp_path / "ehsa.xlsx"
    report.write_xlsx(run, out, {"consecutive_hot": "连续热点"}, [f"h{i}" for i in range(10)])
    sheet = load_workbook(out)["EHSA"]
    assert "连续热点" in [c.value for c in sheet["B"]]


def test_unknown_street_and_short_window_are_refused(conn: Connection,
                                                     lattice: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as err:
        report.street_ids_for(conn, ["319901001", "999999999", "888888888"])
    assert err.value.code == "analysis.street_unknown"
    assert "999999999" in err.value.params["codes"] and "888888888" in err.value.params["codes"]
    with pytest.raises(ValidationError) as short:
        report.run(conn, "week", LAST_MONDAY, LAST_MONDAY)
    assert short.value.code == "analysis.too_few_steps"
