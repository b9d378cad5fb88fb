"""Parameters and report of an OSM import."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gridmap.config import Settings
from gridmap.imports.blocks import BlockParams
from gridmap.imports.population import PopulationParams

ATTRIBUTION = "Data © OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"


@dataclass(frozen=True)
class OsmImportParams:
    """Parameters of an OSM import (defaults from Settings where they exist).

    Attributes
    ----------
    population:
        Factors of the resident estimate.
    blocks:
        How street blocks are derived.
    unknown_school_level_counts_both:
        ``amenity=school`` without ``isced:level`` counts as both primary and junior school.
    name_required_types:
        Facility types whose OSM tags are too generic (a restaurant is not a community
        canteen): a POI counts for them only when its name matches the type's name_hint.
    max_named_area_m2:
        ``place=neighbourhood|quarter`` polygons larger than this are not taken as estates.
    max_file_bytes:
        Larger files are refused (None = no limit).
    actor:
        Recorded in ``import_run.actor``.
    """

    population: PopulationParams = field(default_factory=PopulationParams)
    blocks: BlockParams = field(default_factory=BlockParams)
    unknown_school_level_counts_both: bool = Settings.osm_unknown_school_level_counts_both
    name_required_types: frozenset[str] = frozenset({"community_canteen"})
    max_named_area_m2: float = 500_000.0
    max_file_bytes: int | None = None
    actor: str | None = None
    update_existing: bool = False
    """Objects already stored (same OSM id) whose tags or geometry changed are updated in
    place (ids kept, so incidents and grid members keep pointing at them); otherwise they are
    left alone and only counted as ``changed_existing``."""

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> OsmImportParams:
        """Parameters from a :class:`~gridmap.config.Settings` plus explicit overrides."""
        values: dict[str, Any] = {
            "population": PopulationParams.from_settings(settings),
            "unknown_school_level_counts_both": settings.osm_unknown_school_level_counts_both,
            # not a Settings field: only set through Settings(extra=…) or an override
            "max_file_bytes": getattr(settings, "max_osm_bytes", None),
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class OsmImportReport:
    """What an OSM import read, wrote, repaired and dropped."""

    source: str
    dry_run: bool
    import_id: int | None = None
    read: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)
    skipped_existing: dict[str, int] = field(default_factory=dict)
    changed_existing: dict[str, int] = field(default_factory=dict)
    """Stored objects whose OSM tags or geometry differ from this file."""
    updated: dict[str, int] = field(default_factory=dict)
    """Of those, updated in place (``update_existing``)."""
    repaired: list[dict[str, str]] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    facilities_by_type: dict[str, int] = field(default_factory=dict)
    estates_by_origin: dict[str, int] = field(default_factory=dict)
    estimated_buildings: int = 0
    estimated_residents: int = 0
    estimated_households: int = 0
    residential_without_estate: int = 0
    metric_crs: str = ""
    notes: list[str] = field(default_factory=list)
    attribution: str = ATTRIBUTION
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored in ``import_run.report``)."""
        return asdict(self)

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        out = [f"OSM import of {self.source}" + (" (dry run: nothing written)" if self.dry_run
                                                 else f" (import run {self.import_id})")]
        out.append("read: " + ", ".join(f"{k} {v}" for k, v in self.read.items())
                   + f" (before dropping {len(self.dropped)})")
        out.append(("would insert: " if self.dry_run else "inserted: ")
                   + ", ".join(f"{k} {v}" for k, v in self.inserted.items()))
        if any(self.skipped_existing.values()):
            out.append("already present (skipped): " + ", ".join(
                f"{k} {v}" for k, v in self.skipped_existing.items() if v))
        if any(self.updated.values()):
            out.append("updated in place: " + ", ".join(
                f"{k} {v}" for k, v in self.updated.items() if v)
                + " (then run `gridmap network build` and `gridmap coverage refresh`)")
        elif any(self.changed_existing.values()):
            out.append("changed since the stored version (left alone; --update applies them): "
                       + ", ".join(f"{k} {v}" for k, v in self.changed_existing.items() if v))
        out.append(f"repaired geometries: {len(self.repaired)}"
                   + _ids_suffix(self.repaired))
        out.append(f"dropped geometries: {len(self.dropped)}" + _ids_suffix(self.dropped))
        out.append(f"estimated population: {self.estimated_buildings} residential buildings, "
                   f"{self.estimated_residents} residents, {self.estimated_households} households"
                   " (population_source=estimated)")
        if self.estates_by_origin:
            out.append("estates by origin: " + ", ".join(
                f"{k} {v}" for k, v in self.estates_by_origin.items()))
        if self.facilities_by_type:
            out.append("facilities by type: " + ", ".join(
                f"{k} {v}" for k, v in sorted(self.facilities_by_type.items())))
        out.extend(f"note: {n}" for n in self.notes)
        out.append(self.attribution)
        return out


def _ids_suffix(items: list[dict[str, str]], limit: int = 8) -> str:
    if not items:
        return ""
    ids = [f"{i['osm_id']} ({i['reason']})" for i in items[:limit]]
    more = f", +{len(items) - limit} more" if len(items) > limit else ""
    return ": " + "; ".join(ids) + more
