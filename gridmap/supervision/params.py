"""Parameters of the 督办 scan, the webhook deliverer and the post indicators, built from
:class:`gridmap.config.Settings` (defaults live there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridmap.config import Settings, params_from_settings
from gridmap.errors import ValidationError


@dataclass(frozen=True)
class ScanParams:
    """督办 scan: light thresholds and the reminder interval."""

    supervise_yellow_share: float = Settings.supervise_yellow_share
    supervise_remind_hours: float = Settings.supervise_remind_hours
    raise_level: bool = False
    """Also raise the handling level of newly escalated cases (the dispatch engine's
    ``raise_overdue``), when the dispatch package provides it."""

    def __post_init__(self) -> None:
        if not 0 < self.supervise_yellow_share < 1:
            raise ValidationError("supervise.bad_share",
                                  params={"value": self.supervise_yellow_share})
        if self.supervise_remind_hours <= 0:
            raise ValidationError("supervise.bad_interval",
                                  params={"value": self.supervise_remind_hours})

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ScanParams:
        """From settings plus explicit overrides."""
        return params_from_settings(cls, settings, **overrides)


@dataclass(frozen=True)
class WebhookParams:
    """Outgoing webhook deliverer: attempts, backoff and timeout."""

    webhook_max_attempts: int = Settings.webhook_max_attempts
    webhook_backoff_seconds: float = Settings.webhook_backoff_seconds
    webhook_timeout_seconds: float = Settings.webhook_timeout_seconds
    batch: int = 100
    lease_seconds: float = 120.0
    """A claimed delivery is not claimed again by another deliverer for this long."""

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WebhookParams:
        """From settings plus explicit overrides."""
        return params_from_settings(cls, settings, **overrides)


@dataclass(frozen=True)
class PostLimits:
    """Time limits of the post indicators (minutes)."""

    post_file_limit_minutes: float = Settings.post_file_limit_minutes
    post_dispatch_limit_minutes: float = Settings.post_dispatch_limit_minutes
    post_check_limit_minutes: float = Settings.post_check_limit_minutes

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> PostLimits:
        """From settings plus explicit overrides."""
        return params_from_settings(cls, settings, **overrides)
