"""Ratings: compute drafts for all committees, enter values, confirm (freeze), recompute.

A rating is one row of ``rating`` per (year, round, committee). :func:`compute` measures every
committee in one pass (:mod:`gridmap.ratings.measure`, :mod:`gridmap.ratings.score`) and
writes drafts with one statement; confirmed ratings are never touched again. :func:`confirm`
re-measures the committees being confirmed, refuses if their stars moved since the draft
was shown, checks the rater's level and area, and freezes the rating together with the facts
of every case behind it (``rating_case``); :func:`recompute` proves a frozen rating gives the
same values from what it stored.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Conflict, NotFound, Problem, ValidationError
from gridmap.ratings import measure, score
from gridmap.ratings.raters import Rater, check_area
from gridmap.ratings.scheme import ROUNDS, Scheme, scheme_by_id, scheme_for


@dataclass(frozen=True)
class Committee:
    """A residents' committee (居委会) being rated."""

    id: int
    code: str
    name: str
    street_code: str


@dataclass(frozen=True)
class Result:
    """The computed rating of one committee."""

    committee: Committee
    score: float | None
    stars: int
    complete: bool
    reasons: tuple[Problem, ...]
    criteria: dict[str, Any]


def check_round(year: int, round_code: str) -> None:
    """Raise ``ratings.bad_round`` for an unknown round or an implausible year."""
    problems = []
    if round_code not in ROUNDS:
        problems.append(Problem("ratings.unknown_round",
                                {"round": round_code, "rounds": ", ".join(ROUNDS)}, field="round"))
    if not 2000 <= year <= 2100:
        problems.append(Problem("ratings.bad_year", {"year": year}, field="year"))
    if problems:
        raise ValidationError("ratings.bad_round", problems)


def committees(conn: Connection, *, street_code: str | None = None,
               codes: Sequence[str] | None = None) -> list[Committee]:
    """The committees of the district, of one street, or with the given codes (code order).

    Raises
    ------
    NotFound
        ``ratings.unknown_street`` / ``ratings.unknown_committee``.
    """
    rows = conn.execute(sa.text(
        "SELECT c.id, c.code, c.name, s.code FROM community c JOIN street s ON s.id = c.street_id "
        "WHERE (CAST(:st AS text) IS NULL OR s.code = :st) "
        "AND (CAST(:cc AS text[]) IS NULL OR c.code = ANY(:cc)) ORDER BY c.code"),
        {"st": street_code, "cc": None if codes is None else list(codes)}).all()
    if street_code is not None and not rows:
        if conn.execute(sa.text("SELECT 1 FROM street WHERE code = :c"),
                        {"c": street_code}).first() is None:
            raise NotFound("ratings.unknown_street", {"code": street_code})
    found = [Committee(int(r[0]), r[1], r[2], r[3]) for r in rows]
    if codes is not None and len(found) < len(set(codes)):
        missing = sorted(set(codes) - {c.code for c in found})
        raise NotFound("ratings.unknown_committee", {"codes": missing})
    return found


def period_of(scheme: Scheme, year: int, round_code: str,
              as_of: dt.datetime | None = None) -> measure.Period:
    """The round's measurement period; ``as_of`` defaults to now, at most the period end."""
    start, end = scheme.rounds[round_code].period_of(year)
    now = as_of or dt.datetime.now(dt.UTC)
    return measure.Period(start, end, min(now, end))


def entries_of(conn: Connection, year: int, round_code: str, ids: Sequence[int]
               ) -> dict[tuple[int, str], dict[str, Any]]:
    """Entered values of the committees ``ids``: ``(community id, criterion) → entry``."""
    rows = conn.execute(sa.text(
        "SELECT community_id, criterion, value, evidence, entered_by, entered_level, entered_at "
        "FROM rating_entry WHERE year = :y AND round = :r AND community_id = ANY(:ids)"),
        {"y": year, "r": round_code, "ids": list(ids)}).all()
    return {(int(r[0]), r[1]): {"value": float(r[2]), "evidence": r[3], "by": r[4],
                                "level": r[5], "at": r[6].isoformat()} for r in rows}


