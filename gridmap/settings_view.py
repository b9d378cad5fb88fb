"""The effective :class:`~gridmap.config.Settings` for the admin's settings page, secrets
masked: keys and passwords never leave the server, a database URL keeps its host and
database name but not its password."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from gridmap.config import Settings

MASK = "••••••"
_SECRET = re.compile(r"(secret|key|password|token)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^:/@]*):[^@]*@", re.IGNORECASE)


@dataclass(frozen=True)
class SettingRow:
    """One setting: its environment variable, shown value and whether it differs from the
    default."""

    name: str
    env: str
    value: str
    changed: bool
    secret: bool


def shown(name: str, value: Any) -> tuple[str, bool]:
    """The text shown for setting ``name`` and whether it was masked."""
    if value is None or value == "":
        return "", False
    if _SECRET.search(name):
        return MASK, True
    text = str(value)
    if name.endswith("_url"):
        masked = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
        return masked, masked != text
    return text, False


def overview(settings: Settings) -> list[SettingRow]:
    """Every setting, in the order of :class:`Settings`, secrets masked."""
    default = Settings()
    out = []
    for f in fields(Settings):
        if f.name == "extra":
            continue
        value = getattr(settings, f.name)
        text, secret = shown(f.name, value)
        out.append(SettingRow(f.name, f"GRIDMAP_{f.name.upper()}", text,
                              value != getattr(default, f.name), secret))
    return out
