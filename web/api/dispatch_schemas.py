"""Request schemas of the dispatch API (:mod:`web.api.dispatch`): rule sets, re-run, case
actions. Rules themselves are checked by the library (every problem of every row at once),
so a rule is any JSON object here."""

from __future__ import annotations

import marshmallow as ma

from gridmap.incidents.states import STATES
from web.api.fields import Bool, Int, MaxLength, OneOf, Range, Raw, Str
from web.api.parsing import Base

MAX_NOTE = 2000
MAX_RULES = 2000


def _note() -> Str:
    return Str(allow_none=True, validate=MaxLength(MAX_NOTE, "web.text_too_long"))


class RuleSetQuery(Base):
    """``set_id``: a rule set (default: the active one)."""

    set_id = Int(validate=Range(1, 2**31 - 1))


class ExportQuery(RuleSetQuery):
    """``format``: ``csv`` (UTF-8 with BOM) or ``xlsx``."""

    format = Str(load_default="csv", validate=OneOf(("csv", "xlsx")))


class RuleSetBody(Base):
    """``{"rules": [{category, area_level, area_code, urgency, source, keywords, unit, level}],
    "note", "activate"}``: a new rule set (an edit is always a new set)."""

    rules = ma.fields.List(Raw(), required=True,
                           validate=ma.validate.Length(max=MAX_RULES, error="web.too_many_ids"))
    note = _note()
    activate = Bool(load_default=False)


class ImportForm(Base):
    """Form fields of a rules file upload (the file itself is the ``file`` part)."""

    dry_run = Bool(load_default=False)
    activate = Bool(load_default=False)
    note = _note()


class RerunBody(Base):
    """``{"set_id"?, "dry_run"?}``: re-propose units for every open case."""

    set_id = Int(allow_none=True, text=False)
    dry_run = Bool(load_default=False)


class ActBody(Base):
    """``{"to": state, "note"?, "unit_id"?, "version"?}``: a case step through the dispatch
    engine; ``unit_id`` overrides the proposed unit at 派遣 (``note`` is then the reason);
    ``version`` is the case's ``lock_version`` as read (409 when someone changed it since);
    ``satisfaction`` (1–5) and ``solved`` at 评价."""

    to = Str(required=True, validate=OneOf(STATES))
    note = _note()
    unit_id = Int(allow_none=True, text=False)
    version = Int(allow_none=True, text=False)
    satisfaction = Int(allow_none=True, text=False)
    solved = Bool(allow_none=True)


class RaiseBody(Base):
    """``{"note"?, "version"?}``: 社区呼叫 — raise the case one handling level."""

    note = _note()
    version = Int(allow_none=True, text=False)
