"""The rating scheme (星级测评方案) as data: criteria, weights, thresholds, rounds, raters.

A scheme is a mapping (YAML/JSON) validated by :func:`parse`, which reports every problem at
once. The shipped default (``gridmap/data/ratings_scheme.yaml``) reproduces the documents'
contents (seed 000) with gridmap's proposed numbers tagged ``[unverified]``; one scheme is
stored per year (``rating_scheme``) with :func:`store`, read back with :func:`scheme_for`.

Criteria are either ``score`` criteria (a value 0–100 with a weight; the weighted mean of the
score criteria is the rating's score, mapped to stars by ``stars.min_score``) or
``condition`` criteria (pass/fail; a failed condition caps the stars at ``cap_stars``). Each is
``measured`` (``measure``: ``satisfaction``, ``response``, ``categories``, ``service``; see
:mod:`gridmap.ratings.measure`) or ``entered`` by a rater (:mod:`gridmap.ratings.store`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection

from gridmap.errors import NotFound, Problem, ValidationError

ROUNDS: tuple[str, ...] = ("initial", "acceptance")
"""初评 (March) and 验收评估 (November–December)."""
LEVELS: tuple[str, ...] = ("street", "district")
KINDS: tuple[str, ...] = ("score", "condition")
SOURCES: tuple[str, ...] = ("measured", "entered")
MEASURES: tuple[str, ...] = ("satisfaction", "response", "categories", "service")
TAGS: tuple[str, ...] = ("seed", "unverified", "local")
DEFAULT_FILE = "ratings_scheme.yaml"


@dataclass(frozen=True)
class Criterion:
    """One criterion of a scheme (see the module docstring)."""

    code: str
    name_zh: str
    name_en: str
    kind: str
    source: str
    measure: str | None = None
    weight: float = 0.0
    cap_stars: int | None = None
    tag: str = "unverified"
    params: Mapping[str, Any] = field(default_factory=dict)

    def name(self, lang: str) -> str:
        """The criterion's name in ``lang``."""
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True)
class Round:
    """A rating round: its names, the months it runs in and its measurement period."""

    code: str
    name_zh: str
    name_en: str
    months: tuple[int, ...]
    period: tuple[str, str]
    tag: str = "seed"

    def period_of(self, year: int) -> tuple[dt.datetime, dt.datetime]:
        """The measurement period ``[start, end)`` of ``year`` (China Standard Time)."""
        return _when(self.period[0], year), _when(self.period[1], year)


@dataclass(frozen=True)
class Scheme:
    """A validated rating scheme."""

    name: str
    source: str
    criteria: tuple[Criterion, ...]
    min_score: Mapping[int, float]
    target: Mapping[str, float]
    raters: Mapping[str, tuple[int, int]]
    rounds: Mapping[str, Round]
    tags: Mapping[str, str] = field(default_factory=dict)

    def criterion(self, code: str) -> Criterion:
        """The criterion with ``code`` (``NotFound`` ``ratings.unknown_criterion``)."""
        for c in self.criteria:
            if c.code == code:
                return c
        raise NotFound("ratings.unknown_criterion",
                       {"code": code, "codes": ", ".join(c.code for c in self.criteria)})

    def as_dict(self) -> dict[str, Any]:
        """The scheme as the mapping :func:`parse` reads (YAML/JSON export)."""
        return {
            "name": self.name, "source": self.source,
            "stars": {"min_score": {int(k): v for k, v in self.min_score.items()},
                      "tag": self.tags.get("stars", "unverified")},
            "target": {**self.target, "tag": self.tags.get("target", "seed")},
            "raters": {**{k: list(v) for k, v in self.raters.items()},
                       "tag": self.tags.get("raters", "seed")},
            "rounds": {k: {"name_zh": r.name_zh, "name_en": r.name_en, "months": list(r.months),
                           "period": list(r.period), "tag": r.tag}
                       for k, r in self.rounds.items()},
            "criteria": [{k: (dict(v) if k == "params" else v) for k, v in asdict(c).items()
                          if v is not None} for c in self.criteria],
        }


_CST = dt.timezone(dt.timedelta(hours=8))


