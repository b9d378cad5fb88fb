"""Committee star ratings (星级测评, issue #17 §1).

Modules, lowest first: :mod:`~gridmap.ratings.scheme` (the scheme as data, the shipped
default), :mod:`~gridmap.ratings.raters` (who may rate which stars),
:mod:`~gridmap.ratings.measure` (measured criteria for all committees in one pass, frozen case
facts), :mod:`~gridmap.ratings.score` (values → score → stars and reasons, vectorised),
:mod:`~gridmap.ratings.store` (compute drafts, recompute), :mod:`~gridmap.ratings.actions`
(enter, confirm, current stars), :mod:`~gridmap.ratings.results` (map, distribution, change,
ranking), :mod:`~gridmap.ratings.export` (XLSX and the printable street report).
"""

from gridmap.ratings.actions import compute_as, confirm, current_stars, enter
from gridmap.ratings.raters import OPERATOR, Rater, rater_for
from gridmap.ratings.scheme import ROUNDS, Scheme, default_scheme, load_text, scheme_for
from gridmap.ratings.store import Result, committees, compute, recompute

__all__ = [
    "OPERATOR", "ROUNDS", "Rater", "Result", "Scheme", "committees", "compute", "compute_as",
    "confirm",
    "current_stars", "default_scheme", "enter", "load_text", "rater_for", "recompute",
    "scheme_for",
]
