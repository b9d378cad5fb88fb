"""Emerging hot spot analysis (EHSA) of a space-time cube: pure numpy and scipy.sparse.

The cube is ``counts[i, t]`` — cases of unit *i* (an official grid) in time step *t* (a week
or a month). Everything runs on all units and all steps at once:

1. **Gi\\*** per time step (:func:`gi_star_cube`): binary weights, self included (the "star").
   With ``time_lag = k`` a bin's neighbourhood also holds its own and its spatial neighbours'
   bins of the *k* previous steps, and the study area of step *t* is every bin of steps
   ``t-k … t`` (the space-time neighbourhood of ArcGIS's Emerging Hot Spot Analysis). With
   ``k = 0`` each step is an ordinary Gi\\* over the units, equal to ``esda.G_Local(star=True,
   transform="B")``.
2. Two-sided p-values and the **Benjamini–Hochberg** false-discovery-rate correction per
   time step (:func:`fdr_significant`).
3. **Mann-Kendall** trend of each unit's Gi\\* z series (:func:`mann_kendall`, with the tie
   correction; equal to ``pymannkendall.original_test``).
4. The **ESRI classes** (:func:`classify`): new, consecutive, intensifying, persistent,
   diminishing, sporadic, oscillating, historical hot spot, the cold counterparts, no pattern.
   Definitions in ``docs/analysis.md``.

:func:`emerging_hotspots` chains them; it takes a dense cube and a sparse adjacency and
touches no database, so a batch runner can call it per street (partition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.stats import norm

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CLASSES: tuple[str, ...] = (
    "no_pattern",
    "new_hot", "consecutive_hot", "intensifying_hot", "persistent_hot", "diminishing_hot",
    "sporadic_hot", "oscillating_hot", "historical_hot",
    "new_cold", "consecutive_cold", "intensifying_cold", "persistent_cold", "diminishing_cold",
    "sporadic_cold", "oscillating_cold", "historical_cold",
)
"""Class codes, index = the class number in :attr:`EhsaResult.classes`."""
CLASS_INDEX = {c: i for i, c in enumerate(CLASSES)}


@dataclass(frozen=True)
class EhsaParams:
    """Parameters of an emerging hot spot analysis.

    Attributes
    ----------
    alpha:
        Significance level of the FDR-corrected Gi\\* (per step) and of the trend test.
    time_lag:
        Previous time steps in a bin's neighbourhood (0: per-step Gi\\*; ArcGIS's default is 1).
    share:
        Share of the time steps a unit must be significant in to count as persistent,
        intensifying, diminishing or historical (ESRI: 90 %).
    fdr:
        Apply the Benjamini–Hochberg correction (else plain p ≤ alpha).
    """

    alpha: float = 0.05
    time_lag: int = 0
    share: float = 0.9
    fdr: bool = True


@dataclass(frozen=True)
class EhsaResult:
    """What :func:`emerging_hotspots` returns, one row per unit.

    ``z``/``p``/``significant`` are n × T; ``hot``/``cold`` are significant bins with positive
    or negative z; ``trend_z``/``trend_p``/``trend_s`` are the Mann-Kendall statistics of each
    unit's z series; ``classes`` the class number per unit (:data:`CLASSES`).
    """

    z: FloatArray
    p: FloatArray
    significant: BoolArray
    trend_s: FloatArray
    trend_z: FloatArray
    trend_p: FloatArray
    classes: npt.NDArray[np.int8]

    def class_codes(self) -> list[str]:
        """Class code per unit."""
        return [CLASSES[int(c)] for c in self.classes]


def binary_weights(adjacency: sparse.spmatrix | sparse.sparray | npt.NDArray[Any]
                   ) -> sparse.csr_matrix:
    """Symmetric 0/1 CSR weights with the diagonal set to 1 (Gi\\*: self included)."""
    a = sparse.csr_matrix(adjacency, dtype=float)
    a = ((a + a.T) != 0).astype(float)
    a = a - sparse.diags(a.diagonal()) + sparse.identity(a.shape[0], format="csr")
    a = sparse.csr_matrix(a)
    a.eliminate_zeros()
    a.data[:] = 1.0
    return a


def _window_sums(values: FloatArray, k: int) -> FloatArray:
    """Sum over the steps ``t-k … t`` along axis 1 (fewer at the start)."""
    if k == 0:
        return values
    c = np.cumsum(values, axis=1)
    out = c.copy()
    out[:, k + 1:] -= c[:, :-k - 1]
    return out


def gi_star_cube(counts: npt.ArrayLike, weights: sparse.csr_matrix, time_lag: int = 0
                 ) -> FloatArray:
    """Gi\\* z-scores of every bin of an n × T cube.

    Parameters
    ----------
    counts:
        n × T values (cases per unit and step).
    weights:
        n × n binary CSR weights with ones on the diagonal (:func:`binary_weights`).
    time_lag:
        Previous steps in the space-time neighbourhood (0: per-step Gi\\*).

    Returns
    -------
    numpy.ndarray
        n × T z-scores; 0 where a step's values do not vary.
    """
    x = np.asarray(counts, dtype=float)
    n, steps = x.shape
    k = max(int(time_lag), 0)
    card = np.asarray(weights.sum(axis=1)).ravel()  # spatial neighbours + self
    lags = np.minimum(np.arange(steps), k) + 1.0  # steps in each step's window
    big_n = n * lags  # bins in the study area of step t
    col_sum = _window_sums(x.sum(axis=0)[None, :], k)[0]
    col_sq = _window_sums((x ** 2).sum(axis=0)[None, :], k)[0]
    mean = col_sum / big_n
    var = np.maximum(col_sq / big_n - mean ** 2, 0.0)
    wi = card[:, None] * lags[None, :]  # neighbourhood size of bin (i, t)
    local = _window_sums(np.asarray(weights @ x), k)
    num = local - wi * mean[None, :]
    den = np.sqrt(var)[None, :] * np.sqrt(
        np.maximum(big_n[None, :] * wi - wi ** 2, 0.0) / np.maximum(big_n - 1.0, 1.0)[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 1e-12, num / den, 0.0)
    return np.asarray(z, dtype=float)


def fdr_significant(p: FloatArray, alpha: float) -> BoolArray:
    """Benjamini–Hochberg: which p-values of each column (time step) are significant.

    The largest rank *r* with ``p₍ᵣ₎ ≤ r·alpha/m`` (m = units) and every smaller p pass.
    """
    m = p.shape[0]
    order = np.argsort(p, axis=0, kind="stable")
    sorted_p = np.take_along_axis(p, order, axis=0)
    ranks = np.arange(1, m + 1, dtype=float)[:, None]
    passed = sorted_p <= ranks * alpha / m
    # index of the last passing rank per column (-1: none)
    last = np.where(passed.any(axis=0), m - 1 - np.argmax(passed[::-1], axis=0), -1)
    keep_sorted = np.arange(m)[:, None] <= last[None, :]
    out = np.zeros_like(passed)
    np.put_along_axis(out, order, keep_sorted, axis=0)
    return out


def _tie_term(x: FloatArray) -> FloatArray:
    """Σ t(t−1)(2t+5) over the groups of tied values of each row."""
    n, steps = x.shape
    s = np.sort(x, axis=1)
    new_group = np.ones_like(s, dtype=bool)
    new_group[:, 1:] = ~np.isclose(s[:, 1:], s[:, :-1], rtol=0.0, atol=1e-10)
    gid = np.cumsum(new_group, axis=1) - 1 + (np.arange(n) * steps)[:, None]
    sizes = np.bincount(gid.ravel(), minlength=n * steps).reshape(n, steps).astype(float)
    return np.asarray((sizes * (sizes - 1) * (2 * sizes + 5)).sum(axis=1), dtype=float)


def mann_kendall(series: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mann-Kendall trend test of every row (two-sided, normal approximation, tie correction).

    Parameters
    ----------
    series:
        n × T values in time order.

    Returns
    -------
    tuple of numpy.ndarray
        ``s`` (Σ sign(xⱼ − xᵢ) over i < j), ``z`` (continuity-corrected) and two-sided ``p``.
    """
    x = np.asarray(series, dtype=float)
    n, steps = x.shape
    s = np.zeros(n)
    for lag in range(1, steps):  # T−1 vectorised passes over all rows
        d = x[:, lag:] - x[:, :-lag]
        d[np.abs(d) <= 1e-10] = 0.0
        s += np.sign(d).sum(axis=1)
    var = (steps * (steps - 1) * (2 * steps + 5) - _tie_term(x)) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(np.maximum(var, 1e-300)), 0.0)
    p = 2.0 * norm.sf(np.abs(z))
    return s, np.asarray(z, dtype=float), np.asarray(p, dtype=float)