def _when(template: str, year: int) -> dt.datetime:
    """``"{Y-1}-03-01"`` → 1 March of the previous year, midnight CST."""
    text = template.replace("{Y-1}", str(year - 1)).replace("{Y}", str(year))
    return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), _CST)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _criterion_problems(i: int, c: Mapping[str, Any]) -> list[Problem]:
    where = f"criteria[{i}]"
    out: list[Problem] = []
    for key in ("code", "name_zh", "name_en"):
        if not isinstance(c.get(key), str) or not c.get(key):
            out.append(Problem("ratings.scheme_missing", {"field": f"{where}.{key}"}, field=key))
    checks = (("kind", KINDS), ("source", SOURCES), ("tag", TAGS))
    for key, allowed in checks:
        if c.get(key, "unverified" if key == "tag" else None) not in allowed:
            out.append(Problem("ratings.scheme_choice", {"field": f"{where}.{key}",
                               "value": c.get(key), "choices": ", ".join(allowed)}, field=key))
    if c.get("source") == "measured" and c.get("measure") not in MEASURES:
        out.append(Problem("ratings.scheme_choice", {"field": f"{where}.measure",
                           "value": c.get("measure"), "choices": ", ".join(MEASURES)},
                           field="measure"))
    if c.get("kind") == "score":
        w = _num(c.get("weight"))
        if w is None or w < 0:
            out.append(Problem("ratings.scheme_number", {"field": f"{where}.weight",
                               "value": c.get("weight")}, field="weight"))
    if c.get("kind") == "condition" and c.get("cap_stars") not in (1, 2, 3, 4):
        out.append(Problem("ratings.scheme_number", {"field": f"{where}.cap_stars",
                           "value": c.get("cap_stars")}, field="cap_stars"))
    if c.get("measure") == "categories" and not (c.get("params") or {}).get("categories"):
        out.append(Problem("ratings.scheme_missing", {"field": f"{where}.params.categories"},
                           field="categories"))
    return out


def _period_ok(r: Any) -> bool:
    try:
        return _when(str(r["period"][0]), 2000) < _when(str(r["period"][1]), 2000)
    except (KeyError, IndexError, TypeError, ValueError):
        return False


