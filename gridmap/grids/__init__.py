"""Management grids (网格): a community's grid plans as versions — drafts, editing with
undo/redo, checks, impact, activation with codes — and the automatic partition into grids.

Modules: :mod:`~gridmap.grids.versions` (drafts, activation, revert, grid at a date),
:mod:`~gridmap.grids.edit` (unit moves, freehand polygons, attributes),
:mod:`~gridmap.grids.history` (locking, undo/redo), :mod:`~gridmap.grids.checks` (rules,
validation), :mod:`~gridmap.grids.impact` (impact, diff), :mod:`~gridmap.grids.codes` (grid
codes at activation), :mod:`~gridmap.grids.autopartition` (auto-partition, rebalance),
:mod:`~gridmap.grids.units` (unit cells in the database), and the pure
:mod:`~gridmap.grids.cells` (tessellation), :mod:`~gridmap.grids.partition` (algorithm),
:mod:`~gridmap.grids.geometry` (plan geometry repairs), :mod:`~gridmap.grids.frame`
(community frame, metric CRS), :mod:`~gridmap.grids.store` (shared rows and SQL).

The package's public API is re-exported here; library code imports the submodule it needs."""

from gridmap.grids.autopartition import auto_partition, rebalance
from gridmap.grids.checks import GridRules, validate
from gridmap.grids.edit import move_units, set_grid_attrs, set_grid_geometry
from gridmap.grids.history import edit_history, redo, undo
from gridmap.grids.impact import diff, impact
from gridmap.grids.store import PROVISIONAL_BASE, version_grids
from gridmap.grids.units import rebuild_cells, units_geojson
from gridmap.grids.versions import (
    activate,
    active_version,
    communities_without_plan,
    community_id_for,
    create_draft,
    discard_draft,
    get_version,
    grid_at,
    list_versions,
    revert,
    version_geojson,
    version_phase,
)

__all__ = [
    "PROVISIONAL_BASE",
    "GridRules",
    "rebuild_cells",
    "get_version",
    "active_version",
    "community_id_for",
    "communities_without_plan",
    "list_versions",
    "version_phase",
    "create_draft",
    "discard_draft",
    "version_grids",
    "version_geojson",
    "units_geojson",
    "undo",
    "redo",
    "edit_history",
    "move_units",
    "set_grid_attrs",
    "set_grid_geometry",
    "validate",
    "impact",
    "diff",
    "activate",
    "revert",
    "grid_at",
    "auto_partition",
    "rebalance",
]
