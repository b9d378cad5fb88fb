"""``generate``: a whole synthetic city, deterministic for a seed (docs/city.md).

Order: divisions and blocks → estates and buildings → roads → facilities → grids
(auto-partition of every community, activated) → walking network → incidents. One
``import_run`` of kind ``city`` records the parameters and the counts.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access import network
from gridmap.city import incidents, layout, store
from gridmap.city.params import SYNTHETIC_MARK, CityParams, resolve
from gridmap.db.bulkcopy import copy_frame, point_ewkb
from gridmap.grids import autopartition, versions

Progress = Callable[[str, float], None]


@dataclass
class CityReport:
    """What was generated, with the seconds each stage took."""

    import_id: int
    seed: int
    params: dict[str, Any]
    districts: int = 0
    streets: int = 0
    communities: int = 0
    blocks: int = 0
    buildings: int = 0
    roads: int = 0
    facilities: int = 0
    grids: int = 0
    network_edges: int = 0
    incidents: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly mapping."""
        return asdict(self)


def _facilities(conn: Connection, plan: layout.Plan, p: CityParams, n_comm: int,
                rng: np.random.Generator, source: str) -> int:
    """``p.facilities_per_community`` facilities per community inside its estates."""
    types = conn.execute(sa.text(
        "SELECT code, name_zh FROM facility_type ORDER BY code")).all()
    k = p.facilities_per_community
    if not types or k == 0:
        return 0
    n = n_comm * k
    comm = np.repeat(np.arange(n_comm), k)
    blk = comm * p.blocks_per_community + rng.integers(0, p.blocks_per_community, n)
    est = layout.cell_boxes(plan.block_x[blk], plan.block_y[blk], p, p.road_m / 2 + 8.0)
    x = est[:, 0] + rng.uniform(0, 1, n) * (est[:, 2] - est[:, 0])
    y = est[:, 1] + rng.uniform(0, 1, n) * (est[:, 3] - est[:, 1])
    lon, lat = layout.to_lonlat(x, y, p)
    ti = rng.integers(0, len(types), n)
    code = np.array([t[0] for t in types], dtype=object)[ti]
    name = np.array([t[1] + SYNTHETIC_MARK for t in types], dtype=object)[ti]
    frame = pd.DataFrame({"type_code": code, "name": name, "synthetic": True, "source": source})
    pts = point_ewkb(lon, lat)
    copy_frame(conn, "facility", ["type_code", "name", "synthetic", "source", "geom",
                                  "location"], frame, {"synthetic": "bool"},
               {"geom": pts, "location": pts})
    return n


def build_grids(conn: Connection, community_ids: list[int], seed: int,
                valid_from: dt.datetime) -> int:
    """Auto-partition every community and activate the plans; returns the grid count."""
    for cid in community_ids:
        vid = autopartition.auto_partition(conn, cid, seed=seed, actor="city")
        versions.activate(conn, vid, effective=valid_from, actor="city")
    conn.execute(sa.text("UPDATE grid SET synthetic = true WHERE community_id = ANY(:ids)"),
                 {"ids": community_ids})
    return int(conn.execute(sa.text("SELECT count(*) FROM grid WHERE community_id = ANY(:ids)"),
                            {"ids": community_ids}).scalar_one())


def _anchors(plan: layout.Plan, p: CityParams) -> np.ndarray:
    """Building centres (lon, lat): where incidents cluster."""
    cx = (plan.building_box[:, 0] + plan.building_box[:, 2]) / 2
    cy = (plan.building_box[:, 1] + plan.building_box[:, 3]) / 2
    lon, lat = layout.to_lonlat(cx, cy, p)
    return np.column_stack([lon, lat])


def _stage(report: CityReport, name: str, t0: float, progress: Progress | None) -> float:
    now = time.perf_counter()
    report.seconds[name] = round(now - t0, 3)
    if progress:
        progress(name, now - t0)
    return now


def generate(conn: Connection, preset_or_params: str | CityParams = "tiny", seed: int = 0, *,
             years: int | None = None, incidents_per_year: int | None = None,
             progress: Progress | None = None) -> CityReport:
    """Generate a synthetic city (see :mod:`gridmap.city.params` for sizes and presets).

    Parameters
    ----------
    conn
        Connection; everything is written in one savepoint (nothing on error).
    preset_or_params
        ``"tiny"``, ``"district"``, ``"shanghai"`` or a :class:`CityParams`.
    seed
        Same seed, same parameters → the same rows (geometry, households, incidents).
    years, incidents_per_year
        Override the preset's incident volume.
    progress
        Called with (stage, seconds) after each stage.

    Returns
    -------
    CityReport
        Counts and stage timings; also stored in ``import_run.report`` (kind ``city``).

    Raises
    ------
    ValidationError
        Unknown preset or bad sizes (``city.*``).
    Conflict
        ``city.codes_taken``: communities with the city's codes already exist.
    """
    p = resolve(preset_or_params, years, incidents_per_year)
    rng = np.random.default_rng(seed)
    div = store.choose_divisions(p)
    source = f"city:{seed}"
    with conn.begin_nested():
        store.check_free(conn, div)
        run = int(conn.execute(sa.text(
            "INSERT INTO import_run (kind, source_file, actor) VALUES ('city', :s, 'city') "
            "RETURNING id"), {"s": source}).scalar_one())
        report = CityReport(run, seed, p.as_dict(), districts=len(div.district_code),
                            streets=len(div.street_code), communities=len(div.community_code))
        t = time.perf_counter()
        plan = layout.plan_city(len(div.community_code), p, rng)
        t = _stage(report, "plan", t, progress)
        store.write_blocks(conn, plan, div, p, source)
        report.blocks = len(plan.block_x)
        report.buildings = store.write_buildings(conn, plan, p, rng, source)
        t = _stage(report, "divisions_buildings", t, progress)
        report.roads = store.write_roads(conn, plan, p, source)
        report.facilities = _facilities(conn, plan, p, len(div.community_code), rng, source)
        t = _stage(report, "roads_facilities", t, progress)
        _rest(conn, report, plan, p, div, seed, t, progress)
        conn.execute(sa.text(
            "UPDATE import_run SET finished_at = now(), report = CAST(:r AS jsonb) "
            "WHERE id = :id"), {"r": json.dumps(report.as_dict(), ensure_ascii=False),
                                "id": run})
    return report


def _rest(conn: Connection, report: CityReport, plan: layout.Plan, p: CityParams,
          div: store.Divisions, seed: int, t: float, progress: Progress | None) -> None:
    """Grids, network and incidents (the slow stages)."""
    if p.with_grids:
        ids = [int(r[0]) for r in conn.execute(sa.text(
            "SELECT id FROM community WHERE code = ANY(:c) ORDER BY code"),
            {"c": div.community_code})]
        start = dt.datetime(p.end_year - p.years, 12, 1, tzinfo=dt.UTC)
        report.grids = build_grids(conn, ids, seed, start)
        t = _stage(report, "grids", t, progress)
    if p.with_network:
        network.build_network(conn)
        report.network_edges = int(conn.execute(sa.text(
            "SELECT count(*) FROM network_edge")).scalar_one())
        t = _stage(report, "network", t, progress)
    report.incidents = incidents.write_incidents(conn, p, _anchors(plan, p), seed)
    _stage(report, "incidents", t, progress)
