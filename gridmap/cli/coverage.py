"""``gridmap network build`` and ``gridmap coverage …``: the walking network and the
15-minute life-circle coverage (thin callers of gridmap.access.network / .coverage)."""

from __future__ import annotations

import json
from typing import Any

import click

from gridmap.cli.app import AppContext, main, pass_app, report_errors
from gridmap.errors import Problem, ValidationError


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@main.group("network")
def network_group() -> None:
    """Walking network built from the imported OSM lines."""


@network_group.command("build")
@click.option("--max-snap-m", type=float, default=250.0, show_default=True,
              help="Maximum distance from a building/facility to its street.")
@click.option("--all-components", is_flag=True,
              help="Snap onto every connected component, not only the largest.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
@report_errors
def network_build(app: AppContext, max_snap_m: float, all_components: bool, as_json: bool) -> None:
    """Build (or rebuild) the walking network from osm_line."""
    from gridmap.access import network

    params = network.NetworkParams(max_snap_m=max_snap_m,
                                   largest_component_only=not all_components)
    with app.transaction() as conn:
        rep = network.build_network(conn, params=params)
    if as_json:
        _echo_json(rep.as_dict())
        return
    click.echo(f"walking network: {rep.nodes} nodes, {rep.edges} edges, "
               f"{rep.total_length_m / 1000:.1f} km from {rep.lines_used}/{rep.lines_read} lines")
    for reason, n in sorted(rep.lines_excluded.items(), key=lambda kv: -kv[1]):
        click.echo(f"  excluded {n:6d}  {reason}")
    click.echo(f"components: {rep.components} (largest has {rep.largest_component_edges} edges)")
    for isl in rep.islands[:20]:
        click.echo(f"  island {isl['component']}: {isl['edges']} edges, {isl['length_m']} m, "
                   f"bbox {isl['bbox']}")
    if len(rep.islands) > 20:
        click.echo(f"  … and {len(rep.islands) - 20} more islands")


@main.group("coverage")
def coverage_group() -> None:
    """15-minute life circle: coverage, gaps, what-if, candidate sites."""


@coverage_group.command("refresh")
@click.option("--speed", type=float, default=None,
              help="Walking speed in m/min (default: GRIDMAP_WALKING_SPEED_M_PER_MIN or 60).")
@click.option("--force-service-areas", is_flag=True, help="Recompute service areas even if "
              "network and facilities are unchanged.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def refresh(app: AppContext, speed: float | None, force_service_areas: bool,
            as_json: bool) -> None:
    """Snap buildings and facilities, compute distances, store coverage and service areas."""
    from gridmap.access import coverage

    spd = speed if speed is not None else app.settings.walking_speed_m_per_min
    with app.transaction() as conn:
        rep = coverage.refresh(conn, speed_m_per_min=spd, force_service_areas=force_service_areas)
    if as_json:
        _echo_json(rep)
        return
    click.echo(f"buildings: {rep['buildings_snapped']}/{rep['buildings']} snapped; facilities: "
               f"{rep['facilities_snapped']}/{rep['facilities']} snapped "
               f"(max {rep['max_snap_m']} m)")
    for key in ("unsnapped_buildings", "unsnapped_facilities"):
        if rep[key]:
            ids = ", ".join(str(i) for i in rep[key][:15])
            more = f" … (+{len(rep[key]) - 15})" if len(rep[key]) > 15 else ""
            click.echo(f"  {key.replace('_', ' ')}: {ids}{more}")
    click.echo(f"service areas {'recomputed' if rep['service_areas_recomputed'] else 'unchanged'}"
               f"; timings {rep['timings']}")


@coverage_group.command("summary")
@click.option("--level", type=click.Choice(["estate", "community", "grid", "street", "all"]),
              default="community", show_default=True)
@click.option("--type", "type_code", default=None, help="Facility type code (catalogue).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def summary(app: AppContext, level: str, type_code: str | None, as_json: bool) -> None:
    """Residents and buildings covered per unit and type; life-circle score."""
    from gridmap.access import coverage

    with app.transaction() as conn:
        rows = coverage.summary(conn, level, type_code)
    if as_json:
        _echo_json(rows)
        return
    for r in rows:
        score = "—" if r["score"] is None else f"{r['score']:.1%}"
        click.echo(f"{level} {r['unit_code'] or r['unit_id']} {r['unit_name']}: "
                   f"{r['buildings']} buildings, {r['residents']} residents, score {score}")
        for code, t in sorted(r["types"].items()):
            share = "—" if t["share"] is None else f"{t['share']:.1%}"
            over = f", circle over-claims {t['overclaim_residents']}" \
                if t["overclaim_residents"] else ""
            click.echo(f"  {code:28s} {share:>7s}  ({t['residents_covered']} residents, "
                       f"{t['buildings_covered']} buildings{over})")


@coverage_group.command("gaps")
@click.option("--level", type=click.Choice(["estate", "community", "grid", "street", "all"]),
              default="community", show_default=True)
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--type", "type_code", default=None, help="Only this facility type.")
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False), default=None,
              help="Also write the (limited) list as an XLSX workbook (the planner's export).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def gaps(app: AppContext, level: str, limit: int, type_code: str | None, xlsx: str | None,
         as_json: bool) -> None:
    """Required facility types not reaching every building, largest first."""
    from gridmap.access import coverage, export

    with app.transaction() as conn:
        rows = [g for g in coverage.gaps(conn, level)
                if type_code is None or g["type_code"] == type_code]
    if xlsx:
        with open(xlsx, "wb") as fh:
            fh.write(export.gaps_xlsx(rows[:limit] if limit else rows, lang=app.settings.lang))
    if as_json:
        _echo_json(rows[:limit] if limit else rows)
        return
    for g in rows[:limit]:
        flag = "MISSING" if g["missing"] else "partial"
        click.echo(f"{g['unit_code'] or g['unit_id']} {g['unit_name']}: {g['type_code']} "
                   f"({g['type_name']}) {flag}: {g['residents_affected']} residents, "
                   f"{g['buildings_affected']} buildings")
    if len(rows) > limit:
        click.echo(f"… {len(rows) - limit} more (use --limit 0 for all)")


