"""Resident and household estimate for residential buildings (docs/population.md).

    residents  = footprint_m2 × levels × usable_floor_ratio / floor_area_per_person_m2
    households = residents / persons_per_household

All factors are configurable defaults ([unverified], see docs/population.md and
``Settings``); every estimated building is flagged ``population_source='estimated'``.
Levels come from ``building:levels``, else ``height / floor_height_m``, else (for
residential buildings) ``default_residential_levels``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.config import Settings, params_from_settings

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

RESIDENTIAL_BUILDING_TYPES: frozenset[str] = frozenset({
    "apartments", "residential", "house", "detached", "semidetached_house", "terrace",
    "dormitory", "bungalow", "farm", "cabin", "houseboat", "static_caravan", "stilt_house",
})
"""OSM ``building=*`` values that are residential by themselves (OSM wiki, Key:building)."""


@dataclass(frozen=True)
class PopulationParams:
    """Factors of the estimate; defaults are those of :class:`gridmap.config.Settings`."""

    floor_height_m: float = Settings.floor_height_m
    floor_area_per_person_m2: float = Settings.floor_area_per_person_m2
    usable_floor_ratio: float = Settings.usable_floor_ratio
    persons_per_household: float = Settings.persons_per_household
    default_residential_levels: int = Settings.default_residential_levels

    @classmethod
    def from_settings(cls, settings: Settings) -> PopulationParams:
        """Take the factors from loaded :class:`~gridmap.config.Settings`."""
        return params_from_settings(cls, settings)


def parse_number(values: Sequence[Any]) -> Floats:
    """Parse OSM numeric tag values (``"12"``, ``"12.5 m"``, ``"3;4"``) to floats, NaN if unusable.

    The first number in the string is taken; units other than metres are not converted
    (values such as ``"40'"`` are rejected as NaN).
    """
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is None:
            continue
        s = str(v).strip().replace(",", ".")
        if not s or "'" in s or '"' in s or "ft" in s:
            continue
        token = s.split(";")[0].split()[0].rstrip("m")
        try:
            x = float(token)
        except ValueError:
            continue
        if np.isfinite(x) and x > 0:
            out[i] = x
    return out


def levels_and_height(
    levels_tag: Sequence[Any], height_tag: Sequence[Any], params: PopulationParams
) -> tuple[Floats, Floats]:
    """Levels (NaN when unknown) and height in metres (NaN when unknown) from OSM tags.

    Levels from ``building:levels`` (rounded, at least 1); else ``height / floor_height_m``
    (rounded, at least 1). Height from ``height``; else ``levels × floor_height_m`` is not
    invented (stays NaN).
    """
    levels = parse_number(levels_tag)
    height = parse_number(height_tag)
    levels = np.where(np.isfinite(levels), np.maximum(np.round(levels), 1.0), np.nan)
    from_height = np.maximum(np.round(height / params.floor_height_m), 1.0)
    levels = np.where(np.isnan(levels) & np.isfinite(height), from_height, levels)
    return levels, height


def estimate(
    footprint_m2: Floats, levels: Floats, residential: npt.NDArray[np.bool_],
    params: PopulationParams,
) -> tuple[Ints, Ints]:
    """Estimated residents and households per building (0 for non-residential).

    Parameters
    ----------
    footprint_m2:
        Footprint areas in square metres (metric CRS).
    levels:
        Levels above ground, NaN when unknown (then ``default_residential_levels``).
    residential:
        Which buildings are residential; the others get 0.
    params:
        The factors.

    Returns
    -------
    residents, households
        Rounded to whole numbers; a residential building with any residents has at least
        one household.
    """
    footprint = np.nan_to_num(np.asarray(footprint_m2, dtype=float), nan=0.0)
    lv = np.asarray(levels, dtype=float)
    lv = np.where(np.isfinite(lv), lv, float(params.default_residential_levels))
    floor_area = footprint * lv * params.usable_floor_ratio
    residents = np.round(floor_area / params.floor_area_per_person_m2)
    residents = np.where(np.asarray(residential, dtype=bool), residents, 0.0)
    households = np.round(residents / params.persons_per_household)
    households = np.where(residents > 0, np.maximum(households, 1.0), 0.0)
    return residents.astype(np.int64), households.astype(np.int64)


_REESTIMATE_SQL = sa.text(
    """
    UPDATE building
    SET residents = r.residents,
        households = CASE WHEN r.residents > 0
                          THEN GREATEST(1, round(r.residents / :pph)::int) ELSE 0 END
    FROM (
        SELECT id,
               round(coalesce(footprint_m2, 0) * coalesce(levels, :default_levels)
                     * :ratio / :area_pp)::int AS residents
        FROM building
        WHERE residential AND population_source = 'estimated'
    ) AS r
    WHERE building.id = r.id
    """
)


def reestimate(conn: Connection, params: PopulationParams) -> int:
    """Recompute every ``estimated`` building with new factors (one statement).

    Buildings whose figures were imported are left alone. Returns the number updated.
    """
    with conn.begin_nested():
        result = conn.execute(
            _REESTIMATE_SQL,
            {
                "pph": params.persons_per_household,
                "default_levels": params.default_residential_levels,
                "ratio": params.usable_floor_ratio,
                "area_pp": params.floor_area_per_person_m2,
            },
        )
    return int(result.rowcount or 0)
