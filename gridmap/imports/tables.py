"""Reading any tabular file a street office has: CSV/TSV/TXT in UTF-8 (with or without BOM)
or GB18030/GBK, with ``,`` ``;`` tab or ``|`` separators, and Excel workbooks (XLSX/XLSM/XLS/ODS).

Public API (used by every tabular import: incidents, catalogues, units, staff, addresses)::

    read_table(path, *, sheet=None, encoding=None, separator=None) -> Table

``Table.frame`` is a :class:`pandas.DataFrame` of strings (an empty cell is ``""``) whose
column names are the original headers stripped of surrounding whitespace (and of a BOM);
``Table.columns`` keeps the headers exactly as read. ``Table.encoding`` is the detected (or
given) text encoding (``None`` for workbooks), ``Table.separator`` the detected separator
(``None`` for workbooks), ``Table.sheet`` the sheet read (``None`` for text files).

Encodings: a UTF-8 BOM is removed; valid UTF-8 is read as UTF-8; anything else is detected
with charset-normalizer, and the Chinese GB family (GB2312, GBK, GB18030) is always read as
GB18030, its superset. Workbook cells are read with python-calamine: date cells become ISO
8601 text (``2024-03-01 08:15:00``), whole numbers lose their ``.0``. Excel *serial* dates
stored as plain numbers are converted where a profile says a column is a date
(:func:`gridmap.imports.profiles.apply_profile`, :func:`excel_serial_to_datetime`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gridmap.errors import ValidationError

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
SEPARATORS = (",", ";", "\t", "|")
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "hz", "big5"}
_CJK_CONFUSED = {"cp949", "euckr", "big5hkscs", "shiftjis", "cp932", "eucjp", "johab",
                 "iso2022jp", "iso2022kr"}
"""Other East Asian double-byte guesses for text that is valid GB18030: read as GB18030."""
_SNIFF_BYTES = 256 * 1024
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
"""Day 0 of Excel's 1900 date system (serial 1 = 1900-01-01, with Excel's 1900 leap bug)."""


_SQUEEZE = re.compile(r"[\s_\-]+")


def normalise(text: object) -> str:
    """Matching key of a header or value: NFKC (full-width → half-width), case-folded,
    without spaces, ``_`` and ``-``."""
    return _SQUEEZE.sub("", unicodedata.normalize("NFKC", str(text)).casefold())


@dataclass
class Table:
    """A tabular file read into text columns, with how it was read."""

    frame: pd.DataFrame
    """Text cells (``""`` when empty); columns named by the stripped original headers."""
    path: Path
    encoding: str | None = None
    """Text encoding used (``utf-8``, ``utf-8-sig``, ``gb18030`` …); ``None`` for workbooks."""
    separator: str | None = None
    """Field separator of a text file; ``None`` for workbooks."""
    sheet: str | None = None
    """Sheet read from a workbook; ``None`` for text files."""
    sheets: list[str] = field(default_factory=list)
    """Every sheet of the workbook (empty for text files)."""
    columns: list[str] = field(default_factory=list)
    """The headers exactly as they are in the file."""

    def __len__(self) -> int:
        return len(self.frame)


def read_table(path: Path | str, *, sheet: str | int | None = None,
               encoding: str | None = None, separator: str | None = None) -> Table:
    """Read a CSV/TSV/TXT or Excel file into a :class:`Table` of text cells.

    Parameters
    ----------
    path:
        The file. Workbooks are recognised by suffix (``.xlsx``, ``.xls`` …) or by content
        (a ZIP or OLE2 signature), everything else is read as delimited text.
    sheet:
        Workbook sheet name or 0-based index; default the first sheet.
    encoding:
        Text encoding; default detected (BOM, UTF-8, then charset-normalizer).
    separator:
        Field separator; default detected among ``,`` ``;`` tab and ``|``.

    Returns
    -------
    Table

    Raises
    ------
    ValidationError
        ``tables.file_not_found``, ``tables.unknown_sheet``, ``tables.undecodable``,
        ``tables.unreadable`` or ``tables.empty_header`` (with the file name).
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError("tables.file_not_found", params={"path": str(path)})
    if _is_workbook(path):
        return _read_workbook(path, sheet)
    data = path.read_bytes()
    enc = encoding or detect_encoding(data)
    try:
        text = data.decode(enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ValidationError("tables.undecodable", params={
            "file": path.name, "encoding": enc, "error": str(exc)}) from exc
    text = text.removeprefix("\ufeff")
    sep = separator or detect_separator(text[:65536])
    try:
        # UTF-8 bytes: the C parser reads them natively (a StringIO goes through a slow
        # Python wrapper: 30 s instead of 5 s for a million rows)
        raw = data.removeprefix(b"\xef\xbb\xbf") if enc in ("utf-8", "utf-8-sig") else \
            text.encode("utf-8", "surrogatepass")
        frame = pd.read_csv(io.BytesIO(raw), sep=sep,
                            dtype=str, keep_default_na=False, na_filter=False,
                            encoding="utf-8", engine="c")
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValidationError("tables.unreadable", params={
            "file": path.name, "error": str(exc)}) from exc
    return _finish(Table(frame=frame, path=path, encoding=enc, separator=sep))


def detect_encoding(data: bytes) -> str:
    """The encoding of ``data``: ``utf-8-sig`` with a BOM, ``utf-8`` when valid, else the
    charset-normalizer guess (the GB family as ``gb18030``); ``utf-8`` for empty input."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:  # most Chinese office exports: the cheap, exact check before guessing
        data.decode("gb18030")
        strict_gb = True
    except UnicodeDecodeError:
        strict_gb = False
    from charset_normalizer import from_bytes

    best = from_bytes(data[:_SNIFF_BYTES]).best()
    guess = (best.encoding if best is not None else "").lower().replace("-", "").replace("_", "")
    if strict_gb and (not guess or guess in _GB_FAMILY or guess in _CJK_CONFUSED):
        return "gb18030"
    if best is None:
        return "gb18030" if strict_gb else "utf-8"
    if guess in _GB_FAMILY:
        return "gb18030"
    return str(best.encoding)


def detect_separator(text: str) -> str:
    """The separator among ``,`` ``;`` tab and ``|`` that splits the first lines most
    consistently (quoted fields respected); ``,`` when nothing else fits."""
    lines = text.splitlines()[:50]
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for sep in SEPARATORS:
        counts = [len(r) for r in csv.reader(lines, delimiter=sep)]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0])
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = sep, score
    return best


def excel_serial_to_datetime(values: pd.Series) -> pd.Series:
    """Excel serial day numbers (``45352.5`` = 2024-03-01 12:00) as naive timestamps;
    values that are not numbers in 1..2958465 (year 9999) become ``NaT``."""
    num = pd.to_numeric(values, errors="coerce")
    num = num.where((num >= 1) & (num < 2958466))
    return pd.Timestamp(EXCEL_EPOCH) + pd.to_timedelta((num * 86400.0).round(), unit="s")


# --- workbooks ----------------------------------------------------------------------------

def _is_workbook(path: Path) -> bool:
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return True
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: an .xls saved without its suffix
        return True
    if head.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            with zipfile.ZipFile(path) as zf:
                return "xl/workbook.xml" in zf.namelist()
        except zipfile.BadZipFile:
            return False
    return False


def _read_workbook(path: Path, sheet: str | int | None) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types
        raise ValidationError("tables.unreadable", params={
            "file": path.name, "error": str(exc)}) from exc
    names = list(wb.sheet_names)
    if sheet is None:
        chosen = names[0] if names else None
    elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit()
                                    and sheet not in names):
        idx = int(sheet)
        chosen = names[idx] if 0 <= idx < len(names) else None
    else:
        chosen = sheet if sheet in names else None
    if chosen is None:
        raise ValidationError("tables.unknown_sheet", params={
            "file": path.name, "sheet": str(sheet), "choices": names})
    rows = wb.get_sheet_by_name(chosen).to_python(skip_empty_area=True)
    rows = [r for r in rows if any(_cell_text(v) for v in r)]
    if not rows:
        frame = pd.DataFrame()
    else:
        width = max(len(r) for r in rows)
        header = [_cell_text(v) for v in rows[0]] + [""] * (width - len(rows[0]))
        body = [[_cell_text(v) for v in r] + [""] * (width - len(r)) for r in rows[1:]]
        frame = pd.DataFrame(body, columns=_unique(header), dtype=object)
    return _finish(Table(frame=frame, path=path, sheet=chosen, sheets=names))


def _cell_text(value: Any) -> str:
    """A workbook cell as text: ISO dates, whole floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):  # a time-only cell
        return str(value)
    return str(value)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        n = n or f"column_{i + 1}"
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}.{k}")
    return out


def _finish(table: Table) -> Table:
    """Keep the original headers, strip them (and any BOM) for the frame's column names."""
    frame = table.frame
    table.columns = [str(c) for c in frame.columns]
    stripped = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    if any(not c for c in stripped) and len(frame.columns) == 1 and not len(frame):
        raise ValidationError("tables.empty_header", params={"file": table.path.name})
    frame.columns = _unique(stripped)
    table.frame = frame.astype(object).fillna("") if len(frame.columns) else frame
    return table
