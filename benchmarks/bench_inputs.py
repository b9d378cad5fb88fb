"""Cost of the text checks every intake path now runs (issue #12): gridmap.inputs.check_columns
over the 13 intake columns of a file import, against a baseline measured in the same run:
the per-column strip/blank pass intake already did before (``intake._stripped``), i.e. the
least work any import does with each text column.

Run: ``.venv/bin/python benchmarks/bench_inputs.py [--rows 200000]`` (no database; seconds).
Prints the times and ratios for a clean file and for one with a NUL and a lone surrogate
planted in two columns (those two columns take the cell-by-cell path).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gridmap import inputs  # noqa: E402
from gridmap.incidents import intake  # noqa: E402


def frame(n: int) -> pd.DataFrame:
    """``n`` rows of plausible text in every intake column, read as text (as from a CSV)."""
    cols = {c: [f"{c}-{i % 997}-路灯不亮" for i in range(n)] for c in intake.COLUMNS}
    df = pd.DataFrame(cols)
    df.loc[n // 2, "description"] = "bad\x00text"
    df.loc[n // 3, "address"] = "bad\ud800text"
    return df


def best(f: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    n = ap.parse_args().rows
    df = frame(n)
    clean = df.copy()
    clean.loc[n // 2, "description"] = clean.loc[n // 3, "address"] = "ok"
    clean_t = best(lambda: inputs.check_columns(clean, intake.COLUMNS))
    checked = best(lambda: inputs.check_columns(df, intake.COLUMNS))
    baseline = best(lambda: [intake._stripped(df[c]) for c in intake.COLUMNS])
    _, problems = inputs.check_columns(df, intake.COLUMNS)
    print(f"rows: {n:,} × {len(intake.COLUMNS)} text columns; problems found: {len(problems)}")
    print(f"check_columns, clean file:     {clean_t:.3f} s")
    print(f"check_columns, 2 bad cells:    {checked:.3f} s")
    print(f"baseline (strip/blank pass):   {baseline:.3f} s")
    print(f"ratio clean/baseline:          {clean_t / baseline:.2f}")
    print(f"ratio with bad cells/baseline: {checked / baseline:.2f}")


if __name__ == "__main__":
    main()
