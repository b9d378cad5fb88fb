"""Life-circle accessibility: the walking network, coverage, service areas and siting.

Modules, lowest first: :mod:`~gridmap.access.storage` (COPY helpers),
:mod:`~gridmap.access.graph` (the sparse walking graph, loading/caching, snapping),
:mod:`~gridmap.access.distances` (multi-source network distances),
:mod:`~gridmap.access.network` (building the network from OSM lines),
:mod:`~gridmap.access.service_areas` (5/10/15-minute walking areas),
:mod:`~gridmap.access.inputs` (facility types, buildings and facilities on the graph),
:mod:`~gridmap.access.whatif` and :mod:`~gridmap.access.siting` (what-if, candidate sites),
:mod:`~gridmap.access.coverage` (refresh, aggregates, gaps; re-exports what-if and siting).
"""
