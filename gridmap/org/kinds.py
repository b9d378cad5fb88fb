"""The catalogue of unit kinds (街道, 居委会/社区, 城管中队, 房管所 …) as data.

The packaged catalogue is ``gridmap/data/org_unit_kinds.csv`` (code, zh and en names, the
default line 块/条 and level, and aliases a spreadsheet may use instead of the code). A
deployment replaces it with its own file (``Settings.org_unit_kinds``, env
``GRIDMAP_ORG_UNIT_KINDS``): :func:`load_kinds` reads and validates either.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gridmap.config import Settings
from gridmap.errors import Problem, ValidationError

LINES: tuple[str, ...] = ("kuai", "tiao")
"""块 (an area unit: street, community) and 条 (a line department)."""
LEVELS: tuple[str, ...] = ("district", "street", "community", "grid")
LINE_ALIASES: Mapping[str, str] = {"块": "kuai", "条": "tiao", "kuai": "kuai", "tiao": "tiao"}
LEVEL_ALIASES: Mapping[str, str] = {
    "区": "district", "街道": "street", "街镇": "street", "社区": "community",
    "居委会": "community", "网格": "grid", **{lv: lv for lv in LEVELS}}
_COLUMNS = ("code", "name_zh", "name_en", "line", "level")


@dataclass(frozen=True)
class UnitKind:
    """One kind of unit: its code, names, default line and level, and aliases."""

    code: str
    zh: str
    en: str
    line: str
    level: str
    aliases: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        """The name in ``lang`` (zh or en)."""
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Kinds:
    """A catalogue of unit kinds, looked up by code, Chinese name or alias."""

    kinds: tuple[UnitKind, ...]

    def codes(self) -> tuple[str, ...]:
        """Every kind code, in catalogue order."""
        return tuple(k.code for k in self.kinds)

    def get(self, code: str) -> UnitKind | None:
        """The kind with this code, name (zh/en) or alias; ``None`` if unknown."""
        key = code.strip()
        for k in self.kinds:
            if key in (k.code, k.zh, k.en) or key in k.aliases:
                return k
        return None


def parse_kinds(rows: Iterable[Mapping[str, str]], source: str) -> Kinds:
    """Build a catalogue from CSV rows, validating every row (all problems at once)."""
    problems: list[Problem] = []
    out: list[UnitKind] = []
    seen: set[str] = set()
    for i, row in enumerate(rows, start=2):
        missing = [c for c in _COLUMNS if not (row.get(c) or "").strip()]
        for col in missing:
            problems.append(Problem("org.kinds_missing_value", {"column": col}, row=i,
                                    field=col))
        if missing:
            continue
        code, line, level = row["code"].strip(), row["line"].strip(), row["level"].strip()
        if line not in LINES:
            problems.append(Problem("org.bad_line", {"value": line}, row=i, field="line"))
        if level not in LEVELS:
            problems.append(Problem("org.bad_level", {"value": level}, row=i, field="level"))
        if code in seen:
            problems.append(Problem("org.kinds_duplicate", {"code": code}, row=i, field="code"))
        seen.add(code)
        aliases = tuple(a.strip() for a in (row.get("aliases") or "").split(";") if a.strip())
        out.append(UnitKind(code, row["name_zh"].strip(), row["name_en"].strip(), line, level,
                            aliases))
    if problems:
        raise ValidationError("org.kinds_invalid", problems, {"source": source})
    return Kinds(tuple(out))


def load_kinds(path: Path | str | None = None) -> Kinds:
    """The unit-kind catalogue: ``path`` if given (a deployment's own), else the packaged one."""
    if path:
        text = Path(path).read_text(encoding="utf-8-sig")
        source = str(path)
    else:
        text = resources.files("gridmap").joinpath("data", "org_unit_kinds.csv").read_text(
            encoding="utf-8")
        source = "org_unit_kinds.csv"
    return parse_kinds(csv.DictReader(io.StringIO(text)), source)


DEFAULT_KINDS: Kinds = load_kinds()
"""The packaged catalogue (used when a caller passes no catalogue of its own)."""


def kinds_from_settings(settings: Settings) -> Kinds:
    """The catalogue a deployment configured (``Settings.org_unit_kinds``), else the default."""
    return load_kinds(settings.org_unit_kinds) if settings.org_unit_kinds else DEFAULT_KINDS
