"""The sample district: real OSM data of the Chelsea extract plus seeded synthetic
administration (docs/sample-district.md).

Real: streets, buildings and POIs of ``data/geo/osm/chelsea.osm.pbf`` (© OpenStreetMap
contributors, ODbL 1.0), street blocks derived from its road network. Synthetic
(``synthetic = true``, names marked 合成示例): one district and two streets with the real NBS
codes and names of 黄浦区 (reference/grids.md §6), communities built from contiguous groups of
street blocks with real committee codes (:mod:`gridmap.demo.district`), grids
(:func:`gridmap.grids.auto_partition` activated through :func:`gridmap.grids.activate`),
incidents (:mod:`gridmap.demo.synth`). Everything is deterministic for a given seed.

``load_sample`` is idempotent: a finished ``import_run`` of kind ``sample`` means the sample
is already there and nothing is loaded again.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access import coverage, network
from gridmap.config import DATA_GEO
from gridmap.demo import district
from gridmap.demo.district import SYNTHETIC_MARK
from gridmap.demo.synth import synthesise
from gridmap.grids import autopartition, versions
from gridmap.imports import osm
from gridmap.imports.boundaries import Progress
from gridmap.imports.osm import ATTRIBUTION

SAMPLE_OSM = DATA_GEO / "osm" / "chelsea.osm.pbf"
DEFAULT_SEED = 20261123


@dataclass(frozen=True)
class SampleParams:
    """What the sample builder generates.

    Attributes
    ----------
    osm_path:
        The real OSM extract (its streets, buildings and POIs are kept as they are).
    district_code, street_codes:
        Real NBS codes the synthetic administration borrows (黄浦区, 南京东路街道, 外滩街道).
    communities_per_street:
        How many communities (居委会) each street is split into.
    grids_valid_from:
        Start of validity of the first grid version.
    incidents, incidents_start, incidents_end:
        Synthetic incidents (:func:`gridmap.demo.synth.synthesise`; skipped when 0).
    with_grids:
        Draw every community's grids (:func:`gridmap.grids.auto_partition`, activated with
        :func:`gridmap.grids.activate`); False leaves the communities without grids.
    with_network, with_coverage:
        Build the walking network (gridmap.access.network) and the coverage
        (gridmap.access.coverage).
    """

    osm_path: Path = SAMPLE_OSM
    district_code: str = "310101"
    street_codes: tuple[str, ...] = ("310101002", "310101013")
    communities_per_street: int = 5
    grids_valid_from: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    incidents: int = 3000
    incidents_start: dt.datetime | None = None
    """Default: ``incidents_days`` before ``incidents_end``."""
    incidents_end: dt.datetime | None = None
    """Default: the load time (to the hour), so the demo's "last 30 days" has cases."""
    incidents_days: int = 90
    with_grids: bool = True
    with_network: bool = True
    with_coverage: bool = True


@dataclass
class SampleReport:
    """What ``load_sample`` did."""

    already_loaded: bool
    import_id: int | None = None
    seed: int = DEFAULT_SEED
    osm: dict[str, Any] | None = None
    district: str = ""
    streets: list[dict[str, Any]] = field(default_factory=list)
    communities: list[dict[str, Any]] = field(default_factory=list)
    blocks_assigned: int = 0
    blocks_unassigned: int = 0
    buildings_assigned: int = 0
    buildings_unassigned: int = 0
    grids: int = 0
    grid_method: str = ""
    incidents: int | None = None
    network: dict[str, Any] | None = None
    coverage: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    attribution: str = ATTRIBUTION
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return json.loads(json.dumps(asdict(self), default=str))

    def lines(self) -> list[str]:
        """Human-readable summary."""
        if self.already_loaded:
            return [f"sample district already loaded (import run {self.import_id}); "
                    "nothing loaded again", self.attribution]
        out = [f"sample district loaded (import run {self.import_id}, seed {self.seed}, "
               f"{self.elapsed_s:.1f} s)"]
        if self.osm:
            ins = self.osm.get("inserted", {})
            out.append("real OSM data: " + ", ".join(f"{k} {v}" for k, v in ins.items()))
        out.append(f"synthetic district {self.district}; streets: "
                   + ", ".join(f"{s['code']} {s['name']}" for s in self.streets))
        out.append(f"synthetic communities: {len(self.communities)} ("
                   + ", ".join(c["code"] for c in self.communities) + ")")
        out.append(f"street blocks assigned {self.blocks_assigned}, unassigned "
                   f"{self.blocks_unassigned}; buildings assigned {self.buildings_assigned}, "
                   f"outside every community {self.buildings_unassigned}")
        out.append(f"grids: {self.grids} ({self.grid_method})")
        out.append("incidents: " + ("skipped" if self.incidents is None else str(self.incidents)))
        out.append("walking network: " + ("skipped" if self.network is None else "built"))
        out.extend(f"note: {n}" for n in self.notes)
        out.append(self.attribution + " — communities, grids and incidents are synthetic")
        return out


