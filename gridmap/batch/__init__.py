"""Batch work on Dask (issue #18): bulk geolocation and geocoding of large files, coverage
per street, auto-partition of all communities, the space-time cube per street.

- :mod:`gridmap.batch.jobs`: the job table (``batch_job`` / ``batch_partition``);
- :mod:`gridmap.batch.work`: what one partition does, in one transaction with its ``done``
  mark (so a killed worker leaves nothing behind and a resumed job never duplicates rows);
- :mod:`gridmap.batch.runner`: the task graph on a ``dask.distributed`` cluster (a
  ``LocalCluster`` by default, any scheduler address for a multi-node cluster).

See docs/batch.md.
"""
