"""Address geocoding benchmark: ``.venv/bin/python benchmarks/bench_geocode.py [--n 100000]``.

1. Accuracy on a register split. The register is built from real named places in
   ``../shared/geo/`` — Beijing Haidian (both OSM exports): named roads (lines), named 小区
   (residential areas) with their real buildings numbered N号楼, named buildings — plus
   generated 门牌 in Chinese formats along the real roads (X路N号 both sides, X路N弄M号 lanes
   running off the road, some N弄K支弄M号); Chelsea separately from its ``addr:*`` tags.
   20 % of the numbered addresses are held out of the register. Queries are perturbed
   (Chinese numerals, full-width digits, 號, province/city/district prefixes, the district
   name glued to the road, rooms/floors/units, spaces, one wrong character in the road or
   小区 name). Reported: share at each level and auto-placed, distance error of automatic
   placements, placements farther than 300 m from the truth (target: none), and the share of
   known numbered addresses placed at building/lane level (target ≥ 95 %).
2. Speed: N perturbed addresses (default 100,000, distinct texts) through
   :func:`gridmap.geocode.match.geocode` (parse, exact and fuzzy lookups, decision), peak
   memory of the run (tracemalloc) and RSS. Baseline in the same run: the obvious
   approach, ``rapidfuzz.process.extractOne`` of each address against every register text,
   timed on a sample and scaled.

No database: the register frame is built in memory exactly as ``register.load_register``
returns it (the DB round trip is one SELECT; ``register.load_index`` caches the index).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely
from rapidfuzz import fuzz, process

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gridmap import crs  # noqa: E402
from gridmap.geocode import derive, register  # noqa: E402
from gridmap.geocode.index import build_index  # noqa: E402
from gridmap.geocode.match import geocode  # noqa: E402

GEO = REPO.parent / "shared" / "geo"
HAIDIAN = sorted((GEO / "beijing-haidian-osm").glob("*.osm"))
CHELSEA = GEO / "nyc-chelsea-osm" / "chelsea.osm.pbf"
ROAD_HW = {"primary", "secondary", "tertiary", "residential", "unclassified", "trunk",
           "living_street", "service", "pedestrian", "primary_link", "secondary_link"}
CN_DIGITS = "零一二三四五六七八九"
TYPO_CHARS = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"


def _read(path: Path, layer: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore")


def _metric(lines: list[shapely.LineString]) -> tuple[object, list[shapely.Geometry]]:
    b = shapely.total_bounds(np.array(lines))
    m = crs.metric_crs(*b)
    return m, list(crs.to_metric(np.array(lines), m))


def _doors(road: str, line_m: shapely.Geometry, rng: random.Random) -> list[tuple[str, dict, shapely.Point]]:
    """Door plates both sides every ~25 m, lanes off some even doors (metric points)."""
    out = []
    length = line_m.length
    k = 0
    for d in np.arange(12.0, length - 12.0, 25.0):
        k += 1
        p = line_m.interpolate(d)
        q = line_m.interpolate(min(d + 1.0, length))
        dx, dy = q.x - p.x, q.y - p.y
        norm = max(np.hypot(dx, dy), 1e-9)
        nx, ny = -dy / norm, dx / norm
        for n, side in ((2 * k - 1, 1), (2 * k, -1)):
            out.append((f"{road}{n}号", {"road": road, "number": n},
                        shapely.Point(p.x + side * 15 * nx, p.y + side * 15 * ny)))
            if side == -1 and k % 4 == 0:  # a lane running off the road
                for m in range(1, rng.randint(4, 9)):
                    dist = 25 + 22 * m
                    pt = shapely.Point(p.x - dist * nx + 8 * (m % 2) * dx / norm,
                                       p.y - dist * ny + 8 * (m % 2) * dy / norm)
                    out.append((f"{road}{n}弄{m}号", {"road": road, "lane": n, "number": m}, pt))
                if k % 8 == 0:
                    for m in range(1, 4):
                        pt = shapely.Point(p.x - 60 * nx + 20 * m * dx / norm,
                                           p.y - 60 * ny + 20 * m * dy / norm)
                        out.append((f"{road}{n}弄2支弄{m}号",
                                    {"road": road, "lane": n, "branch": 2, "number": m}, pt))
    return out


def haidian_register(rng: random.Random) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(numbered addresses with truth, roads/places frame) for the two Haidian exports."""
    roads: dict[str, list[shapely.Geometry]] = {}
    polys = []
    for path in HAIDIAN:
        ln = _read(path, "lines")
        ln = ln[ln["highway"].isin(ROAD_HW) & ln["name"].notna()]
        for name, g in zip(ln["name"], ln.geometry, strict=True):
            roads.setdefault(str(name), []).append(g)
        polys.append(_read(path, "multipolygons"))
    mp = pd.concat(polys, ignore_index=True)
    merged = {n: shapely.line_merge(shapely.union_all(gs)) for n, gs in roads.items()}
    merged = {n: g for n, g in merged.items() if re_road(n)}
    names = sorted(merged)
    metric, lines_m = _metric([merged[n] for n in names])
    numbered = []
    for name, lm in zip(names, lines_m, strict=True):
        parts = list(lm.geoms) if lm.geom_type == "MultiLineString" else [lm]
        longest = max(parts, key=lambda g: g.length)
        if longest.length > 150:
            numbered += _doors(name, longest, rng)
    places = []
    buildings = mp[mp["building"].notna()]
    bpts_m = crs.to_metric(shapely.point_on_surface(buildings.geometry.to_numpy()), metric)
    areas = mp[(mp["landuse"] == "residential") & mp["name"].notna()]
    for name, poly in zip(areas["name"], crs.to_metric(areas.geometry.to_numpy(), metric),
                          strict=True):
        inside = [p for p in bpts_m if poly.contains(p)]
        inside.sort(key=lambda p: (round(-p.y / 30), p.x))
        for k, p in enumerate(inside, start=1):
            numbered.append((f"{name}{k}号楼", {"place": name, "building_no": k}, p))
        places.append((name, poly.point_on_surface()))
    named = buildings[buildings["name"].notna()]
    for name, p in zip(named["name"], crs.to_metric(
            shapely.point_on_surface(named.geometry.to_numpy()), metric), strict=True):
        places.append((str(name), p))
    real = [n for n, _ in places]  # a real compound (清华东路27号院) owns its door number:
    numbered = [r for r in numbered if "place" in r[1] or not any(  # no synthetic door 27
        p.startswith(f"{r[1]['road']}{r[1].get('lane', r[1]['number'])}号") for p in real)]
    num = _frame_with_truth(numbered, metric)
    roads_df = pd.DataFrame({"kind": "road", "text": names, "road": names,
                             "line": [merged[n] for n in names]})
    mids = [g.interpolate(0.5, normalized=True) for g in crs.from_metric(np.array(lines_m), metric)]
    roads_df["lon"], roads_df["lat"] = [p.x for p in mids], [p.y for p in mids]
    pl = pd.DataFrame({"kind": "place", "text": [n for n, _ in places],
                       "place": [n for n, _ in places]})
    ppts = crs.from_metric(np.array([p for _, p in places]), metric)
    pl["lon"], pl["lat"] = shapely.get_x(ppts), shapely.get_y(ppts)
    pl = pl.drop_duplicates("place", keep=False)  # a name used twice is no unique place
    return num, pd.concat([roads_df, pl], ignore_index=True)


