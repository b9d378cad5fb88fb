"""Capacity-aware accessibility: the two-step floating catchment method (2SFCA).

For facilities with a capacity (kindergarten places, nursery places, elderly-care beds) and
the residents who need them (children 3-6, 0-3, residents 60+), on the walking network:

- step 1, per facility ``j``: ``R_j = S_j / Σ_k P_k · W(d_kj)`` over the demand points ``k``
  within the catchment ``d0`` (the supply-to-demand ratio of its catchment);
- step 2, per demand point ``i``: ``A_i = Σ_j R_j · W(d_ij)`` over the facilities within
  ``d0`` — the capacity available to one person of the target group; shown as supply per
  1,000 residents of that group (``A_i × 1000``: places or beds per 1,000).

``W`` is the distance decay: ``step`` (1 within ``d0``) or ``gaussian``
(``(e^{-½(d/d0)²} − e^{-½}) / (1 − e^{-½})``, 1 at the door, 0 at ``d0``; Dai 2010). Both
steps use the same weights, so ``Σ_i P_i A_i`` equals the capacity of every facility that has
someone in its catchment (nothing is created or lost).

Demand points are buildings (their stored snaps from the last coverage refresh); the target
population is the imported age group of the building, or residents × a configured share
where the building has none (counted as estimated). The catchment is the facility type's
walking radius (``facility_type.radius_m``) unless the caller gives one. Network distances
come from :mod:`gridmap.access.distances`: one batched multi-source scipy Dijkstra per type,
capped at ``d0``; everything after is vectorised numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.access.distances import Sources, node_distances_each, point_distance_matrix
from gridmap.access.graph import Floats, Ints, Snaps, WalkGraph, edge_index, load_graph
from gridmap.access.inputs import facility_types, require_refreshed
from gridmap.config import Settings, params_from_settings
from gridmap.errors import Problem, ValidationError

FCA_TYPES: dict[str, str] = {
    "kindergarten": "age_3_6",
    "nursery": "age_0_3",
    "nursing_home": "age_60_plus",
    "elderly_day_care": "age_60_plus",
}
"""Facility types with a capacity → the age group (building column) that needs them."""

FCA_TARGETS: dict[str, float] = {
    "kindergarten": 900.0,
    "nursery": 180.0,
    "nursing_home": 30.0,
    "elderly_day_care": 30.0,
}
"""Reference supply per 1,000 of the target group for the legend (a unit at or above it is
"adequate"). All [unverified] planning figures: kindergarten — the national 90 % gross
pre-school enrolment goal (十四五); nursery — 4.5 托位 per 1,000 residents (国家卫健委
2025 goal) over a ≈ 2.5 % share of 0-3 year-olds; elderly care — Shanghai's ≈ 3 % of
residents 60+ in 养老床位 (also used for day-care places)."""

DECAYS = ("step", "gaussian")
_EXP_HALF = float(np.exp(-0.5))


@dataclass(frozen=True)
class FcaParams:
    """Parameters of the 2SFCA.

    Attributes
    ----------
    decay:
        ``step`` or ``gaussian``.
    catchment_m:
        Catchment radius; None = the facility type's walking radius.
    include_access:
        Add the door-to-street legs to the network distances (as coverage does).
    fca_share_age_0_3, fca_share_age_3_6, fca_share_age_60_plus:
        Share of residents in the group where a building has no imported age groups.
    """

    decay: str = Settings.fca_decay
    catchment_m: float | None = None
    include_access: bool = True
    fca_share_age_0_3: float = Settings.fca_share_age_0_3
    fca_share_age_3_6: float = Settings.fca_share_age_3_6
    fca_share_age_60_plus: float = Settings.fca_share_age_60_plus
    speed_m_per_min: float = Settings.walking_speed_m_per_min

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> FcaParams:
        """Parameters from loaded :class:`~gridmap.config.Settings` (plus overrides)."""
        return params_from_settings(cls, settings, **overrides)

    def share(self, group: str) -> float:
        """The fallback share of residents for an age-group column."""
        return float(getattr(self, f"fca_share_{group}"))


def decay_weights(d: Floats, d0: float, decay: str) -> Floats:
    """Weights ``W(d)`` of distances ``d`` (0 beyond ``d0``).

    Parameters
    ----------
    d:
        Network distances in metres.
    d0:
        Catchment radius in metres.
    decay:
        ``step`` (1 within ``d0``) or ``gaussian`` (1 at 0, falling to 0 at ``d0``).
    """
    d = np.asarray(d, dtype=float)
    inside = d <= d0
    if decay == "step":
        return inside.astype(float)
    g = (np.exp(-0.5 * (d / d0) ** 2) - _EXP_HALF) / (1.0 - _EXP_HALF)
    return np.where(inside, np.maximum(g, 0.0), 0.0)


def two_step(supply: Floats, demand: Floats, fac: Ints, dem: Ints, dist: Floats, d0: float,
             decay: str) -> tuple[Floats, Floats]:
    """The two steps on facility–demand pairs within reach.

    Parameters
    ----------
    supply:
        Capacity ``S_j`` per facility.
    demand:
        Population ``P_i`` per demand point.
    fac, dem, dist:
        One entry per (facility, demand point) pair with its network distance; pairs beyond
        ``d0`` may be present (weight 0).
    d0, decay:
        Catchment radius and decay (:func:`decay_weights`).

    Returns
    -------
    ratio, access:
        ``R_j`` per facility (NaN where nobody is in its catchment) and ``A_i`` per demand
        point (capacity per person of the group).
    """
    w = decay_weights(dist, d0, decay)
    reach = np.bincount(fac, weights=np.asarray(demand, dtype=float)[dem] * w,
                        minlength=len(supply))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(reach > 0, np.asarray(supply, dtype=float) / reach, np.nan)
    contrib = np.nan_to_num(ratio)[fac] * w
    access = np.bincount(dem, weights=contrib, minlength=len(demand)).astype(float)
    return np.asarray(ratio, dtype=float), access


@dataclass
class Demand:
    """Buildings as demand points: ids, estate/community (-1: none), snaps, the population
    per age group and whether it was estimated from residents."""

    ids: Ints
    estate: Ints
    community: Ints
    residents: Floats
    snaps: Snaps
    groups: dict[str, Floats]
    estimated: dict[str, npt.NDArray[np.bool_]]


_DEMAND_SQL = """
SELECT b.id, COALESCE(b.estate_id, -1), COALESCE(b.community_id, -1), b.residents,
       s.edge_id, s.offset_m, s.snap_m, b.age_0_3, b.age_3_6, b.age_60_plus
