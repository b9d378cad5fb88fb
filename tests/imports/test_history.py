"""History checks of an import: the flag, impossible times, missing closing times, due times."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy.engine import Connection

from gridmap.imports import history
from gridmap.incidents.intake import IntakeParams

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _frame(**cols: list[object]) -> pd.DataFrame:
    base = {"reported_at": pd.to_datetime(["2025-05-06 02:00"] * 3, utc=True),
            "state": ["closed", "handling", "reported"], "category_code": ["E0102"] * 3,
            "urgency": ["normal"] * 3}
    base.update(cols)
    return pd.DataFrame(base)


def test_without_the_flag_history_rows_are_refused(conn: Connection) -> None:
    df = _frame(closed_at=["2025-05-07 02:00", None, None])
    problems = history.check(conn, df, False, IntakeParams(), now=NOW)
    assert [(p.code, p.row) for p in problems] == [("tables.history_needs_flag", 1)]


def test_impossible_times_and_missing_closing_time(conn: Connection) -> None:
    df = _frame(closed_at=[None, "2025-05-05 02:00", None],
                dispatched_at=["2025-05-06 03:00", "2027-01-01 00:00", None])
    problems = history.check(conn, df, True, IntakeParams(), now=NOW)
    got = sorted((p.code, p.row, p.severity) for p in problems)
    assert got == [("tables.closed_without_time", 1, "warning"),
                   ("tables.due_computed", None, "warning"),
                   ("tables.history_before_report", 2, "error"),
                   ("tables.history_future_time", 2, "error")]


@pytest.mark.parametrize("urgency", ["normal", "urgent"])
def test_due_time_from_the_category_limit(conn: Connection, urgency: str) -> None:
    # E0102 暴露垃圾: dispatched on a Tuesday morning, Beijing time
    df = _frame(dispatched_at=["2025-05-06 01:00", None, None], urgency=[urgency] * 3)
    history.check(conn, df, True, IntakeParams(), now=NOW)
    due = df["due_at"]
    assert due.iloc[0] > df["dispatched_at"].iloc[0] and due.iloc[1] > df["reported_at"].iloc[1]
    assert pd.isna(due.iloc[2])  # 信息收集: no clock yet
