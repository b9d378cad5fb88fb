"""``gridmap import population FILE --level building|estate|community``: official figures.

Each row (households, residents; optionally the 一老一小 age groups 0–3, 3–6, 60+, 80+)
is joined to a building, estate (小区) or community (居委会) by code, else by its normalised
Chinese name (:func:`normalise_name`); unmatched and ambiguous names are reported, never
guessed. Estate and community totals are spread over their residential buildings by floor
area (footprint × levels, largest-remainder rounding so the parts add up to the total);
figures of a finer level already imported are kept and only the remainder is spread. Every
building written gets ``population_source='imported'``, the source, the date and the level:
the estimated OSM figures are replaced, never added to.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Problem, ValidationError
from gridmap.imports.layers.columns import mapped, numbers, profile_for, texts
from gridmap.imports.layers.report import LayerReport
from gridmap.imports.population import PopulationParams
from gridmap.imports.tables import read_table

LEVELS = ("building", "estate", "community")
AGES = ("age_0_3", "age_3_6", "age_60_plus", "age_80_plus")
FIGURES = ("households", "residents", *AGES)
_TABLE = {"building": "building", "estate": "estate", "community": "community"}
_FINER = {"building": (), "estate": ("building",), "community": ("building", "estate")}
_PUNCT = re.compile(r"[\s·•・\-—_()（）\[\]【】\"'“”‘’,，.。/、]+")
_PREFIX = re.compile(r"^.{2,12}?(?:街道办事处|街道)(?=.{2,})")
_SUFFIX = re.compile(r"(?:社区居民委员会|居民委员会|社区居委会|居委会|村民委员会|村委会|"
                     r"社区|小区)$")


def normalise_name(name: str | None) -> str:
    """Matching key of a 小区/居委会 name: NFKC (full-width → half-width), no spaces or
    punctuation, without a leading ``…街道`` and a trailing 社区居委会/居委会/社区/小区:
    ``海淀区学院路街道 石油大院社区居委会`` → ``石油大院``; ``农大小区-北区`` → ``农大小区北区``."""
    if not name:
        return ""
    text = _PUNCT.sub("", unicodedata.normalize("NFKC", name)).casefold()
    text = _PREFIX.sub("", text)
    stripped = _SUFFIX.sub("", text)
    return stripped if len(stripped) >= 2 else text


@dataclass(frozen=True)
class OfficialPopulationParams:
    """Where the figures come from and how missing ones are completed."""

    source: str | None = None
    date: dt.date | None = None
    population: PopulationParams = PopulationParams()
    actor: str | None = None


def import_population(conn: Connection, path: str | Path, level: str, *,
                      profile: str | None = None, params: OfficialPopulationParams | None = None,
                      dry_run: bool = False) -> LayerReport:
    """Import official population figures at ``level`` (see the module docstring).

    Raises
    ------
    ValidationError
        Unknown level, unreadable file, missing columns, bad numbers — every problem at
        once; nothing written. Unmatched and ambiguous names are reported, not errors.
    """
    params = params or OfficialPopulationParams()
    path = Path(path)
    started = time.monotonic()
    if level not in LEVELS:
        raise ValidationError("layers.unknown_level", params={"level": level, "levels": LEVELS})
    prof = profile_for(profile)
    table = read_table(path, sheet=prof.sheet, encoding=prof.encoding, separator=prof.separator)
    source = params.source or path.name
    report = LayerReport(kind=f"population:{level}", source=source, dry_run=dry_run,
                         rows_read=len(table))
    name_field = {"building": "name", "estate": "estate", "community": "community"}[level]
    code_field = "community_code" if level == "community" else "key"
    fields = (code_field, name_field, "name", *FIGURES, "date")
    frame, problems = mapped(table.frame, prof, list(dict.fromkeys(fields)))
    figures = _figures(frame, params, problems, report)
    if frame[code_field].isna().all() and frame[name_field].isna().all() and (
            frame["name"].isna().all()):
        problems.append(Problem("layers.pop_no_join_column", {"level": level},
                                field=name_field))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError("layers.cannot_import", problems, {"name": path.name})
    report.warnings = problems
    names = frame[name_field].where(frame[name_field].notna(), frame["name"])
    targets = _join(conn, level, texts(frame[code_field]), texts(names), report)
    dates = _dates(frame["date"], params.date)
    savepoint = conn.begin_nested()
    try:
        _write(conn, level, targets, figures, dates, source, params, report)
    except BaseException:
        savepoint.rollback()
        raise
    (savepoint.rollback if dry_run else savepoint.commit)()
    report.elapsed_s = round(time.monotonic() - started, 2)
    return report


def _figures(frame: pd.DataFrame, params: OfficialPopulationParams, problems: list[Problem],
             report: LayerReport) -> dict[str, npt.NDArray[np.float64]]:
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    out = {f: numbers(frame[f], f, rows, problems) for f in FIGURES}
    hh, res = out["households"], out["residents"]
    neither = np.isnan(hh) & np.isnan(res)
    problems.extend(Problem("layers.pop_no_figures", row=int(r), field="households")
                    for r in rows[neither])
    pph = params.population.persons_per_household
    derived = np.isnan(res) & ~neither
    if derived.any():
        report.counts["residents_from_households"] = int(derived.sum())
    out["residents"] = np.where(np.isnan(res), np.round(hh * pph), res)
    out["households"] = np.where(np.isnan(hh), np.round(res / pph), hh)
    return out


def _dates(col: pd.Series, default: dt.date | None) -> list[dt.date | None]:
    parsed = pd.to_datetime(col, errors="coerce", format="mixed")
    return [default if pd.isna(d) else d.date() for d in parsed]


def _join(conn: Connection, level: str, codes: list[str | None], names: list[str | None],
          report: LayerReport) -> list[int | None]:
    """The id each row joins (None when unmatched or ambiguous; both are reported)."""
    table = _TABLE[level]
    stored = conn.execute(sa.text(
        f"SELECT id, code, name FROM {table} ORDER BY id")).all()  # noqa: S608
    by_code = {str(c): int(i) for i, c, _ in stored if c}
    by_name: dict[str, list[tuple[int, str]]] = {}
    for i, _c, n in stored:
        if n:
            by_name.setdefault(normalise_name(n), []).append((int(i), str(n)))
    out: list[int | None] = []
    for code, name in zip(codes, names, strict=True):
        if code is not None and code in by_code:
            out.append(by_code[code])
            continue
        hits = by_name.get(normalise_name(name), []) if name else []
        if len(hits) == 1:
            out.append(hits[0][0])
            continue
        out.append(None)
        label = name or code or "-"
        if len(hits) > 1:
            report.ambiguous[label] = [f"{n} (id {i})" for i, n in hits]
        else:
            report.unmatched[label] = report.unmatched.get(label, 0) + 1
    report.counts["matched"] = sum(1 for t in out if t is not None)
    return out


_BUILDINGS = {
    "building": "SELECT b.id, b.id AS target, 1.0 AS weight, false AS fixed FROM building b "
                "WHERE b.id = ANY(:targets)",
    "estate": "SELECT b.id, b.estate_id AS target, {weight} AS weight, {fixed} AS fixed "
              "FROM building b WHERE b.residential AND b.estate_id = ANY(:targets)",
    "community": "SELECT b.id, b.community_id AS target, {weight} AS weight, {fixed} AS fixed "
                 "FROM building b WHERE b.residential AND b.community_id = ANY(:targets)",
}


def _buildings(conn: Connection, level: str, targets: list[int], default_levels: int
               ) -> pd.DataFrame:
    """Residential buildings of the targets: id, target, floor-area weight, whether a finer
    level's official figures fix them, and those figures."""
    fixed = ("(b.population_source = 'imported' AND b.population_level = ANY(:finer))")
    sql = _BUILDINGS[level].format(
        weight=f"coalesce(b.footprint_m2, 0) * coalesce(b.levels, {int(default_levels)})",
        fixed=fixed)
    sql = sql.replace("SELECT b.id,", "SELECT b.households, b.residents, b.age_0_3, "
                      "b.age_3_6, b.age_60_plus, b.age_80_plus, b.id,")
    rows = conn.execute(sa.text(sql), {"targets": targets,
                                       "finer": list(_FINER[level])}).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=[
        "households", "residents", *AGES, "id", "target", "weight", "fixed"])


