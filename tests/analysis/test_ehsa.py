"""gridmap.analysis.ehsa: Gi* per step against esda, Mann-Kendall against pymannkendall and
scipy, Benjamini–Hochberg against scipy, and synthetic cubes built to be each ESRI class."""

from __future__ import annotations

import warnings

import numpy as np
import pymannkendall as mk
import pytest
from esda.getisord import G_Local
from libpysal.weights import W, lat2W
from scipy import sparse
from scipy.stats import false_discovery_control, kendalltau

from gridmap.analysis import ehsa

SIDE, STEPS = 12, 20
BLOCK = [r * SIDE + c for r in range(4, 7) for c in range(4, 7)]  # a 3 × 3 block of grids
CENTRE = 5 * SIDE + 5


def _lattice() -> sparse.csr_matrix:
    return sparse.csr_matrix(lat2W(SIDE, SIDE, rook=False).sparse)


def _background(seed: int = 7, level: float = 10.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(level, (SIDE * SIDE, STEPS)).astype(float)


def test_gi_star_equals_esda_every_step() -> None:
    w = lat2W(6, 6, rook=False)
    x = np.random.default_rng(1).poisson(3, (36, 12)).astype(float)
    z = ehsa.gi_star_cube(x, ehsa.binary_weights(w.sparse))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(12):
            g = G_Local(x[:, t], w, transform="B", star=True, permutations=0)
            np.testing.assert_allclose(z[:, t], g.Zs, rtol=1e-10, atol=1e-10)


def test_time_lag_equals_esda_on_the_stacked_window() -> None:
    """time_lag=1: step t's Gi* is esda's Gi* of the bins of steps t-1 and t, neighbours in
    both steps (the space-time neighbourhood)."""
    w = lat2W(5, 5, rook=False)
    n = 25
    x = np.random.default_rng(2).poisson(4, (n, 8)).astype(float)
    z = ehsa.gi_star_cube(x, ehsa.binary_weights(w.sparse), time_lag=1)
    star = w.sparse + sparse.identity(n)
    block = sparse.bmat([[star, star], [star, star]]).tocsr()
    block = sparse.csr_matrix(block - sparse.diags(block.diagonal()))
    wb = W.from_sparse(block)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(1, 8):
            g = G_Local(np.concatenate([x[:, t - 1], x[:, t]]), wb, transform="B", star=True,
                        permutations=0)
            np.testing.assert_allclose(z[:, t], g.Zs[n:], rtol=1e-10, atol=1e-10)


def test_mann_kendall_equals_pymannkendall_and_scipy() -> None:
    rng = np.random.default_rng(3)
    series = np.round(rng.normal(size=(40, 30)).cumsum(axis=1), 1)  # with ties
    series[0] = 1.0  # constant: no trend
    s, z, p = ehsa.mann_kendall(series)
    for i in range(40):
        ref = mk.original_test(series[i])
        assert s[i] == pytest.approx(ref.s)
        assert z[i] == pytest.approx(ref.z, abs=1e-12)
        assert p[i] == pytest.approx(ref.p, abs=1e-12)
        if i:
            tau = kendalltau(np.arange(30), series[i])
            assert np.sign(tau.statistic) == np.sign(s[i]) or s[i] == 0
            assert p[i] == pytest.approx(tau.pvalue, rel=0.05, abs=1e-3)


def test_benjamini_hochberg_equals_scipy() -> None:
    rng = np.random.default_rng(4)
    p = np.concatenate([rng.uniform(0, 0.001, (15, 6)), rng.uniform(0, 1, (85, 6))])
    got = ehsa.fdr_significant(p, 0.05)
    for t in range(6):
        np.testing.assert_array_equal(got[:, t], false_discovery_control(p[:, t]) <= 0.05)
    assert got[:15].mean() > 0.8 and not got.all()


def _planted(block_values: np.ndarray, seed: int = 7, level: float = 10.0) -> str:
    x = _background(seed, level)
    x[BLOCK] = np.asarray(block_values, dtype=float)[None, :]
    res = ehsa.emerging_hotspots(x, _lattice())
    return res.class_codes()[CENTRE]


HIGH, LOW = 40.0, 0.0
CASES = {
    "new_hot": [10.0] * (STEPS - 1) + [HIGH],
    "consecutive_hot": [10.0] * (STEPS - 3) + [HIGH] * 3,
    "persistent_hot": [HIGH] * STEPS,
    "intensifying_hot": list(np.linspace(22, 80, STEPS)),
    "diminishing_hot": list(np.linspace(80, 22, STEPS)),
    "sporadic_hot": [HIGH if t % 4 == 0 else 10.0 for t in range(STEPS - 1)] + [HIGH],
    "oscillating_hot": [LOW] * 5 + [10.0, HIGH] * 7 + [HIGH],
    "historical_hot": [HIGH] * (STEPS - 1) + [10.0],
    "new_cold": [10.0] * (STEPS - 1) + [LOW],
    "consecutive_cold": [10.0] * (STEPS - 3) + [LOW] * 3,
    "persistent_cold": [LOW] * STEPS,
    "sporadic_cold": [LOW if t % 4 == 0 else 10.0 for t in range(STEPS - 1)] + [LOW],
    "oscillating_cold": [HIGH] * 5 + [10.0, LOW] * 7 + [LOW],
    "historical_cold": [LOW] * (STEPS - 1) + [10.0],
    "no_pattern": [10.0] * STEPS,
}


@pytest.mark.parametrize("expected", sorted(CASES))
def test_synthetic_cube_is_its_class(expected: str) -> None:
    assert _planted(np.array(CASES[expected])) == expected


def test_cold_trends_from_the_rules() -> None:
    """Intensifying/diminishing cold from significant cold bins and the z trend's sign."""
    cold = np.ones((2, 10), dtype=bool)
    hot = np.zeros_like(cold)
    tz = np.array([-3.0, 3.0])  # z falling = colder = intensifying cold
    classes = ehsa.classify(hot, cold, tz, np.array([0.001, 0.001]))
    assert [ehsa.CLASSES[c] for c in classes] == ["intensifying_cold", "diminishing_cold"]


def test_constant_cube_has_no_pattern() -> None:
    res = ehsa.emerging_hotspots(np.full((144, 6), 3.0), _lattice())
    assert not res.significant.any()
    assert set(res.class_codes()) == {"no_pattern"}


def test_no_grids_no_classes() -> None:
    res = ehsa.emerging_hotspots(np.zeros((0, 10)), sparse.csr_matrix((0, 0)))
    assert res.class_codes() == [] and res.z.shape == (0, 10)
