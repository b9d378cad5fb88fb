"""Binary COPY encoder: every column kind arrives intact, streamed or in one piece."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridmap.db import bulkcopy

KINDS = {"i4": "int4", "i8": "int8", "f8": "float8", "b": "bool", "ts": "ts"}
COLS = ["i4", "i8", "f8", "b", "ts", "txt", "geom"]


@pytest.fixture
def target(conn: Connection) -> str:
    conn.execute(sa.text("CREATE TEMP TABLE bc (i4 int, i8 bigint, f8 float8, b boolean, "
                         "ts timestamptz, txt text, geom geometry(Point, 4326))"))
    return "bc"


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    words = np.array(["井盖", "abc", "", "x" * 300, "δ"], dtype=object)
    return pd.DataFrame({
        "i4": pd.array(np.where(np.arange(n) % 7 == 0, None, np.arange(n)), dtype="Int64"),
        # beyond 2**53 too (H3 cell ids): exact, not through float64
        "i8": np.arange(n, dtype=np.int64) * 3_000_000_000 + 617_700_169_958_293_503,
        "f8": np.where(np.arange(n) % 5 == 0, np.nan, rng.normal(size=n)),
        "b": np.arange(n) % 2 == 0,
        "ts": pd.Series(pd.date_range("2025-01-01", periods=n, freq="37min", tz="Asia/Shanghai"))
        .where(np.arange(n) % 3 != 0),
        "txt": words[np.arange(n) % len(words)],
        "lon": 121.4 + rng.uniform(0, 0.1, n),
        "lat": 31.2 + rng.uniform(0, 0.1, n),
    })


@pytest.mark.parametrize("n, streamed", [(5, False), (2_500, True)])
def test_round_trip_every_kind(conn: Connection, target: str, n: int, streamed: bool) -> None:
    df = _frame(n)
    geom = bulkcopy.point_ewkb(df["lon"], df["lat"])
    if streamed:  # in chunks through the writer thread, as the incident import does
        with bulkcopy.CopyStream(conn, target, COLS) as stream:
            for a in range(0, n, 1000):
                part = df.iloc[a:a + 1000].reset_index(drop=True)
                stream.write(bulkcopy.encode_frame(part, COLS, KINDS, {
                    "geom": bulkcopy.point_ewkb(part["lon"], part["lat"])}))
    else:
        bulkcopy.copy_frame(conn, target, COLS, df, KINDS, {"geom": geom})
    back = pd.DataFrame(conn.execute(sa.text(
        "SELECT i4, i8, f8, b, ts, txt, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM bc")).all(),
        columns=["i4", "i8", "f8", "b", "ts", "txt", "lon", "lat"])
    assert len(back) == n
    assert back["i4"].isna().sum() == df["i4"].isna().sum()
    assert back["i4"].dropna().astype(int).tolist() == df["i4"].dropna().astype(int).tolist()
    assert back["i8"].tolist() == df["i8"].tolist()
    np.testing.assert_array_equal(back["f8"].to_numpy(float), df["f8"].to_numpy())
    assert back["b"].tolist() == df["b"].tolist()
    sent = df["ts"].dropna().dt.tz_convert("UTC").tolist()
    got = [t.astimezone(dt.UTC) for t in back["ts"].dropna()]
    assert got == [t.to_pydatetime() for t in sent]
    expected_txt = [None if w == "" else w for w in df["txt"]]  # '' is stored as NULL
    assert [r[0] for r in conn.execute(sa.text("SELECT txt FROM bc"))] == expected_txt
    np.testing.assert_array_equal(back["lon"].to_numpy(), df["lon"].to_numpy())
    np.testing.assert_array_equal(back["lat"].to_numpy(), df["lat"].to_numpy())


def test_mostly_distinct_text_path(conn: Connection, target: str) -> None:
    ids = pd.Series([f"案-{i}" for i in range(5_000)] + [None, ""], dtype=object)
    frame = pd.DataFrame({"txt": ids})
    bulkcopy.copy_frame(conn, target, ["txt"], frame, {})
    got = [r[0] for r in conn.execute(sa.text("SELECT txt FROM bc"))]
    assert got[:5_000] == ids[:5_000].tolist() and got[5_000:] == [None, None]


def test_error_mid_stream_writes_nothing_and_connection_stays_usable(conn: Connection, target: str) -> None:
    df = _frame(3_000)
    with pytest.raises(RuntimeError), conn.begin_nested():
        with bulkcopy.CopyStream(conn, target, COLS) as stream:
            stream.write(bulkcopy.encode_frame(df.iloc[:1000], COLS, KINDS, {
                "geom": bulkcopy.point_ewkb(df["lon"][:1000], df["lat"][:1000])}))
            raise RuntimeError("boom while preparing the next chunk")
    assert conn.execute(sa.text("SELECT count(*) FROM bc")).scalar_one() == 0
