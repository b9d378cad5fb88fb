"""``gridmap import buildings|streets|estates|facilities|population FILE``: a street office's
own layers, merged with what OSM brought. Every command takes ``--dry-run`` and ``--map``;
reports are worded from the ``layers`` catalogue in ``GRIDMAP_LANG``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from gridmap.cli.app import AppContext, pass_app, report_errors, say
from gridmap.cli.ingest import TerminalProgress, import_
from gridmap.errors import ValidationError

_COORDS = click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"])


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError("layers.bad_date_option", params={"value": value}) from None


def _print_report(rep: Any) -> None:
    head = "layers.report.dry_run" if rep.dry_run else "layers.report.head"
    say(head, {"kind": rep.kind, "source": rep.source, "run": rep.import_id,
               "layer": rep.layer or "-", "crs": rep.source_crs or "-"})
    say("layers.report.rows", {"read": rep.rows_read, "inserted": rep.inserted,
                               "updated": rep.updated, "unchanged": rep.unchanged,
                               "removed": rep.removed})
    if rep.counts:
        say("layers.report.counts", {"counts": ", ".join(
            f"{k} {v}" for k, v in sorted(rep.counts.items()))})
    if rep.unmatched:
        say("layers.report.unmatched", {"count": len(rep.unmatched), "values": "; ".join(
            f"{k} ×{v}" for k, v in sorted(rep.unmatched.items(), key=lambda kv: -kv[1]))})
    if rep.ambiguous:
        say("layers.report.ambiguous", {"count": len(rep.ambiguous), "values": "; ".join(
            f"{k} → {' / '.join(v)}" for k, v in sorted(rep.ambiguous.items()))})
    for p in rep.warnings:
        say("layers.report.warning", {"text": p.describe(_lang())})
    if rep.network:
        say("layers.report.network", rep.network)


def _lang() -> str:
    from gridmap.cli.app import current_lang

    return current_lang()


def _layer_command(kind: str) -> Any:
    @import_.command(kind)
    @click.argument("file", type=click.Path(path_type=Path))
    @click.option("--map", "profile", help="Column profile (YAML/TOML/JSON) on top of the "
                  "built-in Chinese survey/OSMnx headers.")
    @click.option("--crs", help="CRS when the file declares none, e.g. EPSG:4490 or EPSG:4548.")
    @click.option("--coords", type=_COORDS, default="wgs84", show_default=True,
                  help="Lon/lat system; gcj02/bd09 are converted to WGS84.")
    @click.option("--layer", help="Layer of a GeoPackage (default: by name, e.g. OSMnx 'edges').")
    @click.option("--merge", type=click.Choice(["key", "replace"]), default="key",
                  show_default=True, help="key: update rows with the same key in place, insert "
                  "the rest; replace: replace what is stored within the file's extent.")
    @click.option("--match", type=click.Choice(["code", "osm_id"]), default="code",
                  show_default=True, help="What the file's key is compared with.")
    @click.option("--source", help="Source name recorded per row (default: the file name).")
    @click.option("--date", "date_", help="Date of the file's figures (YYYY-MM-DD).")
    @click.option("--all-residential", is_flag=True,
                  help="Buildings: without a use column, every building is residential.")
    @click.option("--rebuild-network", is_flag=True,
                  help="Streets: rebuild the walking network in the same transaction.")
    @click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
    @pass_app
    @report_errors
    def command(app: AppContext, file: Path, profile: str | None, crs: str | None,
                coords: str, layer: str | None, merge: str, match: str, source: str | None,
                date_: str | None, all_residential: bool, rebuild_network: bool,
                dry_run: bool) -> None:
        from gridmap.imports.layers.report import LayerImportParams
        from gridmap.imports.layers.survey import import_layer

        params = LayerImportParams.from_settings(
            app.settings, source=source, merge=merge, match=match, actor="cli",
            population_date=_date(date_), all_residential=all_residential)
        progress = TerminalProgress()
        try:
            with app.transaction() as conn:
                rep = import_layer(conn, file, kind, crs=crs, coords=coords, layer=layer,
                                   profile=profile, params=params, dry_run=dry_run,
                                   max_bytes=app.settings.max_upload_bytes, progress=progress)
                if rebuild_network and kind == "streets" and not dry_run:
                    from gridmap.access import network

                    built = network.build_network(conn)
                    rep.network = {"edges": built.edges, "nodes": built.nodes,
                                   "km": round(built.total_length_m / 1000, 1)}
        finally:
            progress.close()
        _print_report(rep)

    command.__doc__ = (f"Import {kind} from FILE (zipped Shapefile, GeoPackage, GeoJSON, CSV/XLSX "
                       "with WKT), any CRS, merged with what OSM brought.")
    return command


for _kind in ("buildings", "streets", "estates"):
    _layer_command(_kind)


@import_.command("facilities")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--map", "profile", help="Column profile (YAML/TOML/JSON); values.type or "
              "values.typecode may map Amap types/codes to catalogue codes.")
@click.option("--coords", type=_COORDS, help="Lon/lat system of the file (Amap: gcj02, Baidu: "
              "bd09); default the profile's, else wgs84.")
@click.option("--source", help="Source name kept per row (default: the file name).")
@click.option("--licence", help="Licence/terms of the data, kept per row.")
@click.option("--dedup-m", type=float, help="Distance within which a stored facility of the "
              "same type makes a POI a duplicate (default: setting facility_dedup_m).")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@pass_app
@report_errors
def facilities_cmd(app: AppContext, file: Path, profile: str | None, coords: str | None,
                   source: str | None, licence: str | None, dedup_m: float | None,
                   dry_run: bool) -> None:
    """Import facilities from a POI table (CSV in any encoding, XLSX): types from the
    catalogue's amap_types or a mapping; duplicates of stored facilities reported."""
    from gridmap.imports.layers.facilities import FacilityImportParams, import_facilities

    params = FacilityImportParams(
        source=source, licence=licence, coords=coords, actor="cli",
        dedup_m=app.settings.facility_dedup_m if dedup_m is None else dedup_m)
    with app.transaction() as conn:
        rep = import_facilities(conn, file, profile=profile, params=params, dry_run=dry_run)
    _print_report(rep)
    if not dry_run and rep.inserted:
        say("layers.report.refresh_coverage")


@import_.command("population")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--level", type=click.Choice(["building", "estate", "community"]), required=True,
              help="What each row describes: a building, a 小区 or a 居委会.")
@click.option("--map", "profile", help="Column profile (YAML/TOML/JSON).")
@click.option("--source", help="Source of the figures (default: the file name).")
@click.option("--date", "date_", help="Date of the figures (YYYY-MM-DD) unless a column has it.")
@click.option("--dry-run", is_flag=True, help="Validate, join and report; write nothing.")
@pass_app
@report_errors
def population_cmd(app: AppContext, file: Path, level: str, profile: str | None,
                   source: str | None, date_: str | None, dry_run: bool) -> None:
    """Import official households and residents (and the 0–3, 3–6, 60+, 80+ age groups) by
    building, estate or community; totals are spread over residential buildings by floor
    area and replace the OSM estimates."""
    from gridmap.imports.layers.official import OfficialPopulationParams, import_population
    from gridmap.imports.population import PopulationParams

    params = OfficialPopulationParams(
        source=source, date=_date(date_), actor="cli",
        population=PopulationParams.from_settings(app.settings))
    with app.transaction() as conn:
        rep = import_population(conn, file, level, profile=profile, params=params,
                                dry_run=dry_run)
    _print_report(rep)
