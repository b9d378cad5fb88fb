"""``gridmap import …`` and ``gridmap export …``: boundary files in, levels out."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gridmap import messages
from gridmap.cli.app import AppContext, current_lang, main, pass_app, report_errors
from gridmap.errors import ValidationError


@main.group("import")
def import_() -> None:
    """Import boundaries, OSM extracts, incidents and catalogues (validated, all-or-nothing)."""


class TerminalProgress:
    """Renders :class:`gridmap.imports.boundaries.Progress` calls on stderr when it is a terminal."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._stage: str | None = None
        self._started = time.monotonic()
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if stage != self._stage:
            if self._stage is not None:
                click.echo("", err=True)
            self._stage, self._started, self._last = stage, now, 0.0
        finished = total is not None and done >= total
        if not finished and now - self._last < 0.2:
            return
        self._last = now
        elapsed = max(now - self._started, 1e-6)
        of = f"/{total}" if total is not None else ""
        click.echo(f"\r{stage:>9}: {done}{of} rows, {done / elapsed:,.0f} rows/s  ", err=True,
                   nl=False)

    def close(self) -> None:
        if self.enabled and self._stage is not None:
            click.echo("", err=True)


def _parse_region(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    try:
        parts = tuple(float(v) for v in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or parts[0] >= parts[2] or parts[1] >= parts[3]:
        raise ValidationError("imports.bad_region_option", params={"value": value})
    return (parts[0], parts[1], parts[2], parts[3])


# Column options: attribute → (flag, default); together they make one FieldMap.
_FIELD_FLAGS = {"code": "code", "name": "name", "parent": "parent_code",
                "households": "households", "residents": "residents", "levels": "levels"}


def field_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--code-field`` … ``--levels-field`` and ``--layer``; the command receives them
    as one mapping ``fields`` (the keyword arguments of ``FieldMap``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fields = {key: kwargs.pop(f"{key}_field") for key in _FIELD_FLAGS}
        fields["layer"] = kwargs.pop("layer")
        return func(*args, fields=fields, **kwargs)

    command = click.option("--layer", help="Layer of a multi-layer file (GeoPackage).")(wrapper)
    for key, default in reversed(_FIELD_FLAGS.items()):
        command = click.option(f"--{key}-field", default=default, show_default=True,
                               help=f"Column holding the {key.replace('_', ' ')}.")(command)
    return command


def check_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the validation and write options; the command receives them as one mapping
    ``checks`` (the keyword arguments of ``IngestParams``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        checks = {"synthetic": kwargs.pop("synthetic"), "on_existing": kwargs.pop("on_existing"),
                  "region": _parse_region(kwargs.pop("region")),
                  "outside_parent_ratio": kwargs.pop("outside_tolerance"),
                  "outside_parent_min_m2": kwargs.pop("outside_min_m2")}
        return func(*args, checks=checks, **kwargs)

    options = [
        click.option("--synthetic", is_flag=True, help="Mark rows as synthetic (generated)"
                     " data; unknown codes become warnings."),
        click.option("--on-existing", type=click.Choice(["update", "skip", "error"]),
                     default="update", show_default=True,
                     help="What to do with codes already in the database."),
        click.option("--region", help="Expected bbox lon_min,lat_min,lon_max,lat_max (default:"
                     " extent of the boundaries in the database ± 0.5°, or China when empty)."),
        click.option("--outside-tolerance", type=float, default=0.01, show_default=True,
                     help="Share of its area a street/community may lie outside its parent."),
        click.option("--outside-min-m2", type=float, default=50.0, show_default=True,
                     help="Area outside the parent always tolerated, in m²."),
    ]
    command: Callable[..., Any] = wrapper
    for option in reversed(options):
        command = option(command)
    return command


@import_.command("boundaries")
@click.argument("level", type=click.Choice(["district", "street", "community", "estate",
                                             "building"]))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--crs", help="CRS of the file when it declares none, e.g. EPSG:4326 or EPSG:4549.")
@click.option("--coords", type=click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"]),
              default="wgs84", show_default=True,
              help="Lon/lat system of the data; gcj02/bd09 are converted to WGS84 explicitly.")
@click.option("--dry-run", is_flag=True, help="Validate and print the report; write nothing.")
@pass_app
@report_errors
@field_options
@check_options
def boundaries(
    app: AppContext, level: str, file: Path, crs: str | None, coords: str, dry_run: bool,
    fields: dict[str, Any], checks: dict[str, Any],
) -> None:
    """Import LEVEL boundaries from FILE (.geojson, .gpkg, zipped .shp, .csv).

    Every problem is reported at once; with any error nothing is written (exit code 1).
    Existing codes are updated in place (see --on-existing).
    """
    from gridmap.imports import boundaries

    params = boundaries.IngestParams(**checks, source=file.name, actor="cli")
    progress = TerminalProgress()
    try:
        with app.transaction() as conn:
            report = boundaries.import_boundaries(
                conn, file, level=level, crs=crs, coords=coords,
                fields=boundaries.FieldMap(**fields), params=params,
                max_bytes=app.settings.max_upload_bytes, dry_run=dry_run, progress=progress)
    finally:
        progress.close()
    for line in report.summary_lines():
        click.echo(line)


@import_.command("catalogue")
@click.argument("kind", type=click.Choice(["facility-types", "event-categories",
                                           "work-calendar", "divisions"]))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and count; write nothing.")
@click.option("--replace-years", is_flag=True,
              help="work-calendar: the file is the whole calendar of the years it covers.")
@click.option("--sheet", help="Workbook sheet name or 0-based index (default first).")
@click.option("--encoding", help="Text encoding (default detected).")
@click.option("--separator", help="Field separator (default detected).")
@click.option("--map", "profile", help="Import profile renaming the file's columns/values to "
              "the catalogue's (YAML/TOML/JSON; see docs/office-data.md).")
@pass_app
@report_errors
def catalogue_cmd(app: AppContext, kind: str, file: Path, dry_run: bool,
                  replace_years: bool, sheet: str | None, encoding: str | None,
                  separator: str | None, profile: str | None) -> None:
    """Replace or extend a reference catalogue (facility radii, event categories and time
    limits, holidays) with the city's own CSV or workbook; same columns as the files in
    data/geo/. `divisions`: statistical division codes of any province (code, name[, parent];
    e.g. china-division's areas/streets/villages files). Stored values survive later
    `gridmap db migrate` runs."""
    from gridmap.imports.catalogues import import_catalogue_file
    from gridmap.imports.profiles import load_profile

    prof = load_profile(profile) if profile else None
    with app.transaction() as conn:
        rep = import_catalogue_file(conn, kind, file, dry_run=dry_run,
                                    replace_years=replace_years, sheet=sheet,
                                    encoding=encoding, separator=separator, profile=prof)
    verb = "dry run: would add" if dry_run else "added"
    click.echo(f"{kind}: {rep['rows']} row(s) read; {verb} {rep['inserted']}, updated "
               f"{rep['updated']}, removed {rep['removed']}")
    if kind == "facility-types" and not dry_run:
        click.echo("run `gridmap coverage refresh` to recompute coverage with the new radii")


@main.command("export")
@click.argument("level", type=click.Choice(["district", "street", "community", "estate",
                                             "building", "facility", "grid", "category-map"]))
@click.argument("file", type=click.Path(path_type=Path))
@pass_app
@report_errors
def export(app: AppContext, level: str, file: Path) -> None:
    """Write LEVEL to FILE (.gpkg or .geojson, EPSG:4326), readable by QGIS and re-importable.
    ``category-map``: the stored category mapping as CSV (external, code, name_zh)."""
    from gridmap.imports.export import export_level

    if level == "category-map":
        from gridmap.imports.category_map import export_category_map

        with app.engine.connect() as conn:
            n = export_category_map(conn, file)
        click.echo(messages.render("tables.cli.category_map_exported",
                                   {"n": n, "path": str(file)}, current_lang()))
        return

    with app.transaction() as conn:
        count = export_level(conn, level, file)
    click.echo(f"exported {count} {level} row(s) to {file}")
