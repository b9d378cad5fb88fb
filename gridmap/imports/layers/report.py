"""Parameters and reports of the layer imports (buildings, streets, estates, facilities,
population). Reports hold counts and problems only; the CLI words them from the ``layers``
message catalogue in the user's language."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from gridmap.config import Settings
from gridmap.errors import Problem
from gridmap.imports.population import PopulationParams

MERGE_MODES = ("key", "replace")
MATCH_COLUMNS = ("code", "osm_id")


@dataclass(frozen=True)
class LayerImportParams:
    """How a survey layer merges with what is stored.

    Attributes
    ----------
    source:
        Recorded in ``source`` of every written row (default: the file name).
    merge:
        ``key``: rows update the stored row with the same key in place (ids kept), others
        are inserted; ``replace``: stored rows within the file's extent are replaced (a
        stored building or estate overlapping a new one by ``successor_iou`` keeps its id).
    match:
        What the key is compared with: ``code`` (``ext_key`` for streets) or ``osm_id``
        (``way/123`` or ``123``: update what OSM brought).
    population_date:
        Date of the figures of the file (households, residents).
    all_residential:
        Buildings of a file without a use column count as residential.
    successor_iou:
        Overlap (intersection over union) from which a new geometry succeeds a stored one.
    """

    source: str | None = None
    merge: str = "key"
    match: str = "code"
    population_date: dt.date | None = None
    all_residential: bool = False
    successor_iou: float = 0.5
    population: PopulationParams = field(default_factory=PopulationParams)
    actor: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> LayerImportParams:
        """Parameters with the population factors of ``settings`` plus explicit values."""
        return cls(population=PopulationParams.from_settings(settings), **overrides)


@dataclass
class LayerReport:
    """What a layer import read, wrote and refused (counts per outcome)."""

    kind: str
    source: str
    dry_run: bool
    import_id: int | None = None
    layer: str | None = None
    source_crs: str = ""
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    """Kind-specific counts (road classes, facility types, population figures …)."""
    unmatched: dict[str, int] = field(default_factory=dict)
    """Values nothing matched, with their number of rows (types, names)."""
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    """Names that matched several objects, with the candidates."""
    warnings: list[Problem] = field(default_factory=list)
    network: dict[str, Any] | None = None
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored in ``import_run.report``)."""
        out = asdict(self)
        out["warnings"] = [p.as_dict() for p in self.warnings]
        return out
