"""Posts and permissions as data."""

from __future__ import annotations

import pytest

from gridmap.errors import GridmapError
from gridmap.org import posts


def test_who_may_do_what() -> None:
    assert posts.may(["handler"], "accept") and not posts.may(["handler"], "dispatch")
    assert posts.may(["grid_worker", "leader"], "report")
    assert posts.may(["shift_lead"], "approve_extension")
    assert not posts.may(["leader"], "close")
    assert not any(posts.may([p], "admin_org") for p in posts.POSTS)
    assert posts.posts_allowing("dispatch") == ("dispatcher", "shift_lead")
    assert "check" in posts.actions_of(["inspector"])


def test_every_action_has_a_post_except_admin_and_typos_raise() -> None:
    for action in posts.ACTIONS:
        assert posts.posts_allowing(action) or action == "admin_org"
    with pytest.raises(GridmapError):
        posts.may(["handler"], "acept")


def test_post_names_in_chinese() -> None:
    assert posts.post_info("派遣员").code == "dispatcher"  # type: ignore[union-attr]
    assert posts.post_info("值班长").label("en") == "shift lead"  # type: ignore[union-attr]
    assert posts.post_info("厨师") is None
