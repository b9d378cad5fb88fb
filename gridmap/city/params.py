"""Sizes of a synthetic city and the named presets (docs/city.md).

A city is real NBS division codes and names of Shanghai (package data ``admin-codes``) laid
out on a synthetic street lattice: every community is a run of street blocks along a Hilbert
curve, each block one estate (小区) of buildings, roads on the block edges and lanes (弄)
inside. Names carry :data:`SYNTHETIC_MARK`; the geometry is invented.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from gridmap.errors import Problem, ValidationError

SYNTHETIC_MARK = "（合成）"


@dataclass(frozen=True)
class CityParams:
    """What to generate.

    Attributes
    ----------
    districts
        District codes to use (empty: all 16 of Shanghai), in code order.
    streets_per_district, communities_per_street
        Caps on the real street and committee codes taken per parent (``None``: all).
    blocks_per_community
        Street blocks (one estate each) per community.
    block_m, road_m
        Lattice pitch and road width in metres.
    building_rows, building_cols
        Buildings per block (a rows × cols layout inside the estate).
    lanes_per_block
        Footways (弄) across each block in each direction (network size).
    facilities_per_community
        Facilities drawn per community from the facility catalogue.
    incidents_per_year, years
        Incidents written, ``years`` back from ``end_year``'s end.
    end_year
        Last year with incidents (its 31 December is the last day).
    origin_lon, origin_lat
        South-west corner of the lattice (EPSG:4326).
    """

    districts: tuple[str, ...] = ()
    streets_per_district: int | None = None
    communities_per_street: int | None = None
    blocks_per_community: int = 4
    block_m: float = 220.0
    road_m: float = 16.0
    building_rows: int = 5
    building_cols: int = 8
    lanes_per_block: int = 8
    facilities_per_community: int = 12
    incidents_per_year: int = 10_000_000
    years: int = 1
    end_year: int = 2025
    origin_lon: float = 121.20
    origin_lat: float = 30.95
    with_grids: bool = True
    with_network: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-friendly mapping (for the run report)."""
        d = dict(self.__dict__)
        d["districts"] = list(self.districts)
        return d


PRESETS: dict[str, CityParams] = {
    # tests: 2 streets × 3 communities × 2 blocks of 3 × 3 buildings; grids and a small network
    "tiny": CityParams(districts=("310104",), streets_per_district=2, communities_per_street=3,
                       blocks_per_community=2, building_rows=3, building_cols=3,
                       lanes_per_block=1, facilities_per_community=3,
                       incidents_per_year=3_000, years=1),
    # one whole district (徐汇区: its real streets and committees)
    "district": CityParams(districts=("310104",), blocks_per_community=4, building_rows=4,
                           building_cols=6, lanes_per_block=4, incidents_per_year=500_000,
                           years=2),
    # the whole city: 16 districts, every street and committee code (≈ 6,500 communities),
    # ≈ 1.04M buildings, ≥ 3M network edges, 10M incidents a year
    "shanghai": CityParams(),
}


def resolve(preset_or_params: str | CityParams, years: int | None = None,
            incidents_per_year: int | None = None) -> CityParams:
    """A preset by name (or the params given), with ``years`` / incident count overridden.

    Raises
    ------
    ValidationError
        ``city.unknown_preset`` for an unknown name, ``city.bad_size`` for sizes below 1.
    """
    if isinstance(preset_or_params, CityParams):
        p = preset_or_params
    elif preset_or_params in PRESETS:
        p = PRESETS[preset_or_params]
    else:
        raise ValidationError("city.unknown_preset", params={
            "preset": str(preset_or_params), "known": ", ".join(PRESETS)})
    if years is not None:
        p = replace(p, years=years)
    if incidents_per_year is not None:
        p = replace(p, incidents_per_year=incidents_per_year)
    least = {"blocks_per_community": 1, "building_rows": 1, "building_cols": 1, "years": 1,
             "incidents_per_year": 0, "lanes_per_block": 0, "facilities_per_community": 0}
    bad = [Problem("city.bad_size", {"name": k, "value": getattr(p, k), "least": v}, field=k)
           for k, v in least.items() if getattr(p, k) < v]
    if bad:
        raise ValidationError("city.bad_params", bad)
    return p
