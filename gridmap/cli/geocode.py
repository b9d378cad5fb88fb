"""``gridmap import addresses FILE`` (the standard address register) and ``gridmap geocode FILE``.

Thin callers of :mod:`gridmap.geocode`: tables are read through ``gridmap.imports.tables``
(with an optional ``--map`` profile), vector layers and OSM extracts through
:mod:`gridmap.geocode.files` / :mod:`gridmap.geocode.derive`.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from gridmap import messages
from gridmap.cli.app import AppContext, current_lang, main, pass_app, report_errors, say
from gridmap.cli.ingest import import_
from gridmap.errors import ValidationError
from gridmap.geocode import derive, files, match, register
from gridmap.imports.profiles import apply_profile, load_profile
from gridmap.imports.tables import read_table

_FIELDS = ("address", "lon", "lat", "building_id")
_COORDS = click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"])


def _read(file: Path, profile: str | None, sheet: str | None, encoding: str | None,
          separator: str | None, column: str | None, coords: str | None) -> pd.DataFrame:
    """Register rows of any supported file (address, lon, lat, building_id)."""
    suffix = file.suffix.lower()
    if not file.exists():
        raise ValidationError("geocode.file_not_found", params={"path": str(file)})
    if suffix in files.OSM_SUFFIXES:
        return derive.read_osm_addresses(file)
    if suffix in files.VECTOR_SUFFIXES:
        return files.read_vector_addresses(file, column=column, coords=coords or "wgs84")
    prof = load_profile(profile) if profile else None
    table = read_table(file, sheet=sheet if sheet is not None else (prof.sheet if prof else None),
                       encoding=encoding or (prof.encoding if prof else None),
                       separator=separator or (prof.separator if prof else None))
    if prof is not None:
        frame, problems = apply_profile(table, prof, _FIELDS, required=("address",))
        if problems:
            raise ValidationError("geocode.register_invalid", problems, {"n": len(problems)})
        return files.address_frame(frame, coords=coords or prof.coords)
    return files.address_frame(table.frame, column=column, coords=coords or "wgs84")


def _reading_options(func: click.decorators.FC) -> click.decorators.FC:
    for opt in reversed([
        click.option("--map", "profile", help="Import profile (YAML/TOML/JSON file or "
                     "built-in name) naming the address/lon/lat/building_id columns."),
        click.option("--sheet", help="Workbook sheet name (default first)."),
        click.option("--encoding", help="Text encoding (default detected)."),
        click.option("--separator", help="Field separator (default detected)."),
        click.option("--column", help="The address column (default: a recognised header "
                     "such as 地址, 标准地址, address)."),
        click.option("--coords", type=_COORDS, help="Lon/lat system of the file (default: the "
                     "profile's, else wgs84; GCJ-02/BD-09 converted to WGS84)."),
    ]):
        func = opt(func)
    return func


@import_.command("addresses")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@_reading_options
@click.option("--source", help="Register source name (default: the file name).")
@click.option("--from-data", is_flag=True, help="Also derive entries from the data in gridmap "
              "(named buildings, 小区, facilities, roads, communities, streets).")
@click.option("--retire-missing", is_flag=True, help="Retire this source's current entries "
              "that are not in FILE (a full register file).")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--actor", default="cli", show_default=True)
@pass_app
@report_errors
def import_addresses(app: AppContext, file: Path | None, profile: str | None,
                     sheet: str | None, encoding: str | None, separator: str | None,
                     column: str | None, coords: str | None, source: str | None,
                     from_data: bool,
                     retire_missing: bool, dry_run: bool, actor: str) -> None:
    """Load the standard address register (标准地址库) from FILE (CSV/Excel/GeoJSON/GPKG/
    SHP/OSM: address text with a point or a building id), versioned per source."""
    if file is None and not from_data:
        raise ValidationError("geocode.nothing_to_import")
    with app.transaction() as conn:
        if file is not None:
            frame = _read(file, profile, sheet, encoding, separator, column, coords)
            report = register.import_addresses(
                conn, frame, source=source or file.name, actor=actor, dry_run=dry_run,
                retire_missing=retire_missing, source_file=file.name)
            say("geocode.cli.imported", report)
        if from_data:
            with conn.begin_nested() as sp:
                for group, counts in derive.derive_entries(conn, actor=actor).items():
                    say("geocode.cli.derived", {"group": group, **counts})
                if dry_run:
                    sp.rollback()


@main.command("geocode")
@click.argument("file", type=click.Path(path_type=Path))
@_reading_options
@click.option("--out", type=click.Path(path_type=Path),
              help="Write here instead of back into FILE.")
@pass_app
@report_errors
def geocode_file(app: AppContext, file: Path, profile: str | None, sheet: str | None,
                 encoding: str | None, separator: str | None, column: str | None,
                 coords: str | None, out: Path | None) -> None:
    """Geocode the addresses of FILE against the register; write it back with
    geocode_level, geocode_score, geocode_status, geocode_reason, geocode_lon/lat."""
    if not file.exists():
        raise ValidationError("geocode.file_not_found", params={"path": str(file)})
    table = read_table(file, sheet=sheet, encoding=encoding, separator=separator)
    if profile:
        mapped, problems = apply_profile(table, load_profile(profile), ("address",),
                                         required=("address",))
        if problems:
            raise ValidationError("geocode.register_invalid", problems, {"n": len(problems)})
        addresses = mapped["address"]
    else:
        frame = files.address_frame(table.frame, column=column)
        if frame["address"].isna().all():
            raise ValidationError("geocode.no_address_column", params={
                "file": file.name, "columns": [str(c) for c in table.frame.columns]})
        addresses = frame["address"]
    with app.transaction() as conn:
        idx = register.load_index(conn)
    result = match.geocode(idx, addresses.fillna("").astype(str).tolist(),
                           match.MatchParams.from_settings(app.settings))
    lang = current_lang()
    added = files.geocoded_columns(result, lambda c: messages.render(c, None, lang))
    files.write_back(pd.concat([table.frame.reset_index(drop=True), added], axis=1),
                     out or file, sheet=table.sheet)
    counts = result["status"].value_counts()
    say("geocode.cli.geocoded", {"n": len(result), "auto": int(counts.get("auto", 0)),
                                 "review": int(counts.get("review", 0)),
                                 "unmatched": int(counts.get("unmatched", 0)),
                                 "path": str(out or file)})
