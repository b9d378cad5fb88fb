"""The outcome of a boundary import: :class:`ImportReport` and :class:`ImportRefused`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gridmap.errors import Problem, ValidationError
from gridmap.imports.levels import level_code


@dataclass
class ImportReport:
    """Outcome of a validation or import; ``problems`` lists every problem found."""

    level: str
    source_file: str | None = None
    source_crs: str | None = None
    rows_read: int = 0
    rows_valid: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    repaired: int = 0
    dropped: int = 0
    unlinked: int = 0
    linked: dict[str, int] = field(default_factory=dict)
    """Rows of other levels linked to the imported ones where their link was missing
    (:mod:`gridmap.linking`), e.g. buildings imported before their community."""
    region: tuple[float, float, float, float] | None = None
    region_source: str | None = None
    dry_run: bool = False
    import_id: int | None = None
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """Problems that block the import."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems reported but allowed."""
        return [p for p in self.problems if p.severity != "error"]

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored in ``import_run.report``)."""
        return {
            "level": self.level, "source_file": self.source_file,
            "source_crs": self.source_crs, "rows_read": self.rows_read,
            "rows_valid": self.rows_valid, "inserted": self.inserted,
            "updated": self.updated, "unchanged": self.unchanged, "skipped": self.skipped,
            "repaired": self.repaired, "dropped": self.dropped, "unlinked": self.unlinked,
            "linked": dict(self.linked),
            "region": list(self.region) if self.region else None,
            "region_source": self.region_source, "dry_run": self.dry_run,
            "import_id": self.import_id, "seconds": round(self.seconds, 3),
            "problems": [p.as_dict() for p in self.problems],
        }

    def summary_lines(self) -> list[str]:
        """Human-readable report lines (English; the CLI prints them)."""
        head = "dry run (nothing written)" if self.dry_run else f"import #{self.import_id}"
        lines = [
            f"{head}: {self.level} from {self.source_file or '<data frame>'}"
            f" [{self.source_crs or '?'}]",
            f"  rows read {self.rows_read}, valid {self.rows_valid}, "
            f"repaired {self.repaired}, dropped {self.dropped}",
            f"  {'would insert' if self.dry_run else 'inserted'} {self.inserted}, "
            f"{'would update' if self.dry_run else 'updated'} {self.updated}, "
            f"unchanged {self.unchanged}, skipped {self.skipped}",
        ]
        if self.level in ("estate", "building"):
            unit = "community" if self.level == "building" else "containing community"
            lines.append(f"  without a {unit} {self.unlinked}")
        if self.linked:
            lines.append("  linked where missing: " + ", ".join(
                f"{n} {table}(s)" for table, n in self.linked.items()))
        if self.region:
            x0, y0, x1, y1 = self.region
            lines.append(f"  region checked: lon {x0:.3f}..{x1:.3f}, lat {y0:.3f}..{y1:.3f}"
                         f" ({self.region_source})")
        lines.append(f"  {len(self.errors)} error(s), {len(self.warnings)} warning(s),"
                     f" {self.seconds:.2f} s")
        lines.extend(f"  - [{p.severity}] {p}" for p in self.problems)
        return lines


class ImportRefused(ValidationError):
    """Validation found errors; nothing was written. ``report`` holds the full report."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(level_code("imports.refused", report.level), report.problems,
                         {"n": len(report.errors)})