FROM building b
LEFT JOIN building_snap s ON s.building_id = b.id
WHERE EXISTS (SELECT 1 FROM building_coverage bc WHERE bc.building_id = b.id)
ORDER BY b.id
"""


def load_demand(conn: Connection, graph: WalkGraph, params: FcaParams) -> Demand:
    """The analysed buildings (those of the last coverage refresh) with their snaps and
    age groups; a missing group is residents × the configured share (``estimated``)."""
    rows = conn.execute(sa.text(_DEMAND_SQL)).all()
    col = list(zip(*rows, strict=True)) if rows else [()] * 10
    snapped = np.array([e is not None for e in col[4]], dtype=bool)
    edge = np.full(len(rows), -1, dtype=np.int64)
    edge[snapped] = edge_index(graph, np.array([e for e in col[4] if e is not None],
                                               dtype=np.int64))
    offset = np.array([o or 0.0 for o in col[5]], dtype=float)
    dist = np.array([np.inf if v is None else v for v in col[6]], dtype=float)
    residents = np.array(col[3], dtype=float)
    groups: dict[str, Floats] = {}
    estimated: dict[str, npt.NDArray[np.bool_]] = {}
    for k, name in enumerate(("age_0_3", "age_3_6", "age_60_plus")):
        raw = np.array([np.nan if v is None else v for v in col[7 + k]], dtype=float)
        estimated[name] = np.isnan(raw)
        groups[name] = np.where(estimated[name], residents * params.share(name), raw)
    return Demand(np.array(col[0], dtype=np.int64), np.array(col[1], dtype=np.int64),
                  np.array(col[2], dtype=np.int64), residents, Snaps(edge, offset, dist),
                  groups, estimated)


@dataclass
class Supply:
    """Facilities of one type with a capacity, as sources on the graph."""

    ids: Ints
    capacity: Floats
    sources: Sources
    without_capacity: int


def load_supply(conn: Connection, graph: WalkGraph, type_code: str,
                include_access: bool) -> Supply:
    """The snapped facilities of ``type_code`` that have a capacity (> 0)."""
    rows = conn.execute(sa.text(
        "SELECT f.id, f.capacity, s.edge_id, s.offset_m, s.snap_m FROM facility f "
        "LEFT JOIN facility_snap s ON s.facility_id = f.id "
        "WHERE f.type_code = :t ORDER BY f.id"
    ), {"t": type_code}).all()
    ok = [r for r in rows if r[1] is not None and r[1] > 0 and r[2] is not None]
    edge = edge_index(graph, np.array([r[2] for r in ok], dtype=np.int64))
    off = np.array([r[3] for r in ok], dtype=float)
    extra = np.array([r[4] for r in ok], dtype=float) if include_access else np.zeros(len(ok))
    return Supply(np.array([r[0] for r in ok], dtype=np.int64),
                  np.array([r[1] for r in ok], dtype=float), Sources(edge, off, extra),
                  sum(1 for r in rows if r[1] is None or r[1] <= 0))


def pair_distances(graph: WalkGraph, sources: Sources, targets: Snaps, d0: float,
                   include_access: bool) -> tuple[Ints, Ints, Floats]:
    """Every (source, target, distance) pair within ``d0``: batched Dijkstra capped at
    ``d0``, then one vectorised pass per batch."""
    fac: list[Ints] = []
    dem: list[Ints] = []
    dist: list[Floats] = []
    for idx, dnodes in node_distances_each(graph, sources, limit=d0):
        m = point_distance_matrix(graph, dnodes, targets, sources.take(idx), include_access)
        r, c = np.nonzero(m <= d0)
        fac.append(idx[r])
        dem.append(c)
        dist.append(m[r, c])
    if not fac:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(fac), np.concatenate(dem), np.concatenate(dist)


@dataclass
class FcaResult:
    """2SFCA of one facility type: per facility its ratio, per building its access."""

    type_code: str
    group: str
    catchment_m: float
    decay: str
    supply: Supply
    ratio: Floats
    access: Floats
    demand: Floats
    estimated: npt.NDArray[np.bool_]


def check(conn: Connection, type_code: str | None, params: FcaParams) -> list[str]:
    """The capacity types to compute (every known one when ``type_code`` is None).

    Raises
    ------
    ValidationError
        Every problem at once: unknown type, a type without capacity, unknown decay,
        non-positive catchment.
    """
    known = facility_types(conn, params.speed_m_per_min)
    problems: list[Problem] = []
    if type_code is not None and type_code not in FCA_TYPES:
        problems.append(Problem("fca.not_a_capacity_type",
                                {"code": type_code, "types": ", ".join(FCA_TYPES)},
                                field="type"))
    if params.decay not in DECAYS:
        problems.append(Problem("fca.unknown_decay", {"decay": params.decay,
                                                      "decays": ", ".join(DECAYS)},
                                field="decay"))
    if params.catchment_m is not None and not params.catchment_m > 0:
        problems.append(Problem("fca.catchment_positive", field="catchment"))
    if len(problems) == 1:
        raise ValidationError(problems[0].code, problems, problems[0].params)
    if problems:
        raise ValidationError("fca.invalid", problems, {"n": len(problems)})
    return [t for t in ([type_code] if type_code else list(FCA_TYPES)) if t in known]


@dataclass
class FcaRun:
    """The demand points and one result per computed type."""

    demand: Demand
    results: list[FcaResult]


def compute(conn: Connection, type_code: str | None = None, *,
            params: FcaParams | None = None) -> FcaRun:
    """2SFCA for one capacity type or for all of them (buildings of the last refresh).

    Raises
    ------
    ValidationError
        See :func:`check`.
    NotFound
        The coverage has not been computed yet (no building snaps).
    """
    params = params or FcaParams()
    codes = check(conn, type_code, params)
    require_refreshed(conn)
    types = facility_types(conn, params.speed_m_per_min)
    graph = load_graph(conn)
    dem = load_demand(conn, graph, params)
    out: list[FcaResult] = []
    for code in codes:
        d0 = float(params.catchment_m or types[code].radius_m or 1000.0)
        group = FCA_TYPES[code]
        pop = dem.groups[group]  # unsnapped buildings: demand that nothing reaches
        sup = load_supply(conn, graph, code, params.include_access)
        f, i, d = pair_distances(graph, sup.sources, dem.snaps, d0, params.include_access)
        ratio, access = two_step(sup.capacity, pop, f, i, d, d0, params.decay)
        out.append(FcaResult(code, group, d0, params.decay, sup, ratio, access, pop,
                             dem.estimated[group]))
    return FcaRun(dem, out)