def re_road(name: str) -> bool:
    return name.endswith(("路", "街", "道", "巷", "胡同")) and not name.endswith("桥")


def _frame_with_truth(rows: list[tuple[str, dict, shapely.Point]], metric: object) -> pd.DataFrame:
    pts = crs.from_metric(np.array([p for *_, p in rows]), metric)
    f = pd.DataFrame([{"address": t, **el} for t, el, _ in rows])
    f["lon"], f["lat"] = shapely.get_x(pts), shapely.get_y(pts)
    return f.drop_duplicates("address", keep=False).reset_index(drop=True)


def register_frame(numbered: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """The register as ``register.load_register`` would return it."""
    entries, problems = register.entries_from_addresses(numbered[["address", "lon", "lat"]])
    if problems:
        bad = {p.row for p in problems}
        entries = entries.drop(index=[r - 1 for r in bad if r]).reset_index(drop=True)
    o = other.copy()
    for c in register.ENTRY_COLUMNS:
        if c not in o:
            o[c] = None
    f = pd.concat([entries, o[list(register.ENTRY_COLUMNS)]], ignore_index=True)
    f.insert(0, "id", np.arange(1, len(f) + 1))
    return f.drop(columns=["entry_key"])


def _cn(n: int) -> str:
    if n < 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    h, rest = divmod(n, 100)
    tail = "" if rest == 0 else ("零" + CN_DIGITS[rest] if rest < 10 else
                                 (CN_DIGITS[rest // 10] + "十" + (CN_DIGITS[rest % 10]
                                                                   if rest % 10 else "")))
    return CN_DIGITS[h] + "百" + tail


def perturb(text: str, el: dict, rng: random.Random) -> str:
    """One or two of: numerals, width, 號, prefixes, district glued on, room/floor, typo, spaces."""
    t = text
    for kind in rng.sample(["numerals", "width", "hao", "prefix", "glued", "room", "typo",
                            "space"], 2):
        if kind == "numerals":
            for key, unit in (("number", "号"), ("lane", "弄"), ("building_no", "号楼"),
                              ("branch", "支弄")):
                v = el.get(key)
                if v is not None and v == v:
                    t = re.sub(rf"(?<!\d){int(v)}(?={unit})", _cn(int(v)), t, count=1)
        elif kind == "width":
            t = t.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
        elif kind == "hao":
            t = t.replace("号", "號")
        elif kind == "prefix":
            t = rng.choice(["北京市海淀区", "海淀区", "北京市", "北京市海淀区学院路街道"]) + t
        elif kind == "glued":
            t = "海淀" + t if el.get("road") else t
        elif kind == "room":
            t += rng.choice(["301室", "3楼", "2单元501室", "5F", "-1202室", "1层"])
        elif kind == "typo":
            name = el.get("road") or el.get("place")
            if isinstance(name, str) and len(name) >= 3:
                i = rng.randrange(len(name) - 1)  # keep the 路/街 suffix
                bad = name[:i] + rng.choice(TYPO_CHARS) + name[i + 1:]
                t = t.replace(name, bad, 1)
        elif kind == "space":
            t = " ".join(t[i:i + 3] for i in range(0, len(t), 3))
    return t


def _dist(lon: np.ndarray, lat: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    ok = np.isfinite(lon) & np.isfinite(lon2)
    m = crs.metric_crs(float(np.nanmin(lon2)), float(np.nanmin(lat2)),
                       float(np.nanmax(lon2)), float(np.nanmax(lat2)))
    out = np.full(len(lon), np.nan)
    x, y = crs.project_xy(lon[ok], lat[ok], crs.STORAGE_EPSG, m)
    x2, y2 = crs.project_xy(lon2[ok], lat2[ok], crs.STORAGE_EPSG, m)
    out[ok] = np.hypot(np.asarray(x) - x2, np.asarray(y) - y2)
    return out


def evaluate(label: str, idx: object, q: pd.DataFrame) -> dict[str, object]:
    res = geocode(idx, q["query"].tolist())  # type: ignore[arg-type]
    d = _dist(res["lon"].to_numpy(float), res["lat"].to_numpy(float),
              q["lon"].to_numpy(float), q["lat"].to_numpy(float))
    auto = (res["status"] == "auto").to_numpy()
    levels = res["level"].fillna("none").value_counts(normalize=True)
    out = {"set": label, "n": len(q), "auto": auto.mean(),
           "building_or_lane": res["level"].isin(["building", "lane"]).mean(),
           "auto_p50_m": np.nanmedian(d[auto]) if auto.any() else np.nan,
           "auto_p95_m": np.nanpercentile(d[auto], 95) if auto.any() else np.nan,
           "auto_max_m": np.nanmax(d[auto]) if auto.any() else np.nan,
           "auto_over_300m": int((d[auto] > 300).sum())}
    for lv in ("building", "lane", "road_number", "place", "road", "area", "none"):
        out[lv] = float(levels.get(lv, 0.0))
    return out


def _queries(truth: pd.DataFrame, rng: random.Random, copies: int = 1) -> pd.DataFrame:
    rows = []
    for rec in truth.to_dict("records"):
        for _ in range(copies):
            rows.append({"query": perturb(rec["address"], rec, rng), "lon": rec["lon"],
                         "lat": rec["lat"]})
    return pd.DataFrame(rows)


def accuracy(rng: random.Random) -> tuple[list[dict[str, object]], object, pd.DataFrame]:
    numbered, other = haidian_register(rng)
    hold = np.array([rng.random() < 0.2 for _ in range(len(numbered))])
    reg = register_frame(numbered[~hold], other)
    idx = build_index(reg)
    known, held = numbered[~hold], numbered[hold]
    places = other[other["kind"] == "place"].rename(columns={"text": "address"})
    results = [
        evaluate("haidian 门牌/楼 known, exact text", idx,
                 known.assign(query=known["address"])),
        evaluate("haidian 门牌/楼 known, perturbed", idx, _queries(known, rng)),
        evaluate("haidian 门牌/楼 held out, perturbed", idx, _queries(held, rng)),
        evaluate("haidian named places, perturbed", idx, _queries(places, rng)),
    ]
    ch = derive.read_osm_addresses(CHELSEA)
    ch_hold = np.array([rng.random() < 0.2 for _ in range(len(ch))])
    ch_idx = build_index(register_frame(ch[~ch_hold], pd.DataFrame(columns=["kind"])))
    for label, part in (("chelsea addr:* known", ch[~ch_hold]), ("chelsea addr:* held out",
                                                                  ch[ch_hold])):
        q = part.assign(query=[a.upper() if rng.random() < 0.5 else a.replace("Street", "St")
                               for a in part["address"]])
        results.append(evaluate(label, ch_idx, q))
    return results, idx, _queries(numbered, rng, copies=1)


def speed(idx: object, pool: pd.DataFrame, n: int, rng: random.Random) -> dict[str, float]:
    texts = pool["query"].tolist()
    extra = [perturb(texts[i % len(texts)], {}, rng) + f"{i}室" for i in range(n)]
    queries = list(dict.fromkeys(extra))[:n]
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    geocode(idx, queries)  # type: ignore[arg-type]
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    tracemalloc.start()  # a second run for memory: tracing slows Python down several times
    geocode(idx, queries)  # type: ignore[arg-type]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    choices = idx.frame["text"].astype(str).tolist()  # type: ignore[attr-defined]
    sample = queries[:1000]
    t1 = time.perf_counter()
    for s in sample:
        process.extractOne(s, choices, scorer=fuzz.WRatio)
    base = (time.perf_counter() - t1) * len(queries) / len(sample)
    return {"n": len(queries), "register": len(choices), "seconds": elapsed, "cpu": cpu,
            "load": load, "cores": os.cpu_count() or 1,
            "per_second": len(queries) / elapsed, "peak_mb": peak / 1e6,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "baseline_s": base, "ratio": base / elapsed}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=19)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    results, idx, pool = accuracy(rng)
    table = pd.DataFrame(results).set_index("set")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    print(f"register: {len(idx.frame):,} entries (Haidian), seed {args.seed}")  # type: ignore[attr-defined]
    print((table[["n", "auto", "building_or_lane", "building", "lane", "road_number", "place",
                  "road", "area", "none"]] * 1).round(3).to_string())
    print(table[["auto_p50_m", "auto_p95_m", "auto_max_m", "auto_over_300m"]].round(1).to_string())
    s = speed(idx, pool, args.n, rng)
    print(f"speed: {s['n']:,} distinct addresses against {s['register']:,} register entries in "
          f"{s['seconds']:.2f} s wall, {s['cpu']:.2f} s CPU ({s['per_second']:,.0f}/s wall; "
          f"target ≤ 10 s for 100,000; load average {s['load']:.1f} on {s['cores']} cores "
          f"when it started); "
          f"peak traced memory {s['peak_mb']:.0f} MB, max RSS {s['rss_mb']:.0f} MB")
    print(f"baseline (rapidfuzz.extractOne over every register text, sampled): "
          f"{s['baseline_s']:.1f} s → {s['ratio']:.1f}× faster")


if __name__ == "__main__":
    main()
