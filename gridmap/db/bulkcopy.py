"""PostgreSQL binary ``COPY`` built with numpy, for bulk writes of many rows.

Whole columns are encoded at once (fixed-width values with one ``astype``, text through its
distinct values, points as EWKB from the coordinate arrays), then interleaved into rows with
index arithmetic: there is no per-row Python formatting. :class:`CopyStream` sends rows in
chunks through psycopg's queued writer, so the server ingests one chunk on its core while
Python prepares the next one on the other (the COPY protocol is one ordered byte stream on
one connection, inside the caller's transaction).

Column kinds: ``int2``, ``int4``, ``int8``, ``float8``, ``bool``, ``ts`` (timestamptz),
``text``; or an already encoded :data:`Field` (e.g. EWKB points from :func:`point_ewkb`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.engine import Connection

from gridmap.db.engine import raw_psycopg

Field = tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]
"""One encoded column: per-row byte lengths (-1 = NULL) and the concatenated payload."""

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
TRAILER = b"\xff\xff"
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01
_FIXED = {"int2": (">i2", 2), "int4": (">i4", 4), "int8": (">i8", 8), "float8": (">f8", 8),
          "bool": ("u1", 1)}


def point_ewkb(lon: npt.ArrayLike, lat: npt.ArrayLike, srid: int = 4326) -> Field:
    """EWKB points (little endian, with SRID) built from coordinate arrays, 25 bytes each."""
    x = np.asarray(lon, dtype=float)
    rec = np.empty(len(x), dtype=[("bo", "u1"), ("type", "<u4"), ("srid", "<u4"),
                                  ("x", "<f8"), ("y", "<f8")])
    rec["bo"] = 1
    rec["type"] = 0x20000001  # Point | SRID flag
    rec["srid"] = srid
    rec["x"] = x
    rec["y"] = np.asarray(lat, dtype=float)
    return np.full(len(x), 25, dtype=np.int64), rec.view(np.uint8).reshape(-1)


def encode_column(kind: str, values: pd.Series) -> Field:
    """Encode one column in the binary COPY layout (see the module docstring for kinds)."""
    if kind in _FIXED:
        s = values
        if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
            s = pd.to_numeric(s.astype(object).where(s.notna(), None), errors="coerce")
        null = s.isna().to_numpy(dtype=bool)
        dtype, width = _FIXED[kind]
        if kind in ("int2", "int4", "int8") and pd.api.types.is_integer_dtype(s.dtype):
            vals = s.to_numpy(dtype="int64", na_value=0)[~null]  # exact above 2**53 (H3 ids)
        else:
            vals = s.to_numpy(dtype="float64", na_value=0.0)[~null]
            if kind in ("int2", "int4", "int8"):
                vals = np.rint(vals)
        return np.where(null, -1, width).astype(np.int64), vals.astype(dtype).view(np.uint8)
    if kind == "ts":
        ts = values if isinstance(values.dtype, pd.DatetimeTZDtype) else pd.to_datetime(
            values, utc=True)
        null = ts.isna().to_numpy(dtype=bool)
        us = pd.DatetimeIndex(ts).as_unit("us").asi8[~null]
        return np.where(null, -1, 8).astype(np.int64), (us - _PG_EPOCH_US).astype(">i8").view(
            np.uint8)
    head = values.iloc[:1000]
    if len(values) > 2 * len(head) and head.nunique() > len(head) // 2:
        # mostly distinct text (ids, case numbers): encode row by row, '' → NULL
        null = values.isna().to_numpy(dtype=bool)
        enc = [b"" if m else str(v).encode("utf-8")
               for v, m in zip(values.tolist(), null.tolist(), strict=True)]
        lens = np.fromiter(map(len, enc), dtype=np.int64, count=len(enc))
        lens[lens == 0] = -1
        return lens, np.frombuffer(b"".join(enc) or b"\x00", dtype=np.uint8)[:int(
            np.maximum(lens, 0).sum())]
    # other text: encode each distinct value once, then gather the bytes with numpy
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    enc = [str(u).encode("utf-8") for u in uniques.tolist()]
    ulen = np.array([len(e) for e in enc] or [0], dtype=np.int64)
    codes = np.where((codes >= 0) & (ulen[np.maximum(codes, 0)] > 0), codes, -1)  # '' → NULL
    uoff = np.concatenate([[0], np.cumsum(ulen)[:-1]])
    ubuf = np.frombuffer(b"".join(enc) or b"\x00", dtype=np.uint8)
    has = codes >= 0
    lens = np.where(has, ulen[np.maximum(codes, 0)], -1).astype(np.int64)
    w = lens[has]
    total = int(w.sum())
    if not total:
        return lens, np.empty(0, dtype=np.uint8)
    before = np.concatenate([[0], np.cumsum(w)[:-1]])
    return lens, ubuf[np.repeat(uoff[codes[has]] - before, w) + np.arange(total)]


def encode_rows(fields: Sequence[Field]) -> npt.NDArray[np.uint8]:
    """Interleave encoded columns into binary COPY rows (no header or trailer)."""
    n = len(fields[0][0])
    sizes = np.full(n, 2, dtype=np.int64)
    for lens, _ in fields:
        sizes += 4 + np.maximum(lens, 0)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    out[starts[:, None] + np.arange(2)] = np.frombuffer(
        np.array([len(fields)], dtype=">i2").tobytes(), dtype=np.uint8)
    pos = starts + 2
    for lens, payload in fields:
        out[pos[:, None] + np.arange(4)] = lens.astype(">i4").view(np.uint8).reshape(n, 4)
        width = np.maximum(lens, 0)
        if payload.size:
            has = width > 0
            w = width[has]
            if (w == w[0]).all():  # fixed width: one 2-D scatter
                out[(pos[has] + 4)[:, None] + np.arange(int(w[0]))] = payload.reshape(-1,
                                                                                    int(w[0]))
            else:
                before = np.concatenate([[0], np.cumsum(w)[:-1]])
                out[np.repeat(pos[has] + 4 - before, w) + np.arange(payload.size)] = payload
        pos = pos + 4 + width
    return out


def encode_frame(frame: pd.DataFrame, cols: Sequence[str], kinds: Mapping[str, str],
                 encoded: Mapping[str, Field] | None = None) -> npt.NDArray[np.uint8]:
    """Rows of ``frame[cols]``; ``encoded`` supplies columns already encoded (e.g. points)."""
    encoded = encoded or {}
    return encode_rows([encoded[c] if c in encoded else encode_column(kinds.get(c, "text"),
                                                                        frame[c]) for c in cols])


class CopyStream:
    """``COPY table (cols) FROM STDIN (FORMAT binary)`` fed chunk by chunk from a writer thread.

    Use as a context manager; :meth:`write` returns as soon as the chunk is queued (or, with
    ``queued=False`` for a few rows, once it is sent: no thread). On an exception the COPY is
    aborted (and with it the caller's transaction or savepoint).
    """

    def __init__(self, conn: Connection, table: str, cols: Sequence[str], *,
                 queued: bool = True) -> None:
        self._sql = (f"COPY {table} ({', '.join(cols)}) FROM STDIN "  # noqa: S608 - fixed names
                     "WITH (FORMAT binary)")
        self._conn = conn
        self._queued = queued
        self._cur: Any = None
        self._ctx: Any = None
        self._cp: Any = None

    def __enter__(self) -> CopyStream:
        self._cur = raw_psycopg(self._conn).cursor()
        writer = QueuedLibpqWriter(self._cur) if self._queued else None
        self._ctx = self._cur.copy(self._sql, writer=writer)
        self._cp = self._ctx.__enter__()
        self._cp.write(HEADER)
        return self

    def write(self, rows: npt.NDArray[np.uint8]) -> None:
        """Queue encoded rows (from :func:`encode_rows`)."""
        self._cp.write(rows.tobytes())

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc is None:
                self._cp.write(TRAILER)
            self._ctx.__exit__(exc_type, exc, tb)
        finally:
            self._cur.close()


def copy_frame(conn: Connection, table: str, cols: Sequence[str], frame: pd.DataFrame,
               kinds: Mapping[str, str], encoded: Mapping[str, Field] | None = None) -> None:
    """Binary COPY of a whole frame in one stream."""
    with CopyStream(conn, table, cols, queued=False) as stream:
        if len(frame):
            stream.write(encode_frame(frame, cols, kinds, encoded))