def spread(total: float, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """``total`` split in proportion to ``weights`` in whole numbers that add up to it
    (largest remainder); equal parts when every weight is 0."""
    w = np.asarray(weights, dtype=float)
    if len(w) == 0:
        return np.zeros(0, dtype=np.int64)
    w = np.ones_like(w) if w.sum() <= 0 else w
    exact = total * w / w.sum()
    base = np.floor(exact)
    left = int(round(total - base.sum()))
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:left]] += 1
    return base.astype(np.int64)


def _allocate(level: str, targets: list[int | None], figures: dict[str, npt.NDArray[Any]],
              blds: pd.DataFrame, report: LayerReport) -> dict[str, list[Any]]:
    """Per building: the figures (target totals minus fixed finer figures, spread)."""
    out: dict[str, list[Any]] = {"id": [], **{f: [] for f in FIGURES}}
    groups = {t: g for t, g in blds.groupby("target")} if len(blds) else {}
    for row, target in enumerate(targets):
        if target is None:
            continue
        g = groups.get(target)
        if g is None:
            report.warnings.append(Problem("layers.pop_no_buildings", {"level": level},
                                           row=row + 1, severity="warning"))
            continue
        free = g[~g["fixed"].astype(bool)]
        if free.empty:
            continue
        out["id"] += [int(i) for i in free["id"]]
        for f in FIGURES:
            total = figures[f][row]
            if np.isnan(total):
                out[f] += [None] * len(free)
                continue
            rest = total - np.nansum(g.loc[g["fixed"].astype(bool), f].astype(float))
            if rest < 0:
                report.warnings.append(Problem("layers.pop_finer_exceeds", {
                    "field": f, "total": int(total)}, row=row + 1, severity="warning"))
            out[f] += spread(max(rest, 0.0), free["weight"].to_numpy(dtype=float)).tolist()
    return out