def _progress(progress: Progress | None, stage: str, done: int, total: int | None) -> None:
    if progress is not None:
        progress(stage, done, total)


def previous_run(conn: Connection) -> int | None:
    """Id of the finished sample import run, if the sample was loaded before."""
    return conn.execute(sa.text(
        "SELECT id FROM import_run WHERE kind = 'sample' AND finished_at IS NOT NULL "
        "ORDER BY id LIMIT 1")).scalar()


def load_sample(
    conn: Connection, *, seed: int = DEFAULT_SEED, params: SampleParams | None = None,
    osm_params: osm.OsmImportParams | None = None, progress: Progress | None = None,
) -> SampleReport:
    """Load the sample district (real OSM data + seeded synthetic administration).

    Parameters
    ----------
    conn:
        Connection; the caller commits. Everything happens in one savepoint.
    seed:
        Seed of every random choice (grids, incidents); same seed, same sample.
    params, osm_params:
        See :class:`SampleParams` and :class:`gridmap.osm.OsmImportParams`.
    progress:
        Optional progress callback.

    Returns
    -------
    SampleReport
        ``already_loaded=True`` (and nothing written) if a previous sample run exists.

    Raises
    ------
    Conflict
        If the borrowed district/street/community codes are already used by real data.
    NotFound
        If the admin-code catalogue lacks the codes (run ``gridmap db init``).
    """
    p = params or SampleParams()
    started = time.monotonic()
    prev = previous_run(conn)
    if prev is not None:
        return SampleReport(already_loaded=True, import_id=prev, seed=seed)
    report = SampleReport(already_loaded=False, seed=seed)
    with conn.begin_nested():
        report.import_id = int(conn.execute(sa.text(
            "INSERT INTO import_run (kind, source_file, actor) VALUES ('sample', :f, 'sample') "
            "RETURNING id"), {"f": p.osm_path.name}).scalar_one())
        osm_report = osm.import_osm(conn, p.osm_path, params=osm_params, progress=progress)
        report.osm = {"import_id": osm_report.import_id, "inserted": osm_report.inserted,
                      "repaired": len(osm_report.repaired), "dropped": len(osm_report.dropped)}
        _build_administration(conn, p, report, progress)
        _build_grids(conn, p, seed, report, progress)
        _extras(conn, p, seed, report, progress)
        report.elapsed_s = round(time.monotonic() - started, 1)
        conn.execute(sa.text(
            "UPDATE import_run SET finished_at = now(), report = CAST(:r AS jsonb) "
            "WHERE id = :id"), {"r": json.dumps(report.as_dict(), ensure_ascii=False),
                                "id": report.import_id})
    return report


# --------------------------------------------------------------------------- administration, grids


def _build_administration(conn: Connection, p: SampleParams, report: SampleReport,
                          progress: Progress | None) -> None:
    _progress(progress, "communities", 0, None)
    source = f"osm:{p.osm_path.name}"
    blocks = district.load_blocks(conn, source)
    component = blocks.main_component()
    report.blocks_unassigned = len(blocks.ids) - len(component)
    if report.blocks_unassigned:
        report.notes.append(
            f"{report.blocks_unassigned} street blocks are not connected to the main road-block "
            "area (separated by dropped slivers or water) and belong to no community")
    names = district.admin_names(conn, p)
    plan = district.plan_administration(blocks, component, p, names[2])
    district.check_codes_free(conn, p, [names[2][s][i][0] for s, parts in plan
                                        for i in range(len(parts))])
    report.communities = district.write_administration(conn, blocks, plan, names,
                                                       p.district_code, report.import_id)
    report.district = f"{p.district_code} {names[0]}{SYNTHETIC_MARK}"
    report.streets = [{"code": s, "name": names[1][s] + SYNTHETIC_MARK} for s, _ in plan]
    report.blocks_assigned = len(component)
    row = conn.execute(sa.text(
        "SELECT count(*) FILTER (WHERE community_id IS NOT NULL), "
        "count(*) FILTER (WHERE community_id IS NULL) FROM building WHERE source = :src"),
        {"src": source}).one()
    report.buildings_assigned, report.buildings_unassigned = int(row[0]), int(row[1])
    _progress(progress, "communities", len(report.communities), len(report.communities))


