"""Resident/household estimate (gridmap.population, docs/population.md)."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.config import Settings
from gridmap.imports import population
from gridmap.imports.population import PopulationParams


def test_estimate_follows_the_documented_formula() -> None:
    p = PopulationParams(floor_area_per_person_m2=30.0, usable_floor_ratio=0.75,
                         persons_per_household=2.5, default_residential_levels=6)
    residents, households = population.estimate(
        np.array([400.0, 400.0, 400.0, 10.0]), np.array([10.0, np.nan, 10.0, 1.0]),
        np.array([True, True, False, True]), p)
    # 400 m² × 10 levels × 0.75 / 30 m² = 100 residents = 40 households
    assert residents.tolist() == [100, 60, 0, 0]
    assert households.tolist() == [40, 24, 0, 0]


def test_tiny_building_with_residents_has_at_least_one_household() -> None:
    residents, households = population.estimate(
        np.array([60.0]), np.array([1.0]), np.array([True]), PopulationParams())
    assert residents[0] == 1 and households[0] == 1


def test_levels_from_tags_then_height() -> None:
    levels, height = population.levels_and_height(
        ["5", None, None, "2.6", "x", None], [None, "31 m", "40'", None, None, "7"],
        PopulationParams(floor_height_m=3.0))
    assert np.isnan(height[0]) and height[1] == 31.0 and np.isnan(height[2])
    assert levels[0] == 5 and levels[1] == 10 and np.isnan(levels[2])
    assert levels[3] == 3 and np.isnan(levels[4]) and levels[5] == 2


def test_params_come_from_settings() -> None:
    s = Settings.load({"floor_area_per_person_m2": 40.0, "default_residential_levels": 9})
    p = PopulationParams.from_settings(s)
    assert p.floor_area_per_person_m2 == 40.0 and p.default_residential_levels == 9


def test_reestimate_updates_only_estimated_buildings(conn: Connection) -> None:
    square = "SRID=4326;MULTIPOLYGON(((0 0,0 0.001,0.001 0.001,0.001 0,0 0)))"
    ids = conn.execute(sa.text(
        """INSERT INTO building (residential, levels, footprint_m2, residents, households,
                                 population_source, geom)
           VALUES (true, 10, 400, 1, 1, 'estimated', ST_GeomFromEWKT(:g)),
                  (true, 10, 400, 7, 3, 'imported', ST_GeomFromEWKT(:g))
           RETURNING id"""), {"g": square}).scalars().all()
    population.reestimate(conn, PopulationParams(floor_area_per_person_m2=30.0))
    rows = dict(conn.execute(sa.text(
        "SELECT id, residents FROM building WHERE id = ANY(:ids)"), {"ids": ids}).all())
    assert rows[ids[0]] == 100 and rows[ids[1]] == 7
