"""Parameters of the district dashboard (defaults in :class:`gridmap.config.Settings`)."""

from __future__ import annotations

from dataclasses import dataclass

from gridmap.config import Settings


@dataclass(frozen=True)
class DashboardParams:
    """What one dashboard payload covers.

    Build with ``params_from_settings(DashboardParams, settings)``; every default lives in
    :class:`gridmap.config.Settings` (``dashboard_*``).
    """

    dashboard_period_days: int = Settings.dashboard_period_days
    dashboard_trend_days: int = Settings.dashboard_trend_days
    dashboard_trend_weeks: int = Settings.dashboard_trend_weeks
    dashboard_urgent_limit: int = Settings.dashboard_urgent_limit
    dashboard_ranking_limit: int = Settings.dashboard_ranking_limit
    dashboard_refresh_seconds: int = Settings.dashboard_refresh_seconds
    dashboard_cache_seconds: float = Settings.dashboard_cache_seconds
    dashboard_satisfied_from: int = Settings.dashboard_satisfied_from
    tz: str = "Asia/Shanghai"
    """Local time zone of the day and week buckets (the working calendar's)."""
