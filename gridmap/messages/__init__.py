"""User-facing messages: stable codes rendered from zh/en message catalogues.

The library never writes a sentence for a user. Every :class:`gridmap.errors.Problem` and
every :class:`gridmap.errors.GridmapError` carries a stable ``code`` (``"grids.overlap"``)
and its ``params`` (``{"a": "…001", "b": "…002", "area": 12.5}``); this package renders
them in a language from GNU gettext catalogues read with Babel:
``locale/<lang>/LC_MESSAGES/<domain>.po`` holds one entry per code (``msgid`` = the code,
``msgstr`` = a ``str.format`` template over the params). One ``.po`` file per domain
(``core``, ``grids``, ``incidents``, …) so that each part of the library owns its texts.

API clients receive ``code``, ``params`` and the rendered text, so nobody parses sentences.
``tests/messages/test_catalogue.py`` fails when a code used in the source lacks a zh or an
en text, or when a template names a parameter that the code's callers do not pass.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All templates of ``lang`` (code → template), merged from every domain's ``.po`` file.

    Raises
    ------
    ValueError
        For a language gridmap has no catalogue for, or a code defined twice.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"no message catalogue for language {lang!r}")
    out: dict[str, str] = {}
    folder = resources.files(__package__).joinpath("locale", lang, "LC_MESSAGES")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".po"):
            continue
        with entry.open("rb") as fh:
            cat = read_po(fh, locale=lang)
        for msg in cat:
            if not msg.id or not msg.string:
                continue
            code = str(msg.id)
            if code in out:
                raise ValueError(f"message code {code!r} is defined twice ({entry.name})")
            out[code] = str(msg.string)
    return out


def placeholders(template: str) -> set[str]:
    """The parameter names a template uses (``{area:.1f}`` → ``area``)."""
    return {name.split(".")[0].split("[")[0]
            for _, name, _, _ in string.Formatter().parse(template) if name}


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(code: str, params: Mapping[str, Any] | None = None, lang: str = "en") -> str:
    """The text of ``code`` in ``lang`` with ``params`` filled in.

    An unknown language falls back to the default; a code missing from the catalogue is
    returned as it is (the catalogue test makes that a test failure, never a crash for a
    user); a parameter missing from ``params`` is left as ``{name}``.
    """
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    template = catalogue(lang).get(code)
    if template is None:
        return code
    values = _Missing({k: _text(v, lang) for k, v in (params or {}).items()})
    try:
        return template.format_map(values)
    except (ValueError, TypeError, IndexError):
        # A format spec that does not fit the value (e.g. ``:.1f`` for a text).
        return template.format_map(_Missing({k: str(v) for k, v in values.items()}))


def _text(value: Any, lang: str) -> Any:
    """Lists become ``a, b`` (``a、b`` in Chinese); everything else is formatted as it is."""
    if isinstance(value, (list, tuple, set, frozenset)):
        sep = "、" if lang == "zh" else ", "
        return sep.join(str(v) for v in value)
    return value
