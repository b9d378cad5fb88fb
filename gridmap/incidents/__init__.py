"""Incidents (事件/案件): states, intake, queries, workflow, privacy, location, hotspots, indicators.

The package's public API is re-exported here; library code imports the submodule it needs.
The event category catalogue lives in :mod:`gridmap.reference.categories` and the synthetic
incident generator in :mod:`gridmap.demo.synth`.
"""

from gridmap.incidents.intake import (
    COLUMNS,
    INTAKE_STATES,
    SOURCE_ALIASES,
    SOURCE_LABELS,
    SOURCES,
    IntakeParams,
    normalise_columns,
    read_incident_file,
    validate_rows,
)
from gridmap.incidents.privacy import (
    SUPERVISOR_ROLES,
    can_see_personal,
    mask_name,
    mask_phone,
    masked_for,
)
from gridmap.incidents.query import filter_sql, get, history, list_incidents
from gridmap.incidents.states import (
    CLOSED_STATES,
    OPEN_STATES,
    STATE_LABELS,
    STATES,
    TRANSITIONS,
)
from gridmap.incidents.workflow import transition
from gridmap.incidents.write import (
    COPY_CHUNK_ROWS,
    EVENT_COPY_COLS,
    INCIDENT_COPY_COLS,
    create,
    import_incidents,
)
from gridmap.reference.categories import (
    EVENT_CATEGORIES_CSV,
    URGENCIES,
    URGENCY_LABELS,
    categories,
    category_codes,
    load_event_categories,
    read_event_categories,
)

__all__ = [
    "EVENT_CATEGORIES_CSV",
    "STATE_LABELS",
    "STATES",
    "CLOSED_STATES",
    "OPEN_STATES",
    "TRANSITIONS",
    "SOURCES",
    "INTAKE_STATES",
    "SOURCE_LABELS",
    "SOURCE_ALIASES",
    "URGENCIES",
    "URGENCY_LABELS",
    "SUPERVISOR_ROLES",
    "IntakeParams",
    "read_event_categories",
    "load_event_categories",
    "categories",
    "category_codes",
    "mask_phone",
    "mask_name",
    "can_see_personal",
    "masked_for",
    "COLUMNS",
    "read_incident_file",
    "normalise_columns",
    "validate_rows",
    "INCIDENT_COPY_COLS",
    "EVENT_COPY_COLS",
    "COPY_CHUNK_ROWS",
    "create",
    "import_incidents",
    "get",
    "history",
    "filter_sql",
    "list_incidents",
    "transition",
]