def evaluate(conn: Connection, scheme: Scheme, year: int, round_code: str,
             comms: Sequence[Committee], period: measure.Period, *,
             everyone: bool = False) -> list[Result]:
    """Measure and score ``comms`` from the live data (set-based; writes nothing);
    ``everyone``: ``comms`` are all committees (the scans need no id filter)."""
    ids = [c.id for c in comms]
    sums = measure.case_sums(conn, scheme, period, ids, everyone=everyone)
    shares = [float(c.params.get("min_share", 0.8)) for c in scheme.criteria
              if c.measure == "service"]
    gaps = measure.service_gaps(conn, None if everyone else ids, max(shares, default=0.0))
    entries = entries_of(conn, year, round_code, ids)
    return _results(scheme, comms, sums, entries, gaps)


def _results(scheme: Scheme, comms: Sequence[Committee], sums: np.ndarray,
             entries: score.Entries, gaps: score.Gaps) -> list[Result]:
    scored = score.evaluate(scheme, [c.id for c in comms], sums, entries, gaps)
    out: list[Result] = []
    complete = scored.complete.tolist()
    for n, (c, r) in enumerate(zip(comms, score.rows_of(scheme, scored, sums), strict=True)):
        g = None if gaps is None else gaps.get(c.id, [])
        out.append(Result(
            c, score.rounded(r.score), r.stars, bool(complete[n]),
            tuple(score.reasons(scheme, r, g)), score.criteria_record(scheme, r, entries, c.id, g)))
    return out


_UPSERT = """
INSERT INTO rating (year, round, community_id, scheme_id, status, period_start, period_end,
                    as_of, score, computed_stars, stars, complete, criteria, reasons, computed_at)
SELECT :y, :r, (x->>'cid')::int, :sid, 'draft', :s, :e, :asof, (x->>'score')::float8,
       (x->>'stars')::int, (x->>'stars')::int, (x->>'complete')::boolean, x->'criteria',
       x->'reasons', now()
FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS x
ON CONFLICT (year, round, community_id) DO UPDATE SET
    scheme_id = EXCLUDED.scheme_id, period_start = EXCLUDED.period_start,
    period_end = EXCLUDED.period_end, as_of = EXCLUDED.as_of, score = EXCLUDED.score,
    computed_stars = EXCLUDED.computed_stars, stars = EXCLUDED.stars,
    complete = EXCLUDED.complete, criteria = EXCLUDED.criteria, reasons = EXCLUDED.reasons,
    computed_at = now()
WHERE rating.status = 'draft'
"""


def write_drafts(conn: Connection, year: int, round_code: str, scheme_id: int,
                 period: measure.Period, results: Sequence[Result]) -> None:
    """Store ``results`` as drafts (one statement, the rows as one JSON document);
    confirmed ratings stay as they are."""
    rows = [{"cid": r.committee.id, "score": r.score, "stars": r.stars, "complete": r.complete,
             "criteria": r.criteria,
             "reasons": [{"code": p.code, "params": dict(p.params)} for p in r.reasons]}
            for r in results]
    conn.execute(sa.text(_UPSERT), {
        "y": year, "r": round_code, "sid": scheme_id, "s": period.start, "e": period.end,
        "asof": period.as_of, "rows": json.dumps(rows, ensure_ascii=False, default=str)})


def confirmed_ids(conn: Connection, year: int, round_code: str) -> set[int]:
    """Committee ids whose rating of the round is confirmed (frozen)."""
    return {int(r[0]) for r in conn.execute(sa.text(
        "SELECT community_id FROM rating WHERE year = :y AND round = :r AND status = 'confirmed'"),
        {"y": year, "r": round_code})}


