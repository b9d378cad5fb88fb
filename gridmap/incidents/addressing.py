"""Incidents with an address: geocoded at intake, queued when unsure, flagged when far.

The import calls :func:`geocode_intake` before validating, :func:`excuse_queued` on the
problems and :func:`finish_import` after writing (``gridmap.imports.cases``); the API and
Open311 call :func:`create_or_queue` instead of :func:`gridmap.incidents.write.create`:

- a row with an address and no coordinates is geocoded against the standard address register
  (while the register is empty such a row is refused as before: missing coordinates)
  (:mod:`gridmap.geocode`); placed automatically only when the matcher says ``auto``
  (``incident.geocode_status = 'auto'`` with level and score), otherwise it goes to the
  地址待确认 queue (``address_queue``) with its candidates, never onto the map;
- a row with coordinates and an address whose match lies more than ``far_m`` away is written
  with ``address_far`` and ``address_distance_m`` (the supervisor sees the flag).

Queued rows are validated like every other row (category, times, …): only the missing
coordinates are excused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap import crs
from gridmap.config import Settings, params_from_settings
from gridmap.errors import Problem, ValidationError
from gridmap.geocode import match as gmatch
from gridmap.geocode.register import load_index
from gridmap.incidents import write
from gridmap.incidents.intake import IntakeParams, normalise_columns, validate_rows

CHANNELS: tuple[str, ...] = ("import", "api", "open311")


@dataclass(frozen=True)
class AddressParams:
    """Intake geocoding parameters (defaults from :class:`gridmap.config.Settings`)."""

    far_m: float = Settings.geocode_far_m
    match: gmatch.MatchParams = gmatch.MatchParams()

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressParams:
        """Parameters from :class:`~gridmap.config.Settings`."""
        return params_from_settings(cls, settings,
                                    match=gmatch.MatchParams.from_settings(settings))


@dataclass
class Geocoded:
    """Per-row outcome of intake geocoding (positions of the normalised frame)."""

    result: pd.DataFrame
    had_coords: np.ndarray
    queued: np.ndarray


def _geocode_rows(conn: Connection, df: pd.DataFrame, params: AddressParams) -> Geocoded:
    n = len(df)
    lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(float)
    had = np.isfinite(lon) & np.isfinite(lat)
    addr = df["address"].astype(object).where(df["address"].notna(), "").astype(str).str.strip()
    has_addr = (addr != "").to_numpy()
    empty = pd.DataFrame({"status": [None] * n, "level": None, "score": np.nan,
                          "lon": np.nan, "lat": np.nan, "reason": None, "candidates": None})
    count = conn.execute(sa.text(
        "SELECT count(*) FROM address_entry WHERE valid_to IS NULL")).scalar_one()
    if not has_addr.any() or count == 0:  # no register: a missing point stays an error
        return Geocoded(empty, had, np.zeros(n, dtype=bool))
    result = empty.copy()
    rows = np.flatnonzero(has_addr)
    found = gmatch.geocode(load_index(conn), addr.iloc[rows].tolist(), params.match)
    for col in empty.columns:
        result.loc[rows, col] = found[col].to_numpy()
    queued = ~had & has_addr & (result["status"] != "auto").to_numpy()
    return Geocoded(result, had, queued)


def _fill(df: pd.DataFrame, geo: Geocoded, coords: str = "wgs84") -> pd.DataFrame:
    auto = ~geo.had_coords & (geo.result["status"] == "auto").to_numpy()
    out = df.copy()
    out["lon"] = out["lon"].astype(object)
    out["lat"] = out["lat"].astype(object)
    lon = geo.result.loc[auto, "lon"].to_numpy(float)
    lat = geo.result.loc[auto, "lat"].to_numpy(float)
    if coords in ("gcj02", "bd09"):
        lon, lat = crs.wgs84_to_gcj02(lon, lat)
    if coords == "bd09":
        lon, lat = crs.gcj02_to_bd09(lon, lat)
    out.loc[auto, "lon"] = lon
    out.loc[auto, "lat"] = lat
    return out


def _queued_problems(conn: Connection, df: pd.DataFrame, rows: np.ndarray,
                     params: IntakeParams) -> list[Problem]:
    """Problems of queued rows other than their missing coordinates (original row numbers)."""
    if not len(rows):
        return []
    _, problems = validate_rows(conn, df.iloc[rows].reset_index(drop=True), params=params)
    return [Problem(p.code, p.params, row=int(rows[p.row - 1]) + 1, field=p.field,
                    severity=p.severity)
            for p in problems if p.code not in ("incidents.no_coordinates",
                                                "incidents.no_boundaries")
            and p.row is not None]


def _payload(rec: dict[str, Any]) -> str:
    return json.dumps({k: (None if v is None or (isinstance(v, float) and v != v) else str(v))
                       for k, v in rec.items()}, ensure_ascii=False)


def _queue(conn: Connection, df: pd.DataFrame, geo: Geocoded, rows: np.ndarray,
           channel: str) -> list[int]:
    if not len(rows):
        return []
    r = geo.result.iloc[rows]
    ids = conn.execute(sa.text("""
        INSERT INTO address_queue (channel, address, payload, level, score, reason, candidates)
        SELECT :ch, u.address, CAST(u.payload AS jsonb), u.level, u.score, u.reason,
               CAST(u.cands AS jsonb)
        FROM unnest(CAST(:address AS text[]), CAST(:payload AS text[]), CAST(:level AS text[]),
                    CAST(:score AS float8[]), CAST(:reason AS text[]), CAST(:cands AS text[]))
             AS u(address, payload, level, score, reason, cands)
        RETURNING id"""), {
        "ch": channel, "address": [str(a) for a in df["address"].iloc[rows]],
        "payload": [_payload(rec) for rec in df.iloc[rows].to_dict("records")],
        "level": [v if isinstance(v, str) else None for v in r["level"]],
        "score": [float(v) if v == v else 0.0 for v in r["score"]],
        "reason": [v if isinstance(v, str) else None for v in r["reason"]],
        "cands": [json.dumps(c if isinstance(c, list) else [], ensure_ascii=False)
                  for c in r["candidates"]]}).scalars().all()
    return [int(i) for i in ids]


_MARK = """
UPDATE incident i SET
  geocode_level = CASE WHEN u.placed THEN u.level END,
  geocode_score = CASE WHEN u.placed THEN u.score END,
  geocode_status = CASE WHEN u.placed THEN 'auto' END,
  address_distance_m = CASE WHEN NOT u.placed AND u.lon IS NOT NULL THEN
      ST_Distance(i.geom::geography, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326)::geography) END,
  address_far = NOT u.placed AND u.lon IS NOT NULL AND NOT ST_DWithin(i.geom::geography,
      ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326)::geography, :far)