def _trailing_run(flags: BoolArray) -> npt.NDArray[np.int64]:
    """Length of the run of True at the end of each row."""
    steps = flags.shape[1]
    rev = flags[:, ::-1]
    first_false = np.where((~rev).any(axis=1), np.argmax(~rev, axis=1), steps)
    return np.asarray(first_false, dtype=np.int64)


def _classify_side(own: BoolArray, other: BoolArray, trend: FloatArray, trend_sig: BoolArray,
                   share: float, kind: str) -> npt.NDArray[np.int8]:
    """Class numbers of one side (hot or cold; 0 = none) — ESRI's order of tests."""
    steps = own.shape[1]
    count = own.sum(axis=1)
    run = _trailing_run(own)
    last = own[:, -1]
    mostly = count >= share * steps
    sign = 1.0 if kind == "hot" else -1.0
    out = np.zeros(own.shape[0], dtype=np.int8)
    rules = [
        (last & (count == 1), "new"),
        (last & (run >= 2) & (count == run) & ~mostly, "consecutive"),
        (last & mostly & trend_sig & (sign * trend > 0), "intensifying"),
        (last & mostly & trend_sig & (sign * trend < 0), "diminishing"),
        (last & mostly, "persistent"),
        (last & other[:, :-1].any(axis=1), "oscillating"),
        (last, "sporadic"),
        (~last & mostly, "historical"),
    ]
    done = np.zeros(own.shape[0], dtype=bool)
    for mask, name in rules:
        pick = mask & ~done
        out[pick] = CLASS_INDEX[f"{name}_{kind}"]
        done |= pick
    return out