def _build_grids(conn: Connection, p: SampleParams, seed: int, report: SampleReport,
                 progress: Progress | None) -> None:
    """Every community's plan: auto-partition, then activation through the versions API."""
    ids = [int(c["id"]) for c in report.communities]
    if not p.with_grids:
        report.notes.append("grids skipped (with_grids=False)")
        return
    _progress(progress, "grids", 0, len(ids))
    for done, cid in enumerate(ids, start=1):
        vid = autopartition.auto_partition(conn, cid, seed=seed, actor="sample")
        versions.activate(conn, vid, effective=p.grids_valid_from, actor="sample")
        _progress(progress, "grids", done, len(ids))
    conn.execute(sa.text(
        "UPDATE grid SET synthetic = true, "
        "name = coalesce(name, '网格' || lpad(grid_seq::text, 3, '0')) "
        "|| CASE WHEN coalesce(name, '') LIKE '%合成%' THEN '' ELSE :mark END "
        "WHERE community_id = ANY(:ids)"), {"ids": ids, "mark": SYNTHETIC_MARK})
    report.grids = int(conn.execute(sa.text(
        "SELECT count(*) FROM grid WHERE community_id = ANY(:ids)"), {"ids": ids}).scalar_one())
    report.grid_method = "gridmap.grids.auto_partition + activate"


# --------------------------------------------------------------------------- extras


def _extras(conn: Connection, p: SampleParams, seed: int, report: SampleReport,
            progress: Progress | None) -> None:
    if p.incidents > 0:
        end = p.incidents_end or dt.datetime.now(dt.UTC).replace(minute=0, second=0,
                                                                 microsecond=0)
        start = p.incidents_start or end - dt.timedelta(days=p.incidents_days)
        _progress(progress, "incidents", 0, p.incidents)
        report.incidents = synthesise(conn, p.incidents, seed=seed, start=start, end=end)
        _progress(progress, "incidents", report.incidents or 0, p.incidents)
    if not p.with_network:
        report.notes.append("walking network and coverage skipped (with_network=False)")
        return
    _progress(progress, "network", 0, None)
    report.network = _plain(network.build_network(conn))
    if not p.with_coverage:
        report.notes.append("coverage skipped (with_coverage=False)")
        return
    _progress(progress, "coverage", 0, None)
    report.coverage = _plain(coverage.refresh(conn))


def _plain(obj: Any) -> dict[str, Any]:
    """A JSON-friendly dict of a report object (dataclass, mapping or anything else)."""
    if hasattr(obj, "as_dict"):
        data = obj.as_dict()
    elif hasattr(obj, "__dataclass_fields__"):
        data = asdict(obj)
    elif isinstance(obj, dict):
        data = obj
    else:
        data = {"result": str(obj)}
    return dict(json.loads(json.dumps(data, default=str)))


# --------------------------------------------------------------------------- info


def sample_info(conn: Connection) -> dict[str, Any] | None:
    """What the loaded sample holds (None if it was never loaded)."""
    run = conn.execute(sa.text(
        "SELECT id, finished_at, report FROM import_run WHERE kind = 'sample' "
        "AND finished_at IS NOT NULL ORDER BY id LIMIT 1")).first()
    if run is None:
        return None
    counts = conn.execute(sa.text(
        """
        SELECT (SELECT count(*) FROM community WHERE import_id = :i),
               (SELECT count(*) FROM grid g JOIN community c ON c.id = g.community_id
                WHERE c.import_id = :i),
               (SELECT count(*) FROM building b JOIN community c ON c.id = b.community_id
                WHERE c.import_id = :i),
               (SELECT coalesce(sum(b.households), 0) FROM building b
                JOIN community c ON c.id = b.community_id WHERE c.import_id = :i)
        """), {"i": run[0]}).one()
    return {"import_id": run[0], "loaded_at": str(run[1]), "communities": int(counts[0]),
            "grids": int(counts[1]), "buildings": int(counts[2]), "households": int(counts[3]),
            "seed": (run[2] or {}).get("seed"), "attribution": osm.ATTRIBUTION}
