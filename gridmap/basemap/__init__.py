"""A context basemap drawn from our own data (issue #16): roads, buildings, estates.

Used when no tile provider is configured (``Settings.basemap == "none"``, the offline
default):

- :mod:`gridmap.basemap.tiles`: the ``ST_AsMVT`` vector tile of one ``z/x/y`` with the
  layers ``roads`` (by class, with names), ``buildings``, ``estates`` and ``communities``,
  each from its own zoom;
- :mod:`gridmap.basemap.cache`: tiles cached in ``basemap_tile`` by ``z/x/y`` and the data
  generation (``basemap_state``, bumped by triggers when imports change the data);
- :mod:`gridmap.basemap.labels`: road and estate names as label points (with the road's
  angle) for a bbox and zoom, drawn as text by the page.
"""
