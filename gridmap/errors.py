"""Error hierarchy and validation problems, as stable codes with parameters.

Every error raised on purpose by the library derives from :class:`GridmapError`. An error
and a :class:`Problem` carry a ``code`` and ``params``; their text comes from the message
catalogues (:mod:`gridmap.messages`) in the reader's language, so nothing downstream parses
a sentence. ``str(err)`` is the English text (logs, tracebacks); ``err.render("zh")`` what a
Chinese user reads. ``web/`` maps the classes to HTTP status codes in one place; the CLI
prints the message in ``GRIDMAP_LANG`` and exits with code 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from gridmap import messages


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem found while validating input.

    Parameters
    ----------
    code:
        Stable message code, e.g. ``"intake.swapped_coordinates"``.
    params:
        Values the message template uses, e.g. ``{"grid": "310101001001001"}``.
    row:
        1-based row/feature number in the input, if the problem belongs to a row.
    field:
        Name of the offending field or column, if any.
    severity:
        ``"error"`` blocks the operation; ``"warning"`` is reported but allowed.
    geometry:
        Optional GeoJSON-like mapping that locates the problem (for highlighting).
    """

    code: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    row: int | None = None
    field: str | None = None
    severity: str = "error"
    geometry: dict[str, Any] | None = None

    @property
    def reason(self) -> str:
        """The English text (stable for logs and API clients that want one language)."""
        return self.render("en")

    def render(self, lang: str) -> str:
        """The problem's text in ``lang`` (without row and field)."""
        return messages.render(self.code, self.params, lang)

    def describe(self, lang: str = "en") -> str:
        """Text with its place: ``row 3, field lon: …`` / ``第 3 行，字段 lon：…``."""
        where: list[str] = []
        if self.row is not None:
            where.append(messages.render("core.where_row", {"row": self.row}, lang))
        if self.field:
            where.append(messages.render("core.where_field", {"field": self.field}, lang))
        if not where:
            return self.render(lang)
        sep = "，" if lang == "zh" else ", "
        return messages.render("core.where", {"where": sep.join(where),
                                              "text": self.render(lang)}, lang)

    def __str__(self) -> str:
        return self.describe("en")

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        """A JSON-serialisable mapping: code, params, text in ``lang`` and the English text."""
        out: dict[str, Any] = {"code": self.code, "params": _jsonable(self.params),
                               "reason": self.render(lang), "severity": self.severity}
        if lang != "en":
            out["reason_en"] = self.reason
        if self.row is not None:
            out["row"] = self.row
        if self.field:
            out["field"] = self.field
        if self.geometry is not None:
            out["geometry"] = self.geometry
        return out


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, (list, tuple, set, frozenset)):
            out[k] = [x if isinstance(x, (int, float, bool)) or x is None else str(x) for x in v]
        elif isinstance(v, (int, float, bool, str)) or v is None:
            out[k] = v
        else:
            out[k] = str(v)
    return out


class GridmapError(Exception):
    """Base class of every deliberate gridmap error.

    Parameters
    ----------
    code:
        Stable message code (see :mod:`gridmap.messages`).
    params:
        Values for the message template.
    """

    def __init__(self, code: str, params: Mapping[str, Any] | None = None) -> None:
        self.code = code
        self.params: Mapping[str, Any] = dict(params or {})
        self.message = messages.render(code, self.params, "en")
        super().__init__(self.message)

    def render(self, lang: str) -> str:
        """The error's text in ``lang``."""
        return messages.render(self.code, self.params, lang)

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        """``{"code", "params", "error"}`` for an API response."""
        return {"code": self.code, "params": _jsonable(self.params), "error": self.render(lang)}


class ConfigError(GridmapError):
    """A required setting is missing or malformed."""


class DatabaseUnavailable(GridmapError):
    """The database cannot be reached or the local cluster cannot start."""


class NotFound(GridmapError):
    """A referenced object (id, code) does not exist."""


class ValidationError(GridmapError):
    """Input failed validation. ``problems`` lists every problem found at once.

    ``str(err)`` and ``err.message`` hold the headline followed by the first five errors;
    ``err.headline`` the headline alone; ``err.render(lang)`` the same in ``lang``.
    """

    def __init__(self, code: str, problems: Sequence[Problem] | None = None,
                 params: Mapping[str, Any] | None = None) -> None:
        self.problems: list[Problem] = list(problems or [])
        super().__init__(code, params)
        self.headline = self.message
        self.message = self.render("en")
        self.args = (self.message,)

    def render(self, lang: str, limit: int = 5) -> str:
        """Headline and the first ``limit`` errors (with rows), in ``lang``."""
        head = messages.render(self.code, self.params, lang)
        errors = [p for p in self.problems if p.severity == "error"]
        if not errors or limit <= 0:
            return head
        zh = lang == "zh"
        detail = ("；" if zh else "; ").join(p.describe(lang) for p in errors[:limit])
        more = ""
        if len(errors) > limit:
            more = messages.render("core.more_problems", {"n": len(errors) - limit}, lang)
        return f"{head}{'：' if zh else ': '}{detail}{more}"

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        out = super().as_dict(lang)
        out["problems"] = [p.as_dict(lang) for p in self.problems]
        return out


class InputTooLarge(ValidationError):
    """An upload or file exceeds the configured size limit."""


class PermissionDenied(GridmapError):
    """The acting user's role or area does not allow the operation."""


class Conflict(GridmapError):
    """The object changed since it was read (optimistic locking) or already exists."""


class IllegalTransition(GridmapError):
    """A case workflow transition that the state machine does not allow."""