_UPDATE = sa.text(
    """
    UPDATE building b SET households = n.households, residents = n.residents,
        age_0_3 = n.a03, age_3_6 = n.a36, age_60_plus = n.a60, age_80_plus = n.a80,
        population_source = 'imported', population_ref = :source,
        population_date = n.d, population_level = :level
    FROM unnest(CAST(:id AS int[]), CAST(:households AS int[]), CAST(:residents AS int[]),
                CAST(:age_0_3 AS int[]), CAST(:age_3_6 AS int[]), CAST(:age_60_plus AS int[]),
                CAST(:age_80_plus AS int[]), CAST(:dates AS date[]))
         AS n(id, households, residents, a03, a36, a60, a80, d)
    WHERE b.id = n.id AND (b.households IS DISTINCT FROM n.households
        OR b.residents IS DISTINCT FROM n.residents OR b.age_0_3 IS DISTINCT FROM n.a03
        OR b.age_3_6 IS DISTINCT FROM n.a36 OR b.age_60_plus IS DISTINCT FROM n.a60
        OR b.age_80_plus IS DISTINCT FROM n.a80 OR b.population_source <> 'imported'
        OR b.population_ref IS DISTINCT FROM :source
        OR b.population_date IS DISTINCT FROM n.d OR b.population_level <> :level)
    RETURNING b.id
    """)


def _write(conn: Connection, level: str, targets: list[int | None],
           figures: dict[str, npt.NDArray[Any]], dates: list[dt.date | None], source: str,
           params: OfficialPopulationParams, report: LayerReport) -> None:
    report.import_id = int(conn.execute(sa.text(
        "INSERT INTO import_run (kind, source_file, actor) VALUES (:k, :f, :a) RETURNING id"),
        {"k": f"population_{level}", "f": source, "a": params.actor}).scalar_one())
    blds = _buildings(conn, level, [t for t in targets if t is not None],
                      params.population.default_residential_levels)
    alloc = _allocate(level, targets, figures, blds, report)
    date_of = {t: dates[i] for i, t in enumerate(targets) if t is not None}
    by_bld = dict(zip(blds["id"], blds["target"], strict=True)) if len(blds) else {}
    alloc["dates"] = [date_of.get(int(by_bld[i])) for i in alloc["id"]]
    alloc["households"] = [0 if v is None else v for v in alloc["households"]]
    alloc["residents"] = [0 if v is None else v for v in alloc["residents"]]
    updated = conn.execute(_UPDATE, {**alloc, "source": source, "level": level}).all()
    report.updated = len(updated)
    report.unchanged = len(alloc["id"]) - len(updated)
    report.counts["buildings"] = len(alloc["id"])
    report.counts["households"] = int(sum(alloc["households"]))
    report.counts["residents"] = int(sum(alloc["residents"]))
    conn.execute(sa.text("UPDATE import_run SET finished_at = now(), report = CAST(:r AS jsonb) "
                         "WHERE id = :id"),
                 {"r": json.dumps(report.as_dict(), ensure_ascii=False, default=str),
                  "id": report.import_id})
