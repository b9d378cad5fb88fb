"""The in-memory index of the address register, built once per geocoding run.

:class:`RegisterIndex` turns the register's rows (a frame, see
:func:`gridmap.geocode.register.load_register`) into dictionaries keyed by the normalised
elements: door plates (road, number), lane buildings (road, lane, branch, number), lanes with
their known numbers (for interpolation), road door numbers, 小区/place names with their
building numbers, road lines and area (community/street) names. Lookups are dictionary hits;
fuzzy candidates for names come from one :func:`rapidfuzz.process.cdist` call per run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridmap.geocode.normalise import name_key, place_key

KINDS: tuple[str, ...] = ("door", "place", "road", "area")
"""Register entry kinds: a door plate (road + number, lane, branch lane, 号楼), a named place
(小区, building, facility; optionally with a building number), a road (its line) and an area
(community or street, its representative point)."""

Key = tuple[Any, ...]


def _int(v: Any) -> int:
    return -1 if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else int(v)


@dataclass
class RegisterIndex:
    """Dictionaries over the register (row positions into :attr:`frame`)."""

    frame: pd.DataFrame
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    doors: dict[Key, list[int]] = field(default_factory=dict)
    door_groups: dict[Key, list[int]] = field(default_factory=dict)
    lanes: dict[Key, list[tuple[int, int]]] = field(default_factory=dict)
    road_numbers: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    places: dict[str, list[int]] = field(default_factory=dict)
    place_buildings: dict[Key, list[int]] = field(default_factory=dict)
    place_members: dict[str, list[int]] = field(default_factory=dict)
    roads: dict[str, list[int]] = field(default_factory=dict)
    areas: dict[str, list[int]] = field(default_factory=dict)
    road_names: list[str] = field(default_factory=list)
    place_names: list[str] = field(default_factory=list)
    district_prefixes: tuple[str, ...] = ()
    lines: dict[int, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)


def _door_entries(idx: RegisterIndex, f: pd.DataFrame, rows: npt.NDArray[np.int64]) -> None:
    doors: dict[Key, list[int]] = defaultdict(list)
    groups: dict[Key, list[int]] = defaultdict(list)
    lanes: dict[Key, list[tuple[int, int]]] = defaultdict(list)
    numbers: dict[str, list[tuple[int, int]]] = defaultdict(list)
    road = f["road_key"].to_numpy(object)
    lane = [_int(v) for v in f["lane"].tolist()]
    branch = [_int(v) for v in f["branch"].tolist()]
    number = [_int(v) for v in f["number"].tolist()]
    bno = [_int(v) for v in f["building_no"].tolist()]
    for i in rows.tolist():
        key = (road[i], lane[i], branch[i], number[i])
        doors[(*key, bno[i])].append(i)
        if bno[i] >= 0:  # 清华东路27号院1号楼: a numbered building behind door 27
            groups[key].append(i)
            continue
        if lane[i] >= 0 and number[i] >= 0:
            lanes[(road[i], lane[i], branch[i])].append((number[i], i))
        elif lane[i] < 0 and number[i] >= 0:
            numbers[road[i]].append((number[i], i))
        if lane[i] >= 0 and number[i] >= 0 and branch[i] < 0:
            # a lane's own number on the road (138弄 is door 138 of the road)
            numbers[road[i]].append((lane[i], i))
    idx.doors = dict(doors)
    idx.door_groups = dict(groups)
    idx.lanes = {k: sorted(v) for k, v in lanes.items()}
    idx.road_numbers = {k: sorted(v) for k, v in numbers.items()}


def _named(f: pd.DataFrame, rows: npt.NDArray[np.int64], col: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    keys = f[col].to_numpy(object)
    for i in rows.tolist():
        if keys[i]:
            out[keys[i]].append(i)
    return dict(out)


def build_index(frame: pd.DataFrame) -> RegisterIndex:
    """Index the register rows.

    ``frame`` columns: ``id``, ``kind`` (:data:`KINDS`), ``road``, ``lane``, ``branch``,
    ``number``, ``place``, ``building_no``, ``district``, ``lon``, ``lat`` and, for roads,
    ``line`` (shapely line in EPSG:4326). Rows are sorted by id, so equal keys resolve the
    same way on every run.
    """
    f = frame.sort_values("id", kind="stable").reset_index(drop=True).copy()
    f["road_key"] = [name_key(v) if isinstance(v, str) else "" for v in f["road"]]
    f["place_key"] = [place_key(v) if isinstance(v, str) else "" for v in f["place"]]
    idx = RegisterIndex(frame=f, lon=f["lon"].to_numpy(float), lat=f["lat"].to_numpy(float))
    kind = f["kind"].to_numpy(object)
    _door_entries(idx, f, np.flatnonzero((kind == "door") & (f["road_key"] != "").to_numpy()))
    place_rows = np.flatnonzero(kind == "place")
    bno = [_int(v) for v in f["building_no"].tolist()]
    idx.places = _named(f, place_rows[[bno[i] < 0 for i in place_rows]], "place_key")
    pb: dict[Key, list[int]] = defaultdict(list)
    members: dict[str, list[int]] = defaultdict(list)
    for i in place_rows.tolist():
        if bno[i] >= 0 and f["place_key"].iat[i]:
            pb[(f["place_key"].iat[i], bno[i])].append(i)
            members[f["place_key"].iat[i]].append(i)
    idx.place_buildings = dict(pb)
    idx.place_members = dict(members)
    road_rows = np.flatnonzero(kind == "road")
    idx.roads = _named(f, road_rows, "road_key")
    area_key = [place_key(v) if isinstance(v, str) else "" for v in f["place"]]
    idx.areas = {}
    for i in np.flatnonzero(kind == "area").tolist():
        if area_key[i]:
            idx.areas.setdefault(area_key[i], []).append(i)
    if "line" in f:
        idx.lines = {i: f["line"].iat[i] for i in road_rows.tolist()
                     if isinstance(f["line"].iat[i], shapely.Geometry)}
    idx.road_names = sorted(set(idx.roads) | {k[0] for k in idx.doors})
    idx.place_names = sorted(set(idx.places) | set(idx.place_members))
    districts = {str(d) for d in f.get("district", pd.Series(dtype=object)).dropna()}
    idx.district_prefixes = tuple(sorted({d[:-1] if d.endswith(("区", "县")) else d
                                          for d in districts if len(d) >= 2},
                                         key=lambda s: (-len(s), s)))
    return idx
