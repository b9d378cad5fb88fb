"""Fixtures of the dispatch tests: the hand-made street of :mod:`tests.fixtures.org_world`
plus routing rules and cases (:mod:`tests.fixtures.dispatch_world`)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from tests.fixtures.dispatch_world import DispatchWorld, build_dispatch_world


@pytest.fixture
def dw(conn: Connection) -> DispatchWorld:
    """The org world with the rules of :data:`tests.fixtures.dispatch_world.RULES` active."""
    return build_dispatch_world(conn)