def _parse_add(values: tuple[str, ...]) -> list[tuple[str, float, float]]:
    out: list[tuple[str, float, float]] = []
    problems: list[Problem] = []
    for i, v in enumerate(values, start=1):
        parts = [p.strip() for p in v.split(",")]
        try:
            out.append((parts[0], float(parts[1]), float(parts[2])))
        except (IndexError, ValueError):
            problems.append(Problem("access.cli_bad_add", {"value": v}, row=i, field="add"))
    if problems:
        raise ValidationError(problems[0].code, problems, problems[0].params)
    return out


@coverage_group.command("whatif")
@click.option("--add", "adds", multiple=True, metavar="TYPE,LON,LAT",
              help="Hypothetical facility (WGS84); repeatable.")
@click.option("--remove", "removes", multiple=True, type=int, metavar="FACILITY_ID",
              help="Existing facility to take away; repeatable.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def whatif(app: AppContext, adds: tuple[str, ...], removes: tuple[int, ...],
           as_json: bool) -> None:
    """Coverage change if facilities were added/removed (nothing is written)."""
    from gridmap.access import coverage

    add = _parse_add(adds)
    with app.transaction() as conn:
        res = coverage.what_if(conn, add=add, remove=list(removes),
                               speed_m_per_min=app.settings.walking_speed_m_per_min)
    if as_json:
        _echo_json(res)
        return
    for t in res["types"]:
        click.echo(f"{t['type_code']}: residents covered {t['before']['residents']} → "
                   f"{t['after']['residents']} ({t['delta']['residents']:+d}), buildings "
                   f"{t['before']['buildings']} → {t['after']['buildings']} "
                   f"({t['delta']['buildings']:+d})")
    for a in res["added"]:
        if not a["snapped"]:
            click.echo(f"  warning: {a['type_code']} at {a['lon']},{a['lat']} is too far from "
                       "the walking network (not counted)")
    click.echo(f"({res['elapsed_ms']} ms)")


@coverage_group.command("candidates")
@click.argument("type_code")
@click.option("-k", type=int, default=5, show_default=True, help="Number of sites.")
@click.option("--site", "sites", multiple=True, metavar="LON,LAT",
              help="Candidate site; repeatable (default: every network node).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
@report_errors
def candidates(app: AppContext, type_code: str, k: int, sites: tuple[str, ...],
               as_json: bool) -> None:
    """Greedy maximal-coverage sites for TYPE_CODE with the residents each adds."""
    from gridmap.access import coverage, impact

    cand: list[tuple[float, float]] | None = None
    if sites:
        parsed = _parse_add(tuple(f"x,{s}" for s in sites))
        cand = [(p[1], p[2]) for p in parsed]
    with app.transaction() as conn:
        rows = impact.describe_sites(conn, coverage.candidates(
            conn, type_code, k, cand, speed_m_per_min=app.settings.walking_speed_m_per_min))
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("no site adds covered residents")
    for r in rows:
        where = f"node {r['node_id']}" if r["node_id"] is not None else \
            f"site #{r['candidate_index'] + 1}"
        click.echo(f"{r['rank']}. {r['lon']:.6f},{r['lat']:.6f} ({where}): "
                   f"+{r['residents_added']} residents, +{r['buildings_added']} buildings "
                   f"(total +{r['cumulative_residents']})")
        near = " · ".join(x for x in (r["estate"] or r["community"], r["road"]) if x)
        served = ", ".join(f"{x['estate'] or '-'} {x['residents']}" for x in r["serves"])
        click.echo(f"   {near or '-'}; serves: {served or '-'}")
