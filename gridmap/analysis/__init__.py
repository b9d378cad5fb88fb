"""Space-time analysis of cases on the official grids (#17 §4).

- :mod:`gridmap.analysis.ehsa` — emerging hot spots: Getis-Ord Gi* per time step of a
  grid × step cube, Benjamini–Hochberg FDR, Mann-Kendall trend, the ESRI classes. Pure numpy
  and scipy.sparse (no database), callable per partition.
- :mod:`gridmap.analysis.cube` — the cube (one SQL aggregate) and queen-contiguity weights of
  the active grids, read from PostGIS.
- :mod:`gridmap.analysis.accuracy` — predictive accuracy index (PAI) and hit rate of last
  period's hot spots for this period's cases.
- :mod:`gridmap.analysis.report` — the emerging-hot-spot run over the database (cube →
  classes → rows) shared by the CLI and the API.
"""