def classify(hot: BoolArray, cold: BoolArray, trend_z: FloatArray, trend_p: FloatArray,
             alpha: float = 0.05, share: float = 0.9) -> npt.NDArray[np.int8]:
    """ESRI emerging-hot-spot class of every unit from its significant hot/cold bins.

    Parameters
    ----------
    hot, cold:
        n × T significant bins with z > 0 / z < 0.
    trend_z, trend_p:
        Mann-Kendall z and p of each unit's Gi\\* series.
    alpha:
        Significance of the trend.
    share:
        Share of steps for persistent / intensifying / diminishing / historical.

    Returns
    -------
    numpy.ndarray
        Class number per unit (:data:`CLASSES`).
    """
    trend_sig = trend_p <= alpha
    h = _classify_side(hot, cold, trend_z, trend_sig, share, "hot")
    c = _classify_side(cold, hot, trend_z, trend_sig, share, "cold")
    return np.where(h > 0, h, c).astype(np.int8)


def emerging_hotspots(counts: npt.ArrayLike, adjacency: sparse.spmatrix | sparse.sparray,
                      params: EhsaParams | None = None) -> EhsaResult:
    """Emerging hot spot analysis of an n × T cube.

    Parameters
    ----------
    counts:
        n × T cases per unit and time step (oldest step first).
    adjacency:
        n × n neighbours (any symmetric non-zero pattern; the diagonal is set to 1).
    params:
        Significance, time lag, share (:class:`EhsaParams`).

    Returns
    -------
    EhsaResult
        Gi\\* z, p, significance per bin; trend and class per unit.
    """
    params = params or EhsaParams()
    x = np.asarray(counts, dtype=float)
    if x.shape[0] == 0:  # no grid in scope
        empty = np.zeros(0)
        return EhsaResult(z=x.copy(), p=x.copy(), significant=x.astype(bool), trend_s=empty,
                          trend_z=empty, trend_p=empty, classes=np.zeros(0, dtype=np.int8))
    w = binary_weights(adjacency)
    z = gi_star_cube(x, w, params.time_lag)
    p = 2.0 * norm.sf(np.abs(z))
    sig = fdr_significant(p, params.alpha) if params.fdr else p <= params.alpha
    s, tz, tp = mann_kendall(z)
    classes = classify(sig & (z > 0), sig & (z < 0), tz, tp, params.alpha, params.share)
    return EhsaResult(z=z, p=p, significant=sig, trend_s=s, trend_z=tz, trend_p=tp,
                      classes=classes)
