"""The ``gridmap`` command line: every command module, attached to one click group.

:mod:`gridmap.cli.app` holds the group (:func:`main`) and what the commands share; each
module below adds the commands of one area. They are imported here explicitly: a missing
module is an ImportError, never a silently absent command. Every command is a thin caller
of library functions and prints in the language of ``GRIDMAP_LANG`` (default zh).
"""

from gridmap.cli import (  # noqa: F401  (imported for their commands)
    analysis,
    batch,
    city,
    coverage,
    dashboard,
    db,
    dispatch,
    geocode,
    grids,
    incidents,
    ingest,
    layers,
    org,
    osm,
    profiles,
    ratings,
    sample,
    serve,
    supervise,
    tables,
    users,
)
from gridmap.cli.app import main

__all__ = ["main"]
