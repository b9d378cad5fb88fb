"""Parameters of the dispatch engine, built from :class:`gridmap.config.Settings`.

- acceptance (接单) limits per order type: 应急单 ``urgent``, 重点单 ``key``, 常规单 ``normal``
  (the incident's urgency), each a number and a unit of :data:`gridmap.reference.workcal.UNITS`;
- the initial handling level by category code or group prefix;
- the recurrence rule of graded response (count, radius, window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gridmap.config import Settings
from gridmap.errors import ConfigError
from gridmap.reference.categories import URGENCIES
from gridmap.reference.workcal import UNITS

LEVELS: tuple[str, ...] = ("grid", "community", "street", "district")
"""Handling levels, lowest first (分级响应: grid → community → street → district)."""
LEVEL_LABELS = {"grid": "网格", "community": "社区", "street": "街道", "district": "区"}
ORDER_LABELS = {"urgent": "应急单", "key": "重点单", "normal": "常规单"}


def parse_accept_limits(text: str) -> dict[str, tuple[float, str]]:
    """``"urgent=30 minute,key=2 hour"`` → ``{"urgent": (30.0, "minute"), …}``.

    Raises
    ------
    ConfigError
        For an unknown order type or unit, or a limit that is not a positive number.
    """
    out: dict[str, tuple[float, str]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        number, _, unit = value.strip().partition(" ")
        try:
            limit = float(number)
        except ValueError:
            limit = -1.0
        if key.strip() not in URGENCIES or unit.strip() not in UNITS or limit <= 0:
            raise ConfigError("dispatch.bad_accept_limit", {"value": part})
        out[key.strip()] = (limit, unit.strip())
    return out


def parse_category_levels(text: str) -> dict[str, str]:
    """``"E04=street,C01=community"`` → ``{"E04": "street", "C01": "community"}``.

    Raises
    ------
    ConfigError
        For an entry without a prefix or with an unknown level.
    """
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        prefix, _, level = part.partition("=")
        if not prefix.strip() or level.strip() not in LEVELS:
            raise ConfigError("dispatch.bad_category_level", {"value": part})
        out[prefix.strip()] = level.strip()
    return out


@dataclass(frozen=True)
class DispatchParams:
    """What the dispatch engine needs from the settings (defaults: :class:`Settings`)."""

    accept_limits: dict[str, tuple[float, str]] = field(
        default_factory=lambda: parse_accept_limits(Settings.accept_limits))
    category_levels: dict[str, str] = field(
        default_factory=lambda: parse_category_levels(Settings.category_levels))
    recurrence_count: int = Settings.recurrence_count
    recurrence_radius_m: float = Settings.recurrence_radius_m
    recurrence_days: int = Settings.recurrence_days

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> DispatchParams:
        """Parameters from loaded settings plus explicit overrides."""
        values: dict[str, Any] = {
            "accept_limits": parse_accept_limits(settings.accept_limits),
            "category_levels": parse_category_levels(settings.category_levels),
            "recurrence_count": settings.recurrence_count,
            "recurrence_radius_m": settings.recurrence_radius_m,
            "recurrence_days": settings.recurrence_days,
        }
        values.update(overrides)
        return cls(**values)

    def accept_limit(self, urgency: str) -> tuple[float, str]:
        """The 接单 limit of an order type (1 working day when not configured)."""
        return self.accept_limits.get(urgency, (1.0, "working_day"))

    def initial_level(self, category_code: str) -> str:
        """The handling level a case of ``category_code`` starts at (longest prefix wins)."""
        best = ""
        for prefix in self.category_levels:
            if category_code.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return self.category_levels[best] if best else "grid"
