"""Offline address geocoding: the standard address register (标准地址库), a Chinese address
normaliser and parser, and fuzzy matching with levels, scores and reasons.

Modules: :mod:`~gridmap.geocode.normalise` (width, numerals, variants, rooms),
:mod:`~gridmap.geocode.parse` (elements, large to small), :mod:`~gridmap.geocode.register`
(versioned entries, loading), :mod:`~gridmap.geocode.derive` (entries from gridmap's data and
OSM ``addr:*``), :mod:`~gridmap.geocode.index` (in-memory lookups),
:mod:`~gridmap.geocode.candidates` and :mod:`~gridmap.geocode.match` (levels, scores,
decision), :mod:`~gridmap.geocode.files` (address files in and out). The intake hook and the
地址待确认 queue are in :mod:`gridmap.incidents.addressing` and
:mod:`gridmap.incidents.address_queue`.
"""