FROM unnest(CAST(:address AS text[]), CAST(:level AS text[]), CAST(:score AS float8[]),
            CAST(:lon AS float8[]), CAST(:lat AS float8[]), CAST(:placed AS boolean[]))
     AS u(address, level, score, lon, lat, placed)
WHERE i.address = u.address AND i.geocode_status IS NULL AND {where}
"""


def _mark(conn: Connection, df: pd.DataFrame, geo: Geocoded, keep: np.ndarray, where: str,
          params: AddressParams, bind: dict[str, Any]) -> None:
    """Geocode columns of written rows (placed from the address, or checked against it)."""
    r = geo.result
    sel = keep & (r["status"] == "auto").to_numpy()
    if not sel.any():
        return
    sub = pd.DataFrame({"address": df["address"].to_numpy()[sel], "level": r["level"][sel],
                        "score": r["score"][sel], "lon": r["lon"][sel], "lat": r["lat"][sel],
                        "placed": ~geo.had_coords[sel]}).drop_duplicates(["address", "placed"])
    conn.execute(sa.text(_MARK.format(where=where)), {
        **bind, "far": params.far_m, "address": sub["address"].astype(str).tolist(),
        "level": sub["level"].tolist(), "score": sub["score"].astype(float).tolist(),
        "lon": sub["lon"].astype(float).tolist(), "lat": sub["lat"].astype(float).tolist(),
        "placed": sub["placed"].astype(bool).tolist()})


def geocode_intake(conn: Connection, frame: pd.DataFrame, *, coords: str = "wgs84",
                   params: AddressParams | None = None) -> tuple[pd.DataFrame, Geocoded]:
    """Hook before validation: rows with an address and no coordinates get the matched point
    when the matcher places them (``auto``); the others are marked ``queued``.

    ``frame`` has intake column names (``lon``, ``lat``, ``address``); returns the frame with
    the filled coordinates (same index; in the file's ``coords`` system, which validation
    converts back to WGS84) and the per-row outcome.
    """
    df = frame.reset_index(drop=True)
    geo = _geocode_rows(conn, df, params or AddressParams())
    filled = _fill(df, geo, coords)
    filled.index = frame.index
    return filled, geo


def excuse_queued(problems: list[Problem], geo: Geocoded) -> list[Problem]:
    """Problems without the missing coordinates of queued rows (1-based row numbers)."""
    queued = set((np.flatnonzero(geo.queued) + 1).tolist())
    return [p for p in problems if not (p.row in queued and p.code in (
        "incidents.no_coordinates", "incidents.no_boundaries"))]


def finish_import(conn: Connection, frame: pd.DataFrame, geo: Geocoded, report: dict[str, Any],
                  *, dry_run: bool, params: AddressParams | None = None,
                  channel: str = "import") -> None:
    """Hook after the write: geocode columns of the written rows (by import run and address),
    queued rows into the 地址待确认 queue; adds ``geocoded``, ``queued``, ``address_far``
    to ``report``."""
    ap = params or AddressParams()
    df = frame.reset_index(drop=True)
    keep = ~geo.queued
    if report.get("import_id") is not None:
        _mark(conn, df, geo, keep, "i.import_id = :imp", ap, {"imp": report["import_id"]})
        report["address_far"] = int(conn.execute(sa.text(
            "SELECT count(*) FROM incident WHERE import_id = :i AND address_far"),
            {"i": report["import_id"]}).scalar_one())
    qrows = np.flatnonzero(geo.queued)
    report["queue_ids"] = [] if dry_run else _queue(conn, df, geo, qrows, channel)
    report["queued"] = len(qrows)
    report["geocoded"] = int((~geo.had_coords & keep
                              & (geo.result["status"] == "auto").to_numpy()).sum())


def create_or_queue(conn: Connection, data: dict[str, Any], *, actor: str | None,
                    channel: str = "api", params: IntakeParams | None = None,
                    address_params: AddressParams | None = None) -> dict[str, Any]:
    """One case from the API/Open311: created (``{"incident": row}``) or queued
    (``{"queued": id, "candidates": [...]}``) when its address alone cannot place it.

    Raises
    ------
    ValidationError
        Every problem of the input (missing coordinates excused only for queued rows).
    """
    params, ap = params or IntakeParams(), address_params or AddressParams()
    rec = dict(data)
    rec.setdefault("reported_at", pd.Timestamp.now(tz="UTC").isoformat())
    df = normalise_columns(pd.DataFrame([rec])).reset_index(drop=True)
    geo = _geocode_rows(conn, df, ap)
    if geo.queued[0]:
        problems = _queued_problems(conn, df, np.array([0]), params)
        if problems:
            raise ValidationError("incidents.incident_invalid",
                                  [Problem(p.code, p.params, field=p.field) for p in problems])
        with conn.begin_nested():
            qid = _queue(conn, df, geo, np.array([0]), channel)[0]
        return {"queued": qid, "candidates": geo.result["candidates"].iat[0] or []}
    if not geo.had_coords[0] and geo.result["status"].iat[0] == "auto":
        rec["lon"], rec["lat"] = geo.result["lon"].iat[0], geo.result["lat"].iat[0]
    row = write.create(conn, rec, actor=actor, params=params)
    _mark(conn, df, geo, np.array([True]), "i.id = :id", ap, {"id": int(row["id"])})
    return {"incident": dict(row, **_geocode_cols(conn, int(row["id"])))}


def _geocode_cols(conn: Connection, incident_id: int) -> dict[str, Any]:
    return dict(conn.execute(sa.text(
        "SELECT geocode_level, geocode_score, geocode_status, address_distance_m, address_far "
        "FROM incident WHERE id = :id"), {"id": incident_id}).mappings().one())
