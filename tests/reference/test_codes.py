"""Division codes and grid codes (reference/grids.md §6)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import ValidationError
from gridmap.reference import codes


def test_grid_code_beijing_and_cjt213_layouts() -> None:
    assert codes.grid_code("310107005001", 3) == "310107005001003"
    assert codes.grid_code("310107005001", 3, width=2) == "31010700500103"


@pytest.mark.parametrize("bad", ["31010700500", "31010700500a", ""])
def test_grid_code_rejects_malformed_community_codes(bad: str) -> None:
    with pytest.raises(ValidationError):
        codes.grid_code(bad, 1)


def test_grid_code_rejects_sequence_that_does_not_fit() -> None:
    with pytest.raises(ValidationError, match="does not fit"):
        codes.grid_code("310107005001", 100, width=2)


def test_reading_order_is_west_to_east_in_bands_north_to_south() -> None:
    # Two bands 100 m high: (0,250),(200,260) north; (100,50),(-50,40) south.
    pts = [(100.0, 50.0), (200.0, 260.0), (0.0, 250.0), (-50.0, 40.0)]
    assert codes.reading_order(pts, band_height=100.0) == [2, 1, 3, 0]


def test_admin_codes_loaded_and_unknown_codes_found(conn: Connection) -> None:
    n = conn.execute(sa.text("SELECT count(*) FROM admin_division WHERE level='community'"))
    assert n.scalar_one() > 6000
    putuo = conn.execute(
        sa.text("SELECT count(*) FROM admin_division WHERE level='community' "
                "AND code LIKE '310107%'")
    ).scalar_one()
    assert putuo == 285
    assert codes.unknown_codes(conn, "community", ["310107005001", "310107999999"]) == {
        "310107999999"
    }


def test_loading_codes_twice_adds_nothing(conn: Connection) -> None:
    before = conn.execute(sa.text("SELECT count(*) FROM admin_division")).scalar_one()
    codes.load_admin_codes(conn)
    after = conn.execute(sa.text("SELECT count(*) FROM admin_division")).scalar_one()
    assert before == after
