"""The pure case state machine (no database)."""

from __future__ import annotations

import pytest

from gridmap.errors import IllegalTransition
from gridmap.incidents import states


def test_open_and_closed_states_partition_the_states() -> None:
    assert set(states.OPEN_STATES) | set(states.CLOSED_STATES) == set(states.STATES)
    assert not set(states.OPEN_STATES) & set(states.CLOSED_STATES)
    assert all(states.is_open(s) for s in states.OPEN_STATES)
    assert set(states.TRANSITIONS) == set(states.STATES)


def test_check_transition_in_both_languages() -> None:
    states.check_transition("reported", "filed")
    with pytest.raises(IllegalTransition, match="cannot go from reported") as exc:
        states.check_transition("reported", "closed")
    assert exc.value.code == "incidents.illegal_transition"
    assert exc.value.render("zh") == "不允许从信息收集（reported）转为核查结案（closed）"
    with pytest.raises(IllegalTransition, match="unknown state 'nope'"):
        states.check_transition("reported", "nope")
