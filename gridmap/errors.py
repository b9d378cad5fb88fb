"""Error hierarchy with user-safe messages.

Every error raised on purpose by the library derives from :class:`GridmapError`.
Messages are safe to show to an end user (no SQL, no stack traces). ``web/``
maps the classes to HTTP status codes in one place; the CLI prints the message
and exits with code 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One problem found while validating input.

    Parameters
    ----------
    reason:
        Human-readable explanation, e.g. ``"longitude and latitude look swapped"``.
    row:
        1-based row/feature number in the input, if the problem belongs to a row.
    field:
        Name of the offending field or column, if any.
    severity:
        ``"error"`` blocks the operation; ``"warning"`` is reported but allowed.
    geometry:
        Optional GeoJSON-like mapping that locates the problem (for highlighting).
    """

    reason: str
    row: int | None = None
    field: str | None = None
    severity: str = "error"
    geometry: dict[str, Any] | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field {self.field}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable mapping."""
        out: dict[str, Any] = {"reason": self.reason, "severity": self.severity}
        if self.row is not None:
            out["row"] = self.row
        if self.field:
            out["field"] = self.field
        if self.geometry is not None:
            out["geometry"] = self.geometry
        return out


class GridmapError(Exception):
    """Base class of every deliberate gridmap error. ``str(err)`` is user-safe."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(GridmapError):
    """A required setting is missing or malformed."""


class DatabaseUnavailable(GridmapError):
    """The database cannot be reached or the local cluster cannot start."""


class NotFound(GridmapError):
    """A referenced object (id, code) does not exist."""


class ValidationError(GridmapError):
    """Input failed validation. ``problems`` lists every problem found at once."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems: list[Problem] = list(problems or [])
        self.headline = message
        """The message without the problem details appended below."""
        errors = [p for p in self.problems if p.severity == "error"]
        if errors:
            detail = "; ".join(str(p) for p in errors[:5])
            more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
            message = f"{message}: {detail}{more}"
        super().__init__(message)


class InputTooLarge(ValidationError):
    """An upload or file exceeds the configured size limit."""


class PermissionDenied(GridmapError):
    """The acting user's role does not allow the operation."""


class Conflict(GridmapError):
    """The object changed since it was read (optimistic locking) or already exists."""


class IllegalTransition(GridmapError):
    """A case workflow transition that the state machine does not allow."""
