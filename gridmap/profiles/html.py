"""The profile and its check-up as HTML: one renderer for the web page (the body, inside the
site's layout) and the CLI (``--html``: a standalone, printable document).

Every value from the data is escaped (``html.escape``); no script, no event handler.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from gridmap.profiles.labels import label

PRINT_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5rem;color:#222}
.gm-profile table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.9rem}
.gm-profile th,.gm-profile td{border:1px solid #bbb;padding:.2rem .45rem;text-align:left}
.gm-profile td.n{text-align:right}
.gm-kpis{display:flex;flex-wrap:wrap;gap:.4rem 1.4rem;margin:.3rem 0 .8rem}
.gm-kpis div{min-width:7rem}.gm-kpis dt{font-size:.8rem;color:#555}
.gm-kpis dd{margin:0;font-size:1.2rem;font-weight:600}
.st-missing{color:#b00020;font-weight:600}.st-partial{color:#a15c00}.st-ok{color:#1b6e20}
@media print{body{margin:0}.gm-profile section{break-inside:avoid-page}
.gm-noprint{display:none}}
"""


def _fmt(v: Any, kind: str = "") -> str:
    if v is None:
        return "—"
    if kind == "pct":
        return f"{float(v):.1%}"
    if isinstance(v, float):
        return f"{v:,.1f}" if not v.is_integer() else f"{int(v):,}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for r in rows:
        cells = []
        for c in r:
            if isinstance(c, tuple):  # (text, css class)
                cells.append(f'<td class="{escape(c[1])}">{escape(_fmt(c[0]))}</td>')
            else:
                num = ' class="n"' if isinstance(c, int | float) else ""
                cells.append(f"<td{num}>{escape(_fmt(c))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="{escape(cls)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _kpis(items: Iterable[tuple[str, Any]]) -> str:
    return '<dl class="gm-kpis">' + "".join(
        f"<div><dt>{escape(k)}</dt><dd>{escape(v if isinstance(v, str) else _fmt(v))}</dd></div>"
        for k, v in items) + "</dl>"


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="gm-{escape(key)}"><h2>{escape(title)}</h2>{body}</section>'


def _people(p: Mapping[str, Any], lang: str) -> str:
    ages = [(label(k, lang), p[k] if p[k] is not None else label("not_imported", lang))
            for k in ("age_0_3", "age_3_6", "age_60_plus", "age_80_plus")]
    return _section("people", label("people", lang), _kpis([
        (label("residents", lang), p["residents"]), (label("households", lang), p["households"]),
        (label("buildings", lang), p["buildings"]), *ages,
        (label("grid_workers", lang), p["grid_workers"])]))


def _land(d: Mapping[str, Any], lang: str) -> str:
    kpis = _kpis([(label(k, lang), d[k]) for k in ("area_km2", "estates", "estate_ha",
                                                    "street_blocks")]
                 + [(label("grids", lang), len(d["grids"]))])
    grids = _table([label("code", lang), label("grids", lang), "ha", label("grid_workers", lang)],
                   [(g["grid_code"], g["name"], g["area_ha"], g["grid_workers"])
                    for g in d["grids"]])
    return _section("land", label("land", lang), kpis + grids)


def type_rows(types: Sequence[Mapping[str, Any]], lang: str) -> list[list[Any]]:
    """Rows of the coverage table (type, tier, radius, facilities, capacity, share,
    residents affected, status)."""
    return [[t["name_en"] if lang == "en" else t["name_zh"], label("tier_" + t["tier"], lang),
             t["radius_m"], t["facilities"], t["capacity"], (_fmt(t["share"], "pct"), ""),
             t["residents_affected"],
             (label("status_" + t["status"], lang), "st-" + t["status"])] for t in types]


def _type_table(types: Sequence[Mapping[str, Any]], lang: str) -> str:
    return _table([label(k, lang) for k in ("type", "tier", "radius", "facilities", "capacity",
                                            "share", "affected", "status")],
                  type_rows(types, lang), "gm-types")


def _gaps(gaps: Sequence[Mapping[str, Any]], names: Mapping[str, str], lang: str) -> str:
    return _table([label(k, lang) for k in ("community", "estate", "type", "affected")],
                  [(g["community_name"], g["estate_name"] or "—",
                    names.get(g["type_code"], g["type_code"]), g["residents_affected"])
                   for g in gaps], "gm-gaps")


def _capacity(rows: Sequence[Mapping[str, Any]], names: Mapping[str, str], lang: str) -> str:
    return _table([label(k, lang) for k in ("type", "group", "population", "per_1000",
                                            "estimated")],
                  [(names.get(c["type"], c["type"]), label("group_" + c["group"], lang),
                    c["population"], c["per_1000"], (_fmt(c["estimated_share"], "pct"), ""))
                   for c in rows], "gm-fca")


def _services(s: Mapping[str, Any], lang: str) -> str:
    if not s.get("computed"):
        return _section("services", label("services", lang),
                        f"<p>{escape(label('not_computed', lang))}</p>")
    names = {t["code"]: t["name_en"] if lang == "en" else t["name_zh"] for t in s["types"]}
    body = (_kpis([(label("score", lang), _fmt(s["score"], "pct"))])
            + _table([label(k, lang) for k in ("tier", "facilities", "type")],
                     [(label("tier_" + t["tier"], lang), t["facilities"],
                       f"{t['required_ok']}/{t['required']}") for t in s["tiers"]])
            + _type_table(s["types"], lang)
            + f"<h3>{escape(label('fca', lang))}</h3>" + _capacity(s["capacity"], names, lang)
            + f"<h3>{escape(label('gaps', lang))}</h3>" + _gaps(s["gaps"], names, lang))
    return _section("services", label("services", lang), body)


def _cases(c: Mapping[str, Any], lang: str) -> str:
    t = c["totals"]
    kpis = _kpis([(label("cases_total", lang), t["cases"]), (label("open", lang), t["open"]),
                  (label("overdue", lang), t["overdue"]),
                  (label("on_time_rate", lang), _fmt(t["on_time_rate"], "pct"))])
    months = _table([label("category", lang), *c["months"], label("total", lang)],
                    [(k["name_en"] if lang == "en" else k["name_zh"], *k["counts"], k["total"])
                     for k in c["categories"]], "gm-months")
    hot = _table([label("hot_grids", lang), label("cases_total", lang), label("open", lang)],
                 [(g["name"] or g["code"], g["cases"], g["open"]) for g in c["hot_grids"]])
    rec = _table([label(k, lang) for k in ("category", "place", "cases_total", "open", "last")],
                 [(r["name_en"] if lang == "en" else r["name_zh"], r["place"], r["cases"],
                   r["open"], r["last_at"][:10]) for r in c["recurrent"]], "gm-recurrent")
    return _section("cases", label("cases", lang), kpis + months + hot
                    + f"<h3>{escape(label('recurrent', lang))}</h3>" + rec)


def _reason(r: Any, lang: str) -> str:
    if isinstance(r, Mapping):
        return str(r.get("en" if lang == "en" else "zh") or r.get("code") or "")
    return str(r)


def _stars(communities: Sequence[Mapping[str, Any]], lang: str) -> str:
    items = []
    for c in communities:
        rating = c.get("rating")
        head = f"{escape(c['name'])}: "
        if rating is None:
            items.append(f"<li>{head}<strong>{escape(label('not_rated', lang))}</strong></li>")
            continue
        reasons = "".join(f"<li>{escape(_reason(r, lang))}</li>" for r in rating["reasons"])
        items.append(f"<li>{head}<strong>{'★' * int(rating['stars'])}</strong>"
                     f"<ul>{reasons}</ul></li>")
    return _section("stars", label("stars", lang), f"<ul class=\"gm-stars\">{''.join(items)}</ul>")


def _sites(checkup: Mapping[str, Any], lang: str) -> str:
    names = {t["code"]: t["name_en"] if lang == "en" else t["name_zh"] for t in checkup["types"]}
    rows = [(names.get(code, code), s["rank"], s["residents_added"], s.get("community"),
             s.get("estate"), s.get("road")) for code, got in checkup["sites"].items()
            for s in got]
    return _section("sites", label("sites", lang), _table(
        [label(k, lang) for k in ("type", "code", "added", "community", "estate", "road")],
        rows, "gm-sites"))


def render_body(profile: Mapping[str, Any], checkup: Mapping[str, Any] | None,
                lang: str = "zh") -> str:
    """The profile (and the check-up's candidate sites) as an ``<article>`` fragment."""
    a = profile["area"]
    title = label("street_profile" if a["level"] == "street" else "profile", lang)
    head = (f"<header><h1>{escape(a['name'])} · {escape(title)}</h1>"
            f"<p>{escape(a['street_name'])} · {escape(a['code'])} · "
            f"{escape(label('window', lang))} {escape(profile['cases']['since'][:10])} – "
            f"{escape(profile['cases']['until'][:10])}</p></header>")
    parts = [head, _people(profile["people"], lang), _land(profile["land"], lang),
             _services(profile["services"], lang)]
    if checkup is not None:
        parts.append(_sites(checkup, lang))
    parts += [_cases(profile["cases"], lang), _stars(profile["communities"], lang)]
    return f'<article class="gm-profile" lang="{"en" if lang == "en" else "zh-CN"}">' \
        + "".join(parts) + "</article>"


def render_document(profile: Mapping[str, Any], checkup: Mapping[str, Any] | None,
                    lang: str = "zh") -> str:
    """A standalone printable HTML document (the CLI's ``--html``)."""
    title = escape(f"{profile['area']['name']} · {label('checkup', lang)}")
    return (f'<!doctype html><html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
            f'<meta charset="utf-8"><title>{title}</title><style>{PRINT_CSS}</style></head>'
            f"<body>{render_body(profile, checkup, lang)}</body></html>")
