"""Exports: the ratings workbook (XLSX) and the printable report of one street (HTML)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.engine import Connection

from gridmap.ratings import results
from gridmap.ratings.scheme import Scheme, scheme_for

_COLS: tuple[tuple[str, str, str], ...] = (
    ("rank", "排名", "rank"), ("street_name", "街道", "street"), ("code", "居委会编码", "code"),
    ("name", "居委会", "committee"), ("stars", "星级", "stars"),
    ("computed_stars", "测算星级", "computed stars"), ("score", "综合得分", "score"),
    ("status", "状态", "status"), ("prev_stars", "上年星级", "last year"),
    ("change", "变化", "change"), ("confirmed_by", "确认人", "confirmed by"),
    ("confirmed_level", "评审层级", "level"), ("confirmed_at", "确认时间", "confirmed at"),
)
_STATUS = {"zh": {"draft": "草稿", "confirmed": "已确认"},
           "en": {"draft": "draft", "confirmed": "confirmed"}}
_BANDS = (("five", "五星", "5★"), ("three_four", "三星和四星", "3–4★"), ("two", "二星", "2★"),
          ("one", "一星", "1★"))


def _cell(key: str, value: Any, lang: str) -> Any:
    if key == "status" and value is not None:
        return _STATUS[lang].get(value, value)
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="minutes")
    return value


def write_xlsx(conn: Connection, year: int, round_code: str, out: Path | IO[bytes], *,
               street_code: str | None = None, lang: str = "zh") -> int:
    """Write the ratings (one row per committee, every criterion's value and the reasons)
    and the distribution against the target; returns the number of committee rows."""
    _, scheme = scheme_for(conn, year)
    rows = results.table(conn, year, round_code, street_code=street_code, lang=lang)
    i = 1 if lang == "zh" else 2
    wb = Workbook()
    ws = wb.active
    ws.title = "星级测评" if lang == "zh" else "ratings"
    ws.append([c[i] for c in _COLS] + [c.name(lang) for c in scheme.criteria]
              + ["原因" if lang == "zh" else "reasons"])
    for r in rows:
        crit = r["criteria"] or {}
        vals = [_criterion_cell(crit.get(c.code), c.kind) for c in scheme.criteria]
        ws.append([_cell(k, r.get(k), lang) for k, *_ in _COLS] + vals
                  + ["；".join(r["reason_texts"])])
    ws.freeze_panes = "A2"
    dist = results.distribution(conn, year, round_code)
    ds = wb.create_sheet("分布" if lang == "zh" else "distribution")
    ds.append(["街道" if lang == "zh" else "street", "总数" if lang == "zh" else "total"]
              + [f"{k}★" for k in range(1, 6)]
              + [f"{b[i]} %" for b in _BANDS] + [f"{b[i]} {'达标' if lang == 'zh' else 'meets'}"
                                                 for b in _BANDS])
    for name, d in [("全区" if lang == "zh" else "district", dist["district"])] + [
            (s["name"], s) for s in dist["streets"]]:
        ds.append([name, d["total"]] + [d["counts"][k] for k in range(1, 6)]
                  + [round(d["bands"][b[0]]["share"] * 100, 1) for b in _BANDS]
                  + [bool(d["bands"][b[0]]["meets"]) for b in _BANDS])
    wb.save(out)
    return len(rows)


def _criterion_cell(rec: Mapping[str, Any] | None, kind: str) -> Any:
    if rec is None:
        return None
    if kind == "condition":
        p = rec.get("passed")
        return None if p is None else ("✓" if p else "✗")
    return rec.get("value")


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5cm;color:#111}
h1{font-size:18pt}h2{font-size:13pt;margin-top:1.2em}
table{border-collapse:collapse;width:100%;font-size:9.5pt}
th,td{border:1px solid #888;padding:3px 5px;text-align:left;vertical-align:top}
th{background:#eee}.miss{color:#a00;font-weight:bold}.sign{margin-top:2em}
@media print{body{margin:0}tr{page-break-inside:avoid}@page{size:A4 landscape;margin:1.2cm}}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _dist_html(d: Mapping[str, Any], lang: str) -> str:
    i = 1 if lang == "zh" else 2
    head = "".join(f"<th>{k}★</th>" for k in range(1, 6)) + "".join(
        f"<th>{_e(b[i])}</th>" for b in _BANDS)
    cells = "".join(f"<td>{d['counts'][k]}</td>" for k in range(1, 6))
    for b in _BANDS:
        band = d["bands"][b[0]]
        ok = "" if band["meets"] else ' class="miss"'
        cells += (f"<td{ok}>{band['share'] * 100:.1f}% "
                  f"({'≥' if band['kind'] == 'target' else '≤'}{band['target'] * 100:.0f}%)</td>")
    return f"<table><tr>{head}</tr><tr>{cells}</tr></table>"


def _rows_html(rows: Sequence[Mapping[str, Any]], scheme: Scheme, lang: str) -> str:
    zh = lang == "zh"
    head = ["排名" if zh else "rank", "居委会" if zh else "committee", "星级" if zh else "stars",
            "得分" if zh else "score", "状态" if zh else "status"]
    head += [c.name(lang) for c in scheme.criteria] + ["原因" if zh else "reasons"]
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        crit = r["criteria"] or {}
        cells = [r["rank"], r["name"], "★" * int(r["stars"] or 0), r["score"],
                 _cell("status", r["status"], lang)]
        cells += [_criterion_cell(crit.get(c.code), c.kind) for c in scheme.criteria]
        reasons = "<br>".join(_e(t) for t in r["reason_texts"])
        out.append("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in cells)
                   + f"<td>{reasons}</td></tr>")
    return "".join(out) + "</table>"


def report_body(conn: Connection, year: int, round_code: str, street_code: str, *,
                lang: str = "zh") -> tuple[str, str]:
    """The title and the HTML body (escaped; no script) of one street's report."""
    _, scheme = scheme_for(conn, year)
    rows = results.table(conn, year, round_code, street_code=street_code, lang=lang)
    name = conn.execute(sa.text("SELECT name FROM street WHERE code = :c"),
                        {"c": street_code}).scalar_one()
    dist = results.distribution(conn, year, round_code)
    mine = next((s for s in dist["streets"] if s["code"] == street_code), None)
    rnd = scheme.rounds[round_code]
    zh = lang == "zh"
    title = (f"{name} {year}年{rnd.name_zh} 居委会星级测评报告" if zh
             else f"{name}: committee star ratings, {year} {rnd.name_en}")
    crit = "".join(f"<li>{_e(c.name(lang))} — {_e(c.kind)}, {_e(c.source)}"
                   f"{', ' + str(c.weight) if c.kind == 'score' else ''} [{_e(c.tag)}]</li>"
                   for c in scheme.criteria)
    body = "".join([
        f"<h1>{_e(title)}</h1><p>{_e(scheme.name)}</p>",
        f"<h2>{'星级分布与目标' if zh else 'Distribution against the target'}</h2>",
        _dist_html(mine, lang) if mine else "<p>–</p>",
        f"<h2>{'各居委会' if zh else 'Committees'}</h2>", _rows_html(rows, scheme, lang),
        f"<h2>{'测评指标' if zh else 'Criteria'}</h2><ul>{crit}</ul>",
        f"<p class=\"sign\">{'评审人：' if zh else 'Rater:'} ________ &nbsp; "
        f"{'日期：' if zh else 'Date:'} ________</p>"])
    return title, body


def street_report(conn: Connection, year: int, round_code: str, street_code: str, *,
                  lang: str = "zh") -> str:
    """A self-contained printable HTML document of one street's ratings (A4 landscape)."""
    title, body = report_body(conn, year, round_code, street_code, lang=lang)
    return (f"<!doctype html><html lang=\"{'zh-CN' if lang == 'zh' else 'en'}\"><head>"
            f"<meta charset=\"utf-8\"><title>{_e(title)}</title><style>{_CSS}</style></head>"
            f"<body>{body}</body></html>")
