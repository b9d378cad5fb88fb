"""The case state machine (reference/cases.md §3–4): states, their labels and the allowed
transitions. Pure: no database, no other gridmap module but :mod:`gridmap.errors`.

Workflow: 信息收集 → 立案 → 派遣 → 处置 → 反馈 → 核查结案 → 评价, plus 回退 (returned),
延期 (extended), 挂账 (parked), 作废 (voided) and 返工 (rework). Only the transitions in
:data:`TRANSITIONS` are accepted (:func:`check_transition`).
"""

from __future__ import annotations

from gridmap.errors import IllegalTransition

STATE_LABELS: dict[str, str] = {
    "reported": "信息收集",
    "filed": "立案",
    "dispatched": "派遣",
    "handling": "处置",
    "returned": "回退",
    "extended": "延期",
    "parked": "挂账",
    "handled": "反馈",
    "rework": "返工",
    "closed": "核查结案",
    "evaluated": "评价",
    "voided": "作废",
}
STATES: tuple[str, ...] = tuple(STATE_LABELS)
CLOSED_STATES: tuple[str, ...] = ("closed", "evaluated", "voided")
OPEN_STATES: tuple[str, ...] = tuple(s for s in STATES if s not in CLOSED_STATES)
# reference/cases.md §4 "suggested state machine"
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("filed", "voided"),
    "filed": ("dispatched", "voided"),
    "dispatched": ("handling", "returned"),
    "returned": ("dispatched", "voided"),          # 回退 → 改派, or void
    "handling": ("handled", "returned", "extended", "parked"),
    "extended": ("handled", "parked", "extended"),  # a second 延期 needs higher approval
    "parked": ("handling",),                        # 挂账 ends: the clock runs again
    "handled": ("closed", "rework"),
    "rework": ("handling",),
    "closed": ("evaluated",),
    "evaluated": (),
    "voided": (),
}


def is_open(state: str) -> bool:
    """Whether a case in ``state`` is still open (not closed, evaluated or voided)."""
    return state not in CLOSED_STATES


def check_state(state: str) -> None:
    """Raise :class:`~gridmap.errors.IllegalTransition` for a state that does not exist."""
    if state not in STATES:
        raise IllegalTransition("incidents.unknown_state", {"state": state})


def check_transition(frm: str, to: str) -> None:
    """Raise :class:`~gridmap.errors.IllegalTransition` unless ``frm → to`` is allowed.

    Parameters
    ----------
    frm, to:
        Current and requested state (both in :data:`STATES`).
    """
    check_state(to)
    if to not in TRANSITIONS[frm]:
        raise IllegalTransition("incidents.illegal_transition", {
            "frm": frm, "to": to, "frm_label": STATE_LABELS[frm], "to_label": STATE_LABELS[to]})
