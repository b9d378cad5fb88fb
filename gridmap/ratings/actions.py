"""What raters do: enter values, confirm ratings; and what other pages read: current stars."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.errors import Conflict, PermissionDenied, Problem, ValidationError
from gridmap.ratings import measure, score, store
from gridmap.ratings.raters import Rater
from gridmap.ratings.scheme import scheme_by_id, scheme_for

MAX_EVIDENCE = 2000


def _entry_problems(kind: str, source: str, value: float, evidence: str, code: str
                    ) -> list[Problem]:
    out: list[Problem] = []
    if source != "entered":
        out.append(Problem("ratings.not_entered_criterion", {"criterion": code},
                           field="criterion"))
    lo, hi = (0.0, 100.0) if kind == "score" else (0.0, 1.0)
    if not math.isfinite(value) or not lo <= value <= hi or (
            kind == "condition" and value not in (0.0, 1.0)):
        out.append(Problem("ratings.bad_value", {"value": value, "low": lo, "high": hi},
                           field="value"))
    if not evidence.strip() or len(evidence) > MAX_EVIDENCE:
        out.append(Problem("ratings.evidence_needed", {"max": MAX_EVIDENCE}, field="evidence"))
    return out


def enter(conn: Connection, rater: Rater, year: int, round_code: str, community_code: str,
          criterion: str, value: float, evidence: str) -> store.Result:
    """Enter (or replace) a rater's value for an ``entered`` criterion, with an evidence note;
    the committee's draft is recomputed and returned.

    Raises
    ------
    ValidationError
        Not an entered criterion, value out of range, no evidence (every problem at once).
    PermissionDenied
        Committee outside the rater's area.
    Conflict
        The rating is confirmed (frozen).
    """
    store.check_round(year, round_code)
    comm = store.committees(conn, codes=[community_code])[0]
    store.area_checked(rater, [comm])
    store.check_not_frozen(conn, year, round_code, comm)
    _, scheme = scheme_for(conn, year)
    c = scheme.criterion(criterion)
    problems = _entry_problems(c.kind, c.source, float(value), evidence, criterion)
    if problems:
        raise ValidationError("ratings.bad_entry", problems, {"count": len(problems)})
    level = "district" if "district" in rater.levels else "street"
    with conn.begin_nested():
        conn.execute(sa.text(
            "INSERT INTO rating_entry (year, round, community_id, criterion, value, evidence,"
            " entered_by, entered_level) VALUES (:y, :r, :c, :k, :v, :ev, :by, :lv)"
            " ON CONFLICT (year, round, community_id, criterion) DO UPDATE SET"
            " value = EXCLUDED.value, evidence = EXCLUDED.evidence, entered_by = EXCLUDED.entered_by,"
            " entered_level = EXCLUDED.entered_level, entered_at = now()"),
            {"y": year, "r": round_code, "c": comm.id, "k": criterion, "v": float(value),
             "ev": evidence.strip(), "by": rater.actor, "lv": level})
    return store.compute(conn, year, round_code, codes=[community_code])[0]


def _confirm_problems(drafts: dict[int, dict[str, Any]], results: Sequence[store.Result],
                      stars: int | None, note: str | None) -> list[Problem]:
    out: list[Problem] = []
    for r in results:
        d = drafts.get(r.committee.id)
        if d is None:
            out.append(Problem("ratings.not_computed", {"community": r.committee.code}))
        elif d["computed_stars"] != r.stars:
            out.append(Problem("ratings.changed", {"community": r.committee.code,
                                                   "before": d["computed_stars"], "now": r.stars}))
        if not r.complete:
            out.append(Problem("ratings.incomplete", {"community": r.committee.code}))
    if stars is not None and not (note or "").strip() and any(r.stars != stars for r in results):
        out.append(Problem("ratings.override_needs_note", {"stars": stars}, field="note"))
    return out


def confirm(conn: Connection, rater: Rater, year: int, round_code: str,
            community_codes: Sequence[str], *, stars: int | None = None,
            note: str | None = None, as_of: dt.datetime | None = None
            ) -> list[dict[str, Any]]:
    """Confirm the drafts of ``community_codes``: they are frozen with the facts of their cases.

    ``stars`` overrides the computed stars (a note is then required). The rater's level must
    cover the final stars and every committee must be in the rater's area.

    Raises
    ------
    ValidationError
        ``ratings.cannot_confirm``: not computed, stars changed since the draft, entered
        values missing, override without a note (every problem at once).
    PermissionDenied
        ``ratings.stars_not_allowed`` / ``ratings.outside_area``.
    Conflict
        ``ratings.frozen``: already confirmed.
    """
    store.check_round(year, round_code)
    comms = store.committees(conn, codes=list(community_codes))
    store.area_checked(rater, comms)
    frozen = store.confirmed_ids(conn, year, round_code)
    for c in comms:
        if c.id in frozen:
            raise Conflict("ratings.frozen", {"community": c.code, "year": year,
                                              "round": round_code})
    rows = conn.execute(sa.text(
        "SELECT id, community_id, computed_stars, scheme_id FROM rating WHERE year = :y"
        " AND round = :r AND community_id = ANY(:c)"),
        {"y": year, "r": round_code, "c": [c.id for c in comms]}).mappings().all()
    drafts = {int(r["community_id"]): dict(r) for r in rows}
    scheme_id, scheme = scheme_for(conn, year)
    if stars is not None:
        rater.level_for(scheme, stars)  # may this rater give these stars at all?
    period = store.period_of(scheme, year, round_code, as_of)
    results = store.evaluate(conn, scheme, year, round_code, comms, period)
    problems = _confirm_problems(drafts, results, stars, note)
    if problems:
        raise ValidationError("ratings.cannot_confirm", problems, {"count": len(problems)})
    finals = {r.committee.id: (stars if stars is not None else r.stars) for r in results}
    levels = {cid: rater.level_for(scheme, s) for cid, s in finals.items()}
    if scheme_id is None:
        raise Conflict("ratings.no_scheme", {"year": year})
    with conn.begin_nested():
        store.write_drafts(conn, year, round_code, scheme_id, period, results)
        conn.execute(sa.text(
            "UPDATE rating r SET status = 'confirmed', stars = u.stars, confirmed_at = now(),"
            " confirmed_by = :by, confirmed_level = u.level, note = :note"
            " FROM unnest(CAST(:c AS int[]), CAST(:s AS int[]), CAST(:l AS text[]))"
            " AS u(cid, stars, level)"
            " WHERE r.year = :y AND r.round = :r AND r.community_id = u.cid"),
            {"c": list(finals), "s": list(finals.values()), "l": [levels[c] for c in finals],
             "by": rater.actor, "note": (note or "").strip() or None, "y": year, "r": round_code})
        rid = {c.id: int(drafts[c.id]["id"]) for c in comms}
        cases = measure.freeze_cases(conn, scheme, period, {v: k for k, v in rid.items()})
    return [{"community": r.committee.code, "stars": finals[r.committee.id],
             "computed_stars": r.stars, "level": levels[r.committee.id],
             "rating_id": rid[r.committee.id], "cases": cases[rid[r.committee.id]]}
            for r in results]


def current_stars(conn: Connection, community_codes: Sequence[str], *,
                  include_drafts: bool = False
                  ) -> dict[str, tuple[int, list[Problem]]]:
    """The latest confirmed stars of each committee and the reasons for them.

    Latest = the most recent year, 验收评估 before 初评 within a year. Committees without a
    confirmed rating are absent (with ``include_drafts``, their latest draft is used).
    Reasons are :class:`~gridmap.errors.Problem` codes (``ratings.reason_*``) to render in
    the reader's language.
    """
    rows = conn.execute(sa.text(
        "SELECT DISTINCT ON (c.code) c.code, r.stars, r.reasons FROM rating r"
        " JOIN community c ON c.id = r.community_id"
        " WHERE c.code = ANY(:codes) AND (r.status = 'confirmed' OR :drafts)"
        " ORDER BY c.code, (r.status = 'confirmed') DESC, r.year DESC,"
        " (r.round = 'acceptance') DESC"),
        {"codes": list(community_codes), "drafts": include_drafts}).all()
    return {r[0]: (int(r[1]), [Problem(x["code"], x.get("params", {})) for x in r[2]])
            for r in rows}


def compute_as(conn: Connection, rater: Rater, year: int, round_code: str, *,
               street_code: str | None = None, as_of: dt.datetime | None = None
               ) -> list[store.Result]:
    """:func:`gridmap.ratings.store.compute` for the committees of the rater's area (of one
    street, if given); ``ratings.outside_area`` when none of them is the rater's."""
    store.check_round(year, round_code)
    comms = [c for c in store.committees(conn, street_code=street_code) if rater.allows(c.id)]
    if not comms:
        raise PermissionDenied("ratings.outside_area",
                               {"community": street_code or "-", "actor": rater.actor})
    return store.compute(conn, year, round_code, codes=[c.code for c in comms], as_of=as_of)


def audit(conn: Connection, rating_id: int) -> dict[str, Any]:
    """A rating recomputed from what it froze (:func:`gridmap.ratings.store.recompute`) and,
    per measured case criterion, the frozen cases behind its value with their facts."""
    res = store.recompute(conn, rating_id)
    sch = scheme_by_id(conn, res["scheme_id"])
    cases = {c.code: measure.frozen_cases(conn, rating_id, score.slots_of(sch, c.code))
             for c in sch.criteria if score.slots_of(sch, c.code)}
    return {**res, "cases": cases}