def compute(conn: Connection, year: int, round_code: str, *, street_code: str | None = None,
            codes: Sequence[str] | None = None, as_of: dt.datetime | None = None,
            write: bool = True) -> list[Result]:
    """Compute the drafts of every committee (of one street, or the given codes) for a round.

    Confirmed ratings are skipped (frozen). With ``write=False`` nothing is stored (dry run).

    Raises
    ------
    ValidationError
        Unknown round or bad year.
    NotFound
        Unknown street or committee codes.
    """
    check_round(year, round_code)
    comms = committees(conn, street_code=street_code, codes=codes)
    frozen = confirmed_ids(conn, year, round_code)
    everyone = street_code is None and codes is None and not frozen
    comms = [c for c in comms if c.id not in frozen]
    scheme_id, scheme = scheme_for(conn, year, create=write)
    period = period_of(scheme, year, round_code, as_of)
    results = evaluate(conn, scheme, year, round_code, comms, period, everyone=everyone)
    if write and results and scheme_id is not None:
        with conn.begin_nested():
            write_drafts(conn, year, round_code, scheme_id, period, results)
    return results


def rating_row(conn: Connection, year: int, round_code: str, community_id: int
               ) -> dict[str, Any] | None:
    """The stored rating of one committee for a round (``None`` if not computed)."""
    row = conn.execute(sa.text(
        "SELECT * FROM rating WHERE year = :y AND round = :r AND community_id = :c"),
        {"y": year, "r": round_code, "c": community_id}).mappings().first()
    return None if row is None else dict(row)


def recompute(conn: Connection, rating_id: int) -> dict[str, Any]:
    """Recompute a stored rating from what it froze (its cases' facts, entries and gaps).

    Returns ``stored`` and ``recomputed`` (score, stars, per-criterion values) and ``same``.
    For a draft (nothing frozen) the live data are measured instead.
    """
    r = conn.execute(sa.text(
        "SELECT r.*, c.code, c.name, s.code AS street_code FROM rating r "
        "JOIN community c ON c.id = r.community_id JOIN street s ON s.id = c.street_id "
        "WHERE r.id = :i"), {"i": rating_id}).mappings().first()
    if r is None:
        raise NotFound("ratings.rating_not_found", {"id": rating_id})
    scheme = scheme_by_id(conn, r["scheme_id"])
    comm = Committee(r["community_id"], r["code"], r["name"], r["street_code"])
    period = measure.Period(r["period_start"], r["period_end"], r["as_of"])
    if r["status"] != "confirmed":
        res = evaluate(conn, scheme, r["year"], r["round"], [comm], period)[0]
    else:
        width = len(measure.fact_exprs(scheme))
        sums = measure.frozen_sums(conn, width, [rating_id])
        crit = r["criteria"]
        entries = {(comm.id, k): v["entry"] for k, v in crit.items() if "entry" in v}
        svc = [v["gaps"] for v in crit.values() if v.get("gaps") is not None]
        gaps = {comm.id: svc[0]} if svc else None
        res = _results(scheme, [comm], sums, entries, gaps)[0]
    values = {k: v["value"] for k, v in res.criteria.items()}
    stored = {k: v["value"] for k, v in r["criteria"].items()}
    same = (values == stored and res.stars == r["computed_stars"] and res.score == r["score"])
    return {"stored": {"score": r["score"], "stars": r["computed_stars"], "values": stored},
            "recomputed": {"score": res.score, "stars": res.stars, "values": values},
            "same": same, "status": r["status"], "scheme_id": r["scheme_id"]}


def check_not_frozen(conn: Connection, year: int, round_code: str, comm: Committee) -> None:
    """Raise ``ratings.frozen`` if the committee's rating of the round is confirmed."""
    if comm.id in confirmed_ids(conn, year, round_code):
        raise Conflict("ratings.frozen", {"community": comm.code, "year": year,
                                          "round": round_code})


def area_checked(rater: Rater, comms: Sequence[Committee]) -> None:
    """Every committee inside the rater's area (``ratings.outside_area``)."""
    for c in comms:
        check_area(rater, c.id, c.code)