def _top_problems(data: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    mins = (data.get("stars") or {}).get("min_score") or {}
    vals = [_num(mins.get(k, mins.get(str(k)))) for k in (2, 3, 4, 5)]
    nums = [v for v in vals if v is not None]
    if len(nums) < 4 or nums != sorted(nums) or not 0 <= nums[0] <= nums[-1] <= 100:
        out.append(Problem("ratings.scheme_thresholds", {"values": vals}, field="stars"))
    raters = data.get("raters") or {}
    for level in LEVELS:
        r = raters.get(level)
        if not (isinstance(r, list) and len(r) == 2 and 1 <= r[0] <= r[1] <= 5):
            out.append(Problem("ratings.scheme_missing", {"field": f"raters.{level}"},
                               field="raters"))
    for code in ROUNDS:
        if not _period_ok((data.get("rounds") or {}).get(code)):
            out.append(Problem("ratings.scheme_missing", {"field": f"rounds.{code}.period"},
                               field="rounds"))
    return out


def parse(data: Any) -> Scheme:
    """A :class:`Scheme` from its mapping.

    Raises
    ------
    ValidationError
        ``ratings.bad_scheme`` with every problem found (missing fields, unknown choices,
        negative weights, thresholds out of order, duplicate codes, no score criterion).
    """
    if not isinstance(data, Mapping):
        raise ValidationError("ratings.bad_scheme", [Problem("ratings.scheme_not_mapping", {})])
    got = data.get("criteria")
    raw: list[Any] = got if isinstance(got, list) else []
    problems = _top_problems(data)
    for i, c in enumerate(raw):
        problems += (_criterion_problems(i, c) if isinstance(c, Mapping) else
                     [Problem("ratings.scheme_missing", {"field": f"criteria[{i}]"})])
    codes = [c.get("code") for c in raw if isinstance(c, Mapping)]
    problems += [Problem("ratings.scheme_duplicate", {"code": c}, field="code")
                 for c in sorted({c for c in codes if codes.count(c) > 1}, key=str)]
    if not any(isinstance(c, Mapping) and c.get("kind") == "score" and _num(c.get("weight"))
               for c in raw):
        problems.append(Problem("ratings.scheme_no_score", {}, field="criteria"))
    if problems:
        raise ValidationError("ratings.bad_scheme", problems, {"count": len(problems)})
    return _build(data, raw)


def _build(data: Mapping[str, Any], raw: list[Mapping[str, Any]]) -> Scheme:
    crit = tuple(Criterion(
        code=c["code"], name_zh=c["name_zh"], name_en=c["name_en"], kind=c["kind"],
        source=c["source"], measure=c.get("measure") if c["source"] == "measured" else None,
        weight=float(c.get("weight") or 0), cap_stars=c.get("cap_stars"),
        tag=c.get("tag", "unverified"), params=dict(c.get("params") or {})) for c in raw)
    mins = data["stars"]["min_score"]
    rounds = {k: Round(k, r.get("name_zh", k), r.get("name_en", k),
                       tuple(int(m) for m in r.get("months", ())),
                       (str(r["period"][0]), str(r["period"][1])), r.get("tag", "seed"))
              for k, r in data["rounds"].items() if k in ROUNDS}
    target = {k: float(v) for k, v in (data.get("target") or {}).items() if k != "tag"}
    return Scheme(
        name=str(data.get("name", "")), source=str(data.get("source", "")), criteria=crit,
        min_score={k: float(mins.get(k, mins.get(str(k)))) for k in (2, 3, 4, 5)},
        target=target, raters={lv: (int(data["raters"][lv][0]), int(data["raters"][lv][1]))
                               for lv in LEVELS},
        rounds=rounds,
        tags={k: str((data.get(k) or {}).get("tag", "unverified"))
              for k in ("stars", "target", "raters")})


def load_text(text: str) -> Scheme:
    """A scheme from YAML (or JSON) text (``ValidationError`` on bad YAML or content)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError("ratings.bad_scheme",
                              [Problem("ratings.scheme_yaml", {"error": str(exc)[:200]})]) from exc
    return parse(data)


def default_scheme() -> Scheme:
    """The shipped default scheme (package data)."""
    text = resources.files("gridmap").joinpath("data", DEFAULT_FILE).read_text("utf-8")
    return load_text(text)


def store(conn: Connection, year: int, scheme: Scheme, *, actor: str | None = None,
          source: str | None = None) -> int:
    """Store ``scheme`` as the scheme of ``year`` (replacing it); returns its id.

    Raises
    ------
    Conflict
        ``ratings.scheme_in_use``: a confirmed rating of that year uses the stored scheme.
    """
    from gridmap.errors import Conflict

    used = conn.execute(sa.text(
        "SELECT count(*) FROM rating r JOIN rating_scheme s ON s.id = r.scheme_id "
        "WHERE s.year = :y AND r.status = 'confirmed'"), {"y": year}).scalar_one()
    if used:
        raise Conflict("ratings.scheme_in_use", {"year": year, "count": int(used)})
    body = json.dumps(scheme.as_dict(), ensure_ascii=False)
    return int(conn.execute(sa.text(
        "INSERT INTO rating_scheme (year, name, body, source, imported_by) "
        "VALUES (:y, :n, CAST(:b AS jsonb), :s, :a) ON CONFLICT (year) DO UPDATE SET "
        "name = EXCLUDED.name, body = EXCLUDED.body, source = EXCLUDED.source, "
        "imported_by = EXCLUDED.imported_by, imported_at = now() RETURNING id"),
        {"y": year, "n": scheme.name, "b": body, "s": source or scheme.source, "a": actor},
    ).scalar_one())


def scheme_for(conn: Connection, year: int, *, create: bool = False) -> tuple[int | None, Scheme]:
    """The stored scheme of ``year`` and its id; without one the shipped default (id ``None``,
    or stored for that year when ``create``)."""
    row = conn.execute(sa.text("SELECT id, body FROM rating_scheme WHERE year = :y"),
                       {"y": year}).first()
    if row is not None:
        return int(row[0]), parse(row[1])
    scheme = default_scheme()
    if not create:
        return None, scheme
    return store(conn, year, scheme, actor="gridmap", source="default"), scheme


def scheme_by_id(conn: Connection, scheme_id: int) -> Scheme:
    """The stored scheme ``scheme_id``."""
    body = conn.execute(sa.text("SELECT body FROM rating_scheme WHERE id = :i"),
                        {"i": scheme_id}).scalar_one_or_none()
    if body is None:
        raise NotFound("ratings.scheme_not_found", {"id": scheme_id})
    return parse(body)


def check_categories(conn: Connection, scheme: Scheme) -> None:
    """Raise ``ratings.bad_scheme`` for event-category codes of ``categories`` criteria that
    are not in the catalogue (every unknown code at once)."""
    known = {str(r[0]) for r in conn.execute(sa.text("SELECT code FROM event_category"))}
    problems = [Problem("ratings.scheme_unknown_category", {"criterion": c.code, "code": k},
                        field="categories")
                for c in scheme.criteria if c.measure == "categories"
                for k in c.params.get("categories", []) if str(k) not in known]
    if problems:
        raise ValidationError("ratings.bad_scheme", problems, {"count": len(problems)})
