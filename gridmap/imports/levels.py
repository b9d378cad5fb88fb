"""Boundary levels (district … building), their tables and the import parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gridmap.errors import ValidationError
from gridmap.reference import codes

Level = Literal["district", "street", "community", "estate", "building"]
LEVELS: tuple[str, ...] = ("district", "street", "community", "estate", "building")
CODED_LEVELS = codes.CODE_LENGTH
"""Levels whose code is a statistical division code (6/9/12 digits), mandatory."""
PARENT_LEVEL = {"street": "district", "community": "street"}
OnExisting = Literal["update", "skip", "error"]

TABLES = {"district": "district", "street": "street", "community": "community",
          "estate": "estate", "building": "building"}
"""Table of each level; table names are interpolated into SQL only from this closed mapping."""


@dataclass(frozen=True)
class IngestParams:
    """Validation and write parameters (defaults documented in docs/ingest.md).

    Parameters
    ----------
    region:
        Expected bbox ``(lon_min, lat_min, lon_max, lat_max)``; when ``None`` it is the
        extent of the boundaries already in the database widened by
        ``region_margin_deg``, or the China rectangle of ``gridmap.crs`` if there are none.
    outside_parent_ratio, outside_parent_min_m2:
        A street/community may stick out of its parent by up to
        ``max(ratio × own area, min_m2)`` square metres (digitising slivers); more is an error.
    on_existing:
        What to do with a code already in the database: ``update`` (default: replace
        name/geometry/attributes if they differ), ``skip`` (keep the stored row) or
        ``error`` (report it as a duplicate and refuse the import).
    synthetic:
        Mark the imported rows as synthetic (generated, not official) data.
    source:
        Text stored in the ``source`` column (defaults to the file name).
    actor:
        Who ran the import (stored in ``import_run.actor``).
    """

    region: tuple[float, float, float, float] | None = None
    region_margin_deg: float = 0.5
    outside_parent_ratio: float = 0.01
    outside_parent_min_m2: float = 50.0
    on_existing: OnExisting = "update"
    synthetic: bool = False
    source: str | None = None
    actor: str | None = None


DEFAULT_PARAMS = IngestParams()
"""The default parameters (a shared default argument)."""


def check_level(level: str) -> None:
    """Refuse a level that is not one of :data:`LEVELS`.

    Raises
    ------
    ValidationError
        ``imports.unknown_level``.
    """
    if level not in LEVELS:
        raise ValidationError("imports.unknown_level", params={"level": level, "levels": LEVELS})


def level_code(stem: str, level: str) -> str:
    """The message code of ``stem`` for ``level``: ``imports.code_missing.street``.

    Messages naming a level have one code per level, so that each language words the
    level itself (``street code is missing`` / ``街道代码缺失``).
    """
    return f"{stem}.{level}"
