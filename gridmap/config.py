"""Settings: defaults in code, then environment (``GRIDMAP_*``, ``DATABASE_URL``),
then an explicit mapping (what ``create_app(config)`` or a test passes).

The library itself never reads settings globally: callers load a
:class:`Settings` once and pass plain values to library functions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from gridmap.errors import ConfigError


def package_path(*parts: str) -> Path:
    """A directory or file shipped inside the ``gridmap`` package (package data).

    Read through :mod:`importlib.resources`; gridmap is installed as plain files (never run
    from a zip), so the resource is a real path that GDAL, pandas and Alembic can open.
    """
    found = resources.files("gridmap").joinpath(*parts)
    if not isinstance(found, Path):
        raise ConfigError("config.package_not_on_disk", {"resource": "/".join(parts)})
    return found


def checkout_root() -> Path | None:
    """The source checkout gridmap runs from, or ``None`` when it is an installed package."""
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "gridmap"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def default_data_dir() -> Path:
    """Where the embedded cluster lives unless ``GRIDMAP_DATA_DIR`` says otherwise.

    ``<checkout>/.gridmap`` in a checkout; for an installed package a writable place outside
    it: ``/var/lib/gridmap`` for root (the ``postgres`` user must reach it, and root's home
    is closed to it), else ``$XDG_DATA_HOME/gridmap`` (``~/.local/share/gridmap``).
    """
    root = checkout_root()
    if root is not None:
        return root / ".gridmap"
    if os.geteuid() == 0:
        return Path("/var/lib/gridmap")
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "gridmap"


DATA_GEO = package_path("data")
"""Reference catalogues and sample data shipped with the package (``gridmap/data/``)."""


@dataclass(frozen=True)
class Settings:
    """Runtime configuration.

    Every field can be set from the environment as ``GRIDMAP_<FIELD_NAME>``
    (upper case); ``database_url`` also from ``DATABASE_URL``.
    """

    # --- database -------------------------------------------------------
    database_url: str | None = None
    """External PostgreSQL/PostGIS URL; when unset, a project-local cluster is used."""
    data_dir: Path = default_data_dir()
    """Where the embedded cluster keeps its data directory, socket and password
    (``<checkout>/.gridmap`` in a checkout, else ``~/.local/share/gridmap``)."""
    local_db_port: int = 0
    """Port of the embedded cluster; 0 = the first free port from 54329 on, chosen when the
    cluster is created and remembered in ``<data_dir>/port`` (two checkouts never clash)."""
    local_db_name: str = "gridmap"

    # --- input limits -----------------------------------------------------
    max_upload_bytes: int = 50 * 1024 * 1024
    """Files or request bodies larger than this are refused (InputTooLarge)."""

    # --- grids (reference/grids.md) -----------------------------------------
    grid_seq_width: int = 3
    """Digits of the grid sequence appended to the 12-digit community code
    (3 = Beijing DB11/T 2157-2023 layout, 15 digits; 2 = CJ/T 213 layout)."""
    grid_households_min: int = 300
    grid_households_max: int = 500
    grid_residents_max: int = 2500

    # --- population estimate (documented in docs/population.md) -------------
    floor_height_m: float = 3.0
    floor_area_per_person_m2: float = 35.0
    usable_floor_ratio: float = 0.75
    persons_per_household: float = 2.5
    default_residential_levels: int = 6

    # --- OSM facility matching (reference/life_circle.md §6) ----------------
    osm_unknown_school_level_counts_both: bool = True
    """A school without isced:level or a telling name counts as primary AND junior school."""

    # --- life circle (reference/life_circle.md §5) ---------------------------
    walking_speed_m_per_min: float = 60.0

    # --- capacity-aware access (2SFCA) and community profiles (issue #17, gridmap.access.fca,
    # gridmap.profiles) ---------------------------------------------------------
    fca_decay: str = "step"
    """Distance decay of the two-step floating catchment: step | gaussian (GRIDMAP_FCA_DECAY)."""
    fca_share_age_0_3: float = 0.025
    """Share of residents aged 0-3 where a building has no imported age groups [unverified]."""
    fca_share_age_3_6: float = 0.03
    """Share of residents aged 3-6 where a building has no imported age groups [unverified]."""
    fca_share_age_60_plus: float = 0.25
    """Share of residents aged 60+ where a building has no imported age groups [unverified]
    (Shanghai's resident population is about a quarter 60+; registered residents more)."""
    profile_recurrent_min_cases: int = 3
    """A category with at least this many cases at one building (or estate) in the profile's
    window is a recurrent problem (反复发生)."""
    profile_months: int = 12
    """Months of cases a community profile shows (cases by category and month)."""

    # --- district dashboard 一屏观天下 (issue #17 §3, gridmap.dashboard) ---------------
    dashboard_period_days: int = 30
    """Days of the KPI period (结案率, 按期结案率, 小事不出网格, satisfaction): the last N days."""
    dashboard_trend_days: int = 30
    """Days of the daily trend lines."""
    dashboard_trend_weeks: int = 12
    """Weeks of the weekly trend lines."""
    dashboard_urgent_limit: int = 12
    """Recent 应急/重点 cases listed on the dashboard."""
    dashboard_ranking_limit: int = 10
    """Rows of each ranking (streets/communities/grids, units)."""
    dashboard_refresh_seconds: int = 60
    """Auto-refresh interval of the dashboard page (GRIDMAP_DASHBOARD_REFRESH_SECONDS)."""
    dashboard_cache_seconds: float = 20.0
    """Server-side cache of one area's payload (0 = no cache); shorter than the refresh."""
    dashboard_satisfied_from: int = 4
    """Satisfaction score (1-5) counted as satisfied (满意率)."""

    # --- incidents (reference/cases.md) --------------------------------------
    near_boundary_m: float = 10.0
    duplicate_radius_m: float = 50.0
    duplicate_window_hours: float = 24.0
    work_periods: str = "08:30-12:00,13:30-17:30"
    """Daily work periods for due times on the working clock [unverified]; e.g.
    GRIDMAP_WORK_PERIODS=09:00-12:00,13:00-17:00."""
    weekend_days: str = "sat,sun"
    """Rest days of the week unless a 调休 working day (GRIDMAP_WEEKEND_DAYS=sun)."""

    # --- tabular office imports (issue #15, gridmap.imports.cases) -------------
    outside_tolerance_m: float = 2000.0
    """Incident points farther than this outside every street/district are refused; closer
    ones fall to the nearest grid (属地兜底). `gridmap import incidents --outside-tolerance`."""
    satisfaction_scale_file: str = ""
    """An office's own satisfaction scale (CSV ``text,score``: 满意 → 5 …) for imported
    satisfaction words; empty: the shipped [seed] scale (gridmap/data/satisfaction_scale.csv)."""

    # --- layer office imports (issue #15, gridmap.imports.layers) ---------------
    facility_dedup_m: float = 30.0
    """A POI this close to a stored facility of the same type is a duplicate (reported, not
    inserted). `gridmap import facilities --dedup-m`."""

    # --- dispatch engine (issue #13, gridmap.dispatch) -----------------------
    accept_limits: str = "urgent=30 minute,key=2 hour,normal=1 working_day"
    """接单 time limit per order type (应急单=urgent, 重点单=key, 常规单=normal) [seed]/[local]
    examples; GRIDMAP_ACCEPT_LIMITS="urgent=15 minute,key=1 hour,normal=4 working_hour"."""
    category_levels: str = "E04=street"
    """Initial handling level by category code or group prefix (longest prefix wins; others
    start at grid): e.g. 突发事件 E04 at street. Empty for all at grid."""
    recurrence_count: int = 3
    """Same category within recurrence_radius_m in recurrence_days: this many cases (the new
    one included) raise the level one step (分级响应)."""
    recurrence_radius_m: float = 100.0
    recurrence_days: int = 30

    # --- supervision / 督办, notifications, post indicators (issue #13, gridmap.supervision) --
    supervise_yellow_share: float = 0.2
    """Yellow light when less than this share of the time limit is left (acceptance:
    accept_due_at; handling: due_at); red when overdue."""
    supervise_remind_hours: float = 4.0
    """A lit case gets a reminder to its unit at each light change and at most once per
    this many hours while the light stays."""
    webhook_max_attempts: int = 6
    """Outgoing webhook: attempts before a delivery is given up."""
    webhook_backoff_seconds: float = 30.0
    """First retry delay; doubled after each failed attempt."""
    webhook_timeout_seconds: float = 5.0
    post_file_limit_minutes: float = 60.0
    """On-time 立案/核实 (受理员, 值班长): reported → filed within this many minutes [local]."""
    post_dispatch_limit_minutes: float = 30.0
    """On-time 派遣: filed → dispatched within this many minutes (urgent: a third) [local]."""
    post_check_limit_minutes: float = 60.0
    """On-time 核查 (监督员): handled → closed/rework within this many minutes [local]."""

    # --- units, staff, posts (issue #13, gridmap.org) --------------------------
    org_unit_kinds: str = ""
    """CSV of unit kinds (code,name_zh,name_en,line,level,aliases) replacing the packaged
    gridmap/data/org_unit_kinds.csv; empty for the packaged one (GRIDMAP_ORG_UNIT_KINDS)."""

    # --- address geocoding (issue #19, gridmap.geocode) -----------------------
    geocode_auto_min_score: float = 0.8
    """An address is placed without a person only at this score or above (and at building,
    lane, road+number or named-place level, with no tie and no 近/附近 cue)."""
    geocode_tie_margin: float = 0.05
    """A second candidate elsewhere within this score of the best one is a tie: queued."""
    geocode_fuzzy_cutoff: float = 60.0
    """Least edit-distance similarity (0..100) for a road or place name to be a candidate."""
    geocode_far_m: float = 500.0
    """A case whose reported point lies farther than this from its address's match is flagged."""

    # --- field reports and case photos (issue #14 phone, gridmap.media) -----------
    photo_max_bytes: int = 8 * 1024 * 1024
    """One uploaded photo larger than this is refused (the phone sends ~1600 px JPEGs)."""
    photo_max_pixels: int = 40_000_000
    """Width × height above this is refused (decompression bombs)."""
    photo_max_side: int = 2048
    """Stored photos are scaled down to this longest side (EXIF and GPS stripped)."""
    photo_thumb_side: int = 320
    """Longest side of the thumbnails shown in lists and on the case page."""
    photos_per_report: int = 6
    """At most this many photos with one report (at least one from the field page)."""

    # --- emerging hot spots, PAI, workload balance (issue #17 §4, gridmap.analysis,
    # docs/analysis.md) -------------------------------------------------------------
    ehsa_alpha: float = 0.05
    """Significance of the FDR-corrected Gi* per time step and of the Mann-Kendall trend."""
    ehsa_time_lag: int = 0
    """Previous time steps in a bin's space-time neighbourhood (0: per-step Gi*)."""
    ehsa_share: float = 0.9
    """Share of steps significant for persistent/intensifying/diminishing/historical (ESRI 90 %)."""

    # --- web ---------------------------------------------------------------
    secret_key: str | None = None
    basemap: str = "none"
    """none | osm | tianditu | amap (amap shifts WGS84 layers to GCJ-02 for display)."""
    tianditu_key: str | None = None
    lang: str = "zh"
    """Language of messages: the CLI prints in it; pages start in it (GRIDMAP_LANG=en).
    Any language without a catalogue falls back to zh."""
    demo: bool = False

    # --- web security (issue #12): sessions, cookie, login throttle, limits ----
    session_idle_minutes: float = 30.0
    """A login ends after this long without a request."""
    session_max_hours: float = 12.0
    """A login ends this long after it began, active or not."""
    cookie_secure: bool = True
    """Session cookie sent over HTTPS only (ignored by ``--demo``, served on plain http)."""
    trusted_proxies: int = 0
    """Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed
    (werkzeug ProxyFix); 0 = the socket address is the client."""
    login_window_s: float = 600.0
    """Window over which failed logins are counted."""
    login_max_per_user_address: int = 10
    """Failed logins of one username from one address before that pair is refused."""
    login_max_per_address: int = 30
    """Failed logins from one address (any usernames: spraying) before it is refused."""
    login_max_per_user: int = 50
    """Failed logins of one username from anywhere; beyond it an address that never logged
    in as that user may try once per ``login_slow_s`` (the owner's addresses keep working)."""
    login_slow_s: float = 60.0
    api_max_body_bytes: int = 2 * 1024 * 1024
    """Largest request body of any page or API request (uploads: ``max_upload_bytes``)."""
    max_move_units: int = 5000
    """Most units one grid move request may carry."""
    db_statement_timeout_ms: int = 15000
    """statement_timeout of the web app's database sessions (0 = none)."""
    db_lock_timeout_ms: int = 5000
    """lock_timeout of the web app's database sessions (0 = none)."""

    # --- batch work on Dask and the read replica (issue #18, gridmap.batch, gridmap.db.replica)
    batch_scheduler: str | None = None
    """Address of a dask scheduler (``tcp://host:8786``) for ``gridmap batch``; unset = a
    LocalCluster on this machine (GRIDMAP_BATCH_SCHEDULER)."""
    batch_workers: int = 2
    """Worker processes of the LocalCluster (GRIDMAP_BATCH_WORKERS)."""
    read_database_url: str | None = None
    """A streaming replica for pages and read APIs (GRIDMAP_READ_DATABASE_URL); unset = the
    primary serves everything."""
    read_after_write_s: float = 10.0
    """After a session wrote, its reads go to the primary for this long (read-after-write)."""

    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Build settings from defaults, the environment and ``overrides``.

        Parameters
        ----------
        overrides:
            Mapping of field name (lower case) to value; wins over the environment.
        environ:
            Environment to read; defaults to ``os.environ``.

        Raises
        ------
        ConfigError
            If an environment value cannot be converted to the field's type.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            key = f"GRIDMAP_{f.name.upper()}"
            raw = env.get(key)
            if f.name == "database_url" and not raw:
                raw = env.get("DATABASE_URL")
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, key, raw, getattr(cls, f.name, None))
        settings = replace(cls(), **values)
        if overrides:
            known = {f.name for f in fields(cls)}
            extra = {k: v for k, v in overrides.items() if k.lower() not in known}
            chosen = {k.lower(): v for k, v in overrides.items() if k.lower() in known}
            if "data_dir" in chosen:
                chosen["data_dir"] = Path(chosen["data_dir"])
            settings = replace(settings, **chosen, extra={**settings.extra, **extra})
        return settings


def _convert(name: str, key: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
    except ValueError as exc:
        raise ConfigError("config.invalid_value",
                          {"key": key, "value": raw, "name": name}) from exc
    return raw


P = TypeVar("P")


def params_from_settings(cls: type[P], settings: Settings, **overrides: Any) -> P:
    """A domain parameter dataclass filled from the settings fields of the same names.

    Domain ``*Params`` dataclasses take their defaults from :class:`Settings`
    (``near_boundary_m: float = Settings.near_boundary_m``), so a default lives in one place;
    this builds one from loaded settings, with explicit ``overrides`` winning.
    """
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {f.name: getattr(settings, f.name) for f in fields(settings)
              if f.name in names and f.name != "extra"}
    values.update(overrides)
    return cls(**values)
